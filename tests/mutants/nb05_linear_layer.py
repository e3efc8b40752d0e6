"""Mutants and alternatives of notebook 05 (linear layer): ``affine_forward`` and
``affine_backward``.

Each mutant is a mistake learners make with a batched affine map; ``loses`` lists every test cell
it must fail, and ``explains`` a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "05-linear-layer"

_AF_HEAD = '''def affine_forward(x, w, b):
    """out = x_flat @ w + b; cache (x, w)."""
'''
_AB_HEAD = '''def affine_backward(dout, cache):
    """Backward pass of affine_forward; returns (dx, dw, db)."""
    x, w = cache
    n = x.shape[0]
'''

_BACKWARD_2D = ["test_affine_backward_dx", "test_affine_backward_dw", "test_affine_backward_db"]

MUTANTS = [
    # ----------------------------------------------------------------- affine_forward
    Mutant(
        cell="affine_forward",
        name="forgets the bias",
        source=_AF_HEAD
        + """    out = x.reshape(x.shape[0], -1) @ w
    return out, (x, w)
""",
        loses=["test_affine_forward_values", "test_affine_forward_nd"],
        explains="without the bias",
    ),
    Mutant(
        cell="affine_forward",
        name="x not flattened",
        source=_AF_HEAD + "    return x @ w + b, (x, w)\n",
        loses=["test_affine_forward_nd", "test_affine_forward_cache"],
        explains="flatten each example",
    ),
    Mutant(
        cell="affine_forward",
        name="flattened in column-major order",
        source=_AF_HEAD
        + """    x_flat = x.reshape(x.shape[0], -1, order="F")
    return x_flat @ w + b, (x, w)
""",
        loses=["test_affine_forward_nd"],
        explains="out is wrong",
    ),
    Mutant(
        cell="affine_forward",
        name="caches the flattened x",
        source=_AF_HEAD
        + """    x = x.reshape(x.shape[0], -1)
    return x @ w + b, (x, w)
""",
        loses=["test_affine_forward_cache"],
        explains="original shape",
    ),
    Mutant(
        cell="affine_forward",
        name="caches (x, b) instead of (x, w)",
        source=_AF_HEAD + "    return x.reshape(x.shape[0], -1) @ w + b, (x, b)\n",
        loses=["test_affine_forward_cache"],
        explains="cache[1]",
    ),
    # ----------------------------------------------------------------- affine_backward
    Mutant(
        cell="affine_backward",
        name="dw transposed",
        source=_AB_HEAD
        + """    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x.reshape(n, -1)
    return dx, dw, dout.sum(axis=0)
""",
        loses=["test_affine_backward_dw", "test_affine_backward_nd"],
        explains="transpose",
    ),
    Mutant(
        cell="affine_backward",
        name="dx transposed (w @ dout.T)",
        source=_AB_HEAD
        + """    dx = w @ dout.T
    dw = x.reshape(n, -1).T @ dout
    return dx, dw, dout.sum(axis=0)
""",
        loses=["test_affine_backward_dx", "test_affine_backward_nd"],
        explains="transpose",
    ),
    Mutant(
        cell="affine_backward",
        name="db not summed over the batch",
        source=_AB_HEAD
        + """    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ dout
    return dx, dw, dout
""",
        loses=["test_affine_backward_db"],
        explains="batch axis",
    ),
    Mutant(
        cell="affine_backward",
        name="db summed over the wrong axis",
        source=_AB_HEAD
        + """    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ dout
    return dx, dw, dout.sum(axis=1)
""",
        loses=["test_affine_backward_db"],
        explains="axis 0",
    ),
    Mutant(
        cell="affine_backward",
        name="an extra 1/N (averages over the batch)",
        source=_AB_HEAD
        + """    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ dout / n
    db = dout.mean(axis=0)
    return dx, dw, db
""",
        loses=["test_affine_backward_dw", "test_affine_backward_db", "test_affine_backward_nd"],
        explains="times too small",
    ),
    Mutant(
        cell="affine_backward",
        name="ignores dout (all ones)",
        source=_AB_HEAD
        + """    g = np.ones((n, w.shape[1]))
    dx = (g @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ g
    return dx, dw, g.sum(axis=0)
""",
        loses=[*_BACKWARD_2D, "test_affine_backward_nd"],
        explains="ignores the upstream gradient",
    ),
    Mutant(
        cell="affine_backward",
        name="dx not reshaped back",
        source=_AB_HEAD
        + """    dx = dout @ w.T
    dw = x.reshape(n, -1).T @ dout
    return dx, dw, dout.sum(axis=0)
""",
        loses=["test_affine_backward_nd"],
        explains="reshape dx",
    ),
    Mutant(
        cell="affine_backward",
        name="x not flattened for dw",
        source=_AB_HEAD
        + """    dx = (dout @ w.T).reshape(x.shape)
    dw = x.T @ dout
    return dx, dw, dout.sum(axis=0)
""",
        loses=["test_affine_backward_nd"],
        explains="flatten x",
    ),
    Mutant(
        cell="affine_backward",
        name="returns the gradients in the order (dw, dx, db)",
        source=_AB_HEAD
        + """    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(n, -1).T @ dout
    return dw, dx, dout.sum(axis=0)
""",
        loses=["test_affine_backward_dx", "test_affine_backward_dw", "test_affine_backward_nd"],
        explains="wrong shape",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="affine_forward",
        name="einsum, with reshape(-1, D)",
        source=_AF_HEAD
        + """    x_flat = np.reshape(x, (-1, w.shape[0]))  # N rows of D features
    out = np.einsum("nd,dm->nm", x_flat, w) + b[np.newaxis, :]
    return out, (x, w)
""",
    ),
    Alternative(
        cell="affine_backward",
        name="einsum and tensordot, bias by np.add.reduce",
        source=_AB_HEAD
        + """    x_flat = x.reshape(n, -1)
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    dw = np.tensordot(x_flat, dout, axes=([0], [0]))  # sum over the batch axis
    db = np.add.reduce(dout, axis=0)
    return dx, dw, db
""",
    ),
    Alternative(
        cell="affine_backward",
        name="a loop over the examples, summing outer products",
        source=_AB_HEAD
        + """    x_flat = x.reshape(n, -1)
    dw = np.zeros_like(w, dtype=float)
    db = np.zeros(w.shape[1])
    rows = []
    for k in range(n):
        dw += np.outer(x_flat[k], dout[k])  # example k's contribution
        db += dout[k]
        rows.append(w @ dout[k])
    dx = np.array(rows).reshape(x.shape)
    return dx, dw, db
""",
    ),
]
