"""Convolution and max pooling: forward/backward pairs, as loops and vectorized.

Dimensions: N batch, C input channels, H/W input height/width, F filters, HH/WW kernel (or pool
window) height/width, H'/W' output height/width.

Output size of a convolution with zero padding ``pad`` and step ``stride``::

    H' = 1 + (H + 2 * pad - HH) // stride        W' = 1 + (W + 2 * pad - WW) // stride

and the windows must tile the padded input exactly: ``(H + 2 * pad - HH) % stride == 0``
(same for W), otherwise ``ValueError``. Max pooling uses the same formula with ``pad = 0``.

The ``*_naive`` functions loop over output positions and read like the sum in notebook 13; the
unsuffixed ones are the vectorized versions (im2col with a sliding-window view, one matrix per
example, and a col2im that adds one strided slice per kernel offset instead of a slow
``np.add.at``; max pooling compares all windows one window offset at a time). Both give the same
numbers; the ``*_fast`` names are aliases kept for CS231n-style code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bplib._checks import as_float_array, check_ndim, check_shape, require_keys

__all__ = [
    "conv_backward",
    "conv_backward_fast",
    "conv_backward_naive",
    "conv_forward",
    "conv_forward_fast",
    "conv_forward_naive",
    "conv_output_size",
    "max_pool_backward",
    "max_pool_backward_fast",
    "max_pool_backward_naive",
    "max_pool_forward",
    "max_pool_forward_fast",
    "max_pool_forward_naive",
]


def _positive_int(value: Any, name: str, minimum: int) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def conv_output_size(size: int, kernel: int, stride: int, pad: int, axis: str = "H") -> int:
    """Return ``1 + (size + 2 * pad - kernel) // stride``, checking the windows tile exactly.

    ``axis`` ("H" or "W") only labels the error message. Raises ``ValueError`` when the kernel is
    larger than the padded input or when ``(size + 2 * pad - kernel) % stride != 0``.
    """
    span = size + 2 * pad - kernel
    if span < 0:
        raise ValueError(
            f"kernel {axis} size {kernel} is larger than the padded input "
            f"({axis} + 2*pad = {size} + 2*{pad} = {size + 2 * pad})"
        )
    if span % stride != 0:
        raise ValueError(
            f"windows do not tile along {axis}: ({axis} + 2*pad - kernel) = "
            f"({size} + 2*{pad} - {kernel}) = {span} is not divisible by stride {stride}; "
            "change pad or stride"
        )
    return 1 + span // stride


def _conv_setup(x: Any, w: Any, b: Any, conv_param: dict) -> tuple:
    """Validate conv inputs; return ``(x, w, b, stride, pad, H', W')`` with float arrays."""
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    check_ndim(w, 4, "w", "(F, C, HH, WW)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has shape {x.shape} with C={x.shape[1]} channels but w has shape {w.shape} "
            f"with C={w.shape[1]} channels"
        )
    check_shape(b, (w.shape[0],), "b", "(F,): one bias per filter of w")
    if not isinstance(conv_param, dict):
        raise ValueError(
            f"conv_param must be a dict with keys 'stride' and 'pad', got {conv_param!r}"
        )
    require_keys(conv_param, ("stride", "pad"), "conv_param")
    stride = _positive_int(conv_param["stride"], "conv_param['stride']", 1)
    pad = _positive_int(conv_param["pad"], "conv_param['pad']", 0)
    _, _, height, width = x.shape
    _, _, hh, ww = w.shape
    out_h = conv_output_size(height, hh, stride, pad, "H")
    out_w = conv_output_size(width, ww, stride, pad, "W")
    return x, w, b, stride, pad, out_h, out_w


def _check_dout(dout: Any, shape: tuple) -> np.ndarray:
    """Return ``dout`` as a float array of the forward output's shape, else ``ValueError``."""
    dout = as_float_array(dout, "dout")
    if dout.shape != tuple(shape):
        raise ValueError(
            f"dout has shape {dout.shape} but the forward output had shape {tuple(shape)}"
        )
    return dout


def _pad(x: np.ndarray, pad: int) -> np.ndarray:
    """Zero-pad the two spatial axes of ``x`` (N, C, H, W); always a new array."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _offset_view(
    a: np.ndarray, i: int, j: int, stride: int, out_h: int, out_w: int
) -> np.ndarray:
    """Pixel (i, j) of every window at once: a (N, C, H, W) -> a view (N, C, H', W').

    Window (r, s) starts at row ``r * stride`` and column ``s * stride``, so its pixel (i, j) is
    ``a[:, :, i + r * stride, j + s * stride]``. Writing into the view writes into ``a``.
    """
    return a[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]


# ---------------------------------------------------------------- convolution, loop version


def conv_forward_naive(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[np.ndarray, tuple]:
    """Convolution forward pass, one output position at a time.

    Inputs: x (N, C, H, W); w (F, C, HH, WW); b (F,); conv_param with "stride" (int >= 1) and
    "pad" (int >= 0, zeros added on every side of H and W).
    Returns out (N, F, H', W') with H' = 1 + (H + 2*pad - HH) // stride (W' likewise), where
    ``out[n, f, i, j] = sum(window(n, i, j) * w[f]) + b[f]``, and cache = (x, w, stride, pad).
    """
    x, w, b, stride, pad, out_h, out_w = _conv_setup(x, w, b, conv_param)
    n, num_f = x.shape[0], w.shape[0]
    _, _, hh, ww = w.shape
    xp = _pad(x, pad)
    out = np.empty((n, num_f, out_h, out_w), dtype=np.result_type(x, w, b))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i * stride : i * stride + hh, j * stride : j * stride + ww]
            # (N, C, HH, WW) against (F, C, HH, WW): sum over C, HH, WW -> (N, F)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, stride, pad)


def conv_backward_naive(dout: Any, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution backward pass, one output position at a time.

    Inputs: dout (N, F, H', W'); cache = (x, w, stride, pad) from ``conv_forward_naive``.
    Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,). Each output position sends
    ``dout[n, f, i, j] * w[f]`` back to its window of x and ``dout[n, f, i, j] * window`` to w.
    """
    x, w, stride, pad = cache
    _, _, hh, ww = w.shape
    n, _, height, width = x.shape
    out_h = 1 + (height + 2 * pad - hh) // stride
    out_w = 1 + (width + 2 * pad - ww) // stride
    dout = _check_dout(dout, (n, w.shape[0], out_h, out_w))
    xp = _pad(x, pad)
    dxp = np.zeros(xp.shape, dtype=np.result_type(x, w, dout))
    dw = np.zeros(w.shape, dtype=dxp.dtype)
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * stride, i * stride + hh)
            cols = slice(j * stride, j * stride + ww)
            g = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad : pad + height, pad : pad + width].copy()
    return dx, dw, db


# ---------------------------------------------------------------- convolution, vectorized


def _im2col(xp: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """Windows as columns, one matrix per example: xp (N, C, Hp, Wp) -> cols (N, C*HH*WW, H'*W').

    ``cols[n]`` has one column per window of example n (windows in row-major order over (i, j))
    and one row ``(c, a, e)`` per pixel ``(a, e)`` of channel c of the window. This layout keeps
    the innermost axis of the copy contiguous in memory when stride is 1, which makes the copy
    several times faster, and ``w_rows @ cols`` then comes out in the (N, F, H'*W') order of out.
    """
    windows = sliding_window_view(xp, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    # the reshape of this non-contiguous view is the one copy im2col needs
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * hh * ww, out_h * out_w)


def conv_forward(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[np.ndarray, tuple]:
    """Vectorized convolution forward pass (im2col + a matrix product per example).

    Same inputs and output as ``conv_forward_naive``: x (N, C, H, W), w (F, C, HH, WW), b (F,),
    conv_param {"stride", "pad"} -> out (N, F, H', W').
    cache = (x_shape, w, stride, pad, cols) with cols (N, C*HH*WW, H'*W') the im2col matrices,
    kept because dw needs them.
    """
    x, w, b, stride, pad, out_h, out_w = _conv_setup(x, w, b, conv_param)
    n, num_f = x.shape[0], w.shape[0]
    _, _, hh, ww = w.shape
    cols = _im2col(_pad(x, pad), hh, ww, stride)
    # (F, C*HH*WW) @ (N, C*HH*WW, H'*W') -> (N, F, H'*W'), in the dtype the loop version gives
    out = np.matmul(w.reshape(num_f, -1), cols, dtype=np.result_type(x, w, b))
    out += b[:, None]
    return out.reshape(n, num_f, out_h, out_w), (x.shape, w, stride, pad, cols)


def conv_backward(
    dout: Any, cache: tuple, *, input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Vectorized convolution backward pass (matrix products per example + col2im).

    Inputs: dout (N, F, H', W'); cache from ``conv_forward``.
    Returns dx (N, C, H, W), dw (F, C, HH, WW), db (F,). ``input_grad=False`` skips dx (returned
    as ``None``), which the first layer of a network never needs.
    """
    x_shape, w, stride, pad, cols = cache
    n, c, height, width = x_shape
    num_f, _, hh, ww = w.shape
    out_h = 1 + (height + 2 * pad - hh) // stride
    out_w = 1 + (width + 2 * pad - ww) // stride
    dout = _check_dout(dout, (n, num_f, out_h, out_w))
    g = dout.reshape(n, num_f, out_h * out_w)
    # (N, F, H'*W') @ (N, H'*W', C*HH*WW): each example's share of dw, then their sum
    dw = (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = g.sum(axis=(0, 2))
    if not input_grad:
        return None, dw, db
    dcols = (w.reshape(num_f, -1).T @ g).reshape(n, c, hh, ww, out_h, out_w)
    # col2im: for a fixed kernel offset (a, e) the windows touch distinct pixels, so a strided
    # slice += is exact; overlaps between windows are summed across the HH*WW offsets.
    dxp = np.zeros((n, c, height + 2 * pad, width + 2 * pad), dtype=dcols.dtype)
    for a in range(hh):
        for e in range(ww):
            window_pixel = _offset_view(dxp, a, e, stride, out_h, out_w)
            window_pixel += dcols[:, :, a, e]
    dx = dxp[:, :, pad : pad + height, pad : pad + width].copy()
    return dx, dw, db


# ---------------------------------------------------------------- max pooling


def _pool_setup(x: Any, pool_param: dict) -> tuple:
    """Validate pooling inputs; return ``(x, ph, pw, stride, H', W')``."""
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    if not isinstance(pool_param, dict):
        raise ValueError(f"pool_param must be a dict, got {pool_param!r}")
    require_keys(pool_param, ("pool_height", "pool_width", "stride"), "pool_param")
    ph = _positive_int(pool_param["pool_height"], "pool_param['pool_height']", 1)
    pw = _positive_int(pool_param["pool_width"], "pool_param['pool_width']", 1)
    stride = _positive_int(pool_param["stride"], "pool_param['stride']", 1)
    out_h = conv_output_size(x.shape[2], ph, stride, 0, "H")
    out_w = conv_output_size(x.shape[3], pw, stride, 0, "W")
    return x, ph, pw, stride, out_h, out_w


def max_pool_forward_naive(x: Any, pool_param: dict) -> tuple[np.ndarray, tuple]:
    """Max pooling forward pass, one output position at a time.

    Inputs: x (N, C, H, W); pool_param with "pool_height" (HH), "pool_width" (WW), "stride".
    Returns out (N, C, H', W') with H' = 1 + (H - HH) // stride (W' likewise; windows must tile
    exactly), and cache = (x, HH, WW, stride).
    """
    x, ph, pw, stride, out_h, out_w = _pool_setup(x, pool_param)
    out = np.empty(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, ph, pw, stride)


def max_pool_backward_naive(dout: Any, cache: tuple) -> np.ndarray:
    """Max pooling backward pass, one output position at a time.

    Inputs: dout (N, C, H', W'); cache = (x, HH, WW, stride) from ``max_pool_forward_naive``.
    Returns dx (N, C, H, W): each ``dout[n, c, i, j]`` goes to the position of its window's
    maximum; on a tie the first maximum in row-major order gets all of it (``np.argmax``).
    Overlapping windows (stride < window) add up.
    """
    x, ph, pw, stride = cache
    n, c = x.shape[:2]
    out_h = 1 + (x.shape[2] - ph) // stride
    out_w = 1 + (x.shape[3] - pw) // stride
    dout = _check_dout(dout, (n, c, out_h, out_w))
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw]
            r, q = np.divmod(window.reshape(n, c, -1).argmax(axis=2), pw)
            # one (n, c) pair per element here, so fancy-index += does not drop duplicates
            dx[nn, cc, i * stride + r, j * stride + q] += dout[:, :, i, j]
    return dx


def max_pool_forward(x: Any, pool_param: dict) -> tuple[np.ndarray, tuple]:
    """Vectorized max pooling forward pass; same inputs and output as the naive version.

    x (N, C, H, W) -> out (N, C, H', W'). cache = (x_shape, HH, WW, stride, argmax) with
    argmax (N, C, H', W') the row-major index ``a * WW + e`` of each window's (first) maximum.
    """
    x, ph, pw, stride, out_h, out_w = _pool_setup(x, pool_param)
    # One pass per window offset (a, e) over all windows at once, rather than an argmax along an
    # axis of length HH*WW, which numpy runs as one short loop per window.
    out = _offset_view(x, 0, 0, stride, out_h, out_w).copy()
    argmax = np.zeros(out.shape, dtype=np.min_scalar_type(ph * pw - 1))
    for k in range(1, ph * pw):
        pixel = _offset_view(x, *divmod(k, pw), stride, out_h, out_w)
        better = pixel > out  # strictly greater: on a tie the first maximum keeps the gradient
        np.maximum(out, pixel, out=out)
        np.putmask(argmax, better, k)
    return out, (x.shape, ph, pw, stride, argmax)


def max_pool_backward(dout: Any, cache: tuple) -> np.ndarray:
    """Vectorized max pooling backward pass; same rule and tie handling as the naive version.

    dout (N, C, H', W'), cache from ``max_pool_forward`` -> dx (N, C, H, W).
    """
    x_shape, ph, pw, stride, argmax = cache
    dout = _check_dout(dout, argmax.shape)
    out_h, out_w = argmax.shape[2:]
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for k in range(ph * pw):
        # pixel (a, e) of every window gets dout where it was that window's maximum
        window_pixel = _offset_view(dx, *divmod(k, pw), stride, out_h, out_w)
        window_pixel += dout * (argmax == k)
    return dx


conv_forward_fast = conv_forward
conv_backward_fast = conv_backward
max_pool_forward_fast = max_pool_forward
max_pool_backward_fast = max_pool_backward
