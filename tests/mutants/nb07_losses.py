"""Mutants and alternatives of notebook 07 (losses): MSE, binary cross-entropy from logits,
softmax cross-entropy and a weighted MSE, each returning ``(loss, dpred)``.

Each mutant is a mistake learners make with losses (a missing 2 or 1/N, a flipped sign, the
gradient with respect to probabilities, no max-shift, log of a rounded sigmoid, ...); ``loses``
lists every test cell it must fail, and ``explains`` a phrase of the message the first failing
check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "07-losses"

_MSE = '''def mse_loss(pred, target):
    """MSE over all entries."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
'''
_BCE = '''def bce_with_logits_loss(logits, target):
    """BCE from logits."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
'''
_BCE_STABLE_LOSS = "    loss = float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(e)))\n"
_CE = '''def softmax_cross_entropy_loss(logits, y):
    """Softmax cross-entropy, mean over rows."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y)
    n = z.shape[0]
    rows = np.arange(n)
'''
_CE_STABLE = '''    shifted = z - z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    p = np.exp(log_probs)
    onehot = np.zeros_like(z)
    onehot[rows, y] = 1.0
    loss = float(-np.mean(log_probs[rows, y]))
'''
_WMSE = '''def weighted_mse_loss(pred, target, weights):
    """Weighted MSE, mean over all entries."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
'''

_MSE_ALL = ["test_mse_loss_value", "test_mse_loss_grad"]
_WMSE_ALL = ["test_weighted_mse_loss_value", "test_weighted_mse_loss_grad"]

MUTANTS = [
    # ----------------------------------------------------------------- mse_loss
    Mutant(
        cell="mse_loss",
        name="gradient missing the 2",
        source=_MSE + "    return float(np.mean(diff**2)), diff / diff.size\n",
        loses=["test_mse_loss_grad"],
        explains="missing the factor 2",
    ),
    Mutant(
        cell="mse_loss",
        name="a factor 1/2 in the loss and its gradient",
        source=_MSE + "    return float(0.5 * np.mean(diff**2)), diff / diff.size\n",
        loses=_MSE_ALL,
        explains="no factor 1/2",
    ),
    Mutant(
        cell="mse_loss",
        name="mean over the N rows only",
        source=_MSE + '''    n = diff.shape[0]
    return float(np.sum(diff**2) / n), 2.0 * diff / n
''',
        loses=_MSE_ALL,
        explains="not over the N rows",
    ),
    Mutant(
        cell="mse_loss",
        name="gradient sign flipped",
        source=_MSE + "    return float(np.mean(diff**2)), -2.0 * diff / diff.size\n",
        loses=["test_mse_loss_grad"],
        explains="sign is flipped",
    ),
    Mutant(
        cell="mse_loss",
        name="gradient without the 1/S",
        source=_MSE + "    return float(np.mean(diff**2)), 2.0 * diff\n",
        loses=["test_mse_loss_grad"],
        explains="missing the 1/size",
    ),
    # ----------------------------------------------------------------- bce_with_logits_loss
    Mutant(
        cell="bce_with_logits_loss",
        name="naive log(sigmoid) loss",
        source=_BCE + '''    p = 1.0 / (1.0 + np.exp(-z))
    loss = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    return loss, (s - y) / z.size
''',
        loses=["test_bce_with_logits_loss_large_logits"],
        explains="reach log(0)",
    ),
    Mutant(
        cell="bce_with_logits_loss",
        name="clipped probabilities",
        source=_BCE + '''    p = np.clip(s, 1e-12, 1 - 1e-12)
    loss = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    return loss, (s - y) / z.size
''',
        loses=["test_bce_with_logits_loss_large_logits"],
        explains="were clipped",
    ),
    Mutant(
        cell="bce_with_logits_loss",
        name="gradient sign flipped",
        source=_BCE + _BCE_STABLE_LOSS + "    return loss, (y - s) / z.size\n",
        loses=["test_bce_with_logits_loss_grad", "test_bce_with_logits_loss_large_logits"],
        explains="sign is flipped",
    ),
    Mutant(
        cell="bce_with_logits_loss",
        name="gradient without the 1/S",
        source=_BCE + _BCE_STABLE_LOSS + "    return loss, s - y\n",
        loses=["test_bce_with_logits_loss_grad", "test_bce_with_logits_loss_large_logits"],
        explains="without the 1/size",
    ),
    Mutant(
        cell="bce_with_logits_loss",
        name="gradient with respect to the probability",
        source=_BCE + _BCE_STABLE_LOSS + '''    with np.errstate(all="ignore"):
        return loss, (s - y) / (s * (1 - s)) / z.size
''',
        loses=["test_bce_with_logits_loss_grad", "test_bce_with_logits_loss_large_logits"],
        explains="with respect to the PROBABILITY",
    ),
    Mutant(
        cell="bce_with_logits_loss",
        name="sum instead of mean in the loss",
        source=_BCE + '''    loss = float(np.sum(np.maximum(z, 0.0) - z * y + np.log1p(e)))
    return loss, (s - y) / z.size
''',
        loses=[
            "test_bce_with_logits_loss_value",
            "test_bce_with_logits_loss_grad",
            "test_bce_with_logits_loss_large_logits",
        ],
        explains="the SUM over the elements",
    ),
    # ----------------------------------------------------------------- softmax_cross_entropy_loss
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="no max-shift",
        source=_CE + '''    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(p[rows, y])))
    d = p.copy()
    d[rows, y] -= 1.0
    return loss, d / n
''',
        loses=["test_softmax_cross_entropy_loss_large_logits"],
        explains="subtract each row's max",
    ),
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="max-shift but log of the probability",
        source=_CE + '''    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        loss = float(-np.mean(np.log(p[rows, y])))
    d = p.copy()
    d[rows, y] -= 1.0
    return loss, d / n
''',
        loses=["test_softmax_cross_entropy_loss_large_logits"],
        explains="log-sum-exp",
    ),
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="gradient without the 1/N",
        source=_CE + _CE_STABLE + "    return loss, p - onehot\n",
        loses=["test_softmax_cross_entropy_loss_grad", "test_softmax_cross_entropy_loss_large_logits"],
        explains="without the 1/N",
    ),
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="gradient sign flipped",
        source=_CE + _CE_STABLE + "    return loss, (onehot - p) / n\n",
        loses=["test_softmax_cross_entropy_loss_grad", "test_softmax_cross_entropy_loss_large_logits"],
        explains="sign is flipped",
    ),
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="gradient with respect to the probabilities",
        source=_CE + _CE_STABLE + '''    with np.errstate(divide="ignore"):
        return loss, np.where(onehot == 1, -1.0 / (p * n), 0.0)
''',
        loses=["test_softmax_cross_entropy_loss_grad", "test_softmax_cross_entropy_loss_large_logits"],
        explains="with respect to the PROBABILITIES",
    ),
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="loss summed over the rows",
        source=_CE + _CE_STABLE + "    return loss * n, (p - onehot) / n\n",
        loses=[
            "test_softmax_cross_entropy_loss_value",
            "test_softmax_cross_entropy_loss_grad",
            "test_softmax_cross_entropy_loss_large_logits",
        ],
        explains="the SUM over the N examples",
    ),
    Mutant(
        cell="softmax_cross_entropy_loss",
        name="softmax over the batch axis",
        source=_CE + '''    shifted = z - z.max(axis=0, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    p = np.exp(log_probs)
    p[rows, y] -= 1.0
    return float(-np.mean(log_probs[rows, y])), p / n
''',
        loses=[
            "test_softmax_cross_entropy_loss_value",
            "test_softmax_cross_entropy_loss_grad",
            "test_softmax_cross_entropy_loss_large_logits",
        ],
        explains="batch axis",
    ),
    # ----------------------------------------------------------------- weighted_mse_loss
    Mutant(
        cell="weighted_mse_loss",
        name="weights ignored in the gradient",
        source=_WMSE + "    return float(np.mean(w * diff**2)), 2.0 * diff / diff.size\n",
        loses=["test_weighted_mse_loss_grad"],
        explains="weights are missing from the gradient",
    ),
    Mutant(
        cell="weighted_mse_loss",
        name="normalised by the sum of the weights",
        source=_WMSE + '''    wb = np.broadcast_to(w, diff.shape)
    return float(np.sum(wb * diff**2) / wb.sum()), 2.0 * wb * diff / wb.sum()
''',
        loses=_WMSE_ALL,
        explains="sum of the weights",
    ),
    Mutant(
        cell="weighted_mse_loss",
        name="gradient missing the 2",
        source=_WMSE + "    return float(np.mean(w * diff**2)), w * diff / diff.size\n",
        loses=["test_weighted_mse_loss_grad"],
        explains="missing the factor 2",
    ),
    Mutant(
        cell="weighted_mse_loss",
        name="weight inside the square",
        source=_WMSE + "    return float(np.mean((w * diff) ** 2)), 2.0 * w**2 * diff / diff.size\n",
        loses=_WMSE_ALL,
        explains="the weight squared",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="mse_loss",
        name="sum of squares by a dot product, divided by size",
        source='''def mse_loss(pred, target):
    """MSE over all entries."""
    e = (np.asarray(pred, dtype=float) - target).ravel()
    size = e.size
    return float(e @ e / size), (2.0 / size) * (np.asarray(pred, dtype=float) - target)
''',
    ),
    Alternative(
        cell="bce_with_logits_loss",
        name="logaddexp for the loss and tanh for the sigmoid",
        source='''def bce_with_logits_loss(logits, target):
    """BCE from logits via log(1 + e^-z) = logaddexp(0, -z)."""
    z = np.asarray(logits, dtype=float)
    y = np.asarray(target, dtype=float)
    per = y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(per.sum() / per.size), (s - y) / per.size
''',
    ),
    Alternative(
        cell="bce_with_logits_loss",
        name="plain sigmoid for the gradient (overflow warning only)",
        source='''def bce_with_logits_loss(logits, target):
    """Stable loss; the gradient's sigmoid may overflow to exp(inf) = inf, which still gives 0."""
    z = np.asarray(logits, dtype=float)
    y = np.asarray(target, dtype=float)
    loss = np.mean(np.maximum(z, 0) - z * y + np.log(1 + np.exp(-np.abs(z))))
    s = 1 / (1 + np.exp(-z))
    return loss, (s - y) / z.size
''',
    ),
    Alternative(
        cell="softmax_cross_entropy_loss",
        name="logaddexp.reduce and a one-hot matrix from np.eye",
        source='''def softmax_cross_entropy_loss(logits, y):
    """Softmax CE via np.logaddexp.reduce (itself stable)."""
    z = np.asarray(logits, dtype=float)
    n, c = z.shape
    lse = np.logaddexp.reduce(z, axis=1)
    onehot = np.eye(c)[np.asarray(y)]
    loss = np.mean(lse - np.sum(z * onehot, axis=1))
    probs = np.exp(z - lse[:, None])
    return loss, (probs - onehot) / n
''',
    ),
    Alternative(
        cell="weighted_mse_loss",
        name="broadcast weights explicitly, vdot for the sum",
        source='''def weighted_mse_loss(pred, target, weights):
    """Weighted MSE with the weights broadcast to pred's shape first."""
    pred = np.asarray(pred, dtype=float)
    diff = pred - np.asarray(target, dtype=float)
    w = np.broadcast_to(np.asarray(weights, dtype=float), pred.shape)
    total = np.vdot(w * diff, diff)
    return float(total) / pred.size, 2 * w * diff / pred.size
''',
    ),
]
