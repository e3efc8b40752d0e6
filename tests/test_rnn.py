"""Tests for bplib.rnn: vanilla RNN and LSTM steps and sequences (backpropagation through time)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from bplib.gradcheck import GradientCheckError, assert_close, check_layer
from bplib.rnn import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
)

# (N, T, D, H)
SEQ_SHAPES = [(2, 3, 4, 5), (3, 1, 2, 3), (1, 4, 3, 2)]


def rnn_inputs(n, t, d, hidden, seed, gates=1, scale=0.5):
    """Random x (N, T, D) (or (N, D) when t is None), h (N, H), Wx, Wh, b for `gates` gates.

    Weights are scaled so that tanh and sigmoid stay away from saturation, where gradients are
    tiny and relative errors of a centered difference grow.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d) if t is None else (n, t, d))
    h = rng.standard_normal((n, hidden))
    Wx = scale * rng.standard_normal((d, gates * hidden))
    Wh = scale * rng.standard_normal((hidden, gates * hidden))
    b = scale * rng.standard_normal(gates * hidden)
    return x, h, Wx, Wh, b


# ---------------------------------------------------------------- vanilla RNN


def test_does_one_rnn_step_match_a_hand_computed_case():
    x = np.array([[1.0, 2.0]])
    prev_h = np.array([[0.5, -1.0]])
    Wx = np.array([[0.1, 0.2], [0.3, 0.4]])
    Wh = np.eye(2)
    b = np.array([0.0, 0.5])
    # x @ Wx = [0.1 + 0.6, 0.2 + 0.8] = [0.7, 1.0]; + prev_h @ I + b = [1.2, 0.5]
    next_h, _ = rnn_step_forward(x, prev_h, Wx, Wh, b)
    assert_close(next_h, [[math.tanh(1.2), math.tanh(0.5)]], "next_h")


def test_does_rnn_forward_match_a_hand_unrolled_scalar_sequence():
    # N = D = H = 1: h1 = tanh(wx x1 + wh h0 + b), h2 = tanh(wx x2 + wh h1 + b)
    wx, wh, b, h0 = 0.8, -0.6, 0.1, 0.3
    x = np.array([[[1.0], [-2.0]]])
    h1 = math.tanh(wx * 1.0 + wh * h0 + b)
    h2 = math.tanh(wx * -2.0 + wh * h1 + b)
    h, _ = rnn_forward(x, np.array([[h0]]), np.array([[wx]]), np.array([[wh]]), np.array([b]))
    assert_close(h, [[[h1], [h2]]], "h")


@pytest.mark.parametrize("n, d, hidden", [(2, 3, 4), (1, 1, 1), (4, 2, 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_does_rnn_step_backward_match_numerical_gradient(n, d, hidden, seed):
    inputs = rnn_inputs(n, None, d, hidden, seed)
    errors = check_layer(rnn_step_forward, rnn_step_backward, inputs, seed=seed)
    assert set(errors) == {"dx", "dprev_h", "dWx", "dWh", "db"}


@pytest.mark.parametrize("shape", SEQ_SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_does_rnn_backward_match_numerical_gradient(shape, seed):
    errors = check_layer(rnn_forward, rnn_backward, rnn_inputs(*shape, seed), seed=seed)
    assert set(errors) == {"dx", "dh0", "dWx", "dWh", "db"}


def test_does_a_zero_upstream_gradient_give_zero_rnn_gradients():
    inputs = rnn_inputs(2, 3, 4, 5, 0)
    h, cache = rnn_forward(*inputs)
    grads = rnn_backward(np.zeros_like(h), cache)
    for grad, like in zip(grads, inputs, strict=True):
        assert grad.shape == like.shape
        assert not np.any(grad)


def rnn_backward_without_time(dh, cache):
    """Wrong: each step sees only its own dh[:, t]; nothing flows back from later steps."""
    dx = np.empty((dh.shape[0], dh.shape[1], cache[0][2].shape[0]))
    dWx, dWh, db = 0.0, 0.0, 0.0
    for t in reversed(range(dh.shape[1])):
        dx[:, t], dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh0, dWx, dWh, db


def rnn_backward_last_step_weights(dh, cache):
    """Wrong: the weight gradients are overwritten each step instead of summed over time."""
    dx, dh0, _, _, _ = rnn_backward(dh, cache)
    grads = rnn_step_backward(dh[:, -1], cache[-1])  # only the last step's share
    return dx, dh0, grads[2], grads[3], grads[4]


@pytest.mark.parametrize(
    "wrong_backward, message",
    [
        # the last step has no later steps, so only the T-1 earlier steps of dx are wrong
        (rnn_backward_without_time, "failed for dx: 16 of 24 entries.*one time step"),
        (rnn_backward_last_step_weights, "failed for dWx"),
    ],
)
def test_does_a_wrong_rnn_backward_fail_the_check(wrong_backward, message):
    with pytest.raises(GradientCheckError, match=f"(?s){message}"):
        check_layer(rnn_forward, wrong_backward, rnn_inputs(2, 3, 4, 5, 0))


# ---------------------------------------------------------------- LSTM

LN2, LN3 = math.log(2.0), math.log(3.0)


def test_does_one_lstm_step_match_a_hand_computed_case_gate_by_gate():
    # Preactivations chosen so each gate has a round value and a wrong gate order shows:
    # i = sigmoid(0) = 1/2, f = sigmoid(ln 3) = 3/4, o = sigmoid(-ln 3) = 1/4, g = tanh(ln 2) = 3/5
    # for hidden unit 0; unit 1 has g = tanh(-ln 2) = -3/5. They come in through Wx (x = 1);
    # prev_h @ Wh is zero because the two rows of Wh are equal and prev_h = [0.4, -0.4].
    x = np.array([[1.0]])
    Wx = np.array([[0.0, 0.0, LN3, LN3, -LN3, -LN3, LN2, -LN2]])
    prev_h = np.array([[0.4, -0.4]])
    Wh = np.full((2, 8), 0.7)
    prev_c = np.array([[2.0, -1.0]])
    next_h, next_c, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, np.zeros(8))
    # next_c = f * prev_c + i * g = [0.75 * 2 + 0.5 * 0.6, 0.75 * -1 + 0.5 * -0.6]
    assert_close(next_c, [[1.8, -1.05]], "next_c")
    assert_close(next_h, [[0.25 * math.tanh(1.8), 0.25 * math.tanh(-1.05)]], "next_h")


def test_does_the_bias_enter_each_gate():
    # same gate values as above, now from b alone (x and both weight matrices are zero)
    b = np.array([0.0, 0.0, LN3, LN3, -LN3, -LN3, LN2, -LN2])
    next_h, next_c, _ = lstm_step_forward(np.zeros((1, 3)), np.zeros((1, 2)),
                                          np.array([[2.0, -1.0]]), np.zeros((3, 8)),
                                          np.zeros((2, 8)), b)
    assert_close(next_c, [[1.8, -1.05]], "next_c")


def lstm_step_joined(x, prev_h, prev_c, Wx, Wh, b):
    """lstm_step_forward with next_h and next_c side by side, (N, 2H), for check_layer."""
    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    return np.concatenate([next_h, next_c], axis=1), cache


def lstm_step_joined_backward(dout, cache):
    hidden = dout.shape[1] // 2
    return lstm_step_backward(dout[:, :hidden], dout[:, hidden:], cache)


@pytest.mark.parametrize("n, d, hidden", [(2, 3, 4), (1, 1, 1), (3, 2, 2)])
@pytest.mark.parametrize("seed", [0, 1])
def test_does_lstm_step_backward_match_numerical_gradient(n, d, hidden, seed):
    x, prev_h, Wx, Wh, b = rnn_inputs(n, None, d, hidden, seed, gates=4)
    prev_c = np.random.default_rng(seed + 100).standard_normal((n, hidden))
    errors = check_layer(lstm_step_joined, lstm_step_joined_backward,
                         [x, prev_h, prev_c, Wx, Wh, b], seed=seed)
    assert set(errors) == {"dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"}


def test_does_lstm_step_backward_use_dnext_c_alone():
    x, prev_h, Wx, Wh, b = rnn_inputs(2, None, 3, 4, 0, gates=4)
    prev_c = np.ones((2, 4))
    _, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    grads = lstm_step_backward(np.zeros((2, 4)), np.ones((2, 4)), cache)
    assert all(np.any(g) for g in grads)


def test_does_lstm_forward_start_from_a_zero_cell_state():
    x, h0, Wx, Wh, b = rnn_inputs(2, 3, 4, 5, 0, gates=4)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    h_step, c_step, _ = lstm_step_forward(x[:, 0], h0, np.zeros((2, 5)), Wx, Wh, b)
    h_step2, _, _ = lstm_step_forward(x[:, 1], h_step, c_step, Wx, Wh, b)
    assert_close(h[:, 0], h_step, "h[:, 0]")
    assert_close(h[:, 1], h_step2, "h[:, 1]")


@pytest.mark.parametrize("shape", SEQ_SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_does_lstm_backward_match_numerical_gradient(shape, seed):
    inputs = rnn_inputs(*shape, seed, gates=4)
    # tol 1e-5: an entry of dWh can nearly cancel to ~3e-8 (seed 1, N=1: 2 cases in 60 seeds);
    # there an absolute error of 5e-14 is already 1.6e-6 relative. Wrong backwards give ~1e-1.
    errors = check_layer(lstm_forward, lstm_backward, inputs, seed=seed, tol=1e-5)
    assert set(errors) == {"dx", "dh0", "dWx", "dWh", "db"}


def test_does_a_zero_upstream_gradient_give_zero_lstm_gradients():
    inputs = rnn_inputs(2, 3, 4, 5, 0, gates=4)
    h, cache = lstm_forward(*inputs)
    for grad, like in zip(lstm_backward(np.zeros_like(h), cache), inputs, strict=True):
        assert grad.shape == like.shape
        assert not np.any(grad)


def lstm_backward_dropping_cell_gradient(dh, cache):
    """Wrong: the cell state's gradient is not carried to the previous step."""
    n, steps, hidden = dh.shape
    dx = np.empty((n, steps, cache[0][0].shape[1]))
    dprev_h, dWx, dWh, db = np.zeros((n, hidden)), 0.0, 0.0, 0.0
    for t in reversed(range(steps)):
        dx[:, t], dprev_h, _, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, np.zeros((n, hidden)), cache[t]
        )
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def lstm_step_backward_swapped_gates(dnext_h, dnext_c, cache):
    """Wrong: the f and o blocks of the gate gradient are swapped (gate order mix-up)."""
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    hidden = dnext_h.shape[1]
    order = np.r_[0:hidden, 2 * hidden : 3 * hidden, hidden : 2 * hidden, 3 * hidden : 4 * hidden]
    return dx, dprev_h, dprev_c, dWx[:, order], dWh[:, order], db[order]


def test_does_an_lstm_backward_without_the_cell_path_fail_the_check():
    with pytest.raises(GradientCheckError, match="failed for dx: 16 of 24 entries"):
        check_layer(lstm_forward, lstm_backward_dropping_cell_gradient,
                    rnn_inputs(2, 3, 4, 5, 0, gates=4))


def test_does_an_lstm_step_backward_with_swapped_gates_fail_the_check():
    x, prev_h, Wx, Wh, b = rnn_inputs(2, None, 3, 4, 0, gates=4)
    prev_c = np.ones((2, 4))

    def wrong(dout, cache):
        hidden = dout.shape[1] // 2
        return lstm_step_backward_swapped_gates(dout[:, :hidden], dout[:, hidden:], cache)

    with pytest.raises(GradientCheckError, match="Gradient check failed for dWx"):
        check_layer(lstm_step_joined, wrong, [x, prev_h, prev_c, Wx, Wh, b])


# ---------------------------------------------------------------- stability and validation


def test_is_sigmoid_stable_for_huge_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    assert_close(s, [0.0, 1.0 / (1.0 + math.exp(30.0)), 0.5, 1.0 / (1.0 + math.exp(-30.0)), 1.0],
                 "sigmoid", atol=1e-300)


def test_does_lstm_step_survive_huge_preactivations():
    x, prev_h, Wx, Wh, b = rnn_inputs(2, None, 3, 4, 0, gates=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        next_h, next_c, _ = lstm_step_forward(1e4 * x, prev_h, np.zeros((2, 4)), Wx, Wh, b)
    assert np.all(np.isfinite(next_h)) and np.all(np.isfinite(next_c))


@pytest.mark.parametrize("forward, backward, gates", [(rnn_forward, rnn_backward, 1),
                                                      (lstm_forward, lstm_backward, 4)])
def test_does_a_sequence_leave_its_inputs_untouched(forward, backward, gates):
    inputs = rnn_inputs(2, 3, 4, 5, 0, gates=gates)
    saved = [a.copy() for a in inputs]
    h, cache = forward(*inputs)
    dh = np.ones_like(h)
    backward(dh, cache)
    for now, before in zip(inputs, saved, strict=True):
        np.testing.assert_array_equal(now, before)
    np.testing.assert_array_equal(dh, np.ones_like(h))


@pytest.mark.parametrize(
    "index, bad, message",
    [
        (2, np.zeros((5, 12)), r"Wx has shape \(5, 12\) but x has D=4 features"),
        (2, np.zeros((4, 7)), r"Wx has shape \(4, 7\) but prev_h has H=3 hidden units"),
        (3, np.zeros((3, 4)), r"Wh has shape \(3, 4\).*must be \(3, 12\)"),
        (4, np.zeros(3), r"b has shape \(3,\) but must be \(12,\)"),
        (1, np.zeros((5, 3)), r"prev_h has shape \(5, 3\) but x has N=2 rows"),
        (0, np.zeros((2, 3, 4)), r"x must be a 2-D array \(N, D\)"),
        (3, None, "Wh is None"),
    ],
)
def test_is_a_bad_lstm_step_shape_rejected_with_a_clear_message(index, bad, message):
    args = list(rnn_inputs(2, None, 4, 3, 0, gates=4))
    args[index] = bad
    x, prev_h, Wx, Wh, b = args
    with pytest.raises(ValueError, match=message):
        lstm_step_forward(x, prev_h, np.zeros((2, 3)), Wx, Wh, b)


@pytest.mark.parametrize(
    "forward, gates, index, bad, message",
    [
        (rnn_step_forward, 1, 3, np.zeros((3, 4)), r"Wh has shape \(3, 4\).*must be \(3, 3\)"),
        (rnn_forward, 1, 1, np.zeros((5, 3)), r"h0 has shape \(5, 3\) but x has N=2 rows"),
        (rnn_forward, 1, 0, np.zeros((2, 0, 4)), "at least T=1 time step"),
        (lstm_forward, 4, 0, np.zeros((2, 4)), r"x must be a 3-D array \(N, T, D\)"),
        (lstm_forward, 4, 2, np.zeros((3, 12)), r"Wx has shape \(3, 12\) but x has D=4 features"),
    ],
)
def test_is_a_bad_shape_rejected_by_every_rnn_function(forward, gates, index, bad, message):
    t = None if forward is rnn_step_forward else 3
    args = list(rnn_inputs(2, t, 4, 3, 0, gates=gates))
    args[index] = bad
    with pytest.raises(ValueError, match=message):
        forward(*args)


def test_is_a_mismatched_prev_c_rejected():
    x, prev_h, Wx, Wh, b = rnn_inputs(2, None, 4, 3, 0, gates=4)
    with pytest.raises(ValueError, match=r"prev_c has shape \(2, 4\) but prev_h has shape \(2, 3\)"):
        lstm_step_forward(x, prev_h, np.zeros((2, 4)), Wx, Wh, b)


def test_is_a_wrongly_shaped_dh_rejected():
    h, cache = rnn_forward(*rnn_inputs(2, 3, 4, 5, 0))
    with pytest.raises(ValueError, match=r"dh has shape \(2, 2, 5\).*\(2, 3, 5\)"):
        rnn_backward(h[:, :2], cache)
