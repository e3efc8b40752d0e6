"""Graded checks of notebook 02 (chain rule): a staged scalar function, fan-out, and the sigmoid.

One check per graded test cell. Each repeats the cell's visible cases and adds hidden ones (other
points, upstream gradients and shapes, huge inputs for the sigmoid). Expected values come from
formulas and centered differences computed here (:mod:`bplib.gradcheck`); a backward function is
always handed the documented cache built here, so that it is graded on its own, whatever the
learner's forward function does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.framework import Learner, check, check_table, describe
from autograder.mistakes import which
from autograder.numeric import EXACT, Tolerance, quiet
from bplib.gradcheck import (
    CheckError,
    centered_difference,
    check_gradient,
    numerical_gradient_array,
)

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "02-chain-rule"

Case = tuple[float, float, float, float, float]  # (df, x, y, z, w)

# the worked example, and another point with another upstream gradient
_VISIBLE_CASES: list[Case] = [(1.0, 3.0, -2.0, 5.0, 0.0), (-1.7, 0.8, 1.9, -0.6, 1.3)]


def _sig(v: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-v))


def _sigmoid_reference(x: Any) -> np.ndarray:
    """A sigmoid that never overflows: exp only ever sees -|x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# ----------------------------------------------------------------------------- staged_forward


def _check_staged_value(learner: Learner, x: float, y: float, z: float, w: float) -> None:
    """staged_forward(x, y, z, w) must return (f, cache) with f = (x*y + z) * sigmoid(w)."""
    with quiet():
        result = learner.staged_forward(x, y, z, w)
    if result is None:
        raise CheckError("staged_forward returned None: is a `return` missing?")
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckError("staged_forward must return the pair (f, cache)")
    f, _ = result
    if isinstance(f, tuple | list):
        raise CheckError("staged_forward returned (cache, f): return f first, then the cache")
    f = float(f)
    s = 1.0 / (1.0 + np.exp(-w))
    want = (x * y + z) * s
    if abs(f - want) <= 1e-10 * abs(want) + 1e-12:
        return
    slips = [
        ("1 - σ(w): the sigmoid is 1 / (1 + exp(-w)), with a minus sign in the exponent",
         (x * y + z) * (1 - s)),
        ("x*y + z*σ(w): the whole sum x*y + z is multiplied by σ(w) (mind the parentheses)",
         x * y + z * s),
        ("(x*y + z) * w: multiply by σ(w), not by w itself", (x * y + z) * w),
        ("x*y*σ(w): z is missing from p = x*y + z", x * y * s),
    ]  # fmt: skip
    hint = which(f, slips, Tolerance(1e-9, 1e-12))
    raise CheckError(
        f"staged_forward({x:.6g}, {y:.6g}, {z:.6g}, {w:.6g}): expected f = {want:.10g}, "
        f"got {f:.10g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


@check(NB, "test_staged_forward_value")
def staged_forward_value(learner: Learner) -> None:
    _check_staged_value(learner, 3.0, -2.0, 5.0, 0.0)  # the worked example: f = -1 * 0.5 = -0.5
    _check_staged_value(learner, 0.8, 1.9, -0.6, 1.3)
    rng = np.random.default_rng(21)
    for x, y, z, w in rng.uniform(-3, 3, size=(5, 4)):
        _check_staged_value(learner, float(x), float(y), float(z), float(w))
    _check_staged_value(learner, 1.5, 2.0, -1.0, -4.0)
    _check_staged_value(learner, 2, 3, 1, 1)  # integers are numbers too


def _check_staged_cache(learner: Learner, x: float, y: float, z: float, w: float) -> None:
    """staged_forward must cache exactly (x, y, p, s), with p = x*y + z and s = sigmoid(w)."""
    with quiet():
        result = learner.staged_forward(x, y, z, w)
    if result is None:
        raise CheckError("staged_forward returned None: is a `return` missing?")
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckError("staged_forward must return the pair (f, cache)")
    cache = result[1]
    if not isinstance(cache, tuple | list) or len(cache) != 4:
        raise CheckError(f"the cache must be the tuple (x, y, p, s) of 4 values, got "
                         f"{describe(cache)}")
    q, p, s = x * y, x * y + z, 1.0 / (1.0 + np.exp(-w))
    f = p * s
    names = ("x", "y", "p", "s")
    for k, (name, want, got) in enumerate(zip(names, (x, y, p, s), cache, strict=False)):
        got = float(got)
        if abs(got - want) <= 1e-10 * abs(want) + 1e-12:
            continue
        hint = ""
        if name == "p" and abs(got - q) <= 1e-10 * abs(q) + 1e-12:
            hint = "that is q = x*y; the backward pass needs p = x*y + z (df/ds = p)"
        elif name == "s" and abs(got - w) <= 1e-10 * abs(w) + 1e-12:
            hint = (
                "that is w, the sigmoid's input; store its OUTPUT s = σ(w): the backward pass "
                "computes σ'(w) = s·(1 - s) from s"
            )
        elif abs(got - f) <= 1e-10 * abs(f) + 1e-12:
            hint = "that is f; the cache holds the intermediate values, in the order (x, y, p, s)"
        raise CheckError(
            f"staged_forward({x:.6g}, {y:.6g}, {z:.6g}, {w:.6g}): cache[{k}] should be {name} = "
            f"{want:.10g}, got {got:.10g}" + (f"\n  hint: {hint}" if hint else "")
        )


@check(NB, "test_staged_forward_cache")
def staged_forward_cache(learner: Learner) -> None:
    _check_staged_cache(learner, 3.0, -2.0, 5.0, 0.0)  # the worked example: (3, -2, -1, 0.5)
    rng = np.random.default_rng(22)
    for x, y, z, w in rng.uniform(-3, 3, size=(4, 4)):
        _check_staged_cache(learner, float(x), float(y), float(z), float(w))


# ----------------------------------------------------------------------------- staged_backward


def _staged_f(x: float, y: float, z: float, w: float) -> float:
    return (x * y + z) / (1.0 + np.exp(-w))


def _staged_grads(
    learner: Learner, df: float, x: float, y: float, z: float, w: float
) -> tuple[dict[str, float], float, float]:
    # The cache is built here from (x, y, z, w), as the docstring specifies, so that this check
    # does not depend on staged_forward.
    s = 1.0 / (1.0 + np.exp(-w))
    p = x * y + z
    with quiet():
        grads = learner.staged_backward(df, (x, y, p, s))
    if grads is None:
        raise CheckError("staged_backward returned None: is a `return` missing?")
    if not isinstance(grads, tuple | list) or len(grads) != 4:
        raise CheckError("staged_backward must return the tuple (dx, dy, dz, dw)")
    names = ("dx", "dy", "dz", "dw")
    return dict(zip(names, (float(g) for g in grads), strict=True)), p, s


Slips = Callable[..., list[tuple[str, float]]]


def _check_cases(
    learner: Learner, name: str, cases: list[Case], expected: Callable[..., float], slips: Slips
) -> None:
    # Compare one gradient with centered differences over several cases. A known slip is named
    # only when it explains every failing case, so one coincidence cannot mislead.
    failures = []
    for df, x, y, z, w in cases:
        grads, p, s = _staged_grads(learner, df, x, y, z, w)
        got, want = grads[name], expected(df, x, y, z, w)
        if abs(got - want) > 1e-7 * max(1e-8, abs(got) + abs(want)):
            failures.append((df, x, y, z, w, got, want, slips(df, x, y, z, w, p, s, want)))
    if not failures:
        return
    df, x, y, z, w, got, want, case_slips = failures[0]
    hint = ""
    for k, (text, _) in enumerate(case_slips):
        if all(abs(f[5] - f[7][k][1]) <= 1e-9 * abs(f[7][k][1]) + 1e-12 for f in failures):
            hint = f"\n  hint: yours is {text}"
            break
    raise CheckError(
        f"staged_backward: {name} is wrong for x = {x:.4g}, y = {y:.4g}, z = {z:.4g}, "
        f"w = {w:.4g} with upstream df = {df:.4g}: expected {want:.8g}, got {got:.8g} "
        f"({len(failures)} of {len(cases)} cases wrong){hint}"
    )


def _hidden_cases() -> list[Case]:
    rng = np.random.default_rng(23)
    cases = []
    for _ in range(6):
        x, y, z = rng.uniform(0.4, 2.5, size=3) * rng.choice([-1.0, 1.0], size=3)
        w = float(rng.uniform(-3.0, 3.0))
        df = float(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]))
        if abs(x * y + z) < 0.3:
            z = -z  # keep p = x*y + z away from 0, where dw vanishes
        cases.append((df, float(x), float(y), float(z), w))
    return cases


def _check_staged_gradient(
    learner: Learner, name: str, expected: Callable[..., float], slips: Slips
) -> None:
    _check_cases(learner, name, _VISIBLE_CASES, expected, slips)
    _check_cases(learner, name, _hidden_cases(), expected, slips)


# The four gradients of staged_backward: the same check, each with its own derivative and slips.
_STAGED: dict[str, tuple[Callable[..., float], Slips]] = {
    "dx": (
        lambda df, x, y, z, w: df * centered_difference(lambda t: _staged_f(t, y, z, w), x),
        lambda df, x, y, z, w, p, s, want: [
            ("df·s·x: the local derivative of q = x·y with respect to x is y, the OTHER input",
             df * s * x),
            ("s·y, as if df were 1: multiply by the upstream gradient df", s * y),
            ("df·y: the gradient reaching q is dq = dp = df·s, through f = p·s", df * y),
            ("the right size with the wrong sign", -want),
        ],
    ),
    "dy": (
        lambda df, x, y, z, w: df * centered_difference(lambda t: _staged_f(x, t, z, w), y),
        lambda df, x, y, z, w, p, s, want: [
            ("df·s·y: the local derivative of q = x·y with respect to y is x, the OTHER input",
             df * s * y),
            ("s·x, as if df were 1: multiply by the upstream gradient df", s * x),
            ("df·x: the gradient reaching q is dq = dp = df·s, through f = p·s", df * x),
            ("the right size with the wrong sign", -want),
        ],
    ),
    "dz": (
        lambda df, x, y, z, w: df * centered_difference(lambda t: _staged_f(x, y, t, w), z),
        lambda df, x, y, z, w, p, s, want: [
            ("df without the factor s: z reaches f through p = q + z (local derivative 1) and "
             "then f = p·s (local derivative s), so dz = df·s", df),
            ("s, as if df were 1: multiply by the upstream gradient df", s),
            ("0: z is an input like the others; its gradient is dz = dp·1", 0.0),
            ("the right size with the wrong sign", -want),
        ],
    ),
    "dw": (
        lambda df, x, y, z, w: df * centered_difference(lambda t: _staged_f(x, y, z, t), w),
        lambda df, x, y, z, w, p, s, want: [
            ("the right size with the wrong sign: σ'(w) = s·(1 - s) is never negative", -want),
            ("df·s·(1 - s), missing the factor p: the gradient reaching s is ds = df·p, "
             "and then dw = ds·s·(1 - s)", df * s * (1 - s)),
            ("df·p·s, missing the factor (1 - s): σ'(w) = s·(1 - s)", df * p * s),
            ("σ' applied to s as if s were the input w: s is already σ(w), the OUTPUT, so "
             "σ'(w) = s·(1 - s)", df * p * _sig(s) * (1 - _sig(s))),
            ("p·s·(1 - s), as if df were 1: multiply by the upstream gradient df",
             p * s * (1 - s)),
        ],
    ),
}  # fmt: skip
check_table(NB, {
    f"test_staged_backward_{name}": functools.partial(
        _check_staged_gradient, name=name, expected=expected, slips=slips)
    for name, (expected, slips) in _STAGED.items()
})


def _check_upstream(learner: Learner, x: float, y: float, z: float, w: float) -> None:
    """Every gradient is df times local derivatives: zero for df = 0, and proportional to df."""
    s = 1.0 / (1.0 + np.exp(-w))
    cache = (x, y, x * y + z, s)
    names = ("dx", "dy", "dz", "dw")
    with quiet():
        zero = learner.staged_backward(0.0, cache)
    if zero is None:
        raise CheckError("staged_backward returned None: is a `return` missing?")
    for name, g in zip(names, zero, strict=False):
        if float(g) != 0.0:
            raise CheckError(
                f"staged_backward with upstream df = 0 must give all-zero gradients, but {name} = "
                f"{float(g):.6g} (x = {x}, y = {y}, z = {z}, w = {w})\n  hint: every gradient is "
                "df × the local derivatives along its path; some part of yours does not start "
                "from the upstream gradient df"
            )
    with quiet():
        one = [float(g) for g in learner.staged_backward(1.0, cache)]
        scaled = [float(g) for g in learner.staged_backward(2.5, cache)]
    for name, a, b in zip(names, one, scaled, strict=False):
        if abs(b - 2.5 * a) > 1e-9 * (abs(b) + abs(2.5 * a)) + 1e-12:
            raise CheckError(
                f"staged_backward: {name} is {a:.6g} for df = 1 but {b:.6g} for df = 2.5; expected "
                f"{2.5 * a:.6g}\n  hint: the gradients must be proportional to the upstream "
                "gradient df: multiply by df exactly once on every path"
            )


@check(NB, "test_staged_backward_upstream")
def staged_backward_upstream(learner: Learner) -> None:
    _check_upstream(learner, 3.0, -2.0, 5.0, 0.0)
    _check_upstream(learner, -1.3, 0.7, 2.2, -1.1)
    _check_upstream(learner, 0.9, 2.4, -0.5, 2.6)


# ----------------------------------------------------------------------------- fanout_backward


def _fanout_grads(
    learner: Learner, dout: np.ndarray, x: np.ndarray, y: np.ndarray
) -> list[np.ndarray]:
    with quiet():
        grads = learner.fanout_backward(dout.copy(), (x.copy(), y.copy()))
    if grads is None:
        raise CheckError("fanout_backward returned None: is a `return` missing?")
    if not isinstance(grads, tuple | list) or len(grads) != 2:
        raise CheckError("fanout_backward must return the pair (dx, dy)")
    return [np.asarray(g, dtype=np.float64) for g in grads]


def _check_against(
    name: str,
    got: np.ndarray,
    want: np.ndarray,
    ones: np.ndarray,
    slips: list[tuple[str, Any]],
    where: str,
) -> None:
    """A recognised slip gets its own hint; otherwise the gradient checker's message."""
    if got.shape == want.shape and np.allclose(got, want, rtol=1e-7, atol=1e-10):
        return
    if got.shape == want.shape:
        text = which(got, slips, EXACT)
        if text:
            raise CheckError(
                f"fanout_backward {where}: {name} is wrong; expected "
                f"{np.array2string(want, precision=6)}, got "
                f"{np.array2string(got, precision=6)}\n  hint: yours is {text}"
            )
    check_gradient(got, want, name=name, numeric_ones=ones)


def _check_dx(learner: Learner, x: np.ndarray, y: np.ndarray, dout: np.ndarray) -> None:
    dx, _ = _fanout_grads(learner, dout, x, y)

    def g_of_x(v: np.ndarray) -> np.ndarray:
        return v * y + v

    want = numerical_gradient_array(g_of_x, x.copy(), dout)
    ones = numerical_gradient_array(g_of_x, x.copy(), np.ones_like(dout))
    _check_against("dx", dx, want, ones, [
        ("dout·y, the path through q = x·y only; x is also used directly, and that path's "
         "dout·1 must be ADDED: the gradients of the two paths sum", dout * y),
        ("dout, the direct path only; the path through q = x·y brings dout·y as well, and the "
         "gradients of the two paths sum", dout),
        ("the PRODUCT of the two paths' contributions (dout·y)·(dout·1); gradients arriving "
         "along different paths are ADDED", dout * y * dout),
        ("y + 1, as if dout were 1: multiply by the upstream gradient dout", y + 1),
    ], f"at x = {np.array2string(x, precision=4)}")  # fmt: skip


@check(NB, "test_fanout_backward_dx")
def fanout_backward_dx(learner: Learner) -> None:
    rng = np.random.default_rng(31)
    _check_dx(learner, rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5))
    # the worked example: dx = -2
    _check_dx(learner, np.array([2.0]), np.array([-3.0]), np.array([1.0]))
    rng = np.random.default_rng(32)
    _check_dx(learner, *(rng.standard_normal((3, 4)) for _ in range(3)))
    _check_dx(learner, *(rng.uniform(-2, 2, 7) for _ in range(3)))


def _check_dy(learner: Learner, x: np.ndarray, y: np.ndarray, dout: np.ndarray) -> None:
    _, dy = _fanout_grads(learner, dout, x, y)

    def g_of_y(v: np.ndarray) -> np.ndarray:
        return x * v + x

    want = numerical_gradient_array(g_of_y, y.copy(), dout)
    ones = numerical_gradient_array(g_of_y, y.copy(), np.ones_like(dout))
    _check_against("dy", dy, want, ones, [
        ("dout·(x + 1): y is used only once, in q = x·y; only x fans out", dout * (x + 1)),
        ("dout·y: the local derivative of q = x·y with respect to y is x, the OTHER input",
         dout * y),
        ("x, as if dout were 1: multiply by the upstream gradient dout", x),
    ], f"at y = {np.array2string(y, precision=4)}")  # fmt: skip


@check(NB, "test_fanout_backward_dy")
def fanout_backward_dy(learner: Learner) -> None:
    rng = np.random.default_rng(33)
    _check_dy(learner, rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5))
    # the worked example: dy = 2
    _check_dy(learner, np.array([2.0]), np.array([-3.0]), np.array([1.0]))
    rng = np.random.default_rng(34)
    _check_dy(learner, *(rng.standard_normal((3, 4)) for _ in range(3)))
    _check_dy(learner, *(rng.uniform(-2, 2, 7) for _ in range(3)))


def _check_fanout_upstream(
    learner: Learner, x: np.ndarray, y: np.ndarray, dout: np.ndarray
) -> None:
    """Both gradients are zero for dout = 0 and scale in proportion to dout."""
    with quiet():
        zero = learner.fanout_backward(np.zeros_like(dout), (x.copy(), y.copy()))
    for name, g in zip(("dx", "dy"), zero, strict=False):
        g = np.asarray(g, dtype=np.float64)
        if np.any(g != 0):
            raise CheckError(
                f"fanout_backward with dout = 0 must give zero gradients, but {name} = "
                f"{np.array2string(g, precision=6)}\n  hint: every path's contribution is dout × "
                "a local derivative; some part of yours does not start from the upstream gradient"
            )
    with quiet():
        one = [np.asarray(g, dtype=np.float64)
               for g in learner.fanout_backward(dout.copy(), (x.copy(), y.copy()))]
        scaled = [np.asarray(g, dtype=np.float64)
                  for g in learner.fanout_backward(2.5 * dout, (x.copy(), y.copy()))]  # fmt: skip
    for name, a, b in zip(("dx", "dy"), one, scaled, strict=False):
        if not np.allclose(b, 2.5 * a, rtol=1e-9, atol=1e-12):
            raise CheckError(
                f"fanout_backward: multiplying dout by 2.5 must multiply {name} by 2.5; got "
                f"{np.array2string(b, precision=6)} instead of "
                f"{np.array2string(2.5 * a, precision=6)}"
                "\n  hint: each path contributes dout × its local derivative, and the "
                "contributions are added, so the result is proportional to dout"
            )


@check(NB, "test_fanout_backward_upstream")
def fanout_backward_upstream(learner: Learner) -> None:
    rng = np.random.default_rng(35)
    _check_fanout_upstream(learner, *(rng.standard_normal(4) for _ in range(3)))
    rng = np.random.default_rng(36)
    _check_fanout_upstream(learner, *(rng.standard_normal((2, 3)) for _ in range(3)))


# ----------------------------------------------------------------------------- sigmoid_forward


def _sigmoid_call(learner: Learner, x: Any) -> Any:
    with quiet():
        result = learner.sigmoid_forward(x.copy() if isinstance(x, np.ndarray) else x)
    if result is None:
        raise CheckError("sigmoid_forward returned None: is a `return` missing?")
    return result


def _check_sigmoid_values(learner: Learner, x: Any, case: str) -> None:
    """out must be sigmoid(x) entry by entry, with x's shape."""
    result = _sigmoid_call(learner, x)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckError("sigmoid_forward must return the pair (out, cache)")
    out = np.asarray(result[0], dtype=np.float64)
    want = _sigmoid_reference(x)
    if out.shape != want.shape:
        raise CheckError(
            f"sigmoid_forward({case}): out has shape {out.shape}, expected {want.shape}"
        )
    if np.allclose(out, want, rtol=1e-10, atol=1e-15):
        return
    with quiet():
        slips = [
            ("1 / (1 + exp(+x)) = σ(-x): the exponent is -x", _sigmoid_reference(-np.asarray(x))),
            ("tanh(x); the sigmoid is 1 / (1 + exp(-x))", np.tanh(x)),
            ("exp(-x); the sigmoid is 1 / (1 + exp(-x))", np.exp(-np.asarray(x, dtype=np.float64))),
        ]
        hint = which(out, slips, Tolerance(1e-9, 1e-15))
        ix = np.unravel_index(int(np.argmax(np.abs(out - want))), want.shape) if want.ndim else ()
    where = f"[{', '.join(str(int(i)) for i in ix)}]" if ix else ""
    raise CheckError(
        f"sigmoid_forward({case}): out{where} should be {want[ix]:.10g}, got "
        f"{out[ix]:.10g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


@check(NB, "test_sigmoid_forward_values")
def sigmoid_forward_values(learner: Learner) -> None:
    # sigmoid(-2) = 0.119203, sigmoid(0) = 0.5, sigmoid(3) = 0.952574
    _check_sigmoid_values(learner, np.array([-2.0, 0.0, 3.0]), "[-2, 0, 3]")
    _check_sigmoid_values(learner, 0.0, "0.0")
    rng = np.random.default_rng(41)
    _check_sigmoid_values(learner, 3 * rng.standard_normal((4, 5)), "a (4, 5) array")
    _check_sigmoid_values(learner, rng.uniform(-8, 8, size=(2, 3, 2)), "a (2, 3, 2) array")
    _check_sigmoid_values(learner, -1.5, "-1.5")
    _check_sigmoid_values(learner, np.array([-30.0, -12.5, 12.5, 30.0]), "[-30, -12.5, 12.5, 30]")


def _check_sigmoid_cache(learner: Learner, x: np.ndarray, case: str) -> None:
    """The cache must be the output out itself (the array sigmoid_forward returned)."""
    result = _sigmoid_call(learner, x)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckError("sigmoid_forward must return the pair (out, cache)")
    out, cache = result
    out = np.asarray(out, dtype=np.float64)
    if isinstance(cache, tuple | list):
        raise CheckError(
            f"sigmoid_forward({case}): the cache is {describe(cache)}; it should be out itself (an array, not a tuple), which sigmoid_backward "
            "receives as cache"
        )
    cache = np.asarray(cache, dtype=np.float64)
    if cache.shape == out.shape and np.array_equal(cache, out):
        return
    if cache.shape == np.shape(x) and np.allclose(cache, x):
        raise CheckError(
            f"sigmoid_forward({case}): the cache holds the input x; cache the OUTPUT out = σ(x)\n"
            "  hint: the derivative out·(1 - out) is written with the sigmoid's output; given the "
            "input, s·(1 - s) silently computes the wrong number"
        )
    raise CheckError(
        f"sigmoid_forward({case}): the cache should be out itself, "
        f"{np.array2string(out, precision=6)}; got {np.array2string(cache, precision=6)}"
    )


@check(NB, "test_sigmoid_forward_cache")
def sigmoid_forward_cache(learner: Learner) -> None:
    _check_sigmoid_cache(learner, np.array([-2.0, 0.0, 3.0]), "[-2, 0, 3]")
    rng = np.random.default_rng(42)
    _check_sigmoid_cache(learner, rng.standard_normal((3, 4)), "a (3, 4) array")
    _check_sigmoid_cache(learner, np.array([[0.25, -0.75]]), "[[0.25, -0.75]]")


def _check_sigmoid_large(learner: Learner, x: np.ndarray, case: str) -> None:
    """For huge |x| the output must still be finite and right: 0 or 1 (or tiny, exactly)."""
    result = _sigmoid_call(learner, x)
    out = np.asarray(result[0], dtype=np.float64)
    want = _sigmoid_reference(x)
    with quiet():
        if out.shape == want.shape and np.allclose(out, want, rtol=1e-10, atol=1e-300):
            return
    if out.shape == want.shape and not np.all(np.isfinite(out)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        at = ", ".join(map(str, bad))
        raise CheckError(
            f"sigmoid_forward({case}): out[{at}] is {out[bad]} for x = {x[bad]:g}; expected "
            f"{want[bad]:g}\n  hint: exp(x) / (1 + exp(x)) is inf / inf = nan for large x; "
            "exponentiate only -|x| (e = exp(-|x|), then 1 / (1 + e) or e / (1 + e))"
        )
    raise CheckError(
        f"sigmoid_forward({case}): expected {np.array2string(want, precision=6)}, got "
        f"{np.array2string(out, precision=6)}"
    )


@check(NB, "test_sigmoid_forward_large")
def sigmoid_forward_large(learner: Learner) -> None:
    _check_sigmoid_large(
        learner, np.array([-1000.0, -40.0, 40.0, 1000.0]), "[-1000, -40, 40, 1000]"
    )
    _check_sigmoid_large(
        learner, np.array([[-745.0, 710.0], [-710.0, 745.0]]), "[[-745, 710], [-710, 745]]"
    )
    _check_sigmoid_large(
        learner, np.array([800.0, -36.5, 36.5, -800.0]), "[800, -36.5, 36.5, -800]"
    )


# ----------------------------------------------------------------------------- sigmoid_backward


def _check_sigmoid_backward(learner: Learner, x: np.ndarray, dout: np.ndarray, case: str) -> None:
    """sigmoid_backward(dout, out) must match the numerical gradient of sum(sigmoid(x) * dout).

    The cache is built here as out = sigmoid(x), as the docstring specifies, so this check does
    not depend on sigmoid_forward."""
    out = _sigmoid_reference(x)
    with quiet():
        dx = learner.sigmoid_backward(dout.copy(), out.copy())
    if dx is None:
        raise CheckError("sigmoid_backward returned None: is a `return` missing?")
    dx = np.asarray(dx, dtype=np.float64)
    want = numerical_gradient_array(_sigmoid_reference, x.copy(), dout)
    if dx.shape == want.shape and np.allclose(dx, want, rtol=1e-7, atol=1e-12):
        return
    s_of_out = _sigmoid_reference(out)
    slips = [
        ("dout·σ(out)·(1 - σ(out)): the derivative formula was applied to σ of the cache, as if "
         "the cache were the input x. The cache IS the output out = σ(x), so "
         "dx = dout·out·(1 - out)",
         dout * s_of_out * (1 - s_of_out)),
        ("dout·(1 - out²), the derivative of tanh; the sigmoid's is out·(1 - out)",
         dout * (1 - out**2)),
    ]  # fmt: skip
    if dx.shape == want.shape:
        text = which(dx, slips, Tolerance(1e-9, 1e-15))
        if text:
            raise CheckError(
                f"sigmoid_backward for {case}: dx is wrong; expected "
                f"{np.array2string(want, precision=6)}, got {np.array2string(dx, precision=6)}"
                f"\n  hint: yours is {text}"
            )
    ones = numerical_gradient_array(_sigmoid_reference, x.copy(), np.ones_like(dout))
    try:
        check_gradient(dx, want, name="dx", numeric_ones=ones)
    except AssertionError as exc:
        raise type(exc)(f"sigmoid_backward for {case}: {exc}") from None


@check(NB, "test_sigmoid_backward_values")
def sigmoid_backward_values(learner: Learner) -> None:
    _check_sigmoid_backward(
        learner, np.array([-2.0, 0.0, 3.0]), np.array([0.5, -1.0, 2.0]), "x = [-2, 0, 3]"
    )
    rng = np.random.default_rng(51)
    for _ in range(3):
        x, dout = rng.uniform(-4, 4, size=7), rng.standard_normal(7)
        _check_sigmoid_backward(learner, x, dout, "an x of shape (7,)")


def _check_sigmoid_upstream(learner: Learner, x: np.ndarray, dout: np.ndarray) -> None:
    """dx must be zero for dout = 0 and proportional to dout."""
    out = 1.0 / (1.0 + np.exp(-x))
    with quiet():
        zero = np.asarray(
            learner.sigmoid_backward(np.zeros_like(dout), out.copy()), dtype=np.float64
        )
    if np.any(zero != 0):
        raise CheckError(
            "sigmoid_backward with dout = 0 must give dx = 0, got "
            f"{np.array2string(zero, precision=6)}\n  hint: dx = dout·out·(1 - out): multiply the "
            "local derivative by the upstream gradient dout"
        )
    with quiet():
        one = np.asarray(learner.sigmoid_backward(dout.copy(), out.copy()), dtype=np.float64)
        scaled = np.asarray(learner.sigmoid_backward(2.5 * dout, out.copy()), dtype=np.float64)
        if not np.allclose(scaled, 2.5 * one, rtol=1e-9, atol=1e-15):
            raise CheckError(
                "sigmoid_backward: multiplying dout by 2.5 must multiply dx by 2.5\n  hint: dx is "
                "dout times the local derivative out·(1 - out), so it is proportional to dout"
            )


@check(NB, "test_sigmoid_backward_upstream")
def sigmoid_backward_upstream(learner: Learner) -> None:
    rng = np.random.default_rng(52)
    _check_sigmoid_upstream(learner, rng.standard_normal(5), rng.standard_normal(5))
    _check_sigmoid_upstream(learner, rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))


@check(NB, "test_sigmoid_backward_shapes")
def sigmoid_backward_shapes(learner: Learner) -> None:
    rng = np.random.default_rng(53)
    for shape in ((2, 3), (4, 1), (2, 3, 2)):
        x, dout = rng.uniform(-3, 3, size=shape), rng.standard_normal(shape)
        _check_sigmoid_backward(learner, x, dout, f"an x of shape {shape}")
    _check_sigmoid_backward(learner, np.array(0.7), np.array(-1.3), "a 0-d x")
