"""Small offline data sets for the notebooks, all seeded and reproducible.

Dimension legend: N examples, D features (2 for the toy sets, 64 for the digits), C classes.

Every generator draws from ``np.random.default_rng(seed)``, so the same arguments always return
the same arrays, and returns ``X`` of shape (N, D) float64 and ``y`` of shape (N,) int64 with the
classes shuffled together (so that any slice is a fair mini-batch). The real data set is the UCI
handwritten digits (see :data:`DIGITS_CITATION` and ``bplib/data/README.md``), shipped with the
package so nothing is downloaded.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources
from numbers import Integral, Real
from typing import Any

import numpy as np

from bplib._checks import check_choice

__all__ = [
    "DIGITS_CITATION",
    "blobs",
    "circles",
    "load_digits",
    "logic_gate",
    "spirals",
    "train_test_split",
    "two_moons",
]

DIGITS_CITATION = (
    "Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits. "
    "UCI Machine Learning Repository. doi:10.24432/C50P49. Licensed CC BY 4.0."
)

_GATES = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "xor": (0, 1, 1, 0),
    "nand": (1, 1, 1, 0),
}


# ----------------------------------------------------------------------------- validation
def _check_count(n: Any, name: str, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n}")
    return int(n)


def _check_nonneg(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not np.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)


def _split_counts(n: int, n_classes: int) -> list[int]:
    """Class sizes that add up to ``n`` and differ by at most one."""
    return [n // n_classes + (1 if k < n % n_classes else 0) for k in range(n_classes)]


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return X[order], y[order].astype(np.int64)


# ----------------------------------------------------------------------------- toy sets
def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The four input pairs of a two-input logic gate and its outputs.

    Args:
        name: "and", "or", "xor" or "nand" (case-insensitive).

    Returns:
        X: (4, 2) float64, the rows (0, 0), (0, 1), (1, 0), (1, 1).
        y: (4,) int64, the gate's output for each row.
    """
    key = name.lower() if isinstance(name, str) else name
    check_choice(key, _GATES, "gate name")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return X, np.array(_GATES[key], dtype=np.int64)


def blobs(
    n: int = 100, seed: int = 0, separation: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds in 2-D that a straight line always separates.

    The class centres are ``±separation / 2`` along the diagonal direction (1, 1)/√2, each cloud
    has unit standard deviation, and points closer than a margin to the separating line (through
    the origin, perpendicular to the diagonal) are redrawn, so the classes are linearly
    separable for every seed.

    Args:
        n: total number of points N >= 2 (class 0 gets ``n // 2``, class 1 the rest).
        seed: seed of the random generator.
        separation: distance between the two centres, > 0.

    Returns:
        X: (N, 2) float64; y: (N,) int64 in {0, 1}.
    """
    n = _check_count(n, "n", 2)
    if _check_nonneg(separation, "separation") == 0:
        raise ValueError("separation must be > 0 for the classes to be separable, got 0")
    rng = np.random.default_rng(seed)
    u = np.array([1.0, 1.0]) / np.sqrt(2.0)
    margin = min(0.5, separation / 4)
    parts, labels = [], []
    for k, size in enumerate(_split_counts(n, 2)):
        sign = 1.0 if k == 1 else -1.0
        kept = np.empty((0, 2))
        while len(kept) < size:
            draw = rng.normal(size=(2 * size, 2)) + sign * separation / 2 * u
            kept = np.vstack([kept, draw[sign * (draw @ u) >= margin]])
        parts.append(kept[:size])
        labels.append(np.full(size, k))
    return _shuffled(rng, np.vstack(parts), np.concatenate(labels))


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles, which no straight line separates.

    Class 0 lies on the upper half of the unit circle, class 1 on a lower half circle shifted to
    (1, 0.5); each point gets Gaussian noise of standard deviation ``noise`` per coordinate.

    Returns:
        X: (N, 2) float64; y: (N,) int64 in {0, 1}, with ``n // 2`` points in class 0.
    """
    n = _check_count(n, "n", 2)
    noise = _check_nonneg(noise, "noise")
    rng = np.random.default_rng(seed)
    n0, n1 = _split_counts(n, 2)
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower]) + noise * rng.normal(size=(n, 2))
    return _shuffled(rng, X, np.repeat([0, 1], [n0, n1]))


def circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A ring (class 0, radius 1) around a smaller ring (class 1, radius ``factor``).

    Args:
        n: total number of points N >= 2.
        noise: standard deviation of the Gaussian noise added to each coordinate, >= 0.
        factor: inner radius relative to the outer one, strictly between 0 and 1.
        seed: seed of the random generator.

    Returns:
        X: (N, 2) float64; y: (N,) int64 in {0, 1}, with ``n // 2`` points in class 0.
    """
    n = _check_count(n, "n", 2)
    noise = _check_nonneg(noise, "noise")
    if not isinstance(factor, Real) or not 0 < factor < 1:
        raise ValueError(f"factor must be strictly between 0 and 1, got {factor!r}")
    rng = np.random.default_rng(seed)
    n0, n1 = _split_counts(n, 2)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(np.arange(n) < n0, 1.0, float(factor))
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X = X + noise * rng.normal(size=(n, 2))
    return _shuffled(rng, X, np.repeat([0, 1], [n0, n1]))


def spirals(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms around the origin.

    Arm ``k`` starts at the origin and winds outwards to radius 1, turned by ``2πk / C``; the
    angle of each point gets Gaussian noise of standard deviation ``noise`` (radians).

    Returns:
        X: (C * n_per_class, 2) float64; y: (C * n_per_class,) int64 in 0..C-1, balanced.
    """
    n_per_class = _check_count(n_per_class, "n_per_class", 1)
    n_classes = _check_count(n_classes, "n_classes", 2)
    noise = _check_nonneg(noise, "noise")
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    label = np.repeat(np.arange(n_classes), n_per_class)
    # About 1.3 turns per arm: enough winding that no linear model does well.
    angle = 2 * np.pi * label / n_classes + 8.0 * radius
    angle = angle + noise * rng.normal(size=angle.shape)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return _shuffled(rng, X, label)


# ----------------------------------------------------------------------------- digits
@lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    source = resources.files("bplib") / "data" / "digits.csv.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    table.setflags(write=False)  # shared by every call: callers get copies
    return table


def load_digits(normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits of the UCI test split (see :data:`DIGITS_CITATION`).

    Each image is a 32x32 bitmap reduced to 8x8 blocks; a pixel counts the inked pixels of its
    4x4 block (0..16). Row ``i`` of ``X`` reshaped to (8, 8) is the image, row-major.

    Args:
        normalize: divide by 16 so pixels lie in [0, 1]; otherwise keep the counts 0..16.

    Returns:
        X: (1797, 64) float64, a fresh copy on each call.
        y: (1797,) int64, the digit 0..9 shown.
    """
    table = _digits_table()
    X = table[:, :64].astype(np.float64)
    if normalize:
        X /= 16.0
    return X, table[:, 64].copy()


def train_test_split(
    X: Any, y: Any, test_fraction: float = 0.2, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split examples at random into a training and a test set; inputs are not modified.

    With ``stratify=True`` each class keeps (as nearly as integers allow) its share of the data
    in both parts. The test set has ``round(test_fraction * N)`` examples in either case.

    Args:
        X: (N, ...) examples; any trailing shape.
        y: (N,) labels.
        test_fraction: share of the examples that go to the test set, strictly between 0 and 1.
        seed: seed of the random generator.
        stratify: keep class proportions.

    Returns:
        X_train (N - T, ...), X_test (T, ...), y_train (N - T,), y_test (T,), shuffled.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"X must have shape (N, ...) and y shape (N,) with the same N, got X {X.shape} "
            f"and y {y.shape}"
        )
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real) or not (
        0 < test_fraction < 1
    ):
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    n = len(y)
    n_test = int(np.floor(test_fraction * n + 0.5))
    if not 0 < n_test < n:
        raise ValueError(
            f"test_fraction={test_fraction} of N={n} examples leaves {n_test} for the test set "
            f"and {n - n_test} for training; both need at least one"
        )
    test_fraction = float(test_fraction)
    rng = np.random.default_rng(seed)
    if not stratify:
        order = rng.permutation(n)
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        classes, inverse = np.unique(y, return_inverse=True)
        sizes = np.bincount(inverse, minlength=len(classes))
        # Largest-remainder rounding: per-class quotas that sum exactly to n_test.
        quota = sizes * n_test / n
        take = np.floor(quota).astype(int)
        extra = n_test - take.sum()
        take[np.argsort(-(quota - take), kind="stable")[:extra]] += 1
        test_parts, train_parts = [], []
        for k in range(len(classes)):
            members = rng.permutation(np.flatnonzero(inverse == k))
            test_parts.append(members[: take[k]])
            train_parts.append(members[take[k]:])
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]
