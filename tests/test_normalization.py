"""Do batch norm and layer norm normalize, keep running statistics and backpropagate correctly?"""

from __future__ import annotations

import numpy as np
import pytest

from bplib.gradcheck import GradientCheckError, assert_close, check_layer, rel_error
from bplib.normalization import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)

SEEDS = [0, 1, 2]
# Not N = 2: two examples always normalize to -1 and +1, so dx is only eps-sized rounding noise.
SHAPES = [(4, 3), (7, 1), (3, 5), (10, 6)]
EPS = 1e-5


def _inputs(seed: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Seeded apart from check_layer's dout (seed): if x and dout came from the same stream, dout
    # would be an affine function of x per feature, a direction batch norm's dx is blind to.
    rng = np.random.default_rng(1000 + seed)
    x = rng.normal(2.0, 3.0, size=shape)
    return x, rng.standard_normal(shape[1]), rng.standard_normal(shape[1])


# ---------------------------------------------------------------- batch norm: forward


def test_does_batchnorm_forward_match_hand_computed_values():
    # x (N=2, D=2): per-feature mean [2, 4], biased variance [1, 4] (deviations ±1 and ±2),
    # so xhat = [[-1, -1], [1, 1]] up to eps: column 0 is ±1/sqrt(1 + eps), column 1 ±2/sqrt(4 + eps).
    # out = gamma * xhat + beta with gamma = [2, 0.5], beta = [1, -1].
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    bn_param = {"mode": "train"}
    out, _ = batchnorm_forward(x, np.array([2.0, 0.5]), np.array([1.0, -1.0]), bn_param)
    a, c = 1 / np.sqrt(1 + EPS), 2 / np.sqrt(4 + EPS)
    assert_close(out, [[1 - 2 * a, -1 - 0.5 * c], [1 + 2 * a, -1 + 0.5 * c]])
    # running stats start at zeros and move 10% of the way (momentum 0.9) towards the batch's
    assert_close(bn_param["running_mean"], [0.2, 0.4], "running_mean")
    assert_close(bn_param["running_var"], [0.1, 0.4], "running_var")


def test_does_train_mode_give_mean_zero_and_std_one_per_feature():
    rng = np.random.default_rng(3)
    x = rng.normal(loc=[5.0, -10.0, 0.0], scale=[10.0, 0.5, 3.0], size=(200, 3))
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    assert_close(out.mean(axis=0), np.zeros(3), "mean", atol=1e-12)
    # eps shrinks the std slightly: sqrt(var / (var + eps)) with var >= 0.2 is within 3e-5 of 1
    assert_close(out.std(axis=0), np.ones(3), "std", rtol=3e-5)
    # gamma and beta then set the std and the mean
    out2, _ = batchnorm_forward(x, np.array([2.0, 3.0, 4.0]), np.array([-1.0, 0.0, 1.0]),
                                {"mode": "train"})
    assert_close(out2.mean(axis=0), [-1.0, 0.0, 1.0], "mean", atol=1e-12)
    assert_close(out2.std(axis=0), [2.0, 3.0, 4.0], "std", rtol=3e-5)


def test_do_running_stats_follow_the_momentum_update():
    rng = np.random.default_rng(4)
    bn_param = {"mode": "train", "momentum": 0.8}
    mean, var = np.zeros(3), np.zeros(3)
    for _ in range(5):
        x = rng.normal(1.0, 2.0, size=(8, 3))
        batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0)  # biased: divide by N
    assert_close(bn_param["running_mean"], mean, "running_mean")
    assert_close(bn_param["running_var"], var, "running_var")


def test_does_train_mode_replace_rather_than_mutate_the_running_arrays():
    running_mean = np.zeros(2)
    bn_param = {"mode": "train", "running_mean": running_mean, "running_var": np.ones(2)}
    batchnorm_forward(np.array([[1.0, 2.0], [3.0, 5.0]]), np.ones(2), np.zeros(2), bn_param)
    assert not np.any(running_mean)  # the caller's array is untouched...
    assert np.any(bn_param["running_mean"])  # ...and bn_param holds the updated one


def test_does_test_mode_use_the_running_stats_and_change_nothing():
    # (x - running_mean) / sqrt(running_var + eps): [3 - 1, 5 - 2] / sqrt([4, 9]) ~ [1, 1]
    bn_param = {"mode": "test", "running_mean": np.array([1.0, 2.0]),
                "running_var": np.array([4.0, 9.0])}
    before = {k: np.copy(v) for k, v in bn_param.items()}
    x = np.array([[3.0, 5.0], [1.0, -1.0]])
    out, _ = batchnorm_forward(x, np.array([1.0, 2.0]), np.array([0.0, 10.0]), bn_param)
    a, c = 2 / np.sqrt(4 + EPS), 3 / np.sqrt(9 + EPS)
    assert_close(out, [[a, 10 + 2 * c], [0.0, 10 - 2 * c]])
    assert bn_param.keys() == before.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(bn_param[key], value)


def test_does_test_mode_accept_a_single_example():
    bn_param = {"mode": "test", "running_mean": np.zeros(2), "running_var": np.ones(2)}
    out, _ = batchnorm_forward(np.array([[1.0, 2.0]]), np.ones(2), np.zeros(2), bn_param)
    assert_close(out, np.array([[1.0, 2.0]]) / np.sqrt(1 + EPS))


def test_does_training_then_testing_on_one_distribution_roughly_normalize():
    rng = np.random.default_rng(5)
    bn_param = {"mode": "train"}
    for _ in range(100):
        batchnorm_forward(rng.normal(3.0, 2.0, size=(50, 4)), np.ones(4), np.zeros(4), bn_param)
    bn_param["mode"] = "test"
    out, _ = batchnorm_forward(rng.normal(3.0, 2.0, size=(2000, 4)), np.ones(4), np.zeros(4),
                               bn_param)
    assert np.all(np.abs(out.mean(axis=0)) < 0.15)
    assert np.all(np.abs(out.std(axis=0) - 1) < 0.15)


# ---------------------------------------------------------------- batch norm: gradients


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_does_batchnorm_backward_match_numerical_gradient(backward, shape, seed):
    x, gamma, beta = _inputs(seed, shape)
    errors = check_layer(batchnorm_forward, backward, [x, gamma, beta, {"mode": "train"}],
                         seed=seed)
    assert list(errors) == ["dx", "dgamma", "dbeta"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_does_batchnorm_backward_match_numerical_gradient_in_test_mode(backward, seed):
    x, gamma, beta = _inputs(seed, (5, 3))
    bn_param = {"mode": "test", "running_mean": np.array([1.0, -1.0, 0.5]),
                "running_var": np.array([2.0, 0.5, 4.0])}
    errors = check_layer(batchnorm_forward, backward, [x, gamma, beta, bn_param], seed=seed)
    assert list(errors) == ["dx", "dgamma", "dbeta"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_do_the_graph_and_compact_backward_agree(shape, seed):
    x, gamma, beta = _inputs(seed, shape)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dout = np.random.default_rng(seed).standard_normal(shape)
    for name, a, b in zip(("dx", "dgamma", "dbeta"), batchnorm_backward(dout, cache),
                          batchnorm_backward_alt(dout, cache), strict=True):
        assert rel_error(a, b) < 1e-10, name


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_does_zero_upstream_gradient_give_zero_batchnorm_gradients(backward, mode):
    x, gamma, beta = _inputs(0, (4, 3))
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": mode})
    for grad, shape in zip(backward(np.zeros((4, 3)), cache), [(4, 3), (3,), (3,)], strict=True):
        assert grad.shape == shape and not np.any(grad)


def _mutant_without_variance_path(dout, cache):
    xhat, _, inv_std, gamma, _ = cache
    dxc = dout * gamma * inv_std  # treats the variance as a constant
    return dxc - dxc.mean(axis=0), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _mutant_without_mean_path(dout, cache):
    xhat, _, inv_std, gamma, _ = cache
    g = dout * gamma  # forgets that the mean depends on x
    return inv_std * (g - xhat * (g * xhat).mean(axis=0)), (dout * xhat).sum(axis=0), dout.sum(0)


def _mutant_test_mode_formula(dout, cache):
    xhat, _, inv_std, gamma, _ = cache
    return dout * gamma * inv_std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


@pytest.mark.parametrize(
    "mutant", [_mutant_without_variance_path, _mutant_without_mean_path, _mutant_test_mode_formula]
)
def test_is_a_batchnorm_backward_missing_a_term_rejected(mutant):
    x, gamma, beta = _inputs(0, (6, 4))
    with pytest.raises(GradientCheckError, match="failed for dx: 24 of 24 entries are wrong"):
        check_layer(batchnorm_forward, mutant, [x, gamma, beta, {"mode": "train"}])


def test_is_a_dgamma_not_summed_over_the_batch_rejected_with_a_hint():
    def backward(dout, cache):
        dx, _, dbeta = batchnorm_backward(dout, cache)
        return dx, dout * cache[0], dbeta

    x, gamma, beta = _inputs(1, (6, 4))
    with pytest.raises(GradientCheckError, match="dgamma still has the batch axis"):
        check_layer(batchnorm_forward, backward, [x, gamma, beta, {"mode": "train"}])


def test_is_a_dbeta_averaged_over_the_batch_rejected_with_a_batch_size_hint():
    def backward(dout, cache):
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        return dx, dgamma, dbeta / dout.shape[0]

    x, gamma, beta = _inputs(2, (6, 4))
    with pytest.raises(GradientCheckError, match="dbeta is 6 times too small, the batch size N"):
        check_layer(batchnorm_forward, backward, [x, gamma, beta, {"mode": "train"}])


# ---------------------------------------------------------------- layer norm


def test_does_layernorm_forward_match_hand_computed_values():
    # row 0 [1, 2, 3]: mean 2, biased variance 2/3 -> xhat = [-1, 0, 1] / sqrt(2/3 + eps)
    # row 1 [10, 20, 30]: mean 20, variance 200/3 -> xhat = [-10, 0, 10] / sqrt(200/3 + eps)
    # out = gamma * xhat + beta with gamma = [1, 2, 3], beta = [0, 1, 0]
    x = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    out, _ = layernorm_forward(x, np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.0]), {})
    a, c = 1 / np.sqrt(2 / 3 + EPS), 10 / np.sqrt(200 / 3 + EPS)
    assert_close(out, [[-a, 1.0, 3 * a], [-c, 1.0, 3 * c]])


def test_is_layernorm_batchnorm_on_the_transpose():
    x, _, _ = _inputs(3, (5, 7))
    ln_out, _ = layernorm_forward(x, np.ones(7), np.zeros(7), {"eps": 1e-3})
    bn_out, _ = batchnorm_forward(x.T, np.ones(5), np.zeros(5), {"mode": "train", "eps": 1e-3})
    assert_close(ln_out, bn_out.T)


def test_does_layernorm_work_without_ln_param_and_with_one_example():
    x = np.array([[1.0, 3.0]])
    out, _ = layernorm_forward(x, np.ones(2), np.zeros(2))
    assert_close(out, np.array([[-1.0, 1.0]]) / np.sqrt(1 + EPS))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(4, 3), (1, 5), (6, 4), (3, 8)])  # D = 2: as N = 2 above
def test_does_layernorm_backward_match_numerical_gradient(shape, seed):
    x, gamma, beta = _inputs(seed, shape)
    errors = check_layer(layernorm_forward, layernorm_backward, [x, gamma, beta, {"eps": 1e-5}],
                         seed=seed)
    assert list(errors) == ["dx", "dgamma", "dbeta"]


def test_does_zero_upstream_gradient_give_zero_layernorm_gradients():
    x, gamma, beta = _inputs(4, (3, 4))
    _, cache = layernorm_forward(x, gamma, beta, {})
    for grad in layernorm_backward(np.zeros((3, 4)), cache):
        assert not np.any(grad)


def test_is_a_layernorm_backward_with_batchnorm_axes_rejected():
    def backward(dout, cache):
        xhat, inv_std, gamma = cache
        g, n = dout * gamma, dout.shape[0]  # statistics over the batch: batch norm's formula
        dx = inv_std / n * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)

    x, gamma, beta = _inputs(5, (6, 4))
    with pytest.raises(GradientCheckError, match="failed for dx"):
        check_layer(layernorm_forward, backward, [x, gamma, beta, {}])


# ---------------------------------------------------------------- inputs left alone, bad inputs


def test_do_the_normalizations_leave_their_inputs_unchanged():
    x, gamma, beta = _inputs(6, (4, 3))
    dout = np.random.default_rng(6).standard_normal((4, 3))
    saved = [a.copy() for a in (x, gamma, beta, dout)]
    for forward, backward, param in [
        (batchnorm_forward, batchnorm_backward, {"mode": "train"}),
        (batchnorm_forward, batchnorm_backward_alt, {"mode": "train"}),
        (layernorm_forward, layernorm_backward, {}),
    ]:
        _, cache = forward(x, gamma, beta, param)
        backward(dout, cache)
    for before, after in zip(saved, (x, gamma, beta, dout), strict=True):
        np.testing.assert_array_equal(before, after)


def test_is_a_single_example_rejected_in_train_mode():
    with pytest.raises(ValueError, match=r"at least 2 examples, got x of shape \(1, 3\).*variance"):
        batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), {"mode": "train"})


def test_is_a_single_feature_rejected_by_layernorm():
    with pytest.raises(ValueError, match=r"at least 2 features per example, got x of shape \(4, 1\)"):
        layernorm_forward(np.ones((4, 1)), np.ones(1), np.zeros(1), {})


def test_is_an_unknown_mode_rejected_naming_the_choices():
    with pytest.raises(ValueError, match=r'mode"\] must be "train" or "test", got \'eval\''):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "eval"})


def test_is_a_missing_mode_named():
    with pytest.raises(ValueError, match=r"bn_param is missing required key\(s\) \['mode'\]"):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {})


@pytest.mark.parametrize("forward,param", [(batchnorm_forward, {"mode": "train"}),
                                           (layernorm_forward, {})])
@pytest.mark.parametrize(
    "x_shape,g_shape,b_shape,message",
    [
        ((4, 3), (2,), (3,), r"gamma must have shape \(3,\).*shape \(4, 3\)\), got \(2,\)"),
        ((4, 3), (3,), (1, 3), r"beta must have shape \(3,\).*shape \(4, 3\)\), got \(1, 3\)"),
        ((4, 3, 2), (3,), (3,), r"x of \w+ must be a 2-D array \(N, D\), got shape \(4, 3, 2\)"),
    ],
)
def test_are_bad_shapes_named(forward, param, x_shape, g_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        forward(np.ones(x_shape), np.ones(g_shape), np.ones(b_shape), param)


@pytest.mark.parametrize("key", ["running_mean", "running_var"])
def test_is_a_running_stat_of_the_wrong_shape_named(key):
    bn_param = {"mode": "test", key: np.zeros(4)}
    with pytest.raises(ValueError, match=rf'bn_param\["{key}"\] must have shape \(3,\).*got \(4,\)'):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), bn_param)


@pytest.mark.parametrize(
    "param,message",
    [
        ({"mode": "train", "eps": 0.0}, r'bn_param\["eps"\] must be in \(0.0, inf\), got 0.0'),
        ({"mode": "train", "eps": -1e-5}, r'bn_param\["eps"\] must be in \(0.0, inf\)'),
        ({"mode": "train", "momentum": 1.5}, r'bn_param\["momentum"\] must be in \[0.0, 1.0\]'),
        ({"mode": "train", "momentum": "high"}, r'bn_param\["momentum"\] must be a number'),
    ],
)
def test_are_bad_eps_and_momentum_rejected(param, message):
    with pytest.raises(ValueError, match=message):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), param)


@pytest.mark.parametrize("forward,param", [(batchnorm_forward, {"mode": "train"}),
                                           (layernorm_forward, {})])
def test_is_nan_in_x_rejected(forward, param):
    x = np.ones((3, 2))
    x[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"x contains nan at index \(1, 0\)"):
        forward(x, np.ones(2), np.zeros(2), param)


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_does_batchnorm_backward_name_the_expected_dout_shape(backward):
    _, cache = batchnorm_forward(np.eye(3)[:, :2] * 1.0, np.ones(2), np.zeros(2), {"mode": "train"})
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 2\).*got \(2, 3\)"):
        backward(np.ones((2, 3)), cache)


def test_does_layernorm_backward_name_the_expected_dout_shape():
    _, cache = layernorm_forward(np.eye(3)[:, :2] + 1.0, np.ones(2), np.zeros(2), {})
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 2\).*got \(3,\)"):
        layernorm_backward(np.ones(3), cache)
