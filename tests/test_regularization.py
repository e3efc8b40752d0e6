"""Does inverted dropout drop, rescale and backpropagate correctly, and is the L2 penalty right?"""

from __future__ import annotations

import numpy as np
import pytest

from bplib.gradcheck import (
    GradientCheckError,
    assert_close,
    check_gradient,
    check_layer,
    numerical_gradient,
)
from bplib.regularization import dropout_backward, dropout_forward, l2_penalty

SEEDS = [0, 1, 2]


def _x(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(1000 + seed).standard_normal(shape)


# ---------------------------------------------------------------- dropout: forward


def test_does_train_mode_zero_or_rescale_every_unit():
    # p = 0.25 drops a unit with probability 1/4; survivors are scaled by 1 / (1 - 0.25) = 4/3
    x = np.full((20, 30), 3.0)
    out, (_, mask) = dropout_forward(x, {"p": 0.25, "mode": "train", "seed": 0})
    assert set(np.unique(out)) <= {0.0, 4.0}
    assert set(np.unique(mask)) <= {0.0, 4.0 / 3.0}
    assert_close(out, x * mask)


def test_does_train_mode_preserve_the_mean_in_expectation():
    # 200k units, p = 0.3: each output is 0 or 1/0.7 with mean 1 and standard deviation
    # sqrt(0.3/0.7) ~ 0.65, so the sample mean has standard error 0.65 / sqrt(2e5) ~ 0.0015;
    # a tolerance of 0.01 is more than 6 standard errors.
    x = np.ones((400, 500))
    out, _ = dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 42})
    assert abs(out.mean() - 1.0) < 0.01
    assert abs(np.mean(out == 0) - 0.3) < 0.01  # p is the DROP probability


def test_is_test_mode_the_identity():
    x = _x(0, (5, 4))
    out, cache = dropout_forward(x, {"p": 0.6, "mode": "test"})
    assert_close(out, x, rtol=0, atol=0)
    assert out is not x  # a copy: editing the output must not edit the input
    assert_close(dropout_backward(x * 2, cache), x * 2, "dx", rtol=0, atol=0)


def test_is_p_zero_the_identity_in_train_mode():
    x = _x(1, (3, 3))
    out, _ = dropout_forward(x, {"p": 0.0, "mode": "train", "seed": 1})
    assert_close(out, x, rtol=0, atol=0)


def test_does_the_same_seed_give_the_same_mask():
    x = _x(2, (6, 7))
    out1, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    out2, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    out3, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 8})
    np.testing.assert_array_equal(out1, out2)
    assert not np.array_equal(out1, out3)


def test_does_np_random_seed_fix_the_mask_when_no_seed_is_given():
    # The legacy global generator is what a notebook's np.random.seed(...) controls.
    x = np.ones((6, 7))
    saved = np.random.get_state()  # noqa: NPY002 -- restored below so other tests are unaffected
    try:
        np.random.seed(3)  # noqa: NPY002
        out1, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
        np.random.seed(3)  # noqa: NPY002
        out2, _ = dropout_forward(x, {"p": 0.5, "mode": "train"})
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    np.testing.assert_array_equal(out1, out2)


def test_does_the_cache_survive_later_edits_of_dropout_param():
    param = {"p": 0.5, "mode": "train", "seed": 0}
    x = _x(3, (4, 4))
    _, cache = dropout_forward(x, param)
    param["mode"] = "test"
    dout = _x(4, (4, 4))
    assert_close(dropout_backward(dout, cache), dout * cache[1], "dx")


# ---------------------------------------------------------------- dropout: gradients


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(5, 6), (1, 4), (2, 3, 4)])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
def test_does_dropout_backward_match_numerical_gradient(p, shape, seed):
    param = {"p": p, "mode": "train", "seed": seed}
    errors = check_layer(dropout_forward, dropout_backward, [_x(seed, shape), param], seed=seed)
    assert list(errors) == ["dx"]


def test_does_dropout_backward_match_numerical_gradient_in_test_mode():
    param = {"p": 0.5, "mode": "test"}
    assert list(check_layer(dropout_forward, dropout_backward, [_x(0, (3, 4)), param])) == ["dx"]


@pytest.mark.parametrize("mode", ["train", "test"])
def test_does_zero_upstream_gradient_give_zero_dx(mode):
    _, cache = dropout_forward(_x(5, (3, 4)), {"p": 0.4, "mode": mode, "seed": 0})
    dx = dropout_backward(np.zeros((3, 4)), cache)
    assert dx.shape == (3, 4) and not np.any(dx)


def test_is_a_backward_without_the_rescale_rejected_with_a_constant_factor_hint():
    def backward(dout, cache):
        _, mask = cache
        return dout * (mask > 0)  # forgot the 1 / (1 - p)

    param = {"p": 0.5, "mode": "train", "seed": 3}
    with pytest.raises(GradientCheckError, match=r"constant factor: yours ≈ 0\.5 × numerical"):
        check_layer(dropout_forward, backward, [_x(0, (5, 6)), param])


def test_is_a_backward_without_the_mask_rejected_with_a_mask_hint():
    def backward(dout, cache):
        param, _ = cache
        return dout / (1 - param["p"])  # rescaled, but dropped units still get gradient

    param = {"p": 0.5, "mode": "train", "seed": 3}
    with pytest.raises(GradientCheckError, match="a mask is missing"):
        check_layer(dropout_forward, backward, [_x(0, (5, 6)), param])


def test_is_a_backward_that_passes_dout_through_rejected():
    def backward(dout, cache):
        return dout  # neither mask nor rescale: every entry is wrong

    param = {"p": 0.5, "mode": "train", "seed": 3}
    with pytest.raises(GradientCheckError, match=r"(?s)30 of 30 entries are wrong.*a mask is missing"):
        check_layer(dropout_forward, backward, [_x(0, (5, 6)), param])


# ---------------------------------------------------------------- dropout: bad inputs


@pytest.mark.parametrize(
    "p,message",
    [
        (1.0, r"must be in \[0, 1\), got 1\.0 \(p = 1 would drop every unit\)"),
        (-0.1, r"must be in \[0, 1\), got -0\.1"),
        (1.5, r"must be in \[0, 1\), got 1\.5"),
        ("0.5", r"must be a number in \[0, 1\), got '0\.5'"),
        (None, r"must be a number in \[0, 1\), got None"),
    ],
)
def test_is_a_p_outside_zero_one_rejected(p, message):
    with pytest.raises(ValueError, match=message):
        dropout_forward(np.ones(3), {"p": p, "mode": "train"})


def test_is_an_unknown_mode_rejected_naming_the_choices():
    with pytest.raises(ValueError, match=r'mode"\] must be "train" or "test", got \'eval\''):
        dropout_forward(np.ones(3), {"p": 0.5, "mode": "eval"})


def test_is_a_missing_key_named():
    with pytest.raises(ValueError, match=r"missing required key\(s\) \['mode'\]"):
        dropout_forward(np.ones(3), {"p": 0.5})


def test_does_dropout_backward_name_a_mismatched_dout_shape():
    _, cache = dropout_forward(np.ones((2, 3)), {"p": 0.5, "mode": "train", "seed": 0})
    with pytest.raises(ValueError, match=r"dout and out must have the same shape, got \(3, 2\)"):
        dropout_backward(np.ones((3, 2)), cache)


def test_does_dropout_leave_its_inputs_unchanged():
    x = _x(6, (4, 5))
    param = {"p": 0.5, "mode": "train", "seed": 0}
    x_before, param_before = x.copy(), dict(param)
    _, cache = dropout_forward(x, param)
    dropout_backward(x, cache)
    np.testing.assert_array_equal(x, x_before)
    assert param == param_before


# ---------------------------------------------------------------- L2 penalty


def test_does_l2_penalty_match_hand_computed_values():
    # sum of squares: 1 + 4 + 9 + 16 = 30 and 1 + 0.25 = 1.25 -> 31.25
    # loss = 0.5 * 0.1 * 31.25 = 1.5625; gradients 0.1 * w
    w1 = np.array([[1.0, 2.0], [3.0, 4.0]])
    w2 = np.array([-1.0, 0.5])
    loss, grads = l2_penalty([w1, w2], reg=0.1)
    assert loss == pytest.approx(1.5625, rel=1e-12)
    assert isinstance(grads, list) and len(grads) == 2
    assert_close(grads[0], 0.1 * w1, "dw1")
    assert_close(grads[1], [-0.1, 0.05], "dw2")


def test_does_one_array_give_one_gradient_array():
    w = np.array([[3.0, -4.0]])
    loss, grad = l2_penalty(w, 2.0)
    assert loss == pytest.approx(25.0)  # 0.5 * 2 * (9 + 16)
    assert isinstance(grad, np.ndarray)
    assert_close(grad, [[6.0, -8.0]], "dw")


@pytest.mark.parametrize("seed", SEEDS)
def test_does_the_l2_gradient_match_numerical_gradient(seed):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((4, 3)), rng.standard_normal((3, 2))]
    _, grads = l2_penalty(weights, 0.37)
    for i, w in enumerate(weights):

        def loss_of(v, i=i):
            others = [v if j == i else weights[j] for j in range(len(weights))]
            return l2_penalty(others, 0.37)[0]

        check_gradient(grads[i], numerical_gradient(loss_of, w.copy()), f"dw{i}")


def test_does_reg_zero_give_zero_loss_and_gradients():
    loss, grads = l2_penalty([np.ones((2, 2))], 0.0)
    assert loss == 0.0 and not np.any(grads[0])


def test_does_l2_penalty_leave_the_weights_unchanged():
    w = np.array([1.0, -2.0])
    l2_penalty(w, 0.5)
    np.testing.assert_array_equal(w, [1.0, -2.0])


@pytest.mark.parametrize("reg", [-0.1, float("nan"), float("inf"), "strong"])
def test_is_a_bad_reg_rejected(reg):
    with pytest.raises(ValueError, match="reg must be"):
        l2_penalty(np.ones(2), reg)
