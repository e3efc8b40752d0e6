"""Known mistakes of numerical derivatives (notebook 1) and of the chain rule by hand (notebook 2).

Notebook 1's inputs, as the graded functions get them:

* ``FORWARD_DIFFERENCE``, ``CENTERED_DIFFERENCE``: ``(f, x, h)``, a function of one number, the
  point and the step; the answer is one number.
* ``REL_ERROR``: ``(a, b)``, two numbers or two arrays of one shape; the answer is one number.
* ``NUMERICAL_GRADIENT``: ``(f, x, h)``, ``x`` as it was before the call (``h`` the step used,
  1e-5 for the default); the answer is an array of ``x``'s shape.
  ``NUMERICAL_GRADIENT_IN_PLACE``: the same, for an ``f`` that ignores its argument and reads
  the array ``x`` itself (a model's loss reading its parameters).

A finite difference taken the wrong way is still the right estimate for some function (a
backward difference is a forward one for a linear ``f``, a gradient that never restores ``x`` is
right for ``sum(x**3)``), and a variant of the relative error is the right one for some numbers
(a mean of one entry, a ``b`` of 0): so every mistake of notebook 1 is a ``relation``, which the
catalogue compares an answer with and never returns.

Notebook 2's inputs: ``STAGED_FORWARD`` (a mistaken ``f``) and ``STAGED_CACHE`` (a mistaken
cache, compared with the right ``(x, y, p, s)``): ``(x, y, z, w)``. ``STAGED_DX``, ``STAGED_DY``,
``STAGED_DZ``, ``STAGED_DW`` (a mistaken gradient): ``(df, x, y, p, s)``, the upstream gradient
and the cache unpacked. ``FANOUT_DX``, ``FANOUT_DY``: ``(dout, x, y)``, the upstream gradient and
the cache of ``g = x*y + x``. A local derivative without the upstream gradient (the right answer
for an upstream gradient of 1) and a flipped sign are relations. The sigmoid of notebook 2 is
notebook 6's: :mod:`autograder.mistakes.activations` holds its mistakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.numeric import MATCH, close, quiet

from . import Mistake, negated, same_as

__all__ = [
    "CENTERED_DIFFERENCE",
    "FANOUT_DX",
    "FANOUT_DY",
    "FORWARD_DIFFERENCE",
    "NUMERICAL_GRADIENT",
    "NUMERICAL_GRADIENT_IN_PLACE",
    "REL_ERROR",
    "STAGED_CACHE",
    "STAGED_DW",
    "STAGED_DX",
    "STAGED_DY",
    "STAGED_DZ",
    "STAGED_FORWARD",
]

DEFAULT_H = 1e-5  # the documented default step of every finite difference in notebook 1


# ----------------------------------------------------------------------------- finite differences

FORWARD_DIFFERENCE = [
    Mistake("backward difference", "a backward difference (f(x) - f(x - h)) / h; the forward "
            "difference steps to x + h", relation=same_as(lambda f, x, h: (f(x) - f(x - h)) / h)),
    Mistake("centered difference", "the centered difference (f(x + h) - f(x - h)) / (2h); the "
            "forward difference uses only f(x + h) and f(x)",
            relation=same_as(lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h))),
    Mistake("not divided by h", "f(x + h) - f(x) not divided by h",
            relation=same_as(lambda f, x, h: f(x + h) - f(x))),
    Mistake("divided by 2h", "divided by 2h; the points x and x + h are h apart, so divide by h",
            relation=same_as(lambda f, x, h: (f(x + h) - f(x)) / (2 * h))),
    Mistake("default step", "computed with h = 1e-5 instead of the h you were given",
            relation=same_as(lambda f, x, h: (f(x + DEFAULT_H) - f(x)) / DEFAULT_H)),
    Mistake("sign", "the right size with the wrong sign: the difference is f(x + h) - f(x), the "
            "later point first", relation=negated),
]

CENTERED_DIFFERENCE = [
    Mistake("forward difference", "the forward difference (f(x + h) - f(x)) / h; the centered "
            "one uses f(x + h) and f(x - h)", relation=same_as(lambda f, x, h: (f(x + h) - f(x)) / h)),
    Mistake("backward difference", "a backward difference (f(x) - f(x - h)) / h; use f(x + h) "
            "and f(x - h)", relation=same_as(lambda f, x, h: (f(x) - f(x - h)) / h)),
    Mistake("divided by h", "divided by h instead of 2h; the points x - h and x + h are 2h apart",
            relation=same_as(lambda f, x, h: (f(x + h) - f(x - h)) / h)),
    Mistake("precedence", "divided by 2 and then multiplied by h: write / (2 * h), with the "
            "parentheses", relation=same_as(lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h)),
    Mistake("half steps", "evaluated at x ± h/2; the centered difference of step h uses x + h "
            "and x - h", relation=same_as(lambda f, x, h: (f(x + h / 2) - f(x - h / 2)) / h)),
    Mistake("default step", "computed with h = 1e-5 instead of the h you were given",
            relation=same_as(lambda f, x, h: (f(x + DEFAULT_H) - f(x - DEFAULT_H)) / (2 * DEFAULT_H))),
    Mistake("sign", "the right size with the wrong sign: the difference is f(x + h) - f(x - h), "
            "the later point first", relation=negated),
]


# ----------------------------------------------------------------------------- relative error


def _gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b)


def _floored(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(1e-8, np.abs(a) + np.abs(b))


def _ratio(top: Callable[..., Any], bottom: Callable[..., Any],
           reduce: Callable[..., Any] = np.max) -> Callable[..., Any]:
    """``reduce(top(a, b) / bottom(a, b))`` over the entries of ``a`` and ``b``."""

    def value(a: Any, b: Any) -> Any:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        with quiet():
            return reduce(top(a, b) / bottom(a, b))

    return value


def _no_floor(got: Any, want: Any, a: Any, b: Any) -> bool:
    """A relation: |a - b| / (|a| + |b|) without the floor: nan where two zeros give 0/0."""
    value = _ratio(_gap, lambda a, b: np.abs(a) + np.abs(b))(a, b)
    if np.isnan(value):
        return bool(np.all(np.isnan(np.asarray(got, dtype=np.float64))))
    return not close(got, want) and close(got, value, MATCH)


REL_ERROR = [
    Mistake("signed", "the signed difference (a - b) / max(1e-8, |a| + |b|), negative where "
            "a < b: take the absolute value |a - b|",
            relation=same_as(_ratio(lambda a, b: a - b, _floored))),
    Mistake("divided by a", "divided by |a| only; divide by |a| + |b| so that the order of a and "
            "b does not matter",
            relation=same_as(_ratio(_gap, lambda a, b: np.maximum(1e-8, np.abs(a))))),
    Mistake("divided by b", "divided by |b| only; divide by |a| + |b| so that the order of a and "
            "b does not matter",
            relation=same_as(_ratio(_gap, lambda a, b: np.maximum(1e-8, np.abs(b))))),
    Mistake("divided by the larger", "divided by max(|a|, |b|); the denominator is |a| + |b|",
            relation=same_as(_ratio(_gap, lambda a, b: np.maximum(1e-8, np.maximum(np.abs(a),
                                                                                np.abs(b)))))),
    Mistake("divided by a + b", "divided by |a + b|; take the absolute values first: |a| + |b|",
            relation=same_as(_ratio(_gap, lambda a, b: np.maximum(1e-8, np.abs(a + b))))),
    Mistake("absolute error", "the absolute error |a - b|; divide it by max(1e-8, |a| + |b|)",
            relation=same_as(_ratio(_gap, lambda a, b: 1.0))),
    Mistake("mean", "the mean over the entries; report the largest, so that one bad entry "
            "cannot hide", relation=same_as(_ratio(_gap, _floored, np.mean))),
    Mistake("sum", "the sum over the entries; report the largest",
            relation=same_as(_ratio(_gap, _floored, np.sum))),
    Mistake("ratio of largest", "the largest |a - b| divided by the largest |a| + |b|, which may "
            "come from two different entries: divide entry by entry, then report the largest "
            "ratio", relation=same_as(_ratio(lambda a, b: np.max(_gap(a, b)),
                                         lambda a, b: np.max(_floored(a, b))))),
    Mistake("norms", "a ratio of norms, ‖a - b‖ / (‖a‖ + ‖b‖): compute the relative error entry "
            "by entry, |a - b| / max(1e-8, |a| + |b|), and report the largest",
            relation=same_as(_ratio(lambda a, b: np.linalg.norm(a - b),
                                lambda a, b: np.maximum(1e-8, np.linalg.norm(a)
                                                        + np.linalg.norm(b))))),
    Mistake("no floor", "|a - b| / (|a| + |b|) without the floor 1e-8 (or with a smaller one): "
            "two zeros give 0/0 = nan, and a tiny number against 0 gives 1. Divide by "
            "max(1e-8, |a| + |b|)", relation=_no_floor),
]


# ----------------------------------------------------------------------------- numerical gradient


def _entrywise(f: Callable[..., Any], x: Any, estimate: Callable[..., float]) -> np.ndarray:
    """``grad[ix] = estimate(g, x[ix])`` for every index, ``g`` the function of entry ``ix``
    alone (the others held at ``x``)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):

        def g(t: float, ix: tuple[int, ...] = ix) -> float:
            v = x.copy()
            v[ix] = t
            return float(f(v))

        grad[ix] = estimate(g, x[ix])
    return grad


def _never_restored(f: Callable[..., Any], x: Any, h: float) -> np.ndarray:
    """The centered differences of a loop that leaves each entry at old - h (no x[ix] = old):
    every later entry is measured at a point shifted by the earlier ones."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = float(f(x))
        x[ix] = old - h
        grad[ix] = (plus - float(f(x))) / (2 * h)
    return grad


def _one_number(got: Any, want: Any, *_: Any) -> bool:
    """A relation: the same number in every entry, where the right entries differ."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and got.size > 1 and np.ptp(got) == 0 and np.ptp(want) > 0


def _one_number_a_row(got: Any, want: Any, f: Any, x: Any, *_: Any) -> bool:
    """A relation: one number across each row ``x[i]`` of a 2-D (or more) ``x``, where the right
    entries of a row differ."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or np.ndim(x) < 2 or np.size(x[0]) < 2:
        return False
    rows, right = got.reshape(len(got), -1), want.reshape(len(want), -1)
    return bool(np.all(np.ptp(rows, axis=1) == 0)) and bool(np.any(np.ptp(right, axis=1) > 0))


NUMERICAL_GRADIENT = [
    Mistake("forward difference", "the forward difference (f(x + h e_i) - f(x)) / h; use the "
            "centered one, (f(x + h e_i) - f(x - h e_i)) / (2h)",
            relation=same_as(lambda f, x, h: _entrywise(f, x, lambda g, t: (g(t + h) - g(t)) / h))),
    Mistake("divided by h", "divided by h instead of 2h: x - h·e_i and x + h·e_i are 2h apart",
            relation=same_as(lambda f, x, h: _entrywise(
                f, x, lambda g, t: (g(t + h) - g(t - h)) / h))),
    Mistake("sign", "the right size with the wrong sign: the difference is "
            "f(x + h e_i) - f(x - h e_i), the later point first", relation=negated),
    Mistake("not restored", "the gradient of a loop that leaves each entry nudged, so later "
            "entries were measured at a shifted point; restore each entry (x[ix] = old) before "
            "nudging the next", relation=same_as(_never_restored)),
    Mistake("all at once", "the same number in every entry: you nudged all entries of x at once "
            "(x + h); nudge ONE entry at a time, x + h·e_i, and fill grad[i]",
            relation=_one_number),
    Mistake("whole rows", "the same number across each row: you nudged whole rows at once (x[i] "
            "is a row of a 2-D array); visit every index with `for ix in np.ndindex(x.shape)`",
            relation=_one_number_a_row),
    Mistake("default step", "computed with h = 1e-5 instead of the h you were given",
            relation=same_as(lambda f, x, h: _entrywise(
                f, x, lambda g, t: (g(t + DEFAULT_H) - g(t - DEFAULT_H)) / (2 * DEFAULT_H)))),
]

NUMERICAL_GRADIENT_IN_PLACE = [
    Mistake("copy nudged", "all zeros: this f ignores its argument and reads the array directly, "
            "like `lambda _: model_loss(params)`; it only sees the nudge if you change x itself, "
            "in place (and restore it), not a copy of x (x + h or x.copy() is a new array)",
            relation=lambda got, want, *_: not np.any(got) and bool(np.any(want))),
]


# ----------------------------------------------------------------------------- staged function


def _sigmoid(w: Any) -> Any:
    return 0.5 + 0.5 * np.tanh(0.5 * np.asarray(w, dtype=np.float64))


STAGED_FORWARD = [
    Mistake("exponent +w", "(x*y + z)·(1 - σ(w)): the sigmoid is 1 / (1 + exp(-w)), with a minus "
            "sign in the exponent", lambda x, y, z, w: (x * y + z) * _sigmoid(-w)),
    Mistake("parentheses", "x*y + z*σ(w): the whole sum x*y + z is multiplied by σ(w) (mind the "
            "parentheses)", lambda x, y, z, w: x * y + z * _sigmoid(w)),
    Mistake("times w", "(x*y + z) * w: multiply by σ(w), not by w itself",
            lambda x, y, z, w: (x * y + z) * w),
    Mistake("z missing", "x*y*σ(w): z is missing from p = x*y + z",
            lambda x, y, z, w: x * y * _sigmoid(w)),
]


def _slot(k: int, value: Callable[..., Any]) -> Callable[..., bool]:
    """A relation of a cache: entry ``k`` is ``value(*inputs)`` where the right cache ``want``
    holds another value."""
    return lambda got, want, *inputs: (close(got[k], value(*inputs), MATCH)
                                       and not close(want[k], value(*inputs), MATCH))


STAGED_CACHE = [
    Mistake("q for p", "a cache holding q = x*y where p belongs: the backward pass needs "
            "p = x*y + z (df/ds = p)", relation=_slot(2, lambda x, y, z, w: x * y)),
    Mistake("w for s", "a cache holding w, the sigmoid's input, where s belongs: store its "
            "OUTPUT s = σ(w), from which the backward pass computes σ'(w) = s·(1 - s)",
            relation=_slot(3, lambda x, y, z, w: w)),
    Mistake("exponent +w", "a cache holding 1 / (1 + exp(+w)) = 1 - σ(w) where s belongs: the "
            "sigmoid is 1 / (1 + exp(-w)), with a minus sign in the exponent",
            relation=_slot(3, lambda x, y, z, w: _sigmoid(-w))),
    Mistake("f cached", "a cache holding f; the cache holds the intermediate values, in the order "
            "(x, y, p, s)", relation=lambda got, want, x, y, z, w: any(
                _slot(k, lambda x, y, z, w: (x * y + z) * _sigmoid(w))(got, want, x, y, z, w)
                for k in range(4))),
]


def _factor(this: str, other: str, pick: Callable[..., tuple[Any, Any]]) -> list[Mistake]:
    """The mistakes of the gradient of one factor of q = x·y (``pick(x, y)``: this factor's
    value and the other's)."""
    return [
        Mistake("own input", f"df·s·{this}: the local derivative of q = x·y with respect to "
                f"{this} is {other}, the OTHER input",
                lambda df, x, y, p, s: df * s * pick(x, y)[0]),
        Mistake("upstream ignored", f"s·{other}, as if df were 1: multiply by the upstream "
                "gradient df", relation=same_as(lambda df, x, y, p, s: s * pick(x, y)[1])),
        Mistake("s missing", f"df·{other}: the gradient reaching q is dq = dp = df·s, through "
                "f = p·s", lambda df, x, y, p, s: df * pick(x, y)[1]),
        Mistake("sign", "the right size with the wrong sign", relation=negated),
    ]


STAGED_DX = _factor("x", "y", lambda x, y: (x, y))
STAGED_DY = _factor("y", "x", lambda x, y: (y, x))

STAGED_DZ = [
    Mistake("s missing", "df without the factor s: z reaches f through p = q + z (local "
            "derivative 1) and then f = p·s (local derivative s), so dz = df·s",
            lambda df, x, y, p, s: df),
    Mistake("upstream ignored", "s, as if df were 1: multiply by the upstream gradient df",
            relation=same_as(lambda df, x, y, p, s: s)),
    Mistake("zero", "0: z is an input like the others; its gradient is dz = dp·1",
            lambda df, x, y, p, s: 0.0 if df else None),
    Mistake("sign", "the right size with the wrong sign", relation=negated),
]

STAGED_DW = [
    Mistake("sign", "the right size with the wrong sign: σ'(w) = s·(1 - s) is never negative",
            relation=negated),
    Mistake("p missing", "df·s·(1 - s), missing the factor p: the gradient reaching s is "
            "ds = df·p, and then dw = ds·s·(1 - s)", lambda df, x, y, p, s: df * s * (1 - s)),
    Mistake("1 - s missing", "df·p·s, missing the factor (1 - s): σ'(w) = s·(1 - s)",
            lambda df, x, y, p, s: df * p * s),
    Mistake("s missing", "df·p·(1 - s), missing the factor s: σ'(w) = s·(1 - s)",
            lambda df, x, y, p, s: df * p * (1 - s)),
    Mistake("cache as input", "σ' applied to s as if s were the input w: s is already σ(w), the "
            "OUTPUT, so σ'(w) = s·(1 - s)",
            lambda df, x, y, p, s: df * p * _sigmoid(s) * (1 - _sigmoid(s))),
    Mistake("upstream ignored", "p·s·(1 - s), as if df were 1: multiply by the upstream gradient "
            "df", relation=same_as(lambda df, x, y, p, s: p * s * (1 - s))),
]


# ----------------------------------------------------------------------------- fan-out

FANOUT_DX = [
    Mistake("product path only", "dout·y, the path through q = x·y only; x is also used "
            "directly, and that path's dout·1 must be ADDED: the gradients of the two paths sum",
            lambda dout, x, y: dout * y),
    Mistake("direct path only", "dout, the direct path only; the path through q = x·y brings "
            "dout·y as well, and the gradients of the two paths sum", lambda dout, x, y: dout),
    Mistake("direct path without dout", "dout·y + 1: the direct path's contribution is dout·1, "
            "the upstream gradient times the local derivative 1",
            lambda dout, x, y: dout * y + 1 if np.any(np.asarray(dout) != 1) else None),
    Mistake("paths multiplied", "the PRODUCT of the two paths' contributions (dout·y)·(dout·1); "
            "gradients arriving along different paths are ADDED",
            lambda dout, x, y: dout * y * dout),
    Mistake("upstream ignored", "y + 1, as if dout were 1: multiply by the upstream gradient "
            "dout", relation=same_as(lambda dout, x, y: y + 1)),
]

FANOUT_DY = [
    Mistake("y fans out", "dout·(x + 1): y is used only once, in q = x·y; only x fans out",
            lambda dout, x, y: dout * (x + 1)),
    Mistake("own input", "dout·y: the local derivative of q = x·y with respect to y is x, the "
            "OTHER input", lambda dout, x, y: dout * y),
    Mistake("upstream ignored", "x, as if dout were 1: multiply by the upstream gradient dout",
            relation=same_as(lambda dout, x, y: x)),
]
