"""Known mistakes of notebook 15's tensor autograd: ``unbroadcast``, the operations' forward
values, and the contributions their backward closures add to an operand's ``grad``.

Inputs, as the hidden checks and the notebook's visible tests pass them (``g`` is the upstream
gradient ``out.grad``, of the output's shape; arrays are the operands' ``data``):

* :data:`UNBROADCAST` and :data:`ADD_GRAD`: ``(g, shape)``, ``shape`` the operand's;
* :data:`MUL_GRAD`: ``(g, own, other)``, the contribution to the operand ``own``;
* :data:`MATMUL_FORWARD` ``(a, b)``; :data:`MATMUL_GRAD_A` and :data:`MATMUL_GRAD_B` ``(a, b, g)``;
* :data:`REDUCE_SUM_FORWARD`, :data:`REDUCE_MEAN_FORWARD`, :data:`LOG_SOFTMAX_FORWARD` ``(x,)``;
  :data:`REDUCE_SUM_GRAD`, :data:`REDUCE_MEAN_GRAD`, :data:`LOG_SOFTMAX_GRAD` ``(x, g)``;
* the ReLU's are notebook 06's (:mod:`autograder.mistakes.activations`, ``RELU_FORWARD`` ``(x,)``
  and ``RELU_BACKWARD`` ``(x, g)``): a closure adds exactly what ``relu_backward`` returns;
* :data:`ACCUMULATE`: ``(before, contribution)``: what an operand's ``grad`` holds after one
  closure call when it held ``before`` and the closure's contribution is ``contribution`` (given
  by the check: the catalogue never computes a right contribution);
* :data:`SAME_NODE`: ``(first, second)``, the contributions of the two operand slots when one
  node fills both (``x @ x``): a relation, true when only one of them arrived.

A mistake that makes no sense for the given shapes (a transposed gradient of a non-square
matrix, which numpy could not even add into ``grad``) computes ``None`` and is never matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.numeric import MATCH, close

from . import Mistake

__all__ = [
    "ACCUMULATE",
    "ADD_GRAD",
    "LOG_SOFTMAX_FORWARD",
    "LOG_SOFTMAX_GRAD",
    "MATMUL_FORWARD",
    "MATMUL_GRAD_A",
    "MATMUL_GRAD_B",
    "MUL_GRAD",
    "REDUCE_MEAN_FORWARD",
    "REDUCE_MEAN_GRAD",
    "REDUCE_SUM_FORWARD",
    "REDUCE_SUM_GRAD",
    "SAME_NODE",
    "UNBROADCAST",
]


# ----------------------------------------------------------------------------- broadcasting
def _axes(g: Any, shape: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """(g as an array, the leading axes broadcasting added, the operand's stretched axes)."""
    g = np.asarray(g, dtype=np.float64)
    shape = tuple(int(n) for n in shape)
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ValueError("not a broadcast of this shape")
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g, tuple(range(lead)), stretched


def _unbroadcast(g: Any, shape: Sequence[int]) -> np.ndarray:
    """``g`` summed over the broadcast axes (to shape a mistaken result like the right one)."""
    g, lead, stretched = _axes(g, shape)
    g = g.sum(axis=lead) if lead else g
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _mean_over(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    g, lead, stretched = _axes(g, shape)
    if not lead and not stretched:
        return None
    g = g.mean(axis=lead) if lead else g
    return g.mean(axis=stretched, keepdims=True) if stretched else g


def _leading_only(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    g, lead, stretched = _axes(g, shape)
    if not stretched:
        return None
    return g.sum(axis=lead) if lead else g


def _no_keepdims(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    g, lead, stretched = _axes(g, shape)
    if not stretched:
        return None
    g = g.sum(axis=lead) if lead else g
    return g.sum(axis=stretched)


def _not_reduced(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    g = np.asarray(g, dtype=np.float64)
    return g if g.shape != tuple(shape) else None


def _axis0(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    g, lead, stretched = _axes(g, shape)
    return g.sum(axis=0) if g.ndim and (lead, stretched) != ((0,), ()) else None


def _everything(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    return np.asarray(np.sum(g)) if tuple(shape) != () else None


def _without_upstream(g: Any, shape: Sequence[int]) -> np.ndarray | None:
    """What an operand would receive from an all-ones upstream (None when g is all ones)."""
    g = np.asarray(g, dtype=np.float64)
    return None if np.allclose(g, 1.0) else _unbroadcast(np.ones_like(g), shape)


UNBROADCAST = [
    Mistake("not reduced", "the gradient left at the broadcast shape: sum it over the axes "
            "broadcasting added (the leading ones) and the axes it stretched (size 1 in the "
            "operand, summed with keepdims=True), so that it gets the operand's shape",
            _not_reduced),
    Mistake("mean", "the mean over the broadcast axes: every copy of an entry passed the "
            "upstream gradient on in full, so the copies' gradients add up: sum them", _mean_over),
    Mistake("leading axes only", "summed over the added leading axes only: the axes where the "
            "operand has size 1 were stretched too; sum those as well, with keepdims=True",
            _leading_only),
    Mistake("no keepdims", "the stretched axes summed away: sum them with keepdims=True, so "
            "that the operand's axes of size 1 stay", _no_keepdims),
    Mistake("axis 0 only", "summed over axis 0 alone, the rule of a bias (M,) added to (N, M): "
            "sum exactly the axes broadcasting added or stretched for this shape", _axis0),
    Mistake("everything", "every entry summed into one number: sum only the broadcast axes, "
            "the operand keeps its shape", _everything),
]

ADD_GRAD = [
    Mistake("upstream ignored", "the gradient of an all-ones upstream: each operand of a sum "
            "receives out.grad itself (summed over the broadcast axes), not 1", _without_upstream),
    *UNBROADCAST,
]


# ----------------------------------------------------------------------------- mul
def _mul_product(g: Any, factor: Any) -> np.ndarray:
    return np.asarray(g, dtype=np.float64) * np.asarray(factor, dtype=np.float64)


MUL_GRAD = [
    Mistake("own operand", "out.grad times the operand's OWN value: the local derivative of "
            "a·b with respect to a is b, the OTHER operand",
            lambda g, own, other: _unbroadcast(_mul_product(g, own), np.shape(own))),
    Mistake("upstream ignored", "the other operand alone: multiply it by the upstream gradient "
            "out.grad", lambda g, own, other: None if np.allclose(g, 1.0) else _unbroadcast(
                np.broadcast_to(np.asarray(other, dtype=np.float64), np.shape(g)), np.shape(own))),
    Mistake("not reduced", "out.grad times the other operand at the broadcast shape: sum it "
            "over the broadcast axes so that it gets the operand's shape (unbroadcast)",
            lambda g, own, other: _not_reduced(_mul_product(g, other), np.shape(own))),
]


# ----------------------------------------------------------------------------- matmul
def _if_shape(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    return value if value.shape == shape else None


def _square_product(x: Any, y: Any) -> np.ndarray | None:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return x @ y if x.ndim == 2 and y.ndim == 2 and x.shape[1] == y.shape[0] else None


MATMUL_FORWARD = [
    Mistake("elementwise", "the elementwise product a * b: a matrix product sums over the inner "
            "axis, a @ b", lambda a, b: np.asarray(a) * np.asarray(b)
            if np.shape(a) == np.shape(b) else None),
    Mistake("swapped", "b @ a: the operands' order matters in a matrix product, out = a @ b",
            lambda a, b: _square_product(b, a)),
]

MATMUL_GRAD_A = [
    Mistake("b not transposed", "out.grad @ b: transpose b, so that the shapes chain, "
            "(N, M) @ (M, K) = (N, K): out.grad @ b.T",
            lambda a, b, g: _if_shape(_square_product(g, b), np.shape(a))
            if _square_product(g, b) is not None else None),
    Mistake("transposed", "the transpose of the gradient of a: a.grad has a's shape (N, K), "
            "out.grad @ b.T, not (out.grad @ b.T).T",
            lambda a, b, g: _if_shape(np.asarray(b, dtype=np.float64) @ np.asarray(g).T,
                                      np.shape(a))),
    Mistake("b's formula", "a.T @ out.grad, the gradient of b: the gradient of a is "
            "out.grad @ b.T", lambda a, b, g: _if_shape(np.asarray(a, dtype=np.float64).T
                                                        @ np.asarray(g), np.shape(a))
            if np.shape(a)[0] == np.shape(g)[0] else None),
    Mistake("upstream ignored", "the gradient of an all-ones upstream: use out.grad, "
            "out.grad @ b.T", lambda a, b, g: np.ones(np.shape(g)) @ np.asarray(b).T),
]

MATMUL_GRAD_B = [
    Mistake("a not transposed", "a @ out.grad: transpose a, so that the shapes chain, "
            "(K, N) @ (N, M) = (K, M): a.T @ out.grad",
            lambda a, b, g: _if_shape(_square_product(a, g), np.shape(b))
            if _square_product(a, g) is not None else None),
    Mistake("transposed", "the transpose of the gradient of b: b.grad has b's shape (K, M), "
            "a.T @ out.grad, not (a.T @ out.grad).T",
            lambda a, b, g: _if_shape(np.asarray(g, dtype=np.float64).T @ np.asarray(a),
                                      np.shape(b))),
    Mistake("a's formula", "out.grad @ b.T, the gradient of a: the gradient of b is "
            "a.T @ out.grad", lambda a, b, g: _if_shape(np.asarray(g, dtype=np.float64)
                                                        @ np.asarray(b).T, np.shape(b))
            if np.shape(g)[1] == np.shape(b)[1] else None),
    Mistake("upstream ignored", "the gradient of an all-ones upstream: use out.grad, "
            "a.T @ out.grad", lambda a, b, g: np.asarray(a, dtype=np.float64).T @ np.ones(np.shape(g))),
]


# ----------------------------------------------------------------------------- reductions
def _rows_differ(x: Any) -> bool:
    return np.ndim(x) > 1 and np.size(x) != np.shape(x)[0]


REDUCE_SUM_FORWARD = [
    Mistake("axis 0 only", "the sums over axis 0 only: reduce_sum adds ALL entries into one "
            "number of shape ()", lambda x: np.sum(x, axis=0) if np.ndim(x) > 1 else None),
    Mistake("mean", "the mean: reduce_sum adds the entries, it does not divide by their number",
            lambda x: np.mean(x) if np.size(x) > 1 else None),
]

REDUCE_SUM_GRAD = [
    Mistake("upstream ignored", "ones: every entry receives the upstream gradient out.grad "
            "(times the local derivative 1)", lambda x, g: np.ones(np.shape(x))
            if not np.allclose(g, 1.0) else None),
    Mistake("divided by the size", "out.grad / x.size in every entry: that is the mean's rule; "
            "a sum passes out.grad on to every entry unchanged",
            lambda x, g: np.full(np.shape(x), float(g) / np.size(x)) if np.size(x) > 1 else None),
    Mistake("times the input", "out.grad times x: the local derivative of a sum with respect to "
            "each of its entries is 1, whatever the entry", lambda x, g: float(g) * np.asarray(x)),
]

REDUCE_MEAN_FORWARD = [
    Mistake("sum", "the sum of the entries: divide it by their number, x.size",
            lambda x: np.sum(x) if np.size(x) > 1 else None),
    Mistake("axis 0 only", "the means over axis 0 only: reduce_mean averages ALL entries into "
            "one number of shape ()", lambda x: np.mean(x, axis=0) if np.ndim(x) > 1 else None),
    Mistake("divided by the rows", "the sum divided by the number of rows: the mean is over all "
            "x.size entries", lambda x: np.sum(x) / np.shape(x)[0] if _rows_differ(x) else None),
]

REDUCE_MEAN_GRAD = [
    Mistake("no 1/size", "out.grad in every entry, without the 1/size: the mean divides by the "
            "number of entries, and so does its gradient",
            lambda x, g: np.full(np.shape(x), float(g)) if np.size(x) > 1 else None),
    Mistake("divided by the rows", "out.grad / N, N the number of rows: the mean is over all "
            "x.size entries, so each receives out.grad / x.size",
            lambda x, g: np.full(np.shape(x), float(g) / np.shape(x)[0]) if _rows_differ(x) else None),
    Mistake("upstream ignored", "1 / x.size in every entry: multiply by the upstream gradient "
            "out.grad", lambda x, g: np.full(np.shape(x), 1.0 / np.size(x))
            if not np.allclose(g, 1.0) else None),
]


# ----------------------------------------------------------------------------- log-softmax
def _softmax(x: Any, axis: int = 1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: Any, axis: int | None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    top = x.max(axis=axis, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=axis, keepdims=True))


LOG_SOFTMAX_FORWARD = [
    Mistake("softmax", "the softmax probabilities: log_softmax is their log, computed as "
            "x − max − log Σ exp(x − max) for each row", lambda x: _softmax(x)),
    Mistake("no log-sum-exp", "x minus each row's maximum only: subtract the log of the row's "
            "sum of exponentials too", lambda x: np.asarray(x) - np.max(x, axis=1, keepdims=True)),
    Mistake("columns", "normalized down each column (axis 0): each ROW holds one example's C "
            "scores, so take max and sum along axis 1",
            lambda x: _log_softmax(x, 0) if np.shape(x)[0] > 1 else None),
    Mistake("whole array", "normalized over the whole array: each row is normalized on its own "
            "(axis 1, keepdims=True)", lambda x: _log_softmax(x, None) if np.shape(x)[0] > 1 else None),
]

LOG_SOFTMAX_GRAD = [
    Mistake("cross-entropy shortcut", "out.grad − softmax: that is the gradient only when each "
            "row of out.grad sums to 1 (as in the cross-entropy); subtract softmax times each "
            "row's SUM of out.grad", lambda x, g: np.asarray(g) - _softmax(x)),
    Mistake("diagonal only", "out.grad · (1 − softmax), the Jacobian's diagonal only: every "
            "output of a row depends on every input of the row, dx = out.grad − softmax · (the "
            "row sums of out.grad)", lambda x, g: np.asarray(g) * (1 - _softmax(x))),
    Mistake("softmax's gradient", "the gradient of the softmax itself, softmax · (out.grad − "
            "Σ softmax·out.grad); the log-softmax's is out.grad − softmax · (the row sums of "
            "out.grad)", lambda x, g: _softmax(x) * (np.asarray(g) - np.sum(
                _softmax(x) * np.asarray(g), axis=1, keepdims=True))),
    Mistake("column sums", "softmax times the sums of out.grad down each column (axis 0): sum "
            "each ROW, out.grad.sum(axis=1, keepdims=True)",
            lambda x, g: np.asarray(g) - _softmax(x) * np.sum(g, axis=0, keepdims=True)
            if np.shape(x)[0] > 1 else None),
    Mistake("no keepdims", "the row sums without keepdims: an (N,) array lines up with the "
            "COLUMNS when it broadcasts; keep the axis, out.grad.sum(axis=1, keepdims=True)",
            lambda x, g: np.asarray(g) - _softmax(x) * np.sum(g, axis=1)
            if np.shape(x)[0] == np.shape(x)[1] > 1 else None),
    Mistake("upstream ignored", "the gradient of an all-ones upstream: use out.grad",
            lambda x, g: 1.0 - _softmax(x) * np.shape(x)[1] if not np.allclose(g, 1.0) else None),
]


# ----------------------------------------------------------------------------- accumulation
ACCUMULATE = [
    Mistake("overwritten", "this closure's contribution alone: the gradient the operand already "
            "held (from its other uses) was overwritten. A node used several times collects one "
            "contribution per use, so a closure must ADD: `a.grad += ...`, not `a.grad = ...`",
            lambda before, contribution: np.asarray(contribution, dtype=np.float64)
            if np.any(before) else None),
]

SAME_NODE = [
    Mistake("one contribution", "only one of the two contributions: a node in both operand slots "
            "(x + x, x * x, x @ x) receives one per slot, and the second `=` overwrote the first. "
            "A closure must ADD: `a.grad += ...`, not `a.grad = ...`",
            relation=lambda got, want, first, second: not close(first, want, MATCH) and (
                close(got, first, MATCH) or close(got, second, MATCH))),
]
