"""Graded checks of notebook 11 (regularization): ``l2_penalty``, ``dropout_forward`` and
``dropout_backward``.

One check per graded test cell; each repeats the cell's visible cases and adds hidden ones (other
shapes, strengths, probabilities and seeds; a tuple of weight arrays; inputs with four axes).

``l2_penalty`` is compared with :func:`bplib.regularization.l2_penalty`. Dropout is random, and a
correct implementation may draw its mask with any recipe, so dropout is checked by its
properties rather than against bplib's random stream: in train mode ``out / x`` takes the values
0 and ``1 / (1 - p)`` only, the dropped fraction is within six standard deviations of ``p`` on
large inputs, the same seed gives the same output and another seed another one, and test mode is
the identity. ``dropout_backward`` is always fed the cache of the learner's own
``dropout_forward`` (the learner chooses what it holds) and must route ``dout`` through that
forward call's mask, ``out / x``, seeded or not. A known mistake is named by the catalogue
(:mod:`autograder.mistakes.regularization`), as in the notebook's visible tests.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, as_array, as_tuple, check, describe
from autograder.mistakes import HINT, hint
from autograder.mistakes.regularization import (
    DROPOUT_BACKWARD,
    DROPOUT_FORWARD,
    L2_PENALTY_GRAD,
    L2_PENALTY_LOSS,
)
from autograder.numeric import EXACT, Tolerance, close, differing
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient
from bplib.regularization import l2_penalty as reference_l2

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "11-regularization"

# The worked examples of the notebook (sections 2 and 3).
W_EXAMPLE = np.array([[1.0, -2.0], [0.5, 3.0]])
V_EXAMPLE = np.array([2.0, -1.0])


# ----------------------------------------------------------------------------- l2_penalty


def _weights(seed: int, shapes: list[tuple[int, ...]], scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(shape) for shape in shapes]


def _describe(weights: Any) -> str:
    if isinstance(weights, list | tuple):
        kind = "list" if isinstance(weights, list) else "tuple"
        return f"a {kind} of arrays of shapes {[np.shape(w) for w in weights]}"
    return f"w of shape {np.shape(weights)}"


def _l2(learner: Learner, weights: Any, reg: float) -> tuple[Any, Any, str]:
    """The learner's (loss, grads) for a copy of ``weights``; checks the inputs are unchanged."""
    given = copy.deepcopy(weights)
    where = f"l2_penalty({_describe(weights)}, reg={reg:g})"
    loss, grads = as_tuple(learner.l2_penalty(given, reg), "l2_penalty", ["loss", "grads"])
    # Only a top-level array travels back from the sandbox when changed in place (not arrays
    # inside a list), so in-place changes are checked on single arrays, the same both ways.
    if not isinstance(weights, list | tuple) and not np.array_equal(given, weights):
        raise CheckError(
            f"{where} changed the weights it was given\n  hint: compute new arrays (reg * w); "
            "never update w in place: the network still needs its weights"
        )
    return loss, grads, where


def _check_loss(loss: Any, weights: Any, reg: float, where: str) -> None:
    want = reference_l2(weights, reg)[0]
    got = as_array(loss, "loss")
    if got.ndim != 0:
        raise CheckError(
            f"{where}: the loss must be one number, got an array of shape {got.shape}\n  hint: "
            "sum over every entry (np.sum(w * w)), and over every array of a list, to a float"
        )
    value = float(got)
    if np.isclose(value, want, rtol=1e-9, atol=1e-15):
        return
    raise CheckError(
        f"{where}: loss = {value:.10g}, expected 0.5 * reg * sum(w**2) = {want:.10g}"
        + hint(value, L2_PENALTY_LOSS, weights, reg, want=want)
    )


def _check_grad(got: Any, w: np.ndarray, reg: float, where: str, name: str = "grad") -> None:
    if isinstance(got, list | tuple) and len(got) == 1 and np.shape(got[0]) == w.shape:
        raise CheckError(
            f"{where}: {name} is a list holding one array\n  hint: for ONE weight array return "
            "one gradient array; a list of gradients only for a list of weights"
        )
    got = as_array(got, name)
    want = reg * w
    if got.shape == want.shape and not close(got, want):
        why = hint(got, L2_PENALTY_GRAD, w, reg, want=want)
        if why:
            raise GradientCheckError(f"{where}: {name} is wrong.{why}")
        if reg == 0 and np.any(got):
            raise GradientCheckError(
                f"{where}: {name} must be all zeros when reg = 0 (there is no penalty)"
            )
    try:
        check_gradient(got, want, name, tol=1e-9)
    except GradientCheckError as exc:
        raise GradientCheckError(f"{where}: {exc}") from None


L2_LOSS_CASES = [
    ([W_EXAMPLE], 0.1), (_weights(110, [(3, 4)]), 0.5), (_weights(110, [(3, 4)]), 0.0),
    # hidden: other shapes and strengths, tiny and large weights
    (_weights(1101, [(5,)]), 1e-3), (_weights(1102, [(2, 3, 4)]), 2.5),
    (_weights(1103, [(1, 1)]), 1.0), (_weights(1104, [(6, 2)], 30.0), 1e-2),
    (_weights(1105, [(4, 4)], 1e-3), 0.7),
]  # fmt: skip
L2_GRAD_CASES = [
    (_weights(111, [(3, 4)]), 0.1), (_weights(111, [(3, 4)]), 0.5), ([W_EXAMPLE], 0.1),
    # hidden
    (_weights(1111, [(7,)]), 1e-3), (_weights(1112, [(2, 3, 4)]), 2.0),
    (_weights(1113, [(5, 5)]), 0.0), (_weights(1114, [(1, 3)]), 1.0),
    (_weights(1115, [(3, 6)], 10.0), 0.03),
]  # fmt: skip


@check(NB, "test_l2_penalty_loss")
def l2_penalty_loss(learner: Learner) -> None:
    """The penalty of one array: 0.5 * reg * sum(w**2), one number."""
    for arrays, reg in L2_LOSS_CASES:
        loss, _, where = _l2(learner, arrays[0], reg)
        _check_loss(loss, arrays[0], reg, where)


@check(NB, "test_l2_penalty_grad")
def l2_penalty_grad(learner: Learner) -> None:
    """The gradient for one array: reg * w, the shape of w."""
    for arrays, reg in L2_GRAD_CASES:
        _, grads, where = _l2(learner, arrays[0], reg)
        _check_grad(grads, arrays[0], reg, where)


@check(NB, "test_l2_penalty_list")
def l2_penalty_list(learner: Learner) -> None:
    """A list or tuple of arrays: the penalties add up; one gradient per array, in order."""
    cases: list[tuple[Any, float]] = [
        ([W_EXAMPLE, V_EXAMPLE], 0.1),
        (_weights(1121, [(4, 3), (3,), (3, 2)]), 0.05),
        (tuple(_weights(1122, [(2, 5), (5, 4)])), 0.3),
        (_weights(1123, [(3, 3)]), 0.2),
        (_weights(1124, [(6, 4), (4, 4), (4, 3), (3, 2)]), 1e-2),
    ]
    for weights, reg in cases:
        loss, grads, where = _l2(learner, weights, reg)
        _check_loss(loss, weights, reg, where)
        if not isinstance(grads, list | tuple):
            raise CheckError(
                f"{where}: grads must be a list with one gradient per array, got "
                f"{describe(grads)}\n  hint: when weights is a list (or tuple), return "
                "[reg * w for w in weights]"
            )
        if len(grads) != len(weights):
            raise CheckError(
                f"{where}: grads has {len(grads)} entries, expected {len(weights)} (one per array)"
            )
        for k, (g, w) in enumerate(zip(grads, weights, strict=True)):
            _check_grad(g, w, reg, where, name=f"grads[{k}]")


# ----------------------------------------------------------------------------- dropout_forward


def _dropout(learner: Learner, x: np.ndarray, param: dict[str, Any], where: str) -> tuple[Any, Any]:
    """The learner's (out, cache) for a copy of x and of the param dict; x must stay unchanged."""
    given = x.copy()
    out, cache = as_tuple(learner.dropout_forward(given, dict(param)), "dropout_forward",
                          ["out", "cache"])
    if not np.array_equal(given, x):
        raise CheckError(
            f"{where} changed its input x in place\n  hint: return a new array, x * mask, and "
            "leave x as it was (the layer below may still need it)"
        )
    got = as_array(out, "out")
    if got.shape != x.shape:
        raise CheckError(f"{where}: out has shape {got.shape}, expected the shape of x {x.shape}")
    return got, cache


def _train_where(shape: tuple[int, ...], p: float, seed: int | None) -> str:
    seeded = f", seed={seed}" if seed is not None else ", no seed"
    return f"dropout_forward(x of shape {shape}, p={p:g}, mode='train'{seeded})"


def _check_statistics(out: np.ndarray, x: np.ndarray, param: dict[str, Any], where: str) -> None:
    """out / x must be 0 or 1/(1 - p), with about a fraction p of zeros."""
    p = param["p"]
    kept = out != 0
    want = x * kept / (1 - p)  # the right answer for the learner's own mask
    dropped = 1.0 - float(kept.mean())
    spread = 6.0 * np.sqrt(p * (1 - p) / x.size) + 1e-12
    if abs(dropped - p) > spread:
        why = hint(out, DROPOUT_FORWARD, x, param, want=want) or HINT + (
            "in train mode each unit must be set to 0 with probability p" if dropped == 0 else
            "each unit must be dropped independently with probability p")
        raise CheckError(
            f"{where}: you dropped {dropped:.1%} of the units, expected about {p:.0%}{why}"
        )
    scale = 1.0 / (1.0 - p)
    values = (out / x)[kept]
    if values.size and not np.allclose(values, scale, rtol=1e-9, atol=0):
        why = hint(out, DROPOUT_FORWARD, x, param, want=want) or (
            f"{HINT}out must be x * mask / (1 - p) with a mask of zeros and ones")
        raise CheckError(
            f"{where}: on the kept units out / x should be 1 / (1 - p) = {scale:.6g}, got values "
            f"between {values.min():.6g} and {values.max():.6g}{why}"
        )


@check(NB, "test_dropout_forward_train")
def dropout_forward_train(learner: Learner) -> None:
    """Train mode: about a fraction p dropped, survivors scaled by 1/(1-p), any shape."""
    visible = np.random.default_rng(112).standard_normal((500, 200))
    cases = [(visible, 0.3, 0), (visible, 0.6, 1)]
    rng = np.random.default_rng(1120)
    for shape, p, seed in [
        ((400, 250), 0.2, 11), ((400, 250), 0.75, 12), ((20, 3, 16, 16), 0.5, 13),
        ((100000,), 0.1, 14), ((300, 300), 0.9, None), ((50, 40), 0.35, 15),
    ]:
        cases.append((rng.standard_normal(shape), p, seed))
    for x, p, seed in cases:
        param = {"p": p, "mode": "train"} if seed is None else {"p": p, "mode": "train", "seed": seed}
        where = _train_where(x.shape, p, seed)
        out, _ = _dropout(learner, x, param, where)
        _check_statistics(out, x, param, where)
    # p = 0 drops nothing: the identity, also in train mode.
    x = rng.standard_normal((30, 20))
    out, _ = _dropout(learner, x, {"p": 0.0, "mode": "train", "seed": 16}, _train_where(x.shape, 0, 16))
    if not close(out, x):
        raise CheckError(
            "dropout_forward with p = 0 in train mode must return x unchanged (nothing is dropped "
            "and 1 / (1 - 0) = 1)"
        )


@check(NB, "test_dropout_forward_seed")
def dropout_forward_seed(learner: Learner) -> None:
    """The same seed gives the same output; another seed another output."""
    rng = np.random.default_rng(1130)
    cases = [(np.random.default_rng(113).standard_normal((20, 30)), 0.5, 7)]
    cases += [(rng.standard_normal(shape), p, seed) for shape, p, seed in [
        ((50, 40), 0.2, 0), ((4, 3, 5, 5), 0.6, 123), ((1000,), 0.5, 2**31 - 5), ((64, 10), 0.3, 99),
    ]]  # fmt: skip
    for x, p, seed in cases:
        where = _train_where(x.shape, p, seed)
        first, _ = _dropout(learner, x, {"p": p, "mode": "train", "seed": seed}, where)
        again, _ = _dropout(learner, x, {"p": p, "mode": "train", "seed": seed}, where)
        other, _ = _dropout(learner, x, {"p": p, "mode": "train", "seed": seed + 1}, where)
        if not np.array_equal(first, again):
            raise CheckError(
                f"{where}: two calls with the same seed gave different outputs\n  hint: with a "
                "seed, draw the mask from np.random.default_rng(dropout_param['seed'])"
            )
        if np.array_equal(first, other):
            raise CheckError(
                f"{where}: seeds {seed} and {seed + 1} gave the same output\n  hint: the mask "
                "must be drawn from the given seed"
            )


@check(NB, "test_dropout_forward_test")
def dropout_forward_test(learner: Learner) -> None:
    """Test mode is the identity, whatever p (and whether or not there is a seed)."""
    rng = np.random.default_rng(1140)
    cases = [(np.random.default_rng(114).standard_normal((6, 5)), p, None) for p in (0.25, 0.5)]
    cases += [(rng.standard_normal(shape), p, seed) for shape, p, seed in [
        ((40, 30), 0.7, None), ((3, 2, 4, 4), 0.5, 5), ((1, 8), 0.1, None), ((200,), 0.9, 6),
    ]]  # fmt: skip
    for x, p, seed in cases:
        param = {"p": p, "mode": "test"} if seed is None else {"p": p, "mode": "test", "seed": seed}
        where = f"dropout_forward(x of shape {x.shape}, p={p:g}, mode='test')"
        out, _ = _dropout(learner, x, param, where)
        same = Tolerance(1e-12, EXACT.atol)
        if close(out, x, same):
            continue
        raise CheckError(
            f"{where}: out must equal x in test mode; {differing(out, x, same)}"
            + hint(out, DROPOUT_FORWARD, x, param, want=x)
        )


# ----------------------------------------------------------------------------- dropout_backward


def _backward(learner: Learner, dout: np.ndarray, cache: Any, where: str) -> np.ndarray:
    given = dout.copy()
    dx = learner.dropout_backward(given, cache)
    if not np.array_equal(given, dout):
        raise CheckError(f"{where}: dropout_backward changed dout in place; compute a new array")
    return as_array(dx, "dx")


@check(NB, "test_dropout_backward_train")
def dropout_backward_train(learner: Learner) -> None:
    """dx = dout * (the forward call's own scaled mask), seeded and unseeded."""
    cases = [((8, 10), 0.3, 3, 115), ((8, 10), 0.5, None, 115)]
    cases += [
        ((50, 40), 0.5, None, 1150), ((6, 3, 4, 4), 0.25, 22, 1151), ((30,), 0.8, None, 1152),
        ((20, 20), 0.1, 23, 1153), ((16, 32), 0.6, None, 1154), ((1, 12), 0.4, 24, 1155),
    ]
    for shape, p, seed, data_seed in cases:
        rng = np.random.default_rng(data_seed)
        x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
        param = {"p": p, "mode": "train"} if seed is None else {"p": p, "mode": "train", "seed": seed}
        where = "dropout_backward after " + _train_where(shape, p, seed)
        out, cache = _dropout(learner, x, param, _train_where(shape, p, seed))
        local = out / x  # the scaled mask this forward call used: d out / d x, entry by entry
        dx = _backward(learner, dout, cache, where)
        want = dout * local
        note = ""
        if not np.allclose(local[local != 0], 1 / (1 - p), rtol=1e-9, atol=0):
            note = ("\n  note: your dropout_forward does not scale the kept units by 1 / (1 - p), "
                    "and dx is checked against the out it gives: fix dropout_forward first")
        if dx.shape == want.shape and not close(dx, want):
            why = hint(dx, DROPOUT_BACKWARD, dout, param, want=want)
            if why:
                raise GradientCheckError(f"{where}: dx is wrong.{why}{note}")
        try:
            check_gradient(dx, want, "dx", tol=1e-9, numeric_ones=local)
        except GradientCheckError as exc:
            raise GradientCheckError(f"{where}: {exc}{note}") from None
        _, cache = _dropout(learner, x, param, _train_where(shape, p, seed))
        zero = _backward(learner, np.zeros(shape), cache, where)
        if np.any(zero):
            raise GradientCheckError(
                f"{where}: with dout = 0, dx must be all zeros\n  hint: dx = dout * mask / (1 - p)"
            )


@check(NB, "test_dropout_backward_test")
def dropout_backward_test(learner: Learner) -> None:
    """In test mode the backward pass is the identity: dx = dout."""
    cases = [((6, 5), 0.5, 116), ((40, 30), 0.25, 1160), ((3, 2, 4, 4), 0.7, 1161), ((9,), 0.1, 1162)]
    for shape, p, data_seed in cases:
        rng = np.random.default_rng(data_seed)
        x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
        where = f"dropout_backward after dropout_forward(x of shape {shape}, p={p:g}, mode='test')"
        _, cache = _dropout(learner, x, {"p": p, "mode": "test"}, where)
        try:
            dx = _backward(learner, dout, cache, where)
        except LearnerError as exc:
            if exc.exc_type == "NotImplementedError":
                raise
            raise CheckError(
                f"{exc}\n  hint: in test mode dropout is the identity and there is no mask; "
                "its backward pass returns dout unchanged"
            ) from None
        if close(dx, dout, Tolerance(1e-12, EXACT.atol)):
            continue
        why = hint(dx, DROPOUT_BACKWARD, dout, {"p": p, "mode": "test"}, want=dout) or (
            f"{HINT}in test mode dropout is the identity, so dx = dout")
        raise GradientCheckError(f"{where}: dx must equal dout{why}")
