"""Known mistakes of the capstone's own parts (notebook 16): moving digit images, predicting
labels, and one slip of the ReLU that only the capstone's checks meet.

Inputs, as the graded functions get them: ``(X, dy, dx)`` for ``shift_images`` (``X`` of shape
(N, 64), each row an 8 × 8 image row by row; ``dy`` rows down, ``dx`` columns right),
``(params, X)`` for ``predict`` (params "W1" (64, M), "b1" (M,), "W2" (M, C), "b2" (C,) and the
training standardization "mean" (64,), "std" (64,)), ``(x)`` for ``relu_forward``.

The capstone's other parts have the mistakes of the notebooks that built them, and their checks
use those tables: :mod:`~autograder.mistakes.layers` (the affine layer),
:mod:`~autograder.mistakes.activations` (the ReLU's backward), :mod:`~autograder.mistakes.losses`
(softmax cross-entropy), :mod:`~autograder.mistakes.optimizers` (Adam) and
:mod:`~autograder.mistakes.network` (``network_loss`` is notebook 8's ``two_layer_loss`` with its
arguments in another order: its mistakes take ``(X, y, params)``). :data:`RELU_NP_MAX` adds
one mistake to notebook 6's ``RELU_FORWARD``: the capstone's checks use the two tables together
(a topic module imports no other).

A move in the wrong direction, or the right one in the shape (N, 8, 8), would be the right
answer of other inputs: those are relations (compared with the answer, never computed as an
image), and so are the labels of a mistaken network, which agree with the right labels more
often than not. A mistake seen in the answer and the inputs alone (a shape, a border that kept
its old ink) needs no right answer: a visible test that counts inked pixels has none to give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.numeric import MATCH, Tolerance, close, quiet

from . import Mistake

__all__ = ["PREDICT", "RELU_NP_MAX", "SHIFT_IMAGES"]

SIDE = 8  # an image is SIDE × SIDE pixels


@dataclass(frozen=True)
class _Seen(Mistake):
    """A mistake seen in the answer and the inputs alone: its ``relation(got, want, *inputs)``
    does without the right answer ``want``, so it matches where a test has none to give (one that
    checks a shape, or counts the inked pixels)."""

    def matches(self, got: Any, inputs: tuple[Any, ...], want: Any = None,
                tol: Tolerance = MATCH) -> bool:
        try:
            with quiet():
                return self.relation is not None and bool(self.relation(got, want, *inputs))
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError):
            return False


# ----------------------------------------------------------------------------- shift_images
def _images(X: Any) -> np.ndarray:
    return np.asarray(X, dtype=np.float64).reshape(-1, SIDE, SIDE)


def _inside(offset: int) -> np.ndarray:
    """For each row (or column) r of the result, whether r - offset is a row of the image."""
    source = np.arange(SIDE) - int(offset)
    return (source >= 0) & (source < SIDE)


def _received(dy: int, dx: int) -> np.ndarray:
    """The (8, 8) mask of the pixels a move by (dy, dx) moves a pixel into; blank paper fills
    the others. The pixels the move carries past the border are ``~_received(-dy, -dx)``."""
    return _inside(dy)[:, None] & _inside(dx)[None, :]


def _moved(got: Any, X: Any, dy: int, dx: int, *, border_kept: bool = False) -> bool:
    """Whether ``got`` (any shape of X's size) holds X's images moved dy rows down and dx columns
    right, blank paper moving in (with ``border_kept``: X's own pixels staying where no pixel
    moves in): a comparison, pixel by pixel, with X's own pixels."""
    g = np.asarray(got, dtype=np.float64)
    if g.size != np.size(X) or g.size == 0:
        return False
    g, images = g.reshape(-1, SIDE, SIDE), _images(X)
    rows, cols = _inside(dy), _inside(dx)
    received = _received(dy, dx)
    border = images[:, ~received] if border_kept else np.zeros_like(g[:, ~received])
    source_rows, source_cols = np.flatnonzero(rows) - int(dy), np.flatnonzero(cols) - int(dx)
    return (close(g[:, ~received], border, MATCH)
            and close(g[:, rows][:, :, cols], images[:, source_rows][:, :, source_cols], MATCH))


def _border_kept(got: Any, want: Any, X: Any, dy: int, dx: int) -> bool:
    """A relation: the images moved over a copy of themselves, so the pixels where blank paper
    should move in keep their old ink (and some of them have ink)."""
    blank = ~_received(dy, dx)
    return (np.shape(got) == np.shape(X) and bool(np.any(_images(X)[:, blank]))
            and _moved(got, X, dy, dx, border_kept=True))


def _moved_instead(move: Callable[[int, int], tuple[int, int]]) -> Callable[..., bool]:
    """A relation: the images moved by ``move(dy, dx)`` instead of (dy, dx), in X's shape, where
    that is not the right answer."""

    def relation(got: Any, want: Any, X: Any, dy: int, dx: int) -> bool:
        other = move(int(dy), int(dx))
        return (other != (dy, dx) and np.shape(got) == np.shape(X)
                and not close(got, want, MATCH) and _moved(got, X, *other))

    return relation


def _wrapped(roll: Callable[[np.ndarray, int, int], np.ndarray]) -> Callable[..., Any]:
    """A move that brings the pixels it carries past the border back in elsewhere; ``None``
    where no ink leaves the images (there it is the right move)."""

    def result(X: Any, dy: int, dx: int) -> np.ndarray | None:
        images = _images(X)
        if not np.any(images[:, ~_received(-dy, -dx)]):
            return None
        return roll(images, int(dy), int(dx)).reshape(np.shape(X))

    return result


SHIFT_IMAGES = [
    _Seen("not reshaped", "an array of (N, 8, 8) images: reshape them back to rows of 64 pixels, "
          "out.reshape(X.shape), the shape of X",
          relation=lambda got, want, X, dy, dx: np.ndim(X) == 2 and np.shape(got) == (
              np.shape(X)[0], SIDE, SIDE)),
    Mistake("opposite way", "moved the opposite way: dy > 0 moves the digit DOWN (to larger row "
            "indices), dx > 0 to the RIGHT: out[r + dy, c + dx] = image[r, c]",
            relation=_moved_instead(lambda dy, dx: (-dy, -dx))),
    Mistake("rows and columns swapped", "moved with rows and columns swapped, dx rows and dy "
            "columns: dy counts rows (the first axis of the 8 × 8 image), dx columns",
            relation=_moved_instead(lambda dy, dx: (dx, dy))),
    Mistake("wraps around", "moved with np.roll, which wraps around: the pixels that leave one "
            "edge come back at the opposite edge; the new border must be blank (0)",
            _wrapped(lambda images, dy, dx: np.roll(images, (dy, dx), axis=(1, 2)))),
    Mistake("flat roll", "the row of 64 pixels rolled: pixels that leave a row of the image "
            "spill into the next one. Reshape to (N, 8, 8), move rows and columns separately and "
            "fill with 0", _wrapped(lambda images, dy, dx: np.roll(
                images.reshape(len(images), -1), SIDE * dy + dx, axis=1))),
    _Seen("border kept", "moved over a copy of the images: where blank paper should move in, "
          "the old pixels stay. Start from zeros, np.zeros_like(images), not from a copy of X",
          relation=_border_kept),
]


# ----------------------------------------------------------------------------- predict
def _labels(params: Mapping[str, Any], Z: np.ndarray, relu: bool = True) -> np.ndarray:
    """The labels the two layers give inputs Z (standardized or not, as a mistake has it)."""
    p = {k: np.asarray(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")}
    a = Z @ p["W1"] + p["b1"]
    return np.argmax((np.maximum(a, 0.0) if relu else a) @ p["W2"] + p["b2"], axis=1)


def _labels_like(*mistaken: Callable[[Mapping[str, Any], np.ndarray], Any]) -> Callable[..., bool]:
    """A relation: the labels are those of one of the ``mistaken(params, X)`` networks, where
    they differ from the right labels."""

    def relation(got: Any, want: Any, params: Mapping[str, Any], X: Any) -> bool:
        X = np.asarray(X, dtype=np.float64)
        with quiet():
            values = [m(params, X) for m in mistaken]
        return any(v is not None and close(got, v, MATCH) and not close(v, want, MATCH)
                   for v in values)

    return relation


def _classes(params: Mapping[str, Any]) -> int:
    return int(np.shape(params["W2"])[1])


def _standardized(params: Mapping[str, Any], X: np.ndarray) -> np.ndarray:
    return (X - np.asarray(params["mean"])) / np.asarray(params["std"])


PREDICT = [
    _Seen("scores", "an array of scores (or probabilities), one row per image: return the "
          "labels, the index of each row's largest score, scores.argmax(axis=1)",
          relation=lambda got, want, params, X: np.shape(got) == (len(X), _classes(params))),
    _Seen("argmax over the examples", "one label per class, an argmax over the examples "
          "(axis=0): take the argmax over axis=1, the classes of each row",
          relation=lambda got, want, params, X: len(X) != _classes(params) and np.shape(
              got) == (_classes(params),)),
    Mistake("raw pixels", "the prediction from the raw pixels: standardize X first with the "
            "TRAINING mean and std stored in params, (X - params['mean']) / params['std']",
            relation=_labels_like(lambda params, X: _labels(params, X))),
    Mistake("no relu", "the prediction of the network without the ReLU in the hidden layer: "
            "apply relu_forward to the first layer's output",
            relation=_labels_like(lambda params, X: _labels(
                params, _standardized(params, X), relu=False))),
    # The standardization of training done again on the images given (its guard against a
    # standard deviation of 0 as in the recipe, 0.1, or a tiny one).
    Mistake("own statistics", "the prediction from X standardized with its own mean and std: use "
            "the training mean and std stored in params (a single image has no std at all)",
            relation=_labels_like(*(
                lambda params, X, guard=guard: _labels(
                    params, (X - X.mean(axis=0)) / (X.std(axis=0) + guard)) if len(X) > 1 else None
                for guard in (0.1, 1e-12)))),
]


# ----------------------------------------------------------------------------- relu_forward
RELU_NP_MAX = [
    Mistake("np.max", "np.max(x, 0), the largest entry along axis 0 (a reduction): the ReLU is "
            "np.maximum(x, 0), entry by entry", lambda x: np.max(x, axis=0)),
]
