"""Do the affine layer and the activations compute the right values and the right gradients?"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bplib.gradcheck import GradientCheckError, assert_close, check_layer
from bplib.layers import (
    affine_backward,
    affine_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

SEEDS = [0, 1, 2]


def _rng(seed: int) -> np.random.Generator:
    # Offset from check_layer's dout seed so inputs and upstream gradient are independent draws.
    return np.random.default_rng(1000 + seed)


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random inputs with |x| >= 0.1, so no centered difference straddles the kink at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * (0.1 + np.abs(rng.standard_normal(shape)))


# ---------------------------------------------------------------- affine: forward values


def test_does_affine_forward_match_hand_computed_values():
    # x (N=2, D=2), w (D=2, M=3), b (M=3)
    # row 0: [1*1 + 2*2, 1*0 + 2*1, 1*(-1) + 2*0] + b = [5, 2, -1] + [0.5, -1, 2] = [5.5, 1, 1]
    # row 1: [3*1 + 4*2, 3*0 + 4*1, 3*(-1) + 4*0] + b = [11, 4, -3] + b = [11.5, 3, -1]
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([0.5, -1.0, 2.0])
    out, _ = affine_forward(x, w, b)
    assert_close(out, [[5.5, 1.0, 1.0], [11.5, 3.0, -1.0]])
    # the same examples given as (N, 1, 2) are flattened to the same rows
    out3, _ = affine_forward(x.reshape(2, 1, 2), w, b)
    assert_close(out3, out)


def test_does_affine_backward_match_hand_computed_values():
    # with x, w as above and dout = [[1, 0, 0], [0, 1, -1]]:
    # dx = dout @ w.T: row 0 = w[:, 0] = [1, 2]; row 1 = w[:, 1] - w[:, 2] = [0 + 1, 1 - 0] = [1, 1]
    # dw = x.T @ dout: row 0 = 1*[1, 0, 0] + 3*[0, 1, -1] = [1, 3, -3]; row 1 = [2, 4, -4]
    # db = column sums of dout = [1, 1, -1]
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    _, cache = affine_forward(x, w, np.zeros(3))
    dx, dw, db = affine_backward(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]]), cache)
    assert_close(dx, [[1.0, 2.0], [1.0, 1.0]], "dx")
    assert_close(dw, [[1.0, 3.0, -3.0], [2.0, 4.0, -4.0]], "dw")
    assert_close(db, [1.0, 1.0, -1.0], "db")


# ---------------------------------------------------------------- affine: gradients


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("x_shape,m", [((4, 3), 5), ((1, 6), 2), ((5, 5), 5), ((3, 2, 3, 2), 4)])
def test_does_affine_backward_match_numerical_gradient(seed, x_shape, m):
    rng = _rng(seed)
    d = int(np.prod(x_shape[1:]))
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((d, m)), rng.standard_normal(m)
    errors = check_layer(affine_forward, affine_backward, [x, w, b], seed=seed)
    assert set(errors) == {"dx", "dw", "db"}


def test_does_affine_dx_keep_the_original_input_shape():
    rng = _rng(0)
    x = rng.standard_normal((2, 2, 3, 2))
    out, cache = affine_forward(x, rng.standard_normal((12, 4)), rng.standard_normal(4))
    dx, dw, db = affine_backward(rng.standard_normal(out.shape), cache)
    assert (dx.shape, dw.shape, db.shape) == ((2, 2, 3, 2), (12, 4), (4,))


def test_is_a_transposed_dw_rejected_with_a_transpose_hint():
    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, dout.T @ x, dout.sum(axis=0)  # (M, D) instead of (D, M)

    rng = _rng(0)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    with pytest.raises(GradientCheckError, match="dw is the transpose"):
        check_layer(affine_forward, backward, [x, w, b])
    # when D == M the shapes agree and only the values give it away
    w_square = rng.standard_normal((3, 3))
    with pytest.raises(GradientCheckError, match="dw is the transpose"):
        check_layer(affine_forward, backward, [x, w_square, b[:3]])


def test_is_a_db_not_summed_over_the_batch_rejected():
    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout, dout  # (N, M): the batch axis is still there

    rng = _rng(1)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    with pytest.raises(GradientCheckError, match="db still has the batch axis"):
        check_layer(affine_forward, backward, [x, w, b])


def test_is_a_dx_averaged_over_the_batch_rejected_with_a_batch_size_hint():
    def backward(dout, cache):
        x, w = cache
        return (dout @ w.T) / x.shape[0], x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)

    rng = _rng(2)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    with pytest.raises(GradientCheckError, match="4 times too small, the batch size N"):
        check_layer(affine_forward, backward, [x, w, b])


# ---------------------------------------------------------------- activations: forward values


def test_does_relu_forward_and_backward_match_hand_computed_values():
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1.0]])
    out, cache = relu_forward(x)
    assert_close(out, [[0.0, 0.0, 0.0], [0.5, 3.0, 0.0]])
    # the mask is x > 0: the entry at exactly 0 passes no gradient
    dx = relu_backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), cache)
    assert_close(dx, [[0.0, 0.0, 0.0], [4.0, 5.0, 0.0]], "dx")


def test_does_leaky_relu_forward_and_backward_match_hand_computed_values():
    # alpha = 0.1: negatives are scaled by 0.1, and so is their gradient
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1.0]])
    out, cache = leaky_relu_forward(x, alpha=0.1)
    assert_close(out, [[-0.2, -0.05, 0.0], [0.5, 3.0, -0.1]])
    dx = leaky_relu_backward(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), cache)
    assert_close(dx, [[0.1, 0.2, 0.3], [4.0, 5.0, 0.6]], "dx")
    # default slope 0.01
    assert_close(leaky_relu_forward(np.array([-3.0]))[0], [-0.03])


def test_does_sigmoid_forward_and_backward_match_hand_computed_values():
    # sigmoid(0) = 1/2; sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4; sigmoid(-ln 3) = 1/4
    # derivative out * (1 - out): 1/4, 3/16, 3/16
    x = np.array([0.0, np.log(3.0), -np.log(3.0)])
    out, cache = sigmoid_forward(x)
    assert_close(out, [0.5, 0.75, 0.25])
    assert_close(cache, out, "cache")  # sigmoid caches its OUTPUT
    dx = sigmoid_backward(np.array([1.0, 2.0, -4.0]), cache)
    assert_close(dx, [0.25, 0.375, -0.75], "dx")


def test_does_sigmoid_stay_finite_and_silent_for_huge_inputs():
    x = np.array([-1000.0, -800.0, -40.0, 40.0, 800.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out, cache = sigmoid_forward(x)
            dx = sigmoid_backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert out[0] == 0.0 and out[-1] == 1.0
    assert_close(out[2:4], [1 / (1 + np.exp(40.0)), 1 / (1 + np.exp(-40.0))], rtol=1e-12)


def test_does_tanh_forward_and_backward_match_hand_computed_values():
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6, derivative 1 - 0.36 = 0.64
    x = np.array([0.0, np.log(2.0), -np.log(2.0)])
    out, cache = tanh_forward(x)
    assert_close(out, [0.0, 0.6, -0.6])
    dx = tanh_backward(np.array([1.0, 1.0, 2.0]), cache)
    assert_close(dx, [1.0, 0.64, 1.28], "dx")


# ---------------------------------------------------------------- activations: gradients

ACTIVATIONS = {
    "relu": (relu_forward, relu_backward, []),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, [0.2]),
    "leaky_relu_default": (leaky_relu_forward, leaky_relu_backward, []),
    "sigmoid": (sigmoid_forward, sigmoid_backward, []),
    "tanh": (tanh_forward, tanh_backward, []),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(4, 5), (1, 3), (2, 3, 4)])
@pytest.mark.parametrize("layer", sorted(ACTIVATIONS))
def test_does_activation_backward_match_numerical_gradient(layer, shape, seed):
    forward, backward, extra = ACTIVATIONS[layer]
    x = _away_from_zero(_rng(seed), shape) * 2.0
    errors = check_layer(forward, backward, [x, *extra], seed=seed)
    assert list(errors) == ["dx"]


@pytest.mark.parametrize("layer", sorted(ACTIVATIONS))
def test_does_zero_upstream_gradient_give_zero_dx(layer):
    forward, backward, extra = ACTIVATIONS[layer]
    x = _away_from_zero(_rng(5), (3, 4))
    _, cache = forward(x, *extra)
    dx = backward(np.zeros((3, 4)), cache)
    assert dx.shape == (3, 4) and not np.any(dx)


def test_does_zero_upstream_gradient_give_zero_affine_gradients():
    rng = _rng(6)
    _, cache = affine_forward(rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 2)), np.ones(2))
    for grad in affine_backward(np.zeros((3, 2)), cache):
        assert not np.any(grad)


def test_is_a_sign_flipped_relu_backward_rejected_with_a_sign_hint():
    def backward(dout, cache):
        return -np.where(cache > 0, dout, 0.0)

    x = _away_from_zero(_rng(0), (4, 5))
    with pytest.raises(GradientCheckError, match="dx has the wrong sign"):
        check_layer(relu_forward, backward, [x])


def test_is_a_relu_masked_on_the_wrong_side_rejected():
    def backward(dout, cache):
        return np.where(cache < 0, dout, 0.0)

    x = _away_from_zero(_rng(1), (4, 5))
    with pytest.raises(GradientCheckError, match="Gradient check failed for dx"):
        check_layer(relu_forward, backward, [x])


def test_is_a_sigmoid_backward_that_ignores_dout_rejected_with_a_hint():
    def backward(dout, cache):
        return cache * (1.0 - cache)

    x = _rng(2).standard_normal((3, 4))
    with pytest.raises(GradientCheckError, match="ignores the upstream gradient dout"):
        check_layer(sigmoid_forward, backward, [x])


def test_is_the_sigmoid_derivative_applied_to_the_input_rejected():
    # The classic trap: s * (1 - s) is the derivative only when s is the sigmoid OUTPUT.
    def forward(x):
        return sigmoid_forward(x)[0], x

    def backward(dout, cache):
        return dout * cache * (1.0 - cache)

    x = _rng(3).standard_normal((3, 4))
    with pytest.raises(GradientCheckError, match="Gradient check failed for dx"):
        check_layer(forward, backward, [x])


def test_is_a_leaky_relu_backward_with_slope_zero_rejected():
    def backward(dout, cache):
        x, _ = cache
        return np.where(x > 0, dout, 0.0)  # forgot alpha: behaves like plain ReLU

    x = _away_from_zero(_rng(4), (4, 5))
    with pytest.raises(GradientCheckError, match="entries are wrong"):
        check_layer(leaky_relu_forward, backward, [x, 0.1])


# ---------------------------------------------------------------- inputs left alone


def test_do_forward_and_backward_leave_their_inputs_unchanged():
    rng = _rng(7)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    dout = rng.standard_normal((3, 2))
    saved = [a.copy() for a in (x, w, b, dout)]
    _, cache = affine_forward(x, w, b)
    affine_backward(dout, cache)
    for forward, backward, extra in ACTIVATIONS.values():
        _, cache = forward(x, *extra)
        backward(x, cache)
    for before, after in zip(saved, (x, w, b, dout), strict=True):
        np.testing.assert_array_equal(before, after)


def test_are_integer_inputs_accepted_as_float64():
    out, _ = affine_forward([[1, 2]], [[1], [1]], [0])
    assert out.dtype == np.float64 and out[0, 0] == 3.0


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "x_shape,w_shape,b_shape,message",
    [
        (
            (4, 3),
            (5, 2),
            (2,),
            r"x has 3 features per example \(shape \(4, 3\)\) but w expects 5 input features",
        ),
        ((2, 2, 3), (5, 2), (2,), r"x has 6 features per example \(shape \(2, 2, 3\)\)"),
        ((4, 3), (3,), (2,), r"w must be a 2-D array \(D, M\), got shape \(3,\)"),
        ((4, 3), (3, 2), (3,), r"b must have shape \(2,\) \(M,\), got \(3,\)"),
        ((4, 3), (3, 2), (1, 2), r"b must have shape \(2,\) \(M,\), got \(1, 2\)"),
        ((3,), (3, 2), (2,), r"x must have shape \(N, d1, ..., dk\).*got \(3,\)"),
    ],
)
def test_does_affine_forward_name_the_shapes_of_bad_inputs(x_shape, w_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        affine_forward(np.ones(x_shape), np.ones(w_shape), np.ones(b_shape))


@pytest.mark.parametrize("bad", ["x", "w", "b"])
def test_does_affine_forward_reject_nan(bad):
    arrays = {"x": np.ones((2, 3)), "w": np.ones((3, 2)), "b": np.ones(2)}
    arrays[bad][-1] = np.nan
    with pytest.raises(ValueError, match=f"{bad} contains nan"):
        affine_forward(**arrays)


def test_does_affine_backward_name_the_expected_dout_shape():
    _, cache = affine_forward(np.ones((4, 3)), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"dout must have shape \(4, 2\).*got \(2, 4\)"):
        affine_backward(np.ones((2, 4)), cache)


@pytest.mark.parametrize("layer", sorted(ACTIVATIONS))
def test_does_activation_backward_name_a_mismatched_dout_shape(layer):
    forward, backward, extra = ACTIVATIONS[layer]
    _, cache = forward(np.ones((2, 3)), *extra)
    with pytest.raises(ValueError, match=r"dout and out must have the same shape.*\(3, 2\).*\(2, 3\)"):
        backward(np.ones((3, 2)), cache)


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), "a lot", None])
def test_does_leaky_relu_reject_a_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha must be"):
        leaky_relu_forward(np.ones(3), alpha)


def test_is_a_non_numeric_input_rejected():
    with pytest.raises(ValueError, match="x must be a numeric array"):
        relu_forward(np.array(["a", "b"]))
