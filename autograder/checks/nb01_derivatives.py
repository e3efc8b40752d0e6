"""Graded checks of notebook 01 (derivatives): finite differences, relative error and the
numerical gradient.

One check per graded test cell. Each repeats the cell's visible cases and adds hidden ones (other
functions, points, steps and shapes). The functions to differentiate are defined in this process
from the sources below (``learner.function``, and :func:`autograder.framework.helper` for the
check's own copy): the learner's code only calls them back, and the expected values come from
the very same function. Where a property is about what the learner's code does to ``x`` (is it
nudged in place? is the returned array ``x`` itself?), a small driver helper calls the learner's
``numerical_gradient`` and looks: arrays the learner's code changes in place are written back
into the check's copy whenever it calls a function back and after the call, and a returned ``x``
is the check's own. A wrong answer that is a known mistake of :mod:`autograder.mistakes.calculus`
is named by the catalogue's line, as the notebook's visible tests name it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, as_array, check, check_table, helper
from autograder.mistakes import HINT, Mistake, diagnosed, hint
from autograder.mistakes.calculus import (
    CENTERED_DIFFERENCE,
    DEFAULT_H,
    FORWARD_DIFFERENCE,
    NUMERICAL_GRADIENT,
    NUMERICAL_GRADIENT_IN_PLACE,
    REL_ERROR,
)
from autograder.numeric import EXACT, Tolerance, close, quiet
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "01-derivatives"

# Functions of one number, as (source, name in messages).
_CUBE = ("lambda t: t**3", "f(x) = x**3")
_SIN = ("np.sin", "f = sin")
_EXP = ("np.exp", "f = exp")
_LOG = ("np.log", "f = log")
_BUMP = ("lambda t: 1.0 / (1.0 + t * t)", "f(x) = 1 / (1 + x**2)")
_QUARTIC = ("lambda t: t**4", "f(x) = x**4")

# Driver helpers, run in this process: they call the learner's numerical_gradient (ng).
# (gradient, whether the result is the very array x); x is written back here after the call.
_RESULT_AND_IDENTITY = "lambda ng, f, x, *h: (lambda g: (g, g is x))(ng(f, x, *h))"
# A loss that ignores its argument and reads w itself: only an in-place nudge of w reaches it.
_CUBES_READING_W = "lambda ng, w: ng(lambda _ignored: float(np.sum(w**3)), w)"
# A model loss reading params directly; the gradient is taken with respect to params["b"].
_MODEL_READING_B = (
    "lambda ng, params, X: ng(lambda _ignored: "
    "float(np.sum(np.tanh(X @ params['W'] + params['b']))), params['b'])"
)


def _pair(learner: Learner, source: str, *params: Any) -> tuple[Any, Callable[..., Any]]:
    """(the function passed to the learner's code, the check's own copy of it).

    With ``params``, ``source`` is a factory (``lambda c: lambda v: ...``) called with them."""
    if not params:
        return learner.function(source), helper(source)
    return learner.function(source)(*params), helper(source)(*params)


def _driven(call: Callable[[], Any]) -> Any:
    """Run a driver helper; an error of the learner's code inside it is numerical_gradient's."""
    try:
        return call()
    except LearnerError as exc:
        if exc.where == "numerical_gradient":
            raise
        raise LearnerError("numerical_gradient", exc.exc_type, exc.exc_message) from None


# ----------------------------------------------------------------------------- finite differences

# name -> (its mistakes, the right estimate, the factor by which its error shrinks when h does
# tenfold, its leading error term)
_DIFFERENCES: dict[str, tuple[list[Mistake], Callable[..., float], int, str]] = {
    "forward_difference": (FORWARD_DIFFERENCE, lambda f, x, h: (f(x + h) - f(x)) / h,
                           10, "(h/2)·f''(x)"),
    "centered_difference": (CENTERED_DIFFERENCE, lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h),
                            100, "(h²/6)·f‴(x)"),
}


def _estimate(learner: Learner, name: str, remote: Any, x: float, *h: float) -> float:
    """The learner's estimate ``name(remote, x[, h])``, which must be one number."""
    with quiet():
        got = as_array(getattr(learner, name)(remote, x, *h), f"the result of {name}")
    if got.size != 1:
        raise CheckError(f"{name} must return one number, got an array of shape {got.shape}")
    return float(got.reshape(()))


def _check_difference(learner: Learner, name: str, fn: tuple[str, str], x: float,
                      h: float) -> None:
    """``name(f, x, h)`` must equal its formula; a known mistake is named."""
    mistakes, formula, _, _ = _DIFFERENCES[name]
    source, case = fn
    remote, f = _pair(learner, source)
    got, want = _estimate(learner, name, remote, x, h), formula(f, x, h)
    if close(got, want, EXACT):
        return
    raise CheckError(f"{name} for {case} at x = {x} with h = {h}: expected {want:.10g}, got "
                     f"{got:.10g}" + hint(got, mistakes, f, x, h, want=want))


# (function, x, h): the first is the worked example, 4.69 forward and 4.33 centered
_VALUE_CASES = ((_CUBE, 1.2, 0.1), (_SIN, 0.3, 1e-2), (_EXP, -1.0, 1e-4), (_BUMP, 2.5, 0.05))


def _check_values(learner: Learner, name: str) -> None:
    for fn, x, h in _VALUE_CASES:
        _check_difference(learner, name, fn, x, h)


def _order_hint(ratio: float, same: bool, factor: int) -> str:
    """What the error's shrinking factor says about the estimate, when no mistake is named."""
    if same:
        return "the estimate is the same for both steps: it must depend on h (use the h argument)"
    if ratio < 2:
        return "your error is not shrinking: your estimate tends to something other than f'(x)"
    if factor == 100 and 5 <= ratio <= 20:
        return "your error is first order (error ∝ h), like a forward difference"
    if factor == 10 and ratio >= 50:
        return "your error is second order (error ∝ h²), like the centered difference"
    return f"your error is not proportional to {'h' if factor == 10 else 'h²'}"


def _check_order(learner: Learner, name: str, fn: tuple[str, str], dfdx: float, x: float,
                 h: float) -> None:
    """Shrinking h tenfold must shrink the estimate's error by the factor of its order."""
    mistakes, formula, factor, term = _DIFFERENCES[name]
    source, case = fn
    remote, f = _pair(learner, source)
    big = _estimate(learner, name, remote, x, h)
    small = _estimate(learner, name, remote, x, h / 10)
    err_big, err_small = abs(big - dfdx), abs(small - dfdx)
    ratio = err_big / max(err_small, 1e-300)
    if factor / 2 <= ratio <= 2 * factor:
        return
    why = hint(big, mistakes, f, x, h, want=formula(f, x, h)) or HINT + _order_hint(
        ratio, big == small, factor)
    raise CheckError(
        f"{name} for {case} at x = {x}: shrinking h from {h:g} to {h / 10:g} took the error from "
        f"{err_big:.3g} to {err_small:.3g}, a factor {ratio:.3g}. The error is about {term}, so "
        f"the factor should be about {factor}.{why}"
    )


# (function, f'(x), x), with the first step h of each difference (its error must be far from
# round-off at h and h / 10)
_ORDER_POINTS = ((_SIN, float(np.cos(0.7)), 0.7), (_EXP, float(np.exp(0.3)), 0.3),
                 (_QUARTIC, 4 * 1.5**3, 1.5))
_ORDER_STEPS = {"forward_difference": (1e-2, 1e-2, 1e-3), "centered_difference": (0.1, 0.1, 1e-2)}


def _check_orders(learner: Learner, name: str) -> None:
    for (fn, dfdx, x), h in zip(_ORDER_POINTS, _ORDER_STEPS[name], strict=True):
        _check_order(learner, name, fn, dfdx, x, h)


check_table(NB, {
    f"test_{name}_{kind}": functools.partial(check_fn, name=name)
    for name in _DIFFERENCES for kind, check_fn in (("values", _check_values),
                                                     ("order", _check_orders))
})


def _check_default_step(learner: Learner, fn: tuple[str, str], dfdx: float, x: float) -> None:
    """With its default step, centered_difference must be accurate to 1e-8 (relative)."""
    source, case = fn
    remote, f = _pair(learner, source)
    got = _estimate(learner, "centered_difference", remote, x)
    err = abs(got - dfdx) / abs(dfdx)
    if err <= 1e-8:
        return
    want = (f(x + DEFAULT_H) - f(x - DEFAULT_H)) / (2 * DEFAULT_H)
    why = hint(got, CENTERED_DIFFERENCE, f, x, DEFAULT_H, want=want) or (
        f"{HINT}with h = 1e-5 the truncation error (about h²) and the round-off error (about "
        "ε/h) are both near 1e-11. A much larger default step leaves truncation error; a much "
        "smaller one drowns the estimate in round-off (section 4). Make h=1e-5 the default")
    raise CheckError(
        f"centered_difference for {case} at x = {x} with the default h: expected f'(x) = "
        f"{dfdx:.12g} within a relative error of 1e-8, got {got:.12g} (relative error "
        f"{err:.1e}).{why}"
    )


@check(NB, "test_centered_difference_default_h")
def centered_difference_default_h(learner: Learner) -> None:
    _check_default_step(learner, _SIN, float(np.cos(0.5)), 0.5)
    _check_default_step(learner, _EXP, float(np.exp(2.0)), 2.0)
    _check_default_step(learner, _CUBE, 3 * 1.5**2, -1.5)
    _check_default_step(learner, _LOG, 1 / 3.0, 3.0)


# ----------------------------------------------------------------------------- rel_error

# rel_error is compared relatively only: its right values go down to 1e-7 and below
_RELATIVE = Tolerance(1e-9, 0.0)


def _check_rel_error(learner: Learner, a: Any, b: Any, case: str, fallback: str = "") -> None:
    """rel_error(a, b) must be ONE number, the largest entry's |a - b| / max(1e-8, |a| + |b|)."""
    try:
        with quiet():  # a 0/0 warning is reported by the message below
            got = as_array(learner.rel_error(*(np.copy(v) if np.ndim(v) else v for v in (a, b))),
                           "the result of rel_error")
    except LearnerError as exc:
        if exc.exc_type == "ValueError" and "truth value" in exc.exc_message:
            raise CheckError(
                f"rel_error({case}) raised ValueError: {exc.exc_message}{HINT}Python's max() and "
                "abs() see a whole array; use np.maximum and np.abs, which work entry by entry"
            ) from None
        raise
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    want = float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
    if got.ndim != 0:
        raise CheckError(f"rel_error({case}) returned an array of shape {got.shape}; it must "
                         f"return one number, the largest entry's relative error ({want:.6g})")
    if close(got, want, _RELATIVE):
        return
    raise CheckError(f"rel_error({case}): expected {want:.10g}, got {float(got):.10g}"
                     + (hint(got, REL_ERROR, a, b, want=want) or fallback))


@check(NB, "test_rel_error_values")
def rel_error_values(learner: Learner) -> None:
    for a, b, case in (
        (4.32, 4.33, "4.32, 4.33"),  # 0.01 / 8.65
        (4.33, 4.32, "4.33, 4.32"),  # the same: the order does not matter
        (2.0, -2.0, "2.0, -2.0"),  # opposite signs: 4 / 4 = 1
        (1e6, 1e6 + 1.0, "1e6, 1e6 + 1"),
        (-3.5, -3.4, "-3.5, -3.4"),
        (0.25, 0.75, "0.25, 0.75"),
        (-0.5, 1.5, "-0.5, 1.5"),
    ):
        _check_rel_error(learner, a, b, case)


@check(NB, "test_rel_error_arrays")
def rel_error_arrays(learner: Learner) -> None:
    # One wrong entry among right ones: the answer is that entry's error, 0.3 / 6.3
    _check_rel_error(learner, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.3]),
                     "[1, 2, 3], [1, 2, 3.3]")
    _check_rel_error(learner, np.array([[1.0, -2.0], [0.5, 4.0]]),
                     np.array([[1.1, -2.0], [0.5, 4.0]]), "a 2x2 pair")
    rng = np.random.default_rng(11)
    a = rng.standard_normal((3, 4, 2))
    b = a * (1 + 1e-6 * rng.standard_normal(a.shape))
    b[1, 2, 0] = -b[1, 2, 0] + 0.1
    _check_rel_error(learner, a, b, "two (3, 4, 2) arrays, one entry wrong")
    a = rng.uniform(1, 2, size=7) * np.logspace(-3, 3, 7)
    _check_rel_error(learner, a, a * (1 + np.linspace(0.0, 1e-3, 7)[::-1]),
                     "(7,) arrays of mixed scales")


@check(NB, "test_rel_error_zeros")
def rel_error_zeros(learner: Learner) -> None:
    floor = (f"{HINT}numbers below 1e-8 must be compared against the floor: the denominator is "
             "max(1e-8, |a| + |b|), not |a| + |b| alone and not a smaller floor")
    for a, b, case in (
        (0.0, 0.0, "0.0, 0.0"),  # two exact zeros agree perfectly
        (0.0, 1e-12, "0.0, 1e-12"),  # 1e-12 / 1e-8 = 1e-4
        (1e-12, 0.0, "1e-12, 0.0"),
        (-0.0, 0.0, "-0.0, 0.0"),
        (0.0, 1e-9, "0.0, 1e-9"),
        (-2e-10, 3e-10, "-2e-10, 3e-10"),  # 5e-10 / 1e-8 = 0.05
        (4e-9, 4e-9, "4e-9, 4e-9"),
    ):
        _check_rel_error(learner, a, b, case, floor)


# ----------------------------------------------------------------------------- numerical_gradient


def _check_gradient_of(got: Any, expected: np.ndarray, where: str, mistakes: list[Mistake],
                       inputs: tuple[Any, ...], tol: float) -> None:
    """The learner's gradient against the exact one; a known mistake of ``mistakes`` (for the
    inputs ``(f, x, h)``) is named."""
    got = as_array(got, f"{where}: the gradient")
    shape = np.shape(inputs[1])
    if got.shape != shape:
        raise CheckError(
            f"{where}: the gradient has shape {got.shape} but x has shape {shape}{HINT}the "
            "gradient has one entry per entry of x, arranged like x: start from np.zeros(x.shape)"
        )
    try:
        with diagnosed(mistakes, *inputs, got=got, want=expected):
            check_gradient(got, expected, name="grad", tol=tol)
    except GradientCheckError as exc:
        # the reference here is the exact gradient, so call it "expected", not "numerical"
        raise GradientCheckError(
            f"{where}: " + str(exc).replace("numerical = ", "expected = ")) from None


def _check_numerical_gradient(learner: Learner, fn: tuple[Any, Callable[..., Any]], x: Any,
                              expected: np.ndarray, case: str, h: float | None = None,
                              tol: float = 1e-7) -> None:
    """numerical_gradient(f, x[, h]) must match the analytic gradient ``expected``."""
    remote, f = fn
    x = np.array(x, dtype=np.float64)
    before = x.copy()
    with quiet():
        got = learner.numerical_gradient(remote, x, *(() if h is None else (h,)))
    where = f"numerical_gradient for {case}" + ("" if h is None else f" with h = {h}")
    _check_gradient_of(got, expected, where, NUMERICAL_GRADIENT,
                       (f, before, DEFAULT_H if h is None else h), tol)


@check(NB, "test_numerical_gradient_values")
def numerical_gradient_values(learner: Learner) -> None:
    # The worked example: f(x) = x0**2 + 3*x0*x1 at x = (1, 2) has gradient (8, 3)
    _check_numerical_gradient(
        learner, _pair(learner, "lambda v: v[0] ** 2 + 3 * v[0] * v[1]"), [1.0, 2.0],
        np.array([8.0, 3.0]), "f(x) = x0**2 + 3*x0*x1 at (1, 2)",
    )  # fmt: skip
    # with a large step, the centered difference of x**3 is exactly 3x**2 + h**2
    x = np.array([0.7, -1.3])
    _check_numerical_gradient(
        learner, _pair(learner, "lambda v: float(np.sum(v**3))"), x, 3 * x**2 + 0.1**2,
        "f(x) = sum(x**3)", h=0.1, tol=1e-9,
    )  # fmt: skip
    rng = np.random.default_rng(101)
    c = rng.uniform(0.5, 2.0, size=6)
    cosines = "lambda c: lambda v: float(np.sum(c * np.cos(v)) + 0.5 * np.sum(v) ** 2)"
    x = rng.uniform(-1.5, 1.5, size=6)
    _check_numerical_gradient(
        learner, _pair(learner, cosines, c), x, -c * np.sin(x) + np.sum(x),
        "f(x) = sum(c*cos(x)) + sum(x)**2/2, x of shape (6,)",
    )  # fmt: skip
    A = rng.standard_normal((5, 5))
    x = rng.standard_normal(5)
    _check_numerical_gradient(
        learner, _pair(learner, "lambda A: lambda v: float(v @ A @ v)", A), x, (A + A.T) @ x,
        "f(x) = x @ A @ x, x of shape (5,)",
    )  # fmt: skip
    x = np.array([0.7, -1.3, 2.1, 0.4])
    _check_numerical_gradient(
        learner, _pair(learner, "lambda v: float(np.sum(v**3))"), x, 3 * x**2 + 0.1**2,
        "f(x) = sum(x**3)", h=0.1, tol=1e-9,
    )  # fmt: skip


def _check_gradient_shape(learner: Learner, fn: tuple[Any, Callable[..., Any]], x: np.ndarray,
                          expected: np.ndarray, case: str) -> None:
    """For x of any shape, the gradient has x's shape and one partial derivative per entry."""
    remote, f = fn
    x = np.array(x, dtype=np.float64)
    before = x.copy()
    with quiet():
        got = learner.numerical_gradient(remote, x)
    # this check is about shapes and indexing, so it tolerates a less accurate formula
    _check_gradient_of(got, expected, f"numerical_gradient for {case}", NUMERICAL_GRADIENT,
                       (f, before, DEFAULT_H), tol=1e-4)


@check(NB, "test_numerical_gradient_any_shape")
def numerical_gradient_any_shape(learner: Learner) -> None:
    w = np.array([[1.0, -2.0, 0.5], [3.0, 1.5, -1.0]])
    x = np.array([[0.5, 1.0, -1.5], [2.0, -0.5, 1.0]])
    _check_gradient_shape(
        learner, _pair(learner, "lambda w: lambda v: float(np.sum(w * v**2))", w), x,
        2 * w * x, "f(x) = sum(w * x**2), x of shape (2, 3)",
    )  # fmt: skip
    rng = np.random.default_rng(202)
    W = rng.uniform(0.5, 2.0, size=(2, 3, 4))
    x = rng.uniform(-1.0, 1.0, size=(2, 3, 4))
    _check_gradient_shape(
        learner, _pair(learner, "lambda W: lambda v: float(np.sum(W * np.sin(v)))", W), x,
        W * np.cos(x), "f(x) = sum(W * sin(x)), x of shape (2, 3, 4)",
    )  # fmt: skip
    x = np.array([[0.5], [-1.2], [2.0], [0.8]])
    _check_gradient_shape(
        learner, _pair(learner, "lambda v: float(np.sum(v**4))"), x, 4 * x**3,
        "f(x) = sum(x**4), x of shape (4, 1)",
    )  # fmt: skip
    x = np.array([[1.5, -0.5, 2.0, 1.0]])
    _check_gradient_shape(
        learner, _pair(learner, "lambda v: float(np.exp(v).sum())"), x, np.exp(x),
        "f(x) = sum(exp(x)), x of shape (1, 4)",
    )  # fmt: skip
    # a 0-d array is an array too: np.ndindex(()) visits its one index, ()
    x = np.array(0.8)
    _check_gradient_shape(
        learner, _pair(learner, "lambda v: float(np.sin(v))"), x, np.cos(x),
        "f(x) = sin(x), x a 0-d array",
    )  # fmt: skip


def _check_restores(
    learner: Learner, source: str, x: np.ndarray, case: str, h: float | None = None
) -> None:
    """After numerical_gradient(f, x) returns, x must hold exactly its old values."""
    before = x.copy()
    drive = learner.function(_RESULT_AND_IDENTITY)
    args = (learner.numerical_gradient, learner.function(source), x) + (() if h is None else (h,))
    with quiet():
        got, is_x = _driven(lambda: drive(*args))  # x now holds what the call left in it
    if got is None:
        raise CheckError("numerical_gradient returned None: is a `return` missing?")
    if is_x:
        raise CheckError(f"numerical_gradient for {case} returned x itself; return a new array")
    drift = np.abs(x - before)
    if np.all(drift <= 1e-12 * np.maximum(1.0, np.abs(before))):
        return
    ix = tuple(int(i) for i in np.unravel_index(int(np.argmax(drift)), x.shape))
    raise CheckError(
        f"numerical_gradient for {case} changed x: x[{', '.join(map(str, ix))}] was "
        f"{before[ix]:.10g} before the call and is {x[ix]:.10g} after it{HINT}save each entry "
        "before nudging it and put it back (x[ix] = old) after evaluating f(x + h e_i) and "
        "f(x - h e_i); the caller's array must come back unchanged"
    )


@check(NB, "test_numerical_gradient_restores_x")
def numerical_gradient_restores_x(learner: Learner) -> None:
    _check_restores(learner, "lambda v: float(np.sum(v**2))", np.array([[0.3, -1.2], [2.0, 0.7]]),
                    "f(x) = sum(x**2), x of shape (2, 2)")  # fmt: skip
    rng = np.random.default_rng(303)
    _check_restores(learner, "lambda v: float(np.prod(np.cos(v)))", rng.standard_normal(7),
                    "f(x) = prod(cos(x)), x of shape (7,)", h=1e-3)  # fmt: skip
    _check_restores(learner, "lambda v: float(np.sum(np.tanh(v)))", rng.standard_normal((2, 3, 2)),
                    "f(x) = sum(tanh(x)), x of shape (2, 3, 2)")  # fmt: skip


@check(NB, "test_numerical_gradient_in_place")
def numerical_gradient_in_place(learner: Learner) -> None:
    # the gradient of a loss that ignores its argument and reads x directly: only an in-place
    # nudge reaches it (this check is about where the nudge happens, so it tolerates a less
    # accurate formula)
    w = np.array([0.5, -1.0, 2.0])
    drive = learner.function(_CUBES_READING_W)
    with quiet():
        got = _driven(lambda: drive(learner.numerical_gradient, w.copy()))
    _check_gradient_of(got, 3 * w**2, "numerical_gradient for f = lambda _: sum(w**3), w of "
                       "shape (3,)", NUMERICAL_GRADIENT_IN_PLACE,
                       (lambda _ignored: float(np.sum(w**3)), w, DEFAULT_H), tol=1e-4)

    rng = np.random.default_rng(404)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.uniform(-0.5, 0.5, size=2)}
    X = rng.standard_normal((4, 3))
    expected = (1 - np.tanh(X @ params["W"] + params["b"]) ** 2).sum(axis=0)
    drive = learner.function(_MODEL_READING_B)
    copies = {k: v.copy() for k, v in params.items()}
    with quiet():
        got = _driven(lambda: drive(learner.numerical_gradient, copies, X.copy()))
    _check_gradient_of(
        got, expected, "numerical_gradient for f = lambda _: sum(tanh(X @ params['W'] + "
        "params['b'])), x = params['b'] of shape (2,)", NUMERICAL_GRADIENT_IN_PLACE,
        (lambda _ignored: float(np.sum(np.tanh(X @ params["W"] + params["b"]))), params["b"],
         DEFAULT_H), tol=1e-4)
