"""Comparing and showing numbers: the one copy used by the checks and the mistake catalogue.

Pure numpy and bplib's message formatting (:func:`bplib.gradcheck.distinct`), nothing of the
grader: :mod:`autograder.mistakes` (which a notebook's visible tests import in the learner's
kernel) builds on it as well as the grader's checks.

Tolerances are named, not scattered: :data:`EXACT` for results a correct implementation
reproduces to rounding error, :data:`MATCH` for telling which known mistake a wrong result is.
A check whose math is less exact (a normalization, a numerical gradient) passes its own pair.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from bplib.gradcheck import distinct

__all__ = [
    "EXACT",
    "MATCH",
    "Tolerance",
    "close",
    "differing",
    "distinct",
    "fmt",
    "quiet",
    "worst_entry",
]


class Tolerance(NamedTuple):
    """``|a - b| <= atol + rtol·|b|`` entry by entry, as :func:`numpy.allclose`."""

    rtol: float
    atol: float


EXACT = Tolerance(1e-9, 1e-12)
MATCH = Tolerance(1e-7, 1e-10)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence numpy's warnings: a wrong answer's overflow or 0/0 must not reach stderr."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def close(a: Any, b: Any, tol: Tolerance = EXACT) -> bool:
    """Whether ``a`` and ``b`` have the same shape and all-close float values (NaN never is).

    Anything that is not numeric (``None``, a string, an object) is close to nothing."""
    try:
        with quiet():
            x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=tol.rtol, atol=tol.atol))


def fmt(values: Any, limit: int = 6) -> str:
    """``[1.5, -2, 0.25, …]``: the first ``limit`` entries of an array, flattened."""
    try:
        flat = np.ravel(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        return repr(values)[:80]
    if np.ndim(values) == 0:
        return f"{float(flat[0]):.8g}"
    text = ", ".join(f"{v:.8g}" for v in flat[:limit])
    return f"[{text}{', …' if flat.size > limit else ''}]"


def differing(got: Any, want: Any, tol: Tolerance = EXACT, limit: int = 3) -> str:
    """The entries where ``got`` and ``want`` (same shape) differ, each as index: yours vs expected.

    ``"2 of 12 entries differ: at [1, 0] yours is 0.5, expected 0; at [2, 3] yours is …"``, so
    a message never shows two prefixes that look equal."""
    g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with quiet():
        bad = ~np.isclose(g, w, rtol=tol.rtol, atol=tol.atol)
    where = np.argwhere(bad)
    if len(where) == 0:  # (a 0-d array's one entry is a row of no indices, not size 0)
        return "no entry differs"
    shown = []
    for index in where[:limit]:
        ix = tuple(int(i) for i in index)
        at = "" if not ix else f" at [{', '.join(map(str, ix))}]"
        yours, expected = distinct(float(g[ix]), float(w[ix]), digits=8)
        shown.append(f"{at} yours is {yours}, expected {expected}".lstrip())
    more = "; …" if len(where) > limit else ""
    return f"{len(where)} of {bad.size} entries differ: " + "; ".join(shown) + more


def worst_entry(got: Any, want: Any) -> tuple[tuple[int, ...], float, float]:
    """(index, yours, expected) where ``got`` is furthest from ``want`` (NaN counts as furthest)."""
    g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with quiet():
        gap = np.abs(g - w)
    gap = np.where(np.isnan(gap), np.inf, gap)
    ix = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), g.shape))
    return ix, float(g[ix]), float(w[ix])
