"""Known mistakes of the affine layer's forward pass (notebook 5, and the capstone).

Inputs, as ``affine_forward`` gets them: ``(x, w, b)``, ``x`` of shape ``(N, d1, ..., dk)``.
"""

from __future__ import annotations

import numpy as np

from . import Mistake

__all__ = ["AFFINE_FORWARD"]


def _rows(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).reshape(np.shape(x)[0], -1)


AFFINE_FORWARD = [
    Mistake("no bias", "x·W without the bias: add b (shape (M,)) to every row of x·W",
            lambda x, w, b: _rows(x) @ w),
    Mistake("bias subtracted", "x·W − b: the bias is added, not subtracted",
            lambda x, w, b: _rows(x) @ w - b),
    Mistake("column-major", "each example flattened in column-major (Fortran) order; flatten in "
            "numpy's row-major order, x.reshape(N, -1), the order the rows of w follow",
            lambda x, w, b: np.reshape(x, (np.shape(x)[0], -1), order="F") @ w + b
            if np.ndim(x) > 2 else None),
]
