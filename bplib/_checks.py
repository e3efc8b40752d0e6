"""Input validation shared by every module: errors that name what was expected and what came.

Each helper raises ``ValueError`` (never ``AssertionError``, which the gradient checker reserves
for wrong gradients) with a message written for a learner, e.g.
``x has shape (4, 3) but w expects 5 input features``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "check_choice",
    "check_finite",
    "check_labels",
    "check_ndim",
    "check_same_shape",
    "check_shape",
    "require_keys",
]


def as_float_array(a: Any, name: str) -> np.ndarray:
    """Return ``a`` as a floating-point ndarray (no copy when it already is one).

    Integer and boolean inputs are converted to float64; anything that cannot be turned into a
    numeric array raises ``ValueError`` naming ``name`` and the type that came.
    """
    if type(a) is np.ndarray and a.dtype.kind == "f":
        return a  # the common case, answered at once (subclasses such as np.matrix go on)
    if a is None:
        raise ValueError(f"{name} is None: expected a numeric array")
    arr = np.asarray(a)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(
            f"{name} must be a numeric array, got {type(a).__name__} of dtype {arr.dtype}"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def check_ndim(a: np.ndarray, ndim: int | Sequence[int], name: str, layout: str = "") -> None:
    """Raise ``ValueError`` unless ``a.ndim`` is ``ndim`` (or one of them).

    ``layout`` names the dimensions for the message, e.g. ``"(N, D)"``.
    """
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if a.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        shape_note = f" {layout}" if layout else ""
        raise ValueError(f"{name} must be a {want} array{shape_note}, got shape {tuple(a.shape)}")


def check_shape(a: np.ndarray, shape: Sequence[int | None], name: str, layout: str = "") -> None:
    """Raise ``ValueError`` unless ``a.shape`` matches ``shape`` (``None`` matches any size)."""
    if a.shape == tuple(shape):
        return  # the common case, answered at once
    ok = a.ndim == len(shape) and all(
        s is None or s == d for s, d in zip(shape, a.shape, strict=False)
    )
    if not ok:
        want = (
            "("
            + ", ".join("?" if s is None else str(s) for s in shape)
            + ("," if len(shape) == 1 else "")
            + ")"
        )
        legend = f" {layout}" if layout else ""
        raise ValueError(f"{name} must have shape {want}{legend}, got {tuple(a.shape)}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``a`` holds NaN or infinity, naming the first bad index."""
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        value = a[tuple(bad)]
        raise ValueError(
            f"{name} contains {value} at index {tuple(int(i) for i in bad)}: inputs must be finite"
        )


def check_choice(value: Any, choices: Iterable[Any], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``: ``mode must be "train" or "test", got 'eval'``."""
    choices = tuple(choices)
    if value not in choices:
        listed = " or ".join(f'"{c}"' if isinstance(c, str) else str(c) for c in choices)
        raise ValueError(f"{name} must be {listed}, got {value!r}")


def check_labels(y: Any, n: int, num_classes: int, name: str = "y") -> np.ndarray:
    """Return ``y`` as an int array of shape ``(n,)`` with values in ``[0, num_classes)``."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{name} must have shape ({n},) (one label per row), got {tuple(arr.shape)}"
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        bad = int(arr[(arr < 0) | (arr >= num_classes)][0])
        raise ValueError(f"{name} holds label {bad}, outside the valid range 0..{num_classes - 1}")
    return arr.astype(np.int64, copy=False)


def require_keys(mapping: dict, keys: Iterable[str], name: str) -> None:
    """Raise ``ValueError`` naming the missing keys of a parameter dictionary."""
    missing = [k for k in keys if k not in mapping]
    if missing:
        raise ValueError(f"{name} is missing required key(s) {missing}; got keys {sorted(mapping)}")
