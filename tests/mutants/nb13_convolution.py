"""Mutants and alternatives of notebook 13 (convolution and pooling): ``conv_forward_naive``,
``conv_backward_naive``, ``conv_forward``, ``conv_backward``, ``max_pool_forward`` and
``max_pool_backward``.

Each mutant is a mistake learners make with convolutions and pooling; ``loses`` lists every test
cell it must fail, and ``explains`` a phrase of the hint the failing check gives. The backward
passes are graded through the learner's own forward pass of the same kind (its cache); the
forward mutants here keep the reference's cache, so they lose their forward's points only. The
alternatives are right answers written differently: every index looped over, the gather form of
dx with the flipped kernel, einsum over strided views instead of an im2col matrix, a loop over the
kernel offsets, col2im with ``np.add.at``, vectorized pooling.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "13-convolution"

# ----------------------------------------------------------------------------- conv_forward_naive

_CFN = '''def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward pass with loops; cache (x, w, b, conv_param)."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, _, height, width = x.shape
    num_filters, _, hh, ww = w.shape
'''
_CFN_SIZE = '''    out_h = 1 + (height + 2 * pad - hh) // stride
    out_w = 1 + (width + 2 * pad - ww) // stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
'''


def _cfn_loop(window: str = "x_padded[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]",
              term: str = "np.sum(window * w[f], axis=(1, 2, 3)) + b[f]") -> str:
    return f'''    out = np.zeros((n, num_filters, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = {window}
            for f in range(num_filters):
                out[:, f, i, j] = {term}
    return out, (x, w, b, conv_param)
'''


# ----------------------------------------------------------------------------- conv_backward_naive

_CBN = '''def conv_backward_naive(dout, cache):
    """Convolution backward pass with loops, from the cache (x, w, b, conv_param)."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, height, width = x.shape
    num_filters, _, hh, ww = w.shape
    _, _, out_h, out_w = dout.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_padded = np.zeros(x_padded.shape)
    dw = np.zeros(w.shape)
'''


def _cbn(dw_rows: str = "slice(i * stride, i * stride + hh)",
         dw_cols: str = "slice(j * stride, j * stride + ww)",
         dw_line: str = "dw[f] += np.sum(g * x_padded[:, :, dw_rows, dw_cols], axis=0)",
         dx_line: str = "dx_padded[:, :, rows, cols] += g * w[f]",
         db_line: str = "db = dout.sum(axis=(0, 2, 3))",
         dx_crop: str = "dx = dx_padded[:, :, pad:pad + height, pad:pad + width]") -> str:
    return _CBN + f'''    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * stride, i * stride + hh)
            cols = slice(j * stride, j * stride + ww)
            dw_rows, dw_cols = {dw_rows}, {dw_cols}
            for f in range(num_filters):
                g = dout[:, f, i, j][:, None, None, None]
                {dw_line}
                {dx_line}
    {db_line}
    {dx_crop}
    return dx, dw, db
'''


# dx by the gather form: dout dilated by the stride, padded by the kernel size - 1, correlated
# with the kernel (KERNEL: flipped or not), one padded-input pixel at a time.
_CBN_GATHER = _CBN + '''    spread = np.zeros((n, num_filters, (out_h - 1) * stride + 1, (out_w - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    full = np.pad(spread, ((0, 0), (0, 0), (hh - 1, hh - 1), (ww - 1, ww - 1)))
    kernel = KERNEL
    for p in range(height + 2 * pad):
        for q in range(width + 2 * pad):
            dx_padded[:, :, p, q] = np.einsum("nfae,fcae->nc", full[:, :, p:p + hh, q:q + ww], kernel)
    for i in range(out_h):
        for j in range(out_w):
            window = x_padded[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            dw += np.einsum("nf,ncae->fcae", dout[:, :, i, j], window)
    db = dout.sum(axis=(0, 2, 3))
    return dx_padded[:, :, pad:pad + height, pad:pad + width], dw, db
'''

# ----------------------------------------------------------------------------- conv_forward

_CF = '''def conv_forward(x, w, b, conv_param):
    """Vectorized convolution forward; cache (x, w, conv_param, x_cols)."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n = x.shape[0]
    num_filters, c, hh, ww = w.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
'''
_CF_WINDOWS = '''    windows = sliding_window_view(x_padded, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]
    out_h, out_w = windows.shape[2:4]
'''
_CF_COLS = '''    x_cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, out_h * out_w, c * hh * ww)
'''
_CF_RETURN = '''    return out, (x, w, conv_param, x_cols)
'''

# ----------------------------------------------------------------------------- conv_backward

_CB = '''def conv_backward(dout, cache):
    """Vectorized convolution backward, from the cache (x, w, conv_param, x_cols)."""
    x, w, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, height, width = x.shape
    num_filters, _, hh, ww = w.shape
    _, _, out_h, out_w = dout.shape
    g_cols = dout.reshape(n, num_filters, out_h * out_w).transpose(0, 2, 1)
'''
_CB_DW = '''    dw = np.tensordot(g_cols, x_cols, axes=([0, 1], [0, 1])).reshape(w.shape)
'''
_CB_DB = '''    db = g_cols.sum(axis=(0, 1))
'''
_CB_COL2IM = '''    dx_cols = (g_cols @ w.reshape(num_filters, -1)).reshape(n, out_h, out_w, c, hh, ww)
    dx_padded = np.zeros((n, c, height + 2 * pad, width + 2 * pad))
    for a in range(hh):
        for e in range(ww):
            dx_padded[:, :, a:a + stride * out_h:stride, e:e + stride * out_w:stride] += (
                dx_cols[:, :, :, :, a, e].transpose(0, 3, 1, 2))
    dx = dx_padded[:, :, pad:pad + height, pad:pad + width]
'''
# dx by the gather form, vectorized over strided views of the dilated, fully padded dout.
_CB_GATHER = '''    spread = np.zeros((n, num_filters, (out_h - 1) * stride + 1, (out_w - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    full = np.pad(spread, ((0, 0), (0, 0), (hh - 1, hh - 1), (ww - 1, ww - 1)))
    patches = sliding_window_view(full, (hh, ww), axis=(2, 3))
    dx_padded = np.einsum("nfpqae,fcae->ncpq", patches, KERNEL)
    dx = dx_padded[:, :, pad:pad + height, pad:pad + width]
'''
_CB_RETURN = "    return dx, dw, db\n"

# ----------------------------------------------------------------------------- max pooling

_MPF = '''def max_pool_forward(x, pool_param):
    """Max pooling forward with loops; cache (x, pool_param)."""
    hh, ww = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    n, c, height, width = x.shape
    out_h = 1 + (height - hh) // stride
    out_w = 1 + (width - ww) // stride
    out = np.zeros((n, c, out_h, out_w))
'''

_MPB = '''def max_pool_backward(dout, cache):
    """Max pooling backward with loops, from the cache (x, pool_param)."""
    x, pool_param = cache
    hh, ww = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    n, c, out_h, out_w = dout.shape
    dx = np.zeros(x.shape)
    for i in range(out_h):
        for j in range(out_w):
            rows = slice(i * stride, i * stride + hh)
            cols = slice(j * stride, j * stride + ww)
            window = x[:, :, rows, cols]
            g = dout[:, :, i, j][:, :, None, None]
'''
_FIRST_MASK = '''            first = window.reshape(n, c, hh * ww).argmax(axis=2)
            mask = (np.arange(hh * ww) == first[:, :, None]).reshape(n, c, hh, ww)
'''
_MPB_RETURN = "    return dx\n"

_CONV_NAIVE_GRADS = ["test_conv_backward_naive_dx", "test_conv_backward_naive_dw",
                     "test_conv_backward_naive_db"]

MUTANTS = [
    # ----------------------------------------------------------------- conv_forward_naive
    Mutant(
        cell="conv_forward_naive",
        name="no bias",
        source=_CFN + _CFN_SIZE + _cfn_loop(term="np.sum(window * w[f], axis=(1, 2, 3))"),
        loses=["test_conv_forward_naive"],
        explains="without the bias",
    ),
    Mutant(
        cell="conv_forward_naive",
        name="np.sum without an axis (the batch summed too)",
        source=_CFN + _CFN_SIZE + _cfn_loop(term="np.sum(window * w[f]) + b[f]"),
        loses=["test_conv_forward_naive"],
        explains="the same number for every example",
    ),
    Mutant(
        cell="conv_forward_naive",
        name="np.pad(x, pad) pads every axis",
        source=_CFN + _CFN_SIZE.replace(
            "np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))", "np.pad(x, pad)") + _cfn_loop(),
        loses=["test_conv_forward_naive", *_CONV_NAIVE_GRADS],  # the backward gets no cache
        explains="pads the batch and channel axes too",
    ),
    Mutant(
        cell="conv_forward_naive",
        name="kernel flipped (a true convolution)",
        source=_CFN + _CFN_SIZE + _cfn_loop(
            term="np.sum(window * w[f, :, ::-1, ::-1], axis=(1, 2, 3)) + b[f]"),
        loses=["test_conv_forward_naive"],
        explains="rotated by 180°",
    ),
    Mutant(
        cell="conv_forward_naive",
        name="stride ignored in the window position",
        source=_CFN + _CFN_SIZE + _cfn_loop(window="x_padded[:, :, i:i + hh, j:j + ww]"),
        loses=["test_conv_forward_naive"],
        explains="the stride was ignored",
    ),
    Mutant(
        cell="conv_forward_naive",
        name="no padding",
        source=_CFN + '''    out_h = 1 + (height - hh) // stride
    out_w = 1 + (width - ww) // stride
    x_padded = x
''' + _cfn_loop(),
        loses=["test_conv_forward_naive"],
        explains="without its zero padding",
    ),
    Mutant(
        cell="conv_forward_naive",
        name="padded on one side, pad counted once",
        source=_CFN + '''    out_h = 1 + (height + pad - hh) // stride
    out_w = 1 + (width + pad - ww) // stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))
''' + _cfn_loop(),
        loses=["test_conv_forward_naive"],
        explains="BOTH sides",
    ),
    # ----------------------------------------------------------------- conv_backward_naive
    Mutant(
        cell="conv_backward_naive",
        name="kernel not flipped in dx (gather form)",
        source=_CBN_GATHER.replace("KERNEL", "w"),
        loses=["test_conv_backward_naive_dx"],
        explains="rotated by 180°",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="padding not removed from dx",
        source=_cbn(dx_crop="dx = dx_padded"),
        loses=["test_conv_backward_naive_dx"],
        explains="gradient of the PADDED input",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="padding cut with pad:-pad",
        source=_cbn(dx_crop="dx = dx_padded[:, :, pad:-pad, pad:-pad]"),
        loses=["test_conv_backward_naive_dx"],
        explains="pad:-pad",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="padding cut with pad:H",
        source=_cbn(dx_crop="dx = dx_padded[:, :, pad:height, pad:width]"),
        loses=["test_conv_backward_naive_dx"],
        explains="cut with pad:H",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="overlapping windows overwrite dx (= instead of +=)",
        source=_cbn(dx_line="dx_padded[:, :, rows, cols] = g * w[f]"),
        loses=["test_conv_backward_naive_dx"],
        explains="overwritten",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="stride ignored in dw",
        source=_cbn(dw_rows="slice(i, i + hh)", dw_cols="slice(j, j + ww)"),
        loses=["test_conv_backward_naive_dw"],
        explains="the stride was ignored",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="dw averaged over the batch",
        source=_cbn(dw_line="dw[f] += np.mean(g * x_padded[:, :, dw_rows, dw_cols], axis=0)"),
        loses=["test_conv_backward_naive_dw"],
        explains="mean over the N examples",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="dw overwritten at each position (= instead of +=)",
        source=_cbn(dw_line="dw[f] = np.sum(g * x_padded[:, :, dw_rows, dw_cols], axis=0)"),
        loses=["test_conv_backward_naive_dw"],
        explains="last window only",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="db not summed over the positions",
        source=_cbn(db_line="db = dout.sum(axis=0)"),
        loses=["test_conv_backward_naive_db"],
        explains="summed over the batch only",
    ),
    Mutant(
        cell="conv_backward_naive",
        name="db not summed over the batch",
        source=_cbn(db_line="db = dout.sum(axis=(2, 3))"),
        loses=["test_conv_backward_naive_db"],
        explains="summed over the positions only",
    ),
    # ----------------------------------------------------------------- conv_forward
    Mutant(
        cell="conv_forward",
        name="im2col rows ordered (kernel offset, channel)",
        source=_CF + _CF_WINDOWS + '''    x_cols = windows.transpose(0, 2, 3, 4, 5, 1).reshape(n, out_h * out_w, c * hh * ww)
    out = x_cols @ w.reshape(num_filters, -1).T + b
    out = out.transpose(0, 2, 1).reshape(n, num_filters, out_h, out_w)
''' + _CF_RETURN,
        loses=["test_conv_forward", "test_conv_backward_dw_db"],
        explains="flatten both in the same order",
    ),
    Mutant(
        cell="conv_forward",
        name="stride ignored (every window kept)",
        source=_CF + '''    windows = sliding_window_view(x_padded, (hh, ww), axis=(2, 3))
    out_h, out_w = windows.shape[2:4]
''' + _CF_COLS + '''    out = x_cols @ w.reshape(num_filters, -1).T + b
    out = out.transpose(0, 2, 1).reshape(n, num_filters, out_h, out_w)
''' + _CF_RETURN,
        loses=["test_conv_forward", "test_conv_backward_dx", "test_conv_backward_dw_db"],
        explains="the stride was ignored",
    ),
    Mutant(
        cell="conv_forward",
        name="output reshaped (N, F, W', H')",
        source=_CF + _CF_WINDOWS + _CF_COLS + '''    out = x_cols @ w.reshape(num_filters, -1).T + b
    out = out.transpose(0, 2, 1).reshape(n, num_filters, out_w, out_h)
''' + _CF_RETURN,
        loses=["test_conv_forward"],
        explains="(N, F, W', H')",
    ),
    Mutant(
        cell="conv_forward",
        name="filter axis not moved before the reshape",
        source=_CF + _CF_WINDOWS + _CF_COLS + '''    out = x_cols @ w.reshape(num_filters, -1).T + b
    out = out.reshape(n, num_filters, out_h, out_w)
''' + _CF_RETURN,
        loses=["test_conv_forward"],
        explains="move the filter axis forward",
    ),
    Mutant(
        cell="conv_forward",
        name="no bias",
        source=_CF + _CF_WINDOWS + _CF_COLS + '''    out = x_cols @ w.reshape(num_filters, -1).T
    out = out.transpose(0, 2, 1).reshape(n, num_filters, out_h, out_w)
''' + _CF_RETURN,
        loses=["test_conv_forward"],
        explains="without the bias",
    ),
    # ----------------------------------------------------------------- conv_backward
    Mutant(
        cell="conv_backward",
        name="kernel not flipped in dx (gather over strided views)",
        source=_CB + _CB_DW + _CB_DB + _CB_GATHER.replace("KERNEL", "w") + _CB_RETURN,
        loses=["test_conv_backward_dx"],
        explains="rotated by 180°",
    ),
    Mutant(
        cell="conv_backward",
        name="col2im with fancy-index += (a repeated pixel added once)",
        source=_CB + _CB_DW + _CB_DB + '''    dx_cols = (g_cols @ w.reshape(num_filters, -1)).reshape(n, out_h, out_w, c, hh, ww)
    dx_cols = dx_cols.transpose(0, 3, 1, 2, 4, 5)
    rows = (np.arange(out_h) * stride)[:, None, None, None] + np.arange(hh)[None, None, :, None]
    cols = (np.arange(out_w) * stride)[None, :, None, None] + np.arange(ww)[None, None, None, :]
    dx_padded = np.zeros((n, c, height + 2 * pad, width + 2 * pad))
    dx_padded[:, :, rows, cols] += dx_cols
    dx = dx_padded[:, :, pad:pad + height, pad:pad + width]
''' + _CB_RETURN,
        loses=["test_conv_backward_dx"],
        explains="overwritten instead of added",
    ),
    Mutant(
        cell="conv_backward",
        name="dw not summed over the batch",
        source=_CB + '''    dw = (g_cols.transpose(0, 2, 1) @ x_cols).reshape(n, *w.shape)
''' + _CB_DB + _CB_COL2IM + _CB_RETURN,
        loses=["test_conv_backward_dw_db"],
        explains="one dw per example",
    ),
    Mutant(
        cell="conv_backward",
        name="db averaged",
        source=_CB + _CB_DW + "    db = g_cols.mean(axis=(0, 1))\n" + _CB_COL2IM + _CB_RETURN,
        loses=["test_conv_backward_dw_db"],
        explains="the mean of dout",
    ),
    # ----------------------------------------------------------------- max_pool_forward
    Mutant(
        cell="max_pool_forward",
        name="average pooling",
        source=_MPF + '''    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = window.mean(axis=(2, 3))
    return out, (x, pool_param)
''',
        loses=["test_max_pool_forward"],
        explains="average pooling",
    ),
    Mutant(
        cell="max_pool_forward",
        name="stride ignored in the window position",
        source=_MPF + '''    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i:i + hh, j:j + ww].max(axis=(2, 3))
    return out, (x, pool_param)
''',
        loses=["test_max_pool_forward"],
        explains="the stride was ignored",
    ),
    Mutant(
        cell="max_pool_forward",
        name="max without an axis (over the batch and channels)",
        source=_MPF + '''    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww].max()
    return out, (x, pool_param)
''',
        loses=["test_max_pool_forward"],
        explains="over the whole batch and every channel",
    ),
    Mutant(
        cell="max_pool_forward",
        name="reshape trick, windows side by side",
        source='''def max_pool_forward(x, pool_param):
    """Max pooling as a reshape: assumes the stride equals the window."""
    hh, ww = pool_param["pool_height"], pool_param["pool_width"]
    n, c, height, width = x.shape
    cropped = x[:, :, :height // hh * hh, :width // ww * ww]
    out = cropped.reshape(n, c, height // hh, hh, width // ww, ww).max(axis=(3, 5))
    return out, (x, pool_param)
''',
        loses=["test_max_pool_forward"],
        explains="only works when the stride equals the window",
    ),
    Mutant(
        cell="max_pool_forward",
        name="pool height and width swapped",
        source=_MPF.replace('hh, ww = pool_param["pool_height"], pool_param["pool_width"]',
                            'hh, ww = pool_param["pool_width"], pool_param["pool_height"]')
        + '''    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)
''',
        loses=["test_max_pool_forward"],
        explains="pool_width tall",
    ),
    # ----------------------------------------------------------------- max_pool_backward
    Mutant(
        cell="max_pool_backward",
        name="gradient to every entry of the window",
        source=_MPB + '''            dx[:, :, rows, cols] += g
''' + _MPB_RETURN,
        loses=["test_max_pool_backward", "test_max_pool_backward_ties"],
        explains="every entry of its window",
    ),
    Mutant(
        cell="max_pool_backward",
        name="gradient to every tied maximum",
        source=_MPB + '''            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] += mask * g
''' + _MPB_RETURN,
        loses=["test_max_pool_backward_ties"],
        explains="every entry equal to the window's maximum",
    ),
    Mutant(
        cell="max_pool_backward",
        name="gradient split between tied maxima",
        source=_MPB + '''            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] += mask / mask.sum(axis=(2, 3), keepdims=True) * g
''' + _MPB_RETURN,
        loses=["test_max_pool_backward_ties"],
        explains="split between the tied maxima",
    ),
    Mutant(
        cell="max_pool_backward",
        name="last maximum on a tie (>=)",
        source=_MPB + '''            best = np.full((n, c), -np.inf)
            where = np.zeros((n, c), dtype=int)
            for k in range(hh * ww):
                value = window[:, :, k // ww, k % ww]
                better = value >= best
                best = np.where(better, value, best)
                where = np.where(better, k, where)
            mask = (np.arange(hh * ww) == where[:, :, None]).reshape(n, c, hh, ww)
            dx[:, :, rows, cols] += mask * g
''' + _MPB_RETURN,
        loses=["test_max_pool_backward_ties"],
        explains="LAST of the tied maxima",
    ),
    Mutant(
        cell="max_pool_backward",
        name="first maximum in column-major order",
        source=_MPB + '''            first = window.transpose(0, 1, 3, 2).reshape(n, c, hh * ww).argmax(axis=2)
            col, row = np.divmod(first, hh)
            mask = np.zeros((n, c, hh, ww))
            mask[np.arange(n)[:, None], np.arange(c)[None, :], row, col] = 1.0
            dx[:, :, rows, cols] += mask * g
''' + _MPB_RETURN,
        loses=["test_max_pool_backward_ties"],
        explains="COLUMN-major",
    ),
    Mutant(
        cell="max_pool_backward",
        name="window block assigned (= instead of +=)",
        source=_MPB + _FIRST_MASK + '''            dx[:, :, rows, cols] = mask * g
''' + _MPB_RETURN,
        loses=["test_max_pool_backward", "test_max_pool_backward_ties"],
        explains="overwrite each other's gradient",
    ),
    Mutant(
        cell="max_pool_backward",
        name="the mask without dout",
        source=_MPB + _FIRST_MASK + '''            dx[:, :, rows, cols] += mask
''' + _MPB_RETURN,
        loses=["test_max_pool_backward", "test_max_pool_backward_ties"],
        explains="without dout",
    ),
    Mutant(
        cell="max_pool_backward",
        name="fancy-index += at the maxima (a shared maximum added once)",
        source='''def max_pool_backward(dout, cache):
    """Vectorized max pooling backward, with a fancy-index += that drops repeated indices."""
    x, pool_param = cache
    hh, ww = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    n, c, out_h, out_w = dout.shape
    windows = sliding_window_view(x, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]
    first = windows.reshape(n, c, out_h, out_w, hh * ww).argmax(axis=4)
    a, e = np.divmod(first, ww)
    rows = np.arange(out_h)[:, None] * stride + a
    cols = np.arange(out_w)[None, :] * stride + e
    dx = np.zeros(x.shape)
    dx[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols] += dout
    return dx
''',
        loses=["test_max_pool_backward", "test_max_pool_backward_ties"],
        explains="same maximum",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="conv_forward_naive",
        name="a loop over every index",
        source='''def conv_forward_naive(x, w, b, conv_param):
    """Every output entry its own sum; cache (x, w, b, conv_param)."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, height, width = x.shape
    num_filters, _, hh, ww = w.shape
    out_h = (height + 2 * pad - hh) // stride + 1
    out_w = (width + 2 * pad - ww) // stride + 1
    x_padded = np.zeros((n, c, height + 2 * pad, width + 2 * pad))
    x_padded[:, :, pad:pad + height, pad:pad + width] = x
    out = np.empty((n, num_filters, out_h, out_w))
    for k in range(n):
        for f in range(num_filters):
            for i in range(out_h):
                for j in range(out_w):
                    total = b[f]
                    for ch in range(c):
                        for a in range(hh):
                            for e in range(ww):
                                total += x_padded[k, ch, i * stride + a, j * stride + e] * w[f, ch, a, e]
                    out[k, f, i, j] = total
    return out, (x, w, b, conv_param)
''',
    ),
    Alternative(
        cell="conv_forward_naive",
        name="einsum per position, all filters at once",
        source='''def conv_forward_naive(x, w, b, conv_param):
    """A loop over positions, an einsum over the rest; cache (x, w, b, conv_param)."""
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)], mode="constant")
    f, _, hh, ww = w.shape
    out = np.stack([
        np.stack([np.einsum("ncae,fcae->nf", xp[:, :, i:i + hh, j:j + ww], w) + b
                  for j in range(0, xp.shape[3] - ww + 1, s)], axis=-1)
        for i in range(0, xp.shape[2] - hh + 1, s)], axis=-2)
    return out, (x, w, b, conv_param)
''',
    ),
    Alternative(
        cell="conv_backward_naive",
        name="dx gathered with the flipped kernel",
        source=_CBN_GATHER.replace("KERNEL", "w[:, :, ::-1, ::-1]"),
    ),
    Alternative(
        cell="conv_backward_naive",
        name="a loop over every output entry",
        source='''def conv_backward_naive(dout, cache):
    """Scatter, one output entry at a time."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, height, width = x.shape
    num_filters, _, hh, ww = w.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_padded, dw, db = np.zeros_like(x_padded), np.zeros_like(w), np.zeros_like(b)
    for k in range(n):
        for f in range(num_filters):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, q = i * stride, j * stride
                    dx_padded[k, :, r:r + hh, q:q + ww] += dout[k, f, i, j] * w[f]
                    dw[f] += dout[k, f, i, j] * x_padded[k, :, r:r + hh, q:q + ww]
                    db[f] += dout[k, f, i, j]
    return dx_padded[:, :, pad:pad + height, pad:pad + width], dw, db
''',
    ),
    Alternative(
        cell="conv_forward",
        name="einsum over strided views, no im2col matrix",
        source='''def conv_forward(x, w, b, conv_param):
    """out = einsum of the windows and the filters; the cache keeps x_cols for conv_backward."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    num_filters, c, hh, ww = w.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_padded, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("ncijae,fcae->nfij", windows, w) + b[:, None, None]
    n, _, out_h, out_w = out.shape
    x_cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, out_h * out_w, c * hh * ww)
    return out, (x, w, conv_param, x_cols)
''',
    ),
    Alternative(
        cell="conv_forward",
        name="a loop over the kernel offsets",
        source='''def conv_forward(x, w, b, conv_param):
    """out = sum over kernel offsets (a, e) of w[:, :, a, e] times a strided slice of x_padded."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, height, width = x.shape
    num_filters, _, hh, ww = w.shape
    out_h = (height + 2 * pad - hh) // stride + 1
    out_w = (width + 2 * pad - ww) // stride + 1
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, num_filters, out_h, out_w)) + b[:, None, None]
    x_cols = np.zeros((n, out_h * out_w, c, hh, ww))
    for a in range(hh):
        for e in range(ww):
            pixel = x_padded[:, :, a:a + stride * out_h:stride, e:e + stride * out_w:stride]
            out += np.einsum("ncij,fc->nfij", pixel, w[:, :, a, e])
            x_cols[:, :, :, a, e] = pixel.reshape(n, c, -1).transpose(0, 2, 1)
    return out, (x, w, conv_param, x_cols.reshape(n, out_h * out_w, -1))
''',
    ),
    Alternative(
        cell="conv_backward",
        name="gather over strided views with the flipped kernel",
        source=_CB + _CB_DW + _CB_DB + _CB_GATHER.replace("KERNEL", "w[:, :, ::-1, ::-1]")
        + _CB_RETURN,
    ),
    Alternative(
        cell="conv_backward",
        name="col2im with np.add.at",
        source=_CB + _CB_DW + _CB_DB + '''    dx_cols = (g_cols @ w.reshape(num_filters, -1)).reshape(n, out_h, out_w, c, hh, ww)
    dx_cols = dx_cols.transpose(0, 3, 1, 2, 4, 5)
    rows = (np.arange(out_h) * stride)[:, None, None, None] + np.arange(hh)[None, None, :, None]
    cols = (np.arange(out_w) * stride)[None, :, None, None] + np.arange(ww)[None, None, None, :]
    dx_padded = np.zeros((n, c, height + 2 * pad, width + 2 * pad))
    np.add.at(dx_padded, (slice(None), slice(None), rows, cols), dx_cols)
    dx = dx_padded[:, :, pad:pad + height, pad:pad + width]
''' + _CB_RETURN,
    ),
    Alternative(
        cell="max_pool_forward",
        name="vectorized over strided views",
        source='''def max_pool_forward(x, pool_param):
    """The max of every window of a strided view; cache (x, pool_param)."""
    hh, ww, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = sliding_window_view(x, (hh, ww), axis=(2, 3))[:, :, ::s, ::s].max(axis=(4, 5))
    return out, (x, pool_param)
''',
    ),
    Alternative(
        cell="max_pool_backward",
        name="vectorized with np.add.at",
        source='''def max_pool_backward(dout, cache):
    """Every window's first maximum at once; np.add.at adds a maximum shared by two windows."""
    x, pool_param = cache
    hh, ww = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    n, c, out_h, out_w = dout.shape
    windows = sliding_window_view(x, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]
    first = windows.reshape(n, c, out_h, out_w, hh * ww).argmax(axis=4)
    a, e = np.divmod(first, ww)
    rows = np.arange(out_h)[:, None] * stride + a
    cols = np.arange(out_w)[None, :] * stride + e
    dx = np.zeros(x.shape)
    np.add.at(dx, (np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols),
              dout)
    return dx
''',
    ),
    Alternative(
        cell="max_pool_backward",
        name="one pass per window offset, strictly greater wins",
        source='''def max_pool_backward(dout, cache):
    """Track the running maximum over the window offsets; > keeps the first maximum."""
    x, pool_param = cache
    hh, ww, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out_h, out_w = dout.shape[2:]
    def offset(a, e):
        return (slice(None), slice(None), slice(a, a + s * out_h, s), slice(e, e + s * out_w, s))
    best = x[offset(0, 0)].copy()
    where = np.zeros(best.shape, dtype=int)
    for k in range(1, hh * ww):
        value = x[offset(*divmod(k, ww))]
        where = np.where(value > best, k, where)
        best = np.maximum(best, value)
    dx = np.zeros(x.shape)
    for k in range(hh * ww):
        dx[offset(*divmod(k, ww))] += dout * (where == k)
    return dx
''',
    ),
]
