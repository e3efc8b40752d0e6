"""Numerical gradient checking whose failures teach.

A backward pass is checked against centered differences of its forward pass, in float64, under a
random upstream gradient ``dout`` (an all-ones ``dout`` would hide a backward that ignores it).
When a check fails, the message names the parameter, the worst entry, your value beside the
numerical one, the relative error against the tolerance, how many entries are wrong, and a hint
when the pattern is a known mistake (transposed, sign flipped, off by the batch size, a constant
factor, all zeros, ignores the upstream gradient, wrong shape, ``None`` from an unfilled stub).

The derivations behind these checks are in notebook 01 (derivatives); the relative error is
``|a - n| / max(1e-8, |a| + |n|)`` per element, and a check reports its largest value.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CheckError",
    "GradientCheckError",
    "PrecisionWarning",
    "assert_close",
    "centered_difference",
    "check_gradient",
    "check_layer",
    "distinct",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "forward_difference",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
]

# Two arrays this close (in relative error) count as "the same" when we look for a known pattern.
_PATTERN_TOL = 1e-5
_TRANSPOSED = (
    "your {name} is the transpose of the right answer: check the order of the matrix product"
)


class CheckError(AssertionError):
    """A learner-facing check failed; the message says what was expected and what came."""


class GradientCheckError(CheckError):
    """An analytic gradient disagrees with the numerical one."""


class PrecisionWarning(UserWarning):
    """Numerical gradients were asked for on an array that is not float64."""


def rel_error(a: Any, b: Any) -> float:
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)``.

    ``a`` and ``b`` are arrays of the same shape (or scalars). About 1e-7 or less means the two
    agree to the precision of a centered difference; 1e-2 or more means a real mistake.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(_elementwise_rel_error(a, b)))


def _elementwise_rel_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def forward_difference(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    """``(f(x + h) - f(x)) / h``: the one-sided estimate of ``f'(x)``, truncation error O(h)."""
    return (float(f(x + h)) - float(f(x))) / h


def centered_difference(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    """``(f(x + h) - f(x - h)) / (2h)``: the centered estimate of ``f'(x)``, truncation error O(h²)."""
    return (float(f(x + h)) - float(f(x - h))) / (2 * h)


def _warn_if_not_float64(x: np.ndarray, name: str = "x") -> None:
    if x.dtype != np.float64:
        warnings.warn(
            f"{name} has dtype {x.dtype}; numerical gradients need float64 (in float32 the "
            f"round-off error of a centered difference with h=1e-5 is about 1e-2)",
            PrecisionWarning,
            stacklevel=3,
        )


def _require_array(x: Any, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        got = type(x).__name__ if not isinstance(x, np.ndarray) else f"array of dtype {x.dtype}"
        raise ValueError(
            f"{name} must be a floating-point numpy array (perturbed in place), got {got}"
        )
    return x


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centered-difference gradient of a scalar function of an array.

    Args:
        f: maps an array of ``x``'s shape to a number.
        x: the point, any shape, float64. Each entry is nudged by ``±h`` in place and restored.
        h: the step.

    Returns:
        An array of ``x``'s shape: entry ``i`` is ``(f(x + h e_i) - f(x - h e_i)) / (2h)``.
    """
    _require_array(x, "x")
    _warn_if_not_float64(x)
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = float(f(x))
        x[ix] = old - h
        f_minus = float(f(x))
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centered-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is what a backward pass must return for ``x`` when the upstream gradient is ``dout``.

    Args:
        f: maps an array of ``x``'s shape to an array of ``dout``'s shape.
        x: the point, any shape, float64; nudged in place entry by entry and restored.
        dout: the upstream gradient, the shape of ``f(x)``.
        h: the step.

    Returns:
        An array of ``x``'s shape.
    """
    _require_array(x, "x")
    _warn_if_not_float64(x)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = np.array(f(x), dtype=np.float64)  # copy: f may return a view of x
        x[ix] = old - h
        f_minus = np.array(f(x), dtype=np.float64)
        x[ix] = old
        if f_plus.shape != dout.shape:
            raise ValueError(f"f(x) has shape {f_plus.shape} but dout has shape {dout.shape}")
        grad[ix] = np.sum((f_plus - f_minus) * dout) / (2 * h)
    return grad


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = False, h: float = 1e-5
) -> np.ndarray:
    """CS231n-compatible name for :func:`numerical_gradient` (``verbose`` prints each entry)."""
    if not verbose:
        return numerical_gradient(f, x, h)

    def loud(v: np.ndarray) -> float:
        return float(f(v))

    grad = numerical_gradient(loud, x, h)
    for ix in np.ndindex(x.shape):
        print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """CS231n-compatible name for :func:`numerical_gradient_array`."""
    return numerical_gradient_array(f, x, df, h)


def _fmt_index(name: str, ix: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(str(int(i)) for i in ix)}]" if ix else name


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and float(np.max(_elementwise_rel_error(a, b), initial=0.0)) < _PATTERN_TOL
    )


def _shape_hint(name: str, analytic: np.ndarray, numeric: np.ndarray) -> str:
    if analytic.ndim == 2 and analytic.T.shape == numeric.shape and _close(analytic.T, numeric):
        return _TRANSPOSED.format(name=name)
    if analytic.ndim == numeric.ndim + 1 and analytic.shape[1:] == numeric.shape:
        if _close(analytic.sum(axis=0), numeric):
            return f"{name} still has the batch axis: sum it over the N examples"
        return f"{name} has an extra leading axis: a parameter's gradient must be summed over the batch"
    if analytic.size == numeric.size:
        return f"the entries are there but arranged wrongly: reshape {name} to {numeric.shape}"
    return f"{name} must have the shape of the input it is the gradient of"


def _pattern_hint(
    name: str,
    analytic: np.ndarray,
    numeric: np.ndarray,
    batch_size: int | None,
    numeric_ones: np.ndarray | None,
) -> str:
    if not np.any(analytic) and np.any(numeric):
        return f"your {name} is all zeros: is the gradient computed and returned (not a fresh zeros array)?"
    if (
        analytic.ndim == 2
        and analytic.shape[0] == analytic.shape[1]
        and _close(analytic.T, numeric)
    ):
        return _TRANSPOSED.format(name=name)
    if _close(-analytic, numeric):
        return f"your {name} has the wrong sign: a minus sign is missing or extra"
    if numeric_ones is not None and _close(analytic, numeric_ones):
        return (
            f"your {name} ignores the upstream gradient dout: it equals the gradient for dout = all"
            " ones; multiply the local derivative by dout"
        )
    nn = float(np.vdot(numeric, numeric))
    if nn > 0:
        c = float(np.vdot(analytic, numeric)) / nn
        if c != 0 and abs(c - 1) > 1e-3 and _close(analytic, c * numeric):
            if batch_size and batch_size > 1:
                if abs(c - batch_size) < 1e-3 * batch_size:
                    return (
                        f"your {name} is {batch_size} times too large, the batch size N: divide by N"
                        " (a mean over the N examples, in the loss or in a layer's batch"
                        " statistics, puts a 1/N into the gradient)"
                    )
                if abs(c * batch_size - 1) < 1e-3:
                    return (
                        f"your {name} is {batch_size} times too small, the batch size N: "
                        "it is divided by N once too often"
                    )
            return (
                f"your {name} is off by a constant factor: yours ≈ {c:.4g} × numerical "
                "(a missing factor such as 2 in d(x²)/dx, or a scale applied twice)"
            )
    return ""


def _mask_hint(name: str, analytic: np.ndarray, numeric: np.ndarray) -> str:
    # Entries whose true gradient is exactly zero are those cut off by a mask (dropped units,
    # inactive ReLU inputs, non-maximal pooling inputs); a centered difference reproduces that 0.
    cut = numeric == 0
    if np.any(cut) and not np.all(cut) and np.any(analytic[cut] != 0):
        return (
            f"your {name} is non-zero at {int(np.sum(cut & (analytic != 0)))} entries whose true "
            "gradient is exactly zero (dropped units, inactive ReLU inputs, non-maximal pooling "
            "inputs): a mask is missing or applied to the wrong array"
        )
    return ""


def _numeric_array(value: Any, name: str) -> np.ndarray:
    if value is None:
        raise GradientCheckError(
            f"{name} is None: the backward pass returned nothing for {name}. "
            "Is the answer cell still a stub, or is a `return` missing?"
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GradientCheckError(
            f"{name} must be a numeric array, got {type(value).__name__}: {exc}"
        ) from None
    return arr


def check_gradient(
    analytic: Any,
    numeric: Any,
    name: str = "dx",
    tol: float = 1e-7,
    *,
    batch_size: int | None = None,
    numeric_ones: np.ndarray | Callable[[], np.ndarray] | None = None,
    atol: float = 1e-9,
) -> float:
    """Compare an analytic gradient with a numerical one; raise a teaching error on mismatch.

    Args:
        analytic: your gradient (any shape), or ``None`` when a stub returned nothing.
        numeric: the numerical gradient, the shape the analytic one must have.
        name: how the message calls the gradient, e.g. ``"dw"``.
        tol: the largest acceptable relative error.
        batch_size: N, so that a gradient off by a factor N (or 1/N) is recognised.
        numeric_ones: the numerical gradient under an all-ones upstream gradient (or a function
            computing it on demand), so that a backward that ignores ``dout`` is recognised.
        atol: entries closer than this in absolute terms pass whatever their relative error
            (the numerical gradient's own round-off is about 1e-10).

    Returns:
        The largest relative error of an entry, leaving out only the entries forgiven as
        round-off (closer than ``atol`` yet above ``tol``): for a right gradient of O(1) values,
        about 1e-10, the figure notebook 01 teaches; print it with ``:.1e``.

    Raises:
        GradientCheckError: naming the worst entry, both values, the error, the count of wrong
            entries and, when recognised, the mistake.
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    analytic = _numeric_array(analytic, name)
    if analytic.shape != numeric.shape:
        raise GradientCheckError(
            f"Gradient check failed for {name}: wrong shape, expected {numeric.shape}, got "
            f"{analytic.shape}.\n  hint: {_shape_hint(name, analytic, numeric)}"
        )
    if not np.all(np.isfinite(analytic)):
        ix = tuple(np.argwhere(~np.isfinite(analytic))[0])
        raise GradientCheckError(
            f"Gradient check failed for {name}: {_fmt_index(name, ix)} is {analytic[ix]}."
            "\n  hint: an overflow or a division by zero; use a numerically stable formula"
        )
    err = _elementwise_rel_error(analytic, numeric)
    # Entries that differ by less than the centered difference's own round-off (about 1e-10 for
    # O(1) functions) cannot be judged by their relative error: a 1e-6 gradient would fail on noise.
    # Only those are forgiven; every other entry keeps its real error, so that a right gradient
    # reports its ~1e-10 rather than a flat 0.
    forgiven = (np.abs(analytic - numeric) <= atol) & (err > tol)
    err = np.where(forgiven, 0.0, err)
    worst = float(np.max(err, initial=0.0))
    if worst <= tol:
        return worst
    ix = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape)) if err.ndim else ()
    n_wrong = int(np.sum(err > tol))
    ones = numeric_ones() if callable(numeric_ones) else numeric_ones
    ones = None if ones is None else np.asarray(ones, dtype=np.float64)
    hint = _pattern_hint(name, analytic, numeric, batch_size, ones)
    if not hint:
        hint = _mask_hint(name, analytic, numeric)
    if not hint and n_wrong < err.size:
        hint = (
            f"only {n_wrong} of {err.size} entries are wrong: look at what is special about them "
            "(a border, a mask, a repeated index, one time step)"
        )
    message = (
        f"Gradient check failed for {name}: {n_wrong} of {err.size} entries are wrong.\n"
        f"  worst entry {_fmt_index(name, ix)}: yours = {analytic[ix]:.6g}, numerical = {numeric[ix]:.6g}\n"
        f"  relative error {worst:.2e} (tolerance {tol:.0e})"
    )
    if hint:
        message += f"\n  hint: {hint}"
    raise GradientCheckError(message)


def distinct(a: float, b: float, digits: int = 6) -> tuple[str, str]:
    """``a`` and ``b`` with ``digits`` significant digits, or as many more as it takes for two
    different numbers to read differently (``0.926226`` against ``0.9262262``)."""
    for n in range(digits, 18):
        x, y = f"{a:.{n}g}", f"{b:.{n}g}"
        if x != y or a == b:
            return x, y
    return repr(a), repr(b)


def assert_close(
    actual: Any, expected: Any, name: str = "out", *, rtol: float = 1e-7, atol: float = 1e-12
) -> None:
    """Raise :class:`CheckError` unless ``actual`` matches ``expected`` entry by entry.

    An entry passes when ``|actual - expected| <= atol + rtol * |expected|``. The message names
    ``None`` results, shape mismatches, NaNs, and the worst entry with both values.
    """
    if actual is None:
        raise CheckError(
            f"{name} is None: did the function return its result? (a `return` may be missing)"
        )
    expected = np.asarray(expected, dtype=np.float64)
    try:
        actual = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CheckError(f"{name} must be numeric, got {type(actual).__name__}: {exc}") from None
    if actual.shape != expected.shape:
        raise CheckError(f"{name} has shape {actual.shape}, expected {expected.shape}")
    if np.any(np.isnan(actual)) and not np.any(np.isnan(expected)):
        ix = tuple(int(i) for i in np.argwhere(np.isnan(actual))[0])
        raise CheckError(
            f"{_fmt_index(name, ix)} is nan: an overflow or 0/0 happened; use a stable formula"
        )
    gap = np.abs(actual - expected)
    bad = ~(gap <= atol + rtol * np.abs(expected))
    if not np.any(bad):
        return
    ix = (
        tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, gap, -1))), gap.shape))
        if gap.ndim
        else ()
    )
    yours, wanted = distinct(float(actual[ix]), float(expected[ix]))
    raise CheckError(
        f"{name} is wrong in {int(bad.sum())} of {bad.size} entries; worst {_fmt_index(name, ix)}: "
        f"yours = {yours}, expected = {wanted}"
    )


def _argument_names(forward: Callable[..., Any], count: int) -> list[str]:
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (names + [f"arg{i}" for i in range(len(names), count)])[:count]


def check_layer(
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[np.ndarray, Any], Any],
    inputs: Sequence[Any] | Mapping[str, Any],
    *,
    names: Sequence[str] | None = None,
    wrt: Sequence[str] | None = None,
    tol: float = 1e-7,
    seed: int = 0,
    h: float = 1e-5,
    batch_size: int | None = None,
) -> dict[str, float]:
    """Check a ``forward``/``backward`` pair numerically under a random upstream gradient.

    Args:
        forward: ``forward(*inputs) -> (out, cache)``.
        backward: ``backward(dout, cache)`` returning one gradient, or a tuple with one gradient
            per name in ``wrt`` (in that order).
        inputs: the positional arguments of ``forward``, or a mapping ``name -> value`` in order.
            Non-array arguments (e.g. a ``conv_param`` dict) are passed through, deep-copied per
            call so that a forward that updates them (running means) does not skew the check.
        names: names of the arguments (default: ``forward``'s parameter names).
        wrt: the arguments ``backward`` returns gradients for (default: every floating-point
            array argument, in order).
        tol: the largest acceptable relative error.
        seed: seeds the random upstream gradient.
        h: the finite-difference step.
        batch_size: N for the "off by the batch size" hint (default: the first array's length).

    Returns:
        ``{"d<name>": relative error}`` for each checked gradient.

    Raises:
        GradientCheckError: a gradient is wrong, has the wrong shape, is ``None``, or does not
            vanish when ``dout`` is zero.
        CheckError: ``forward`` or ``backward`` do not return what the convention requires.
    """
    if isinstance(inputs, Mapping):
        names = list(inputs.keys())
        args = list(inputs.values())
    else:
        args = list(inputs)
        names = list(names) if names is not None else _argument_names(forward, len(args))
    for n, a in zip(names, args, strict=True):
        if _is_float_array(a):
            _warn_if_not_float64(a, n)
    args = [np.array(a, dtype=np.float64) if _is_float_array(a) else a for a in args]
    if wrt is None:
        wrt = [n for n, a in zip(names, args, strict=True) if _is_float_array(a)]
    positions = [names.index(w) for w in wrt]
    if batch_size is None:
        first = next((a for a in args if _is_float_array(a) and a.ndim), None)
        batch_size = first.shape[0] if first is not None else None

    def run_forward(call_args: list[Any]) -> tuple[np.ndarray, Any]:
        result = forward(
            *[copy.deepcopy(a) if not isinstance(a, np.ndarray) else a for a in call_args]
        )
        if not isinstance(result, tuple) or len(result) != 2:
            raise CheckError(
                f"{_name(forward)} must return (out, cache), got {type(result).__name__}"
            )
        return result

    def run_backward(dout: np.ndarray) -> list[Any]:
        _, cache = run_forward(args)
        grads = backward(dout, cache)
        if len(wrt) == 1 and not isinstance(grads, tuple):
            grads = (grads,)
        if not isinstance(grads, tuple) or len(grads) != len(wrt):
            got = len(grads) if isinstance(grads, tuple) else type(grads).__name__
            want = ", ".join(f"d{w}" for w in wrt)
            raise CheckError(f"{_name(backward)} must return ({want}), got {got} value(s)")
        return list(grads)

    out, _ = run_forward(args)
    out = np.asarray(out, dtype=np.float64)
    # A stream of its own, so that inputs drawn with the same seed are not correlated with dout.
    rng = np.random.default_rng([seed, 0x6AD])
    dout = rng.standard_normal(out.shape)
    grads = run_backward(dout)

    errors: dict[str, float] = {}
    for position, grad in zip(positions, grads, strict=True):
        gname = f"d{names[position]}"

        def f(v: np.ndarray, position: int = position) -> np.ndarray:
            call_args = list(args)
            call_args[position] = v
            return run_forward(call_args)[0]

        point = args[position].copy()
        numeric = numerical_gradient_array(f, point, dout, h)
        errors[gname] = check_gradient(
            grad,
            numeric,
            gname,
            tol,
            batch_size=batch_size,
            numeric_ones=lambda f=f, point=point: numerical_gradient_array(
                f, point, np.ones_like(dout), h
            ),
        )

    # Backward must be linear in dout: scaling the upstream gradient scales every gradient.
    for position, grad, scaled in zip(positions, grads, run_backward(-3.0 * dout), strict=True):
        gname = f"d{names[position]}"
        check_gradient(
            scaled, -3.0 * np.asarray(grad, dtype=np.float64), f"{gname} (dout × -3)", tol
        )

    for position, grad in zip(positions, run_backward(np.zeros_like(dout)), strict=True):
        gname = f"d{names[position]}"
        grad = np.asarray(grad, dtype=np.float64)
        if np.any(grad):
            ix = tuple(int(i) for i in np.argwhere(grad)[0])
            raise GradientCheckError(
                f"Gradient check failed for {gname}: with dout = 0 every gradient must be zero, but "
                f"{_fmt_index(gname, ix)} = {grad[ix]:.6g}.\n  hint: part of {gname} does not come "
                "from the upstream gradient; every term must be multiplied by dout"
            )
    return errors


def _is_float_array(a: Any) -> bool:
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", "the function")
