"""Hidden checks of notebook 10 (optimizers): sgd, sgd_momentum, rmsprop and adam.

Every rule has bplib.optim's signature ``update(w, dw, config) -> (next_w, config)``; ``w`` and
``dw`` have any shape ``*``. The reference is bplib.optim with weight decay 0 (the learner's
version may leave weight decay out), so only the keys the notebook specifies are compared.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from autograder.checks import Learner, check
from bplib import optim
from bplib.gradcheck import CheckError

__all__: list[str] = []

NB = "10-optimizers"

DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}
REFERENCE: dict[str, Callable[..., tuple[np.ndarray, dict[str, Any]]]] = {
    "sgd": optim.sgd, "sgd_momentum": optim.sgd_momentum, "rmsprop": optim.rmsprop,
    "adam": optim.adam,
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy warnings: a wrong answer's 0/0 must not write to stderr."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _fmt(values: Any, limit: int = 6) -> str:
    flat = np.ravel(np.asarray(values, dtype=np.float64))
    text = ", ".join(f"{v:.8g}" for v in flat[:limit])
    return f"[{text}{', …' if flat.size > limit else ''}]"


def _close(a: Any, b: Any, rtol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-15))


def _reference(rule: str, w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None
               ) -> tuple[np.ndarray, dict[str, Any]]:
    with _quiet():
        return REFERENCE[rule](w.copy(), dw.copy(), copy.deepcopy(config))


def _call(learner: Learner, rule: str, w: np.ndarray, dw: np.ndarray,
          config: dict[str, Any] | None, where: str, *, inputs_kept: bool = True
          ) -> tuple[np.ndarray, dict[str, Any]]:
    """The learner's update; checks the result's form and (``inputs_kept``) that w and dw are
    left unchanged."""
    w_in, dw_in = w.copy(), dw.copy()
    with _quiet():
        out = getattr(learner, rule)(w_in, dw_in, config)
    if out is None:
        raise CheckError(f"{where}: {rule} returned None: is a `return` missing?")
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise CheckError(f"{where}: {rule} must return the pair (next_w, config)")
    next_w, new_config = out
    if not isinstance(new_config, dict):
        raise CheckError(
            f"{where}: the second value {rule} returns must be the config dict, got "
            f"{type(new_config).__name__}\n  hint: return next_w, config — with the defaults "
            "filled in and the updated state, so the next call can continue from it"
        )
    if next_w is None:
        raise CheckError(f"{where}: next_w is None: compute the updated weights and return them")
    next_w = np.asarray(next_w, dtype=np.float64)
    if next_w.shape != w.shape:
        raise CheckError(f"{where}: next_w has shape {next_w.shape}, but w has shape {w.shape}")
    if inputs_kept and (not np.array_equal(w_in, w) or not np.array_equal(dw_in, dw)):
        which = "w" if not np.array_equal(w_in, w) else "dw"
        raise CheckError(
            f"{where}: {rule} changed the array {which} it was given\n  hint: compute a new "
            "array (next_w = w - ...) instead of updating in place (w -= ...): the caller may "
            "still need the old values"
        )
    return next_w, new_config


def _where(rule: str, w: np.ndarray, config: dict[str, Any] | None) -> str:
    shown = "None" if config is None else "{" + ", ".join(
        f"{k}: {v:g}" if isinstance(v, float | int) else f"{k}: (array)"
        for k, v in config.items()) + "}"
    return f"{rule} on a w of shape {w.shape} with config {shown}"


def _slip(next_w: np.ndarray, slips: list[tuple[str, Any]]) -> str:
    return next((text for text, value in slips if _close(next_w, value, rtol=1e-7)), "")


def _check_step(learner: Learner, rule: str, w: np.ndarray, dw: np.ndarray,
                config: dict[str, Any], slips: Callable[..., list[tuple[str, Any]]]) -> None:
    """One update from a given config (state included): next_w must match the reference."""
    where = _where(rule, w, config)
    next_w, _ = _call(learner, rule, w, dw, copy.deepcopy(config), where)
    want, _ = _reference(rule, w, dw, config)
    if _close(next_w, want):
        return
    with _quiet():
        hint = _slip(next_w, slips(w, dw, {**DEFAULTS[rule], **config}))
    k = int(np.argmax(np.abs(next_w - want).ravel()))
    raise CheckError(
        f"{where}: next_w is wrong; at flat index {k} yours = {next_w.ravel()[k]:.10g}, expected "
        f"{want.ravel()[k]:.10g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


def _check_state(learner: Learner, rule: str, w: np.ndarray, grads: list[np.ndarray],
                 config: dict[str, Any]) -> None:
    """Several steps, each fed the config the previous one returned: weights and state."""
    where = _where(rule, w, config) + f", {len(grads)} steps in a row"
    mine, ref_config = copy.deepcopy(config), copy.deepcopy(config)
    w_mine, w_ref = w.copy(), w.copy()
    for step, dw in enumerate(grads, start=1):
        w_mine, mine = _call(learner, rule, w_mine, dw, mine, where)
        w_ref, ref_config = _reference(rule, w_ref, dw, ref_config)
        for key in STATE[rule]:
            if key not in mine:
                raise CheckError(
                    f"{where}: after step {step} the config has no '{key}'\n  hint: store the "
                    f"updated state in config['{key}'] and return the config: the next call "
                    "must continue from it"
                )
            got, want = np.asarray(mine[key], dtype=np.float64), ref_config[key]
            if _close(got, want):
                continue
            hint = ""
            if step > 1 and key != "t" and _close(got, _reference(rule, w_ref, dw, config)[1][key]):
                # the state of a fresh start: the stored state was never read back
                hint = (f"config['{key}'] starts from zero at every step: read the stored "
                        f"config['{key}'] (the previous step's value), update it, store it back")
            elif key == "t":
                hint = ("t counts the steps taken: 0 before the first step, add 1 at the start of "
                        "every call, store it in config['t']")
            raise CheckError(
                f"{where}: after step {step} config['{key}'] is {_fmt(got)}, expected "
                f"{_fmt(want)}" + (f"\n  hint: {hint}" if hint else "")
            )
        if not _close(w_mine, w_ref):
            hint = ""
            if step > 1:
                hint = ("\n  hint: the first steps agree and a later one does not: is the state "
                        "carried from call to call through config (read it, update it, store it)?")
            raise CheckError(
                f"{where}: after step {step} the weights are {_fmt(w_mine)}, expected "
                f"{_fmt(w_ref)}{hint}"
            )


def _check_defaults(learner: Learner, rule: str, seed: int) -> None:
    """config None, {} and a partial dict: the returned config holds every default."""
    rng = np.random.default_rng(seed)
    w, dw = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    defaults = DEFAULTS[rule]
    given_key = next(iter(defaults))
    partials: list[dict[str, Any] | None] = [None, {}, {given_key: 0.123}]
    if len(defaults) > 1:
        other = list(defaults)[1]
        partials.append({other: 0.5})
    for config in partials:
        where = _where(rule, w, config)
        _, got = _call(learner, rule, w, dw, copy.deepcopy(config), where, inputs_kept=False)
        for key, value in defaults.items():
            want = (config or {}).get(key, value)
            if key not in got:
                raise CheckError(
                    f"{where}: the returned config has no '{key}'\n  hint: fill in every missing "
                    f"hyperparameter, e.g. config.setdefault('{key}', {value!r}), and return the "
                    "config"
                )
            if not isinstance(got[key], int | float | np.floating | np.integer) or not np.isclose(
                    float(got[key]), want, rtol=1e-12, atol=0):
                hint = (f"the default {key} is {value!r}" if key not in (config or {}) else
                        f"keep any value the caller gave ({key} = {want!r}); fill in only what "
                        "is missing (config.setdefault)")
                raise CheckError(f"{where}: config['{key}'] is {got[key]!r}, expected {want!r}"
                                 f"\n  hint: {hint}")


# ----------------------------------------------------------------------------- sgd
def _sgd_slips(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[tuple[str, Any]]:
    lr = c["learning_rate"]
    return [
        ("w + learning_rate * dw, a step uphill: subtract the gradient", w + lr * dw),
        ("computed with the default learning rate 1e-2, not config['learning_rate']",
         w - 1e-2 * dw),
        ("w - dw: multiply the gradient by the learning rate", w - dw),
        ("w unchanged: return w - learning_rate * dw", w),
    ]


@check(NB, "test_sgd_step")
def sgd_step(learner: Learner) -> None:
    _check_step(learner, "sgd", np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, -2.0]),
                {"learning_rate": 0.1}, _sgd_slips)
    rng = np.random.default_rng(1)
    for shape, lr in (((3, 4), 1e-3), ((2, 3, 2), 0.5), ((5,), 0.07)):
        _check_step(learner, "sgd", rng.standard_normal(shape), rng.standard_normal(shape),
                    {"learning_rate": lr}, _sgd_slips)


@check(NB, "test_sgd_defaults")
def sgd_defaults(learner: Learner) -> None:
    _check_defaults(learner, "sgd", seed=2)


# ----------------------------------------------------------------------------- sgd_momentum
def _momentum_slips(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[tuple[str, Any]]:
    lr, mu = c["learning_rate"], c["momentum"]
    v = np.asarray(c.get("velocity", np.zeros_like(w)))
    return [
        ("built from v = momentum * v + learning_rate * dw, which runs uphill: the velocity "
         "gets MINUS learning_rate * dw", w + mu * v + lr * dw),
        ("w - v with v = momentum * v - learning_rate * dw: add the velocity, next_w = w + v",
         w - (mu * v - lr * dw)),
        ("w + v with the OLD velocity: update v first, then move by the new v", w + v),
        ("a plain SGD step: the velocity (momentum * v) is missing", w - lr * dw),
        ("built from v = v - learning_rate * dw: decay the old velocity, momentum * v",
         w + v - lr * dw),
    ]


@check(NB, "test_sgd_momentum_step")
def sgd_momentum_step(learner: Learner) -> None:
    _check_step(learner, "sgd_momentum", np.array([1.0, 2.0]), np.array([0.5, -1.0]),
                {"learning_rate": 0.1, "momentum": 0.9, "velocity": np.array([0.2, 0.1])},
                _momentum_slips)
    rng = np.random.default_rng(3)
    for shape, lr, mu in (((3, 4), 0.05, 0.9), ((2, 2, 3), 0.3, 0.5), ((6,), 1e-3, 0.99)):
        _check_step(learner, "sgd_momentum", rng.standard_normal(shape),
                    rng.standard_normal(shape),
                    {"learning_rate": lr, "momentum": mu, "velocity": rng.standard_normal(shape)},
                    _momentum_slips)


@check(NB, "test_sgd_momentum_state")
def sgd_momentum_state(learner: Learner) -> None:
    _check_state(learner, "sgd_momentum", np.zeros(1), [np.ones(1)] * 3,
                 {"learning_rate": 0.1, "momentum": 0.9})
    rng = np.random.default_rng(4)
    _check_state(learner, "sgd_momentum", rng.standard_normal((4, 3)),
                 [rng.standard_normal((4, 3)) for _ in range(5)],
                 {"learning_rate": 0.02, "momentum": 0.8})


@check(NB, "test_sgd_momentum_defaults")
def sgd_momentum_defaults(learner: Learner) -> None:
    _check_defaults(learner, "sgd_momentum", seed=5)


# ----------------------------------------------------------------------------- rmsprop
def _rmsprop_slips(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[tuple[str, Any]]:
    lr, rho, eps = c["learning_rate"], c["decay_rate"], c["epsilon"]
    s0 = np.asarray(c.get("cache", np.zeros_like(w)))
    s = rho * s0 + (1 - rho) * dw**2
    return [
        ("built from cache = decay_rate * cache + dw**2: the new square needs the factor "
         "(1 - decay_rate)", w - lr * dw / (np.sqrt(rho * s0 + dw**2) + eps)),
        ("dw / sqrt(cache + epsilon): epsilon is added after the square root, "
         "sqrt(cache) + epsilon", w - lr * dw / np.sqrt(s + eps)),
        ("dw / (cache + epsilon), without the square root: divide by the root mean square",
         w - lr * dw / (s + eps)),
        ("built from the cache BEFORE this step's update: update the cache first, then divide",
         w - lr * dw / (np.sqrt(s0) + eps)),
        ("built from a cache of dw, not dw**2: average the SQUARED gradient",
         w - lr * dw / (np.sqrt(rho * s0 + (1 - rho) * dw) + eps)),
        ("w + learning_rate * dw / (...), a step uphill: subtract", w + lr * dw / (np.sqrt(s) + eps)),
    ]


@check(NB, "test_rmsprop_step")
def rmsprop_step(learner: Learner) -> None:
    _check_step(learner, "rmsprop", np.array([1.0, 1.0]), np.array([2.0, -0.5]),
                {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8,
                 "cache": np.array([0.6, 0.0])}, _rmsprop_slips)
    rng = np.random.default_rng(6)
    for shape, lr, rho, eps, scale in (((3, 4), 1e-3, 0.99, 1e-8, 1.0),
                                       ((2, 5), 0.05, 0.9, 1e-4, 1e-3),
                                       ((7,), 0.01, 0.5, 1e-6, 1e-4)):
        _check_step(learner, "rmsprop", rng.standard_normal(shape),
                    scale * rng.standard_normal(shape),
                    {"learning_rate": lr, "decay_rate": rho, "epsilon": eps,
                     "cache": (scale * rng.standard_normal(shape)) ** 2}, _rmsprop_slips)


@check(NB, "test_rmsprop_state")
def rmsprop_state(learner: Learner) -> None:
    _check_state(learner, "rmsprop", np.ones(1), [np.array([2.0])] * 3,
                 {"learning_rate": 0.01, "decay_rate": 0.9})
    rng = np.random.default_rng(7)
    _check_state(learner, "rmsprop", rng.standard_normal((3, 3)),
                 [1e-5 * rng.standard_normal((3, 3)) for _ in range(4)],
                 {"learning_rate": 1e-3, "decay_rate": 0.95})


@check(NB, "test_rmsprop_defaults")
def rmsprop_defaults(learner: Learner) -> None:
    _check_defaults(learner, "rmsprop", seed=8)


# ----------------------------------------------------------------------------- adam
def _adam_slips(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[tuple[str, Any]]:
    lr, b1, b2, eps = c["learning_rate"], c["beta1"], c["beta2"], c["epsilon"]
    m0 = np.asarray(c.get("m", np.zeros_like(w)))
    v0 = np.asarray(c.get("v", np.zeros_like(w)))
    t = int(c.get("t", 0)) + 1
    m, v = b1 * m0 + (1 - b1) * dw, b2 * v0 + (1 - b2) * dw**2
    t_old = t - 1
    return [
        ("without bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)",
         w - lr * m / (np.sqrt(v) + eps)),
        ("bias-corrected with the OLD t: increment t before computing the correction",
         w - lr * (m / (1 - b1**t_old)) / (np.sqrt(v / (1 - b2**t_old)) + eps)),
        ("with only m bias-corrected: correct v too, v / (1 - beta2**t)",
         w - lr * (m / (1 - b1**t)) / (np.sqrt(v) + eps)),
        ("built from v of dw, not dw**2: v averages the SQUARED gradient",
         w - lr * (m / (1 - b1**t)) / (np.sqrt((b2 * v0 + (1 - b2) * dw) / (1 - b2**t)) + eps)),
        ("a step uphill: subtract learning_rate * m_hat / (sqrt(v_hat) + epsilon)",
         w + lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)),
        ("built with beta1 and beta2 swapped: m uses beta1, v uses beta2",
         w - lr * ((b2 * m0 + (1 - b2) * dw) / (1 - b2**t))
         / (np.sqrt((b1 * v0 + (1 - b1) * dw**2) / (1 - b1**t)) + eps)),
    ]


@check(NB, "test_adam_step")
def adam_step(learner: Learner) -> None:
    _check_step(learner, "adam", np.array([1.0, -1.0]), np.array([0.5, 2.0]),
                {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 2,
                 "m": np.array([0.1, 0.3]), "v": np.array([0.004, 0.002])}, _adam_slips)
    rng = np.random.default_rng(9)
    for shape, lr, b1, b2, t in (((3, 4), 1e-3, 0.9, 0.999, 5), ((2, 3, 2), 0.05, 0.8, 0.99, 1),
                                 ((6,), 0.01, 0.95, 0.9, 40)):
        _check_step(learner, "adam", rng.standard_normal(shape), rng.standard_normal(shape),
                    {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": 1e-8, "t": t,
                     "m": 0.3 * rng.standard_normal(shape),
                     "v": 0.1 * rng.standard_normal(shape) ** 2}, _adam_slips)


@check(NB, "test_adam_state")
def adam_state(learner: Learner) -> None:
    _check_state(learner, "adam", np.zeros(2), [np.array([2.0, -0.5])] * 3,
                 {"learning_rate": 0.1})
    rng = np.random.default_rng(10)
    _check_state(learner, "adam", rng.standard_normal((3, 2)),
                 [rng.standard_normal((3, 2)) for _ in range(6)],
                 {"learning_rate": 0.01, "beta1": 0.85, "beta2": 0.99})


@check(NB, "test_adam_bias_correction")
def adam_bias_correction(learner: Learner) -> None:
    w = np.array([0.5, -1.0, 2.0, 0.0])
    dw = np.array([1e-3, -0.5, 20.0, -1e3])  # six orders of magnitude
    for lr in (0.1, 1e-3):
        config: dict[str, Any] = {"learning_rate": lr}
        where = f"adam from a fresh config {{learning_rate: {lr:g}}} with dw = {_fmt(dw)}"
        current = w.copy()
        for step in (1, 2):
            next_w, config = _call(learner, "adam", current, dw, config, where)
            moved = np.abs(next_w - current)
            if np.all(np.isfinite(moved)) and np.allclose(moved, lr, rtol=1e-4, atol=0) and \
                    np.all(np.sign(current - next_w) == np.sign(dw)):
                current = next_w
                continue
            ratio = float(np.median(moved / lr)) if np.all(np.isfinite(moved)) else float("nan")
            bad = ~np.isfinite(next_w)
            if np.any(bad) and np.array_equal(bad, dw < 0):
                hint = ("nan exactly where dw < 0: a square root of a negative number. v must "
                        "average the SQUARED gradient, dw**2, which is never negative")
            elif np.any(bad):
                hint = ("nan or inf: with t = 0, 1 - beta1**t is 0 and the correction divides by "
                        "zero; increment t BEFORE computing the bias correction, so step 1 has t = 1")
            elif step == 1 and abs(ratio - 0.1 / np.sqrt(0.001)) < 0.05:
                hint = ("the step is (1 - beta1) / sqrt(1 - beta2) = 3.16 times too large: that "
                        "is Adam without bias correction. Divide m by (1 - beta1**t) and v by "
                        "(1 - beta2**t)")
            else:
                hint = ("with m and v bias-corrected, m_hat = dw and v_hat = dw**2 while the "
                        "gradient stays constant, so every weight moves by learning_rate "
                        "against the sign of its gradient")
            raise CheckError(
                f"{where}: step {step} moved the weights by {_fmt(moved)}; expected "
                f"learning_rate = {lr:g} for every weight, whatever its gradient's size"
                f"\n  hint: {hint}"
            )


@check(NB, "test_adam_defaults")
def adam_defaults(learner: Learner) -> None:
    _check_defaults(learner, "adam", seed=11)
