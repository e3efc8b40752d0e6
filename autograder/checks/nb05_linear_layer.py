"""Graded checks of notebook 05 (linear layer): ``affine_forward`` and ``affine_backward``.

One check per graded test cell. Each repeats the cell's visible cases and adds hidden ones: other
shapes, a batch of one, a single output, square shapes (where only the values can reveal a
transpose) and inputs with two or three feature axes. References come from :mod:`bplib.layers`,
computed here; gradients are compared with :func:`bplib.gradcheck.check_gradient`, so that a
failure names the mistake. The visible cases come first, in the cell's order, and a known mistake
is named by the catalogue (:mod:`autograder.mistakes.layers`), as in the notebook's visible tests.
``affine_backward`` is always handed the documented cache ``(x, w)`` built here, so that it is
graded on its own, whatever ``affine_forward`` does.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from autograder.framework import (
    Learner,
    LearnerError,
    as_array,
    as_tuple,
    check,
    check_table,
    describe,
)
from autograder.mistakes import Mistake, hint
from autograder.mistakes.layers import (
    AFFINE_BACKWARD_DB,
    AFFINE_BACKWARD_DW,
    AFFINE_BACKWARD_DX,
    AFFINE_CACHE_W,
    AFFINE_CACHE_X,
    AFFINE_FORWARD,
)
from autograder.numeric import EXACT, close, differing
from bplib.gradcheck import CheckError, GradientCheckError, assert_close, check_gradient
from bplib.layers import affine_backward as reference_backward
from bplib.layers import affine_forward as reference_forward

__all__: list[str] = []  # checks register themselves; nothing here is for import

ASSIGNMENT = "05-linear-layer"

# The worked example of the notebook (sections 2 and 3).
X_EXAMPLE = np.array([[1.0, 2.0, 0.0], [-1.0, 0.0, 3.0]])
W_EXAMPLE = np.array([[1.0, -1.0], [0.0, 2.0], [2.0, 1.0]])
B_EXAMPLE = np.array([0.5, -1.0])
DOUT_EXAMPLE = np.array([[1.0, -1.0], [2.0, 0.0]])


def _draw(seed: int, x_shape: tuple[int, ...], m: int) -> tuple[np.ndarray, ...]:
    """x of ``x_shape``, w (D, M), b (M,) and dout (N, M), standard normal, from one seed.

    The notebook's visible cells draw their random cases with this same recipe."""
    rng = np.random.default_rng(seed)
    d = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((d, m))
    b = rng.standard_normal(m)
    dout = rng.standard_normal((x_shape[0], m))
    return x, w, b, dout


def _case(x: np.ndarray, w: np.ndarray) -> str:
    return f"x of shape {x.shape}, w of shape {w.shape}"


# ----------------------------------------------------------------------------- affine_forward


def _forward(
    learner: Learner, x: np.ndarray, w: np.ndarray, b: np.ndarray, *, inputs_unchanged: bool = False
) -> tuple[Any, Any]:
    """The learner's (out, cache) for copies of x, w, b; a teaching error if the call fails.

    With ``inputs_unchanged``, also require that the call left its inputs as they were."""
    args = [x.copy(), w.copy(), b.copy()]
    try:
        result = learner.affine_forward(*args)
    except LearnerError as exc:
        if exc.exc_type == "NotImplementedError" or x.ndim == 2:
            raise
        detail = exc.exc_message[:160]
        raise CheckError(
            f"affine_forward failed for {_case(x, w)}: {exc.exc_type}: {detail}\n  hint: flatten "
            "each example into one row first: x.reshape(N, -1) has shape (N, D), D = d1·d2·…"
        ) from None
    out, cache = as_tuple(result, "affine_forward", ["out", "cache"])
    if inputs_unchanged:
        for name, before, after in zip("xwb", (x, w, b), args, strict=True):
            if after.shape != before.shape or not np.array_equal(after, before):
                raise CheckError(
                    f"affine_forward changed its input {name} in place ({_case(x, w)})\n  hint: "
                    "never write into the inputs: x.reshape(N, -1) and x @ w + b make new arrays"
                )
    return out, cache


def _check_out(out: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    """out must be x_flat @ w + b; a recognised slip gets its own hint."""
    want = reference_forward(x, w, b)[0]
    got = as_array(out, "out")
    if got.shape != want.shape:
        why = hint(got, AFFINE_FORWARD, x, w, b, want=want)
        if not why and x.ndim > 2:
            why = "\n  hint: flatten each example to one row: x.reshape(N, -1)"
        raise CheckError(
            f"affine_forward for {_case(x, w)}: out has shape {got.shape}, expected (N, M) = "
            f"{want.shape}{why}"
        )
    try:
        assert_close(got, want, "out", rtol=EXACT.rtol, atol=EXACT.atol)
    except CheckError as exc:
        raise CheckError(
            f"affine_forward for {_case(x, w)}: {exc}"
            + hint(got, AFFINE_FORWARD, x, w, b, want=want, tol=EXACT)
        ) from None


@check(ASSIGNMENT, "test_affine_forward_values")
def affine_forward_values(learner: Learner) -> None:
    """out = x @ w + b for 2-D x: the worked example, random cases, N = 1, D = 1, M = 1, square."""
    cases = [_draw(50, (4, 5), 3)[:3], (X_EXAMPLE, W_EXAMPLE, B_EXAMPLE)]
    cases += [_draw(seed, shape, m)[:3] for seed, shape, m in [
        (501, (1, 3), 2), (502, (6, 1), 4), (503, (5, 4), 1), (504, (3, 3), 3), (505, (7, 6), 5),
    ]]  # fmt: skip
    for x, w, b in cases:
        out, _ = _forward(learner, x, w, b, inputs_unchanged=True)
        _check_out(out, x, w, b)


@check(ASSIGNMENT, "test_affine_forward_nd")
def affine_forward_nd(learner: Learner) -> None:
    """x of shape (N, d1, ..., dk) is flattened to (N, D) row by row."""
    for seed, shape, m in [
        (51, (2, 3, 4), 5), (511, (3, 2, 2, 2), 4), (512, (1, 4, 3), 2), (513, (5, 1, 6), 3),
        (514, (4, 3, 2), 1),
    ]:
        x, w, b, _ = _draw(seed, shape, m)
        out, _ = _forward(learner, x, w, b)
        _check_out(out, x, w, b)


@check(ASSIGNMENT, "test_affine_forward_cache")
def affine_forward_cache(learner: Learner) -> None:
    """The cache is (x, w), with x in its original shape."""
    cases = [_draw(52, (2, 3, 4), 5)[:3], (X_EXAMPLE, W_EXAMPLE, B_EXAMPLE)]
    cases += [_draw(seed, shape, m)[:3] for seed, shape, m in [
        (521, (3, 2, 2, 2), 4), (522, (4, 5), 3), (523, (1, 6, 2), 2),
    ]]  # fmt: skip
    for x, w, b in cases:
        _, cache = _forward(learner, x, w, b)
        where = f"affine_forward for {_case(x, w)}"
        if not isinstance(cache, tuple | list) or len(cache) != 2:
            raise CheckError(f"{where}: the cache must be the tuple (x, w), got {describe(cache)}")
        for k, (name, want, mistakes) in enumerate((("the input x", x, AFFINE_CACHE_X),
                                                    ("the weights w", w, AFFINE_CACHE_W))):
            got = as_array(cache[k], f"{where}: cache[{k}]")
            if got.shape == want.shape and np.array_equal(got, want):
                continue
            why = f"got shape {got.shape}" if got.shape != want.shape else "its values differ"
            raise CheckError(f"{where}: cache[{k}] should be {name}, of shape {want.shape}; {why}"
                             + hint(got, mistakes, x, w, b, want=want))


# ----------------------------------------------------------------------------- affine_backward


def _backward(
    learner: Learner, dout: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[Any, Any, Any]:
    """The learner's (dx, dw, db) for the documented cache (x, w); checks nothing was changed."""
    args = [dout.copy(), (x.copy(), w.copy())]
    result = as_tuple(learner.affine_backward(*args), "affine_backward", ["dx", "dw", "db"])
    for name, before, after in (("dout", dout, args[0]), ("x", x, args[1][0]), ("w", w, args[1][1])):
        if after.shape != before.shape or not np.array_equal(after, before):
            raise CheckError(
                f"affine_backward changed {name} in place ({_case(x, w)})\n  hint: never write "
                "into dout or the cache; compute new arrays"
            )
    return result[0], result[1], result[2]


# the catalogue of each gradient's mistakes; their inputs are (x, w, dout)
BACKWARD_MISTAKES: dict[str, list[Mistake]] = {
    "dx": AFFINE_BACKWARD_DX, "dw": AFFINE_BACKWARD_DW, "db": AFFINE_BACKWARD_DB,
}


def _check_grad(learner: Learner, name: str, cases: list[tuple[np.ndarray, ...]]) -> None:
    """Check one gradient of affine_backward over ``cases`` of (x, w, dout)."""
    index = ("dx", "dw", "db").index(name)
    for x, w, dout in cases:
        got = _backward(learner, dout, x, w)[index]
        want = reference_backward(dout, (x, w))[index]
        ones = reference_backward(np.ones_like(dout), (x, w))[index]
        where = f"affine_backward for {_case(x, w)}"
        named = "" if close(got, want, EXACT) else hint(got, BACKWARD_MISTAKES[name], x, w, dout,
                                                         want=want)
        if named:
            got = np.asarray(got, dtype=np.float64)
            what = (differing(got, want) if got.shape == want.shape
                    else f"it has shape {got.shape}, expected {want.shape}")
            raise GradientCheckError(f"{where}: {name} is wrong: {what}{named}")
        try:
            check_gradient(got, want, name, tol=1e-7, batch_size=x.shape[0], numeric_ones=ones)
        except GradientCheckError as exc:
            raise GradientCheckError(f"{where}: {exc}") from None
        zero = as_array(_backward(learner, np.zeros_like(dout), x, w)[index], f"{where}: {name}")
        if np.any(zero):
            raise GradientCheckError(
                f"{where}: with dout = 0, {name} must be all zeros; yours is not.\n  hint: every "
                f"term of {name} must be multiplied by the upstream gradient dout"
            )


def _backward_cases(first_seed: int, shapes: list[tuple[tuple[int, ...], int]]) -> list[tuple]:
    cases = []
    for k, (shape, m) in enumerate(shapes):
        x, w, _, dout = _draw(first_seed + k, shape, m)
        cases.append((x, w, dout))
    return cases


_HIDDEN_2D = [((1, 3), 4), ((6, 2), 1), ((3, 3), 3), ((7, 4), 6), ((5, 8), 2)]


def _affine_backward_grad(learner: Learner, name: str, seed: int) -> None:
    """One gradient of affine_backward: the notebook's cases, then hidden 2-D shapes."""
    cases = _backward_cases(seed, [((4, 5), 3)]) + [(X_EXAMPLE, W_EXAMPLE, DOUT_EXAMPLE)]
    cases += _backward_cases(10 * seed, _HIDDEN_2D)
    _check_grad(learner, name, cases)


# dx = dout @ w.T (N, D); dw = x.T @ dout (D, M); db = dout summed over the batch (M,)
check_table(ASSIGNMENT, {
    f"test_affine_backward_{name}": functools.partial(_affine_backward_grad, name=name, seed=seed)
    for name, seed in (("dx", 53), ("dw", 54), ("db", 55))
})


@check(ASSIGNMENT, "test_affine_backward_nd")
def affine_backward_nd(learner: Learner) -> None:
    """For x of shape (N, d1, ..., dk): dx has x's shape, dw is computed from the flattened x."""
    cases = _backward_cases(56, [((2, 3, 4), 5)])
    cases += _backward_cases(560, [((3, 2, 2, 2), 4), ((1, 4, 3), 2), ((5, 1, 6), 3)])
    _check_grad(learner, "dx", cases)
    _check_grad(learner, "dw", cases)
