"""Vanilla RNN and LSTM: one step and a whole sequence, forward and backward.

Dimensions: N batch, T time steps, D input features, H hidden units.

A sequence is unrolled into T copies of the step that share the weights, so the backward pass
(backpropagation through time, notebook 14) walks the steps in reverse, adds each step's weight
gradients, and hands the gradient of every hidden state on to the step before it.

LSTM gate order along the 4H axis of Wx, Wh and b: input i, forget f, output o (sigmoid) and
candidate g (tanh), i.e. columns ``[0:H] = i, [H:2H] = f, [2H:3H] = o, [3H:4H] = g``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bplib._checks import as_float_array, check_ndim

__all__ = [
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function, elementwise, any shape.

    Only ever exponentiates non-positive numbers, so large |a| gives 0 or 1 without overflow.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _check_weights(
    x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any, gates: int, x_ndim: int
) -> tuple[np.ndarray, ...]:
    """Validate and convert ``x, prev_h, Wx, Wh, b``; ``gates`` is 1 (RNN) or 4 (LSTM).

    x is (N, D) when ``x_ndim`` is 2 and (N, T, D) when it is 3; prev_h (N, H); Wx (D, gates*H);
    Wh (H, gates*H); b (gates*H,).
    """
    x = as_float_array(x, "x")
    prev_h = as_float_array(prev_h, "h0" if x_ndim == 3 else "prev_h")
    Wx, Wh, b = (as_float_array(a, name) for a, name in ((Wx, "Wx"), (Wh, "Wh"), (b, "b")))
    h_name = "h0" if x_ndim == 3 else "prev_h"
    check_ndim(x, x_ndim, "x", "(N, D)" if x_ndim == 2 else "(N, T, D)")
    check_ndim(prev_h, 2, h_name, "(N, H)")
    check_ndim(Wx, 2, "Wx", "(D, H)" if gates == 1 else "(D, 4H)")
    check_ndim(Wh, 2, "Wh", "(H, H)" if gates == 1 else "(H, 4H)")
    check_ndim(b, 1, "b", "(H,)" if gates == 1 else "(4H,)")
    n, d = x.shape[0], x.shape[-1]
    hidden = prev_h.shape[1]
    width = gates * hidden
    width_txt = "H" if gates == 1 else "4H"
    if x_ndim == 3 and x.shape[1] == 0:
        raise ValueError(f"x has shape {x.shape}: a sequence needs at least T=1 time step")
    if prev_h.shape[0] != n:
        raise ValueError(f"{h_name} has shape {prev_h.shape} but x has N={n} rows (batch size)")
    if Wx.shape[0] != d:
        raise ValueError(f"Wx has shape {Wx.shape} but x has D={d} features")
    if Wx.shape[1] != width:
        raise ValueError(
            f"Wx has shape {Wx.shape} but {h_name} has H={hidden} hidden units, "
            f"so Wx needs {width_txt}={width} columns"
        )
    if Wh.shape != (hidden, width):
        raise ValueError(
            f"Wh has shape {Wh.shape} but {h_name} has H={hidden} hidden units, "
            f"so Wh must be ({hidden}, {width}) (H, {width_txt})"
        )
    if b.shape != (width,):
        raise ValueError(f"b has shape {b.shape} but must be ({width},) ({width_txt},)")
    return x, prev_h, Wx, Wh, b


def _check_upstream(g: Any, shape: tuple, name: str) -> np.ndarray:
    """Return upstream gradient ``g`` as a float array of ``shape``, else ``ValueError``."""
    g = as_float_array(g, name)
    if g.shape != tuple(shape):
        raise ValueError(
            f"{name} has shape {g.shape} but the forward output had shape {tuple(shape)}"
        )
    return g


# ---------------------------------------------------------------- vanilla RNN


def rnn_step_forward(
    x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any
) -> tuple[np.ndarray, tuple]:
    """One vanilla RNN step: ``next_h = tanh(x @ Wx + prev_h @ Wh + b)``.

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns next_h (N, H) and cache = (x, prev_h, Wx, Wh, next_h); tanh' is read off next_h.
    """
    x, prev_h, Wx, Wh, b = _check_weights(x, prev_h, Wx, Wh, b, gates=1, x_ndim=2)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h: Any, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward pass of one vanilla RNN step.

    Inputs: dnext_h (N, H), cache from ``rnn_step_forward``.
    Returns dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, prev_h, Wx, Wh, next_h = cache
    dnext_h = _check_upstream(dnext_h, next_h.shape, "dnext_h")
    dz = dnext_h * (1.0 - next_h**2)  # through tanh: d tanh(z)/dz = 1 - tanh(z)^2
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


def rnn_forward(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any) -> tuple[np.ndarray, tuple]:
    """Run a vanilla RNN over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H) initial hidden state, Wx (D, H), Wh (H, H), b (H,).
    Returns h (N, T, H), the hidden state after every step, and cache = a tuple of the T step
    caches of ``rnn_step_forward``, in time order.
    """
    x, h0, Wx, Wh, b = _check_weights(x, h0, Wx, Wh, b, gates=1, x_ndim=3)
    n, steps, _ = x.shape
    h = np.empty((n, steps, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    caches = []
    prev_h = h0
    for t in range(steps):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, tuple(caches)


def rnn_backward(dh: Any, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backpropagation through time for ``rnn_forward``.

    Inputs: dh (N, T, H), the upstream gradient of every hidden state; cache from
    ``rnn_forward``. Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x0, h0, Wx, Wh, _ = cache[0]
    n, steps, hidden = x0.shape[0], len(cache), h0.shape[1]
    dh = _check_upstream(dh, (n, steps, hidden), "dh")
    dtype = np.result_type(dh, Wx)
    dx = np.empty((n, steps, Wx.shape[0]), dtype=dtype)
    dWx, dWh, db = np.zeros_like(Wx, dtype=dtype), np.zeros_like(Wh, dtype=dtype), 0.0
    dprev_h = np.zeros((n, hidden), dtype=dtype)
    for t in reversed(range(steps)):
        # h[t] feeds both the loss (dh[:, t]) and the next step (dprev_h): fan-out adds
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db = db + db_t
    return dx, dprev_h, dWx, dWh, db


# ---------------------------------------------------------------- LSTM


def lstm_step_forward(
    x: Any, prev_h: Any, prev_c: Any, Wx: Any, Wh: Any, b: Any
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One LSTM step.

    With a = x @ Wx + prev_h @ Wh + b split into [i, f, o, g] along the 4H axis:
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o); g = tanh(a_g);
    next_c = f * prev_c + i * g; next_h = o * tanh(next_c).

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns next_h (N, H), next_c (N, H) and
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c): each gate is (N, H) and
    tanh_c = tanh(next_c) (N, H).
    """
    x, prev_h, Wx, Wh, b = _check_weights(x, prev_h, Wx, Wh, b, gates=4, x_ndim=2)
    prev_c = as_float_array(prev_c, "prev_c")
    if prev_c.shape != prev_h.shape:
        raise ValueError(
            f"prev_c has shape {prev_c.shape} but prev_h has shape {prev_h.shape}; they must match"
        )
    hidden = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    ifo = sigmoid(a[:, : 3 * hidden])
    i, f, o = ifo[:, :hidden], ifo[:, hidden : 2 * hidden], ifo[:, 2 * hidden :]
    g = np.tanh(a[:, 3 * hidden :])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h: Any, dnext_c: Any, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward pass of one LSTM step.

    Inputs: dnext_h (N, H), dnext_c (N, H), cache from ``lstm_step_forward``.
    Returns dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dnext_h = _check_upstream(dnext_h, i.shape, "dnext_h")
    dnext_c = _check_upstream(dnext_c, i.shape, "dnext_c")
    # next_c reaches the loss directly (dnext_c) and through next_h = o * tanh(next_c)
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)
    da = np.concatenate(
        (
            dc * g * i * (1.0 - i),  # input gate, sigmoid' = s(1 - s)
            dc * prev_c * f * (1.0 - f),  # forget gate
            dnext_h * tanh_c * o * (1.0 - o),  # output gate
            dc * i * (1.0 - g**2),  # candidate, tanh' = 1 - tanh^2
        ),
        axis=1,
    )
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any) -> tuple[np.ndarray, tuple]:
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns h (N, T, H), the hidden state after every step (cell states are internal), and
    cache = a tuple of the T step caches of ``lstm_step_forward``, in time order.
    """
    x, h0, Wx, Wh, b = _check_weights(x, h0, Wx, Wh, b, gates=4, x_ndim=3)
    n, steps, _ = x.shape
    h = np.empty((n, steps, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    caches = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(steps):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, tuple(caches)


def lstm_backward(dh: Any, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backpropagation through time for ``lstm_forward``.

    Inputs: dh (N, T, H), the upstream gradient of every hidden state; cache from
    ``lstm_forward``. Returns dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    x0, h0, _, Wx, Wh = cache[0][:5]
    n, steps, hidden = x0.shape[0], len(cache), h0.shape[1]
    dh = _check_upstream(dh, (n, steps, hidden), "dh")
    dtype = np.result_type(dh, Wx)
    dx = np.empty((n, steps, Wx.shape[0]), dtype=dtype)
    dWx, dWh, db = np.zeros_like(Wx, dtype=dtype), np.zeros_like(Wh, dtype=dtype), 0.0
    dprev_h = np.zeros((n, hidden), dtype=dtype)
    dprev_c = np.zeros((n, hidden), dtype=dtype)
    for t in reversed(range(steps)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, cache[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db = db + db_t
    return dx, dprev_h, dWx, dWh, db
