"""Loss functions: each returns the scalar loss and its gradient with respect to the prediction.

Dimension legend: N batch, C classes; ``*`` stands for any shape (the loss treats every
element alike).

Every loss has the signature ``loss_fn(pred, target, ...) -> (loss, dpred)``:

* ``loss`` is a Python ``float``: the **mean** of a per-element (or per-row) loss. Each docstring
  says what the mean is taken over, because that count is the ``1/size`` or ``1/N`` in the
  gradient, the most common thing to forget.
* ``dpred`` has the shape of the prediction and is ``d loss / d pred``. A loss is the end of the
  graph, so there is no upstream gradient and no cache: the gradient comes out at once.

Nothing here mutates its inputs. Bad input (mismatched shapes, NaN, targets outside their range,
labels out of range) raises ``ValueError`` naming what was expected and what came.
Derivations: notebook 07 (losses).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bplib._checks import (
    as_float_array,
    check_finite,
    check_labels,
    check_ndim,
    check_same_shape,
)

__all__ = [
    "bce_with_logits_loss",
    "log_softmax",
    "mse_loss",
    "softmax",
    "softmax_cross_entropy_loss",
    "softmax_loss",
    "weighted_mse_loss",
]


def _pred_and_target(pred: Any, target: Any, pred_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert and validate a prediction/target pair: same shape, finite, not empty."""
    p = as_float_array(pred, pred_name)
    t = as_float_array(target, "target")
    check_same_shape(p, t, pred_name, "target")
    if p.size == 0:
        raise ValueError(
            f"{pred_name} is empty (shape {tuple(p.shape)}): the mean of no elements is undefined"
        )
    check_finite(p, pred_name)
    check_finite(t, "target")
    return p, t


def _stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid without overflow: only ever exponentiates ``-|z|`` (never positive)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _class_scores(logits: Any) -> np.ndarray:
    """Convert and validate logits whose last axis holds class scores (at least one class)."""
    z = as_float_array(logits, "logits")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(
            f"logits must have the C class scores on a last axis of length >= 1, e.g. shape "
            f"(N, C), got shape {tuple(z.shape)}"
        )
    check_finite(z, "logits")
    return z


def softmax(logits: Any) -> np.ndarray:
    """Softmax over the last axis, stable for any logit size.

    Args:
        logits: shape (N, C) (or (C,), or any shape: the last axis holds the C class scores).

    Returns:
        probs: same shape as ``logits``; each row is positive and sums to 1.

    Subtracting the row maximum first leaves the result unchanged (it cancels between numerator
    and denominator) and keeps every exponent <= 0, so ``exp`` cannot overflow.
    """
    z = _class_scores(logits)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: Any) -> np.ndarray:
    """Log of the softmax over the last axis, via log-sum-exp (no ``log(0)`` for large logits).

    Args:
        logits: shape (N, C) (or (C,), or any shape: the last axis holds the C class scores).

    Returns:
        log_probs: same shape as ``logits``; ``exp(log_probs)`` sums to 1 along the last axis.
    """
    z = _class_scores(logits)
    shifted = z - z.max(axis=-1, keepdims=True)
    # After the shift the largest entry is exp(0) = 1, so the sum is >= 1 and its log is finite.
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def mse_loss(pred: Any, target: Any) -> tuple[float, np.ndarray]:
    """Mean squared error, averaged over **all elements** (not only over the batch).

    ``loss = mean((pred - target) ** 2)``, with no factor 1/2, so the gradient keeps its 2:
    ``dpred = 2 * (pred - target) / pred.size``.

    Args:
        pred: predictions, any shape ``*`` (e.g. (N, D)).
        target: targets, the same shape as ``pred``.

    Returns:
        loss: float, the mean over all ``pred.size`` elements.
        dpred: same shape as ``pred``.

    No cache: the gradient is returned together with the loss.
    """
    p, t = _pred_and_target(pred, target, "pred")
    diff = p - t
    loss = float(np.mean(diff**2))
    dpred = 2.0 * diff / p.size
    return loss, dpred


def weighted_mse_loss(pred: Any, target: Any, weights: Any) -> tuple[float, np.ndarray]:
    """Weighted mean squared error: ``mean(weights * (pred - target) ** 2)``.

    The mean is over **all elements of pred** (weights are broadcast to ``pred``'s shape first),
    so the weights scale each element's contribution but are not renormalised: all-ones weights
    give exactly :func:`mse_loss`. Gradient: ``dpred = 2 * weights * (pred - target) / pred.size``.

    Args:
        pred: predictions, any shape ``*`` (e.g. (N, D)).
        target: targets, the same shape as ``pred``.
        weights: non-negative, broadcastable to ``pred``'s shape without enlarging it, e.g. a
            scalar, (D,) per output, (N, 1) per example, or (N, D) per element.

    Returns:
        loss: float, the mean over all ``pred.size`` elements.
        dpred: same shape as ``pred``.

    No cache: the gradient is returned together with the loss.
    """
    p, t = _pred_and_target(pred, target, "pred")
    w = as_float_array(weights, "weights")
    try:
        ok = np.broadcast_shapes(w.shape, p.shape) == p.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"weights of shape {tuple(w.shape)} cannot be broadcast to pred's shape "
            f"{tuple(p.shape)}: expected a scalar or a shape like {tuple(p.shape)}, "
            f"{tuple(p.shape[-1:])} or {tuple(p.shape[:1]) + (1,) * (p.ndim - 1)}"
        )
    check_finite(w, "weights")
    if np.any(w < 0):
        bad = np.argwhere(w < 0)[0]
        raise ValueError(
            f"weights contains {w[tuple(bad)]} at index {tuple(int(i) for i in bad)}: "
            "weights must be >= 0 (a negative weight rewards errors)"
        )
    diff = p - t
    loss = float(np.mean(w * diff**2))
    dpred = 2.0 * w * diff / p.size
    return loss, dpred


def bce_with_logits_loss(logits: Any, target: Any) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on raw scores (logits), averaged over **all elements**.

    For a logit ``z`` and a target probability ``y`` in [0, 1] the per-element loss is
    ``-(y log s + (1 - y) log(1 - s))`` with ``s = sigmoid(z)``. It is computed as
    ``max(z, 0) - z * y + log1p(exp(-|z|))``, the same value rearranged so that ``exp`` never
    sees a positive argument: finite for logits like +-1e4, where ``log(sigmoid(z))`` would give
    ``log(0)``. Gradient: ``dlogits = (sigmoid(z) - y) / logits.size``.

    Args:
        logits: raw scores, any shape ``*`` (e.g. (N,) or (N, 1) for one output per example).
        target: targets in [0, 1] (usually 0 or 1), the same shape as ``logits``.

    Returns:
        loss: float, the mean over all ``logits.size`` elements.
        dlogits: same shape as ``logits``.

    No cache: the gradient is returned together with the loss.
    """
    z, y = _pred_and_target(logits, target, "logits")
    if np.any((y < 0) | (y > 1)):
        bad = np.argwhere((y < 0) | (y > 1))[0]
        raise ValueError(
            f"target contains {y[tuple(bad)]} at index {tuple(int(i) for i in bad)}: "
            "binary cross-entropy targets must lie in [0, 1]"
        )
    per_element = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    loss = float(np.mean(per_element))
    dlogits = (_stable_sigmoid(z) - y) / z.size
    return loss, dlogits


def softmax_cross_entropy_loss(logits: Any, y: Any) -> tuple[float, np.ndarray]:
    """Softmax followed by cross-entropy with integer labels, averaged over the **N rows**.

    ``loss = -(1/N) * sum_n log softmax(logits[n])[y[n]]``, computed with log-sum-exp after
    subtracting each row's maximum, so logits like 1e4 give a finite loss and gradient.
    Gradient: ``dlogits = (softmax(logits) - onehot(y)) / N``. With all logits equal the loss is
    ``log C``: the sanity check for a freshly initialised classifier.

    Args:
        logits: class scores, shape (N, C).
        y: integer labels, shape (N,), each in ``0 .. C-1``.

    Returns:
        loss: float, the mean over the N examples.
        dlogits: shape (N, C).

    No cache: the gradient is returned together with the loss.
    """
    z = as_float_array(logits, "logits")
    check_ndim(z, 2, "logits", "(N, C)")
    n, c = z.shape
    if n == 0 or c == 0:
        raise ValueError(f"logits must have at least one row and one class, got shape {(n, c)}")
    labels = check_labels(y, n, c, "y")
    check_finite(z, "logits")
    shifted = z - z.max(axis=1, keepdims=True)  # every exponent <= 0: exp cannot overflow
    exp = np.exp(shifted)
    sums = exp.sum(axis=1, keepdims=True)  # >= 1 (the row's maximum gives exp(0)): log is finite
    rows = np.arange(n)
    # -log softmax(z)[y] = log(sum_c exp(z_c - max)) - (z_y - max)
    loss = float(np.sum(np.log(sums[:, 0]) - shifted[rows, labels])) / n
    dlogits = exp / sums  # softmax(z)
    dlogits[rows, labels] -= 1.0
    dlogits /= n
    return loss, dlogits


# The name CS231n's layers.py uses, so its published test vectors and notebooks work unchanged.
softmax_loss = softmax_cross_entropy_loss
