"""Graded checks of notebook 04 (single neuron): forward, binary cross-entropy, backward, update.

Dimension legend: N examples, D input features. The learner's API:

* ``neuron_forward(x (N, D), w (D,), b float) -> (a (N,), cache = (x, a))``;
* ``bce_loss(a (N,), y (N,)) -> float``, the mean over the batch;
* ``neuron_backward(y (N,), cache) -> (dw (D,), db float)``, the gradients of that mean;
* ``gd_step(w, b, dw, db, lr) -> (w - lr dw, b - lr db)``, inputs unchanged.

References are bplib's stable sigmoid and cross-entropy (from logits), and centered differences.
The backward checks build the cache from ``(x, a)`` themselves, as the docstring specifies, so a
wrong forward does not cost backward points. Every check starts with the cell's visible cases, in
the cell's order, and a known mistake is named by the catalogue
(:mod:`autograder.mistakes.scalar`), as in the notebook's visible tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, check, describe
from autograder.mistakes import hint
from autograder.mistakes.scalar import (
    BCE_LOSS,
    GD_STEP,
    NEURON_BACKWARD_DB,
    NEURON_BACKWARD_DW,
    NEURON_CACHE,
    NEURON_FORWARD,
)
from autograder.numeric import Tolerance, close, differing, fmt
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient, numerical_gradient
from bplib.layers import sigmoid_forward
from bplib.losses import bce_with_logits_loss

__all__: list[str] = []

A = "04-single-neuron"


def _quiet(where: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call learner code with warnings silenced (a warning on stderr fails an nbgrader cell)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)
    except CheckError:
        raise
    except Exception as exc:  # the learner's bug is a lost point, not a crash of the check
        raise LearnerError(where, type(exc).__name__, str(exc)) from None


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return sigmoid_forward(z)[0]


def _loss_from_logits(z: np.ndarray, y: np.ndarray) -> float:
    return bce_with_logits_loss(z, y.astype(np.float64))[0]


def _case(seed: int, n: int, d: int, scale: float = 1.0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = scale * rng.standard_normal(d)
    b = float(rng.uniform(-1.0, 1.0))
    y = rng.integers(0, 2, n)
    if n > 1:
        y[0], y[1] = 0, 1  # both classes present
    return x, w, b, y


def _forward_pair(learner: Learner, x: np.ndarray, w: np.ndarray, b: float) -> tuple:
    result = _quiet("neuron_forward", learner.neuron_forward, x.copy(), w.copy(), b)
    if result is None:
        raise CheckError("neuron_forward returned None: is a `return` missing?")
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckError("neuron_forward must return the pair (a, cache)")
    return result


# ----------------------------------------------------------------------------- neuron_forward
def _check_forward_values(learner: Learner, x: np.ndarray, w: np.ndarray, b: float,
                          rtol: float = 1e-10) -> None:
    a, _ = _forward_pair(learner, x, w, b)
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"neuron_forward: a must be an array of numbers, got "
                         f"{describe(a)}") from None
    z = x @ w + b
    want = _sigmoid(z)
    shape = f"x of shape {x.shape}"
    if a.shape != want.shape:
        raise CheckError(f"neuron_forward with {shape}: a has shape {a.shape}, expected "
                         f"{want.shape} (one activation per example: x (N, D) @ w (D,) gives (N,))")
    tol = Tolerance(rtol, 1e-300)  # an activation of 1e-18 is compared to its own digits
    if close(a, want, tol):
        return
    case = f"z = {fmt(z)}" if z.size <= 6 else shape
    raise CheckError(f"neuron_forward with {case}: a is wrong, {differing(a, want, tol)}"
                     + hint(a, NEURON_FORWARD, x, w, b, want=want))


@check(A, "test_neuron_forward_values")
def neuron_forward_values(learner: Learner) -> None:
    _check_forward_values(learner, np.array([[1.0, 2.0]]), np.array([0.5, -0.25]), 0.0)
    _check_forward_values(learner, np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]]),
                          np.array([0.5, -0.25]), 0.1)
    for seed, n, d in ((41, 5, 3), (42, 1, 4), (43, 7, 1), (44, 6, 2)):
        x, w, b, _ = _case(seed, n, d, scale=1.5)
        _check_forward_values(learner, x, w, b)
    # an integer bias and integer-valued inputs are numbers too
    _check_forward_values(learner, np.array([[2.0, -1.0], [0.0, 3.0]]), np.array([1.0, 0.5]), -1)


@check(A, "test_neuron_forward_cache")
def neuron_forward_cache(learner: Learner) -> None:
    cases = [(np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]]), np.array([0.5, -0.25]), 0.1)]
    cases += [_case(seed, n, d)[:3] for seed, n, d in ((45, 4, 3), (46, 1, 2))]
    for x, w, b in cases:
        a, cache = _forward_pair(learner, x, w, b)
        if not isinstance(cache, tuple) or len(cache) != 2:
            raise CheckError(f"neuron_forward: the cache must be the tuple (x, a), got "
                             f"{describe(cache)}")
        cx, ca = (np.asarray(c, dtype=np.float64) for c in cache)
        if cx.shape != x.shape or not np.array_equal(cx, x):
            raise CheckError(f"neuron_forward with x of shape {x.shape}: cache[0] should be the "
                             "input x")
        a = np.asarray(a, dtype=np.float64)
        if ca.shape != a.shape or not np.allclose(ca, a, rtol=1e-12, atol=0):
            why = hint(ca, NEURON_CACHE, x, w, b, want=a) or "\n  hint: cache[1] must be a itself"
            raise CheckError(f"neuron_forward with x of shape {x.shape}: cache[1] = {fmt(ca)}, "
                             f"expected a = {fmt(a)}{why}")


@check(A, "test_neuron_forward_large")
def neuron_forward_large(learner: Learner) -> None:
    _check_forward_values(learner, np.array([[1000.0], [-1000.0], [40.0], [-40.0]]),
                          np.array([1.0]), 0.5)
    _check_forward_values(learner, np.array([[300.0, 500.0], [-300.0, -500.0], [1.0, -1.0]]),
                          np.array([1.0, 0.8]), 0.5)
    _check_forward_values(learner, np.array([[-745.0], [710.0], [-710.0], [745.0]]),
                          np.array([1.0]), 0.0)


# ----------------------------------------------------------------------------- bce_loss
CLIPPED = (
    "\n  hint: a confidently wrong prediction (a = 0.0001 for y = 1) must cost -log(0.0001) = "
    "9.21: clipping a, or an epsilon added inside the log, that large changes the loss (keep any "
    "safety margin below 1e-7)"
)


def _bce_reference(a: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))


def _check_bce(learner: Learner, a: np.ndarray, y: np.ndarray, rtol: float,
               confident: bool = False) -> None:
    loss = _quiet("bce_loss", learner.bce_loss, a.copy(), y.copy())
    if loss is None:
        raise CheckError("bce_loss returned None: is a `return` missing?")
    if np.ndim(loss) != 0:
        raise CheckError(f"bce_loss must return one number (the mean over the batch), got shape "
                         f"{np.shape(loss)}")
    loss = float(loss)
    yf = y.astype(np.float64)
    want = _bce_reference(a, yf)
    if abs(loss - want) <= rtol * abs(want):
        return
    case = f"a = {fmt(a)}, y = {y}" if len(a) <= 6 else f"a batch of N = {len(a)}"
    named = hint(loss, BCE_LOSS, a, y, want=want)
    if confident:
        raise CheckError(
            f"bce_loss for confident predictions {case}: {loss:.6g}, expected {want:.6g}"
            + (named or CLIPPED)
        )
    raise CheckError(f"bce_loss({case}) = {loss:.8g}, expected {want:.8g}{named}")


@check(A, "test_bce_loss_values")
def bce_loss_values(learner: Learner) -> None:
    _check_bce(learner, np.array([0.9, 0.2, 0.6]), np.array([1, 0, 1]), 1e-5)
    _check_bce(learner, np.array([0.5]), np.array([1.0]), 1e-5)
    rng = np.random.default_rng(47)
    for n in (1, 5, 8, 20):
        a = rng.uniform(0.05, 0.95, n)
        y = rng.integers(0, 2, n)
        if n > 1:
            y[0], y[1] = 0, 1
        _check_bce(learner, a, y if n != 8 else y.astype(np.float64), 1e-5)


@check(A, "test_bce_loss_confident")
def bce_loss_confident(learner: Learner) -> None:
    _check_bce(learner, np.array([1e-4, 1 - 1e-4, 0.999999, 1e-4]), np.array([1, 0, 1, 0]),
               1e-3, confident=True)
    _check_bce(learner, np.array([2e-4, 0.9995, 5e-5]), np.array([1, 0, 0]), 1e-3,
               confident=True)
    _check_bce(learner, np.array([1e-5]), np.array([1]), 1e-3, confident=True)


# ----------------------------------------------------------------------------- neuron_backward
GRADIENT = Tolerance(1e-6, 1e-10)  # a right gradient agrees with the centered difference to this


def _backward_pair(learner: Learner, x: np.ndarray, w: np.ndarray, b: float,
                   y: np.ndarray) -> tuple:
    a = _sigmoid(x @ w + b)
    result = _quiet("neuron_backward", learner.neuron_backward, y.copy(), (x.copy(), a.copy()))
    if result is None:
        raise CheckError("neuron_backward returned None: is a `return` missing?")
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckError("neuron_backward must return the pair (dw, db)")
    return result


def _backward_cases() -> list[tuple]:
    cases = [(np.array([[1.0, 2.0]]), np.array([0.5, -0.25]), 0.0, np.array([1.0])),
             (*_case(4, 5, 3)[:3], np.array([1, 0, 0, 1, 1]))]
    cases += [_case(seed, n, d, scale=scale) for seed, n, d, scale in
              ((48, 6, 2, 1.0), (49, 1, 3, 1.0), (50, 9, 4, 2.0), (51, 4, 1, 1.0))]
    return cases


def _check_grad(learner: Learner, which: int, name: str) -> None:
    for x, w, b, y in _backward_cases():
        grad = _backward_pair(learner, x, w, b, y)[which]
        yf = y.astype(np.float64)
        n = len(y)
        if which == 0:
            numeric = numerical_gradient(
                lambda v, x=x, b=b, yf=yf: _loss_from_logits(x @ v + b, yf), w.copy())
        else:
            numeric = numerical_gradient(
                lambda v, x=x, w=w, yf=yf: _loss_from_logits(x @ w + float(v), yf),
                np.array(float(b)))
        a = _sigmoid(x @ w + b)
        where = f"neuron_backward with x of shape {x.shape}"
        named = "" if close(grad, numeric, GRADIENT) else hint(
            grad, NEURON_BACKWARD_DW if which == 0 else NEURON_BACKWARD_DB, y, x, a, want=numeric)
        if named:
            raise GradientCheckError(
                f"{where}: {name} = {fmt(grad)}, expected {fmt(numeric)}{named}"
            )
        try:
            check_gradient(grad, numeric, name=name, batch_size=n)
        except GradientCheckError as exc:
            raise GradientCheckError(f"{where}: {exc}") from None


@check(A, "test_neuron_backward_dw")
def neuron_backward_dw(learner: Learner) -> None:
    _check_grad(learner, 0, "dw")


@check(A, "test_neuron_backward_db")
def neuron_backward_db(learner: Learner) -> None:
    _check_grad(learner, 1, "db")


# ----------------------------------------------------------------------------- gd_step
def _gd_cases() -> list[tuple]:
    cases = [(np.array([0.5, -0.25]), 0.0, np.array([-0.5, -1.0]), -0.5, 1.0),
             (np.array([1.0, 2.0, 3.0]), 1.0, np.array([1.0, -2.0, 0.5]), 4.0, 0.1)]
    rng = np.random.default_rng(52)
    for d, lr in ((5, 0.03), (1, 2.5)):
        cases.append((rng.standard_normal(d), float(rng.standard_normal()),
                      rng.standard_normal(d), float(rng.standard_normal()), lr))
    return cases


@check(A, "test_gd_step_values")
def gd_step_values(learner: Learner) -> None:
    for w, b, dw, db, lr in _gd_cases():
        result = _quiet("gd_step", learner.gd_step, w.copy(), b, dw.copy(), db, lr)
        if result is None:
            raise CheckError("gd_step returned None: is a `return` missing?")
        if not isinstance(result, tuple) or len(result) != 2:
            raise CheckError("gd_step must return the pair (w, b)")
        new_w = np.asarray(result[0], dtype=np.float64)
        new_b = float(np.asarray(result[1], dtype=np.float64))
        want_w, want_b = w - lr * dw, b - lr * db
        same_shape = new_w.shape == w.shape
        w_ok = same_shape and np.allclose(new_w, want_w, rtol=1e-12, atol=1e-14)
        b_ok = abs(new_b - want_b) <= 1e-12 * (1 + abs(want_b))
        if w_ok and b_ok:
            continue
        named = hint(np.append(new_w, new_b), GD_STEP, w, b, dw, db, lr,
                     want=np.append(want_w, want_b)) if same_shape else ""
        shown = ", ".join(f"{v:.12g}" for v in new_w.ravel())  # as many digits as compared
        expected = ", ".join(f"{v:.12g}" for v in want_w)
        raise CheckError(
            f"gd_step with D = {w.shape[0]}, lr = {lr:g}: got w = [{shown}], b = {new_b:.12g}; "
            f"expected w = [{expected}], b = {want_b:.12g}{named}"
        )


@check(A, "test_gd_step_inputs_unchanged")
def gd_step_inputs_unchanged(learner: Learner) -> None:
    for w, b, dw, db, lr in _gd_cases():
        w_in, dw_in = w.copy(), dw.copy()
        result = _quiet("gd_step", learner.gd_step, w_in, b, dw_in, db, lr)
        if result is None:
            raise CheckError("gd_step returned None: is a `return` missing?")
        if not np.array_equal(w_in, w) or not np.array_equal(dw_in, dw):
            raise CheckError(
                f"gd_step changed its input: w is now {fmt(w_in)} (it was {fmt(w)})\n  hint: "
                "`w -= lr * dw` updates the caller's array in place; return a new array, "
                "w - lr * dw"
            )
