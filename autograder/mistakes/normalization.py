"""Known mistakes of batch and layer normalization (notebook 12).

Inputs, as the graded functions get them: ``(x, gamma, beta, param)`` for the forward passes
(``param`` is ``bn_param``, with its ``"mode"``, or ``ln_param``, which may be ``None``), and
for the backward passes the inputs of the forward call whose cache they got and the upstream
gradient, ``(x, gamma, beta, param, dout)``. :data:`RUNNING_MEAN` and :data:`RUNNING_VAR` compute
what a train-mode call leaves in ``bn_param["running_mean"]`` and ``bn_param["running_var"]``,
from ``bn_param`` as it was given to the call. x is (N, D).

Batch norm's statistics run over the batch (axis 0), layer norm's over each example's features
(axis 1); a mistake that uses the other axis's statistics computes the other layer's right answer,
so it is a relation (as is every mistake that is a right answer for other inputs: the default eps,
gamma of ones). A mistake that would be right for the given inputs (one example, one feature)
gives ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import Mistake, same_as

__all__ = [
    "BATCHNORM_DBETA",
    "BATCHNORM_DGAMMA",
    "BATCHNORM_DX",
    "BATCHNORM_FORWARD",
    "LAYERNORM_DBETA",
    "LAYERNORM_DGAMMA",
    "LAYERNORM_DX",
    "LAYERNORM_FORWARD",
    "RUNNING_MEAN",
    "RUNNING_VAR",
]

DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.9


def _eps(param: dict[str, Any] | None) -> float:
    return float((param or {}).get("eps", DEFAULT_EPS))


def _eps_given(param: dict[str, Any] | None) -> bool:
    return _eps(param) != DEFAULT_EPS




def _plain(gamma: Any, beta: Any) -> bool:
    """gamma all ones and beta all zeros: out is xhat itself."""
    return bool(np.all(np.asarray(gamma) == 1) and not np.any(beta))


# ----------------------------------------------------------------------------- forward


def _statistics(x: np.ndarray, param: dict[str, Any] | None, axis: int) -> tuple[Any, Any] | None:
    """The (mean, var) the layer normalizes with: over ``axis`` (kept), or bn_param's running
    averages in test mode; ``None`` where every variant of the layer gives beta (one value)."""
    given = param or {}
    if given.get("mode") == "test":
        d = np.shape(x)[1]
        return (np.asarray(given.get("running_mean", np.zeros(d)), dtype=np.float64),
                np.asarray(given.get("running_var", np.zeros(d)), dtype=np.float64))
    if np.shape(x)[axis] < 2:
        return None
    return x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)


def _forward(axis: int, mistaken: Callable[..., Any]) -> Callable[..., Any]:
    """A forward mistake from the statistics: ``mistaken(x, gamma, beta, mean, var, eps)``."""

    def result(x: Any, gamma: Any, beta: Any, param: dict[str, Any] | None) -> Any:
        x = np.asarray(x, dtype=np.float64)
        stats = _statistics(x, param, axis)
        return None if stats is None else mistaken(x, gamma, beta, *stats, _eps(param))

    return result


def _train(param: dict[str, Any] | None) -> bool:
    return (param or {}).get("mode") == "train"


def _test(param: dict[str, Any] | None) -> bool:
    return (param or {}).get("mode") == "test"


def _shared(axis: int, name: str) -> list[Mistake]:
    """The mistakes batch norm (axis 0) and layer norm (axis 1) share, ``name`` its param dict."""
    return [
        Mistake("eps outside", "eps added outside the square root: use sqrt(var + eps)",
                _forward(axis, lambda x, g, b, mean, var, eps: g * (x - mean) / (np.sqrt(var) + eps)
                         + b)),
        Mistake("default eps", f"normalized with the default eps = 1e-5: use {name}['eps'] when "
                "it is given",
                relation=same_as(lambda x, g, b, param: _forward(
                    axis, lambda x, g, b, mean, var, eps: g * (x - mean) / np.sqrt(
                        var + DEFAULT_EPS) + b)(x, g, b, param) if _eps_given(param) else None)),
        Mistake("variance", "divided by the variance, not by the standard deviation "
                "sqrt(var + eps)",
                _forward(axis, lambda x, g, b, mean, var, eps: g * (x - mean) / (var + eps) + b
                         if np.any(var + eps != 1) else None)),
        Mistake("not scaled", "xhat, not scaled and shifted: out = gamma * xhat + beta",
                relation=same_as(lambda x, g, b, param: _forward(
                    axis, lambda x, g, b, mean, var, eps: (x - mean) / np.sqrt(var + eps))(
                    x, g, b, param) if not _plain(g, b) else None)),
        Mistake("gamma and beta swapped", "beta * xhat + gamma, gamma and beta swapped: out = "
                "gamma * xhat + beta",
                relation=same_as(lambda x, g, b, param: _forward(
                    axis, lambda x, g, b, mean, var, eps: b * (x - mean) / np.sqrt(var + eps) + g)(
                    x, g, b, param) if not np.array_equal(g, b) else None)),
    ]


BATCHNORM_FORWARD = [
    Mistake("N - 1", "the variance divided by N - 1; batch norm divides by N (x.var(axis=0))",
            lambda x, g, b, param: _forward(
                0, lambda x, g, b, mean, var, eps: g * (x - mean) / np.sqrt(
                    x.var(axis=0, ddof=1) + eps) + b)(x, g, b, param) if _train(param) else None),
    *_shared(0, "bn_param"),
    Mistake("axis 1", "the statistics of each row (axis 1); batch norm normalizes each feature "
            "(column) over the batch, axis 0",
            relation=same_as(lambda x, g, b, param: _forward(
                1, lambda x, g, b, mean, var, eps: g * (x - mean) / np.sqrt(var + eps) + b)(
                x, g, b, {"eps": _eps(param)}) if _train(param) else None)),
    Mistake("batch statistics", "normalized with the batch's own statistics: in test mode "
            "normalize with bn_param's running_mean and running_var",
            relation=same_as(lambda x, g, b, param: _forward(
                0, lambda x, g, b, mean, var, eps: g * (x - mean) / np.sqrt(var + eps) + b)(
                x, g, b, {"eps": _eps(param)}) if _test(param) else None)),
]

LAYERNORM_FORWARD = [
    Mistake("axis 0", "the statistics of each feature over the batch (axis 0), as in batch norm; "
            "layer norm normalizes each example (row) over its features, axis 1",
            relation=same_as(lambda x, g, b, param: _forward(
                0, lambda x, g, b, mean, var, eps: g * (x - mean) / np.sqrt(var + eps) + b)(
                x, g, b, {"eps": _eps(param)}))),
    Mistake("D - 1", "the variance divided by D - 1; layer norm divides by D (x.var(axis=1))",
            _forward(1, lambda x, g, b, mean, var, eps: g * (x - mean) / np.sqrt(
                x.var(axis=1, ddof=1, keepdims=True) + eps) + b)),
    *_shared(1, "ln_param"),
]


# ----------------------------------------------------------------------------- running averages


def _running(key: str, batch: Callable[[np.ndarray], np.ndarray],
             mistaken: Callable[..., Any]) -> Callable[..., Any]:
    """A mistaken bn_param[key] after a train-mode call: ``mistaken(old, batch, momentum, x)``,
    ``None`` where the old value is the batch's (every variant agrees then)."""

    def result(x: Any, gamma: Any, beta: Any, param: dict[str, Any]) -> Any:
        x = np.asarray(x, dtype=np.float64)
        old = np.asarray(param.get(key, np.zeros(x.shape[1])), dtype=np.float64)
        now = batch(x)
        if not _train(param) or not np.any(old != now):
            return None
        return mistaken(old, now, float(param.get("momentum", DEFAULT_MOMENTUM)), x)

    return result


def _averages(key: str, batch: Callable[[np.ndarray], np.ndarray]) -> list[Mistake]:
    return [
        Mistake("not updated", "the old running value: the running averages were not updated; "
                "in train mode store momentum * running + (1 - momentum) * batch statistic in "
                "bn_param", _running(key, batch, lambda old, now, m, x: old if m != 1 else None)),
        Mistake("momentum swapped", "the momentum weights swapped: momentum weights the OLD "
                "running value, running = momentum * running + (1 - momentum) * batch",
                _running(key, batch, lambda old, now, m, x: m * now + (1 - m) * old
                         if m != 0.5 else None)),
        Mistake("batch alone", "the batch statistic alone: average it into the old value, "
                "running = momentum * running + (1 - momentum) * batch",
                _running(key, batch, lambda old, now, m, x: now if m != 0 else None)),
    ]


RUNNING_MEAN = _averages("running_mean", lambda x: x.mean(axis=0))

RUNNING_VAR = [
    *_averages("running_var", lambda x: x.var(axis=0)),
    Mistake("unbiased", "the running variance made from the unbiased variance (N - 1): store the "
            "variance batch norm normalizes with, x.var(axis=0)",
            _running("running_var", lambda x: x.var(axis=0), lambda old, now, m, x: m * old + (
                1 - m) * x.var(axis=0, ddof=1) if m != 1 and len(x) > 1 else None)),
    Mistake("standard deviation", "the running variance made from the standard deviation: "
            "average the variance",
            _running("running_var", lambda x: x.var(axis=0), lambda old, now, m, x: m * old + (
                1 - m) * np.sqrt(now) if m != 1 and np.any(np.sqrt(now) != now) else None)),
]


# ----------------------------------------------------------------------------- backward


def _backward(axis: int, mistaken: Callable[..., Any]) -> Callable[..., Any]:
    """A backward mistake from the normalization's parts: ``mistaken(s, xhat, g, dout, count)``
    with s = 1 / sqrt(var + eps) and xhat over ``axis``, g = dout * gamma, count = x.shape[axis]
    (``None`` for one value along the axis, where dx is 0 whatever the formula, and for batch
    norm in test mode, whose statistics are constants)."""

    def result(x: Any, gamma: Any, beta: Any, param: dict[str, Any] | None, dout: Any) -> Any:
        x, dout = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
        if x.shape[axis] < 2 or (axis == 0 and not _train(param)):
            return None
        s = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + _eps(param))
        xhat = (x - x.mean(axis=axis, keepdims=True)) * s
        return mistaken(s, xhat, dout * gamma, dout, x.shape[axis])

    return result


def _dx(axis: int) -> list[Mistake]:
    count = "N" if axis == 0 else "D"
    over = "the batch (axis 0)" if axis == 0 else "each example's features (axis 1)"

    def total(a: np.ndarray, along: int = axis) -> np.ndarray:
        return a.sum(axis=along, keepdims=True)

    return [
        Mistake("no mean path", "missing the path through the mean: x also reaches the loss "
                f"through mu = mean(x); add dmu / {count} with dmu = -sum(dxc) (in the compact "
                "formula: the - sum(g) term)",
                _backward(axis, lambda s, xhat, g, dout, n: s * g - s / n * xhat * total(g * xhat))),
        Mistake("no variance path", "missing the path through the variance (the - xhat * "
                "sum(g * xhat) term of the compact formula)",
                _backward(axis, lambda s, xhat, g, dout, n: s * (g - total(g) / n))),
        Mistake("half variance path", "the path through the variance at half its size: var = "
                f"mean(xc**2) gives each xc the derivative 2 * xc / {count}, so dxc gets "
                f"2 / {count} * xc * dvar",
                _backward(axis, lambda s, xhat, g, dout, n: s * (g - total(g) / n)
                          - s / (2 * n) * xhat * total(g * xhat))),
        Mistake("constants", "the gradient with mean and variance treated as constants (the "
                "test-mode formula); in train mode they depend on x",
                _backward(axis, lambda s, xhat, g, dout, n: s * g)),
        Mistake("no gamma", "computed from dout instead of g = dout * gamma: multiply by gamma "
                "first (dxhat = dout * gamma)",
                relation=same_as(lambda x, gamma, beta, param, dout: _backward(
                    axis, lambda s, xhat, g, dout, n: s / n * (
                        n * dout - total(dout) - xhat * total(dout * xhat)))(
                    x, gamma, beta, param, dout) if not np.all(np.asarray(gamma) == 1) else None)),
        Mistake("wrong axis", f"summed along the wrong axis: the normalization's sums run over "
                f"{over}",
                _backward(axis, lambda s, xhat, g, dout, n: s / g.shape[1 - axis] * (
                    g.shape[1 - axis] * g - total(g, 1 - axis)
                    - xhat * total(g * xhat, 1 - axis)))),
    ]


def _dgamma(axis: int) -> list[Mistake]:
    return [
        Mistake("over features", "dgamma summed over axis 1 (the features); sum over axis 0, the "
                "batch: gamma and beta are shared by every example, one entry per feature",
                _backward(axis, lambda s, xhat, g, dout, n: (dout * xhat).sum(axis=1))),
        Mistake("no xhat", "sum(dout) over the batch, without xhat: dgamma must be weighted by "
                "xhat, dgamma = sum over the batch of dout * xhat",
                relation=same_as(lambda x, gamma, beta, param, dout: np.sum(dout, axis=0))),
    ]


def _dbeta(axis: int) -> list[Mistake]:
    return [
        Mistake("over features", "dbeta summed over axis 1 (the features); sum over axis 0, the "
                "batch: gamma and beta are shared by every example, one entry per feature",
                lambda x, gamma, beta, param, dout: np.sum(dout, axis=1)),
        Mistake("swapped", "sum(dout * xhat), which is dgamma: dgamma and dbeta are swapped; "
                "dbeta = sum(dout), dgamma = sum(dout * xhat)",
                relation=same_as(_backward(axis, lambda s, xhat, g, dout, n: (dout * xhat).sum(
                    axis=0)))),
    ]


BATCHNORM_DX = _dx(0)
BATCHNORM_DGAMMA = _dgamma(0)
BATCHNORM_DBETA = _dbeta(0)
LAYERNORM_DX = _dx(1)
LAYERNORM_DGAMMA = _dgamma(1)
LAYERNORM_DBETA = _dbeta(1)
