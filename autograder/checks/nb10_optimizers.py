"""Hidden checks of notebook 10 (optimizers): sgd, sgd_momentum, rmsprop and adam.

Every rule has bplib.optim's signature ``update(w, dw, config) -> (next_w, config)``; ``w`` and
``dw`` have any shape ``*``. The reference is bplib.optim with weight decay 0 (the learner's
version may leave weight decay out), so only the keys the notebook specifies are compared.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, as_array, as_tuple, check, describe
from autograder.mistakes import Mistake, hint
from autograder.mistakes.optimizers import ADAM, DEFAULTS, RMSPROP, SGD, SGD_MOMENTUM
from autograder.numeric import EXACT, Tolerance, close, differing, fmt, quiet, worst_entry
from bplib import optim
from bplib.gradcheck import CheckError

__all__: list[str] = []

NB = "10-optimizers"

STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}
REFERENCE: dict[str, Callable[..., tuple[np.ndarray, dict[str, Any]]]] = {
    "sgd": optim.sgd, "sgd_momentum": optim.sgd_momentum, "rmsprop": optim.rmsprop,
    "adam": optim.adam,
}
# An update's state can be tiny (RMSProp's cache of 1e-5 gradients is 1e-11): no absolute slack.
TIGHT = Tolerance(EXACT.rtol, 1e-15)


def _reference(rule: str, w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None
               ) -> tuple[np.ndarray, dict[str, Any]]:
    with quiet():
        return REFERENCE[rule](w.copy(), dw.copy(), copy.deepcopy(config))


def _call(learner: Learner, rule: str, w: np.ndarray, dw: np.ndarray,
          config: dict[str, Any] | None, where: str, *, inputs_kept: bool = True
          ) -> tuple[np.ndarray, dict[str, Any]]:
    """The learner's update; checks the result's form and (``inputs_kept``) that w and dw are
    left unchanged."""
    w_in, dw_in = w.copy(), dw.copy()
    with quiet():
        out = getattr(learner, rule)(w_in, dw_in, config)
    try:
        next_w, new_config = as_tuple(out, rule, ["next_w", "config"])
    except CheckError as exc:
        raise CheckError(f"{where}: {exc}") from None
    if not isinstance(new_config, dict):
        raise CheckError(
            f"{where}: the second value {rule} returns must be the config dict, got "
            f"{describe(new_config)}\n  hint: return next_w, config — with the defaults "
            "filled in and the updated state, so the next call can continue from it"
        )
    if next_w is None:
        raise CheckError(f"{where}: next_w is None: compute the updated weights and return them")
    next_w = as_array(next_w, f"{where}: next_w", shape=w.shape)
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


def _check_step(learner: Learner, rule: str, w: np.ndarray, dw: np.ndarray,
                config: dict[str, Any], mistakes: Sequence[Mistake]) -> None:
    """One update from a given config (state included): next_w must match the reference."""
    where = _where(rule, w, config)
    next_w, _ = _call(learner, rule, w, dw, copy.deepcopy(config), where)
    want, _ = _reference(rule, w, dw, config)
    if close(next_w, want, TIGHT):
        return
    ix, yours, expected = worst_entry(next_w, want)
    raise CheckError(
        f"{where}: next_w is wrong; at index {list(ix)} yours = {yours:.10g}, expected "
        f"{expected:.10g}" + hint(next_w, mistakes, w, dw, config, want=want)
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
            got = as_array(mine[key], f"{where}: after step {step} config['{key}']",
                           shape=np.shape(ref_config[key]))
            want = ref_config[key]
            if close(got, want, TIGHT):
                continue
            why = ""
            if step > 1 and key != "t" and close(got, _reference(rule, w_ref, dw, config)[1][key],
                                                 TIGHT):
                # the state of a fresh start: the stored state was never read back
                why = (f"config['{key}'] starts from zero at every step: read the stored "
                       f"config['{key}'] (the previous step's value), update it, store it back")
            elif key == "t":
                why = ("t counts the steps taken: 0 before the first step, add 1 at the start of "
                       "every call, store it in config['t']")
            raise CheckError(
                f"{where}: after step {step} config['{key}'] is wrong: "
                f"{differing(got, want, TIGHT)}" + (f"\n  hint: {why}" if why else "")
            )
        if not close(w_mine, w_ref, TIGHT):
            why = ""
            if step > 1:
                why = ("\n  hint: the first steps agree and a later one does not: is the state "
                       "carried from call to call through config (read it, update it, store it)?")
            raise CheckError(
                f"{where}: after step {step} the weights are wrong: "
                f"{differing(w_mine, w_ref, TIGHT)}{why}"
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
@check(NB, "test_sgd_step")
def sgd_step(learner: Learner) -> None:
    _check_step(learner, "sgd", np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, -2.0]),
                {"learning_rate": 0.1}, SGD)
    rng = np.random.default_rng(1)
    for shape, lr in (((3, 4), 1e-3), ((2, 3, 2), 0.5), ((5,), 0.07)):
        _check_step(learner, "sgd", rng.standard_normal(shape), rng.standard_normal(shape),
                    {"learning_rate": lr}, SGD)


@check(NB, "test_sgd_defaults")
def sgd_defaults(learner: Learner) -> None:
    _check_defaults(learner, "sgd", seed=2)


# ----------------------------------------------------------------------------- sgd_momentum
@check(NB, "test_sgd_momentum_step")
def sgd_momentum_step(learner: Learner) -> None:
    _check_step(learner, "sgd_momentum", np.array([1.0, 2.0]), np.array([0.5, -1.0]),
                {"learning_rate": 0.1, "momentum": 0.9, "velocity": np.array([0.2, 0.1])},
                SGD_MOMENTUM)
    rng = np.random.default_rng(3)
    for shape, lr, mu in (((3, 4), 0.05, 0.9), ((2, 2, 3), 0.3, 0.5), ((6,), 1e-3, 0.99)):
        _check_step(learner, "sgd_momentum", rng.standard_normal(shape),
                    rng.standard_normal(shape),
                    {"learning_rate": lr, "momentum": mu, "velocity": rng.standard_normal(shape)},
                    SGD_MOMENTUM)


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
@check(NB, "test_rmsprop_step")
def rmsprop_step(learner: Learner) -> None:
    _check_step(learner, "rmsprop", np.array([1.0, 1.0]), np.array([2.0, -0.5]),
                {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8,
                 "cache": np.array([0.6, 0.0])}, RMSPROP)
    rng = np.random.default_rng(6)
    for shape, lr, rho, eps, scale in (((3, 4), 1e-3, 0.99, 1e-8, 1.0),
                                       ((2, 5), 0.05, 0.9, 1e-4, 1e-3),
                                       ((7,), 0.01, 0.5, 1e-6, 1e-4)):
        _check_step(learner, "rmsprop", rng.standard_normal(shape),
                    scale * rng.standard_normal(shape),
                    {"learning_rate": lr, "decay_rate": rho, "epsilon": eps,
                     "cache": (scale * rng.standard_normal(shape)) ** 2}, RMSPROP)


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
@check(NB, "test_adam_step")
def adam_step(learner: Learner) -> None:
    _check_step(learner, "adam", np.array([1.0, -1.0]), np.array([0.5, 2.0]),
                {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 2,
                 "m": np.array([0.1, 0.3]), "v": np.array([0.004, 0.002])}, ADAM)
    rng = np.random.default_rng(9)
    for shape, lr, b1, b2, t in (((3, 4), 1e-3, 0.9, 0.999, 5), ((2, 3, 2), 0.05, 0.8, 0.99, 1),
                                 ((6,), 0.01, 0.95, 0.9, 40)):
        _check_step(learner, "adam", rng.standard_normal(shape), rng.standard_normal(shape),
                    {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": 1e-8, "t": t,
                     "m": 0.3 * rng.standard_normal(shape),
                     "v": 0.1 * rng.standard_normal(shape) ** 2}, ADAM)


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
        where = f"adam from a fresh config {{learning_rate: {lr:g}}} with dw = {fmt(dw)}"
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
                f"{where}: step {step} moved the weights by {fmt(moved)}; expected "
                f"learning_rate = {lr:g} for every weight, whatever its gradient's size"
                f"\n  hint: {hint}"
            )


@check(NB, "test_adam_defaults")
def adam_defaults(learner: Learner) -> None:
    _check_defaults(learner, "adam", seed=11)
