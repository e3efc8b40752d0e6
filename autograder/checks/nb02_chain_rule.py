"""Graded checks of notebook 02 (chain rule): a staged scalar function, fan-out, and the sigmoid.

One check per graded test cell. Each repeats the cell's visible cases and adds hidden ones (other
points, upstream gradients and shapes, huge inputs for the sigmoid). Expected values come from
formulas and centered differences computed here (:mod:`bplib.gradcheck`); a backward function is
always handed the documented cache built here, so that it is graded on its own, whatever the
learner's forward function does. A wrong answer that is a known mistake is named by the
catalogue's line (:mod:`autograder.mistakes.calculus`; the sigmoid's in
:mod:`autograder.mistakes.activations`), as the notebook's visible tests name it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from autograder.framework import Learner, as_array, as_tuple, check, check_table, describe
from autograder.mistakes import Mistake, diagnosed, hint
from autograder.mistakes.activations import SIGMOID_BACKWARD, SIGMOID_CACHE, SIGMOID_FORWARD
from autograder.mistakes.calculus import (
    FANOUT_DX,
    FANOUT_DY,
    STAGED_CACHE,
    STAGED_DW,
    STAGED_DX,
    STAGED_DY,
    STAGED_DZ,
    STAGED_FORWARD,
)
from autograder.numeric import EXACT, Tolerance, close, quiet, worst_entry
from bplib.gradcheck import (
    CheckError,
    centered_difference,
    check_gradient,
    numerical_gradient_array,
)

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "02-chain-rule"

Case = tuple[float, float, float, float, float]  # (df, x, y, z, w)

# a point with an upstream gradient other than 1, then the worked example (whose p = -1 cannot
# tell a missing factor p from a flipped sign), as in the visible tests
_VISIBLE_CASES: list[Case] = [(-1.7, 0.8, 1.9, -0.6, 1.3), (1.0, 3.0, -2.0, 5.0, 0.0)]

# a result computed in another order than the formula's is right to about 1e-10 (relative)
_FORMULA = Tolerance(1e-10, 1e-12)
# a gradient compared with a centered difference: right to 1e-7 (relative)
_NUMERIC = Tolerance(1e-7, 1e-10)


def _sigmoid_reference(x: Any) -> np.ndarray:
    """A sigmoid that never overflows: exp only ever sees -|x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _where(x: float, y: float, z: float, w: float) -> str:
    return f"staged_forward({x:.6g}, {y:.6g}, {z:.6g}, {w:.6g})"


def _number(value: Any, what: str) -> float:
    """``value`` as one float, or a :class:`CheckError` saying what it is instead."""
    array = as_array(value, what)
    if array.size != 1:
        raise CheckError(f"{what} must be one number, got an array of shape {array.shape}")
    return float(array.reshape(()))


# ----------------------------------------------------------------------------- staged_forward


def _staged(learner: Learner, x: float, y: float, z: float, w: float) -> tuple[Any, Any]:
    with quiet():
        result = learner.staged_forward(x, y, z, w)
    return as_tuple(result, "staged_forward", ["f", "cache"])


def _check_staged_value(learner: Learner, x: float, y: float, z: float, w: float) -> None:
    """staged_forward(x, y, z, w) must return (f, cache) with f = (x*y + z) * sigmoid(w)."""
    f, _ = _staged(learner, x, y, z, w)
    if isinstance(f, tuple | list):
        raise CheckError("staged_forward returned (cache, f): return f first, then the cache")
    f = _number(f, f"{_where(x, y, z, w)}: f")
    want = (x * y + z) * float(_sigmoid_reference(w))
    if close(f, want, _FORMULA):
        return
    raise CheckError(f"{_where(x, y, z, w)}: expected f = {want:.10g}, got {f:.10g}"
                     + hint(f, STAGED_FORWARD, x, y, z, w, want=want))


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
    _, cache = _staged(learner, x, y, z, w)
    if not isinstance(cache, tuple | list) or len(cache) != 4:
        raise CheckError(f"the cache must be the tuple (x, y, p, s) of 4 values, got "
                         f"{describe(cache)}")
    got = as_array(cache, f"{_where(x, y, z, w)}: the cache")
    want = (x, y, x * y + z, float(_sigmoid_reference(w)))
    if close(got, want, _FORMULA):
        return
    k = next(k for k in range(4) if not close(got[k], want[k], _FORMULA))
    raise CheckError(
        f"{_where(x, y, z, w)}: cache[{k}] should be {'xyps'[k]} = {want[k]:.10g}, got "
        f"{got[k]:.10g}" + hint(got, STAGED_CACHE, x, y, z, w, want=want)
    )


@check(NB, "test_staged_forward_cache")
def staged_forward_cache(learner: Learner) -> None:
    _check_staged_cache(learner, 3.0, -2.0, 5.0, 0.0)  # the worked example: (3, -2, -1, 0.5)
    _check_staged_cache(learner, 0.8, 1.9, -0.6, 1.3)
    rng = np.random.default_rng(22)
    for x, y, z, w in rng.uniform(-3, 3, size=(4, 4)):
        _check_staged_cache(learner, float(x), float(y), float(z), float(w))


# ----------------------------------------------------------------------------- staged_backward


def _staged_f(x: float, y: float, z: float, w: float) -> float:
    return (x * y + z) * float(_sigmoid_reference(w))


def _staged_grads(learner: Learner, df: float, cache: tuple[float, ...]) -> list[float]:
    with quiet():
        grads = learner.staged_backward(df, cache)
    names = ["dx", "dy", "dz", "dw"]
    grads = as_tuple(grads, "staged_backward", names)
    return [_number(g, f"staged_backward: {name}") for g, name in zip(grads, names, strict=True)]


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


def _check_staged_gradient(learner: Learner, name: str, mistakes: list[Mistake]) -> None:
    """One gradient of staged_backward against df times a centered difference of f, over the
    visible and the hidden cases; the first wrong one is reported."""
    k = "xyzw".index(name[1])
    for df, *inputs in _VISIBLE_CASES + _hidden_cases():
        x, y, z, w = inputs
        p, s = x * y + z, float(_sigmoid_reference(w))
        got = _staged_grads(learner, df, (x, y, p, s))[k]

        def along(t: float, inputs: list[float] = inputs) -> float:
            return _staged_f(*inputs[:k], t, *inputs[k + 1:])

        want = df * centered_difference(along, inputs[k])
        if close(got, want, _NUMERIC):
            continue
        raise CheckError(
            f"staged_backward: {name} is wrong for x = {x:.4g}, y = {y:.4g}, z = {z:.4g}, "
            f"w = {w:.4g} with upstream df = {df:.4g}: expected {want:.8g}, got {got:.8g}"
            + hint(got, mistakes, df, x, y, p, s, want=want)
        )


check_table(NB, {
    f"test_staged_backward_{name}": functools.partial(
        _check_staged_gradient, name=name, mistakes=mistakes)
    for name, mistakes in (("dx", STAGED_DX), ("dy", STAGED_DY), ("dz", STAGED_DZ),
                           ("dw", STAGED_DW))
})


def _check_upstream(learner: Learner, x: float, y: float, z: float, w: float) -> None:
    """Every gradient is df times local derivatives: zero for df = 0, and proportional to df."""
    cache = (x, y, x * y + z, float(_sigmoid_reference(w)))
    names = ("dx", "dy", "dz", "dw")
    for name, g in zip(names, _staged_grads(learner, 0.0, cache), strict=True):
        if g != 0.0:
            raise CheckError(
                f"staged_backward with upstream df = 0 must give all-zero gradients, but {name} = "
                f"{g:.6g} (x = {x}, y = {y}, z = {z}, w = {w})\n  hint: every gradient is "
                "df × the local derivatives along its path; some part of yours does not start "
                "from the upstream gradient df"
            )
    one, scaled = _staged_grads(learner, 1.0, cache), _staged_grads(learner, 2.5, cache)
    for name, a, b in zip(names, one, scaled, strict=True):
        if not close(b, 2.5 * a, EXACT):
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
    def given(v: np.ndarray) -> Any:  # a 0-d array goes in as a float, as the docstring allows
        return float(v) if v.ndim == 0 else v.copy()

    with quiet():
        grads = learner.fanout_backward(given(dout), (given(x), given(y)))
    dx, dy = as_tuple(grads, "fanout_backward", ["dx", "dy"])
    return [as_array(dx, "fanout_backward: dx"), as_array(dy, "fanout_backward: dy")]


def _check_fanout(learner: Learner, name: str, x: np.ndarray, y: np.ndarray,
                  dout: np.ndarray) -> None:
    """One gradient of fanout_backward (g = x*y + x) against the numerical one."""
    k, mistakes = {"dx": (0, FANOUT_DX), "dy": (1, FANOUT_DY)}[name]
    got = _fanout_grads(learner, dout, x, y)[k]

    def g(v: np.ndarray) -> np.ndarray:
        return v * y + v if k == 0 else x * v + x

    at = x if k == 0 else y
    want = numerical_gradient_array(g, at.copy(), dout)
    ones = numerical_gradient_array(g, at.copy(), np.ones_like(dout))
    try:
        with diagnosed(mistakes, dout, x, y, got=got, want=want):
            check_gradient(got, want, name=name, numeric_ones=ones)
    except AssertionError as exc:
        where = f"at {'xy'[k]} = {np.array2string(at, precision=4)}"
        raise type(exc)(f"fanout_backward {where}: {exc}") from None


def _fanout_cases(seeds: tuple[int, int]) -> list[tuple[np.ndarray, ...]]:
    """A random (5,) case, the worked example (x = 2, y = -3, dout = 1), a (3, 4), a (7,) and
    plain numbers."""
    rng = np.random.default_rng(seeds[0])
    cases = [tuple(rng.standard_normal(5) for _ in range(3)),
             (np.array([2.0]), np.array([-3.0]), np.array([1.0]))]
    rng = np.random.default_rng(seeds[1])
    cases.append(tuple(rng.standard_normal((3, 4)) for _ in range(3)))
    cases.append(tuple(rng.uniform(-2, 2, 7) for _ in range(3)))
    cases.append((np.array(1.5), np.array(-0.5), np.array(0.8)))
    return cases


@check(NB, "test_fanout_backward_dx")
def fanout_backward_dx(learner: Learner) -> None:
    for x, y, dout in _fanout_cases((31, 32)):  # the worked example: dx = -2
        _check_fanout(learner, "dx", x, y, dout)


@check(NB, "test_fanout_backward_dy")
def fanout_backward_dy(learner: Learner) -> None:
    for x, y, dout in _fanout_cases((33, 34)):  # the worked example: dy = 2
        _check_fanout(learner, "dy", x, y, dout)


def _check_fanout_upstream(
    learner: Learner, x: np.ndarray, y: np.ndarray, dout: np.ndarray
) -> None:
    """Both gradients are zero for dout = 0 and scale in proportion to dout."""
    for name, g in zip(("dx", "dy"), _fanout_grads(learner, np.zeros_like(dout), x, y),
                       strict=True):
        if np.any(g != 0):
            raise CheckError(
                f"fanout_backward with dout = 0 must give zero gradients, but {name} = "
                f"{np.array2string(g, precision=6)}\n  hint: every path's contribution is dout × "
                "a local derivative; some part of yours does not start from the upstream gradient"
            )
    one = _fanout_grads(learner, dout, x, y)
    scaled = _fanout_grads(learner, 2.5 * dout, x, y)
    for name, a, b in zip(("dx", "dy"), one, scaled, strict=True):
        if not close(b, 2.5 * a, EXACT):
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


def _sigmoid_pair(learner: Learner, x: Any) -> tuple[Any, Any]:
    with quiet():
        result = learner.sigmoid_forward(x.copy() if isinstance(x, np.ndarray) else x)
    return as_tuple(result, "sigmoid_forward", ["out", "cache"])


def _check_sigmoid_values(learner: Learner, x: Any, case: str, atol: float = 1e-15) -> None:
    """out must be sigmoid(x) entry by entry, with x's shape (and finite for huge |x|)."""
    out, _ = _sigmoid_pair(learner, x)
    out = as_array(out, f"sigmoid_forward({case}): out", shape=np.shape(x))
    want = _sigmoid_reference(x)
    if close(out, want, Tolerance(1e-10, atol)):
        return
    ix, yours, expected = worst_entry(out, want)
    where = f"[{', '.join(map(str, ix))}]" if ix else ""
    raise CheckError(f"sigmoid_forward({case}): out{where} should be {expected:.10g}, got "
                     f"{yours:.10g}" + hint(out, SIGMOID_FORWARD, x, want=want))


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
    out, cache = _sigmoid_pair(learner, x)
    if isinstance(cache, tuple | list):
        raise CheckError(
            f"sigmoid_forward({case}): the cache is {describe(cache)}; it should be out itself "
            "(an array, not a tuple), which sigmoid_backward receives as cache"
        )
    out = as_array(out, f"sigmoid_forward({case}): out")
    cache = as_array(cache, f"sigmoid_forward({case}): the cache")
    if close(cache, out, EXACT):
        return
    raise CheckError(
        f"sigmoid_forward({case}): the cache should be out itself, "
        f"{np.array2string(out, precision=6)}; got {np.array2string(cache, precision=6)}"
        + hint(cache, SIGMOID_CACHE, x, want=out)
    )


@check(NB, "test_sigmoid_forward_cache")
def sigmoid_forward_cache(learner: Learner) -> None:
    _check_sigmoid_cache(learner, np.array([-2.0, 0.0, 3.0]), "[-2, 0, 3]")
    rng = np.random.default_rng(42)
    _check_sigmoid_cache(learner, rng.standard_normal((3, 4)), "a (3, 4) array")
    _check_sigmoid_cache(learner, np.array([[0.25, -0.75]]), "[[0.25, -0.75]]")


@check(NB, "test_sigmoid_forward_large")
def sigmoid_forward_large(learner: Learner) -> None:
    """For huge |x| the output must still be finite and right: 0 or 1 (or tiny, exactly)."""
    for x, case in (
        (np.array([-1000.0, -40.0, 40.0, 1000.0]), "[-1000, -40, 40, 1000]"),
        (np.array([[-745.0, 710.0], [-710.0, 745.0]]), "[[-745, 710], [-710, 745]]"),
        (np.array([800.0, -36.5, 36.5, -800.0]), "[800, -36.5, 36.5, -800]"),
    ):
        _check_sigmoid_values(learner, x, case, atol=1e-300)


# ----------------------------------------------------------------------------- sigmoid_backward


def _check_sigmoid_backward(learner: Learner, x: np.ndarray, dout: np.ndarray, case: str) -> None:
    """sigmoid_backward(dout, out) must match the numerical gradient of sum(sigmoid(x) * dout).

    The cache is built here as out = sigmoid(x), as the docstring specifies, so this check does
    not depend on sigmoid_forward."""
    out = _sigmoid_reference(x)
    with quiet():
        dx = learner.sigmoid_backward(dout.copy(), out.copy())
    want = numerical_gradient_array(_sigmoid_reference, x.copy(), dout)
    ones = numerical_gradient_array(_sigmoid_reference, x.copy(), np.ones_like(dout))
    try:
        with diagnosed(SIGMOID_BACKWARD, out, dout, got=dx, want=want):
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
    out = _sigmoid_reference(x)
    with quiet():
        zero = as_array(learner.sigmoid_backward(np.zeros_like(dout), out.copy()), "dx")
        one = as_array(learner.sigmoid_backward(dout.copy(), out.copy()), "dx")
        scaled = as_array(learner.sigmoid_backward(2.5 * dout, out.copy()), "dx")
    if np.any(zero != 0):
        raise CheckError(
            "sigmoid_backward with dout = 0 must give dx = 0, got "
            f"{np.array2string(zero, precision=6)}\n  hint: dx = dout·out·(1 - out): multiply the "
            "local derivative by the upstream gradient dout"
        )
    if not close(scaled, 2.5 * one, Tolerance(1e-9, 1e-15)):
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
