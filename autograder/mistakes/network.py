"""Known mistakes of the two-layer network and of full-batch gradient descent (notebook 8).

Inputs, as the graded functions get them: ``(X, y, params)`` for ``two_layer_loss`` (X (N, D),
y the N integer labels, params "W1" (D, H), "b1" (H,), "W2" (H, C), "b2" (C,)), and
``(loss_fn, X, y, params, learning_rate, epochs)`` for ``gradient_descent``.

:data:`TWO_LAYER_LOSS` computes a mistaken loss (one number); ``TWO_LAYER_GRADS[key]`` a
mistaken gradient of ``params[key]``; :data:`GRADIENT_DESCENT` the parameters a mistaken loop
ends with (a dict, compared key by key); :data:`GRADIENT_DESCENT_LOSSES` the list of losses a
mistaken loop records. Names inside the network: ``a = X W1 + b1`` the first layer's output
(the ReLU's input), ``h = relu(a)``, ``scores = h W2 + b2``, ``dscores`` the loss's gradient,
``dh = dscores W2^T`` the gradient reaching the ReLU. A mistake that would coincide with the
right answer for some inputs (one step of a one-epoch loop) gives ``None`` there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.numeric import MATCH, Tolerance, close

from . import Mistake

__all__ = ["GRADIENT_DESCENT", "GRADIENT_DESCENT_LOSSES", "TWO_LAYER_GRADS", "TWO_LAYER_LOSS"]

Params = Mapping[str, Any]


def _arrays(params: Params) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


def _cross_entropy(scores: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy of ``scores`` and its gradient (the mean over the N rows): the loss
    the network's mistakes feed their scores to (notebook 8 takes it from bplib)."""
    scores = np.asarray(scores, dtype=np.float64)
    n, rows = scores.shape[0], np.arange(scores.shape[0])
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(scores.shape[1])[np.asarray(y)]
    return float(-logp[rows, y].mean()), (np.exp(logp) - onehot) / n


def _layers(X: Any, y: Any, params: Params) -> dict[str, np.ndarray]:
    """The forward pass's arrays and the gradients reaching the scores and the ReLU's output."""
    p = _arrays(params)
    X = np.asarray(X, dtype=np.float64)
    a = X @ p["W1"] + p["b1"]
    h = np.maximum(a, 0.0)
    scores = h @ p["W2"] + p["b2"]
    _, dscores = _cross_entropy(scores, y)
    return {"X": X, "a": a, "h": h, "scores": scores, "dscores": dscores,
            "dh": dscores @ p["W2"].T}


def _linear_grads(X: Any, y: Any, params: Params) -> dict[str, np.ndarray]:
    """The gradients of the network with the ReLU left out: affine -> affine -> loss."""
    p = _arrays(params)
    X = np.asarray(X, dtype=np.float64)
    a = X @ p["W1"] + p["b1"]
    _, dscores = _cross_entropy(a @ p["W2"] + p["b2"], y)
    da = dscores @ p["W2"].T
    return {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": a.T @ dscores, "b2": dscores.sum(axis=0)}


_LINEAR = ("the {what} of the network WITHOUT the ReLU: apply relu to the first layer's output "
           "before the second affine layer")

TWO_LAYER_LOSS = [
    Mistake("no relu", _LINEAR.format(what="loss"),
            lambda X, y, params: _cross_entropy(
                (lambda p: (np.asarray(X, dtype=np.float64) @ p["W1"] + p["b1"]) @ p["W2"]
                 + p["b2"])(_arrays(params)), y)[0]),
    Mistake("relu on scores", "the loss with a ReLU after the second layer too: the scores go "
            "into the loss as they are",
            lambda X, y, params: _cross_entropy(np.maximum(_layers(X, y, params)["scores"], 0.0),
                                                y)[0]),
]


def _first_layer(key: str, da: Callable[[dict[str, np.ndarray]], np.ndarray | None]
                 ) -> Callable[..., np.ndarray | None]:
    """A mistaken gradient of W1 or b1, from a mistaken ``da`` (the ReLU's backward)."""

    def result(X: Any, y: Any, params: Params) -> np.ndarray | None:
        layers = _layers(X, y, params)
        wrong = da(layers)
        if wrong is None:
            return None
        return layers["X"].T @ wrong if key == "W1" else wrong.sum(axis=0)

    return result


def _relu_mistakes(key: str) -> list[Mistake]:
    """The ReLU's backward done wrong, carried into the first layer's gradient ``key``."""
    return [  # at the kink first: a check reaches a kink only after the ordinary cases passed
        Mistake("passes at 0", "the gradient passed through the ReLU where its input a == 0 "
                "exactly: at the kink the convention is 0, so the mask is a > 0 (not a >= 0)",
                _first_layer(key, lambda m: m["dh"] * (m["a"] >= 0) if np.any(m["a"] == 0)
                             else None)),
        Mistake("no relu backward", "the gradient without the ReLU's backward: dh must be masked "
                "where the ReLU's input a <= 0 (da = dh * (a > 0)) before it reaches the first "
                "layer", _first_layer(key, lambda m: m["dh"])),
        Mistake("mask on dh", "masked by the sign of the upstream gradient dh; the ReLU's mask "
                "comes from its INPUT a: da = dh * (a > 0)",
                _first_layer(key, lambda m: m["dh"] * (m["dh"] > 0))),
        Mistake("times h", "dh multiplied by the activations h; the ReLU's local derivative is 1 "
                "where a > 0 and 0 elsewhere, not h", _first_layer(key, lambda m: m["dh"] * m["h"])),
        Mistake("mask inverted", "masked where a < 0 instead of where a > 0: the gradient passes "
                "where the unit was active", _first_layer(key, lambda m: m["dh"] * (m["a"] < 0))),
    ]


def _linear(key: str) -> Mistake:
    return Mistake("no relu", _LINEAR.format(what="gradient") + ", and mask by a > 0 on the way "
                   "back", lambda X, y, params: _linear_grads(X, y, params)[key])


TWO_LAYER_GRADS: dict[str, list[Mistake]] = {
    "W2": [
        _linear("W2"),
        Mistake("pre-activation", "a.T @ dscores, with a the hidden layer BEFORE the ReLU; the "
                "second layer's input is h = relu(a), so dW2 = h.T @ dscores",
                lambda X, y, params: (lambda m: m["a"].T @ m["dscores"])(_layers(X, y, params))),
        Mistake("input X", "X.T @ dscores: the second layer's backward got the first layer's "
                "cache (its input X); the second layer's input is h = relu(a), so dW2 = "
                "h.T @ dscores",
                lambda X, y, params: (lambda m: m["X"].T @ m["dscores"])(_layers(X, y, params))),
    ],
    "b2": [
        _linear("b2"),
        Mistake("mean", "the mean of dscores over the batch; db2 is their SUM (the 1/N is already "
                "in dscores)", lambda X, y, params: _layers(X, y, params)["dscores"].mean(axis=0)
                if np.shape(X)[0] > 1 else None),
    ],
    "W1": [_linear("W1"), *_relu_mistakes("W1")],
    "b1": [
        _linear("b1"),
        *_relu_mistakes("b1"),
        Mistake("mean", "the mean over the batch; db1 is the SUM of da over the N examples",
                lambda X, y, params: (lambda m: (m["dh"] * (m["a"] > 0)).mean(axis=0))(
                    _layers(X, y, params)) if np.shape(X)[0] > 1 else None),
    ],
}


@dataclass(frozen=True)
class _ParamsMistake(Mistake):
    """A mistake whose result is a dict of parameters: it matches an answer with the same keys
    and every value close."""

    def matches(self, got: Any, inputs: tuple[Any, ...], want: Any = None,
                tol: Tolerance = MATCH) -> bool:
        value = self.value(*inputs)
        return (isinstance(value, Mapping) and isinstance(got, Mapping)
                and set(got) == set(value)
                and all(close(got[k], value[k], tol) for k in value))


_LOOP_MISTAKES = ("uphill", "no learning rate", "one step", "stale gradient", "loss after step")


def _descend(mistake: str, loss_fn: Callable[..., Any], X: Any, y: Any, params: Params,
             learning_rate: float, epochs: int) -> tuple[dict[str, np.ndarray], list[float]]:
    """(params, losses) of a gradient-descent loop with one of :data:`_LOOP_MISTAKES`."""
    if mistake not in _LOOP_MISTAKES:
        raise ValueError(f"not a known mistake: {mistake!r}")
    params = _arrays(params)
    losses: list[float] = []
    first = loss_fn(X, y, params)
    for _ in range(1 if mistake == "one step" else int(epochs)):
        loss, grads = first if mistake == "stale gradient" else loss_fn(X, y, params)
        step = -1.0 if mistake == "uphill" else 1.0
        rate = 1.0 if mistake == "no learning rate" else learning_rate
        params = {k: params[k] - step * rate * np.asarray(grads[k], dtype=np.float64)
                  for k in params}
        losses.append(float(loss_fn(X, y, params)[0] if mistake == "loss after step" else loss))
    return params, losses


def _params_of(mistake: str) -> Callable[..., dict[str, np.ndarray] | None]:
    def result(loss_fn: Any, X: Any, y: Any, params: Params, learning_rate: float,
               epochs: int) -> dict[str, np.ndarray] | None:
        if mistake in ("one step", "stale gradient") and epochs < 2:
            return None  # one epoch of these is the right loop
        if mistake == "no learning rate" and learning_rate == 1:
            return None
        return _descend(mistake, loss_fn, X, y, params, learning_rate, epochs)[0]

    return result


def _losses_of(mistake: str) -> Callable[..., list[float] | None]:
    def result(loss_fn: Any, X: Any, y: Any, params: Params, learning_rate: float,
               epochs: int) -> list[float] | None:
        if mistake in ("one step", "stale gradient") and epochs < 2:
            return None
        return _descend(mistake, loss_fn, X, y, params, learning_rate, epochs)[1]

    return result


GRADIENT_DESCENT = [
    _ParamsMistake("uphill", "params + learning_rate * grads: that climbs UP the loss; step "
                   "against the gradient, params - learning_rate * grads", _params_of("uphill")),
    _ParamsMistake("no learning rate", "params - grads: the learning rate is missing from the "
                   "update", _params_of("no learning rate")),
    _ParamsMistake("one step", "the parameters after ONE step: every epoch must compute the "
                   "gradient at the current parameters and step again", _params_of("one step")),
    _ParamsMistake("stale gradient", "the gradient of the STARTING parameters, reused at every "
                   "step: call loss_fn inside the loop, at the current parameters",
                   _params_of("stale gradient")),
]

GRADIENT_DESCENT_LOSSES = [
    Mistake("loss after step", "the loss AFTER each step; record the loss that loss_fn returns "
            "together with the gradient, before the update", _losses_of("loss after step")),
    Mistake("one step", "a single loss: the loop stops after ONE step (is the return inside the "
            "loop?); every epoch takes a step and records its loss", _losses_of("one step")),
    Mistake("stale gradient", "the loss of the STARTING parameters at every step: call loss_fn "
            "inside the loop, at the current parameters, and record what it returns",
            _losses_of("stale gradient")),
]
