"""Hidden checks of notebook 09 (training loop): iterate_minibatches, train, standardize.

Dimension legend: N examples, D features, B batch size, S = ceil(N / B) steps per epoch.

The loss functions handed to the learner's ``train`` are defined here from the sources below
(``learner.function``) and reach the learner's code as callbacks: they run in this process. The
reference loop runs the same functions, so a correct loop agrees with it to rounding. Only the
random generators (``learner.neutral("rng")``) are made in the learner's process, where its code
draws from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.framework import Learner, as_array, as_tuple, check, describe, helper
from autograder.mistakes import HINT, hint
from autograder.mistakes.training import (
    EPOCH_LOSS,
    MINIBATCH_ORDER,
    MINIBATCH_SIZES,
    MINIBATCH_TARGETS,
    STANDARDIZE_TEST,
    STANDARDIZE_TRAIN,
    TRAIN,
)
from autograder.numeric import EXACT, close, differing, fmt, quiet
from bplib.gradcheck import CheckError

__all__: list[str] = []

NB = "09-training-loop"

# Least squares on one output: loss 0.5 * mean(r**2) with r = X w + b - y; params w (D,), b (1,).
_LINREG = (
    "lambda params, X, y: (lambda r: (0.5 * float(np.mean(r ** 2)), "
    '{"w": X.T @ r / len(y), "b": np.array([np.mean(r)])}))'
    '(X @ params["w"] + params["b"][0] - y)'
)
# Softmax regression: params W (D, C), b (C,); y integer labels (N,).
_SOFTMAX = (
    "lambda params, X, y: (lambda p, n: (float(-np.mean(np.log(p[np.arange(n), y]))), "
    '{"W": X.T @ (p - np.eye(p.shape[1])[y]) / n, "b": np.sum(p - np.eye(p.shape[1])[y], axis=0) / n}))'
    "((lambda e: e / e.sum(axis=1, keepdims=True))"
    '(np.exp((lambda s: s - s.max(axis=1, keepdims=True))(X @ params["W"] + params["b"]))), len(y))'
)


def _id_data(n: int, y_kind: str = "1d") -> tuple[np.ndarray, np.ndarray]:
    """X (n, 3) whose row k starts with k (its id); y whose row k is recognisably y[k]."""
    ids = np.arange(n, dtype=np.float64)
    X = np.stack([ids, 0.5 * ids + 1.0, -ids], axis=1)
    if y_kind == "2d":
        return X, np.stack([1000.0 + ids, -ids], axis=1)
    if y_kind == "int":
        return X, np.arange(n, dtype=np.int64) + 500
    return X, 1000.0 + ids


def _batches(learner: Learner, X: np.ndarray, y: np.ndarray, B: int, rng: Any,
             where: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Call the learner's iterate_minibatches and return its batches as float arrays."""
    with quiet():
        out = learner.iterate_minibatches(X, y, B, rng)
        if out is None:
            raise CheckError(f"{where}: iterate_minibatches returned None: is a `return` missing?")
        if not isinstance(out, list | tuple):  # a generator: list it where it lives
            try:
                out = learner.neutral("pairs")(out)
            except CheckError:
                raise
            except Exception as exc:
                raise CheckError(
                    f"{where}: iterating over what iterate_minibatches returned raised "
                    f"{type(exc).__name__}: {exc}"
                ) from None
    batches = []
    for k, pair in enumerate(out):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise CheckError(
                f"{where}: item {k} of the result is not a pair (X_batch, y_batch); return a "
                "list of (X_batch, y_batch) tuples"
            )
        try:
            xb, yb = (np.asarray(v, dtype=np.float64) for v in pair)
        except (TypeError, ValueError):
            raise CheckError(f"{where}: batch {k} is not a pair of numeric arrays") from None
        if xb.ndim != X.ndim or xb.shape[1:] != X.shape[1:]:
            hint = ""
            if xb.ndim == X.ndim - 1:
                hint = ("\n  hint: a batch of one example must still be 2-D, (1, D): index with "
                        "an array or a slice, X[idx], not with a single integer")
            raise CheckError(
                f"{where}: X_batch {k} has shape {xb.shape}; batches of X {X.shape} must have "
                f"shape (B_k, {', '.join(map(str, X.shape[1:]))}){hint}"
            )
        if yb.shape[:1] != xb.shape[:1] or yb.shape[1:] != y.shape[1:]:
            raise CheckError(
                f"{where}: batch {k} has X_batch of shape {xb.shape} but y_batch of shape "
                f"{yb.shape}; y_batch must hold the same rows of y {y.shape}"
            )
        if len(xb) == 0:
            raise CheckError(
                f"{where}: batch {k} is empty; every batch holds at least one example\n  hint: "
                "the last batch is empty: stop when the slice start reaches N"
            )
        batches.append((xb, yb))
    return batches


def _expected_sizes(n: int, B: int) -> list[int]:
    return [B] * (n // B) + ([n % B] if n % B else [])


def _check_cover(learner: Learner, n: int, B: int, seed: int) -> None:
    X, y = _id_data(n)
    where = f"iterate_minibatches with N = {n}, batch_size = {B}"
    batches = _batches(learner, X, y, B, learner.neutral("rng")(seed), where)
    sizes = [len(xb) for xb, _ in batches]
    want = _expected_sizes(n, B)
    if sizes != want:
        raise CheckError(
            f"{where}: got {len(sizes)} batches of sizes {sizes[:12]}, expected "
            f"ceil(N / B) = {len(want)} batches of sizes {want[:12]}"
            + hint(sizes, MINIBATCH_SIZES, X, y, B)
        )
    ids = _order(batches)
    if not np.array_equal(np.sort(ids), np.arange(n)):
        repeated = int(len(ids) - len(np.unique(ids)))
        raise CheckError(
            f"{where}: the batches do not hold every example exactly once ({repeated} "
            "repeated, the same number missing)\n  hint: draw ONE permutation per call, "
            "order = rng.permutation(N), and cut it into consecutive slices; sampling with "
            "replacement or a new permutation per batch repeats some examples and skips others"
        )


@check(NB, "test_iterate_minibatches_cover")
def iterate_minibatches_cover(learner: Learner) -> None:
    for n, B, seed in ((10, 4, 0), (6, 3, 1), (23, 7, 2), (100, 32, 3), (9, 2, 4), (12, 11, 5)):
        _check_cover(learner, n, B, seed)


def _check_pairs(learner: Learner, n: int, B: int, seed: int, y_kind: str) -> None:
    X, y = _id_data(n, y_kind)
    X_before, y_before = X.copy(), y.copy()
    where = f"iterate_minibatches with N = {n}, batch_size = {B} and y of shape {y.shape}"
    batches = _batches(learner, X, y, B, learner.neutral("rng")(seed), where)
    if not (np.array_equal(X, X_before) and np.array_equal(y, y_before)):
        raise CheckError(
            f"{where}: the call changed the X or y it was given\n  hint: leave the caller's data "
            "alone: shuffle indices (order = rng.permutation(N)) and take X[idx], y[idx], which "
            "are new arrays; rng.shuffle(X) reorders the caller's array in place"
        )
    y_float = y_before.astype(np.float64)
    for k, (xb, yb) in enumerate(batches):
        ids = xb[:, 0].astype(np.int64)
        if ids.min() < 0 or ids.max() >= n:
            raise CheckError(f"{where}: X_batch {k} holds rows that are not rows of X")
        want = y_float[ids]
        if not np.array_equal(yb, want):
            i = int(np.flatnonzero(np.any((yb != want).reshape(len(yb), -1), axis=1))[0])
            targets = np.concatenate([yb for _, yb in batches])
            raise CheckError(
                f"{where}: in batch {k}, row {i} of X_batch is example {ids[i]}, but row {i} of "
                f"y_batch is not y[{ids[i]}]"
                + (hint(targets, MINIBATCH_TARGETS, X, y, B) or (
                    f"{HINT}index X and y with the SAME indices, X[idx] and y[idx], so that "
                    "every target stays with its example"))
            )


@check(NB, "test_iterate_minibatches_pairs")
def iterate_minibatches_pairs(learner: Learner) -> None:
    for n, B, seed, kind in ((7, 3, 0, "1d"), (12, 5, 8, "2d"), (20, 6, 9, "int"), (5, 1, 3, "1d")):
        _check_pairs(learner, n, B, seed, kind)


def _order(batches: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    if not batches:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([xb[:, 0] for xb, _ in batches]).astype(np.int64)


@check(NB, "test_iterate_minibatches_shuffle")
def iterate_minibatches_shuffle(learner: Learner) -> None:
    for n, B, seed in ((10, 3, 0), (13, 4, 1), (30, 8, 42)):
        X, y = _id_data(n)
        where = f"iterate_minibatches with N = {n}, batch_size = {B}, rng = default_rng({seed})"
        rng = learner.neutral("rng")(seed)
        reference = np.random.default_rng(seed)
        first = None
        for call in (1, 2):
            order = _order(_batches(learner, X, y, B, rng, where))
            want = reference.permutation(n)
            if np.array_equal(order, want[:len(order)]):  # all there? test_..._cover asks that
                first = order
                continue
            nth = "" if call == 1 else " on the second call with the same rng (the next epoch)"
            if call == 2 and np.array_equal(order, first):
                named = (f"{HINT}the first call's order again: draw a fresh permutation from the "
                         "rng you are given on every call (never re-seed inside)")
            else:
                named = hint(order, MINIBATCH_ORDER, X, y, B, want=want) or (
                    f"{HINT}the batches do not hold every example exactly once")
            raise CheckError(
                f"{where}{nth}: examples in order {fmt(order, 10)}, expected "
                f"rng.permutation(N) = {fmt(want, 10)}{named}"
            )


@check(NB, "test_iterate_minibatches_edge")
def iterate_minibatches_edge(learner: Learner) -> None:
    for n, B, name in ((6, 1, "online, batch_size = 1"), (8, 8, "full batch, batch_size = N"),
                       (5, 9, "batch_size larger than N"), (1, 1, "a single example"),
                       (4, 1, "online, batch_size = 1")):
        X, y = _id_data(n)
        where = f"iterate_minibatches with N = {n} ({name})"
        batches = _batches(learner, X, y, B, learner.neutral("rng")(n + B), where)
        sizes = [len(xb) for xb, _ in batches]
        want = _expected_sizes(n, min(B, n))
        if sizes != want:
            raise CheckError(f"{where}: got batch sizes {sizes[:10]}, expected {want[:10]}"
                             + hint(sizes, MINIBATCH_SIZES, X, y, B))
        if not np.array_equal(np.sort(_order(batches)), np.arange(n)):
            raise CheckError(f"{where}: the batches do not hold every example exactly once")


# ----------------------------------------------------------------------------- train
def _linreg_data(n: int, d: int, seed: int, noise: float = 0.0
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.uniform(-2, 2, size=d)
    y = X @ w_true + 0.7 + noise * rng.standard_normal(n)
    params = {"w": 0.1 * rng.standard_normal(d), "b": np.zeros(1)}
    return params, X, y, w_true


def _softmax_data(n: int, d: int, c: int, seed: int
                  ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, size=n).astype(np.int64)
    params = {"W": 0.1 * rng.standard_normal((d, c)), "b": np.zeros(c)}
    return params, X, y


def _reference(source: str, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
               lr: float, epochs: int, B: int, seed: int
               ) -> tuple[dict[str, np.ndarray], list[float]]:
    """The specified loop, run here: (params, step losses)."""
    f = helper(source)
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    with quiet():
        for _ in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, B):
                idx = order[start:start + B]
                loss, grads = f(params, X[idx], y[idx])
                losses.append(float(loss))
                params = {k: params[k] - lr * np.asarray(grads[k]) for k in params}
    return params, losses


def _loop_hint(source: str, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
               lr: float, epochs: int, B: int, seed: int, loss: np.ndarray) -> str:
    """The catalogue's line for a known loop mistake whose step losses are ``loss``, or ""."""
    with quiet():
        return hint(loss, TRAIN, params, helper(source), X, y, lr, epochs, B, seed)


def _call_train(learner: Learner, source: str, params: dict[str, np.ndarray], X: np.ndarray,
                y: np.ndarray, lr: float, epochs: int, B: int, seed: int, where: str
                ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Run the learner's train on copies; return (params, loss per step, loss per epoch)."""
    given = {k: v.copy() for k, v in params.items()}
    with quiet():
        out = learner.train(given, learner.function(source), X.copy(), y.copy(), lr, epochs, B,
                            seed)
    try:
        new, history = as_tuple(out, "train", ["params", "history"])
    except CheckError as exc:
        raise CheckError(f"{where}: {exc}") from None
    if not isinstance(new, dict) or set(new) != set(params):
        got = sorted(new) if isinstance(new, dict) else describe(new)
        raise CheckError(
            f"{where}: the params train returned should be a dict with the keys "
            f"{sorted(params)}, got {got}"
        )
    if not isinstance(history, dict) or not {"loss", "epoch_loss"} <= set(history):
        got = sorted(history) if isinstance(history, dict) else describe(history)
        raise CheckError(
            f"{where}: history must be a dict with the lists 'loss' and 'epoch_loss', got {got}"
        )
    result = {k: as_array(v, f"{where}: params['{k}']", shape=params[k].shape)
              for k, v in new.items()}
    loss = as_array(history["loss"], f"{where}: history['loss']").ravel()
    epoch_loss = as_array(history["epoch_loss"], f"{where}: history['epoch_loss']").ravel()
    return result, loss, epoch_loss


def _check_against_reference(learner: Learner, source: str, params: dict[str, np.ndarray],
                             X: np.ndarray, y: np.ndarray, lr: float, epochs: int, B: int,
                             seed: int) -> None:
    n = X.shape[0]
    where = (f"train with N = {n}, batch_size = {B}, epochs = {epochs}, learning_rate = {lr}, "
             f"seed = {seed}")
    got, loss, _ = _call_train(learner, source, params, X, y, lr, epochs, B, seed, where)
    want, want_loss = _reference(source, params, X, y, lr, epochs, B, seed)
    if close(loss, want_loss) and all(close(got[k], want[k]) for k in want):
        return
    named = _loop_hint(source, params, X, y, lr, epochs, B, seed, loss)
    if len(loss) != len(want_loss):
        detail = f"{len(loss)} steps recorded, expected epochs * ceil(N / B) = {len(want_loss)}"
        named = named or f"{HINT}history['loss'] holds one loss per step"
    elif not close(loss, want_loss):
        k = int(np.argmax(~np.isclose(loss, want_loss, rtol=EXACT.rtol, atol=EXACT.atol)))
        detail = f"step {k + 1}'s loss is {loss[k]:.10g}, expected {want_loss[k]:.10g}"
    else:
        name = next(k for k in want if not close(got[k], want[k]))
        detail = (f"after training params['{name}'] is {fmt(got[name], 4)}, expected "
                  f"{fmt(want[name], 4)}")
    raise CheckError(f"{where}: {detail}" + (named or (
        f"{HINT}each epoch: order = rng.permutation(N) (one rng made once from the seed), "
        "batches order[k*B:(k+1)*B], and for each batch record its loss, then "
        "params[name] - learning_rate * grads[name]")))


@check(NB, "test_train_matches_reference")
def train_matches_reference(learner: Learner) -> None:
    params, X, y, _ = _linreg_data(10, 3, seed=1, noise=0.3)
    _check_against_reference(learner, _LINREG, params, X, y, 0.05, 3, 3, seed=0)
    params, X, y = _softmax_data(12, 4, 3, seed=2)
    _check_against_reference(learner, _SOFTMAX, params, X, y, 0.3, 4, 5, seed=11)
    params, X, y, _ = _linreg_data(7, 2, seed=3, noise=0.5)
    _check_against_reference(learner, _LINREG, params, X, y, 0.1, 2, 2, seed=5)


@check(NB, "test_train_lowers_loss")
def train_lowers_loss(learner: Learner) -> None:
    for n, d, B, lr, epochs, seed in ((40, 3, 8, 0.1, 30, 3), (36, 2, 6, 0.05, 40, 8)):
        params, X, y, w_true = _linreg_data(n, d, seed=seed)
        before = {k: v.copy() for k, v in params.items()}
        given = {k: v.copy() for k, v in params.items()}
        where = (f"train on noise-free least squares (N = {n}, batch_size = {B}, "
                 f"learning_rate = {lr}, {epochs} epochs)")
        f = helper(_LINREG)
        with quiet():
            out = learner.train(given, learner.function(_LINREG), X.copy(), y.copy(), lr,
                                epochs, B, seed)
        if out is None:
            raise CheckError(f"{where}: train returned None: is a `return` missing?")
        if not isinstance(out, tuple | list) or len(out) != 2 or not isinstance(out[0], dict):
            raise CheckError(f"{where}: train must return the pair (params, history)")
        changed = [k for k in before if not np.array_equal(given[k], before[k])]
        if changed:
            raise CheckError(
                f"{where}: train changed the array params['{changed[0]}'] of the dict it was "
                "given\n  hint: leave the caller's parameters alone: work on copies, e.g. "
                "params = {name: value.copy() for name, value in params.items()}, or write "
                "params[name] = params[name] - learning_rate * grads[name] (a new array)"
            )
        new = out[0]
        if set(new) != set(params):
            raise CheckError(f"{where}: the params train returned should have the keys "
                             f"{sorted(params)}, got {sorted(new)}")
        new = {k: np.asarray(v, dtype=np.float64) for k, v in new.items()}
        with quiet():
            start, end = f(before, X, y)[0], f(new, X, y)[0]
        if not end < 1e-3 * start:
            if all(np.array_equal(new[k], before[k]) for k in before):
                hint = ("the parameters did not change: apply the update to every parameter "
                        "and return the updated dict")
            elif not np.isfinite(end) or end > start:
                hint = ("the loss went up: step against the gradient, "
                        "params[name] - learning_rate * grads[name]")
            else:
                hint = "each step should be params[name] - learning_rate * grads[name]"
            raise CheckError(
                f"{where}: the full-data loss went from {start:.6g} to {end:.6g}; expected it "
                f"to fall below {1e-3 * start:.3g} (the data fit a line exactly)\n  hint: {hint}"
            )
        if not np.allclose(new["w"], w_true, rtol=1e-2, atol=1e-2):
            raise CheckError(f"{where}: w ended at {fmt(new['w'])}, expected close to the "
                             f"true {fmt(w_true)}")


@check(NB, "test_train_batch_extremes")
def train_batch_extremes(learner: Learner) -> None:
    # Full batch: one exact gradient step per epoch, whatever the seed.
    params, X, y, _ = _linreg_data(8, 3, seed=21, noise=0.2)
    f = helper(_LINREG)
    for B, seed in ((8, 0), (11, 4)):
        where = f"train with N = 8, batch_size = {B} (full batch), 5 epochs, learning_rate = 0.1"
        got, loss, _ = _call_train(learner, _LINREG, params, X, y, 0.1, 5, B, seed, where)
        want = {k: v.copy() for k, v in params.items()}
        want_loss = []
        for _ in range(5):
            value, grads = f(want, X, y)
            want_loss.append(value)
            want = {k: want[k] - 0.1 * grads[k] for k in want}
        if len(loss) != 5:
            hint = ""
            if len(loss) == 0 and B > 8:
                hint = ("\n  hint: with batch_size > N the one batch holds all N examples; "
                        "range(0, N, batch_size) with order[start:start + batch_size] gives it")
            raise CheckError(f"{where}: {len(loss)} steps recorded, expected one per epoch, "
                             f"5{hint}")
        if not (close(loss, want_loss) and all(close(got[k], want[k]) for k in want)):
            raise CheckError(
                f"{where}: expected plain full-batch gradient descent: after 5 steps "
                f"params['w'] = {fmt(want['w'])}, got {fmt(got['w'])}"
                + (_loop_hint(_LINREG, params, X, y, 0.1, 5, B, seed, loss) or (
                    f"{HINT}with one batch holding every example, each epoch is one step "
                    "params - learning_rate * grads"))
            )
    # Online: N steps per epoch, in the specified order.
    params, X, y, _ = _linreg_data(6, 2, seed=22, noise=0.2)
    _check_against_reference(learner, _LINREG, params, X, y, 0.05, 1, 1, seed=9)


def _epoch_means(loss: np.ndarray, sizes: list[int], n: int, epochs: int) -> list[float]:
    steps = len(sizes)
    return [float(np.dot(loss[e * steps:(e + 1) * steps], sizes)) / n for e in range(epochs)]


@check(NB, "test_train_epoch_loss")
def train_epoch_loss(learner: Learner) -> None:
    cases = [(_LINREG, *_linreg_data(10, 3, seed=31, noise=0.3)[:3], 0.05, 3, 4, 2),
             (_SOFTMAX, *_softmax_data(11, 3, 4, seed=32), 0.2, 2, 3, 7)]
    for source, params, X, y, lr, epochs, B, seed in cases:
        n = X.shape[0]
        sizes = _expected_sizes(n, B)
        where = f"train with N = {n}, batch_size = {B} (batch sizes {sizes}), {epochs} epochs"
        _, loss, epoch_loss = _call_train(learner, source, params, X, y, lr, epochs, B, seed,
                                          where)
        if len(loss) != epochs * len(sizes):
            raise CheckError(
                f"{where}: history['loss'] has {len(loss)} entries, expected one per step, "
                f"{epochs * len(sizes)}, so the epoch losses cannot be checked"
            )
        want = _epoch_means(loss, sizes, n, epochs)
        if len(epoch_loss) != epochs:
            raise CheckError(f"{where}: history['epoch_loss'] has {len(epoch_loss)} entries, "
                             f"expected one per epoch, {epochs}")
        if close(epoch_loss, want):
            continue
        named = hint(epoch_loss, EPOCH_LOSS, loss, sizes) or (
            f"{HINT}epoch_loss[e] = (1/N) Σ_k B_k · loss_k over the steps k of epoch e, with "
            "the losses you recorded in history['loss']")
        raise CheckError(
            f"{where}: history['epoch_loss'] is {fmt(epoch_loss)}, expected {fmt(want)} from "
            f"your step losses{named}"
        )


# ----------------------------------------------------------------------------- standardize
def _standardize_reference(X_train: np.ndarray, X_test: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0)
    sd = np.where(sd == 0, 1.0, sd)
    return (X_train - mu) / sd, (X_test - mu) / sd


def _call_standardize(learner: Learner, X_train: np.ndarray, X_test: np.ndarray, where: str
                      ) -> tuple[np.ndarray, np.ndarray]:
    a, b = X_train.copy(), X_test.copy()
    with quiet():
        out = learner.standardize(a, b)
    if out is None:
        raise CheckError(f"{where}: standardize returned None: is a `return` missing?")
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise CheckError(f"{where}: standardize must return the pair (X_train_std, X_test_std)")
    if not (np.array_equal(a, X_train) and np.array_equal(b, X_test)):
        raise CheckError(
            f"{where}: standardize changed the arrays it was given\n  hint: return new arrays, "
            "(X - mu) / sigma, instead of writing into X (X -= mu changes the caller's data)"
        )
    tr, te = (np.asarray(v, dtype=np.float64) for v in out)
    for name, got, shape in (("X_train_std", tr, X_train.shape), ("X_test_std", te, X_test.shape)):
        if got.shape != shape:
            raise CheckError(f"{where}: {name} has shape {got.shape}, expected {shape}")
    return tr, te


def _scales_data(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = np.array([200.0, 1.5, 0.01, 30.0])
    shift = np.array([1000.0, 3.0, -0.5, 0.0])
    return shift + scale * rng.standard_normal((n, 4))


@check(NB, "test_standardize_train")
def standardize_train(learner: Learner) -> None:
    for n, seed in ((6, 0), (25, 1), (3, 2)):
        X_train, X_test = _scales_data(n, seed), _scales_data(4, seed + 100)
        where = f"standardize with X_train of shape {X_train.shape}"
        tr, _ = _call_standardize(learner, X_train, X_test, where)
        want, _ = _standardize_reference(X_train, X_test)
        if close(tr, want):
            continue
        raise CheckError(
            f"{where}: X_train_std has column means {fmt(tr.mean(axis=0), 4)} and stds "
            f"{fmt(tr.std(axis=0), 4)}; expected 0 and 1 in every column"
            + (hint(tr, STANDARDIZE_TRAIN, X_train, X_test, want=want) or (
                f"{HINT}(X_train - mu) / sigma with mu, sigma = X_train.mean(axis=0), "
                "X_train.std(axis=0)"))
        )


@check(NB, "test_standardize_test")
def standardize_test(learner: Learner) -> None:
    cases = [(_scales_data(20, 3), _scales_data(5, 4) + 50.0, "a shifted test set"),
             (_scales_data(15, 5), _scales_data(1, 6), "a test set of ONE example"),
             (_scales_data(10, 7), 3.0 * _scales_data(8, 8), "a test set on another scale")]
    for X_train, X_test, name in cases:
        where = (f"standardize with X_train {X_train.shape} and X_test {X_test.shape} "
                 f"({name})")
        _, te = _call_standardize(learner, X_train, X_test, where)
        _, want = _standardize_reference(X_train, X_test)
        if close(te, want):
            continue
        raise CheckError(
            f"{where}: X_test_std is wrong; expected (X_test - mu_train) / sigma_train"
            + (hint(te, STANDARDIZE_TEST, X_train, X_test, want=want) or (
                f"{HINT}compute mu and sigma once, from X_train, and use them for both sets"))
        )


_ZERO_STD = ("that feature's std is 0, so (x - mu) / 0 is 0/0: replace a zero std by 1 "
             "(sigma = np.where(sigma == 0, 1.0, sigma)), which maps the feature to x - mu")


@check(NB, "test_standardize_constant")
def standardize_constant(learner: Learner) -> None:
    for seed, col in ((0, 1), (1, 3)):
        X_train, X_test = _scales_data(12, seed), _scales_data(3, seed + 50)
        X_train[:, col] = 4.25
        where = (f"standardize with a constant feature (column {col} of X_train is 4.25 in "
                 "every row)")
        tr, te = _call_standardize(learner, X_train, X_test, where)
        want_tr, want_te = _standardize_reference(X_train, X_test)
        if not close(tr, want_tr):
            named = hint(tr, STANDARDIZE_TRAIN, X_train, X_test, want=want_tr)
            if not named:
                named = HINT + (_ZERO_STD if not np.all(np.isfinite(tr)) else
                                "with sigma replaced by 1 the constant feature becomes x - mu: 0 "
                                "for the training rows" if not close(tr[:, col], want_tr[:, col])
                                else "the constant feature is right; the others must be "
                                "standardized as usual")
            raise CheckError(
                f"{where}: X_train_std is wrong: {differing(tr, want_tr)} (entries as [row, "
                f"column]){named}"
            )
        # X_test_std's values are test_standardize_test's business; here only that it is finite
        if not np.all(np.isfinite(te)):
            raise CheckError(
                f"{where}: X_test_std contains nan or inf"
                + (hint(te, STANDARDIZE_TEST, X_train, X_test, want=want_te) or HINT + _ZERO_STD)
            )
