"""Known mistakes of the update rules ``update(w, dw, config) -> (next_w, config)`` (notebook 10,
and the capstone's Adam): each table's results are the *mistaken* ``next_w``, computed from the
``w``, ``dw`` and ``config`` given to the rule (missing hyperparameters take :data:`DEFAULTS`).

A mistake that would give the right ``next_w`` for some inputs (no velocity when the velocity is
zero) gives ``None`` for them. One whose result is the right update at other hyperparameters
(the default learning rate) is a relation, and so is one that can take the square root of a
negative number or divide 0 by 0 (its NaN must match the answer's, which
:func:`~autograder.numeric.close` never does) and one whose result differs from the right update
by less than ``MATCH`` (epsilon's place: told apart at rounding precision only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.numeric import MATCH, Tolerance, close, quiet

from . import Mistake, step_reversed

__all__ = ["ADAM", "DEFAULTS", "RMSPROP", "SGD", "SGD_MOMENTUM"]

# The documented default hyperparameters of each rule (the notebook's docstrings).
DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


def _filled(rule: str, config: dict[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULTS[rule], **(config or {})}


def _state(c: dict[str, Any], key: str, w: np.ndarray) -> np.ndarray:
    return np.asarray(c.get(key, np.zeros_like(w)), dtype=np.float64)


# Where epsilon goes changes next_w by about epsilon relative to the step, less than MATCH: a
# mistake of epsilon's place is told apart from the right update (and from a forgotten epsilon)
# only at rounding precision.
ROUNDING = Tolerance(1e-12, 1e-15)


def _like(mistaken: Callable[..., Any], tol: Tolerance = MATCH) -> Callable[..., bool]:
    """A relation: the answer is ``mistaken(*inputs)`` to ``tol``, with NaN exactly where that
    has NaN (a square root of a negative number, 0 / 0, which :func:`close` never matches), and
    the mistake changes the right answer ``want`` for these inputs."""

    def relation(got: Any, want: Any, *inputs: Any) -> bool:
        with quiet():
            value = mistaken(*inputs)
            if value is None or close(value, want, tol):
                return False
            value = np.asarray(value, dtype=np.float64)
            mine = np.asarray(got, dtype=np.float64)
        if mine.shape != value.shape:
            return False
        nan = np.isnan(value)
        return bool(np.array_equal(np.isnan(mine), nan)) and close(mine[~nan], value[~nan], tol)

    return relation


def _rate(c: dict[str, Any] | None) -> float:
    return float(_filled("sgd", c)["learning_rate"])


SGD = [
    Mistake("uphill", "w + learning_rate * dw, a step uphill: subtract the gradient",
            relation=step_reversed),
    Mistake("default rate", "computed with the default learning rate 1e-2, not "
            "config['learning_rate']",
            relation=lambda got, want, w, dw, c: _rate(c) != 1e-2 and close(
                got, np.asarray(w, dtype=np.float64) - 1e-2 * np.asarray(dw), MATCH)),
    Mistake("no rate", "w - dw: multiply the gradient by the learning rate",
            lambda w, dw, c: w - dw if _rate(c) != 1 else None),
    Mistake("unchanged", "w unchanged: return w - learning_rate * dw",
            lambda w, dw, c: w if _rate(c) != 0 and np.any(dw) else None),
]


def _momentum(w: np.ndarray, dw: np.ndarray, c: dict[str, Any] | None) -> tuple[Any, ...]:
    """(learning rate, momentum, old velocity, new velocity)."""
    f = _filled("sgd_momentum", c)
    lr, mu, v = f["learning_rate"], f["momentum"], _state(f, "velocity", w)
    return lr, mu, v, mu * v - lr * dw


SGD_MOMENTUM = [
    Mistake("velocity uphill", "built from v = momentum * v + learning_rate * dw, which runs "
            "uphill: the velocity gets MINUS learning_rate * dw",
            lambda w, dw, c: (lambda lr, mu, v, new: w + mu * v + lr * dw
                              if np.any(lr * dw) else None)(*_momentum(w, dw, c))),
    Mistake("minus velocity", "w - v with v = momentum * v - learning_rate * dw: add the "
            "velocity, next_w = w + v",
            lambda w, dw, c: (lambda lr, mu, v, new: w - new if np.any(new) else None)(
                *_momentum(w, dw, c))),
    Mistake("old velocity", "w + v with the OLD velocity: update v first, then move by the new v",
            lambda w, dw, c: (lambda lr, mu, v, new: w + v if np.any(v != new) else None)(
                *_momentum(w, dw, c))),
    Mistake("no velocity", "a plain SGD step: the velocity (momentum * v) is missing",
            lambda w, dw, c: (lambda lr, mu, v, new: w - lr * dw if np.any(mu * v) else None)(
                *_momentum(w, dw, c))),
    Mistake("no decay", "built from v = v - learning_rate * dw: decay the old velocity, "
            "momentum * v",
            lambda w, dw, c: (lambda lr, mu, v, new: w + v - lr * dw
                              if mu != 1 and np.any(v) else None)(*_momentum(w, dw, c))),
]


def _rmsprop(w: np.ndarray, dw: np.ndarray, c: dict[str, Any] | None) -> tuple[Any, ...]:
    f = _filled("rmsprop", c)
    rho, s0 = f["decay_rate"], _state(f, "cache", w)
    return f["learning_rate"], rho, f["epsilon"], s0, rho * s0 + (1 - rho) * dw**2


RMSPROP = [
    Mistake("no (1 - decay)", "built from cache = decay_rate * cache + dw**2: the new square "
            "needs the factor (1 - decay_rate)",
            lambda w, dw, c: (lambda lr, rho, eps, s0, s: w - lr * dw / (
                np.sqrt(rho * s0 + dw**2) + eps) if rho != 0 else None)(*_rmsprop(w, dw, c))),
    Mistake("epsilon inside", "dw / sqrt(cache + epsilon): epsilon is added after the square "
            "root, sqrt(cache) + epsilon",
            relation=_like(lambda w, dw, c: (lambda lr, rho, eps, s0, s: w - lr * dw / np.sqrt(
                s + eps))(*_rmsprop(w, dw, c)), ROUNDING)),
    Mistake("no root", "dw / (cache + epsilon), without the square root: divide by the root mean "
            "square",
            lambda w, dw, c: (lambda lr, rho, eps, s0, s: w - lr * dw / (s + eps))(
                *_rmsprop(w, dw, c))),
    Mistake("old cache", "built from the cache BEFORE this step's update: update the cache "
            "first, then divide",
            lambda w, dw, c: (lambda lr, rho, eps, s0, s: w - lr * dw / (np.sqrt(s0) + eps)
                              if np.any(s0 != s) else None)(*_rmsprop(w, dw, c))),
    Mistake("cache of dw", "built from a cache of dw, not dw**2: average the SQUARED gradient",
            relation=_like(lambda w, dw, c: (lambda lr, rho, eps, s0, s: w - lr * dw / (
                np.sqrt(rho * s0 + (1 - rho) * dw) + eps))(*_rmsprop(w, dw, c)))),
    Mistake("uphill", "w + learning_rate * dw / (...), a step uphill: subtract",
            relation=step_reversed),
]


def _adam(w: np.ndarray, dw: np.ndarray, c: dict[str, Any] | None) -> dict[str, Any]:
    """The quantities every Adam mistake is built from (``t`` is this step's count)."""
    f = _filled("adam", c)
    b1, b2 = f["beta1"], f["beta2"]
    m0, v0 = _state(f, "m", w), _state(f, "v", w)
    return {"lr": f["learning_rate"], "b1": b1, "b2": b2, "eps": f["epsilon"], "m0": m0,
            "v0": v0, "t": int(f.get("t", 0)) + 1, "m": b1 * m0 + (1 - b1) * dw,
            "v": b2 * v0 + (1 - b2) * dw**2}


def _adam_step(a: dict[str, Any], w: np.ndarray, m_hat: Any, v_hat: Any, *,
               eps_inside: bool = False) -> Any:
    root = np.sqrt(v_hat + a["eps"]) if eps_inside else np.sqrt(v_hat) + a["eps"]
    return w - a["lr"] * m_hat / root


ADAM = [
    Mistake("no bias correction", "without bias correction: divide m by (1 - beta1**t) and v by "
            "(1 - beta2**t), with t counting the steps (1 on the first)",
            lambda w, dw, c: (lambda a: _adam_step(a, w, a["m"], a["v"]))(_adam(w, dw, c))),
    # On the first step the old t is 0, and the correction divides by 1 - beta**0 = 0: NaN.
    Mistake("old t", "bias-corrected with the OLD t: increment t before computing the correction "
            "(with t = 0 on the first step, 1 - beta1**t is 0 and the correction divides by zero)",
            relation=_like(lambda w, dw, c: (lambda a: _adam_step(
                a, w, a["m"] / (1 - a["b1"] ** (a["t"] - 1)),
                a["v"] / (1 - a["b2"] ** (a["t"] - 1))))(_adam(w, dw, c)))),
    Mistake("only m corrected", "with only m bias-corrected: correct v too, v / (1 - beta2**t)",
            lambda w, dw, c: (lambda a: _adam_step(
                a, w, a["m"] / (1 - a["b1"] ** a["t"]), a["v"]))(_adam(w, dw, c))),
    Mistake("v of dw", "built from v of dw, not dw**2: v averages the SQUARED gradient",
            relation=_like(lambda w, dw, c: (lambda a: _adam_step(
                a, w, a["m"] / (1 - a["b1"] ** a["t"]),
                (a["b2"] * a["v0"] + (1 - a["b2"]) * dw) / (1 - a["b2"] ** a["t"])))(
                _adam(w, dw, c)))),
    Mistake("uphill", "a step uphill: subtract learning_rate * m_hat / (sqrt(v_hat) + epsilon)",
            relation=step_reversed),
    Mistake("epsilon inside", "with epsilon inside the square root: "
            "w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)",
            relation=_like(lambda w, dw, c: (lambda a: _adam_step(
                a, w, a["m"] / (1 - a["b1"] ** a["t"]), a["v"] / (1 - a["b2"] ** a["t"]),
                eps_inside=True))(_adam(w, dw, c)), ROUNDING)),
    Mistake("betas swapped", "built with beta1 and beta2 swapped: m uses beta1, v uses beta2",
            lambda w, dw, c: (lambda a: _adam_step(
                a, w, (a["b2"] * a["m0"] + (1 - a["b2"]) * dw) / (1 - a["b2"] ** a["t"]),
                (a["b1"] * a["v0"] + (1 - a["b1"]) * dw**2) / (1 - a["b1"] ** a["t"]))
                if a["b1"] != a["b2"] else None)(_adam(w, dw, c))),
]
