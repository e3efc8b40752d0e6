"""A mini-batch training loop for models with ``forward`` / ``backward`` / ``parameters``.

Dimension legend: N examples, D features (or any trailing input shape), C classes.

:func:`fit` runs epochs of shuffled mini-batches (``batch_size=None`` is full-batch gradient
descent, ``1`` is online), keeps one optimizer config per parameter, and stops with
:class:`TrainingDiverged` as soon as the loss becomes NaN/inf or explodes, with a message that
says what to change. It returns a :class:`History` for loss curves. Notebook 09 derives the loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bplib import losses as _losses
from bplib import optim as _optim
from bplib._checks import as_float_array, check_choice, check_finite
from bplib.model import Sequential, predicted_classes

__all__ = [
    "LOSSES",
    "History",
    "TrainingDiverged",
    "accuracy",
    "evaluate",
    "fit",
    "predict_scores",
]

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]

LOSSES: dict[str, LossFn] = {
    "softmax_cross_entropy": _losses.softmax_cross_entropy_loss,
    "bce_with_logits": _losses.bce_with_logits_loss,
    "mse": _losses.mse_loss,
}
# Losses whose outputs are class scores, so accuracy is meaningful by default.
_CLASSIFICATION = ("softmax_cross_entropy", "bce_with_logits")
# The message bplib._checks.check_finite gives for inf/nan inside an array.
_OVERFLOW = re.compile(r"contains (-?inf|nan) at index")
_EVAL_CHUNK = 1024  # rows per forward pass when scoring a whole data set (bounds memory)


class TrainingDiverged(RuntimeError):
    """Training blew up: the loss became NaN/inf or grew past ``divergence_factor`` times its
    first value, an update made a weight NaN/inf, or the activations overflowed.

    Attributes: ``epoch`` and ``step`` (both counted from 1; ``step`` over the whole run, as an
    index into ``history.loss`` + 1), ``loss``, ``learning_rate``, and ``history`` up to the
    failure (useful to plot the blow-up).
    """

    def __init__(
        self, message: str, *, epoch: int, step: int, loss: float, learning_rate: float,
        history: History,
    ) -> None:
        super().__init__(message)
        self.epoch, self.step, self.loss = epoch, step, loss
        self.learning_rate, self.history = learning_rate, history


@dataclass
class History:
    """What :func:`fit` recorded.

    ``loss`` has one entry per optimizer step (the mini-batch objective, weight decay
    included); ``epoch_loss`` the example-weighted mean of those over each epoch;
    ``train_acc`` / ``val_acc`` one entry per epoch (empty when accuracy is off or there is no
    validation set); ``val_loss`` one entry per epoch with a validation set.
    """

    loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    steps_per_epoch: int = 0

    def plot(self, ax: Any = None) -> Any:
        """Draw the per-step loss and the epoch means on a matplotlib Axes; returns the Axes."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(6, 3.5))[1]
        ax.plot(np.arange(1, len(self.loss) + 1), self.loss, lw=0.8, alpha=0.6, label="step")
        if self.epoch_loss and self.steps_per_epoch:
            ends = np.arange(1, len(self.epoch_loss) + 1) * self.steps_per_epoch
            ax.plot(ends, self.epoch_loss, "o-", label="epoch mean")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend()
        return ax


def _resolve_loss(loss: str | LossFn) -> tuple[LossFn, bool]:
    """Return the loss function and whether it is a classification loss."""
    if callable(loss):
        return loss, False
    check_choice(loss, tuple(LOSSES), "loss")
    return LOSSES[loss], loss in _CLASSIFICATION


def _targets_for(scores: np.ndarray, y: np.ndarray, loss_fn: LossFn) -> np.ndarray:
    """Give element-wise losses targets shaped like the scores: y (N,) for scores (N, 1)."""
    if loss_fn is _losses.softmax_cross_entropy_loss or y.shape == scores.shape:
        return y
    if y.size == scores.size:
        return y.reshape(scores.shape)
    return y


def predict_scores(model: Any, X: Any) -> np.ndarray:
    """The model's outputs in test mode, computed in chunks: X (N, ...) -> scores (N, ...)."""
    X = as_float_array(X, "X")
    parts = [model.forward(X[i : i + _EVAL_CHUNK], mode="test")
             for i in range(0, X.shape[0], _EVAL_CHUNK)]
    return np.concatenate(parts, axis=0)


def _labels_from_scores(scores: np.ndarray, model: Any) -> np.ndarray:
    return predicted_classes(scores, getattr(model, "binary_threshold", 0.0))


def accuracy(model: Any, X: Any, y: Any) -> float:
    """Fraction of rows of X (N, ...) whose predicted class equals y (N,); in [0, 1]."""
    y = np.asarray(y)
    scores = predict_scores(model, X)
    if y.shape[0] != scores.shape[0]:
        raise ValueError(f"X has {scores.shape[0]} rows but y has {y.shape[0]} labels")
    return float(np.mean(_labels_from_scores(scores, model) == y.reshape(y.shape[0])))


def evaluate(model: Any, X: Any, y: Any, loss: str | LossFn = "softmax_cross_entropy"
             ) -> dict[str, float]:
    """Loss and (for classification losses) accuracy of ``model`` on X (N, ...), y (N, ...).

    Returns ``{"loss": float, "accuracy": float}``; ``accuracy`` is left out for regression
    losses and custom callables.
    """
    loss_fn, is_classification = _resolve_loss(loss)
    scores = predict_scores(model, X)
    y = np.asarray(y)
    result = {"loss": float(loss_fn(scores, _targets_for(scores, y, loss_fn))[0])}
    if is_classification:
        result["accuracy"] = float(np.mean(_labels_from_scores(scores, model) == y.reshape(-1)))
    return result


def _fmt(x: float) -> str:
    """A learning rate as a person writes it: 10.0, 1.0, 0.001, 1e-05."""
    text = f"{x:g}"
    return text if any(c in text for c in ".e") else text + ".0"


def _diverged(
    value: float, first: float | None, factor: float | None, where: str, lr: float,
    history: History, epoch: int, step: int,
) -> None:
    """Raise TrainingDiverged when ``value`` is not finite or exploded past ``factor * first``."""
    advice = f"try a smaller learning rate, e.g. {_fmt(lr / 10)}"
    if not np.isfinite(value):
        what = "nan" if np.isnan(value) else "inf"
        msg = f"loss became {what} at {where} (learning rate {_fmt(lr)}): {advice}"
    elif factor is not None and first is not None and value > factor * max(first, 1e-3):
        # The 1e-3 floor keeps a model that starts almost perfect from tripping on noise.
        msg = (f"loss grew to {value:.4g} at {where}, more than {factor:g} x the first loss "
               f"{first:.4g} (learning rate {_fmt(lr)}): {advice}")
    else:
        return
    raise TrainingDiverged(msg, epoch=epoch, step=step, loss=value, learning_rate=lr,
                           history=history)


def fit(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: str | LossFn = "softmax_cross_entropy",
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    epochs: int = 10,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    X_val: Any = None,
    y_val: Any = None,
    weight_decay: float = 0.0,
    optimizer_config: dict[str, Any] | None = None,
    divergence_factor: float | None = 1e3,
    compute_accuracy: bool | None = None,
    progress: bool = True,
    verbose: bool = False,
) -> History:
    """Train ``model`` in place with mini-batch gradient descent; return the :class:`History`.

    Args:
        model: has ``forward(x, mode) -> scores``, ``backward(dscores)`` and ``parameters()``
            yielding ``(layer_name, param_name, array, grad)`` (e.g. a ``Sequential``).
        X: inputs, shape (N, ...) e.g. (N, D) or (N, C, H, W).
        y: targets: integer labels (N,) for ``"softmax_cross_entropy"``; values shaped like the
            scores (or (N,) for one output) for ``"bce_with_logits"`` and ``"mse"``.
        loss: a name from ``LOSSES`` or ``f(scores, y) -> (loss, dscores)``.
        optimizer: a name ``bplib.optim.get_optimizer`` knows ("sgd", "sgd_momentum",
            "rmsprop", "adam"); each parameter keeps its own config (moments, step count).
        learning_rate, optimizer_config: put into every parameter's config.
        epochs: passes over the data. batch_size: None = all N (full batch), 1 = online.
        shuffle, seed: reshuffle the rows every epoch with ``np.random.default_rng(seed)``.
        X_val, y_val: optional validation set, scored after every epoch.
        weight_decay: L2 strength ``lam``: adds ``lam/2 * sum(w**2)`` over each layer's
            ``decay`` parameters (weights, not biases) to the loss and ``lam * w`` to the grads.
        divergence_factor: stop when a step's loss exceeds this times the first step's loss
            (None: only NaN/inf stop training).
        compute_accuracy: record accuracies; default True for the classification losses.
        progress: show a tqdm progress bar (a widget in notebooks). verbose: print each epoch.

    Raises:
        TrainingDiverged: the loss became NaN/inf or exploded; the message names the epoch,
            the step, the loss, the learning rate and a smaller one to try.
        ValueError: inconsistent shapes or bad settings.
    """
    loss_fn, is_classification = _resolve_loss(loss)
    track_acc = is_classification if compute_accuracy is None else bool(compute_accuracy)
    X, y = _check_data(X, y, "X", "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together (or both left out)")
    if X_val is not None:
        # checked now: a NaN found later, after an update, would look like divergence
        X_val, y_val = _check_data(X_val, y_val, "X_val", "y_val")
    n = X.shape[0]
    batch_size, lr = _check_settings(epochs, n if batch_size is None else batch_size,
                                     learning_rate, weight_decay)
    update = _optim.get_optimizer(optimizer)
    configs: dict[tuple[str, str], dict[str, Any]] = {}
    decayed = _decayed_params(model) if weight_decay else set()

    batch_size = min(batch_size, n)  # larger than N: full batch
    rng = np.random.default_rng(seed)
    steps_per_epoch = -(-n // batch_size)
    history = History(steps_per_epoch=steps_per_epoch)
    first: float | None = None
    step, epoch, where = 0, 1, "epoch 1, step 1"
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n) if shuffle else np.arange(n)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                step += 1
                where = f"epoch {epoch}, step {step}"
                scores = model.forward(X[idx], mode="train")
                if not np.all(np.isfinite(scores)):
                    # The loss functions reject non-finite scores, so catch the blow-up here.
                    bad = float(scores[~np.isfinite(scores)].flat[0])
                    _diverged(bad, first, divergence_factor, where, lr, history, epoch, step)
                value, dscores = loss_fn(scores, _targets_for(scores, y[idx], loss_fn))
                value = float(value) + _penalty(model, decayed, weight_decay)
                _diverged(value, first, divergence_factor, where, lr, history, epoch, step)
                first = value if first is None else first
                history.loss.append(value)
                total += value * len(idx)
                if isinstance(model, Sequential):
                    model.backward(dscores, input_grad=False)  # no gradient for the data
                else:
                    model.backward(dscores)
                bad_param = _step(model, update, configs, lr, optimizer_config, decayed,
                                  weight_decay)
                if bad_param is not None:
                    raise TrainingDiverged(
                        f"{bad_param} became nan/inf in the update at {where} (loss "
                        f"{value:.4g}, learning rate {_fmt(lr)}): try a smaller learning rate, "
                        f"e.g. {_fmt(lr / 10)}",
                        epoch=epoch, step=step, loss=value, learning_rate=lr, history=history)
            history.epoch_loss.append(total / n)
            _end_of_epoch(model, history, X, y, X_val, y_val, loss_fn, track_acc)
            _report(bar, verbose, epoch, epochs, history)
    except ValueError as err:
        # Once the weights have been updated, a layer refusing inf/nan input (in training or
        # in the end-of-epoch evaluation) means the activations overflowed: divergence.
        if not history.loss or not _OVERFLOW.search(str(err)):
            raise
        raise TrainingDiverged(
            f"the activations overflowed at {where} (learning rate {_fmt(lr)}): try a smaller "
            f"learning rate, e.g. {_fmt(lr / 10)}. Where: {err}",
            epoch=epoch, step=step, loss=float("nan"), learning_rate=lr, history=history,
        ) from err
    finally:
        if bar is not None:
            bar.close()
    return history


def _check_data(X: Any, y: Any, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    """X (N, ...) as a finite float array and y (N, ...) as an array, with the same N >= 1."""
    X = as_float_array(X, x_name)
    check_finite(X, x_name)
    y = np.asarray(y)
    if X.ndim < 1 or X.shape[0] == 0 or y.ndim < 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of rows N >= 1, got {x_name} "
            f"{tuple(X.shape)} and {y_name} {tuple(y.shape)}"
        )
    return X, y


def _check_settings(epochs: Any, batch_size: Any, learning_rate: Any, weight_decay: Any
                    ) -> tuple[int, float]:
    """Validate the loop's settings; return the batch size and the learning rate as float."""
    for value, name, extra in ((epochs, "epochs", ""), (batch_size, "batch_size", " or None")):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer{extra}, got {value!r}")
    if not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    if not float(weight_decay) >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    return int(batch_size), float(learning_rate)


def _decayed_params(model: Any) -> set[tuple[str, str]]:
    """Keys ``(layer_name, param_name)`` of the parameters weight decay applies to."""
    layers = getattr(model, "layers", None)
    if layers is None:  # a duck-typed model: decay every parameter named like a weight
        return {(ln, pn) for ln, pn, _, _ in model.parameters() if pn.startswith("w")}
    by_index = {i: getattr(layer, "decay", ()) for i, layer in enumerate(layers)}
    return {(ln, pn) for ln, pn, _, _ in model.parameters()
            if pn in by_index.get(int(ln.split(".")[0]), ())}


def _penalty(model: Any, decayed: set[tuple[str, str]], lam: float) -> float:
    if not decayed:
        return 0.0
    return 0.5 * lam * sum(float(np.sum(w * w)) for ln, pn, w, _ in model.parameters()
                           if (ln, pn) in decayed)


def _step(model: Any, update: Callable, configs: dict, lr: float,
          extra: dict[str, Any] | None, decayed: set[tuple[str, str]], lam: float) -> str | None:
    """One optimizer update of every parameter, in place, each with its own config.

    Returns the name of the first parameter whose update is not finite (that one and the ones
    after it are left unchanged), else None.
    """
    for ln, pn, w, dw in model.parameters():
        if dw is None:
            raise ValueError(f"parameter {pn} of layer {ln} has no gradient after backward")
        if (ln, pn) in decayed:
            dw = dw + lam * w
        config = configs.setdefault((ln, pn), {"learning_rate": lr, **(extra or {})})
        next_w, configs[(ln, pn)] = update(w, dw, config)
        if not np.all(np.isfinite(next_w)):
            return f"{pn} of layer {ln}"
        w[...] = next_w  # in place, so the layer (and anyone holding the array) sees it
    return None


def _end_of_epoch(model: Any, history: History, X: np.ndarray, y: np.ndarray, X_val: Any,
                  y_val: Any, loss_fn: LossFn, track_acc: bool) -> None:
    if track_acc:
        history.train_acc.append(accuracy(model, X, y))
    if X_val is not None:
        scores = predict_scores(model, X_val)
        y_val = np.asarray(y_val)
        history.val_loss.append(float(loss_fn(scores, _targets_for(scores, y_val, loss_fn))[0]))
        if track_acc:
            labels = _labels_from_scores(scores, model)
            history.val_acc.append(float(np.mean(labels == y_val.reshape(y_val.shape[0]))))


def _progress_bar(epochs: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="training", unit="epoch")


def _report(bar: Any, verbose: bool, epoch: int, epochs: int, history: History) -> None:
    stats = {"loss": f"{history.epoch_loss[-1]:.4f}"}
    if history.train_acc:
        stats["acc"] = f"{history.train_acc[-1]:.3f}"
    if history.val_acc:
        stats["val_acc"] = f"{history.val_acc[-1]:.3f}"
    if bar is not None:
        bar.set_postfix(stats)
        bar.update(1)
    if verbose:
        line = f"epoch {epoch}/{epochs}: " + ", ".join(f"{k} {v}" for k, v in stats.items())
        if bar is not None:
            bar.write(line)
        else:
            print(line)
