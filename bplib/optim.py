"""First-order update rules: SGD, SGD with momentum, RMSprop and Adam; gradient clipping.

Every rule has one signature::

    next_w, config = update(w, dw, config=None, *, out=None)

* ``w``: the parameter, any shape ``*`` (e.g. (D, M) for a weight matrix, (M,) for a bias).
* ``dw``: the gradient of the loss with respect to ``w``, the same shape as ``w``.
* ``config``: a dict of hyperparameters **and** the rule's running state (velocity, moment
  estimates, step count). Missing keys are filled in with ``config.setdefault``, so the dict you
  pass is updated and returned; pass the returned dict back on the next step. Each parameter
  needs its own config dict, because the state has that parameter's shape.
* ``next_w``: a new array; ``w`` and ``dw`` are never modified, and state arrays already in the
  config are replaced, not written into.
* ``out``: as in numpy, an array of ``w``'s shape that receives ``next_w`` (and is returned)
  instead of a new one. ``out=w`` updates the parameter in place, as a training loop does.

Gradient clipping (``clip_grad_norm``, notebook 14) works on all of a model's gradients at once,
before the update rule: it rescales them together when their joint norm exceeds a bound.

Weight decay: every rule reads ``config["weight_decay"]`` (default 0) and uses the gradient
``dw + weight_decay * w``, the gradient of the L2 penalty ``weight_decay / 2 * sum(w ** 2)``
added to the loss. For Adam this is *coupled* L2 (the decay passes through the moment estimates
and is rescaled by them), not AdamW's decoupled decay. Derivations: notebooks 10 and 11.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bplib._checks import as_float_array, check_choice, check_same_shape

__all__ = [
    "OPTIMIZERS",
    "UpdateRule",
    "adam",
    "clip_grad_norm",
    "get_optimizer",
    "rmsprop",
    "sgd",
    "sgd_momentum",
]

UpdateRule = Callable[..., tuple[np.ndarray, dict[str, Any]]]


def _start(w: Any, dw: Any, config: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validate ``w``/``dw``/``config`` shared by every rule and fill the shared defaults."""
    w = as_float_array(w, "w")
    dw = as_float_array(dw, "dw")
    check_same_shape(w, dw, "w", "dw")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict (or None), got {type(config).__name__}")
    config.setdefault("weight_decay", 0.0)
    if not config["weight_decay"] >= 0:
        raise ValueError(f'config["weight_decay"] must be >= 0, got {config["weight_decay"]!r}')
    return w, dw, config


def _check_out(out: np.ndarray | None, w: np.ndarray) -> None:
    """Require ``out`` to be None or an array of ``w``'s shape."""
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != w.shape):
        raise ValueError(
            f"out must be an array of w's shape {tuple(w.shape)}, got {np.shape(out)}"
        )


def _check_rate(config: dict[str, Any], key: str) -> None:
    """Require ``config[key] > 0`` (learning rates, epsilon)."""
    value = config[key]
    if not value > 0:
        raise ValueError(f'config["{key}"] must be > 0, got {value!r}')


def _check_unit(config: dict[str, Any], key: str) -> None:
    """Require ``0 <= config[key] < 1`` (momentum, decay rates, betas: 1 would never forget)."""
    value = config[key]
    if not 0 <= value < 1:
        raise ValueError(f'config["{key}"] must be in [0, 1), got {value!r}')


def _state(config: dict[str, Any], key: str, w: np.ndarray) -> np.ndarray:
    """Return the running-state array ``config[key]`` (zeros at first), checked against ``w``."""
    state = as_float_array(config.setdefault(key, np.zeros_like(w)), f'config["{key}"]')
    if state.shape != w.shape:
        raise ValueError(
            f'config["{key}"] has shape {tuple(state.shape)} but w has shape {tuple(w.shape)}: '
            "each parameter needs its own config dict"
        )
    return state


def _gradient(w: np.ndarray, dw: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """The gradient the rule follows: ``dw`` plus the coupled L2 term ``weight_decay * w``."""
    if config["weight_decay"] == 0:
        return dw
    return dw + config["weight_decay"] * w


def sgd(
    w: Any, dw: Any, config: dict[str, Any] | None = None, *, out: np.ndarray | None = None
) -> tuple[np.ndarray, dict]:
    """Vanilla stochastic gradient descent: ``next_w = w - learning_rate * dw``.

    Args:
        w: parameter, any shape ``*``.
        dw: gradient, the same shape as ``w``.
        config: ``learning_rate`` (default 1e-2), ``weight_decay`` (default 0). No state.
        out: an array of ``w``'s shape to receive ``next_w`` (``out=w``: update in place).

    Returns:
        next_w: same shape as ``w``; config: the same dict, defaults filled in.
    """
    w, dw, config = _start(w, dw, config)
    _check_out(out, w)
    config.setdefault("learning_rate", 1e-2)
    _check_rate(config, "learning_rate")
    next_w = np.subtract(w, config["learning_rate"] * _gradient(w, dw, config), out=out)
    return next_w, config


def sgd_momentum(
    w: Any, dw: Any, config: dict[str, Any] | None = None, *, out: np.ndarray | None = None
) -> tuple[np.ndarray, dict]:
    """SGD with momentum: ``v = momentum * v - learning_rate * dw``; ``next_w = w + v``.

    The velocity ``v`` is a running sum of past steps, decaying by ``momentum`` per step, so
    directions where the gradient keeps its sign speed up and oscillating ones cancel.

    Args:
        w: parameter, any shape ``*``.
        dw: gradient, the same shape as ``w``.
        config: ``learning_rate`` (default 1e-2), ``momentum`` in [0, 1) (default 0.9),
            ``weight_decay`` (default 0); state ``velocity`` (same shape as ``w``, zeros at first).
        out: an array of ``w``'s shape to receive ``next_w`` (``out=w``: update in place).

    Returns:
        next_w: same shape as ``w``; config: the same dict, ``velocity`` updated.
    """
    w, dw, config = _start(w, dw, config)
    _check_out(out, w)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    _check_rate(config, "learning_rate")
    _check_unit(config, "momentum")
    v = _state(config, "velocity", w)
    v = config["momentum"] * v - config["learning_rate"] * _gradient(w, dw, config)
    config["velocity"] = v
    return np.add(w, v, out=out), config


def rmsprop(
    w: Any, dw: Any, config: dict[str, Any] | None = None, *, out: np.ndarray | None = None
) -> tuple[np.ndarray, dict]:
    """RMSprop: divide each step by a running root-mean-square of that weight's gradients.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``;
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    Args:
        w: parameter, any shape ``*``.
        dw: gradient, the same shape as ``w``.
        config: ``learning_rate`` (default 1e-2), ``decay_rate`` in [0, 1) (default 0.99),
            ``epsilon`` > 0 (default 1e-8), ``weight_decay`` (default 0); state ``cache`` (same
            shape as ``w``, zeros at first).
        out: an array of ``w``'s shape to receive ``next_w`` (``out=w``: update in place).

    Returns:
        next_w: same shape as ``w``; config: the same dict, ``cache`` updated.
    """
    w, dw, config = _start(w, dw, config)
    _check_out(out, w)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    _check_rate(config, "learning_rate")
    _check_unit(config, "decay_rate")
    _check_rate(config, "epsilon")
    g = _gradient(w, dw, config)
    rho = config["decay_rate"]
    cache = rho * _state(config, "cache", w) + (1 - rho) * g**2
    config["cache"] = cache
    step = config["learning_rate"] * g / (np.sqrt(cache) + config["epsilon"])
    return np.subtract(w, step, out=out), config


def adam(
    w: Any, dw: Any, config: dict[str, Any] | None = None, *, out: np.ndarray | None = None
) -> tuple[np.ndarray, dict]:
    """Adam: momentum on the gradient (``m``) and RMSprop-style scaling (``v``), bias-corrected.

    ``t += 1`` (before use, so the first step has ``t = 1``);
    ``m = beta1 * m + (1 - beta1) * dw``; ``v = beta2 * v + (1 - beta2) * dw**2``;
    ``m_hat = m / (1 - beta1**t)``; ``v_hat = v / (1 - beta2**t)``;
    ``next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)``.
    ``m`` and ``v`` start at zero, so without the correction the first steps would be far too
    small (``m`` is only ``(1 - beta1) * dw`` after one step); with it the first step moves each
    weight by about ``learning_rate`` against the sign of its gradient.

    Args:
        w: parameter, any shape ``*``.
        dw: gradient, the same shape as ``w``.
        config: ``learning_rate`` (default 1e-3), ``beta1`` (default 0.9) and ``beta2``
            (default 0.999) in [0, 1), ``epsilon`` > 0 (default 1e-8), ``weight_decay``
            (default 0, coupled L2: not AdamW); state ``m``, ``v`` (same shape as ``w``, zeros at
            first) and ``t`` (steps taken, 0 at first).
        out: an array of ``w``'s shape to receive ``next_w`` (``out=w``: update in place).

    Returns:
        next_w: same shape as ``w``; config: the same dict, ``m``, ``v`` and ``t`` updated.
    """
    w, dw, config = _start(w, dw, config)
    _check_out(out, w)
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    _check_rate(config, "learning_rate")
    _check_unit(config, "beta1")
    _check_unit(config, "beta2")
    _check_rate(config, "epsilon")
    t = config["t"]
    if isinstance(t, bool) or not float(t).is_integer() or t < 0:
        raise ValueError(f'config["t"] counts steps taken: expected an integer >= 0, got {t!r}')
    g = _gradient(w, dw, config)
    b1, b2 = config["beta1"], config["beta2"]
    t = int(t) + 1
    m = b1 * _state(config, "m", w) + (1 - b1) * g
    v = b2 * _state(config, "v", w) + (1 - b2) * g**2
    config.update(m=m, v=v, t=t)
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    step = config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return np.subtract(w, step, out=out), config


OPTIMIZERS: dict[str, UpdateRule] = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "rmsprop": rmsprop,
    "adam": adam,
}


def clip_grad_norm(
    grads: Mapping[str, Any], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Rescale a set of gradients together so that their joint (global) norm is at most ``max_norm``.

    The norm is taken over every entry of every gradient, as if they were one long vector:
    ``total_norm = sqrt(sum over names k of sum(grads[k] ** 2))``. When it exceeds ``max_norm``
    every gradient is multiplied by the same factor ``max_norm / total_norm``, so the joint
    direction is kept and only the length shrinks; otherwise the gradients are returned as they
    are (as copies). Clipping each entry to ``[-max_norm, max_norm]`` instead would change the
    direction.

    Args:
        grads: name -> gradient array, any shapes (e.g. ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``).
        max_norm: the largest joint norm allowed, > 0.

    Returns:
        clipped: a new dict with the same names, each array of its gradient's shape; ``grads``
            and its arrays are left unchanged.
        total_norm: the joint norm of ``grads`` BEFORE clipping, a float (worth logging: a
            spike in it is an exploding gradient).
    """
    if not isinstance(grads, Mapping):
        raise ValueError(f"grads must be a dict of name -> gradient array, got {type(grads).__name__}")
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
    arrays = {name: as_float_array(g, f"grads[{name!r}]") for name, g in grads.items()}
    total_norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in arrays.values())))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in arrays.items()}, total_norm


def get_optimizer(name: str) -> UpdateRule:
    """Return the update rule called ``name`` (one of the keys of :data:`OPTIMIZERS`).

    Raises ``ValueError`` listing the valid names for any other name.
    """
    check_choice(name, OPTIMIZERS, "optimizer name")
    return OPTIMIZERS[name]
