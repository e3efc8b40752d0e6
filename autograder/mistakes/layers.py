"""Known mistakes of the affine layer (notebook 5, and the capstone).

Inputs, as ``affine_forward`` gets them: ``(x, w, b)``, ``x`` of shape ``(N, d1, ..., dk)``,
``w`` of shape ``(D, M)`` with ``D = d1·…·dk``, ``b`` of shape ``(M,)``. ``AFFINE_FORWARD`` holds
mistaken outputs, ``AFFINE_CACHE_X`` and ``AFFINE_CACHE_W`` mistaken entries of the cache
``(x, w)``. The backward tables hold mistaken gradients for the cache's ``x`` and ``w`` and the
upstream gradient: inputs ``(x, w, dout)``, ``dout`` of shape ``(N, M)``. A gradient that is the
right one transposed or in the wrong shape is a ``relation`` (it needs the right answer), so no
table computes a right answer rearranged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.numeric import MATCH, close

from . import Mistake

__all__ = [
    "AFFINE_BACKWARD_DB",
    "AFFINE_BACKWARD_DW",
    "AFFINE_BACKWARD_DX",
    "AFFINE_CACHE_W",
    "AFFINE_CACHE_X",
    "AFFINE_FORWARD",
]


def _rows(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).reshape(np.shape(x)[0], -1)


def _transposed(got: Any, want: Any, *_: Any) -> bool:
    """A relation: a 2-D answer whose transpose holds the right entries (in the right order,
    once reshaped to the right shape)."""
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    return (got.ndim == 2 and got.size == want.size and not close(got, want, MATCH)
            and close(got.T.reshape(want.shape), want, MATCH))


def _not_reshaped(got: Any, want: Any, *_: Any) -> bool:
    """A relation: the right entries in row-major order, in another shape."""
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    return (got.shape != want.shape and got.size == want.size
            and close(got.reshape(want.shape), want, MATCH))


AFFINE_FORWARD = [
    Mistake("no bias", "x·W without the bias: add b (shape (M,)) to every row of x·W",
            lambda x, w, b: _rows(x) @ w),
    Mistake("bias subtracted", "x·W − b: the bias is added, not subtracted",
            lambda x, w, b: _rows(x) @ w - b),
    Mistake("column-major", "each example flattened in column-major (Fortran) order; flatten in "
            "numpy's row-major order, x.reshape(N, -1), the order the rows of w follow",
            lambda x, w, b: np.reshape(x, (np.shape(x)[0], -1), order="F") @ w + b
            if np.ndim(x) > 2 else None),
    Mistake("transposed", "(x·W + b)ᵀ, of shape (M, N): row n of out holds example n's M "
            "outputs, out = x·W + b has shape (N, M)",
            relation=lambda got, want, *_: np.shape(got) != np.shape(want) and _transposed(
                got, want)),
]

AFFINE_CACHE_X = [
    Mistake("flattened", "x flattened to (N, D); keep x in its original shape (N, d1, ..., dk): "
            "affine_backward reshapes dx back to it",
            lambda x, w, b: _rows(x) if np.ndim(x) > 2 else None),
    Mistake("w first", "the weights w: the cache is the tuple (x, w), x first",
            lambda x, w, b: w),
]

AFFINE_CACHE_W = [
    Mistake("bias", "the bias b; cache the weights w: affine_backward needs them for "
            "dx = dout·wᵀ", lambda x, w, b: b),
]

AFFINE_BACKWARD_DX = [
    Mistake("transposed", "w·doutᵀ, the transpose of dx, of shape (D, N): dx = dout·wᵀ has "
            "shape (N, D), reshaped to x's shape", relation=_transposed),
    Mistake("not reshaped", "dout·wᵀ in the flattened shape (N, D): reshape dx back to x's "
            "shape, dx.reshape(x.shape)", relation=_not_reshaped),
]

AFFINE_BACKWARD_DW = [
    Mistake("x not flattened", "a product with x unflattened, with more than two axes; dw has "
            "w's shape (D, M): flatten x to (N, D) first, x.reshape(N, -1).T @ dout",
            relation=lambda got, want, x, *_: np.ndim(x) > 2 and np.ndim(got) > 2),
    Mistake("transposed", "doutᵀ·x, the transpose of dw, of shape (M, D): dw = xᵀ·dout has "
            "w's shape (D, M)", relation=_transposed),
]

AFFINE_BACKWARD_DB = [
    Mistake("wrong axis", "dout summed over axis 1, the M outputs; sum over axis 0, the N "
            "examples: db = dout.sum(axis=0), one entry per output unit",
            lambda x, w, dout: np.sum(dout, axis=1)),
    Mistake("every entry", "dout summed over every entry, one number; db needs one entry per "
            "output unit: sum over the batch axis only, dout.sum(axis=0)",
            lambda x, w, dout: np.sum(dout)),
    Mistake("not summed", "dout itself, one row per example: db sums it over the batch axis, "
            "dout.sum(axis=0)", lambda x, w, dout: dout),
]
