"""Affine layer and elementwise activations as functional forward/backward pairs.

Every layer comes as ``*_forward(...) -> (out, cache)`` beside ``*_backward(dout, cache)``:
forward keeps in ``cache`` (a tuple) exactly what backward needs, and backward turns the upstream
gradient ``dout`` (same shape as ``out``) into the gradient of each input.

Dimension legend: N batch, D in (features per example after flattening), M out.
Derivations: notebooks 05 (linear layer) and 06 (activations).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bplib._checks import as_float_array, check_finite, check_ndim, check_same_shape, check_shape

__all__ = [
    "affine_backward",
    "affine_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]


def affine_forward(x: Any, w: Any, b: Any) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Affine (fully connected) layer: ``out = x_flat @ w + b``.

    Args:
        x: inputs of shape (N, d1, ..., dk); each example is flattened to D = d1 * ... * dk
            features, so an image batch (N, 3, 8, 8) has D = 192.
        w: weights of shape (D, M).
        b: biases of shape (M,).

    Returns:
        out: shape (N, M).
        cache: ``(x, w)`` -- the input in its original shape (N, d1, ..., dk) and the weights
            (D, M). ``b`` is not cached: ``db`` does not depend on it.

    Raises:
        ValueError: ``x`` without a batch dimension, ``w`` not 2-D, a feature count that does
            not match ``w.shape[0]``, ``b`` not of shape (M,), or NaN/inf in any input.
    """
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = as_float_array(b, "b")
    if x.ndim < 2:
        raise ValueError(
            f"x must have shape (N, d1, ..., dk) with a batch dimension first, got {x.shape}"
        )
    check_ndim(w, 2, "w", "(D, M)")
    n = x.shape[0]
    d = math.prod(x.shape[1:])
    if d != w.shape[0]:
        raise ValueError(
            f"x has {d} features per example (shape {x.shape}) "
            f"but w expects {w.shape[0]} input features (w has shape {w.shape})"
        )
    check_shape(b, (w.shape[1],), "b", "(M,)")
    with np.errstate(invalid="ignore"):  # a nan made from a bad input is reported below
        out = x.reshape(n, d) @ w + b
    # A NaN or inf in x, w or b would quietly spread to every later output and gradient: stop it
    # here. It always reaches out (even inf * 0 is nan), and out is smaller than x and w, so out
    # is what is tested; the inputs are searched only to name the one at fault.
    if out.size == 0 or not np.isfinite(out).all():
        check_finite(x, "x")
        check_finite(w, "w")
        check_finite(b, "b")
    return out, (x, w)


def affine_backward(
    dout: Any, cache: tuple[np.ndarray, np.ndarray], *, input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Backward pass of :func:`affine_forward`.

    Args:
        dout: upstream gradient of shape (N, M).
        cache: ``(x, w)`` from :func:`affine_forward`, x of shape (N, d1, ..., dk), w (D, M).
        input_grad: ``False`` skips ``dx`` (returned as ``None``): the first layer of a network
            needs no gradient for its input, the data, and ``dx`` costs as much as ``dw``.

    Returns:
        dx: shape (N, d1, ..., dk), the same shape as ``x`` (``dout @ w.T`` reshaped back).
        dw: shape (D, M), ``x_flat.T @ dout``.
        db: shape (M,), ``dout`` summed over the batch.
    """
    x, w = cache
    dout = as_float_array(dout, "dout")
    n = x.shape[0]
    check_shape(dout, (n, w.shape[1]), "dout", "(N, M) like out")
    dx = (dout @ w.T).reshape(x.shape) if input_grad else None
    dw = x.reshape(n, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rectified linear unit, elementwise: ``out = max(0, x)``.

    Args:
        x: input of any shape, e.g. (N, D).

    Returns:
        out: same shape as ``x``.
        cache: ``x``, the INPUT (not the output); backward masks on ``x > 0``.
    """
    x = as_float_array(x, "x")
    return np.maximum(x, 0.0), x


def relu_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`relu_forward`.

    Args:
        dout: upstream gradient, same shape as ``x``.
        cache: ``x`` from the forward pass.

    Returns:
        dx: same shape as ``x``; ``dout`` where ``x > 0`` and 0 elsewhere (the subgradient at
        exactly 0 is taken as 0).
    """
    x = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(dout, x, "dout", "out")
    # dout times the 0/1 mask. For a finite dout these are the numbers np.where(x > 0, dout, 0)
    # gives (a masked negative entry becomes -0.0, which == 0), several times faster: np.where
    # branches on every element, and a mask that is half ones at random defeats prediction.
    return dout * (x > 0)


def leaky_relu_forward(x: Any, alpha: float = 0.01) -> tuple[np.ndarray, tuple[np.ndarray, float]]:
    """Leaky ReLU, elementwise: ``out = x`` where ``x > 0``, else ``alpha * x``.

    Args:
        x: input of any shape, e.g. (N, D).
        alpha: slope for non-positive inputs, a finite number (0.01 by default).

    Returns:
        out: same shape as ``x``.
        cache: ``(x, alpha)`` -- the INPUT and the slope; backward uses slope 1 where ``x > 0``
            and ``alpha`` elsewhere.
    """
    x = as_float_array(x, "x")
    alpha = _finite_scalar(alpha, "alpha")
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout: Any, cache: tuple[np.ndarray, float]) -> np.ndarray:
    """Backward pass of :func:`leaky_relu_forward`.

    Args:
        dout: upstream gradient, same shape as ``x``.
        cache: ``(x, alpha)`` from the forward pass.

    Returns:
        dx: same shape as ``x``; ``dout`` where ``x > 0``, ``alpha * dout`` elsewhere.
    """
    x, alpha = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(dout, x, "dout", "out")
    return np.where(x > 0, dout, alpha * dout)


def sigmoid_forward(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, elementwise: ``out = 1 / (1 + exp(-x))``.

    Numerically stable for any finite ``x``: ``exp`` is only ever applied to ``-|x|``, so it never
    overflows (``x = -1000`` gives 0.0 without a warning, ``x = 1000`` gives 1.0).

    Args:
        x: input of any shape, e.g. (N, D).

    Returns:
        out: same shape as ``x``, values in [0, 1].
        cache: ``out``, the OUTPUT (not the input). The derivative is ``out * (1 - out)``,
            written in terms of the output -- which is why ``sigmoid_derivative(s) = s*(1-s)``
            expects ``s = sigmoid(x)`` and is wrong when given ``x``.
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))  # in (0, 1]: safe for any magnitude
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, out


def sigmoid_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`sigmoid_forward`.

    Args:
        dout: upstream gradient, same shape as ``x``.
        cache: ``out`` = sigmoid(x) from the forward pass.

    Returns:
        dx: same shape as ``x``, ``dout * out * (1 - out)``.
    """
    out = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(dout, out, "dout", "out")
    return dout * out * (1.0 - out)


def tanh_forward(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent, elementwise.

    Args:
        x: input of any shape, e.g. (N, D).

    Returns:
        out: same shape as ``x``, values in [-1, 1].
        cache: ``out``, the OUTPUT; the derivative is ``1 - out**2``.
    """
    x = as_float_array(x, "x")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`tanh_forward`.

    Args:
        dout: upstream gradient, same shape as ``x``.
        cache: ``out`` = tanh(x) from the forward pass.

    Returns:
        dx: same shape as ``x``, ``dout * (1 - out**2)``.
    """
    out = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(dout, out, "dout", "out")
    return dout * (1.0 - out**2)


def _finite_scalar(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite real number."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result
