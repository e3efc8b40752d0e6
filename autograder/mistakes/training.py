"""Known mistakes of the training loop and of input standardization (notebook 9).

Inputs, as the graded functions get them: ``(X, y, batch_size)`` for ``iterate_minibatches``
(its rng left out: no mistake here depends on it), ``(params, loss_and_grads, X, y,
learning_rate, epochs, batch_size, seed)`` for ``train``, ``(X_train, X_test)`` for
``standardize``.

* :data:`MINIBATCH_SIZES`, :data:`MINIBATCH_ORDER`, :data:`MINIBATCH_TARGETS`: of one call's
  batches, the mistaken list of their sizes, order of the examples (the row indices, batch after
  batch) and targets (the y_batch arrays one after another);
* :data:`TRAIN`: the step losses (``history["loss"]``) a mistaken loop records: the losses
  show every step the loop took, in order, so a loop is recognised by them alone;
* :data:`EPOCH_LOSS`: a mistaken ``history["epoch_loss"]``, computed from the inputs
  ``(step_losses, batch_sizes)``: the losses the learner's loop recorded (its
  ``history["loss"]``) and the sizes of one epoch's batches ``[B, ..., B, N % B]``;
* :data:`STANDARDIZE_TRAIN`, :data:`STANDARDIZE_TEST`: a mistaken ``X_train_std`` or
  ``X_test_std`` (one list of mistakes, each with its effect on both parts).

A mistake that would coincide with the right answer for some inputs (dropping the last batch
when B divides N, reshuffling when there is one batch) gives ``None`` there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from autograder.numeric import MATCH, close

from . import Mistake

__all__ = [
    "EPOCH_LOSS",
    "MINIBATCH_ORDER",
    "MINIBATCH_SIZES",
    "MINIBATCH_TARGETS",
    "STANDARDIZE_TEST",
    "STANDARDIZE_TRAIN",
    "TRAIN",
]


# ----------------------------------------------------------------------------- iterate_minibatches
def _split_sizes(X: Any, y: Any, batch_size: int) -> list[int] | None:
    """The sizes of ceil(N / B) pieces as np.array_split cuts them, where they are not B, ..., B
    and the remainder N % B."""
    n = np.shape(X)[0]
    if n % batch_size == 0 or batch_size > n:
        return None
    sizes = [len(piece) for piece in np.array_split(np.arange(n), -(-n // batch_size))]
    return None if sizes[:-1] == [batch_size] * (len(sizes) - 1) else sizes


MINIBATCH_SIZES = [
    Mistake("drop last", "the batches without the last, partial one of N % B examples (with "
            "B > N: no batch at all): step through range(0, N, B) and keep the shorter final "
            "slice, so every example is used in every epoch",
            lambda X, y, batch_size: [batch_size] * (np.shape(X)[0] // batch_size)
            if np.shape(X)[0] % batch_size else None),
    Mistake("array_split", "batches of nearly equal sizes, as np.array_split cuts them: every "
            "batch but the last holds exactly B examples (B = batch_size), and the last one "
            "what is left", _split_sizes),
]


def _other_permutation(got: Any, want: Any, X: Any, *_: Any) -> bool:
    """A relation: ``got`` is a permutation of the N examples, another than ``want``."""
    got = np.asarray(got)
    n = np.shape(X)[0]
    return got.shape == (n,) and np.array_equal(np.sort(got), np.arange(n)) and \
        not np.array_equal(got, want)


MINIBATCH_ORDER = [
    Mistake("original order", "the batches in the data's original order 0, 1, 2, …: shuffle by "
            "drawing order = rng.permutation(N) and slicing it",
            lambda X, y, batch_size: np.arange(np.shape(X)[0])),
    Mistake("another permutation", "a random permutation, but not the one rng.permutation(N) "
            "draws from the rng argument: use that rng (not np.random or a new default_rng), "
            "call rng.permutation(N) exactly once per call, and draw nothing else from it",
            relation=_other_permutation),
]

MINIBATCH_TARGETS = [
    Mistake("y not shuffled", "the targets in y's original order while the rows of X are "
            "shuffled: you shuffled X but not y. Index X and y with the SAME indices, X[idx] and "
            "y[idx], so that every target stays with its example",
            lambda X, y, batch_size: np.asarray(y, dtype=np.float64)),
]


# ----------------------------------------------------------------------------- train
_LOOP_MISTAKES = ("uphill", "reseeded", "no shuffle", "drop last", "whole data")


def _run(mistake: str, params: Mapping[str, Any], loss_and_grads: Callable[..., Any], X: Any,
         y: Any, learning_rate: float, epochs: int, batch_size: int, seed: int) -> list[float]:
    """The step losses of a mini-batch SGD loop with one of :data:`_LOOP_MISTAKES`."""
    if mistake not in _LOOP_MISTAKES:
        raise ValueError(f"not a known mistake: {mistake!r}")
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    for _ in range(int(epochs)):
        if mistake == "reseeded":
            rng = np.random.default_rng(seed)
        order = np.arange(n) if mistake == "no shuffle" else rng.permutation(n)
        stop = n - n % batch_size if mistake == "drop last" else n
        for start in range(0, stop, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = (loss_and_grads(params, X, y) if mistake == "whole data"
                           else loss_and_grads(params, X[idx], y[idx]))
            losses.append(float(loss))
            step = -1.0 if mistake == "uphill" else 1.0
            params = {k: params[k] - step * learning_rate * np.asarray(grads[k], dtype=np.float64)
                      for k in params}
    return losses


def _steps(mistake: str) -> Callable[..., list[float] | None]:
    def result(params: Any, loss_and_grads: Any, X: Any, y: Any, learning_rate: float,
               epochs: int, batch_size: int, seed: int = 0) -> list[float] | None:
        n = np.shape(X)[0]
        one_batch = batch_size >= n  # then the order of the examples does not matter
        if (mistake == "reseeded" and (epochs < 2 or one_batch)
                or mistake in ("no shuffle", "whole data") and one_batch
                or mistake == "drop last" and (n % batch_size == 0 or batch_size > n)):
            return None
        return _run(mistake, params, loss_and_grads, X, y, learning_rate, epochs, batch_size,
                    seed)

    return result


TRAIN = [
    Mistake("uphill", "a step uphill, params + learning_rate * grads: step against the "
            "gradient, params[name] - learning_rate * grads[name]", _steps("uphill")),
    Mistake("reseeded", "the first epoch's order again in every epoch: make "
            "rng = np.random.default_rng(seed) ONCE, before the epoch loop, and draw a new "
            "rng.permutation(N) from it each epoch", _steps("reseeded")),
    Mistake("no shuffle", "the examples in their original order: draw order = rng.permutation(N) "
            "each epoch and cut the batches from it", _steps("no shuffle")),
    Mistake("drop last", "the loop without the last, partial batch of each epoch: step through "
            "range(0, N, batch_size) and keep the shorter final slice", _steps("drop last")),
    Mistake("whole data", "every step taken with the gradient of the WHOLE data set; pass only "
            "the batch, loss_and_grads(params, X[idx], y[idx])", _steps("whole data")),
]


# ----------------------------------------------------------------------------- epoch loss
def _per_epoch(step_losses: Any, batch_sizes: Any) -> tuple[np.ndarray, np.ndarray]:
    """(losses as epochs x steps, sizes); a ValueError if the steps do not fill whole epochs."""
    sizes = np.asarray(batch_sizes, dtype=np.float64)
    return np.asarray(step_losses, dtype=np.float64).reshape(-1, sizes.size), sizes


EPOCH_LOSS = [
    Mistake("plain mean", "the plain mean of the step losses; weight each batch's loss by its "
            "size: (1/N) Σ_k B_k · loss_k, so the short last batch counts less",
            lambda losses, sizes: (lambda per, b: per.mean(axis=1) if np.ptp(b) else None)(
                *_per_epoch(losses, sizes))),
    Mistake("never reset", "a running total that is never reset: start each epoch's sum at 0",
            lambda losses, sizes: (lambda per, b: np.cumsum(per @ b) / b.sum()
                                   if len(per) > 1 else None)(*_per_epoch(losses, sizes))),
    Mistake("not weighted", "the sum of the step losses divided by N: multiply each loss by its "
            "batch size first (each is a mean over B_k examples)",
            lambda losses, sizes: (lambda per, b: per.sum(axis=1) / b.sum()
                                   if np.any(b != 1) else None)(*_per_epoch(losses, sizes))),
    Mistake("last step", "the last step's loss only: average over all the epoch's steps, "
            "weighted by batch size",
            lambda losses, sizes: (lambda per, b: per[:, -1] if b.size > 1 else None)(
                *_per_epoch(losses, sizes))),
]


# ----------------------------------------------------------------------------- standardize
def _guard(sigma: np.ndarray) -> np.ndarray:
    return np.where(sigma == 0, 1.0, sigma)


def _parts(fn: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]], part: int
           ) -> Callable[..., Any]:
    """The ``part`` (0: X_train_std, 1: X_test_std) of a mistaken pair ``fn(X_train, X_test)``."""

    def result(X_train: Any, X_test: Any) -> Any:
        pair = fn(np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64))
        return pair[part]

    return result


def _both(scale: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., tuple]:
    """The same mistaken scaling ``scale(X, X_train)`` applied to both sets."""
    return lambda tr, te: (scale(tr, tr), scale(te, tr))


def _test_only(scale: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., tuple]:
    """A mistake in how X_test is scaled (``scale(X_test, X_train)``); X_train_std is right."""
    return lambda tr, te: (None, scale(te, tr))


def _unguarded(got: Any, want: Any, X_train: Any, X_test: Any) -> bool:
    """A relation: nan or inf in exactly the constant features, every other column right."""
    constant = np.asarray(X_train, dtype=np.float64).std(axis=0) == 0
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.any(constant) or got.shape != want.shape or got.ndim != 2:
        return False
    bad = ~np.isfinite(got)
    return bool(np.all(bad[:, constant]) and not np.any(bad[:, ~constant])
                and close(got[:, ~constant], want[:, ~constant], MATCH))


_STANDARDIZE = [  # (name, message, (X_train, X_test) -> mistaken (X_train_std, X_test_std))
    ("whole array", "statistics of the whole array: compute one mean and one std per FEATURE, "
     "X_train.mean(axis=0) and X_train.std(axis=0)",
     _both(lambda X, tr: (X - tr.mean()) / tr.std())),
    ("per example", "statistics per example (axis=1): features are columns, so use axis=0",
     lambda tr, te: tuple((X - X.mean(axis=1, keepdims=True)) / _guard(X.std(axis=1, keepdims=True))
                          for X in (tr, te))),
    ("own statistics", "standardized with the test set's OWN statistics. Use the training mean "
     "and std for both: the test set must go through the same function the model was trained "
     "on (and one example alone has no std)",
     _test_only(lambda te, tr: (te - te.mean(axis=0)) / _guard(te.std(axis=0)))),
    ("together", "statistics of training and test data together: compute mu and sigma from "
     "X_train only",
     lambda tr, te: (lambda both: tuple((X - both.mean(axis=0)) / _guard(both.std(axis=0))
                                        for X in (tr, te)))(np.concatenate([tr, te]))),
    ("ddof", "the sample std (ddof=1): use the population std, X_train.std(axis=0)",
     _both(lambda X, tr: (X - tr.mean(axis=0)) / _guard(tr.std(axis=0, ddof=1)))),
    ("only centred", "only centred: divide by the standard deviation too",
     _both(lambda X, tr: X - tr.mean(axis=0))),
    ("variance", "divided by the variance: divide by the standard deviation, its square root",
     _both(lambda X, tr: (X - tr.mean(axis=0)) / _guard(tr.std(axis=0)) ** 2)),
    ("not centred", "scaled but not centred: subtract the mean first",
     _both(lambda X, tr: X / _guard(tr.std(axis=0)))),
    ("test unchanged", "X_test unchanged: apply the training mu and sigma to X_test too",
     _test_only(lambda te, tr: te)),
    ("test mean", "centred with the test set's mean but scaled by the training std: use the "
     "training mean too",
     _test_only(lambda te, tr: (te - te.mean(axis=0)) / _guard(tr.std(axis=0)))),
    ("test std", "centred with the training mean but scaled by the test set's std: use the "
     "training std too",
     _test_only(lambda te, tr: (te - tr.mean(axis=0)) / _guard(te.std(axis=0)))),
]

_UNGUARDED = Mistake(
    "no zero-std guard", "nan or inf in the features whose std is 0 (constant on the training "
    "set): (x - mu) / 0 is 0/0. Replace a zero std by 1 (sigma = np.where(sigma == 0, 1.0, "
    "sigma)), which maps such a feature to x - mu", relation=_unguarded)

STANDARDIZE_TRAIN = [_UNGUARDED] + [Mistake(name, message, _parts(fn, 0))
                                    for name, message, fn in _STANDARDIZE]
STANDARDIZE_TEST = [_UNGUARDED] + [Mistake(name, message, _parts(fn, 1))
                                   for name, message, fn in _STANDARDIZE]
