"""Graded checks of notebook 06 (activations): ReLU, leaky ReLU, sigmoid and tanh, each a
``*_forward(x) -> (out, cache)`` / ``*_backward(dout, cache) -> dx`` pair.

One check per graded test cell. Each repeats the cell's visible cases first, in the cell's order
(so a mistake shows on the same case as in the notebook), and adds hidden ones: other shapes (1-D
to 3-D, a single entry), other slopes ``alpha``, saturated inputs (|x| up to 1000). Backward
passes are handed the cache their docstring documents, built here (``x`` for ReLU, ``(x, alpha)``
for leaky ReLU, the output for sigmoid and tanh), so each is graded on its own; the forward's
cache is a property of its own. Inputs of backward checks stay away from the kink at 0, except
one case each at the kink itself, where the notebook's convention decides. References come from
:mod:`bplib.layers`; a known mistake is named by the catalogue
(:mod:`autograder.mistakes.activations`), as in the notebook's visible tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, as_array, as_tuple, check, describe
from autograder.mistakes import Mistake, hint
from autograder.mistakes.activations import (
    LEAKY_RELU_BACKWARD,
    LEAKY_RELU_FORWARD,
    RELU_BACKWARD,
    RELU_FORWARD,
    SIGMOID_BACKWARD,
    SIGMOID_CACHE,
    SIGMOID_FORWARD,
    TANH_BACKWARD,
    TANH_CACHE,
    TANH_FORWARD,
)
from autograder.numeric import EXACT, Tolerance, close, fmt
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient
from bplib.layers import leaky_relu_forward as ref_leaky
from bplib.layers import relu_forward as ref_relu
from bplib.layers import sigmoid_forward as ref_sigmoid
from bplib.layers import tanh_forward as ref_tanh

__all__: list[str] = []  # checks register themselves; nothing here is for import

ASSIGNMENT = "06-activations"
VALUES = Tolerance(EXACT.rtol, 1e-15)  # an activation's output can be 1e-300 and still right


def _case(x: np.ndarray) -> str:
    return f"an x of shape {x.shape}" if x.size > 6 else f"x = {fmt(x)}"


def _first_bad(got: np.ndarray, want: np.ndarray, tol: Tolerance) -> tuple[np.ndarray, tuple]:
    bad = ~np.isclose(got, want, rtol=tol.rtol, atol=tol.atol)
    return bad, tuple(int(i) for i in np.argwhere(bad)[0])


def _forward(
    learner: Learner,
    fn: str,
    x: np.ndarray,
    *extra: Any,
    errstate: str = "ignore",
    inputs_unchanged: bool = False,
) -> tuple[Any, Any]:
    """(out, cache) of the learner's ``fn`` on a copy of x (and ``extra`` arguments).

    With errstate="ignore" an overflow inside the learner's code is no error (only the values
    count); with "raise" it raises FloatingPointError there, reported as a LearnerError. With
    ``inputs_unchanged``, x must be as it was after the call.
    """
    arg = x.copy()
    # numpy's error state is set in the learner's own process: overflow is seen only where it happens
    result = learner.neutral("under_errstate")(getattr(learner, fn), errstate, arg, *extra)
    if inputs_unchanged and (arg.shape != x.shape or not np.array_equal(arg, x)):
        raise CheckError(
            f"{fn} changed its input x in place ({_case(x)})\n  hint: build a new array "
            "(np.maximum, np.where, arithmetic on x) instead of writing into x"
        )
    out, cache = as_tuple(result, fn, ["out", "cache"])
    return out, cache


def _check_values(fn: str, out: Any, want: np.ndarray, x: np.ndarray,
                  mistakes: Sequence[Mistake], inputs: tuple[Any, ...], more: str = "") -> None:
    """out must equal ``want``; ``mistakes`` of ``inputs`` name a known slip; ``more`` describes
    further arguments (", alpha=0.2")."""
    call = f"{fn}({_case(x)}{more})"
    got = as_array(out, f"{call}: out", shape=want.shape)
    if close(got, want, VALUES):
        return
    bad, ix = _first_bad(got, want, VALUES)
    raise CheckError(
        f"{call}: out is wrong in {int(bad.sum())} of {bad.size} entries; at x = "
        f"{x[ix]:.6g} yours is {got[ix]:.10g}, expected {want[ix]:.10g}"
        + hint(got, mistakes, *inputs, want=want)
    )


def _check_backward(
    learner: Learner,
    fn: str,
    x: np.ndarray,
    cache: Any,
    dout: np.ndarray,
    local: np.ndarray,
    mistakes: Sequence[Mistake],
    inputs: tuple[Any, ...],
) -> None:
    """dx = dout * local must come back; ``mistakes`` of ``(*inputs, dout)`` are known slips."""
    args = [dout.copy(), cache]
    dx = getattr(learner, fn)(*args)
    if not np.array_equal(args[0], dout):
        raise CheckError(
            f"{fn} changed dout in place ({_case(x)})\n  hint: return a new array, e.g. "
            "dout * mask, instead of writing zeros into dout: the caller may still need dout"
        )
    want = dout * local
    got = as_array(dx, f"{fn} for {_case(x)}: dx", shape=want.shape)
    named = "" if close(got, want, EXACT) else hint(got, mistakes, *inputs, dout, want=want)
    if named:
        bad, ix = _first_bad(got, want, EXACT)
        raise GradientCheckError(
            f"{fn} for {_case(x)}: dx is wrong in {int(bad.sum())} of {bad.size} entries; at "
            f"x = {x[ix]:.6g} with dout = {dout[ix]:.6g}, yours is {got[ix]:.10g}, expected "
            f"{want[ix]:.10g}{named}"
        )
    try:
        check_gradient(got, want, "dx", tol=1e-7, numeric_ones=local)
    except GradientCheckError as exc:
        raise GradientCheckError(f"{fn} for {_case(x)}: {exc}") from None
    zero = as_array(getattr(learner, fn)(np.zeros_like(dout), cache), f"{fn}'s dx",
                    shape=dout.shape)
    if np.any(zero):
        raise GradientCheckError(
            f"{fn} with dout = 0 must give dx = 0 ({_case(x)}), got {fmt(zero)}\n  hint: "
            "multiply the local derivative by the upstream gradient dout"
        )


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Random entries of both signs with |x| >= 0.1: no kink within reach of a nudge."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, scale, size=shape)


# ----------------------------------------------------------------------------- ReLU

RELU_X = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])
RELU_BACK_X = np.array([[-2.0, -0.5, 0.3], [0.5, 1.0, -3.0]])
RELU_KINK = (np.array([0.0, 2.0, -1.0]), np.array([1.5, -2.0, 0.5]))  # the cell's x == 0 case


def _relu_inputs(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal(5),
        3 * rng.standard_normal((3, 4)),
        rng.standard_normal((2, 3, 2)),
        -rng.uniform(0.1, 2.0, size=(2, 3)),
        rng.uniform(0.1, 2.0, size=(4,)),
        np.array([[0.7]]),
    ]


@check(ASSIGNMENT, "test_relu_forward_values")
def relu_forward_values(learner: Learner) -> None:
    """out = max(0, x), in x's shape; x itself unchanged."""
    for x in [RELU_X, *_relu_inputs(61)]:
        out, _ = _forward(learner, "relu_forward", x, inputs_unchanged=True)
        _check_values("relu_forward", out, ref_relu(x)[0], x, RELU_FORWARD, (x,))


@check(ASSIGNMENT, "test_relu_forward_cache")
def relu_forward_cache(learner: Learner) -> None:
    """The cache is x (the output max(0, x) is accepted too: it is positive exactly where x is)."""
    for x in [RELU_X, *_relu_inputs(62)]:
        _, cache = _forward(learner, "relu_forward", x)
        where = f"relu_forward({_case(x)})"
        if isinstance(cache, tuple | list):
            raise CheckError(
                f"{where}: the cache is {describe(cache)}; it should be x itself, the array "
                "relu_backward receives as cache"
            )
        c = as_array(cache, f"{where}: the cache")
        if c.shape != x.shape or not np.array_equal(c > 0, x > 0):
            raise CheckError(
                f"{where}: the cache should be the input x; got {fmt(c)}\n  hint: relu_backward "
                "needs to know where x > 0"
            )


@check(ASSIGNMENT, "test_relu_backward")
def relu_backward(learner: Learner) -> None:
    """dx = dout where x > 0, else 0; dout untouched; cache = x."""
    rng = np.random.default_rng(63)
    cases = [(RELU_BACK_X, np.random.default_rng(60).standard_normal((2, 3))),
             (np.array([-1.0, 2.0]), np.array([5.0, 7.0])), RELU_KINK]
    for shape in [(7,), (3, 4), (2, 3, 2), (1, 1)]:
        cases.append((_away_from_zero(rng, shape, 3.0), rng.standard_normal(shape)))
    # At the kink: the notebook's convention is dx = 0 where x == 0 exactly (the mask is x > 0).
    cases.append((np.array([[0.0, -1.5, 0.0], [2.0, 0.0, -0.0]]), rng.standard_normal((2, 3))))
    for x, dout in cases:
        _check_backward(learner, "relu_backward", x, x.copy(), dout,
                        (x > 0).astype(np.float64), RELU_BACKWARD, (x,))


# ----------------------------------------------------------------------------- leaky ReLU

LEAKY_X = np.array([-2.0, -0.5, 0.5, 3.0])
LEAKY_BACK_X = np.array([[-2.0, -0.5, 0.3], [0.5, 1.0, -3.0]])
# the cell's worked example and its case at the kink: (x, alpha, dout)
LEAKY_EXAMPLE = (np.array([-2.0, 3.0]), 0.1, np.array([4.0, -1.0]))
LEAKY_KINK = (np.array([0.0, 1.0]), 0.1, np.array([2.0, 1.0]))


def _leaky_cases(seed: int) -> list[tuple[np.ndarray, float | None]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((3, 4)), None),
        (rng.standard_normal((3, 4)), 0.1),
        (rng.standard_normal((2, 3, 2)), 0.3),
        (-rng.uniform(0.1, 2.0, size=5), 0.05),
        (np.array([[-1.5]]), None),
    ]


@check(ASSIGNMENT, "test_leaky_relu_forward_values")
def leaky_relu_forward_values(learner: Learner) -> None:
    """out = x where x > 0, else alpha * x; alpha defaults to 0.01."""
    for x, alpha in [(LEAKY_X, None), (LEAKY_X, 0.2), *_leaky_cases(64)]:
        a = 0.01 if alpha is None else alpha
        extra = () if alpha is None else (alpha,)
        out, _ = _forward(learner, "leaky_relu_forward", x, *extra, inputs_unchanged=True)
        more = "" if alpha is None else f", alpha={a:g}"
        _check_values("leaky_relu_forward", out, ref_leaky(x, a)[0], x, LEAKY_RELU_FORWARD,
                      (x, alpha), more)


@check(ASSIGNMENT, "test_leaky_relu_forward_cache")
def leaky_relu_forward_cache(learner: Learner) -> None:
    """The cache is (x, alpha) (the output in place of x is accepted: same signs as x)."""
    for x, alpha in [(LEAKY_X, 0.2), *_leaky_cases(65)]:
        a = 0.01 if alpha is None else alpha
        extra = () if alpha is None else (alpha,)
        _, cache = _forward(learner, "leaky_relu_forward", x, *extra)
        where = f"leaky_relu_forward({_case(x)}, alpha={a:g})"
        if not isinstance(cache, tuple | list) or len(cache) != 2:
            raise CheckError(
                f"{where}: the cache must be the tuple (x, alpha), got {describe(cache)}\n  hint: "
                "leaky_relu_backward receives only dout and the cache, so the slope alpha must "
                "travel in the cache"
            )
        c = as_array(cache[0], f"{where}: cache[0]")
        if c.shape != x.shape or not np.array_equal(c > 0, x > 0):
            raise CheckError(f"{where}: cache[0] should be the input x; got {fmt(c)}")
        try:
            slope = float(cache[1])
        except (TypeError, ValueError):
            raise CheckError(f"{where}: cache[1] should be the number alpha = {a:g}") from None
        if slope != a:
            raise CheckError(f"{where}: cache[1] should be alpha = {a:g}, got {slope:g}")


@check(ASSIGNMENT, "test_leaky_relu_backward")
def leaky_relu_backward(learner: Learner) -> None:
    """dx = dout where x > 0, alpha * dout elsewhere; alpha comes from the cache."""
    rng = np.random.default_rng(66)
    cases = [(LEAKY_BACK_X, 0.2, np.random.default_rng(60).standard_normal((2, 3))),
             LEAKY_EXAMPLE, LEAKY_KINK]
    for shape, alpha in [((7,), 0.1), ((3, 4), 0.01), ((2, 3, 2), 0.3), ((1, 1), 0.25)]:
        cases.append((_away_from_zero(rng, shape, 3.0), alpha, rng.standard_normal(shape)))
    # At the kink: the notebook's slope for x <= 0 is alpha, so dx = alpha·dout where x == 0.
    cases.append((np.array([0.0, 1.5, -2.0, 0.0]), 0.2, rng.standard_normal(4)))
    for x, alpha, dout in cases:
        local = np.where(x > 0, 1.0, alpha)
        _check_backward(learner, "leaky_relu_backward", x, (x.copy(), alpha), dout, local,
                        LEAKY_RELU_BACKWARD, (x, alpha))


# ----------------------------------------------------------------------------- sigmoid

SIGMOID_X = np.array([-2.0, 0.0, 3.0])


@check(ASSIGNMENT, "test_sigmoid_forward_values")
def sigmoid_forward_values(learner: Learner) -> None:
    """out = 1 / (1 + exp(-x)) for moderate x (|x| <= 30), in x's shape."""
    rng = np.random.default_rng(67)
    cases = [SIGMOID_X, 3 * rng.standard_normal((4, 5)), rng.uniform(-8, 8, size=(2, 3, 2)),
             np.array([-30.0, -12.5, 12.5, 30.0]), np.array([[-1.5]])]
    for x in cases:
        out, _ = _forward(learner, "sigmoid_forward", x, inputs_unchanged=True)
        _check_values("sigmoid_forward", out, ref_sigmoid(x)[0], x, SIGMOID_FORWARD, (x,))


STABLE_X = np.array([-1000.0, -50.0, 50.0, 1000.0])

_OVERFLOW_HINT = (
    "\n  hint: exp of a large number overflows, even where the final value comes out right "
    "(1 / (1 + inf) = 0); exp(x) / (1 + exp(x)) gives inf / inf = nan. Exponentiate only -|x|: "
    "e = np.exp(-np.abs(x)), then 1 / (1 + e) where x >= 0 and e / (1 + e) elsewhere. "
    "np.where(c, a, b) computes both branches for every entry."
)


@check(ASSIGNMENT, "test_sigmoid_forward_stable")
def sigmoid_forward_stable(learner: Learner) -> None:
    """For |x| up to 1000: no overflow inside sigmoid_forward, finite and right values."""
    rng = np.random.default_rng(68)
    cases = [STABLE_X, np.array([[-800.0, 800.0], [-745.0, 710.0]]),
             np.array([800.0, -36.5, 36.5, -800.0]), rng.uniform(-1000, 1000, size=(3, 4))]
    for x in cases:
        try:
            out, _ = _forward(learner, "sigmoid_forward", x, errstate="raise")
        except LearnerError as exc:
            if exc.exc_type != "FloatingPointError":
                raise
            raise CheckError(
                f"sigmoid_forward({_case(x)}): numpy reports {exc.exc_message!r} inside your "
                f"function{_OVERFLOW_HINT}"
            ) from None
        _check_values("sigmoid_forward", out, ref_sigmoid(x)[0], x, SIGMOID_FORWARD, (x,))


def _check_output_cache(learner: Learner, fn: str, x: np.ndarray,
                        mistakes: Sequence[Mistake]) -> None:
    """The cache must be the output itself (the array fn returned as out)."""
    out, cache = _forward(learner, fn, x)
    where = f"{fn}({_case(x)})"
    if isinstance(cache, tuple | list):
        raise CheckError(
            f"{where}: the cache is {describe(cache)}; it should be out itself (an array), which "
            f"{fn.replace('forward', 'backward')} receives as cache"
        )
    c = as_array(cache, f"{where}: the cache")
    got = as_array(out, f"{where}: out")
    if c.shape == got.shape and np.array_equal(c, got):
        return
    raise CheckError(f"{where}: the cache should be out itself, {fmt(got)}; got {fmt(c)}"
                     + hint(c, mistakes, x, want=got))


@check(ASSIGNMENT, "test_sigmoid_forward_cache")
def sigmoid_forward_cache(learner: Learner) -> None:
    """The cache is out = sigmoid(x)."""
    rng = np.random.default_rng(69)
    for x in [SIGMOID_X, rng.standard_normal((3, 4)), np.array([[0.25, -0.75]])]:
        _check_output_cache(learner, "sigmoid_forward", x, SIGMOID_CACHE)


@check(ASSIGNMENT, "test_sigmoid_backward")
def sigmoid_backward(learner: Learner) -> None:
    """dx = dout * out * (1 - out), with the cache out = sigmoid(x)."""
    rng = np.random.default_rng(70)
    cases = [(SIGMOID_X, np.array([0.5, -1.0, 2.0]))]
    for shape in [(3, 4), (7,), (2, 3, 2)]:
        cases.append((rng.uniform(-5, 5, size=shape), rng.standard_normal(shape)))
    cases.append((np.array([-40.0, -8.0, 8.0, 40.0]), rng.standard_normal(4)))  # saturated
    cases.append((np.array([[0.8]]), np.array([[-1.3]])))  # a single entry
    for x, dout in cases:
        out = ref_sigmoid(x)[0]
        _check_backward(learner, "sigmoid_backward", x, out.copy(), dout, out * (1 - out),
                        SIGMOID_BACKWARD, (out,))


# ----------------------------------------------------------------------------- tanh

TANH_X = np.array([-2.0, 0.0, 0.5, 3.0])
TANH_SATURATED_X = np.array([-1000.0, -20.0, 20.0, 1000.0])


@check(ASSIGNMENT, "test_tanh_forward_values")
def tanh_forward_values(learner: Learner) -> None:
    """out = tanh(x), right and finite for |x| up to 1000 (overflow warnings aside)."""
    rng = np.random.default_rng(71)
    cases = [TANH_X, TANH_SATURATED_X, 2 * rng.standard_normal((4, 5)),
             rng.uniform(-5, 5, size=(2, 3, 2)), np.array([[-800.0, 800.0], [-355.0, 400.0]]),
             np.array([[1.25]])]
    for x in cases:
        out, _ = _forward(learner, "tanh_forward", x, inputs_unchanged=True)
        _check_values("tanh_forward", out, ref_tanh(x)[0], x, TANH_FORWARD, (x,))


@check(ASSIGNMENT, "test_tanh_forward_cache")
def tanh_forward_cache(learner: Learner) -> None:
    """The cache is out = tanh(x)."""
    rng = np.random.default_rng(72)
    for x in [TANH_X, rng.standard_normal((3, 4)), np.array([[0.25, -0.75]])]:
        _check_output_cache(learner, "tanh_forward", x, TANH_CACHE)


@check(ASSIGNMENT, "test_tanh_backward")
def tanh_backward(learner: Learner) -> None:
    """dx = dout * (1 - out**2), with the cache out = tanh(x)."""
    rng = np.random.default_rng(73)
    cases = [(TANH_X, np.array([0.5, -1.0, 2.0, 1.5]))]
    for shape in [(3, 4), (7,), (2, 3, 2)]:
        cases.append((rng.uniform(-3, 3, size=shape), rng.standard_normal(shape)))
    cases.append((np.array([-20.0, -4.0, 4.0, 20.0]), rng.standard_normal(4)))  # saturated
    cases.append((np.array([[-0.6]]), np.array([[2.1]])))  # a single entry
    for x, dout in cases:
        out = np.tanh(x)
        _check_backward(learner, "tanh_backward", x, out.copy(), dout, 1 - out**2,
                        TANH_BACKWARD, (out,))
