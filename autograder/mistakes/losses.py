"""Known mistakes of the losses (notebook 7; softmax cross-entropy again in the capstone).

Inputs, as the graded functions get them: ``(pred, target)`` for the MSE, ``(logits, y)`` for
binary cross-entropy from logits (``y`` of the logits' shape) and softmax cross-entropy (``y``
the N integer labels), ``(pred, target, weights)`` for the weighted MSE. The ``*_VALUE`` tables
compute a mistaken loss (one number), the ``*_GRAD`` tables a mistaken gradient with respect to
the first input. Every loss is a mean (``size`` below is the number of terms it averages: all
entries for the element-wise losses, the N rows for softmax cross-entropy). A flipped sign is a
``relation``, so no table computes a right answer turned around. The ``*_LARGE_LOGITS`` tables
hold the mistakes that show only on huge logits (a loss that is finite there but wrong); a loss
that overflows to inf or nan is no particular mistake, and the checks say so in their own words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import Mistake, negated

__all__ = [
    "BCE_GRAD",
    "BCE_LARGE_LOGITS",
    "BCE_VALUE",
    "MSE_GRAD",
    "MSE_VALUE",
    "SOFTMAX_CE_GRAD",
    "SOFTMAX_CE_LARGE_LOGITS",
    "SOFTMAX_CE_VALUE",
    "WEIGHTED_MSE_GRAD",
    "WEIGHTED_MSE_VALUE",
]


def _rows_differ(x: np.ndarray) -> bool:
    """Whether dividing by the N rows differs from dividing by all entries."""
    return np.ndim(x) > 1 and np.size(x) != np.shape(x)[0]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _bce_terms(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _ce_parts(z: np.ndarray, y: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """(N, log-softmax, per-example losses, one-hot labels); finite for any finite logits."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y)
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return n, logp, -logp[np.arange(n), y], np.eye(z.shape[1])[y]


def _weights(p: np.ndarray, w: Any) -> np.ndarray:
    return np.broadcast_to(w, np.shape(p))


# Probabilities clipped to [eps, 1 - eps] cap each term's loss at -log(eps); the eps people pick
# lie between 1e-30 and 1e-4 (1e-7, 1e-12, machine epsilon, ...).
_CAPS = (-np.log(1e-4), -np.log(1e-30))


def _capped(terms: Callable[[Any, Any], np.ndarray]) -> Callable[..., bool]:
    """A relation: the answer is the mean of the loss terms ``terms(*inputs)``, each capped at one
    value -log(eps) of :data:`_CAPS` that caps at least one of them (clipped probabilities)."""

    def relation(got: Any, want: Any, *inputs: Any) -> bool:
        got = float(np.asarray(got, dtype=np.float64).reshape(()))
        if not (np.isfinite(got) and got < float(want)):
            return False
        losses = np.sort(np.ravel(terms(*inputs)))
        n = losses.size
        below = np.concatenate([[0.0], np.cumsum(losses)])  # below[j]: the sum of the j smallest
        for capped in range(1, n + 1):  # the `capped` largest terms are capped at `cap`
            cap = (n * got - below[n - capped]) / capped
            lowest = losses[n - capped - 1] if capped < n else -np.inf
            if lowest <= cap <= losses[n - capped] and _CAPS[0] <= cap <= _CAPS[1]:
                return True
        return False

    return relation


MSE_VALUE = [
    Mistake("mean over rows", "the sum over each row's entries divided by N, the number of rows: "
            "the mean is over all pred.size entries (N·D), not over the N rows",
            lambda p, t: ((p - t) ** 2).sum() / np.shape(p)[0] if _rows_differ(p) else None),
    Mistake("half", "half the mean: this course's MSE has no factor 1/2, loss = "
            "mean((pred - target)²)", lambda p, t: 0.5 * ((p - t) ** 2).mean()),
    Mistake("sum", "the SUM of the squared errors; the loss is their mean over all pred.size "
            "entries", lambda p, t: ((p - t) ** 2).sum()),
    Mistake("rmse", "the square root of the mean (an RMSE); the loss is the mean itself",
            lambda p, t: np.sqrt(((p - t) ** 2).mean())),
    Mistake("mae", "the mean absolute error; square the errors", lambda p, t: np.abs(p - t).mean()),
]

MSE_GRAD = [
    Mistake("divided by rows", "2·(pred - target) / N with N the number of rows: divide by all "
            "entries (pred.size), the count the mean is over",
            lambda p, t: 2 * (p - t) / np.shape(p)[0] if _rows_differ(p) else None),
    Mistake("no 2", "(pred - target) / size, missing the factor 2 from d(e²)/de = 2e",
            lambda p, t: (p - t) / np.size(p)),
    Mistake("no 1/size", "2·(pred - target), missing the 1/size of the mean",
            lambda p, t: 2 * (p - t)),
    Mistake("sign", "2·(target - pred) / size: the sign is flipped", relation=negated),
    Mistake("half", "(pred - target) / size / 2: a factor 1/2 crept in; the gradient is "
            "2·(pred - target) / size", lambda p, t: 0.5 * (p - t) / np.size(p)),
]

BCE_VALUE = [
    Mistake("mean over rows", "the sum divided by N, the number of rows; the mean is over all "
            "elements", lambda z, y: _bce_terms(z, y).sum() / np.shape(z)[0]
            if _rows_differ(z) else None),
    Mistake("sum", "the SUM over the elements; the loss is their mean",
            lambda z, y: _bce_terms(z, y).sum()),
    Mistake("negative", "minus the right loss: cross-entropy is -(y·log s + (1 - y)·log(1 - s)), "
            "which is >= 0", relation=negated),
    Mistake("no log term", "missing the term log(1 + exp(-|z|)): the per-element loss is "
            "max(z, 0) - z·y + log(1 + exp(-|z|))",
            lambda z, y: (np.maximum(z, 0) - z * y).mean()),
]

BCE_GRAD = [
    Mistake("divided by rows", "(σ(z) - y) / N with N the number of rows: divide by all elements",
            lambda z, y: (_sigmoid(z) - y) / np.shape(z)[0] if _rows_differ(z) else None),
    Mistake("no 1/size", "σ(z) - y without the 1/size of the mean", lambda z, y: _sigmoid(z) - y),
    Mistake("sign", "(y - σ(z)) / size: the sign is flipped; dL/dz = (σ(z) - y) / size",
            relation=negated),
    Mistake("wrt probability", "(σ(z) - y) / (σ(z)(1 - σ(z))) / size, the gradient with respect "
            "to the PROBABILITY s = σ(z); the loss takes logits, so multiply by ds/dz = s(1 - s): "
            "dL/dz = (s - y) / size",
            lambda z, y: (lambda s: (s - y) / (s * (1 - s)) / np.size(z))(_sigmoid(z))),
    Mistake("logit for probability", "(z - y) / size: the logit was used where its probability "
            "σ(z) belongs", lambda z, y: (z - y) / np.size(z)),
]

SOFTMAX_CE_VALUE = [
    Mistake("sum", "the SUM over the N examples; the loss is their mean",
            lambda z, y: _ce_parts(z, y)[2].sum()),
    Mistake("negative", "minus the right loss: cross-entropy is -log p[y], which is >= 0",
            relation=negated),
    Mistake("every entry", "the mean over all N·C entries of -log p; only each row's correct "
            "class counts", lambda z, y: -_ce_parts(z, y)[1].mean()),
    Mistake("batch axis", "a softmax over the batch axis; normalise each ROW (axis=1) over its C "
            "classes", lambda z, y: -np.log(_softmax(np.asarray(z, dtype=np.float64), axis=0)[
                np.arange(np.shape(z)[0]), y]).mean() if np.shape(z)[0] > 1 else None),
    Mistake("batch axis, one row", "0, what a softmax over the batch axis gives for one row "
            "(every entry becomes 1); normalise each ROW (axis=1) over its C classes",
            lambda z, y: 0.0 if np.shape(z)[0] == 1 else None),
]

SOFTMAX_CE_GRAD = [
    Mistake("no 1/N", "softmax - onehot without the 1/N: the loss is a mean over the N rows, so "
            "every gradient entry carries 1/N",
            lambda z, y: (lambda n, logp, per, onehot: np.exp(logp) - onehot if n > 1 else None)(
                *_ce_parts(z, y))),  # with one row there is no 1/N to miss
    Mistake("sign", "(onehot - softmax) / N: the sign is flipped; dL/dz = (softmax - onehot) / N",
            relation=negated),
    Mistake("wrt probabilities", "-onehot / (p·N), the gradient with respect to the "
            "PROBABILITIES; the loss takes logits, and chaining through the softmax gives dL/dz = "
            "(p - onehot) / N",
            lambda z, y: (lambda n, logp, per, onehot: np.where(
                onehot == 1, -1.0 / (np.exp(logp) * n), 0.0))(*_ce_parts(z, y))),
    Mistake("no -1", "softmax / N: the -1 at each row's correct class is missing",
            lambda z, y: (lambda n, logp, per, onehot: np.exp(logp) / n)(*_ce_parts(z, y))),
    Mistake("batch axis", "a softmax over the batch axis; normalise each ROW (axis=1)",
            lambda z, y: (lambda n, logp, per, onehot: (
                _softmax(np.asarray(z, dtype=np.float64), axis=0) - onehot) / n)(
                *_ce_parts(z, y)) if np.shape(z)[0] > 1 else None),
    Mistake("batch axis, one row", "1 - onehot, what a softmax over the batch axis gives for one "
            "row (every probability becomes 1); normalise each ROW (axis=1) over its C classes",
            lambda z, y: 1.0 - _ce_parts(z, y)[3] if np.shape(z)[0] == 1 else None),
]

WEIGHTED_MSE_VALUE = [
    Mistake("weights ignored", "the plain MSE: the weights are ignored; multiply each squared "
            "error by its weight", lambda p, t, w: ((p - t) ** 2).mean()),
    Mistake("divided by weights", "divided by the sum of the weights; this loss divides by "
            "pred.size (weights are not renormalised)",
            lambda p, t, w: (_weights(p, w) * (p - t) ** 2).sum() / _weights(p, w).sum()),
    Mistake("weight squared", "(w·(pred - target))², the weight squared; weight the SQUARED "
            "error: w·(pred - target)²", lambda p, t, w: ((_weights(p, w) * (p - t)) ** 2).mean()),
    Mistake("sum", "the SUM of the weighted squared errors; the loss is their mean",
            lambda p, t, w: (_weights(p, w) * (p - t) ** 2).sum()),
    Mistake("half", "half the mean: no factor 1/2 here, loss = mean(w·(pred - target)²)",
            lambda p, t, w: 0.5 * (_weights(p, w) * (p - t) ** 2).mean()),
]

WEIGHTED_MSE_GRAD = [
    Mistake("weights ignored", "2·(pred - target) / size: the weights are missing from the "
            "gradient; every element's gradient is multiplied by its weight, "
            "2·w·(pred - target) / size", lambda p, t, w: 2 * (p - t) / np.size(p)),
    Mistake("no 2", "w·(pred - target) / size, missing the factor 2 from d(e²)/de = 2e",
            lambda p, t, w: _weights(p, w) * (p - t) / np.size(p)),
    Mistake("sign", "2·w·(target - pred) / size: the sign is flipped", relation=negated),
    Mistake("weight squared", "2·w²·(pred - target) / size: the weight appears once in the loss, "
            "so once in the gradient", lambda p, t, w: 2 * _weights(p, w) ** 2 * (p - t) / np.size(p)),
    Mistake("divided by weights", "2·w·(pred - target) / sum(w): divide by pred.size, as the loss "
            "does", lambda p, t, w: 2 * _weights(p, w) * (p - t) / _weights(p, w).sum()),
]

BCE_LARGE_LOGITS = [
    Mistake("clipped", "the loss of probabilities that were clipped (to [eps, 1 - eps]): clipping "
            "caps the loss of a confidently wrong logit at -log(eps). Compute each element as "
            "max(z, 0) - z·y + log(1 + exp(-|z|)), where exp never sees a positive argument",
            relation=_capped(_bce_terms)),
]

SOFTMAX_CE_LARGE_LOGITS = [
    Mistake("clipped", "the loss of probabilities that were clipped (to at least eps): clipping "
            "caps the loss of a confidently wrong row at -log(eps). Take log p[y] as "
            "(z[y] - max) - log(sum(exp(z - max))), the log-sum-exp, never the log of a "
            "probability", relation=_capped(lambda z, y: _ce_parts(z, y)[2])),
]
