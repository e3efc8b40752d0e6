"""Batch normalization and layer normalization as functional forward/backward pairs.

Dimension legend: N batch, D features. Batch norm normalizes each feature over the batch
(axis 0); layer norm normalizes each example over its features (axis 1).
Derivations (the step-by-step graph and the compact formula): notebook 12 (normalization).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bplib._checks import (
    as_float_array,
    check_choice,
    check_finite,
    check_ndim,
    check_shape,
    require_keys,
)

__all__ = [
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "layernorm_backward",
    "layernorm_forward",
]

_MODES = ("train", "test")

# (xhat, xc, inv_std, gamma, mode): normalized input (N, D), centred input (N, D),
# 1/sqrt(var + eps) (D,), gamma (D,) and "train"/"test".
BatchNormCache = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]


def batchnorm_forward(
    x: Any, gamma: Any, beta: Any, bn_param: dict[str, Any]
) -> tuple[np.ndarray, BatchNormCache]:
    """Batch normalization: ``out = gamma * (x - mean) / sqrt(var + eps) + beta`` per feature.

    Train mode uses the batch's mean and BIASED variance (divide by N) and updates the running
    statistics IN ``bn_param`` (the one deliberate side effect, so the caller's dict carries them
    to test time): ``running = momentum * running + (1 - momentum) * batch_stat``. The stored
    arrays are replaced by new ones, never modified in place. Test mode uses the running
    statistics and changes nothing.

    Args:
        x: input of shape (N, D).
        gamma: scale of shape (D,).
        beta: shift of shape (D,).
        bn_param: dictionary with keys
            - ``"mode"`` (required): ``"train"`` or ``"test"``.
            - ``"eps"``: added to the variance for stability, > 0 (default 1e-5).
            - ``"momentum"``: weight of the old running value, in [0, 1] (default 0.9).
            - ``"running_mean"``, ``"running_var"``: shape (D,); when absent both start as
              zeros of shape (D,) (CS231n's convention, also for the variance).

    Returns:
        out: shape (N, D).
        cache: ``(xhat, xc, inv_std, gamma, mode)`` -- the normalized input (N, D), the centred
            input ``x - mean`` (N, D), ``1 / sqrt(var + eps)`` (D,), ``gamma`` (D,) and the mode
            (in test mode mean and var are the running statistics, which do not depend on x).

    Raises:
        ValueError: bad shapes, NaN/inf inputs, an unknown mode, bad eps/momentum, or N = 1 in
            train mode (the variance of a single example is 0, so every output would be beta).
    """
    x, gamma, beta = _check_inputs(x, gamma, beta, "batchnorm_forward")
    require_keys(bn_param, ("mode",), "bn_param")
    mode = bn_param["mode"]
    check_choice(mode, _MODES, 'bn_param["mode"]')
    eps = _number_in(bn_param.get("eps", 1e-5), 'bn_param["eps"]', low=0.0, low_open=True)
    momentum = _number_in(bn_param.get("momentum", 0.9), 'bn_param["momentum"]', 0.0, high=1.0)
    n, d = x.shape
    running_mean = as_float_array(bn_param.get("running_mean", np.zeros(d)), "running_mean")
    running_var = as_float_array(bn_param.get("running_var", np.zeros(d)), "running_var")
    check_shape(running_mean, (d,), 'bn_param["running_mean"]', "(D,)")
    check_shape(running_var, (d,), 'bn_param["running_var"]', "(D,)")

    if mode == "train":
        if n < 2:
            raise ValueError(
                f"batch norm in train mode needs at least 2 examples, got x of shape {x.shape}: "
                "the variance of a single example is 0, so every output would equal beta"
            )
        mean = x.mean(axis=0)
        var = x.var(axis=0)  # biased (divide by N), as in the normalization itself
        bn_param["running_mean"] = momentum * running_mean + (1.0 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1.0 - momentum) * var
    else:
        mean, var = running_mean, running_var

    xc = x - mean
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc * inv_std
    out = gamma * xhat + beta
    return out, (xhat, xc, inv_std, gamma, mode)


def batchnorm_backward(
    dout: Any, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`batchnorm_forward`, one node of the computational graph at a time.

    The forward graph (train mode) is ``mean -> xc = x - mean -> var = mean(xc**2) ->
    inv_std = 1/sqrt(var + eps) -> xhat = xc * inv_std -> out = gamma * xhat + beta``;
    this function walks it backwards. :func:`batchnorm_backward_alt` gives the same result
    with one collapsed formula.

    Args:
        dout: upstream gradient of shape (N, D).
        cache: ``(xhat, xc, inv_std, gamma, mode)`` from :func:`batchnorm_forward`.

    Returns:
        dx: shape (N, D).
        dgamma: shape (D,).
        dbeta: shape (D,).
    """
    xhat, xc, inv_std, gamma, mode = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, xhat.shape, "dout", "(N, D) like out")
    n = dout.shape[0]

    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    # xhat = xc * inv_std: xc receives one path here, inv_std collects over the batch.
    dxc = dxhat * inv_std
    if mode == "test":
        return dxc, dgamma, dbeta  # mean and var are constants at test time
    dinv_std = (dxhat * xc).sum(axis=0)
    # inv_std = (var + eps) ** -0.5
    dvar = -0.5 * inv_std**3 * dinv_std
    # var = mean(xc ** 2): the second path into xc
    dxc = dxc + (2.0 / n) * xc * dvar
    # xc = x - mean: x gets dxc directly; mean = sum(x) / N spreads -sum(dxc) back evenly
    dmean = -dxc.sum(axis=0)
    dx = dxc + dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(
    dout: Any, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`batchnorm_forward` as one compact formula.

    With ``g = dout * gamma`` (the gradient reaching ``xhat``), train mode gives
    ``dx = inv_std / N * (N * g - sum(g) - xhat * sum(g * xhat))`` (sums over the batch).
    Agrees with :func:`batchnorm_backward` to rounding error.

    Args:
        dout: upstream gradient of shape (N, D).
        cache: ``(xhat, xc, inv_std, gamma, mode)`` from :func:`batchnorm_forward`.

    Returns:
        dx: shape (N, D).
        dgamma: shape (D,).
        dbeta: shape (D,).
    """
    xhat, _, inv_std, gamma, mode = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, xhat.shape, "dout", "(N, D) like out")
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    g = dout * gamma
    if mode == "test":
        return g * inv_std, dgamma, dbeta
    dx = _normalized_input_grad(g, xhat, inv_std, axis=0)
    return dx, dgamma, dbeta


def layernorm_forward(
    x: Any, gamma: Any, beta: Any, ln_param: dict[str, Any] | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Layer normalization: normalize each example over its D features, then scale and shift.

    Same in training and at test time (no running statistics): every example uses its own mean
    and biased variance.

    Args:
        x: input of shape (N, D), D >= 2.
        gamma: scale of shape (D,).
        beta: shift of shape (D,).
        ln_param: optional dictionary; key ``"eps"`` (> 0, default 1e-5).

    Returns:
        out: shape (N, D).
        cache: ``(xhat, inv_std, gamma)`` -- the normalized input (N, D), ``1 / sqrt(var + eps)``
            per example (N, 1) and ``gamma`` (D,).

    Raises:
        ValueError: bad shapes, NaN/inf inputs, bad eps, or D = 1 (a single feature normalizes
            to 0, so every output would equal beta).
    """
    x, gamma, beta = _check_inputs(x, gamma, beta, "layernorm_forward")
    ln_param = {} if ln_param is None else ln_param
    eps = _number_in(ln_param.get("eps", 1e-5), 'ln_param["eps"]', low=0.0, low_open=True)
    if x.shape[1] < 2:
        raise ValueError(
            f"layer norm needs at least 2 features per example, got x of shape {x.shape}: "
            "a single feature always normalizes to 0, so every output would equal beta"
        )
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(
    dout: Any, cache: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`layernorm_forward`.

    Batch norm's compact formula with the roles of the axes swapped: the statistics run over
    each row's D features, while ``dgamma`` and ``dbeta`` still sum over the batch.

    Args:
        dout: upstream gradient of shape (N, D).
        cache: ``(xhat, inv_std, gamma)`` from :func:`layernorm_forward`.

    Returns:
        dx: shape (N, D).
        dgamma: shape (D,).
        dbeta: shape (D,).
    """
    xhat, inv_std, gamma = cache
    dout = as_float_array(dout, "dout")
    check_shape(dout, xhat.shape, "dout", "(N, D) like out")
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = _normalized_input_grad(dout * gamma, xhat, inv_std, axis=1)
    return dx, dgamma, dbeta


def _normalized_input_grad(
    g: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axis: int
) -> np.ndarray:
    """Gradient w.r.t. x of ``xhat = (x - mean) * inv_std`` given ``g = dL/dxhat``.

    Statistics taken along ``axis`` (0 for batch norm, 1 for layer norm); ``inv_std``
    broadcasts against ``g``.
    """
    k = g.shape[axis]
    g_sum = g.sum(axis=axis, keepdims=True)
    gx_sum = (g * xhat).sum(axis=axis, keepdims=True)
    return (inv_std / k) * (k * g - g_sum - xhat * gx_sum)


def _check_inputs(
    x: Any, gamma: Any, beta: Any, caller: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert and validate x (N, D), gamma (D,) and beta (D,) for a normalization layer."""
    x = as_float_array(x, "x")
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    check_ndim(x, 2, f"x of {caller}", "(N, D)")
    d = x.shape[1]
    for arr, name in ((gamma, "gamma"), (beta, "beta")):
        if arr.shape != (d,):
            raise ValueError(
                f"{name} must have shape ({d},) (one value per feature of x, which has shape "
                f"{x.shape}), got {arr.shape}"
            )
    # A NaN would silently spread through the batch statistics (and the running averages).
    for arr, name in ((x, "x"), (gamma, "gamma"), (beta, "beta")):
        check_finite(arr, name)
    return x, gamma, beta


def _number_in(
    value: Any,
    name: str,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it lies in the given range."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    too_low = result <= low if low_open else result < low
    too_high = high is not None and result > high
    if not np.isfinite(result) or too_low or too_high:
        left = "(" if low_open else "["
        right = f"{high}]" if high is not None else "inf)"
        raise ValueError(f"{name} must be in {left}{low}, {right}, got {value!r}")
    return result
