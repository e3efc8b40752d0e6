"""Graded checks of notebook 06 (activations): ReLU, leaky ReLU, sigmoid and tanh, each a
``*_forward(x) -> (out, cache)`` / ``*_backward(dout, cache) -> dx`` pair.

One check per graded test cell. Each repeats the cell's visible cases and adds hidden ones: other
shapes (1-D to 3-D, a single entry), other slopes ``alpha``, saturated inputs (|x| up to 1000).
Backward passes are handed the cache their docstring documents, built here (``x`` for ReLU,
``(x, alpha)`` for leaky ReLU, the output for sigmoid and tanh), so each is graded on its own; the
forward's cache is a property of its own. Inputs of backward checks stay away from the kink at 0.
References come from :mod:`bplib.layers`; a recognised mistake gets its own hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.checks import Learner, LearnerError, check
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient
from bplib.layers import leaky_relu_forward as ref_leaky
from bplib.layers import relu_forward as ref_relu
from bplib.layers import sigmoid_forward as ref_sigmoid
from bplib.layers import tanh_forward as ref_tanh

__all__: list[str] = []  # checks register themselves; nothing here is for import

ASSIGNMENT = "06-activations"

Slips = list[tuple[str, np.ndarray]]


def _fmt(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), precision=6, threshold=12)


def _array(value: Any, what: str) -> np.ndarray:
    if value is None:
        raise CheckError(f"{what} is None: is a `return` missing?")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"{what} must be a numeric array, got {type(value).__name__}") from None


def _pair(result: Any, fn: str) -> tuple[Any, Any]:
    if result is None:
        raise CheckError(f"{fn} returned None: is a `return` missing?")
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckError(f"{fn} must return the pair (out, cache), got {type(result).__name__}")
    return result[0], result[1]


def _case(x: np.ndarray) -> str:
    return f"an x of shape {x.shape}" if x.size > 6 else f"x = {_fmt(x)}"


def _slip(got: np.ndarray, slips: Slips) -> str:
    for text, value in slips:
        value = np.asarray(value, dtype=np.float64)
        if got.shape == value.shape and np.allclose(got, value, rtol=1e-9, atol=1e-12):
            return text
    return ""


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
    return _pair(result, fn)


def _check_values(
    fn: str, out: Any, want: np.ndarray, x: np.ndarray, slips: Slips, more: str = ""
) -> None:
    """out must equal ``want``; ``more`` describes further arguments (", alpha=0.2")."""
    call = f"{fn}({_case(x)}{more})"
    got = _array(out, f"{fn}'s out")
    if got.shape != want.shape:
        raise CheckError(f"{call}: out has shape {got.shape}, expected x's shape {want.shape}")
    if np.allclose(got, want, rtol=1e-9, atol=1e-15):
        return
    bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-15)
    ix = tuple(int(i) for i in np.argwhere(bad)[0])
    hint = _slip(got, slips)
    if not hint and not np.all(np.isfinite(got)):
        hint = "an overflow: exp of a large number is inf, and inf / inf is nan"
    raise CheckError(
        f"{call}: out is wrong in {int(bad.sum())} of {bad.size} entries; at x = "
        f"{x[ix]:.6g} yours is {got[ix]:.6g}, expected {want[ix]:.6g}"
        + (f"\n  hint: yours is {hint}" if hint else "")
    )


def _check_backward(
    learner: Learner,
    fn: str,
    x: np.ndarray,
    cache: Any,
    dout: np.ndarray,
    local: np.ndarray,
    slips: Callable[[np.ndarray], Slips],
) -> None:
    """dx = dout * local must come back; ``slips(dout)`` are known mistakes for that dout."""
    args = [dout.copy(), cache]
    dx = getattr(learner, fn)(*args)
    if not np.array_equal(args[0], dout):
        raise CheckError(
            f"{fn} changed dout in place ({_case(x)})\n  hint: return a new array, e.g. "
            "dout * mask, instead of writing zeros into dout: the caller may still need dout"
        )
    want = dout * local
    got = _array(dx, f"{fn}'s dx")
    hint = _slip(got, slips(dout)) if not np.allclose(got, want, rtol=1e-9, atol=1e-12) else ""
    if hint:
        bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-12)
        ix = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradientCheckError(
            f"{fn} for {_case(x)}: dx is wrong in {int(bad.sum())} of {bad.size} entries; at "
            f"x = {x[ix]:.6g} with dout = {dout[ix]:.6g}, yours is {got[ix]:.6g}, expected "
            f"{want[ix]:.6g}\n  hint: yours is {hint}"
        )
    try:
        check_gradient(got, want, "dx", tol=1e-7, numeric_ones=local)
    except GradientCheckError as exc:
        raise GradientCheckError(f"{fn} for {_case(x)}: {exc}") from None
    zero = _array(getattr(learner, fn)(np.zeros_like(dout), cache), f"{fn}'s dx")
    if np.any(zero):
        raise GradientCheckError(
            f"{fn} with dout = 0 must give dx = 0 ({_case(x)}), got {_fmt(zero)}\n  hint: "
            "multiply the local derivative by the upstream gradient dout"
        )


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Random entries of both signs with |x| >= 0.1: no kink within reach of a nudge."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, scale, size=shape)


# ----------------------------------------------------------------------------- ReLU

RELU_X = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])
RELU_BACK_X = np.array([[-2.0, -0.5, 0.3], [0.5, 1.0, -3.0]])


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
        _check_values("relu_forward", out, ref_relu(x)[0], x, [
            ("min(0, x): ReLU keeps the positive part, max(0, x)", np.minimum(x, 0.0)),
            ("|x|: negative inputs become 0, not -x", np.abs(x)),
            ("x itself: negative inputs must become 0", x),
        ])


@check(ASSIGNMENT, "test_relu_forward_cache")
def relu_forward_cache(learner: Learner) -> None:
    """The cache is x (the output max(0, x) is accepted too: it is positive exactly where x is)."""
    for x in [RELU_X, *_relu_inputs(62)]:
        _, cache = _forward(learner, "relu_forward", x)
        where = f"relu_forward({_case(x)})"
        if isinstance(cache, tuple | list):
            raise CheckError(
                f"{where}: the cache is a {type(cache).__name__} of {len(cache)} item(s); it should "
                "be x itself, the array relu_backward receives as cache"
            )
        c = _array(cache, "the cache")
        if c.shape != x.shape or not np.array_equal(c > 0, x > 0):
            raise CheckError(
                f"{where}: the cache should be the input x; got {_fmt(c)}\n  hint: relu_backward "
                "needs to know where x > 0"
            )


def _relu_slips(x: np.ndarray) -> Callable[[np.ndarray], Slips]:
    return lambda dout: [
        ("dout times the OUTPUT max(0, x); ReLU's local derivative is the 0/1 mask (x > 0), "
         "so dx = dout where x > 0 and 0 elsewhere", dout * np.maximum(x, 0.0)),
        ("dout masked where dout > 0; the mask comes from the input x: where x > 0",
         np.where(dout > 0, dout, 0.0)),
        ("the mask inverted: the gradient passes where x > 0, and is 0 where x < 0",
         np.where(x < 0, dout, 0.0)),
    ]


@check(ASSIGNMENT, "test_relu_backward")
def relu_backward(learner: Learner) -> None:
    """dx = dout where x > 0, else 0; dout untouched; cache = x."""
    rng = np.random.default_rng(63)
    cases = [(np.array([-1.0, 2.0]), np.array([5.0, 7.0])),
             (RELU_BACK_X, np.random.default_rng(60).standard_normal((2, 3)))]
    for shape in [(7,), (3, 4), (2, 3, 2), (1, 1)]:
        cases.append((_away_from_zero(rng, shape, 3.0), rng.standard_normal(shape)))
    for x, dout in cases:
        _check_backward(learner, "relu_backward", x, x.copy(), dout,
                        (x > 0).astype(np.float64), _relu_slips(x))


# ----------------------------------------------------------------------------- leaky ReLU

LEAKY_X = np.array([-2.0, -0.5, 0.5, 3.0])
LEAKY_BACK_X = np.array([[-2.0, -0.5, 0.3], [0.5, 1.0, -3.0]])


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
        slips = [
            ("alpha applied to the positive side: x > 0 passes unchanged, x < 0 is scaled by "
             "alpha", np.where(x > 0, a * x, x)),
            ("ReLU: the slope alpha is missing, x < 0 gives alpha·x, not 0", np.maximum(x, 0.0)),
        ]
        if a != 0.01:
            slips.append((f"computed with alpha = 0.01, not the alpha = {a:g} passed in: use "
                          "the argument", np.where(x > 0, x, 0.01 * x)))
        else:
            slips.append(("computed with another default slope: the default is alpha = 0.01 "
                          "(write alpha=0.01 in the signature)", np.where(x > 0, x, 0.1 * x)))
        more = "" if alpha is None else f", alpha={a:g}"
        _check_values("leaky_relu_forward", out, ref_leaky(x, a)[0], x, slips, more)


@check(ASSIGNMENT, "test_leaky_relu_forward_cache")
def leaky_relu_forward_cache(learner: Learner) -> None:
    """The cache is (x, alpha) (the output in place of x is accepted: same signs as x)."""
    for x, alpha in [(LEAKY_X, 0.2), *_leaky_cases(65)]:
        a = 0.01 if alpha is None else alpha
        extra = () if alpha is None else (alpha,)
        _, cache = _forward(learner, "leaky_relu_forward", x, *extra)
        where = f"leaky_relu_forward({_case(x)}, alpha={a:g})"
        if not isinstance(cache, tuple | list) or len(cache) != 2:
            got = f"{len(cache)} items" if isinstance(cache, tuple | list) else type(cache).__name__
            raise CheckError(
                f"{where}: the cache must be the tuple (x, alpha), got {got}\n  hint: "
                "leaky_relu_backward receives only dout and the cache, so the slope alpha must "
                "travel in the cache"
            )
        c = _array(cache[0], "cache[0]")
        if c.shape != x.shape or not np.array_equal(c > 0, x > 0):
            raise CheckError(f"{where}: cache[0] should be the input x; got {_fmt(c)}")
        try:
            slope = float(cache[1])
        except (TypeError, ValueError):
            raise CheckError(f"{where}: cache[1] should be the number alpha = {a:g}") from None
        if slope != a:
            raise CheckError(f"{where}: cache[1] should be alpha = {a:g}, got {slope:g}")


def _leaky_slips(x: np.ndarray, alpha: float) -> Callable[[np.ndarray], Slips]:
    def slips(dout: np.ndarray) -> Slips:
        found = [
            ("0 where x < 0, as for ReLU: there the slope is alpha, so dx = alpha·dout",
             np.where(x > 0, dout, 0.0)),
            ("alpha·x where x < 0: the local derivative there is the slope alpha, and it "
             "multiplies dout", np.where(x > 0, dout, alpha * x)),
            ("the slope alpha applied where x > 0; there the slope is 1",
             np.where(x > 0, alpha * dout, dout)),
        ]
        if alpha != 0.01:
            found.append((f"computed with the slope 0.01, not the alpha = {alpha:g} in the cache",
                          np.where(x > 0, dout, 0.01 * dout)))
        return found

    return slips


@check(ASSIGNMENT, "test_leaky_relu_backward")
def leaky_relu_backward(learner: Learner) -> None:
    """dx = dout where x > 0, alpha * dout elsewhere; alpha comes from the cache."""
    rng = np.random.default_rng(66)
    cases = [(LEAKY_BACK_X, 0.2, np.random.default_rng(60).standard_normal((2, 3)))]
    for shape, alpha in [((7,), 0.1), ((3, 4), 0.01), ((2, 3, 2), 0.3), ((1, 1), 0.25)]:
        cases.append((_away_from_zero(rng, shape, 3.0), alpha, rng.standard_normal(shape)))
    for x, alpha, dout in cases:
        local = np.where(x > 0, 1.0, alpha)
        _check_backward(learner, "leaky_relu_backward", x, (x.copy(), alpha), dout, local,
                        _leaky_slips(x, alpha))


# ----------------------------------------------------------------------------- sigmoid

SIGMOID_X = np.array([-2.0, 0.0, 3.0])


def _sigmoid_slips(x: np.ndarray) -> Slips:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return [
            ("1 / (1 + exp(+x)) = σ(-x): the exponent is -x", ref_sigmoid(-x)[0]),
            ("tanh(x); the sigmoid is 1 / (1 + exp(-x))", np.tanh(x)),
            ("exp(-x); the sigmoid is 1 / (1 + exp(-x))", np.exp(-x)),
        ]


@check(ASSIGNMENT, "test_sigmoid_forward_values")
def sigmoid_forward_values(learner: Learner) -> None:
    """out = 1 / (1 + exp(-x)) for moderate x (|x| <= 30), in x's shape."""
    rng = np.random.default_rng(67)
    cases = [SIGMOID_X, 3 * rng.standard_normal((4, 5)), rng.uniform(-8, 8, size=(2, 3, 2)),
             np.array([-30.0, -12.5, 12.5, 30.0]), np.array([[-1.5]])]
    for x in cases:
        out, _ = _forward(learner, "sigmoid_forward", x, inputs_unchanged=True)
        _check_values("sigmoid_forward", out, ref_sigmoid(x)[0], x, _sigmoid_slips(x))


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
        _check_values("sigmoid_forward", out, ref_sigmoid(x)[0], x, _sigmoid_slips(x))


def _check_output_cache(learner: Learner, fn: str, x: np.ndarray, name: str) -> None:
    """The cache must be the output itself (the array fn returned as out)."""
    out, cache = _forward(learner, fn, x)
    where = f"{fn}({_case(x)})"
    if isinstance(cache, tuple | list):
        raise CheckError(
            f"{where}: the cache is a {type(cache).__name__} of {len(cache)} item(s); it should be "
            f"out itself (an array), which {fn.replace('forward', 'backward')} receives as cache"
        )
    c = _array(cache, "the cache")
    got = _array(out, "out")
    if c.shape == got.shape and np.array_equal(c, got):
        return
    if c.shape == x.shape and np.allclose(c, x):
        raise CheckError(
            f"{where}: the cache holds the input x; cache the OUTPUT out = {name}(x)\n  hint: "
            f"the derivative is written with the output, and given the input the same formula "
            "silently computes a wrong number"
        )
    raise CheckError(f"{where}: the cache should be out itself, {_fmt(got)}; got {_fmt(c)}")


@check(ASSIGNMENT, "test_sigmoid_forward_cache")
def sigmoid_forward_cache(learner: Learner) -> None:
    """The cache is out = sigmoid(x)."""
    rng = np.random.default_rng(69)
    for x in [SIGMOID_X, rng.standard_normal((3, 4)), np.array([[0.25, -0.75]])]:
        _check_output_cache(learner, "sigmoid_forward", x, "σ")


def _sigmoid_backward_slips(out: np.ndarray) -> Callable[[np.ndarray], Slips]:
    s_of_out = ref_sigmoid(out)[0]
    return lambda dout: [
        ("dout·σ(c)·(1 - σ(c)) with c the cache: the sigmoid applied again, as if the cache "
         "were the input x. The cache IS the output out = σ(x): dx = dout·out·(1 - out)",
         dout * s_of_out * (1 - s_of_out)),
        ("dout·(1 - out²), the derivative of tanh; the sigmoid's is out·(1 - out)",
         dout * (1 - out**2)),
        ("dout·out, missing the factor (1 - out)", dout * out),
    ]


@check(ASSIGNMENT, "test_sigmoid_backward")
def sigmoid_backward(learner: Learner) -> None:
    """dx = dout * out * (1 - out), with the cache out = sigmoid(x)."""
    rng = np.random.default_rng(70)
    cases = [(SIGMOID_X, np.array([0.5, -1.0, 2.0]))]
    for shape in [(3, 4), (7,), (2, 3, 2)]:
        cases.append((rng.uniform(-5, 5, size=shape), rng.standard_normal(shape)))
    cases.append((np.array([-40.0, -8.0, 8.0, 40.0]), rng.standard_normal(4)))  # saturated
    for x, dout in cases:
        out = ref_sigmoid(x)[0]
        _check_backward(learner, "sigmoid_backward", x, out.copy(), dout, out * (1 - out),
                        _sigmoid_backward_slips(out))


# ----------------------------------------------------------------------------- tanh

TANH_X = np.array([-2.0, 0.0, 0.5, 3.0])
TANH_SATURATED_X = np.array([-1000.0, -20.0, 20.0, 1000.0])


@check(ASSIGNMENT, "test_tanh_forward_values")
def tanh_forward_values(learner: Learner) -> None:
    """out = tanh(x), right and finite for |x| up to 1000 (overflow warnings aside)."""
    rng = np.random.default_rng(71)
    cases = [TANH_X, TANH_SATURATED_X, 2 * rng.standard_normal((4, 5)),
             rng.uniform(-5, 5, size=(2, 3, 2)), np.array([[-800.0, 800.0], [-355.0, 400.0]])]
    for x in cases:
        out, _ = _forward(learner, "tanh_forward", x, inputs_unchanged=True)
        with np.errstate(over="ignore"):
            slips = [
                ("2σ(x) - 1; tanh(x) is 2σ(2x) - 1", 2 * ref_sigmoid(x)[0] - 1),
                ("σ(x), the sigmoid; tanh(x) = (e^x - e^-x) / (e^x + e^-x)", ref_sigmoid(x)[0]),
                ("tanh(-x): the sign is flipped", -np.tanh(x)),
            ]
        _check_values("tanh_forward", out, ref_tanh(x)[0], x, slips)


@check(ASSIGNMENT, "test_tanh_forward_cache")
def tanh_forward_cache(learner: Learner) -> None:
    """The cache is out = tanh(x)."""
    rng = np.random.default_rng(72)
    for x in [TANH_X, rng.standard_normal((3, 4)), np.array([[0.25, -0.75]])]:
        _check_output_cache(learner, "tanh_forward", x, "tanh")


def _tanh_backward_slips(out: np.ndarray) -> Callable[[np.ndarray], Slips]:
    t_of_out = np.tanh(out)
    return lambda dout: [
        ("dout·(1 - tanh(c)²) with c the cache: tanh applied again, as if the cache were the "
         "input x. The cache IS the output out = tanh(x): dx = dout·(1 - out²)",
         dout * (1 - t_of_out**2)),
        ("dout·(1 - out), missing the square: tanh'(x) = 1 - tanh(x)²", dout * (1 - out)),
        ("dout·out·(1 - out), the sigmoid's derivative; tanh's is 1 - out²",
         dout * out * (1 - out)),
        ("dout·(1 - out)², the square in the wrong place: 1 - out², not (1 - out)²",
         dout * (1 - out) ** 2),
    ]


@check(ASSIGNMENT, "test_tanh_backward")
def tanh_backward(learner: Learner) -> None:
    """dx = dout * (1 - out**2), with the cache out = tanh(x)."""
    rng = np.random.default_rng(73)
    cases = [(TANH_X, np.array([0.5, -1.0, 2.0, 1.5]))]
    for shape in [(3, 4), (7,), (2, 3, 2)]:
        cases.append((rng.uniform(-3, 3, size=shape), rng.standard_normal(shape)))
    cases.append((np.array([-20.0, -4.0, 4.0, 20.0]), rng.standard_normal(4)))  # saturated
    for x, dout in cases:
        out = np.tanh(x)
        _check_backward(learner, "tanh_backward", x, out.copy(), dout, 1 - out**2,
                        _tanh_backward_slips(out))
