"""Graded checks of notebook 01 (derivatives): finite differences, relative error and the
numerical gradient.

One check per graded test cell. Each repeats the cell's visible cases and adds hidden ones (other
functions, points, steps and shapes). The functions to differentiate are defined in this process
from the sources below (``learner.function``, and :func:`autograder.framework.helper` for the check's own copy): the
learner's code only calls them back, and the expected values come from the very same function.
Where a property is about what the learner's code does to ``x`` (is it nudged in place? is the
returned array ``x`` itself?), a small driver helper calls the learner's ``numerical_gradient``
and looks: arrays the learner's code changes in place are written back into the check's copy
whenever it calls a function back and after the call, and a returned ``x`` is the check's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, check, helper
from autograder.mistakes import which
from autograder.numeric import Tolerance, quiet
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient
from bplib.gradcheck import numerical_gradient as reference_gradient

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


# ----------------------------------------------------------------------------- forward_difference


def _check_forward_difference(
    learner: Learner, fn: tuple[str, str], x: float, h: float
) -> None:
    """forward_difference(f, x, h) must equal (f(x + h) - f(x)) / h; name the likely slip."""
    source, case = fn
    remote, f = _pair(learner, source)
    with quiet():
        got = learner.forward_difference(remote, x, h)
    if got is None:
        raise CheckError("forward_difference returned None: is a `return` missing?")
    got = float(got)
    want = (f(x + h) - f(x)) / h
    if abs(got - want) <= 1e-9 * abs(want):
        return
    slips = [
        ("a backward difference (f(x) - f(x - h)) / h; the forward difference steps to x + h",
         (f(x) - f(x - h)) / h),
        ("the centered difference; the forward difference uses only f(x + h) and f(x)",
         (f(x + h) - f(x - h)) / (2 * h)),
        ("f(x + h) - f(x) not divided by h", f(x + h) - f(x)),
        ("divided by 2h; the points x and x + h are h apart, so divide by h",
         (f(x + h) - f(x)) / (2 * h)),
        ("computed with h = 1e-5 instead of the h you were given", (f(x + 1e-5) - f(x)) / 1e-5),
    ]  # fmt: skip
    hint = which(got, slips, Tolerance(1e-9, 0.0))
    raise CheckError(
        f"forward_difference for {case} at x = {x} with h = {h}: expected {want:.10g}, "
        f"got {got:.10g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


@check(NB, "test_forward_difference_values")
def forward_difference_values(learner: Learner) -> None:
    _check_forward_difference(learner, _CUBE, 1.2, 0.1)  # the worked example: 4.69
    _check_forward_difference(learner, _SIN, 0.3, 1e-2)
    _check_forward_difference(learner, _EXP, -1.0, 1e-4)
    _check_forward_difference(learner, _BUMP, 2.5, 0.05)


def _check_first_order(
    learner: Learner, fn: tuple[str, str], dfdx: float, x: float, h: float
) -> None:
    """Shrinking h tenfold must shrink the forward difference's error about tenfold."""
    source, case = fn
    remote = learner.function(source)
    with quiet():
        big = float(learner.forward_difference(remote, x, h))
        small = float(learner.forward_difference(remote, x, h / 10))
    if big == small:
        raise CheckError(
            f"forward_difference for {case} at x = {x} gave {big:.10g} for both h = {h:g} and "
            f"h = {h / 10:g}: the estimate must depend on h (use the h argument)"
        )
    err_big, err_small = abs(big - dfdx), abs(small - dfdx)
    ratio = err_big / max(err_small, 1e-300)
    if 5 <= ratio <= 20:
        return
    if ratio > 50:
        kind = "second order (error ∝ h²): that is the centered difference, not the forward one"
    elif ratio < 2:
        kind = "not shrinking: your estimate tends to something other than f'(x) (divided by h?)"
    else:
        kind = "not proportional to h"
    raise CheckError(
        f"forward_difference for {case} at x = {x}: shrinking h from {h:g} to {h / 10:g} took the "
        f"error from {err_big:.3g} to {err_small:.3g}, a factor {ratio:.3g}. The forward "
        f"difference's error is about (h/2)·f''(x), so the factor should be about 10.\n"
        f"  hint: your error is {kind}"
    )


@check(NB, "test_forward_difference_order")
def forward_difference_order(learner: Learner) -> None:
    _check_first_order(learner, _SIN, float(np.cos(0.7)), 0.7, 1e-2)
    _check_first_order(learner, _EXP, float(np.exp(0.3)), 0.3, 1e-2)
    _check_first_order(learner, _QUARTIC, 4 * 1.5**3, 1.5, 1e-3)


# ----------------------------------------------------------------------------- centered_difference


def _check_centered_difference(
    learner: Learner, fn: tuple[str, str], x: float, h: float
) -> None:
    """centered_difference(f, x, h) must equal (f(x + h) - f(x - h)) / (2h); name the slip."""
    source, case = fn
    remote, f = _pair(learner, source)
    with quiet():
        got = learner.centered_difference(remote, x, h)
    if got is None:
        raise CheckError("centered_difference returned None: is a `return` missing?")
    got = float(got)
    want = (f(x + h) - f(x - h)) / (2 * h)
    if abs(got - want) <= 1e-9 * abs(want):
        return
    slips = [
        ("the forward difference (f(x + h) - f(x)) / h; the centered one uses f(x + h) and "
         "f(x - h)",
         (f(x + h) - f(x)) / h),
        ("a backward difference (f(x) - f(x - h)) / h; use f(x + h) and f(x - h)",
         (f(x) - f(x - h)) / h),
        ("divided by h instead of 2h; the points x - h and x + h are 2h apart",
         (f(x + h) - f(x - h)) / h),
        ("divided by 2 and then multiplied by h: write / (2 * h), with the parentheses",
         (f(x + h) - f(x - h)) / 2 * h),
        ("evaluated at x ± h/2; the centered difference of step h uses x + h and x - h",
         (f(x + h / 2) - f(x - h / 2)) / h),
        ("computed with h = 1e-5 instead of the h you were given",
         (f(x + 1e-5) - f(x - 1e-5)) / 2e-5),
    ]  # fmt: skip
    hint = which(got, slips, Tolerance(1e-9, 0.0))
    raise CheckError(
        f"centered_difference for {case} at x = {x} with h = {h}: expected {want:.10g}, "
        f"got {got:.10g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


@check(NB, "test_centered_difference_values")
def centered_difference_values(learner: Learner) -> None:
    _check_centered_difference(learner, _CUBE, 1.2, 0.1)  # the worked example: 4.33
    _check_centered_difference(learner, _SIN, 0.3, 1e-2)
    _check_centered_difference(learner, _EXP, -1.0, 1e-4)
    _check_centered_difference(learner, _BUMP, 2.5, 0.05)


def _check_second_order(
    learner: Learner, fn: tuple[str, str], dfdx: float, x: float, h: float
) -> None:
    """Shrinking h tenfold must shrink the centered difference's error about a hundredfold."""
    source, case = fn
    remote = learner.function(source)
    with quiet():
        big = float(learner.centered_difference(remote, x, h))
        small = float(learner.centered_difference(remote, x, h / 10))
    if big == small:
        raise CheckError(
            f"centered_difference for {case} at x = {x} gave {big:.10g} for both h = {h:g} and "
            f"h = {h / 10:g}: the estimate must depend on h (use the h argument)"
        )
    err_big, err_small = abs(big - dfdx), abs(small - dfdx)
    ratio = err_big / max(err_small, 1e-300)
    if 50 <= ratio <= 200:
        return
    if 5 <= ratio <= 20:
        kind = "first order (error ∝ h), like a forward difference"
    elif ratio < 2:
        kind = (
            "not shrinking: your estimate tends to something other than f'(x) "
            "(2·f'(x) if you divide by h instead of 2h)"
        )
    else:
        kind = "not proportional to h²"
    raise CheckError(
        f"centered_difference for {case} at x = {x}: shrinking h from {h:g} to {h / 10:g} took "
        f"the error from {err_big:.3g} to {err_small:.3g}, a factor {ratio:.3g}. The centered "
        f"difference's error is about (h²/6)·f‴(x), so the factor should be about 100.\n"
        f"  hint: your error is {kind}"
    )


@check(NB, "test_centered_difference_order")
def centered_difference_order(learner: Learner) -> None:
    _check_second_order(learner, _SIN, float(np.cos(0.7)), 0.7, 0.1)
    _check_second_order(learner, _EXP, float(np.exp(0.3)), 0.3, 0.1)
    _check_second_order(learner, _QUARTIC, 4 * 1.5**3, 1.5, 1e-2)


def _check_default_step(learner: Learner, fn: tuple[str, str], dfdx: float, x: float) -> None:
    """With its default step, centered_difference must be accurate to 1e-8 (relative)."""
    source, case = fn
    with quiet():
        got = float(learner.centered_difference(learner.function(source), x))
    err = abs(got - dfdx) / abs(dfdx)
    if err <= 1e-8:
        return
    raise CheckError(
        f"centered_difference for {case} at x = {x} with the default h: expected f'(x) = "
        f"{dfdx:.12g} within a relative error of 1e-8, got {got:.12g} (relative error {err:.1e}).\n"
        "  hint: with h = 1e-5 the truncation error (about h²) and the round-off error (about "
        "ε/h) are both near 1e-11. A much larger default step leaves truncation error; a much "
        "smaller one drowns the estimate in round-off (section 4). Make h=1e-5 the default"
    )


@check(NB, "test_centered_difference_default_h")
def centered_difference_default_h(learner: Learner) -> None:
    _check_default_step(learner, _SIN, float(np.cos(0.5)), 0.5)
    _check_default_step(learner, _EXP, float(np.exp(2.0)), 2.0)
    _check_default_step(learner, _CUBE, 3 * 1.5**2, -1.5)
    _check_default_step(learner, _LOG, 1 / 3.0, 3.0)


# ----------------------------------------------------------------------------- rel_error


def _check_rel_error_scalar(learner: Learner, a: float, b: float, case: str) -> None:
    """rel_error of two numbers must be |a - b| / max(1e-8, |a| + |b|); name the likely slip."""
    with quiet():
        got = learner.rel_error(a, b)
    if got is None:
        raise CheckError("rel_error returned None: is a `return` missing?")
    if np.ndim(got) != 0:
        raise CheckError(f"rel_error({case}) must return one number, got shape {np.shape(got)}")
    got = float(got)
    want = abs(a - b) / max(1e-8, abs(a) + abs(b))
    if abs(got - want) <= 1e-9 * want + 1e-300:
        return
    d = abs(a - b)
    slips = [
        ("negative: take the absolute value |a - b|", -want),
        ("divided by |a| only; divide by |a| + |b| so that the order of a and b does not matter",
         d / max(1e-8, abs(a))),
        ("divided by |b| only; divide by |a| + |b| so that the order of a and b does not matter",
         d / max(1e-8, abs(b))),
        ("divided by max(|a|, |b|); the denominator is |a| + |b|", d / max(1e-8, abs(a), abs(b))),
        ("divided by |a + b|; take the absolute values first: |a| + |b|",
         d / max(1e-8, abs(a + b))),
        ("the absolute error |a - b|; divide it by max(1e-8, |a| + |b|)", d),
    ]  # fmt: skip
    hint = which(got, slips, Tolerance(1e-9, 0.0))
    raise CheckError(
        f"rel_error({case}): expected {want:.10g}, got {got:.10g}"
        + (f"\n  hint: yours is {hint}" if hint else "")
    )


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
        _check_rel_error_scalar(learner, a, b, case)


def _check_rel_error_array(learner: Learner, a: np.ndarray, b: np.ndarray, case: str) -> None:
    """rel_error of two arrays must be ONE number: the largest entry's relative error."""
    try:
        with quiet():
            got = learner.rel_error(a.copy(), b.copy())
    except LearnerError as exc:
        if exc.exc_type == "ValueError" and "truth value" in exc.exc_message:
            raise CheckError(
                f"rel_error({case}) raised ValueError: {exc.exc_message}\n  hint: Python's max() "
                "and abs() see a whole array; use np.maximum and np.abs, which work entry by entry"
            ) from None
        raise
    if got is None:
        raise CheckError("rel_error returned None: is a `return` missing?")
    per_entry = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    want = float(per_entry.max())
    if np.ndim(got) != 0:
        raise CheckError(
            f"rel_error({case}) returned an array of shape {np.shape(got)}; expected one number, "
            f"the largest entry's error ({want:.6g})"
        )
    got = float(got)
    if abs(got - want) <= 1e-9 * want:
        return
    hint = ""
    if abs(got - per_entry.mean()) <= 1e-9 * per_entry.mean():
        hint = "the mean over the entries; report the largest, so that one bad entry cannot hide"
    elif abs(got - per_entry.sum()) <= 1e-9 * per_entry.sum():
        hint = "the sum over the entries; report the largest"
    raise CheckError(
        f"rel_error({case}): expected {want:.10g} (the largest entry's relative error), got "
        f"{got:.10g}" + (f"\n  hint: yours is {hint}" if hint else "")
    )


@check(NB, "test_rel_error_arrays")
def rel_error_arrays(learner: Learner) -> None:
    # One wrong entry among right ones: the answer is that entry's error, 0.3 / 6.3
    _check_rel_error_array(
        learner, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.3]), "[1, 2, 3], [1, 2, 3.3]"
    )
    _check_rel_error_array(
        learner, np.array([[1.0, -2.0], [0.5, 4.0]]), np.array([[1.1, -2.0], [0.5, 4.0]]),
        "a 2x2 pair",
    )  # fmt: skip
    rng = np.random.default_rng(11)
    a = rng.standard_normal((3, 4, 2))
    b = a * (1 + 1e-6 * rng.standard_normal(a.shape))
    b[1, 2, 0] = -b[1, 2, 0] + 0.1
    _check_rel_error_array(learner, a, b, "two (3, 4, 2) arrays, one entry wrong")
    a = rng.uniform(1, 2, size=7) * np.logspace(-3, 3, 7)
    _check_rel_error_array(
        learner, a, a * (1 + np.linspace(0.0, 1e-3, 7)[::-1]), "(7,) arrays of mixed scales"
    )


def _check_rel_error_tiny(learner: Learner, a: float, b: float, want: float, case: str) -> None:
    """Near zero, rel_error must use the floor max(1e-8, |a| + |b|): no 0/0, no huge errors."""
    with quiet():  # a 0/0 warning is reported by the message below
        got = learner.rel_error(a, b)
        if got is None:
            raise CheckError("rel_error returned None: is a `return` missing?")
        got = float(np.max(got))
    if abs(got - want) <= 1e-9 * want + 1e-300:
        return
    if np.isnan(got):
        hint = (
            "nan is 0/0: divide by max(1e-8, |a| + |b|), so that two zeros have relative error 0"
        )
    else:
        hint = (
            "numbers below 1e-8 must be compared against the floor: the denominator is "
            "max(1e-8, |a| + |b|), not |a| + |b| alone and not a smaller floor"
        )
    raise CheckError(f"rel_error({case}): expected {want:.6g}, got {got:.6g}\n  hint: {hint}")


@check(NB, "test_rel_error_zeros")
def rel_error_zeros(learner: Learner) -> None:
    for a, b, want, case in (
        (0.0, 0.0, 0.0, "0.0, 0.0"),  # two exact zeros agree perfectly
        (1e-12, 0.0, 1e-4, "1e-12, 0.0"),  # 1e-12 / 1e-8
        (-0.0, 0.0, 0.0, "-0.0, 0.0"),
        (0.0, 1e-9, 0.1, "0.0, 1e-9"),
        (-2e-10, 3e-10, 0.05, "-2e-10, 3e-10"),
        (4e-9, 4e-9, 0.0, "4e-9, 4e-9"),
    ):
        _check_rel_error_tiny(learner, a, b, want, case)


# ----------------------------------------------------------------------------- numerical_gradient


def _forward_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
    """The forward-difference gradient, to recognise it in a wrong answer."""
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        nudged = x.copy()
        nudged[ix] += h
        grad[ix] = (f(nudged) - f(x)) / h
    return grad


def _check_numerical_gradient(
    learner: Learner,
    fn: tuple[Any, Callable[..., Any]],
    x: Any,
    expected: np.ndarray,
    case: str,
    h: float | None = None,
    tol: float = 1e-7,
) -> None:
    """numerical_gradient(f, x[, h]) must match the analytic gradient `expected`."""
    remote, f = fn
    x = np.array(x, dtype=np.float64)
    before = x.copy()
    with quiet():
        got = (learner.numerical_gradient(remote, x) if h is None
               else learner.numerical_gradient(remote, x, h))  # fmt: skip
    if got is None:
        raise CheckError("numerical_gradient returned None: is a `return` missing?")
    got = np.asarray(got, dtype=np.float64)
    where = f"numerical_gradient for {case}" + ("" if h is None else f" with h = {h}")
    if got.shape != expected.shape:
        raise CheckError(f"{where}: the gradient has shape {got.shape}, expected {expected.shape}")
    if got.size > 1 and np.ptp(got) == 0 and np.ptp(expected) > 0:
        raise CheckError(
            f"{where}: every entry of your gradient is {got.flat[0]:.6g}, expected "
            f"{np.array2string(expected, precision=6)}\n  hint: you nudged all entries of x at "
            "once (x + h); nudge ONE entry at a time, x + h·e_i, and fill grad[i]"
        )
    try:
        check_gradient(got, expected, name="grad", tol=tol)
    except GradientCheckError as exc:
        message, hint = str(exc), ""
        if not np.allclose(x, before, rtol=1e-12, atol=0):
            hint = (
                "\n  hint: the call changed x, so later entries were measured at a shifted point;"
                " restore each entry (x[ix] = old) before nudging the next"
            )
        elif np.allclose(got, _forward_gradient(f, before, 1e-5 if h is None else h), rtol=1e-9):
            hint = (
                "\n  hint: yours is the forward difference (f(x + h e_i) - f(x)) / h; use the "
                "centered one, (f(x + h e_i) - f(x - h e_i)) / (2h)"
            )
        elif h is not None and np.allclose(got, reference_gradient(f, before.copy()), rtol=1e-9):
            hint = (
                f"\n  hint: yours was computed with h = 1e-5, not with the h = {h} you were given"
            )
        if hint:  # a recognised slip: its hint replaces the checker's generic one
            message = message.split("\n  hint:")[0]
        # the reference here is the exact gradient, so call it "expected", not "numerical"
        message = message.replace("numerical = ", "expected = ")
        raise GradientCheckError(f"{where}: {message}{hint}") from None


@check(NB, "test_numerical_gradient_values")
def numerical_gradient_values(learner: Learner) -> None:
    # The worked example: f(x) = x0**2 + 3*x0*x1 at x = (1, 2) has gradient (8, 3)
    _check_numerical_gradient(
        learner, _pair(learner, "lambda v: v[0] ** 2 + 3 * v[0] * v[1]"), [1.0, 2.0],
        np.array([8.0, 3.0]), "f(x) = x0**2 + 3*x0*x1 at (1, 2)",
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
    # with a large step, the centered difference of x**3 is exactly 3x**2 + h**2
    _check_numerical_gradient(
        learner, _pair(learner, "lambda v: float(np.sum(v**3))"), x, 3 * x**2 + 0.1**2,
        "f(x) = sum(x**3)", h=0.1, tol=1e-9,
    )  # fmt: skip


def _check_gradient_shape(
    learner: Learner, remote: Any, x: np.ndarray, expected: np.ndarray, case: str
) -> None:
    """For x of any shape, the gradient has x's shape and one partial derivative per entry."""
    x = np.array(x, dtype=np.float64)
    with quiet():
        got = learner.numerical_gradient(remote, x)
    if got is None:
        raise CheckError("numerical_gradient returned None: is a `return` missing?")
    got = np.asarray(got, dtype=np.float64)
    where = f"numerical_gradient for {case}"
    if got.shape != x.shape:
        raise CheckError(
            f"{where}: the gradient has shape {got.shape} but x has shape {x.shape}\n  hint: the "
            "gradient has one entry per entry of x, arranged like x: start from np.zeros(x.shape)"
        )
    if x.ndim >= 2 and x.shape[1] > 1 and np.all(np.ptp(got, axis=1) == 0):
        raise CheckError(
            f"{where}: along each row all entries of your gradient are equal, e.g. row 0 is "
            f"{np.array2string(got[0], precision=6)}, expected "
            f"{np.array2string(expected[0], precision=6)}"
            "\n  hint: you nudged whole rows at once (x[i] is a row of a 2-D array); visit every "
            "index with `for ix in np.ndindex(x.shape)`"
        )
    try:
        # this check is about shapes and indexing, so it tolerates a less accurate formula
        check_gradient(got, expected, name="grad", tol=1e-4)
    except GradientCheckError as exc:
        message = str(exc).replace("numerical = ", "expected = ")  # the exact gradient
        raise GradientCheckError(f"{where}: {message}") from None


@check(NB, "test_numerical_gradient_any_shape")
def numerical_gradient_any_shape(learner: Learner) -> None:
    w = np.array([[1.0, -2.0, 0.5], [3.0, 1.5, -1.0]])
    x = np.array([[0.5, 1.0, -1.5], [2.0, -0.5, 1.0]])
    _check_gradient_shape(
        learner, learner.function("lambda w: lambda v: float(np.sum(w * v**2))")(w), x,
        2 * w * x, "f(x) = sum(w * x**2), x of shape (2, 3)",
    )  # fmt: skip
    rng = np.random.default_rng(202)
    W = rng.uniform(0.5, 2.0, size=(2, 3, 4))
    x = rng.uniform(-1.0, 1.0, size=(2, 3, 4))
    _check_gradient_shape(
        learner, learner.function("lambda W: lambda v: float(np.sum(W * np.sin(v)))")(W), x,
        W * np.cos(x), "f(x) = sum(W * sin(x)), x of shape (2, 3, 4)",
    )  # fmt: skip
    x = np.array([[0.5], [-1.2], [2.0], [0.8]])
    _check_gradient_shape(
        learner, learner.function("lambda v: float(np.sum(v**4))"), x, 4 * x**3,
        "f(x) = sum(x**4), x of shape (4, 1)",
    )  # fmt: skip
    x = np.array([[1.5, -0.5, 2.0, 1.0]])
    _check_gradient_shape(
        learner, learner.function("lambda v: float(np.exp(v).sum())"), x, np.exp(x),
        "f(x) = sum(exp(x)), x of shape (1, 4)",
    )  # fmt: skip


def _check_restores(
    learner: Learner, source: str, x: np.ndarray, case: str, h: float | None = None
) -> None:
    """After numerical_gradient(f, x) returns, x must hold exactly its old values."""
    before = x.copy()
    drive = learner.function(_RESULT_AND_IDENTITY)
    args = (learner.numerical_gradient, learner.function(source), x) + (() if h is None else (h,))
    with quiet():
        result = _driven(lambda: drive(*args))  # x now holds what the call left in it
    got, is_x = result
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
        f"{before[ix]:.10g} before the call and is {x[ix]:.10g} after it\n  hint: save each entry "
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


def _check_in_place(got: Any, expected: np.ndarray, case: str) -> None:
    """The gradient of a loss that ignores its argument and reads x directly: only an in-place
    nudge reaches it."""
    if got is None:
        raise CheckError("numerical_gradient returned None: is a `return` missing?")
    got = np.asarray(got, dtype=np.float64)
    if got.shape == expected.shape and not np.any(got):
        raise CheckError(
            f"numerical_gradient for {case}: your gradient is all zeros, expected "
            f"{np.array2string(expected, precision=6)}\n  hint: this f ignores its argument and "
            "reads the array directly, like `lambda _: model_loss(params)`; it only sees the "
            "nudge if you change x itself, in place (and restore it), not a copy of x"
        )
    try:
        # this check is about where the nudge happens, so it tolerates a less accurate formula
        check_gradient(got, expected, name="grad", tol=1e-4)
    except GradientCheckError as exc:
        message = str(exc).replace("numerical = ", "expected = ")  # the exact gradient
        raise GradientCheckError(f"numerical_gradient for {case}: {message}") from None


@check(NB, "test_numerical_gradient_in_place")
def numerical_gradient_in_place(learner: Learner) -> None:
    w = np.array([0.5, -1.0, 2.0])
    drive = learner.function(_CUBES_READING_W)
    with quiet():
        got = _driven(lambda: drive(learner.numerical_gradient, w.copy()))
    _check_in_place(got, 3 * w**2, "f = lambda _: sum(w**3), w of shape (3,)")

    rng = np.random.default_rng(404)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.uniform(-0.5, 0.5, size=2)}
    X = rng.standard_normal((4, 3))
    expected = (1 - np.tanh(X @ params["W"] + params["b"]) ** 2).sum(axis=0)
    drive = learner.function(_MODEL_READING_B)
    copies = {k: v.copy() for k, v in params.items()}
    with quiet():
        got = _driven(lambda: drive(learner.numerical_gradient, copies, X.copy()))
    _check_in_place(
        got, expected,
        "f = lambda _: sum(tanh(X @ params['W'] + params['b'])), x = params['b'] of shape (2,)",
    )  # fmt: skip
