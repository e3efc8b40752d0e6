"""Hidden checks of notebook 10 (optimizers): sgd, sgd_momentum, rmsprop and adam.

Every rule has bplib.optim's signature ``update(w, dw, config) -> (next_w, config)``; ``w`` and
``dw`` have any shape ``*``. The reference is bplib.optim with weight decay 0 (the learner's
version may leave weight decay out), so only the keys the notebook specifies are compared. A
known mistake is named by the catalogue (:mod:`autograder.mistakes.optimizers`), as in the
notebook's visible tests; hidden cases add a gradient of exactly 0 on a fresh state (0 / (0 +
epsilon): no step) to the visible ones.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, as_array, as_tuple, check, describe
from autograder.mistakes import HINT, Mistake, hint
from autograder.mistakes.optimizers import ADAM, DEFAULTS, RMSPROP, SGD, SGD_MOMENTUM
from autograder.numeric import EXACT, Tolerance, close, fmt, quiet, worst_entry
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
        changed = "w" if not np.array_equal(w_in, w) else "dw"
        raise CheckError(
            f"{where}: {rule} changed the array {changed} it was given\n  hint: compute a new "
            "array (next_w = w - ...) instead of updating in place (w -= ...): the caller may "
            "still need the old values"
        )
    return next_w, new_config


def _where(rule: str, w: np.ndarray, config: dict[str, Any] | None) -> str:
    shown = "None" if config is None else "{" + ", ".join(
        f"{k}: {v:g}" if isinstance(v, float | int) else f"{k}: (array)"
        for k, v in config.items()) + "}"
    return f"{rule} on a w of shape {w.shape} with config {shown}"


def _gap(got: np.ndarray, want: np.ndarray) -> str:
    """Where ``got`` is furthest from ``want``, with the digits that tell the two apart."""
    ix, yours, expected = worst_entry(got, want)
    at = f"at index {list(ix)} " if ix else ""
    return f"{at}yours = {yours:.12g}, expected {expected:.12g}"


def _check_step(learner: Learner, rule: str, w: np.ndarray, dw: np.ndarray,
                config: dict[str, Any], mistakes: Sequence[Mistake]) -> None:
    """One update from a given config (state included): next_w must match the reference."""
    where = _where(rule, w, config)
    next_w, _ = _call(learner, rule, w, dw, copy.deepcopy(config), where)
    want, _ = _reference(rule, w, dw, config)
    if close(next_w, want, TIGHT):
        return
    why = hint(next_w, mistakes, w, dw, config, want=want)
    if not why and "epsilon" in DEFAULTS[rule] and not np.all(np.isfinite(next_w)):
        why = (f"{HINT}next_w has NaN or infinite entries: where the gradient and the state are 0 "
               "the step must be 0, and epsilon keeps its denominator sqrt(...) + epsilon above 0")
    raise CheckError(f"{where}: next_w is wrong; {_gap(next_w, want)}{why}")


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
                f"{where}: after step {step} config['{key}'] is wrong: {_gap(got, want)}"
                + (f"{HINT}{why}" if why else "")
            )
        if not close(w_mine, w_ref, TIGHT):
            why = ""
            if step > 1:
                why = (f"{HINT}the first steps agree and a later one does not: is the state "
                       "carried from call to call through config (read it, update it, store it)?")
            raise CheckError(
                f"{where}: after step {step} the weights are wrong: {_gap(w_mine, w_ref)}{why}"
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
                why = (f"the default {key} is {value!r}" if key not in (config or {}) else
                       f"keep any value the caller gave ({key} = {want!r}); fill in only what "
                       "is missing (config.setdefault)")
                raise CheckError(f"{where}: config['{key}'] is {got[key]!r}, expected {want!r}"
                                 f"{HINT}{why}")


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
    # the visible tiny gradient, where epsilon matters
    _check_step(learner, "rmsprop", np.array([0.5]), np.array([1e-4]),
                {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6}, RMSPROP)
    # a weight without gradient on a fresh cache: 0 / (sqrt(0) + epsilon), no step
    _check_step(learner, "rmsprop", np.array([0.5, -1.0, 2.0]), np.array([0.0, 1e-3, 0.0]),
                {"learning_rate": 0.01, "decay_rate": 0.9}, RMSPROP)
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
    # the visible tiny gradient on the first step, where epsilon matters
    _check_step(learner, "adam", np.array([0.5]), np.array([1e-6]),
                {"learning_rate": 0.1, "epsilon": 1e-6}, ADAM)
    # a weight without gradient from a fresh state: m_hat = v_hat = 0, no step
    _check_step(learner, "adam", np.array([0.5, -1.0, 2.0]), np.array([0.0, 2.0, 0.0]),
                {"learning_rate": 0.01}, ADAM)
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
    """From a fresh config and a constant gradient, m_hat = dw and v_hat = dw**2: every step moves
    every weight by about learning_rate, against its gradient, whatever the gradient's size."""
    wide = (np.array([0.5, -1.0, 2.0, 0.0]), np.array([1e-3, -0.5, 20.0, -1e3]))  # 6 decades
    cases = [(np.array([0.5, -1.0]), np.array([1e-3, 50.0]), 0.01),  # the visible case
             (*wide, 0.1), (*wide, 1e-3)]
    for w, dw, lr in cases:
        config: dict[str, Any] = {"learning_rate": lr}
        where = f"adam from a fresh config {{learning_rate: {lr:g}}} with dw = {fmt(dw)}"
        current = w.copy()
        for step in (1, 2):
            given = copy.deepcopy(config)
            next_w, config = _call(learner, "adam", current, dw, copy.deepcopy(config), where)
            moved = np.abs(next_w - current)
            if np.all(np.isfinite(moved)) and np.allclose(moved, lr, rtol=1e-4, atol=0) and \
                    np.all(np.sign(current - next_w) == np.sign(dw)):
                current = next_w
                continue
            want, _ = _reference("adam", current, dw, given)
            why = hint(next_w, ADAM, current, dw, given, want=want) or (
                f"{HINT}with m and v bias-corrected, m_hat = dw and v_hat = dw**2 while the "
                "gradient stays constant, so every weight moves by learning_rate against the sign "
                "of its gradient")
            raise CheckError(
                f"{where}: step {step} moved the weights by {fmt(moved)}; expected "
                f"learning_rate = {lr:g} for every weight, whatever its gradient's size{why}"
            )


@check(NB, "test_adam_defaults")
def adam_defaults(learner: Learner) -> None:
    _check_defaults(learner, "adam", seed=11)
