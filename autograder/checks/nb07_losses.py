"""Graded checks of notebook 07 (losses): MSE, binary cross-entropy from logits, softmax
cross-entropy and a weighted MSE, each returning ``(loss, dpred)`` with a mean reduction.

Dimension legend: N batch, D outputs per example, C classes, S = the number of elements a loss
averages over (N·D for the element-wise losses, N for softmax cross-entropy).

Every check compares with :mod:`bplib.losses` computed here, and with the numerical gradient of
that reference. A wrong answer that is a known mistake of :mod:`autograder.mistakes.losses` (a
missing 2, a missing 1/N, a flipped sign, the gradient with respect to probabilities, clipped
probabilities, ...) is named by the catalogue's line, as the notebook's visible tests name it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, as_array, as_tuple, check, describe
from autograder.mistakes import HINT, Mistake, hint
from autograder.mistakes.losses import (
    BCE_GRAD,
    BCE_LARGE_LOGITS,
    BCE_VALUE,
    MSE_GRAD,
    MSE_VALUE,
    SOFTMAX_CE_GRAD,
    SOFTMAX_CE_LARGE_LOGITS,
    SOFTMAX_CE_VALUE,
    WEIGHTED_MSE_GRAD,
    WEIGHTED_MSE_VALUE,
)
from autograder.numeric import EXACT, Tolerance, close, quiet, worst_entry
from bplib import losses as ref
from bplib.gradcheck import CheckError, check_gradient, numerical_gradient

__all__: list[str] = []  # checks register themselves; nothing here is for import

A = "07-losses"

# a gradient is compared with a numerical one: right to 1e-6 relative
NUMERIC = Tolerance(1e-6, 1e-9)


# ----------------------------------------------------------------------------- helpers
def _call(learner: Learner, name: str, *args: Any) -> tuple[float, np.ndarray]:
    """Call the learner's loss on copies of ``args``; return ``(loss, grad)`` as numbers.

    Overflow warnings are silenced here: a warning alone is not a mistake, a nan or inf is.
    """
    gname = _grad_name(name)
    with quiet():
        result = getattr(learner, name)(
            *[np.array(a) if isinstance(a, np.ndarray) else a for a in args])
    loss, grad = as_tuple(result, name, ["loss", gname])
    try:
        loss_arr = np.asarray(loss, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"{name}: the loss must be a number, got {describe(loss)}") from None
    if loss_arr.size != 1:
        raise CheckError(
            f"{name}: the loss must be ONE number, got an array of shape {loss_arr.shape}"
            f"{HINT}reduce the per-element losses with their mean"
        )
    grad = as_array(grad, f"{name}: the gradient {gname}")
    return float(loss_arr.reshape(())), grad


def _grad_name(name: str) -> str:
    return "dpred" if "mse" in name else "dlogits"


def _check_value(name: str, got: float, want: float, case: str, mistakes: Sequence[Mistake],
                 inputs: tuple[Any, ...]) -> None:
    """The loss must equal the reference; a known mistake is named by the catalogue."""
    if close(got, want, EXACT):
        return
    named = hint(got, mistakes, *inputs, want=want)
    if not named and not np.isfinite(got):
        named = (f"{HINT}the loss is {got}: some exp() or log() received a huge or zero "
                 "argument; use the stable formula derived in the notebook")
    raise CheckError(f"{name} for {case}: the loss should be {want:.10g}, got {got:.10g}{named}")


def _check_grad(
    name: str,
    got: np.ndarray,
    f_ref: Callable[[np.ndarray], float],
    x: np.ndarray,
    case: str,
    mistakes: Sequence[Mistake],
    inputs: tuple[Any, ...],
    exact: np.ndarray,
    batch_size: int | None = None,
) -> None:
    """The gradient must match the numerical gradient of the reference loss at ``x``;
    ``mistakes`` of ``inputs`` (``exact``: the reference's gradient) are known slips."""
    gname = _grad_name(name)
    want = numerical_gradient(f_ref, np.array(x, dtype=np.float64))
    if close(got, want, NUMERIC):
        return
    named = hint(got, mistakes, *inputs, want=exact) if got.shape == want.shape else ""
    if named:
        ix, yours, expected = worst_entry(got, want)
        raise CheckError(
            f"{name} for {case}: {gname} is wrong; at index {list(ix)} yours = {yours:.6g}, "
            f"expected {expected:.6g}{named}"
        )
    try:
        check_gradient(got, want, gname, 1e-6, batch_size=batch_size)
    except AssertionError as exc:
        raise type(exc)(f"{name} for {case}: {exc}") from None


def _check_consistent(learner: Learner, name: str, x: np.ndarray, rest: tuple, case: str,
                      batch_size: int) -> None:
    """The gradient must also be the gradient of the loss the learner's own function returns
    (the gradient check of the notebook's visible tests)."""
    gname = _grad_name(name)

    def own(v: np.ndarray) -> float:
        return _call(learner, name, v, *rest)[0]

    numeric = numerical_gradient(own, np.array(x, dtype=np.float64))
    _, grad = _call(learner, name, x, *rest)
    try:
        check_gradient(grad, numeric, gname, 1e-6, batch_size=batch_size)
    except AssertionError as exc:
        raise type(exc)(
            f"{name} for {case}: {gname} is not the gradient of the loss your function returns "
            f"(compared with centered differences of your own loss): {exc}"
        ) from None


# ----------------------------------------------------------------------------- mse_loss
def _mse_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(701)
    return [
        ("the worked example", np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 5.0]])),
        ("pred of shape (5, 3)", rng.standard_normal((5, 3)), rng.standard_normal((5, 3))),
        ("pred of shape (6,)", rng.standard_normal(6), rng.standard_normal(6)),
        ("one example, shape (1, 4)", rng.standard_normal((1, 4)), rng.standard_normal((1, 4))),
        ("pred of shape (3, 2, 2)", rng.standard_normal((3, 2, 2)), rng.standard_normal((3, 2, 2))),
    ]


@check(A, "test_mse_loss_value")
def mse_loss_value(learner: Learner) -> None:
    for case, p, t in _mse_cases():
        loss, _ = _call(learner, "mse_loss", p, t)
        want, _ = ref.mse_loss(p, t)
        _check_value("mse_loss", loss, want, case, MSE_VALUE, (p, t))


@check(A, "test_mse_loss_grad")
def mse_loss_grad(learner: Learner) -> None:
    for case, p, t in _mse_cases():
        _, grad = _call(learner, "mse_loss", p, t)
        _check_grad("mse_loss", grad, lambda v, t=t: ref.mse_loss(v, t)[0], p, case,
                    MSE_GRAD, (p, t), ref.mse_loss(p, t)[1], batch_size=p.shape[0])
    rng = np.random.default_rng(711)
    p, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _check_consistent(learner, "mse_loss", p, (t,), "pred of shape (3, 4)", 3)


# ----------------------------------------------------------------------------- bce_with_logits_loss
def _bce_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(702)
    return [
        ("the worked example", np.array([2.0, -1.0]), np.array([1.0, 0.0])),
        ("logits of shape (6,)", 2 * rng.standard_normal(6), rng.integers(0, 2, 6).astype(float)),
        ("logits of shape (4, 1)", rng.standard_normal((4, 1)), rng.integers(0, 2, (4, 1)).astype(float)),
        ("logits of shape (3, 5), several outputs each", 3 * rng.standard_normal((3, 5)),
         rng.integers(0, 2, (3, 5)).astype(float)),
        ("soft targets in [0, 1]", rng.uniform(-4, 4, 5), rng.uniform(0, 1, 5)),
        ("one example, shape (1,)", np.array([0.7]), np.array([0.0])),
        ("logits exactly 0 (σ(z) = 1/2)", np.array([0.0, 0.0, 2.5, -0.5]),
         np.array([1.0, 0.0, 0.0, 1.0])),
    ]


@check(A, "test_bce_with_logits_loss_value")
def bce_value(learner: Learner) -> None:
    for case, z, y in _bce_cases():
        loss, _ = _call(learner, "bce_with_logits_loss", z, y)
        want, _ = ref.bce_with_logits_loss(z, y)
        _check_value("bce_with_logits_loss", loss, want, case, BCE_VALUE, (z, y))


@check(A, "test_bce_with_logits_loss_grad")
def bce_grad(learner: Learner) -> None:
    for case, z, y in _bce_cases():
        _, grad = _call(learner, "bce_with_logits_loss", z, y)
        _check_grad("bce_with_logits_loss", grad, lambda v, y=y: ref.bce_with_logits_loss(v, y)[0],
                    z, case, BCE_GRAD, (z, y), ref.bce_with_logits_loss(z, y)[1],
                    batch_size=z.shape[0])
    rng = np.random.default_rng(712)
    z, y = rng.standard_normal((4, 3)), rng.integers(0, 2, (4, 3)).astype(float)
    _check_consistent(learner, "bce_with_logits_loss", z, (y,), "logits of shape (4, 3)", 4)


def _check_large(learner: Learner, name: str, args: tuple, case: str,
                 mistakes: Sequence[Mistake], stable_hint: str) -> None:
    """Huge logits: the loss and gradient must be finite and equal the reference."""
    reference = getattr(ref, name)
    loss, grad = _call(learner, name, *args)
    want_loss, want_grad = reference(*args)
    gname = _grad_name(name)
    if not np.isfinite(loss):
        raise CheckError(f"{name} for {case}: the loss is {loss}, expected {want_loss:.10g}"
                         f"{HINT}{stable_hint}")
    if not close(loss, want_loss, Tolerance(1e-9, 1e-9)):
        named = hint(loss, mistakes, *args, want=want_loss)
        if not named:  # no instability: is the loss wrong for moderate logits as well?
            moderate = tuple(np.clip(a, -2.0, 2.0) if i == 0 else a for i, a in enumerate(args))
            right = close(_call(learner, name, *moderate)[0], reference(*moderate)[0], EXACT)
            named = HINT + (stable_hint if right else (
                f"the loss is wrong for moderate logits too (the same inputs clipped to [-2, 2]):"
                f" make test_{name}_value pass first"))
        raise CheckError(f"{name} for {case}: the loss should be {want_loss:.10g}, got "
                         f"{loss:.10g}{named}")
    grad = as_array(grad, f"{name} for {case}: {gname}", shape=want_grad.shape)
    if not np.all(np.isfinite(grad)):
        raise CheckError(
            f"{name} for {case}: {gname} contains {grad[~np.isfinite(grad)][0]}{HINT}for huge "
            "logits the probabilities round to exactly 0 or 1: compute them without overflow "
            "(exponentiate only numbers <= 0), and never divide by a probability"
        )
    if not close(grad, want_grad, Tolerance(1e-7, 1e-12)):
        ix, yours, expected = worst_entry(grad, want_grad)
        raise CheckError(f"{name} for {case}: {gname} is wrong for huge logits; at index "
                         f"{list(ix)} yours = {yours:.6g}, expected {expected:.6g}")


_BCE_STABLE = ("log(σ(z)) and log(1 - σ(z)) reach log(0) once σ(z) rounds to 0 or 1; compute each "
               "element as max(z, 0) - z·y + log(1 + exp(-|z|)), where exp never sees a positive "
               "argument")


@check(A, "test_bce_with_logits_loss_large_logits")
def bce_large(learner: Learner) -> None:
    cases = [
        ("logits [1000, -1000] with targets [0, 1]", np.array([1000.0, -1000.0]), np.array([0.0, 1.0])),
        ("logits ±1e4 and ±800", np.array([1e4, -1e4, 800.0, -800.0, 0.5]),
         np.array([0.0, 1.0, 1.0, 0.0, 1.0])),
        ("logits of shape (2, 2) with entries ±1e4", np.array([[1e4, -1e4], [-1e4, 1e4]]),
         np.array([[1.0, 0.0], [1.0, 0.0]])),
        ("one example, logit 750 with target 0", np.array([750.0]), np.array([0.0])),
    ]
    for case, z, y in cases:
        _check_large(learner, "bce_with_logits_loss", (z, y), case, BCE_LARGE_LOGITS,
                     _BCE_STABLE)


# ----------------------------------------------------------------------------- softmax CE
def _ce_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(703)
    return [
        ("the worked example", np.array([[2.0, 1.0, 0.0]]), np.array([0])),
        ("logits of shape (4, 3)", rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])),
        ("logits of shape (6, 5)", 3 * rng.standard_normal((6, 5)), rng.integers(0, 5, 6)),
        ("C = 2 classes, shape (5, 2)", rng.standard_normal((5, 2)), np.array([1, 0, 0, 1, 1])),
        ("one example, shape (1, 4)", rng.standard_normal((1, 4)), np.array([3])),
        ("all logits equal (loss log C)", np.full((3, 4), 0.25), np.array([0, 3, 1])),
        ("logits of shape (2, 3) around 50", 50 + rng.standard_normal((2, 3)), np.array([1, 0])),
    ]


@check(A, "test_softmax_cross_entropy_loss_value")
def ce_value(learner: Learner) -> None:
    for case, z, y in _ce_cases():
        loss, _ = _call(learner, "softmax_cross_entropy_loss", z, y)
        want, _ = ref.softmax_cross_entropy_loss(z, y)
        _check_value("softmax_cross_entropy_loss", loss, want, case, SOFTMAX_CE_VALUE, (z, y))


@check(A, "test_softmax_cross_entropy_loss_grad")
def ce_grad(learner: Learner) -> None:
    for case, z, y in _ce_cases():
        _, grad = _call(learner, "softmax_cross_entropy_loss", z, y)
        _check_grad("softmax_cross_entropy_loss", grad,
                    lambda v, y=y: ref.softmax_cross_entropy_loss(v, y)[0], z, case,
                    SOFTMAX_CE_GRAD, (z, y), ref.softmax_cross_entropy_loss(z, y)[1],
                    batch_size=z.shape[0])
    rng = np.random.default_rng(713)
    z, y = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    _check_consistent(learner, "softmax_cross_entropy_loss", z, (y,), "logits of shape (4, 3)", 4)


_CE_STABLE = ("subtract each row's max before exp (exp(1e4) is inf, and inf / inf is nan), and take "
              "log p[y] as (z[y] - max) - log(sum(exp(z - max))), the log-sum-exp: the log of a "
              "probability that rounded to 0 is -inf")


@check(A, "test_softmax_cross_entropy_loss_large_logits")
def ce_large(learner: Learner) -> None:
    cases = [
        ("logits [[1e4, 0, -1e4]] with label 2", np.array([[1e4, 0.0, -1e4]]), np.array([2])),
        ("three rows with logits ±1e4 and 500", np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0],
                                                          [500.0, 500.0, -500.0]]),
         np.array([2, 1, 0])),
        ("C = 2, one example, logits [-1e4, 1e4]", np.array([[-1e4, 1e4]]), np.array([0])),
        ("logits near 800 in every entry", np.array([[800.0, 801.0, 799.0], [805.0, 800.0, 790.0]]),
         np.array([0, 2])),
    ]
    for case, z, y in cases:
        _check_large(learner, "softmax_cross_entropy_loss", (z, y), case,
                     SOFTMAX_CE_LARGE_LOGITS, _CE_STABLE)


# ----------------------------------------------------------------------------- weighted MSE
def _wmse_cases() -> list[tuple[str, np.ndarray, np.ndarray, Any]]:
    rng = np.random.default_rng(704)
    return [
        ("the worked example", np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 5.0]]),
         np.array([[1.0, 0.25], [2.0, 2.0]])),
        ("per-element weights, shape (4, 3)", rng.standard_normal((4, 3)),
         rng.standard_normal((4, 3)), rng.uniform(0, 3, (4, 3))),
        ("per-example weights of shape (5, 1) on pred (5, 2)", rng.standard_normal((5, 2)),
         rng.standard_normal((5, 2)), rng.uniform(0.5, 2, (5, 1))),
        ("per-output weights of shape (3,) on pred (4, 3)", rng.standard_normal((4, 3)),
         rng.standard_normal((4, 3)), np.array([1.0, 0.0, 4.0])),
        ("one example, shape (1, 3)", rng.standard_normal((1, 3)), rng.standard_normal((1, 3)),
         np.array([[0.5, 1.5, 3.0]])),
        ("all-ones weights (plain MSE)", rng.standard_normal((3, 2)), rng.standard_normal((3, 2)),
         np.ones((3, 2))),
    ]


@check(A, "test_weighted_mse_loss_value")
def wmse_value(learner: Learner) -> None:
    for case, p, t, w in _wmse_cases():
        loss, _ = _call(learner, "weighted_mse_loss", p, t, w)
        want, _ = ref.weighted_mse_loss(p, t, w)
        _check_value("weighted_mse_loss", loss, want, case, WEIGHTED_MSE_VALUE, (p, t, w))


@check(A, "test_weighted_mse_loss_grad")
def wmse_grad(learner: Learner) -> None:
    for case, p, t, w in _wmse_cases():
        _, grad = _call(learner, "weighted_mse_loss", p, t, w)
        _check_grad("weighted_mse_loss", grad,
                    lambda v, t=t, w=w: ref.weighted_mse_loss(v, t, w)[0], p, case,
                    WEIGHTED_MSE_GRAD, (p, t, w),
                    ref.weighted_mse_loss(p, t, w)[1], batch_size=p.shape[0])
    rng = np.random.default_rng(714)
    p, t, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0, 2, (3, 4))
    _check_consistent(learner, "weighted_mse_loss", p, (t, w), "pred of shape (3, 4)", 3)
