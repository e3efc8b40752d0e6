"""Known mistakes of convolution and max pooling (notebook 13).

Dimensions: N batch, C channels, H/W input height/width, F filters, HH/WW kernel (or pooling
window) height/width, H'/W' output height/width, P padding, S stride.

Inputs, as the graded functions get them:

* convolution forward (``conv_forward_naive``, ``conv_forward``): ``(x, w, b, conv_param)``;
* convolution backward: ``(x, w, b, conv_param, dout)``, the forward pass's inputs and the
  upstream gradient (the cache is the learner's own, so a mistake is computed from what went
  into the forward pass); :data:`CONV_DX`, :data:`CONV_DW` and :data:`CONV_DB` compute the
  mistaken ``dx``, ``dw`` and ``db``;
* max pooling forward: ``(x, pool_param)``; backward: ``(x, pool_param, dout)``.

Each mistake is written as a learner makes it: windows taken one pixel apart instead of a stride
apart, a slice that forgets the padding, a gradient routed to the wrong entries of a window. A mistake that is the right answer rearranged (the padding left on ``dx``, a missing
bias) is a ``relation`` on the right answer, so no table returns it. A mistake that makes no
difference for some inputs (the stride ignored when S = 1) has no result for them.

Max pooling's convention at a tie, which these tables and the notebook share: the first maximum
of the window in row-major order (the one ``np.argmax`` picks) gets all of ``dout``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograder.numeric import Tolerance, close

from . import Mistake

__all__ = [
    "CONV_DB",
    "CONV_DW",
    "CONV_DX",
    "CONV_FORWARD",
    "MAX_POOL_BACKWARD",
    "MAX_POOL_FORWARD",
]

# A relation compares with the right answer, which a visible test may only know as a numerical
# gradient (good to about 1e-9): a little looser than MATCH.
_NEAR = Tolerance(1e-6, 1e-8)


# ----------------------------------------------------------------------------- shared pieces


def _stride_pad(conv_param: dict[str, Any]) -> tuple[int, int]:
    return int(conv_param["stride"]), int(conv_param["pad"])


def _padded(x: np.ndarray, top: int, bottom: int | None = None) -> np.ndarray:
    """x (N, C, H, W) with ``top`` zero rows and columns before and ``bottom`` after."""
    after = top if bottom is None else bottom
    return np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (top, after), (top, after)))


def _windows(a: np.ndarray, hh: int, ww: int, step_h: int, step_w: int | None = None
             ) -> np.ndarray:
    """Every window of a (N, C, H, W) that fits, ``step`` apart: a view (N, C, H', W', HH, WW)."""
    view = sliding_window_view(a, (hh, ww), axis=(2, 3))
    return view[:, :, ::step_h, ::(step_h if step_w is None else step_w)]


def _correlate(xp: np.ndarray, w: np.ndarray, step: int) -> np.ndarray:
    """Windows of xp ``step`` apart against each filter of w: (N, F, H', W'), no bias."""
    _, _, hh, ww = w.shape
    return np.einsum("ncijae,fcae->nfij", _windows(xp, hh, ww, step), w)


def _out_size(conv_param: dict[str, Any], x: np.ndarray, w: np.ndarray) -> tuple[int, int]:
    stride, pad = _stride_pad(conv_param)
    return ((x.shape[2] + 2 * pad - w.shape[2]) // stride + 1,
            (x.shape[3] + 2 * pad - w.shape[3]) // stride + 1)


def _crop(dxp: np.ndarray, pad: int, x: np.ndarray) -> np.ndarray:
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]


def _overlap(kernel: tuple[int, int], stride: int) -> bool:
    """Whether neighbouring windows share pixels."""
    return kernel[0] > stride or kernel[1] > stride


def _sent_back(x: np.ndarray, w: np.ndarray, conv_param: dict[str, Any], dout: np.ndarray, *,
               step: int | None = None, order: str = "add") -> np.ndarray:
    """dx on the padded grid, each window's dout·w sent back onto it, cropped to x's shape.

    ``step``: how far apart the windows are put back (the stride unless given); ``order``:
    ``"add"`` sums overlapping windows, ``"last"`` lets each later window (row-major) overwrite,
    ``"first"`` lets earlier windows win, ``"last filter"`` writes one filter at a time."""
    stride, pad = _stride_pad(conv_param)
    step = stride if step is None else step
    _, _, hh, ww = w.shape
    out_h, out_w = dout.shape[2:]
    dxp = np.zeros(_padded(x, pad).shape)
    positions = [(i, j) for i in range(out_h) for j in range(out_w)]
    if order == "first":
        positions.reverse()
    for i, j in positions:
        rows, cols = slice(i * step, i * step + hh), slice(j * step, j * step + ww)
        if order == "last filter":
            dxp[:, :, rows, cols] = np.einsum("n,cae->ncae", dout[:, -1, i, j], w[-1])
            continue
        part = np.einsum("nf,fcae->ncae", dout[:, :, i, j], w)
        if order == "add":
            dxp[:, :, rows, cols] += part
        else:
            dxp[:, :, rows, cols] = part
    return _crop(dxp, pad, x)


def _dilated(dout: np.ndarray, stride: int) -> np.ndarray:
    """dout (N, F, H', W') with S - 1 zeros between neighbouring entries."""
    n, f, out_h, out_w = dout.shape
    spread = np.zeros((n, f, (out_h - 1) * stride + 1, (out_w - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    return spread


def _not_flipped(x: np.ndarray, w: np.ndarray, conv_param: dict[str, Any],
                 dout: np.ndarray) -> np.ndarray:
    """dx as the full correlation of (dilated) dout with the kernel NOT rotated by 180°."""
    stride, pad = _stride_pad(conv_param)
    _, _, hh, ww = w.shape
    full = np.pad(_dilated(dout, stride), ((0, 0), (0, 0), (hh - 1, hh - 1), (ww - 1, ww - 1)))
    dxp = np.einsum("nfpqae,fcae->ncpq", _windows(full, hh, ww, 1), w)
    return _crop(dxp, pad, x)


def _filters_mixed(w: np.ndarray, first: str) -> np.ndarray:
    """The kernel an im2col product really applies when its rows and w's columns are flattened in
    different orders (``first``: the order of the im2col rows, "offset" or "channel")."""
    f, c, hh, ww = w.shape
    if first == "offset":  # im2col rows (a, e, c) against w.reshape(F, -1), columns (c, a, e)
        return w.reshape(f, hh, ww, c).transpose(0, 3, 1, 2)
    return w.transpose(0, 2, 3, 1).reshape(f, c, hh, ww)  # rows (c, a, e), w flattened (a, e, c)


def _bias(b: np.ndarray) -> np.ndarray:
    return np.asarray(b, dtype=np.float64)[:, None, None]


def _no_bias(got: Any, want: Any, x: Any, w: Any, b: Any, conv_param: Any) -> bool:
    return bool(np.any(b)) and close(np.asarray(got, dtype=np.float64) + _bias(b), want, _NEAR)


def _reshaped(got: Any, want: Any, *_: Any) -> bool:
    """The right numbers, laid out (N, F, W', H') by a reshape in the wrong order."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if want.ndim != 4 or want.shape[2] == want.shape[3]:
        return False
    flipped = want.shape[:2] + want.shape[2:][::-1]
    return got.shape == flipped and close(got.reshape(want.shape), want, _NEAR)


def _filters_last(got: Any, want: Any, *_: Any) -> bool:
    """The right numbers computed as (N, H'W', F) and reshaped without moving the F axis."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if want.ndim != 4 or got.shape != want.shape or want.shape[1] == 1:
        return False
    n, f, out_h, out_w = want.shape
    return close(got.reshape(n, out_h * out_w, f).transpose(0, 2, 1).reshape(want.shape), want,
                 _NEAR)


# ----------------------------------------------------------------------------- convolution


_STRIDE_IGNORED = ("windows one pixel apart: the stride was ignored; window (i, j) starts at row "
                   "i·stride and column j·stride, and H' = 1 + (H + 2·pad - HH) // stride")


def _conv(x: Any, w: Any, b: Any, conv_param: dict[str, Any], *, step: int | None = None,
          pads: tuple[int, int] | None = None, kernel: np.ndarray | None = None) -> np.ndarray:
    """out with one thing changed: windows ``step`` apart, the padding ``pads`` (before, after),
    or another ``kernel``."""
    stride, pad = _stride_pad(conv_param)
    w = np.asarray(w, dtype=np.float64)
    xp = _padded(x, *(pads or (pad, pad)))
    return _correlate(xp, w if kernel is None else kernel, stride if step is None else step) + _bias(b)


CONV_FORWARD = [
    Mistake("no bias", "the window sums without the bias: add b[f] to every output of filter f",
            relation=_no_bias),
    Mistake("summed over the batch", "the window sums added up over the whole batch, the same "
            "number for every example: np.sum without an axis adds the N examples together; sum "
            "over the channels and the kernel only, axis=(1, 2, 3)",
            lambda x, w, b, p: np.broadcast_to(
                (_conv(x, w, np.zeros(np.shape(w)[0]), p).sum(axis=0, keepdims=True)
                 + _bias(b)), _conv(x, w, b, p).shape) if np.shape(x)[0] > 1 else None),
    Mistake("kernel flipped", "a convolution with the kernel rotated by 180°, as in signal "
            "processing; deep learning's convolution slides w as it is (a cross-correlation): "
            "out[n, f, i, j] = sum of window * w[f], with window row a meeting w[f, :, a, :]",
            lambda x, w, b, p: _conv(x, w, b, p, kernel=np.asarray(w)[:, :, ::-1, ::-1])),
    Mistake("stride ignored", _STRIDE_IGNORED,
            lambda x, w, b, p: _conv(x, w, b, p, step=1) if _stride_pad(p)[0] > 1 else None),
    Mistake("stride ignored, right size", _STRIDE_IGNORED,
            lambda x, w, b, p: _conv(x, w, b, p, step=1)[:, :, :_out_size(p, x, w)[0],
                                                         :_out_size(p, x, w)[1]]
            if _stride_pad(p)[0] > 1 else None),
    Mistake("no padding", "computed on x without its zero padding: pad every side of H and W "
            "with `pad` zeros first, np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
            lambda x, w, b, p: _conv(x, w, b, p, pads=(0, 0)) if _stride_pad(p)[1] else None),
    Mistake("padded on one side", "padded only before the first row and column: put `pad` zeros "
            "on BOTH sides of H and of W, so the padded input is H + 2·pad by W + 2·pad",
            lambda x, w, b, p: _conv(x, w, b, p, pads=(_stride_pad(p)[1], 0))
            if _stride_pad(p)[1] else None),
    Mistake("im2col rows in another order", "as if the channels and the kernel offsets were "
            "mixed up: the rows of your window matrix are ordered (kernel row, kernel column, "
            "channel) while w.reshape(F, -1) orders its columns (channel, kernel row, kernel "
            "column); flatten both in the same order",
            lambda x, w, b, p: _conv(x, w, b, p, kernel=_filters_mixed(np.asarray(w), "offset"))
            if np.shape(w)[1] > 1 else None),
    Mistake("w flattened in another order", "as if the channels and the kernel offsets were "
            "mixed up: w was flattened (kernel row, kernel column, channel) while the rows of "
            "your window matrix are ordered (channel, kernel row, kernel column); flatten both "
            "in the same order, w.reshape(F, -1)",
            lambda x, w, b, p: _conv(x, w, b, p, kernel=_filters_mixed(np.asarray(w), "channel"))
            if np.shape(w)[1] > 1 else None),
    Mistake("reshaped in the wrong order", "the right numbers reshaped to (N, F, W', H'): the "
            "windows come in row-major order, so the result is reshaped to (N, F, H', W')",
            relation=_reshaped),
    Mistake("filter axis not moved", "the right numbers in the wrong places: a product of shape "
            "(N, H'·W', F) reshaped straight to (N, F, H', W'); move the filter axis forward "
            "first, .transpose(0, 2, 1), then reshape", relation=_filters_last),
]


def _overlapping(w: Any, conv_param: dict[str, Any]) -> bool:
    return _overlap(np.shape(w)[2:], _stride_pad(conv_param)[0])


def _padding_kept(got: Any, want: Any, x: Any, w: Any, b: Any, conv_param: dict[str, Any],
                  dout: Any) -> bool:
    pad = _stride_pad(conv_param)[1]
    got = np.asarray(got, dtype=np.float64)
    n, c, h, wd = np.shape(x)
    return (pad > 0 and got.shape == (n, c, h + 2 * pad, wd + 2 * pad)
            and close(got[:, :, pad:pad + h, pad:pad + wd], want, _NEAR))


def _cropped_short(got: Any, want: Any, x: Any, w: Any, b: Any, conv_param: dict[str, Any],
                   dout: Any) -> bool:
    pad = _stride_pad(conv_param)[1]
    got = np.asarray(got, dtype=np.float64)
    n, c, h, wd = np.shape(x)
    return (0 < pad < min(h, wd) and got.shape == (n, c, h - pad, wd - pad)
            and close(got, np.asarray(want)[:, :, :h - pad, :wd - pad], _NEAR))


_OVERWRITTEN = ("the gradient of overlapping windows overwritten instead of added: where windows "
                "share a pixel, each window's dout·w must be ADDED (+=); with fancy indexing, "
                "dx[idx] += v adds a repeated index only once, so use np.add.at or a loop over "
                "the kernel offsets")

CONV_DX = [
    Mistake("kernel not flipped", "the full correlation of dout with the kernel as it is: in the "
            "formula for dx the kernel appears rotated by 180°, w[:, :, ::-1, ::-1] (or send "
            "each dout[n, f, i, j]·w[f] back onto its window, which needs no flip)",
            lambda x, w, b, p, dout: _not_flipped(x, np.asarray(w), p, np.asarray(dout))),
    Mistake("padding not removed", "the gradient of the PADDED input, of shape (N, C, H + 2·pad, "
            "W + 2·pad): the padding zeros are not inputs, so cut it off, "
            "dx_padded[:, :, pad:pad + H, pad:pad + W]", relation=_padding_kept),
    Mistake("cropped short", "dx cut with pad:H and pad:W: the pixels of x sit at rows pad to "
            "pad + H - 1 of the padded grid, so the last pad rows and columns are missing; crop "
            "with pad:pad + H and pad:pad + W", relation=_cropped_short),
    Mistake("pad:-pad at pad 0", "empty: with pad = 0 the slice pad:-pad is 0:0, which selects "
            "nothing; crop with pad:pad + H and pad:pad + W",
            lambda x, w, b, p, dout: np.zeros(np.shape(x)[:2] + (0, 0))
            if _stride_pad(p)[1] == 0 else None),
    Mistake("stride ignored in dx", "each dout[n, f, i, j]·w[f] sent back to a window starting "
            "at (i, j): the stride was ignored; window (i, j) starts at row i·stride and column "
            "j·stride", lambda x, w, b, p, dout: _sent_back(
                np.asarray(x), np.asarray(w), p, np.asarray(dout), step=1)
            if _stride_pad(p)[0] > 1 else None),
    Mistake("overlaps overwritten", _OVERWRITTEN, lambda x, w, b, p, dout: _sent_back(
        np.asarray(x), np.asarray(w), p, np.asarray(dout), order="last")
            if _overlapping(w, p) else None),
    Mistake("overlaps overwritten, first wins", _OVERWRITTEN, lambda x, w, b, p, dout: _sent_back(
        np.asarray(x), np.asarray(w), p, np.asarray(dout), order="first")
            if _overlapping(w, p) else None),
    Mistake("one filter overwrites the others", "only the last filter's contribution, each "
            "window's dx overwritten (=) filter after filter: every filter f sends "
            "dout[n, f, i, j]·w[f] back to the same window, and these add up (+=)",
            lambda x, w, b, p, dout: _sent_back(
                np.asarray(x), np.asarray(w), p, np.asarray(dout), order="last filter")),
]


def _dw_windows(x: Any, w: Any, conv_param: dict[str, Any], dout: Any, step: int | None = None,
                ) -> np.ndarray:
    """Each output position's window of the padded x, positions ``step`` apart:
    (N, C, H', W', HH, WW)."""
    stride, pad = _stride_pad(conv_param)
    out_h, out_w = np.shape(dout)[2:]
    _, _, hh, ww = np.shape(w)
    view = _windows(_padded(x, pad), hh, ww, stride if step is None else step)
    return view[:, :, :out_h, :out_w]


def _flipped(got: Any, want: Any, *_: Any) -> bool:
    got = np.asarray(got, dtype=np.float64)
    return got.ndim == 4 and close(got[:, :, ::-1, ::-1], want, _NEAR)


def _per_example(got: Any, want: Any, x: Any, w: Any, *_: Any) -> bool:
    got = np.asarray(got, dtype=np.float64)
    return got.shape == (np.shape(x)[0], *np.shape(w)) and close(got.sum(axis=0), want, _NEAR)


def _averaged(got: Any, want: Any, x: Any, *_: Any) -> bool:
    n = np.shape(x)[0]
    return n > 1 and close(np.asarray(got, dtype=np.float64) * n, want, _NEAR)


CONV_DW = [
    Mistake("stride ignored in dw", "the correlation of x with dout over windows one pixel "
            "apart: the stride was ignored; dout[n, f, i, j] multiplies the window that starts at "
            "row i·stride and column j·stride of the padded x",
            lambda x, w, b, p, dout: np.einsum(
                "ncijae,nfij->fcae", _dw_windows(x, w, p, dout, step=1), np.asarray(dout))
            if _stride_pad(p)[0] > 1 else None),
    Mistake("dw flipped", "dw rotated by 180°: dw[f, c, a, e] collects x at offset (a, e) of "
            "each window, times dout, with no flip", relation=_flipped),
    Mistake("dw per example", "one dw per example, shape (N, F, C, HH, WW): the N examples share "
            "the same filters, so their contributions are summed", relation=_per_example),
    Mistake("dw averaged over the batch", "the mean over the N examples: the examples share w, "
            "so their contributions add up (dout already carries any 1/N of the loss)",
            relation=_averaged),
    Mistake("last position only", "the contribution of the last window only: dw was overwritten "
            "(=) at each position; w is shared by every position, so dw is the SUM over all "
            "positions (i, j) of dout[n, f, i, j] times the window (+=)",
            lambda x, w, b, p, dout: np.einsum(
                "ncae,nf->fcae", _dw_windows(x, w, p, dout)[:, :, -1, -1],
                np.asarray(dout)[:, :, -1, -1])),
    Mistake("last example and position only", "the contribution of the last example's last "
            "window only: dw was overwritten (=) in the loop; it is the SUM over the batch and "
            "all positions (+=)",
            lambda x, w, b, p, dout: np.einsum(
                "cae,f->fcae", _dw_windows(x, w, p, dout)[-1, :, -1, -1],
                np.asarray(dout)[-1, :, -1, -1]) if np.shape(x)[0] > 1 else None),
]

_DB_SUM = "db[f] is dout summed over the batch AND every position, dout.sum(axis=(0, 2, 3))"

CONV_DB = [
    Mistake("db over the batch only", "dout summed over the batch only, shape (F, H', W'): b[f] "
            f"is added at every position too (weight sharing), so {_DB_SUM}",
            lambda x, w, b, p, dout: np.asarray(dout).sum(axis=0)),
    Mistake("db over positions only", "dout summed over the positions only, shape (N, F): the "
            f"N examples share b as well, so {_DB_SUM}",
            lambda x, w, b, p, dout: np.asarray(dout).sum(axis=(2, 3))),
    Mistake("db over everything", "a single number, the sum over every axis: one bias per "
            f"filter, so {_DB_SUM}", lambda x, w, b, p, dout: np.asarray(dout).sum()),
    Mistake("db averaged", f"the mean of dout; the bias's gradient is a sum: {_DB_SUM}",
            lambda x, w, b, p, dout: np.asarray(dout).mean(axis=(0, 2, 3))),
    Mistake("db averaged over positions", f"divided by the number of positions H'·W': {_DB_SUM}",
            lambda x, w, b, p, dout: np.asarray(dout).sum(axis=0).mean(axis=(1, 2))
            if np.shape(dout)[2] * np.shape(dout)[3] > 1 and np.shape(dout)[0] > 1 else None),
    Mistake("db last position only", "dout at the last position only: db was overwritten (=) in "
            f"the loop; {_DB_SUM} (+=)",
            lambda x, w, b, p, dout: np.asarray(dout)[:, :, -1, -1].sum(axis=0)),
]


# ----------------------------------------------------------------------------- max pooling


def _pool(pool_param: dict[str, Any]) -> tuple[int, int, int]:
    return (int(pool_param["pool_height"]), int(pool_param["pool_width"]),
            int(pool_param["stride"]))


def _pool_windows(x: Any, ph: int, pw: int, step_h: int, step_w: int | None = None
                  ) -> np.ndarray:
    return _windows(np.asarray(x, dtype=np.float64), ph, pw, step_h, step_w)


def _pool_size(x: Any, pool_param: dict[str, Any]) -> tuple[int, int]:
    ph, pw, stride = _pool(pool_param)
    return (np.shape(x)[2] - ph) // stride + 1, (np.shape(x)[3] - pw) // stride + 1


_POOL_STRIDE = ("the max over windows one pixel apart: the stride was ignored; window (i, j) "
                "starts at row i·stride and column j·stride, H' = 1 + (H - HH) // stride")

MAX_POOL_FORWARD = [
    Mistake("average pooling", "the mean of each window (average pooling): max pooling keeps "
            "each window's largest entry",
            lambda x, p: _pool_windows(x, *_pool(p)).mean(axis=(4, 5))),
    Mistake("max over the batch", "the largest entry of each window over the whole batch and "
            "every channel, the same number for all of them: take each window's max over its own "
            "two axes only (axis=(2, 3) of the window)",
            lambda x, p: np.broadcast_to(_pool_windows(x, *_pool(p)).max(axis=(0, 1, 4, 5)),
                                         _pool_windows(x, *_pool(p)).shape[:4])
            if np.shape(x)[0] * np.shape(x)[1] > 1 else None),
    Mistake("stride ignored", _POOL_STRIDE,
            lambda x, p: _pool_windows(x, *_pool(p)[:2], 1).max(axis=(4, 5))
            if _pool(p)[2] != 1 else None),
    Mistake("stride ignored, right size", _POOL_STRIDE,
            lambda x, p: _pool_windows(x, *_pool(p)[:2], 1).max(axis=(4, 5))[
                :, :, :_pool_size(x, p)[0], :_pool_size(x, p)[1]] if _pool(p)[2] != 1 else None),
    Mistake("stride = window", "windows side by side, as a reshape to (N, C, H // HH, HH, W // "
            "WW, WW) makes them: that only works when the stride equals the window; here windows "
            "start every `stride` pixels, and may overlap or leave gaps",
            lambda x, p: _pool_windows(x, *_pool(p)[:2], *_pool(p)[:2]).max(axis=(4, 5))
            if len(set(_pool(p))) > 1 else None),
    Mistake("height and width swapped", "windows pool_width tall and pool_height wide: the "
            "window spans pool_height rows and pool_width columns",
            lambda x, p: _pool_windows(x, _pool(p)[1], _pool(p)[0], _pool(p)[2]).max(axis=(4, 5))
            if _pool(p)[0] != _pool(p)[1] else None),
]


def _routed(x: Any, pool_param: dict[str, Any], dout: Any, rule: str, *,
            step: int | None = None, write: str = "add") -> np.ndarray:
    """dx with each window's dout sent to the entries ``rule`` picks.

    ``rule``: ``"first"``/``"last"`` maximum in row-major order, ``"first by columns"`` the
    first in column-major order, ``"ties"`` every tied maximum,
    ``"split"`` dout shared by the tied maxima, ``"batch max"`` the entries equal to the largest
    of the window over the whole batch and every channel, ``"every"`` every entry, ``"mean"`` dout / (HH·WW)
    to every entry; ``step``: windows this far apart (the stride unless given); ``write``:
    ``"add"``, or ``"window"`` (each window's block assigned, zeros included) or ``"max"`` (the
    chosen entry assigned), later windows overwriting earlier ones."""
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    ph, pw, stride = _pool(pool_param)
    step = stride if step is None else step
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * step, i * step + ph), slice(j * step, j * step + pw)
            window = x[:, :, rows, cols]
            top = window.max(axis=(2, 3), keepdims=True)
            tied = window == top
            flat = window.reshape(window.shape[:2] + (-1,))
            if rule in ("first", "last"):
                k = (flat.argmax(axis=2) if rule == "first"
                     else flat.shape[2] - 1 - flat[:, :, ::-1].argmax(axis=2))
                share = (np.arange(ph * pw) == k[:, :, None]).reshape(window.shape).astype(float)
            elif rule == "first by columns":
                k = window.transpose(0, 1, 3, 2).reshape(flat.shape).argmax(axis=2)
                share = (np.arange(ph * pw) == k[:, :, None]).reshape(
                    window.shape[:2] + (pw, ph)).transpose(0, 1, 3, 2).astype(float)
            elif rule == "ties":
                share = tied.astype(float)
            elif rule == "batch max":
                share = (window == window.max()).astype(float)
            elif rule == "split":
                share = tied / tied.sum(axis=(2, 3), keepdims=True)
            elif rule == "every":
                share = np.ones(window.shape)
            else:
                share = np.full(window.shape, 1.0 / (ph * pw))
            part = share * dout[:, :, i, j][:, :, None, None]
            if write == "add":
                dx[:, :, rows, cols] += part
            elif write == "window":
                dx[:, :, rows, cols] = part
            else:
                block = dx[:, :, rows, cols]
                block[share > 0] = part[share > 0]
    return dx


def _ties(x: Any, pool_param: dict[str, Any]) -> bool:
    """Whether some window's maximum appears more than once."""
    ph, pw, stride = _pool(pool_param)
    windows = _pool_windows(x, ph, pw, stride)
    top = windows.max(axis=(4, 5), keepdims=True)
    return bool(np.any((windows == top).sum(axis=(4, 5)) > 1))


def _pool_overlap(pool_param: dict[str, Any]) -> bool:
    ph, pw, stride = _pool(pool_param)
    return _overlap((ph, pw), stride)


_TIE = ("on a tie the FIRST maximum of the window in row-major order (the one np.argmax "
        "picks) gets all of dout, and the other tied entries get 0")

MAX_POOL_BACKWARD = [
    Mistake("every entry", "dout sent to every entry of its window: only the window's maximum "
            "reached the output, so only it gets dout; the other entries get 0",
            lambda x, p, dout: _routed(x, p, dout, "every")),
    Mistake("average's gradient", "dout / (HH·WW) spread over the window, the gradient of "
            "average pooling: max pooling sends all of dout to the window's maximum",
            lambda x, p, dout: _routed(x, p, dout, "mean")),
    Mistake("max over the batch", "dout sent only where the window holds the largest value of "
            "the whole batch and every channel: compare each example's and channel's window with "
            "its own maximum (over the window's two axes only)",
            lambda x, p, dout: _routed(x, p, dout, "batch max")
            if np.shape(x)[0] * np.shape(x)[1] > 1 else None),
    Mistake("every tied maximum", f"dout sent to every entry equal to the window's maximum: {_TIE}",
            lambda x, p, dout: _routed(x, p, dout, "ties") if _ties(x, p) else None),
    Mistake("split between ties", f"dout split between the tied maxima: {_TIE}",
            lambda x, p, dout: _routed(x, p, dout, "split") if _ties(x, p) else None),
    Mistake("last maximum", f"dout sent to the LAST of the tied maxima (a comparison with >= "
            f"keeps the last one): {_TIE}",
            lambda x, p, dout: _routed(x, p, dout, "last") if _ties(x, p) else None),
    Mistake("first by columns", f"dout sent to the first tied maximum in COLUMN-major order "
            f"(down each column first): {_TIE}",
            lambda x, p, dout: _routed(x, p, dout, "first by columns") if _ties(x, p) else None),
    Mistake("overlaps overwritten", "overlapping windows overwrite each other's gradient: "
            "assigning each window's block (=) wipes what an earlier window sent to the shared "
            "entries; add into dx (+=)",
            lambda x, p, dout: _routed(x, p, dout, "first", write="window")
            if _pool_overlap(p) else None),
    Mistake("shared maximum overwritten", "where two overlapping windows have the same maximum, "
            "only one window's dout: the entry gets the dout of EVERY window it is the maximum "
            "of, added up (+=; with fancy indexing, np.add.at)",
            lambda x, p, dout: _routed(x, p, dout, "first", write="max")
            if _pool_overlap(p) else None),
    Mistake("ignores dout", "the 0/1 mask of the maxima, without dout: the maximum's gradient "
            "is dout[n, c, i, j], not 1", lambda x, p, dout: _routed(
                x, p, np.ones(np.shape(dout)), "first")),
    Mistake("stride ignored", "dout routed within windows one pixel apart: the stride was "
            "ignored; window (i, j) starts at row i·stride and column j·stride",
            lambda x, p, dout: _routed(x, p, dout, "first", step=1) if _pool(p)[2] != 1
            else None),
]
