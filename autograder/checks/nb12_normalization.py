"""Graded checks of notebook 12 (normalization): batch norm (forward in train and test mode with
running statistics, backward through the graph and by the compact formula) and layer norm.

One check per graded test cell; each repeats the cell's visible cases and adds hidden ones: other
shapes (never N = 2 or D = 2, where a normalized column is just ±1), square batches, large
offsets and scales, a feature of tiny variance (where eps matters), other eps and momentum, a
batch of one example for layer norm and for test mode.

Forward values are compared with :mod:`bplib.normalization`. The learner chooses the cache, so
every backward pass is fed the cache of the learner's own forward pass and its gradients are
compared with numerical gradients of bplib's forward pass (with the same inputs): a backward pass
only scores when it is the gradient of the right function. When a backward check fails and the
learner's forward output is wrong for that input too, the message says so.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, as_array, as_tuple, check
from autograder.mistakes import which
from autograder.numeric import MATCH, Tolerance, close, quiet, worst_entry
from bplib import normalization as ref
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient, numerical_gradient_array

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "12-normalization"

# The worked example of the notebook (section 2).
X_EXAMPLE = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])
GAMMA_EXAMPLE = np.array([2.0, 0.5])
BETA_EXAMPLE = np.array([1.0, -1.0])

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


def _check_out(out: np.ndarray, want: np.ndarray, where: str,
               slips: list[tuple[str, Callable[[], np.ndarray]]]) -> None:
    tol = Tolerance(1e-8, 1e-10)
    if close(out, want, tol):
        return
    hint = which(out, [(text, _made(make)) for text, make in slips], tol)
    (i, j), yours, expected = worst_entry(out, want)
    raise CheckError(
        f"{where}: out is wrong; worst entry out[{i}, {j}]: yours = {yours:.8g}, expected "
        f"{expected:.8g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


def _made(make: Callable[[], np.ndarray]) -> np.ndarray | None:
    """A slip's value, or None where its shapes do not broadcast for this input."""
    try:
        with quiet():
            return make()
    except ValueError:
        return None


# ----------------------------------------------------------------------------- batchnorm_forward


def _bn_train_slips(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
                    ) -> list[tuple[str, Callable[[], np.ndarray]]]:
    mean, var = x.mean(axis=0), x.var(axis=0)
    return [
        ("the variance divided by N - 1; batch norm divides by N (x.var(axis=0))",
         lambda: _normalize(x, mean, x.var(axis=0, ddof=1), eps, gamma, beta)),
        ("eps added outside the square root: use sqrt(var + eps)",
         lambda: gamma * (x - mean) / (np.sqrt(var) + eps) + beta),
        ("normalized with the default eps = 1e-5: use bn_param['eps'] when it is given",
         lambda: _normalize(x, mean, var, 1e-5, gamma, beta)),
        ("divided by the variance, not by the standard deviation sqrt(var + eps)",
         lambda: gamma * (x - mean) / (var + eps) + beta),
        ("not scaled and shifted: out = gamma * xhat + beta", lambda: _normalize(
            x, mean, var, eps, np.ones_like(gamma), np.zeros_like(beta))),
        ("gamma and beta swapped: out = gamma * xhat + beta",
         lambda: _normalize(x, mean, var, eps, beta, gamma)),
        ("the statistics of each row (axis 1); batch norm normalizes each feature (column) "
         "over the batch, axis 0", lambda: _normalize(
             x, x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True), eps, gamma, beta)),
    ]


def _bn_train_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    cases = [(X_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, {"mode": "train"})]
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
    return cases


@check(NB, "test_batchnorm_forward_train")
def batchnorm_forward_train(learner: Learner) -> None:
    """Train mode: each feature normalized with the batch mean and biased variance, then scaled."""
    for x, gamma, beta, param in _bn_train_cases():
        out, _, _, where = _forward(learner, "batchnorm_forward", x, gamma, beta, param)
        want = ref.batchnorm_forward(x, gamma, beta, copy.deepcopy(param))[0]
        _check_out(out, want, where, _bn_train_slips(x, gamma, beta, param.get("eps", 1e-5)))


def _running_slips(old: np.ndarray, batch: np.ndarray, m: float, unbiased: np.ndarray | None
                   ) -> list[tuple[str, np.ndarray]]:
    slips = [
        ("not updated: in train mode store momentum * running + (1 - momentum) * batch "
         "statistic in bn_param", old),
        ("the momentum weights swapped: momentum weights the OLD running value, running = "
         "momentum * running + (1 - momentum) * batch", m * batch + (1 - m) * old),
        ("the batch statistic alone: average it into the old value, running = momentum * "
         "running + (1 - momentum) * batch", batch),
    ]
    if unbiased is not None:
        slips.append(("the running variance made from the unbiased variance (N - 1): store the "
                      "variance batch norm normalizes with, x.var(axis=0)",
                      m * old + (1 - m) * unbiased))
        slips.append(("the running variance made from the standard deviation: average the "
                      "variance", m * old + (1 - m) * np.sqrt(batch)))
    return slips


def _check_running(param_after: dict[str, Any] | None, want: dict[str, Any], before: dict[str, Any],
                   x: np.ndarray, where: str) -> None:
    if param_after is None:
        raise CheckError(f"{where}: bn_param is gone")
    d = x.shape[1]
    m = float(before.get("momentum", 0.9))
    for key, batch, unbiased in (("running_mean", x.mean(axis=0), None),
                                 ("running_var", x.var(axis=0), x.var(axis=0, ddof=1))):
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
        old = np.asarray(before.get(key, np.zeros(d)), dtype=np.float64)
        hint = which(got, _running_slips(old, batch, m, unbiased), Tolerance(1e-9, 1e-12))
        if hint.startswith("not updated"):
            hint = "the running averages were not updated: " + hint[len("not updated: "):]
        raise CheckError(
            f"{where}: bn_param['{key}'] is {np.round(got, 6).tolist()}, expected "
            f"{np.round(want[key], 6).tolist()}" + (f"\n  hint: {hint}" if hint else "")
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
             (X_EXAMPLE[:1], GAMMA_EXAMPLE, BETA_EXAMPLE, rm, rv, {})]
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
        slips: list[tuple[str, Callable[[], np.ndarray]]] = [
            ("normalized with the batch's own statistics: in test mode normalize with bn_param's "
             "running_mean and running_var", lambda x=x, g=gamma, b=beta, e=eps: _normalize(
                 x, x.mean(axis=0), x.var(axis=0), e, g, b)),
            ("eps added outside the square root: use sqrt(running_var + eps)",
             lambda x=x, g=gamma, b=beta, e=eps, m=mean, v=var: g * (x - m) / (np.sqrt(v) + e) + b),
            ("divided by running_var, not by its square root", lambda x=x, g=gamma, b=beta, e=eps,
             m=mean, v=var: g * (x - m) / (v + e) + b),
        ]
        _check_out(out, want, where, slips)
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


def _dx_slips(kind: str, x: np.ndarray, gamma: np.ndarray, param: dict[str, Any],
              dout: np.ndarray) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """dx of the usual mistakes, for batch norm (axis 0) or layer norm (axis 1)."""
    eps = float(param.get("eps", 1e-5))
    axis = 0 if kind == "batchnorm" else 1
    s = 1.0 / np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    xhat = (x - x.mean(axis=axis, keepdims=True)) * s
    g = dout * gamma
    count = x.shape[axis]

    def compact(gg: np.ndarray, ax: int) -> np.ndarray:
        """The compact formula for upstream gg, its sums taken along ``ax``."""
        m = gg.shape[ax]
        return s / m * (m * gg - gg.sum(axis=ax, keepdims=True)
                        - xhat * (gg * xhat).sum(axis=ax, keepdims=True))

    stats = "the batch (axis 0)" if axis == 0 else "each example's features (axis 1)"
    return [
        ("missing the path through the mean: x also reaches the loss through mu = mean(x); "
         "add dmu / N with dmu = -sum(dxc) (in the compact formula: the - sum(g) term)",
         lambda: s * g - s / count * xhat * (g * xhat).sum(axis=axis, keepdims=True)),
        ("missing the path through the variance (the - xhat * sum(g * xhat) term of the compact "
         "formula)", lambda: s * (g - g.mean(axis=axis, keepdims=True))),
        ("the gradient with mean and variance treated as constants (the test-mode formula); in "
         "train mode they depend on x", lambda: s * g),
        ("computed from dout instead of g = dout * gamma: multiply by gamma first (dxhat = "
         "dout * gamma)", lambda: compact(dout, axis)),
        (f"summed along the wrong axis: the normalization's sums run over {stats}",
         lambda: compact(g, 1 - axis)),
    ]


def _param_slips(name: str, got: np.ndarray, dout: np.ndarray, xhat: np.ndarray) -> str:
    n, d = dout.shape
    if got.shape == (n,) and n != d:
        return (f"{name} was summed over axis 1 (the features); sum over axis 0, the batch: "
                "gamma and beta are shared by every example, one entry per feature")
    if name == "dgamma" and close(got, dout.sum(axis=0), MATCH):
        return "dgamma must be weighted by xhat: dgamma = sum over the batch of dout * xhat"
    if name == "dbeta" and close(got, (dout * xhat).sum(axis=0), MATCH):
        return "dgamma and dbeta are swapped: dbeta = sum(dout), dgamma = sum(dout * xhat)"
    if close(got, (dout * xhat if name == "dgamma" else dout).mean(axis=0), MATCH):
        return f"{name} was averaged over the batch: sum over it instead (dout already carries any 1/N)"
    return ""


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
        xhat = (x - x.mean(axis=0 if kind == "batchnorm" else 1, keepdims=True))
        xhat = xhat / np.sqrt(x.var(axis=0 if kind == "batchnorm" else 1, keepdims=True)
                              + float(param.get("eps", 1e-5)))
        for name in names:
            index = ("x", "gamma", "beta").index(name)
            gname = f"d{name}"
            if result[index] is None:
                raise GradientCheckError(f"{where}: {gname} is None: is it computed and returned?")
            got = as_array(result[index], gname)
            numeric = _reference_numeric(kind, x, gamma, beta, param, dout, name)
            hint = ""
            if name == "x" and got.shape == x.shape and not close(got, numeric, Tolerance(1e-5, 1e-8)):
                hint = which(got, [(text, _made(make))
                                   for text, make in _dx_slips(kind, x, gamma, param, dout)],
                             Tolerance(1e-6, 1e-9))
            elif name != "x" and not close(got, numeric, Tolerance(1e-5, 1e-8)):
                hint = _param_slips(gname, got, dout, xhat)
            if hint:
                hint = f"yours is {hint}" if name == "x" else hint
                raise GradientCheckError(f"{where}: {gname} is wrong.\n  hint: {hint}{note}")
            try:
                check_gradient(
                    got, numeric, gname, GRAD_TOL, batch_size=n,
                    numeric_ones=functools.partial(
                        _reference_numeric, kind, x, gamma, beta, param, np.ones((n, d)), name),
                )
            except GradientCheckError as exc:
                raise GradientCheckError(f"{where}: {exc}{note}") from None
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


def _ln_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    cases = [(X_EXAMPLE, GAMMA_EXAMPLE, BETA_EXAMPLE, {"eps": 1e-5})]
    x, _, _ = _draw(125, 3, 40, 2.0, -5.0)
    cases.append((x, np.ones(40), np.zeros(40), {}))
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


def _ln_slips(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
              ) -> list[tuple[str, Callable[[], np.ndarray]]]:
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    return [
        ("the statistics of each feature over the batch (axis 0), as in batch norm; layer "
         "norm normalizes each example (row) over its features, axis 1",
         lambda: _normalize(x, x.mean(axis=0), x.var(axis=0), eps, gamma, beta)),
        ("the variance divided by D - 1; layer norm divides by D (x.var(axis=1))",
         lambda: _normalize(x, mean, x.var(axis=1, ddof=1, keepdims=True), eps, gamma, beta)),
        ("eps added outside the square root: use sqrt(var + eps)",
         lambda: gamma * (x - mean) / (np.sqrt(var) + eps) + beta),
        ("normalized with the default eps = 1e-5: use ln_param['eps'] when it is given",
         lambda: _normalize(x, mean, var, 1e-5, gamma, beta)),
        ("x.mean(axis=1) without keepdims, broadcast along the wrong axis: keep the axis so "
         "that it broadcasts over each row", lambda: _normalize(
             x, x.mean(axis=1), x.var(axis=1), eps, gamma, beta)),
        ("not scaled and shifted: out = gamma * xhat + beta", lambda: _normalize(
            x, mean, var, eps, np.ones_like(gamma), np.zeros_like(beta))),
    ]


@check(NB, "test_layernorm_forward")
def layernorm_forward(learner: Learner) -> None:
    """Each example (row) normalized over its D features with its own mean and biased variance."""
    for x, gamma, beta, param in _ln_cases():
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
        slips = _ln_slips(x, gamma, beta, float(param.get("eps", 1e-5)))
        _check_out(out, want, where, slips)


@check(NB, "test_layernorm_backward_dx")
def layernorm_backward_dx(learner: Learner) -> None:
    """dx by the compact formula with sums over each row, through the learner's forward pass."""
    _check_backward(learner, "layernorm_forward", "layernorm_backward", ["x"], _ln_cases()[2:])


@check(NB, "test_layernorm_backward_dgamma_dbeta")
def layernorm_backward_dgamma_dbeta(learner: Learner) -> None:
    """dgamma and dbeta still sum over the batch (axis 0)."""
    _check_backward(learner, "layernorm_forward", "layernorm_backward", ["gamma", "beta"],
                    _ln_cases()[2:])
