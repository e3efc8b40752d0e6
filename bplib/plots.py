"""The plots of the "See" step of each notebook, in matplotlib.

Dimension legend: N examples, K grid points, C classes, S step sizes, L layers.

Every function draws into the ``ax`` it is given (or a new figure when ``ax`` is ``None``) and
returns what it drew on; none calls ``plt.show()``, so the notebooks decide when figures appear
and the tests can run under the Agg backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from bplib._checks import as_float_array, check_choice, check_finite, check_labels, check_ndim

__all__ = [
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_digits",
    "plot_error_vs_step",
    "plot_gradient_magnitudes",
    "plot_history",
]


def _new_ax(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=figsize)[1]


def _class_cmap(n_classes: int) -> ListedColormap:
    colors = plt.get_cmap("tab10").colors
    return ListedColormap([colors[k % len(colors)] for k in range(n_classes)])


# ----------------------------------------------------------------------------- decision boundary
def plot_decision_boundary(
    predict: Callable[[np.ndarray], Any],
    X: Any,
    y: Any,
    ax: Axes | None = None,
    resolution: int = 200,
) -> Axes:
    """Colour the plane by a classifier's prediction and scatter the data on top.

    Args:
        predict: maps grid points (K, 2) to either class labels (K,) of ints, probabilities of
            class 1 (K,) or (K, 1) in [0, 1] (thresholded at 0.5, with the 0.5 contour drawn),
            or class scores / probabilities (K, C) (the largest wins).
        X: (N, 2) points.
        y: (N,) integer labels.
        ax: where to draw; a new figure when ``None``.
        resolution: grid points per axis, >= 2.

    Returns:
        The Axes: one filled contour set for the regions and one scatter of the N points.
    """
    X = as_float_array(X, "X")
    check_ndim(X, 2, "X", "(N, 2)")
    if X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (N, 2) with N >= 1, got {X.shape}")
    check_finite(X, "X")
    y = np.asarray(y)
    y = check_labels(y, len(X), max(int(y.max(initial=0)) + 1, 2), "y")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    if not callable(predict):
        raise ValueError(f"predict must be a function of a (K, 2) array, got {type(predict).__name__}")

    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-3) + 0.1
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    out = np.asarray(predict(grid))
    K = len(grid)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim not in (1, 2) or out.shape[0] != K:
        raise ValueError(
            f"predict returned shape {out.shape} for {K} grid points; expected ({K},) labels or "
            f"probabilities, or ({K}, C) scores"
        )
    proba = None
    if out.ndim == 2:
        labels = out.argmax(axis=1)
    elif np.issubdtype(out.dtype, np.integer) or np.issubdtype(out.dtype, np.bool_):
        labels = out.astype(np.int64)
    elif np.all(np.mod(out, 1) == 0):
        labels = out.astype(np.int64)
    else:
        if out.min() < 0 or out.max() > 1:
            raise ValueError(
                "predict returned non-integer values outside [0, 1]: return labels, "
                "probabilities of class 1, or (K, C) scores"
            )
        proba, labels = out, (out >= 0.5).astype(np.int64)
    n_classes = int(max(labels.max(), y.max())) + 1
    n_classes = max(n_classes, 2)
    cmap = _class_cmap(n_classes)

    ax = _new_ax(ax, (5.0, 4.5))
    if proba is None:
        ax.contourf(gx, gy, labels.reshape(gx.shape), levels=np.arange(n_classes + 1) - 0.5,
                    cmap=cmap, alpha=0.3)
    else:
        ax.contourf(gx, gy, proba.reshape(gx.shape), levels=np.linspace(0, 1, 11),
                    cmap="RdBu_r", alpha=0.35)
        if proba.min() < 0.5 < proba.max():
            ax.contour(gx, gy, proba.reshape(gx.shape), levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5,
               edgecolors="k", linewidths=0.5, s=20)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if not ax.get_title():  # the caller's own title, set before, wins; one set after replaces it
        ax.set_title("decision regions and the data")
    return ax


# ----------------------------------------------------------------------------- training curves
_HISTORY_KEYS = {
    "loss": ("loss", "loss_history"),
    "val_loss": ("val_loss", "val_loss_history"),
    "train_acc": ("train_acc", "train_acc_history"),
    "val_acc": ("val_acc", "val_acc_history"),
}


def _history_series(history: Any) -> dict[str, np.ndarray]:
    found = {}
    for key, names in _HISTORY_KEYS.items():
        for name in names:
            if isinstance(history, Mapping):
                values = history.get(name)
            else:
                values = getattr(history, name, None)
            if values is not None and len(values) > 0:
                found[key] = as_float_array(values, name).ravel()
                break
    return found


def plot_history(history: Any, ax: Axes | Sequence[Axes] | None = None) -> list[Axes]:
    """Loss and accuracy curves of a training run.

    Args:
        history: a dict or an object (e.g. :class:`bplib.train.History`) with any of the lists
            ``loss`` (one value per step), ``val_loss``, ``train_acc``, ``val_acc`` (one per
            epoch); the CS231n names ``loss_history``, ``train_acc_history``, … work too.
        ax: ``None`` (a new figure with one panel for the loss and one for accuracy), one Axes
            (accuracies go on a second y axis sharing it) or a pair of Axes.

    Returns:
        The Axes drawn on: ``[loss_ax]``, ``[acc_ax]`` or ``[loss_ax, acc_ax]``.
    """
    series = _history_series(history)
    if not series:
        got = sorted(history) if isinstance(history, Mapping) else type(history).__name__
        raise ValueError(
            f"history must hold at least one non-empty list among {sorted(_HISTORY_KEYS)}, got {got}"
        )
    has_loss = "loss" in series or "val_loss" in series
    has_acc = "train_acc" in series or "val_acc" in series
    twin = isinstance(ax, Axes) and has_loss and has_acc
    if ax is None:
        n_panels = int(has_loss) + int(has_acc)
        axes = list(np.atleast_1d(plt.subplots(1, n_panels, figsize=(5.0 * n_panels, 3.5))[1]))
        loss_ax = axes[0] if has_loss else None
        acc_ax = axes[-1] if has_acc else None
    elif isinstance(ax, Axes):
        # One Axes: accuracy gets its own y axis on the right (the scales differ).
        loss_ax = ax if has_loss else None
        acc_ax = (ax.twinx() if twin else ax) if has_acc else None
    else:
        pair = list(ax)
        if len(pair) != 2 or not all(isinstance(a, Axes) for a in pair):
            raise ValueError(f"ax must be None, one Axes or a pair of Axes, got {ax!r}")
        loss_ax = pair[0] if has_loss else None
        acc_ax = pair[1] if has_acc else None

    n_epochs = max((len(series[k]) for k in ("train_acc", "val_acc", "val_loss") if k in series),
                   default=0)
    drawn = []
    if loss_ax is not None:
        loss_ax.set_xlabel("epoch")
        if "loss" in series:
            loss = series["loss"]
            loss_ax.plot(np.arange(1, len(loss) + 1), loss, lw=1, color="C0", label="train loss")
            if n_epochs and len(loss) > n_epochs:
                loss_ax.set_xlabel("step")
        if "val_loss" in series:
            val = series["val_loss"]
            # On a per-step axis, put each per-epoch point at the end of its epoch.
            scale = len(series.get("loss", val)) / len(val)
            loss_ax.plot(np.arange(1, len(val) + 1) * scale, val, "o-", color="C3", ms=3,
                         label="validation loss")
        loss_ax.set_ylabel("loss")
        loss_ax.legend(loc="upper right")
        drawn.append(loss_ax)
    if acc_ax is not None:
        # Sharing a per-step x axis with the loss: put each epoch's point at the end of its epoch.
        scale = len(series["loss"]) / n_epochs if twin and "loss" in series else 1.0
        for key, color, label in (("train_acc", "C1", "train accuracy"),
                                  ("val_acc", "C2", "validation accuracy")):
            if key in series:
                acc = series[key]
                acc_ax.plot(np.arange(1, len(acc) + 1) * scale, acc, "o-", ms=3, color=color, label=label)
        acc_ax.set_ylabel("accuracy")
        if not twin:
            acc_ax.set_xlabel("epoch")
        acc_ax.legend(loc="lower right")
        drawn.append(acc_ax)
    return drawn


# ----------------------------------------------------------------------------- numerical error
def plot_error_vs_step(
    steps: Any,
    errors: Any,
    ax: Axes | None = None,
    labels: Sequence[str] | None = None,
) -> Axes:
    """Error of a finite-difference estimate against its step size h, on log-log axes.

    Small h loses to round-off (error grows like ε/h), large h to truncation (like h or h²); the
    curve is a U and its bottom marks the best step. The smallest error of each curve is marked.

    Args:
        steps: (S,) positive step sizes.
        errors: (S,) one curve, or (R, S) / a list of R arrays of length S, one curve each.
            Zero errors cannot be drawn on a log axis and are left out.
        ax: where to draw; a new figure when ``None``.
        labels: one legend entry per curve (R of them).

    Returns:
        The Axes: one line per curve plus one marker line per curve at its minimum.
    """
    steps = as_float_array(steps, "steps")
    check_ndim(steps, 1, "steps", "(S,)")
    if steps.size == 0 or np.any(~np.isfinite(steps)) or np.any(steps <= 0):
        raise ValueError("steps must be a non-empty 1-D array of positive, finite step sizes")
    curves = as_float_array(errors, "errors")
    check_ndim(curves, (1, 2), "errors", "(S,) or (R, S)")
    curves = np.atleast_2d(curves)
    if curves.shape[1] != steps.size:
        raise ValueError(
            f"errors has {curves.shape[1]} values per curve but steps has {steps.size}"
        )
    if labels is not None and len(labels) != len(curves):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(curves)} curves")
    ax = _new_ax(ax, (5.0, 3.8))
    for r, curve in enumerate(curves):
        shown = np.where(np.abs(curve) > 0, np.abs(curve), np.nan)
        label = labels[r] if labels is not None else None
        (line,) = ax.plot(steps, shown, "-", marker=".", label=label)
        if np.any(np.isfinite(shown)):
            best = int(np.nanargmin(shown))
            ax.plot(steps[best], shown[best], "*", ms=11, color=line.get_color(), mec="k")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step size h")
    ax.set_ylabel("absolute error")
    if not ax.get_title():
        ax.set_title("error of the finite difference against its step h")
    if labels is not None:
        ax.legend()
    return ax


# ----------------------------------------------------------------------------- gradients
def plot_gradient_magnitudes(
    grads: Mapping[str, Any] | Sequence[Any],
    ax: Axes | None = None,
    stat: str = "mean_abs",
) -> Axes:
    """One bar per layer showing how large its gradient is, on a log scale.

    Vanishing gradients show up as bars that shrink by orders of magnitude towards the input.

    Args:
        grads: ``{name: gradient array}`` in layer order, or a list of L arrays (named
            "layer 1", "layer 2", …).
        ax: where to draw; a new figure when ``None``.
        stat: "mean_abs" (mean of |g|, comparable across layer sizes), "norm" (L2 norm) or
            "max_abs".

    Returns:
        The Axes, with one bar per layer.
    """
    check_choice(stat, ("mean_abs", "norm", "max_abs"), "stat")
    if isinstance(grads, Mapping):
        names, arrays = list(grads), list(grads.values())
    elif isinstance(grads, Sequence) and not isinstance(grads, str):
        names, arrays = [f"layer {i + 1}" for i in range(len(grads))], list(grads)
    else:
        raise ValueError(f"grads must be a dict or a list of arrays, got {type(grads).__name__}")
    if not arrays:
        raise ValueError("grads is empty: give at least one gradient array")
    heights = []
    for name, g in zip(names, arrays, strict=True):
        g = np.abs(as_float_array(g, f"grads[{name!r}]"))
        if g.size == 0:
            raise ValueError(f"grads[{name!r}] is empty")
        check_finite(g, f"grads[{name!r}]")
        heights.append({"mean_abs": g.mean(), "norm": np.sqrt((g**2).sum()),
                        "max_abs": g.max()}[stat])
    heights = np.array(heights)
    ax = _new_ax(ax, (max(4.0, 0.8 * len(names) + 1.5), 3.5))
    ax.bar(range(len(names)), heights, color="C0")
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 6 else 0)
    ax.set_yscale("log")
    positive = heights[heights > 0]
    if positive.size:  # a zero bar has no height on a log axis: keep the others in view
        ax.set_ylim(positive.min() / 3, positive.max() * 3)
    ax.set_ylabel({"mean_abs": "mean |gradient|", "norm": "gradient norm",
                   "max_abs": "max |gradient|"}[stat])
    ax.set_xlabel("layer (input side first)")
    if not ax.get_title():
        ax.set_title("gradient size per layer")
    return ax


# ----------------------------------------------------------------------------- digits
def plot_digits(
    images: Any,
    labels: Any,
    predictions: Any = None,
    ncols: int = 10,
    fig: Figure | None = None,
    max_images: int = 100,
) -> Figure:
    """A grid of 8x8 digit images titled with their label (and prediction).

    Args:
        images: (N, 64) or (N, 8, 8) pixel values (any scale; shown black on white).
        labels: (N,) true digits.
        predictions: optional (N,) predicted digits; a wrong prediction is titled in red as
            "label→prediction".
        ncols: images per row, >= 1.
        fig: the figure to draw into (cleared first); a new one when ``None``.
        max_images: only the first ``max_images`` images are drawn.

    Returns:
        The Figure, with one image per drawn digit (unused grid cells are hidden).
    """
    images = as_float_array(images, "images")
    if images.ndim == 2 and images.shape[1] == 64:
        images = images.reshape(-1, 8, 8)
    if images.ndim != 3 or images.shape[1:] != (8, 8) or len(images) == 0:
        raise ValueError(f"images must have shape (N, 64) or (N, 8, 8) with N >= 1, got {images.shape}")
    n = len(images)
    labels = check_labels(labels, n, 10, "labels")
    if predictions is not None:
        predictions = check_labels(predictions, n, 10, "predictions")
    for name, value in (("ncols", ncols), ("max_images", max_images)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    n = min(n, max_images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    if fig is None:
        fig = plt.figure(figsize=(1.0 * ncols, 1.15 * nrows))
    else:
        fig.clear()
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
        if predictions is None:
            ax.set_title(str(labels[i]), fontsize=9)
        else:
            wrong = predictions[i] != labels[i]
            title = f"{labels[i]}→{predictions[i]}" if wrong else str(labels[i])
            ax.set_title(title, fontsize=9, color="C3" if wrong else "k")
    return fig


# ----------------------------------------------------------------------------- confusion
def plot_confusion_matrix(
    y_true: Any, y_pred: Any, n_classes: int, ax: Axes | None = None
) -> Axes:
    """The C x C table of counts: row = true class, column = predicted class.

    Args:
        y_true: (N,) true labels in 0..C-1.
        y_pred: (N,) predicted labels in 0..C-1.
        n_classes: C >= 1.
        ax: where to draw; a new figure when ``None``.

    Returns:
        The Axes: one image of the counts and C * C text artists, one count per cell.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be an integer >= 1, got {n_classes!r}")
    y_true = np.asarray(y_true)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must have shape (N,), got {y_true.shape}")
    y_true = check_labels(y_true, len(y_true), n_classes, "y_true")
    y_pred = check_labels(y_pred, len(y_true), n_classes, "y_pred")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    ax = _new_ax(ax, (0.45 * n_classes + 2.0, 0.45 * n_classes + 1.6))
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1))
    threshold = counts.max() / 2
    for i in range(n_classes):
        for j in range(n_classes):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if counts[i, j] > threshold else "black")
    ax.set_xticks(range(n_classes))
    ax.set_yticks(range(n_classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / max(int(counts.sum()), 1)
    ax.set_title(f"accuracy {accuracy:.1%} on {int(counts.sum())} examples")
    return ax
