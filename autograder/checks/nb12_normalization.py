"""Graded checks of notebook 12 (normalization): batch norm (forward in train and test mode with
running statistics, backward through the graph and by the compact formula) and layer norm.

One check per graded test cell; each repeats the cell's visible cases and adds hidden ones: other
shapes (never N = 2 or D = 2, where a normalized column is just ±1), square batches, large
offsets and scales, a feature of tiny variance (where eps matters) and a constant one (where only
eps keeps the division finite), other eps and momentum, a batch of one example for layer norm and
for test mode. A known mistake is named by the catalogue
(:mod:`autograder.mistakes.normalization`), as in the notebook's visible tests.

Forward values are compared with :mod:`bplib.normalization`. The learner chooses the cache, so
every backward pass is fed the cache of the learner's own forward pass and its gradients are
compared with numerical gradients of bplib's forward pass (with the same inputs): a backward pass
only scores when it is the gradient of the right function. When a backward check fails and the
learner's forward output is wrong for that input too, the message says so.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, as_array, as_tuple, check
from autograder.mistakes import HINT, Mistake, hint
from autograder.mistakes.normalization import (
    BATCHNORM_DBETA,
    BATCHNORM_DGAMMA,
    BATCHNORM_DX,
    BATCHNORM_FORWARD,
    LAYERNORM_DBETA,
    LAYERNORM_DGAMMA,
    LAYERNORM_DX,
    LAYERNORM_FORWARD,
    RUNNING_MEAN,
    RUNNING_VAR,
)
from autograder.numeric import MATCH, Tolerance, close, worst_entry
from bplib import normalization as ref
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient, numerical_gradient_array

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "12-normalization"

# The worked example of the notebook (section 2).
X_EXAMPLE = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])
GAMMA_EXAMPLE = np.array([2.0, 0.5])
BETA_EXAMPLE = np.array([1.0, -1.0])
# The visible tests' inputs where eps matters: a feature (column), an example (row) of tiny variance.
TINY_EXAMPLE = np.array([[1.0, 0.0], [3.0, 0.001], [5.0, 0.002]])
TINY_ROW_EXAMPLE = np.array([[1.0, 2.0], [0.0, 0.002], [5.0, 4.0]])

GRAD_TOL = 1e-6  # centered differences of a normalization are good to about 1e-8


def _draw(seed: int, n: int, d: int, scale: float = 1.0, offset: float = 0.0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (N, D) = scale * normal + offset, gamma and beta (D,) normal, from one seed."""
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, d)) + offset
    return x, rng.standard_normal(d), rng.standard_normal(d)


def _show(param: dict[str, Any] | None) -> str:
    if not param:
        return "{}"
    parts = [f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v:g}" if isinstance(v, float | int)
             else f"{k}: (array)" for k, v in param.items()]
    return "{" + ", ".join(parts) + "}"


def _forward(learner: Learner, name: str, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
             param: dict[str, Any] | None) -> tuple[np.ndarray, Any, dict[str, Any] | None, str]:
    """The learner's (out, cache) and the param dict after the call; inputs must stay unchanged."""
    where = f"{name}(x of shape {x.shape}, ..., {_show(param)})"
    args = [x.copy(), gamma.copy(), beta.copy()]
    given = copy.deepcopy(param)
    result = as_tuple(getattr(learner, name)(*args, given), f"{where}:", ["out", "cache"])
    for arg, before, label in zip(args, (x, gamma, beta), ("x", "gamma", "beta"), strict=True):
        if not np.array_equal(arg, before):
            raise CheckError(f"{where} changed its input {label} in place; compute new arrays")
    out = as_array(result[0], f"{where}: out", shape=x.shape)
    return out, result[1], given, where


def _normalize(x: np.ndarray, mean: Any, var: Any, eps: float, gamma: np.ndarray,
               beta: np.ndarray) -> np.ndarray:
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def _check_out(out: np.ndarray, want: np.ndarray, where: str, mistakes: Sequence[Mistake],
               inputs: tuple[Any, ...]) -> None:
    """out must be want; a known mistake of ``inputs`` (the forward call's) is named."""
    if close(out, want, Tolerance(1e-8, 1e-10)):
        return
    raise CheckError(f"{where}: out is wrong; {_gap('out', out, want)}"
                     + hint(out, mistakes, *inputs, want=want))


def _gap(name: str, got: np.ndarray, want: np.ndarray) -> str:
    """The entry of ``got`` furthest from ``want``, with the digits that tell the two apart."""
    ix, yours, expected = worst_entry(got, want)
    return (f"worst entry {name}[{', '.join(map(str, ix))}]: yours = {yours:.11g}, expected "
            f"{expected:.11g}")


# ----------------------------------------------------------------------------- batchnorm_forward


def _bn_train_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    cases = [(X_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, {"mode": "train"}),
             (TINY_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, {"mode": "train", "eps": 1e-4})]
    x, _, _ = _draw(120, 50, 4, 3.0, 7.0)
    cases.append((x, np.ones(4), np.zeros(4), {"mode": "train"}))
    for seed, n, d, scale, offset, param in [
        (1201, 4, 5, 1.0, 0.0, {"mode": "train"}),
        (1202, 8, 3, 5.0, 3.0, {"mode": "train", "eps": 1e-3}),
        (1203, 3, 7, 1.0, -2.0, {"mode": "train", "momentum": 0.5}),
        (1204, 6, 6, 2.0, 0.0, {"mode": "train"}),
        (1205, 16, 1, 1.0, 10.0, {"mode": "train", "eps": 1e-5, "momentum": 0.9}),
        (1206, 10, 4, 100.0, 50.0, {"mode": "train"}),
    ]:
        x, gamma, beta = _draw(seed, n, d, scale, offset)
        cases.append((x, gamma, beta, param))
    # A feature of tiny variance (about 1e-6): here eps is not negligible, so where it goes shows.
    x, gamma, beta = _draw(1207, 5, 3)
    x[:, 0] *= 1e-3
    cases.append((x, gamma, beta, {"mode": "train"}))
    cases.append((x, gamma, beta, {"mode": "train", "eps": 1e-2}))
    # A constant feature (variance 0): its xhat is 0 / sqrt(0 + eps) = 0, so its out is beta.
    x, gamma, beta = _draw(1208, 6, 3)
    x[:, 1] = 2.5
    cases.append((x, gamma, beta, {"mode": "train"}))
    return cases


@check(NB, "test_batchnorm_forward_train")
def batchnorm_forward_train(learner: Learner) -> None:
    """Train mode: each feature normalized with the batch mean and biased variance, then scaled."""
    for x, gamma, beta, param in _bn_train_cases():
        out, _, _, where = _forward(learner, "batchnorm_forward", x, gamma, beta, param)
        want = ref.batchnorm_forward(x, gamma, beta, copy.deepcopy(param))[0]
        _check_out(out, want, where, BATCHNORM_FORWARD, (x, gamma, beta, param))


def _check_running(param_after: dict[str, Any] | None, want: dict[str, Any], before: dict[str, Any],
                   x: np.ndarray, where: str) -> None:
    """bn_param's running averages after a train-mode call (``before``: bn_param as given)."""
    if param_after is None:
        raise CheckError(f"{where}: bn_param is gone")
    d = x.shape[1]
    gamma, beta = np.ones(d), np.zeros(d)
    for key, table in (("running_mean", RUNNING_MEAN), ("running_var", RUNNING_VAR)):
        if key not in param_after:
            raise CheckError(
                f"{where}: bn_param has no '{key}' after a training step: the running averages "
                f"were not updated\n  hint: store the updated running averages in "
                f"bn_param['{key}'] (they start as zeros of shape (D,))"
            )
        got = as_array(param_after[key], f"bn_param['{key}']")
        if got.shape != (d,):
            raise CheckError(f"{where}: bn_param['{key}'] has shape {got.shape}, expected (D,) = ({d},)")
        if close(got, want[key], Tolerance(1e-9, 1e-12)):
            continue
        raise CheckError(
            f"{where}: bn_param['{key}'] is wrong; {_gap(key, got, want[key])}"
            + hint(got, table, x, gamma, beta, before, want=want[key])
        )


@check(NB, "test_batchnorm_forward_running")
def batchnorm_forward_running(learner: Learner) -> None:
    """Train mode updates bn_param's running averages with the momentum (defaults: zeros, 0.9)."""
    # The visible case: from nothing, then a second step with momentum 0.5.
    steps = [[(X_EXAMPLE, {}), (X_EXAMPLE + 1.0, {"momentum": 0.5})]]
    rng = np.random.default_rng(1210)
    steps.append([(_draw(1211, 6, 4, 2.0, 1.0)[0], {"momentum": 0.7, "running_mean":
                   rng.standard_normal(4), "running_var": rng.uniform(0.5, 2.0, 4)})])
    steps.append([(_draw(1212 + k, 5, 3, 1.0 + k, k)[0], {}) for k in range(3)])  # three in a row
    steps.append([(_draw(1215, 8, 5, 3.0, -4.0)[0], {"momentum": 0.0})])
    steps.append([(_draw(1216, 4, 6)[0], {"momentum": 0.99, "eps": 1e-3})])
    for sequence in steps:
        mine: dict[str, Any] = {"mode": "train"}
        reference: dict[str, Any] = {"mode": "train"}
        for x, update in sequence:
            mine.update(copy.deepcopy(update))
            reference.update(copy.deepcopy(update))
            before = copy.deepcopy(mine)
            d = x.shape[1]
            gamma, beta = np.ones(d), np.zeros(d)
            _, _, after, where = _forward(learner, "batchnorm_forward", x, gamma, beta, mine)
            ref.batchnorm_forward(x, gamma, beta, reference)
            _check_running(after, reference, before, x, where)
            mine = after if after is not None else mine


@check(NB, "test_batchnorm_forward_test")
def batchnorm_forward_test(learner: Learner) -> None:
    """Test mode normalizes with the running averages and leaves bn_param unchanged."""
    rm, rv = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    cases = [(X_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, rm, rv, {}),
             (X_EXAMPLE[:1], GAMMA_EXAMPLE, BETA_EXAMPLE, rm, rv, {"eps": 1e-2})]
    rng = np.random.default_rng(1220)
    for seed, n, d, extra in [(1221, 5, 4, {}), (1222, 1, 6, {"eps": 1e-2}), (1223, 7, 3, {}),
                              (1224, 4, 4, {"momentum": 0.5})]:
        x, gamma, beta = _draw(seed, n, d, 2.0, 1.0)
        cases.append((x, gamma, beta, rng.standard_normal(d), rng.uniform(0.2, 3.0, d), extra))
    for x, gamma, beta, mean, var, extra in cases:
        param = {"mode": "test", "running_mean": mean.copy(), "running_var": var.copy(), **extra}
        out, _, after, where = _forward(learner, "batchnorm_forward", x, gamma, beta, param)
        eps = extra.get("eps", 1e-5)
        want = _normalize(x, mean, var, eps, gamma, beta)
        _check_out(out, want, where, BATCHNORM_FORWARD, (x, gamma, beta, param))
        for key, value in (("running_mean", mean), ("running_var", var)):
            got = None if after is None else after.get(key)
            if got is None or not close(got, value, Tolerance(0, 0)):
                raise CheckError(
                    f"{where}: test mode changed bn_param['{key}']\n  hint: the running averages "
                    "are updated in train mode only; test mode just reads them"
                )


# ----------------------------------------------------------------------------- backward passes


def _reference_numeric(kind: str, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                       param: dict[str, Any], dout: np.ndarray, name: str) -> np.ndarray:
    forward = ref.batchnorm_forward if kind == "batchnorm" else ref.layernorm_forward
    inputs = {"x": x, "gamma": gamma, "beta": beta}

    def f(v: np.ndarray) -> np.ndarray:
        args = {**inputs, name: v}
        return forward(args["x"], args["gamma"], args["beta"], copy.deepcopy(param))[0]

    return numerical_gradient_array(f, inputs[name].copy(), dout)


GRAD_MISTAKES = {
    "batchnorm": {"x": BATCHNORM_DX, "gamma": BATCHNORM_DGAMMA, "beta": BATCHNORM_DBETA},
    "layernorm": {"x": LAYERNORM_DX, "gamma": LAYERNORM_DGAMMA, "beta": LAYERNORM_DBETA},
}


def _check_backward(learner: Learner, forward: str, backward: str, names: list[str],
                    cases: list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]) -> None:
    """Check the gradients ``names`` of ``backward`` fed by the learner's ``forward``."""
    kind = "batchnorm" if forward.startswith("batchnorm") else "layernorm"
    reference = ref.batchnorm_forward if kind == "batchnorm" else ref.layernorm_forward
    for k, (x, gamma, beta, param) in enumerate(cases):
        n, d = x.shape
        dout = np.random.default_rng([k, n, d, 12]).standard_normal((n, d))
        out, cache, _, fwhere = _forward(learner, forward, x, gamma, beta, param)
        where = f"{backward} after {fwhere}"
        result = getattr(learner, backward)(dout.copy(), cache)
        if result is None:
            raise CheckError(f"{where}: returned None: is a `return` missing?")
        if not isinstance(result, tuple | list) or len(result) != 3:
            raise CheckError(f"{where}: must return the tuple (dx, dgamma, dbeta)")
        ref_out = reference(x, gamma, beta, copy.deepcopy(param))[0]
        note = ""
        if not close(out, ref_out, Tolerance(1e-8, MATCH.atol)):
            note = (f"\n  note: your {forward} gives the wrong out for these inputs too, and this "
                    f"backward pass is checked with the cache it returns: fix {forward} first")
        for name in names:
            index = ("x", "gamma", "beta").index(name)
            gname = f"d{name}"
            if result[index] is None:
                raise GradientCheckError(f"{where}: {gname} is None: is it computed and returned?")
            got = as_array(result[index], gname)
            numeric = _reference_numeric(kind, x, gamma, beta, param, dout, name)
            try:
                check_gradient(
                    got, numeric, gname, GRAD_TOL, batch_size=n,
                    numeric_ones=functools.partial(
                        _reference_numeric, kind, x, gamma, beta, param, np.ones((n, d)), name),
                )
            except GradientCheckError as exc:
                # a known mistake's hint in place of the checker's generic one
                why = hint(got, GRAD_MISTAKES[kind][name], x, gamma, beta, param, dout,
                           want=numeric)
                text = str(exc).split(HINT, 1)[0] + why if why else str(exc)
                raise GradientCheckError(f"{where}: {text}{note}") from None
        # Zero upstream gradient in, zeros out (a fresh forward pass: the cache may be spent).
        _, cache, _, _ = _forward(learner, forward, x, gamma, beta, param)
        zero = getattr(learner, backward)(np.zeros((n, d)), cache)
        for name in names:
            index = ("x", "gamma", "beta").index(name)
            if np.any(as_array(zero[index], f"d{name}")):
                raise GradientCheckError(
                    f"{where}: with dout = 0, d{name} must be all zeros\n  hint: every term of "
                    f"d{name} must be multiplied by the upstream gradient dout"
                )


def _bn_backward_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    cases = []
    for seed, n, d, scale, offset, param in [
        (121, 4, 5, 1.0, 0.0, {"mode": "train"}),  # the visible draws (seeds 121-124)
        (122, 4, 5, 1.0, 0.0, {"mode": "train"}),
        (124, 6, 4, 1.0, 0.0, {"mode": "train"}),
        (1230, 8, 3, 1.0, 0.0, {"mode": "train"}),
        (1231, 3, 7, 2.0, 1.0, {"mode": "train", "eps": 1e-3}),
        (1232, 6, 6, 1.0, 0.0, {"mode": "train", "momentum": 0.5}),
        (1233, 10, 4, 3.0, 2.0, {"mode": "train"}),
        (1234, 5, 1, 1.0, 0.0, {"mode": "train"}),
    ]:
        x, gamma, beta = _draw(seed, n, d, scale, offset)
        cases.append((x, gamma, beta, param))
    return cases


@check(NB, "test_batchnorm_backward_dx")
def batchnorm_backward_dx(learner: Learner) -> None:
    """dx of the graph walk, through the learner's own forward pass."""
    _check_backward(learner, "batchnorm_forward", "batchnorm_backward", ["x"], _bn_backward_cases())


@check(NB, "test_batchnorm_backward_dgamma")
def batchnorm_backward_dgamma(learner: Learner) -> None:
    """dgamma = sum over the batch of dout * xhat."""
    _check_backward(learner, "batchnorm_forward", "batchnorm_backward", ["gamma"],
                    _bn_backward_cases())


@check(NB, "test_batchnorm_backward_dbeta")
def batchnorm_backward_dbeta(learner: Learner) -> None:
    """dbeta = sum over the batch of dout."""
    _check_backward(learner, "batchnorm_forward", "batchnorm_backward", ["beta"],
                    _bn_backward_cases())


@check(NB, "test_batchnorm_backward_alt")
def batchnorm_backward_alt(learner: Learner) -> None:
    """The compact formula: all three gradients right (and so equal to the graph walk's)."""
    _check_backward(learner, "batchnorm_forward", "batchnorm_backward_alt", ["x", "gamma", "beta"],
                    _bn_backward_cases())


# ----------------------------------------------------------------------------- layer norm


def _ln_backward_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    cases = []
    for seed, n, d, scale, offset, param in [
        (126, 4, 5, 1.0, 0.0, {}), (127, 4, 5, 1.0, 0.0, {}),  # the visible draws
        (1250, 1, 6, 1.0, 0.0, {}), (1251, 7, 3, 4.0, 2.0, {"eps": 1e-3}),
        (1252, 5, 5, 1.0, 0.0, {}), (1253, 3, 10, 50.0, 100.0, {}),
        (1254, 6, 4, 1.0, -1.0, {"eps": 1e-2}),
    ]:
        x, gamma, beta = _draw(seed, n, d, scale, offset)
        cases.append((x, gamma, beta, param))
    x, gamma, beta = _draw(1255, 4, 3)
    x[1] = 1e-3 * x[1] + 0.5  # an example of tiny variance: eps matters
    cases.append((x, gamma, beta, {}))
    return cases


def _ln_forward_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    cases = [(X_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, {"eps": 1e-5}),
             (TINY_ROW_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, {"eps": 1e-4})]
    x, _, _ = _draw(125, 3, 40, 2.0, -5.0)
    cases.append((x, np.ones(40), np.zeros(40), {}))
    cases += _ln_backward_cases()
    # A constant example (variance 0): its xhat is 0 / sqrt(0 + eps) = 0, so its out is beta.
    x, gamma, beta = _draw(1256, 3, 4)
    x[2] = -1.5
    cases.append((x, gamma, beta, {}))
    return cases


@check(NB, "test_layernorm_forward")
def layernorm_forward(learner: Learner) -> None:
    """Each example (row) normalized over its D features with its own mean and biased variance."""
    for x, gamma, beta, param in _ln_forward_cases():
        try:
            out, _, _, where = _forward(learner, "layernorm_forward", x, gamma, beta, param)
        except LearnerError as exc:
            if exc.exc_type != "ValueError" or "broadcast" not in exc.exc_message:
                raise
            raise CheckError(
                f"{exc}\n  hint: x.mean(axis=1) has shape (N,): keep the axis so that it "
                "broadcasts over each row, x.mean(axis=1, keepdims=True) of shape (N, 1)"
            ) from None
        want = ref.layernorm_forward(x, gamma, beta, copy.deepcopy(param))[0]
        _check_out(out, want, where, LAYERNORM_FORWARD, (x, gamma, beta, param))


@check(NB, "test_layernorm_backward_dx")
def layernorm_backward_dx(learner: Learner) -> None:
    """dx by the compact formula with sums over each row, through the learner's forward pass."""
    _check_backward(learner, "layernorm_forward", "layernorm_backward", ["x"], _ln_backward_cases())


@check(NB, "test_layernorm_backward_dgamma_dbeta")
def layernorm_backward_dgamma_dbeta(learner: Learner) -> None:
    """dgamma and dbeta still sum over the batch (axis 0)."""
    _check_backward(learner, "layernorm_forward", "layernorm_backward", ["gamma", "beta"],
                    _ln_backward_cases())
