"""Graded checks of notebook 13 (convolution and pooling): the convolution's forward and backward
passes as loops and vectorized, and max pooling's forward and backward passes (with the tie rule).

Dimensions: N batch, C channels, H/W input height/width, F filters, HH/WW kernel (or pooling
window) height/width, H'/W' output height/width.

One check per graded test cell. Each first runs the cell's visible cases, in the same order and
drawn with the same recipe, so that a mistake the visible test shows is named the same way here;
then hidden ones: non-square inputs and kernels, stride 2 and 3, pad 0, 1 and 2 (padding wider
than the kernel reaches), a batch of one, one and several channels and filters, a kernel as large
as the input, a 1×1 kernel, overlapping and non-overlapping pooling windows, a window of one
pixel, ties. Windows always tile the padded input exactly (the notebook's contract).

References are :mod:`bplib.conv`, computed here; a known mistake is named from
:mod:`autograder.mistakes.conv`. The learner chooses the caches, so each backward pass is fed the
cache of the learner's own forward pass of the same kind (loops with loops, vectorized with
vectorized), and its gradients are compared with the reference's for the same inputs: when the
learner's forward output is wrong for those inputs too, the message says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, LearnerError, as_array, as_tuple, check
from autograder.mistakes import Mistake, hint
from autograder.mistakes.conv import (
    CONV_DB,
    CONV_DW,
    CONV_DX,
    CONV_FORWARD,
    MAX_POOL_BACKWARD,
    MAX_POOL_FORWARD,
)
from autograder.numeric import Tolerance, close, differing
from bplib import conv as ref
from bplib.gradcheck import CheckError, GradientCheckError, check_gradient

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "13-convolution"

# A convolution is a sum of C·HH·WW products: another summation order differs by rounding only.
SAME = Tolerance(1e-9, 1e-11)

# ----------------------------------------------------------------------------- the cases

# The worked example of the notebook (sections 2 and 3).
X_EXAMPLE = np.array([[1.0, 2.0, 0.0, 1.0], [0.0, 1.0, 3.0, 2.0], [2.0, 0.0, 1.0, 0.0],
                      [1.0, 1.0, 0.0, 2.0]])[None, None]
W_EXAMPLE = np.array([[1.0, 2.0], [0.0, -1.0]])[None, None]
B_EXAMPLE = np.array([1.0])
DOUT_EXAMPLE = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.0]])[None, None]
POOL_EXAMPLE = np.array([[1.0, 3.0, 2.0, 0.5], [4.0, 0.0, 1.5, 2.5], [0.0, 0.2, 5.0, 1.0],
                         [0.3, 0.1, 4.0, 6.0]])[None, None]
TIES_EXAMPLE = np.array([[1.0, 3.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0], [0.0, 1.0, 5.0, 1.0],
                         [1.0, 0.0, 4.0, 5.0]])[None, None]

Case = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int], np.ndarray]


def conv_case(seed: int, x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: int,
              pad: int) -> Case:
    """x, w, b, conv_param and dout, standard normal, from one seed (the notebook's recipe)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out_h = 1 + (x_shape[2] + 2 * pad - w_shape[2]) // stride
    out_w = 1 + (x_shape[3] + 2 * pad - w_shape[3]) // stride
    dout = rng.standard_normal((x_shape[0], w_shape[0], out_h, out_w))
    return x, w, b, {"stride": stride, "pad": pad}, dout


def integer_case(seed: int) -> Case:
    """The visible forward case of small integers: x (1, 2, 5, 6), w (2, 2, 3, 2), stride 2,
    pad 1 (the notebook's recipe); dout is unused."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(1, 2, 5, 6)).astype(float)
    w = rng.integers(-1, 2, size=(2, 2, 3, 2)).astype(float)
    return x, w, np.array([0.5, -1.0]), {"stride": 2, "pad": 1}, np.zeros((1, 2, 3, 4))


def tie_free(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Distinct values 0.1 apart in a random order: no pooling window has a tie (the recipe)."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 10.0


def pool_param(height: int, width: int, stride: int) -> dict[str, int]:
    return {"pool_height": height, "pool_width": width, "stride": stride}


def _example(stride: int, pad: int) -> Case:
    return X_EXAMPLE, W_EXAMPLE, B_EXAMPLE, {"stride": stride, "pad": pad}, DOUT_EXAMPLE


# The visible cells' cases, in their order.
VISIBLE_FORWARD = [_example(1, 0), _example(2, 1), integer_case(131),
                   (np.concatenate([X_EXAMPLE, X_EXAMPLE.swapaxes(2, 3)]), W_EXAMPLE, B_EXAMPLE,
                    {"stride": 1, "pad": 0}, np.zeros((2, 1, 3, 3)))]
VISIBLE_GRADIENT = [_example(1, 0), _example(2, 1),
                    conv_case(132, (2, 3, 5, 7), (4, 3, 3, 3), 2, 1),
                    conv_case(133, (1, 2, 4, 5), (3, 2, 2, 3), 1, 0)]

HIDDEN = [
    conv_case(1301, (2, 3, 5, 7), (4, 3, 3, 3), 1, 1),  # non-square input
    conv_case(1302, (1, 1, 6, 6), (2, 1, 2, 2), 2, 0),  # a batch of one, one channel, stride 2
    conv_case(1303, (3, 2, 7, 5), (3, 2, 3, 2), 1, 0),  # non-square kernel
    conv_case(1304, (2, 2, 5, 9), (3, 2, 3, 3), 2, 1),
    conv_case(1305, (1, 4, 4, 6), (1, 4, 2, 4), 2, 1),  # one filter, a wide kernel
    conv_case(1306, (2, 1, 8, 8), (5, 1, 4, 4), 2, 1),
    conv_case(1307, (2, 2, 3, 3), (3, 2, 3, 3), 1, 0),  # the kernel covers the input: 1 x 1 out
    conv_case(1308, (2, 3, 7, 10), (2, 3, 1, 1), 3, 0),  # a 1 x 1 kernel, stride 3
    conv_case(1309, (2, 2, 3, 4), (2, 2, 3, 2), 1, 2),  # padding wider than the kernel reaches
    conv_case(1310, (1, 2, 5, 5), (2, 2, 3, 3), 3, 2),
]
# Bigger ones, for the vectorized versions only.
HIDDEN_LARGE = [
    conv_case(1311, (4, 3, 12, 10), (6, 3, 3, 3), 1, 1),
    conv_case(1312, (3, 8, 8, 8), (4, 8, 4, 4), 2, 1),
]

VISIBLE_POOL_FORWARD = [(POOL_EXAMPLE, pool_param(2, 2, 2)),
                        (tie_free(134, (1, 2, 4, 7)), pool_param(2, 3, 2))]
VISIBLE_POOL_BACKWARD = [*VISIBLE_POOL_FORWARD, (tie_free(135, (2, 1, 5, 4)), pool_param(3, 2, 1))]
HIDDEN_POOL = [
    (tie_free(1320, (2, 3, 6, 8)), pool_param(2, 2, 2)),
    (tie_free(1321, (1, 2, 7, 5)), pool_param(3, 3, 2)),  # overlapping windows
    (tie_free(1322, (2, 1, 6, 4)), pool_param(3, 2, 1)),  # non-square, stride 1
    (tie_free(1323, (3, 2, 4, 7)), pool_param(2, 3, 2)),
    (tie_free(1324, (2, 2, 3, 3)), pool_param(3, 3, 1)),  # one window: the global maximum
    (tie_free(1325, (1, 1, 5, 5)), pool_param(1, 1, 2)),  # windows of one pixel
    (tie_free(1326, (2, 2, 9, 6)), pool_param(3, 3, 3)),
]


def _ties_case(seed: int, shape: tuple[int, ...], high: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(float)


# The visible ties: the example (2 x 2, stride 2), then overlapping windows (the recipe).
VISIBLE_TIES = [(TIES_EXAMPLE, pool_param(2, 2, 2), np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]),
                (_ties_case(136, (1, 1, 3, 5), 2), pool_param(2, 2, 1),
                 np.arange(1.0, 9.0).reshape(1, 1, 2, 4))]


def _hidden_ties() -> list[tuple[np.ndarray, dict[str, int], np.ndarray]]:
    rng = np.random.default_rng(1330)
    cases = []
    for x, param in [
        (_ties_case(1331, (2, 3, 6, 6), 3), pool_param(2, 2, 2)),
        (_ties_case(1332, (1, 2, 7, 5), 2), pool_param(3, 3, 2)),
        (_ties_case(1333, (2, 1, 5, 6), 2), pool_param(2, 3, 1)),
        (np.full((1, 2, 4, 4), 0.5), pool_param(2, 2, 2)),  # every window one tie
    ]:
        out_shape = ref.max_pool_forward_naive(x, param)[0].shape
        cases.append((x, param, rng.standard_normal(out_shape)))
    return cases


# ----------------------------------------------------------------------------- judging


def _show(param: dict[str, int]) -> str:
    return "{" + ", ".join(f"'{k}': {v}" for k, v in param.items()) + "}"


def _judge(got: Any, want: np.ndarray, what: str, where: str, shape: str,
           mistakes: Sequence[Mistake], inputs: tuple[Any, ...], *, batch: int | None = None
           ) -> None:
    """``got`` must be ``want``; a known mistake is named, a gradient is compared with the
    gradient checker (``batch``: N, for its hints), and a wrong shape names both shapes."""
    array = as_array(got, f"{where}: {what}")
    if array.shape == want.shape and close(array, want, SAME):
        return
    named = hint(array, mistakes, *inputs, want=want)
    error = CheckError if batch is None else GradientCheckError
    if array.shape != want.shape:
        why = named or f"\n  hint: {what} must have the shape {shape}"
        raise error(f"{where}: {what} has shape {array.shape}, expected {want.shape}: {shape}{why}")
    if named or batch is None:
        raise error(f"{where}: {what} is wrong: {differing(array, want, SAME)}{named}")
    try:
        check_gradient(array, want, what, 1e-8, batch_size=batch)
    except GradientCheckError as exc:
        raise GradientCheckError(f"{where}: {exc}") from None


def _noted(exc: CheckError, note: str) -> CheckError:
    """``exc``'s failure with a note added (a gradient's failure stays one)."""
    kind = GradientCheckError if isinstance(exc, GradientCheckError) else CheckError
    return kind(f"{exc}\n  note: {note}")


def _unchanged(given: Sequence[np.ndarray], originals: Sequence[np.ndarray], names: str,
               where: str) -> None:
    for arg, before, name in zip(given, originals, names, strict=True):
        if np.shape(arg) != before.shape or not np.array_equal(arg, before):
            raise CheckError(f"{where} changed its input {name} in place\n  hint: compute new "
                             "arrays (np.pad makes a padded copy); never write into the inputs")


# ----------------------------------------------------------------------------- convolution

OUT_SHAPE = "(N, F, H', W') with H' = 1 + (H + 2·pad - HH) // stride"


_PAD_AXES = ("\n  hint: it fails once pad > 0: is every axis padded? np.pad(x, pad) pads the "
             "batch and channel axes too; pad H and W only, np.pad(x, ((0, 0), (0, 0), (pad, "
             "pad), (pad, pad)))")


_PAD_WINDOWS = ("\n  hint: it fails once pad > 0: take every window from the PADDED x, as the "
                "forward pass did, and compute dx on the padded grid before cutting the padding "
                "off")


def _broadcast_error(exc: BaseException) -> bool:
    """Whether the learner's code failed on arrays whose shapes do not fit together."""
    return (isinstance(exc, LearnerError) and exc.exc_type == "ValueError"
            and "broadcast" in exc.exc_message)


def _conv_forward(learner: Learner, name: str, x: np.ndarray, w: np.ndarray, b: np.ndarray,
                  conv_param: dict[str, int]) -> tuple[Any, Any, str]:
    """The learner's (out, cache) for copies of the inputs, which must stay unchanged."""
    where = f"{name}(x of shape {x.shape}, w of shape {w.shape}, conv_param {_show(conv_param)})"
    args = [x.copy(), w.copy(), b.copy()]
    try:
        result = getattr(learner, name)(*args, dict(conv_param))
    except LearnerError as exc:
        if not _broadcast_error(exc) or not conv_param["pad"]:
            raise
        raise CheckError(f"{where}: {exc}{_PAD_AXES}") from None
    out, cache = as_tuple(result, where, ["out", "cache"])
    _unchanged(args, (x, w, b), "xwb", where)
    return out, cache, where


def _check_conv_forward(learner: Learner, name: str, cases: Sequence[Case]) -> None:
    for x, w, b, conv_param, _ in cases:
        out, _, where = _conv_forward(learner, name, x, w, b, conv_param)
        want = ref.conv_forward_naive(x, w, b, conv_param)[0]
        _judge(out, want, "out", where, OUT_SHAPE, CONV_FORWARD, (x, w, b, conv_param))


GRADIENTS = {
    "dx": (0, CONV_DX, "(N, C, H, W), the shape of x"),
    "dw": (1, CONV_DW, "(F, C, HH, WW), the shape of w"),
    "db": (2, CONV_DB, "(F,), one entry per filter"),
}


def _check_conv_backward(learner: Learner, forward: str, backward: str, names: Sequence[str],
                         cases: Sequence[Case]) -> None:
    """The gradients ``names`` of the learner's ``backward``, fed by its own ``forward``."""
    for x, w, b, conv_param, dout in cases:
        out, cache, fwhere = _conv_forward(learner, forward, x, w, b, conv_param)
        where = f"{backward} after {fwhere}"
        want_out, ref_cache = ref.conv_forward_naive(x, w, b, conv_param)
        reference = ref.conv_backward_naive(dout, ref_cache)
        try:
            given = dout.copy()
            grads = as_tuple(getattr(learner, backward)(given, cache), where, ["dx", "dw", "db"])
            _unchanged([given], [dout], ["dout"], where)
            for name in names:
                index, mistakes, shape = GRADIENTS[name]
                _judge(grads[index], reference[index], name, where, shape, mistakes,
                       (x, w, b, conv_param, dout), batch=x.shape[0])
        except CheckError as exc:
            if not close(out, want_out, SAME):
                raise _noted(exc, f"your {forward} gives the wrong out for these inputs too, and "
                             f"{backward} got the cache it returned: fix {forward} first") from None
            if _broadcast_error(exc) and conv_param["pad"]:
                raise CheckError(f"{where}: {exc}{_PAD_WINDOWS}") from None
            raise


@check(NB, "test_conv_forward_naive")
def conv_forward_naive(learner: Learner) -> None:
    """out = the sum over each window of the padded x times each filter, plus its bias."""
    _check_conv_forward(learner, "conv_forward_naive", [*VISIBLE_FORWARD, *HIDDEN])


def _check_naive(learner: Learner, names: Sequence[str]) -> None:
    _check_conv_backward(learner, "conv_forward_naive", "conv_backward_naive", names,
                         [*VISIBLE_GRADIENT, *HIDDEN])


@check(NB, "test_conv_backward_naive_dx")
def conv_backward_naive_dx(learner: Learner) -> None:
    """dx: every dout[n, f, i, j]·w[f] back onto its window, the padding cut off."""
    _check_naive(learner, ["dx"])


@check(NB, "test_conv_backward_naive_dw")
def conv_backward_naive_dw(learner: Learner) -> None:
    """dw: the correlation of the padded x with dout, summed over the batch and the positions."""
    _check_naive(learner, ["dw"])


@check(NB, "test_conv_backward_naive_db")
def conv_backward_naive_db(learner: Learner) -> None:
    """db: dout summed over the batch and every position."""
    _check_naive(learner, ["db"])


@check(NB, "test_conv_forward")
def conv_forward(learner: Learner) -> None:
    """The vectorized forward pass: the same numbers as the loops, on bigger inputs too."""
    _check_conv_forward(learner, "conv_forward", [*VISIBLE_FORWARD, *HIDDEN, *HIDDEN_LARGE])


@check(NB, "test_conv_backward_dx")
def conv_backward_dx(learner: Learner) -> None:
    """The vectorized dx, through the learner's vectorized forward pass."""
    _check_conv_backward(learner, "conv_forward", "conv_backward", ["dx"],
                         [*VISIBLE_GRADIENT, *HIDDEN, *HIDDEN_LARGE])


@check(NB, "test_conv_backward_dw_db")
def conv_backward_dw_db(learner: Learner) -> None:
    """The vectorized dw and db, through the learner's vectorized forward pass."""
    _check_conv_backward(learner, "conv_forward", "conv_backward", ["dw", "db"],
                         [*VISIBLE_GRADIENT, *HIDDEN, *HIDDEN_LARGE])


# ----------------------------------------------------------------------------- max pooling

POOL_SHAPE = "(N, C, H', W') with H' = 1 + (H - pool_height) // stride"


def _pool_forward(learner: Learner, x: np.ndarray, param: dict[str, int]) -> tuple[Any, Any, str]:
    where = f"max_pool_forward(x of shape {x.shape}, pool_param {_show(param)})"
    given = x.copy()
    out, cache = as_tuple(learner.max_pool_forward(given, dict(param)), where, ["out", "cache"])
    _unchanged([given], [x], ["x"], where)
    return out, cache, where


@check(NB, "test_max_pool_forward")
def max_pool_forward(learner: Learner) -> None:
    """out = the largest entry of each window."""
    for x, param in [*VISIBLE_POOL_FORWARD, *HIDDEN_POOL]:
        out, _, where = _pool_forward(learner, x, param)
        want = ref.max_pool_forward_naive(x, param)[0]
        _judge(out, want, "out", where, POOL_SHAPE, MAX_POOL_FORWARD, (x, param))


def _check_pool_backward(learner: Learner,
                         cases: Sequence[tuple[np.ndarray, dict[str, int], np.ndarray]]) -> None:
    for x, param, dout in cases:
        out, cache, fwhere = _pool_forward(learner, x, param)
        where = f"max_pool_backward after {fwhere}"
        want_out, ref_cache = ref.max_pool_forward_naive(x, param)
        want = ref.max_pool_backward_naive(dout, ref_cache)
        try:
            given = dout.copy()
            dx = learner.max_pool_backward(given, cache)
            _unchanged([given], [dout], ["dout"], where)
            _judge(dx, want, "dx", where, "(N, C, H, W), the shape of x", MAX_POOL_BACKWARD,
                   (x, param, dout), batch=x.shape[0])
        except CheckError as exc:
            if close(out, want_out, SAME):
                raise
            raise _noted(exc, "your max_pool_forward gives the wrong out for these inputs too, "
                         "and max_pool_backward got the cache it returned: fix max_pool_forward "
                         "first") from None


def _with_dout(cases: Sequence[tuple[np.ndarray, dict[str, int]]], seed: int
               ) -> list[tuple[np.ndarray, dict[str, int], np.ndarray]]:
    """Each case with a standard-normal dout of the output's shape, from one seed (the recipe:
    one generator, one draw per case in order)."""
    rng = np.random.default_rng(seed)
    return [(x, p, rng.standard_normal(ref.max_pool_forward_naive(x, p)[0].shape))
            for x, p in cases]


@check(NB, "test_max_pool_backward")
def max_pool_backward(learner: Learner) -> None:
    """dout goes to each window's maximum (no ties here); overlapping windows add up."""
    _check_pool_backward(learner, [*_with_dout(VISIBLE_POOL_BACKWARD, 137),
                                   *_with_dout(HIDDEN_POOL, 1327)])


@check(NB, "test_max_pool_backward_ties")
def max_pool_backward_ties(learner: Learner) -> None:
    """On a tie the first maximum in row-major order gets all of dout."""
    _check_pool_backward(learner, [*VISIBLE_TIES, *_hidden_ties()])
