"""Graded checks of notebook 08 (multilayer network): the loss and gradients of a two-layer
network (affine -> ReLU -> affine -> softmax cross-entropy) and a full-batch gradient-descent
loop, trained on XOR.

Dimension legend: N batch, D in, H hidden, C classes.

``two_layer_loss`` is compared with the same network composed here from :mod:`bplib` pieces,
and each of its gradients with the numerical gradient of that reference. ``gradient_descent`` is
run on loss functions the check provides (``learner.function``: defined and run in the check's
process, the learner's code calls them back), so it is graded independently of the learner's own
network.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.framework import (
    Learner,
    as_array,
    as_tuple,
    check,
    check_table,
    describe,
    helper,
)
from autograder.mistakes import HINT, hint
from autograder.mistakes.network import (
    GRADIENT_DESCENT,
    GRADIENT_DESCENT_LOSSES,
    TWO_LAYER_GRADS,
    TWO_LAYER_LOSS,
)
from autograder.numeric import EXACT, Tolerance, close, differing, worst_entry
from bplib import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    softmax_cross_entropy_loss,
)
from bplib.gradcheck import CheckError, check_gradient, numerical_gradient

__all__: list[str] = []  # checks register themselves; nothing here is for import

A = "08-multilayer-network"
KEYS = ("W1", "b1", "W2", "b2")

Params = dict[str, np.ndarray]


# ----------------------------------------------------------------------------- the reference
def _reference(X: np.ndarray, y: np.ndarray, params: Params) -> tuple[float, Params]:
    """The network composed from bplib: (loss, grads)."""
    a, cache1 = affine_forward(X, params["W1"], params["b1"])
    h, cache_relu = relu_forward(a)
    scores, cache2 = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    dh, dW2, db2 = affine_backward(dscores, cache2)
    da = relu_backward(dh, cache_relu)
    _, dW1, db1 = affine_backward(da, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _reference_loss(X: np.ndarray, y: np.ndarray, params: Params) -> float:
    return _reference(X, y, params)[0]


def _worked_example() -> tuple[np.ndarray, np.ndarray, Params]:
    return (
        np.array([[1.0, 2.0]]),
        np.array([1]),
        {"W1": np.array([[1.0, -1.0], [0.0, -1.0]]), "b1": np.zeros(2),
         "W2": np.array([[2.0, 0.0], [1.0, 3.0]]), "b2": np.zeros(2)},
    )


def _problem(seed: int, n: int, d: int, h: int, c: int) -> tuple[np.ndarray, np.ndarray, Params]:
    """A random problem whose hidden pre-activations all stay clear of the ReLU's kink at 0
    (a numerical gradient across the kink would be meaningless)."""
    rng = np.random.default_rng(seed)
    while True:
        X = rng.standard_normal((n, d))
        params = {"W1": rng.standard_normal((d, h)), "b1": 0.5 * rng.standard_normal(h),
                  "W2": rng.standard_normal((h, c)), "b2": 0.5 * rng.standard_normal(c)}
        y = rng.integers(0, c, n)
        if np.min(np.abs(X @ params["W1"] + params["b1"])) > 1e-3:
            return X, y, params


def _cases() -> list[tuple[str, tuple[np.ndarray, np.ndarray, Params]]]:
    return [
        ("the worked example", _worked_example()),
        ("N=5, D=3, H=4, C=3", _problem(801, 5, 3, 4, 3)),
        ("N=7, D=2, H=6, C=2", _problem(802, 7, 2, 6, 2)),
        ("one example, N=1, D=4, H=5, C=3", _problem(803, 1, 4, 5, 3)),
        ("N=8, D=5, H=3, C=4", _problem(804, 8, 5, 3, 4)),
    ]


def _copy(params: Params) -> Params:
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}


# ----------------------------------------------------------------------------- two_layer_loss
def _call_loss(learner: Learner, X: np.ndarray, y: np.ndarray, params: Params,
               case: str) -> tuple[float, Any]:
    result = learner.two_layer_loss(X.copy(), y.copy(), _copy(params))
    loss, grads = as_tuple(result, "two_layer_loss", ["loss", "grads"])
    try:
        value = np.asarray(loss, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"two_layer_loss: the loss must be a number, got {describe(loss)}") from None
    if value.size != 1:
        raise CheckError(f"two_layer_loss for {case}: the loss must be one number, got shape {value.shape}")
    return float(value.reshape(())), grads


def _grads_dict(grads: Any, case: str) -> dict[str, Any]:
    if not isinstance(grads, dict):
        raise CheckError(
            f"two_layer_loss for {case}: grads must be a dict with the keys of params "
            f"{list(KEYS)}, got {describe(grads)}"
        )
    if set(grads) != set(KEYS):
        raise CheckError(
            f"two_layer_loss for {case}: grads must have exactly the keys of params {list(KEYS)}, "
            f"got {sorted(map(str, grads))}{HINT}grads[k] is the gradient of params[k] under the "
            "same key, so that the update can be params[k] - learning_rate * grads[k] for every k"
        )
    return grads


@check(A, "test_two_layer_loss_value")
def two_layer_loss_value(learner: Learner) -> None:
    for case, (X, y, params) in _cases():
        loss, _ = _call_loss(learner, X, y, params, case)
        want, _ = _reference(X, y, params)
        if close(loss, want, EXACT):
            continue
        raise CheckError(
            f"two_layer_loss for {case}: the loss should be {want:.10g}, got {loss:.10g}"
            + hint(loss, TWO_LAYER_LOSS, X, y, params, want=want)
        )


def _check_param_grad(learner: Learner, key: str) -> None:
    gname = f"d{key}"
    for case, (X, y, params) in _cases():
        _, grads = _call_loss(learner, X, y, params, case)
        got = _grads_dict(grads, case)[key]
        if got is None:
            raise CheckError(f"two_layer_loss for {case}: grads[{key!r}] is None: compute it and "
                             "put it in the dict")
        got = as_array(got, f"two_layer_loss for {case}: grads[{key!r}]")

        def f(v: np.ndarray, X: np.ndarray = X, y: np.ndarray = y, params: Params = params) -> float:
            return _reference_loss(X, y, {**params, key: v})

        numeric = numerical_gradient(f, params[key].copy())
        if close(got, numeric, Tolerance(1e-6, 1e-9)):
            continue
        named = hint(got, TWO_LAYER_GRADS[key], X, y, params)
        if named:
            ix, yours, expected = worst_entry(got, numeric)
            raise CheckError(
                f"two_layer_loss for {case}: grads[{key!r}] is wrong; at index {list(ix)} yours "
                f"= {yours:.6g}, expected {expected:.6g}{named}"
            )
        try:
            check_gradient(got, numeric, gname, 1e-6, batch_size=X.shape[0])
        except AssertionError as exc:
            raise type(exc)(f"two_layer_loss for {case}, grads[{key!r}]: {exc}") from None
    if key in ("W1", "b1"):
        _check_kink(learner, key)
    # As in the notebook: the gradient must also be that of the loss your own function returns.
    X, y, params = _problem(805, 5, 3, 4, 3)

    def own(v: np.ndarray) -> float:
        return _call_loss(learner, X, y, {**params, key: v}, "N=5, D=3, H=4, C=3")[0]

    numeric = numerical_gradient(own, params[key].copy())
    got = _grads_dict(_call_loss(learner, X, y, params, "N=5, D=3, H=4, C=3")[1], "N=5")[key]
    try:
        check_gradient(got, numeric, gname, 1e-6, batch_size=5)
    except AssertionError as exc:
        raise type(exc)(
            f"two_layer_loss, grads[{key!r}] is not the gradient of the loss your function "
            f"returns (compared with centered differences of your own loss): {exc}"
        ) from None


def _kink_problem() -> tuple[np.ndarray, np.ndarray, Params]:
    """A problem with one hidden pre-activation exactly 0: a[0, 0] = 1·0.5 + 2·(-0.25) + 0.

    The values are exact in binary, so the kink is hit exactly, not nearly."""
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0]])
    params = {"W1": np.array([[0.5, 1.0], [-0.25, 1.0]]), "b1": np.array([0.0, 0.25]),
              "W2": np.array([[1.5, -0.5, 0.25], [-1.0, 0.75, 0.5]]), "b2": np.zeros(3)}
    return X, np.array([0, 2, 1]), params


def _check_kink(learner: Learner, key: str) -> None:
    """At a pre-activation exactly 0 the ReLU's gradient is 0 (the notebook's dA = dH ⊙ [A > 0])."""
    X, y, params = _kink_problem()
    case = "a batch whose first example has a hidden pre-activation exactly 0 (the ReLU's kink)"
    got = _grads_dict(_call_loss(learner, X, y, params, case)[1], case)[key]
    got = as_array(got, f"two_layer_loss for {case}: grads[{key!r}]", shape=params[key].shape)
    _, want = _reference(X, y, params)
    if close(got, want[key], EXACT):
        return
    raise CheckError(
        f"two_layer_loss for {case}: grads[{key!r}] is wrong: {differing(got, want[key])}"
        + hint(got, TWO_LAYER_GRADS[key], X, y, params)
    )


check_table(A, {f"test_two_layer_loss_d{key}": functools.partial(_check_param_grad, key=key)
                for key in ("W2", "b2", "W1", "b1")})


# ----------------------------------------------------------------------------- gradient_descent
# Loss functions handed to the learner's gradient_descent, defined from this source in the check's
# process (a lambda: ``learner.function`` evaluates one expression); the learner's code gets
# callbacks to them, never the functions.
_HALF_SQUARES = """(lambda X, y, p: (
    0.5 * sum(float(np.sum(v ** 2)) for v in p.values()),
    {k: np.array(v, dtype=np.float64) for k, v in p.items()},
))"""

_TWO_LAYER = """(lambda X, y, p: (
    a := X @ p["W1"] + p["b1"],
    h := np.maximum(a, 0.0),
    s := h @ p["W2"] + p["b2"],
    z := s - s.max(axis=1, keepdims=True),
    logp := z - np.log(np.exp(z).sum(axis=1, keepdims=True)),
    n := X.shape[0],
    ds := (np.exp(logp) - np.eye(s.shape[1])[y]) / n,
    da := (ds @ p["W2"].T) * (a > 0),
    (float(-logp[np.arange(n), y].mean()),
     {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ ds, "b2": ds.sum(axis=0)}),
)[-1])"""


def _half_squares(X: Any, y: Any, p: Params) -> tuple[float, Params]:
    return 0.5 * sum(float(np.sum(v**2)) for v in p.values()), _copy(p)


def _reference_descent(loss_fn: Callable, X: Any, y: Any, params: Params, lr: float,
                       epochs: int) -> tuple[Params, list[float]]:
    """The specified loop: one step against the gradient per epoch, the loss recorded before."""
    params, losses = _copy(params), []
    for _ in range(epochs):
        loss, grads = loss_fn(X, y, params)
        losses.append(loss)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, losses


def _xor() -> tuple[np.ndarray, np.ndarray]:
    # XOR with the inputs centred at 0: the corners (±1, ±1); label 1 where the signs differ.
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    return X, np.array([0, 1, 1, 0])


def _init(d: int, h: int, c: int, seed: int) -> Params:
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((d, h)), "b1": np.zeros(h),
            "W2": rng.standard_normal((h, c)), "b2": np.zeros(c)}


def _descent_cases(learner: Learner) -> list[tuple[str, Any, Callable, Any, Any, Params, float]]:
    """(case, loss passed to the learner, check-side loss, X, y, start params, learning rate)."""
    X, y, params = _problem(811, 6, 3, 5, 3)
    return [
        ("half_squares with keys W and b", learner.function(_HALF_SQUARES), _half_squares, None,
         None, {"W": np.array([[1.0, -2.0]]), "b": np.array([4.0])}, 0.25),
        ("a two-layer network, N=6, D=3, H=5, C=3", learner.function(_TWO_LAYER), _reference,
         X, y, params, 0.3),
    ]


def _call_descent(learner: Learner, loss_fn: Any, X: Any, y: Any, params: Params, lr: float,
                  epochs: int, case: str) -> tuple[dict, list[float]]:
    result = learner.gradient_descent(loss_fn, None if X is None else X.copy(),
                                      None if y is None else y.copy(), _copy(params), lr, epochs)
    new, losses = as_tuple(result, "gradient_descent", ["params", "losses"])
    if not isinstance(new, dict) or set(new) != set(params):
        got = sorted(map(str, new)) if isinstance(new, dict) else describe(new)
        raise CheckError(
            f"gradient_descent for {case}: the params returned must be a dict with the keys of the "
            f"params passed in, {sorted(params)}; got {got}"
        )
    try:
        losses = [float(v) for v in losses]
    except (TypeError, ValueError):
        raise CheckError(f"gradient_descent for {case}: losses must be a list of numbers, got "
                         f"{describe(losses)}") from None
    return {k: as_array(v, f"gradient_descent for {case}: params[{k!r}]", shape=np.shape(params[k]))
            for k, v in new.items()}, losses


@check(A, "test_gradient_descent_update")
def gradient_descent_update(learner: Learner) -> None:
    for case, handle, ref_fn, X, y, start, lr in _descent_cases(learner):
        for epochs in (0, 1, 2, 5):  # 0 epochs: the parameters come back as they were
            got, _ = _call_descent(learner, handle, X, y, start, lr, epochs, case)
            want, _ = _reference_descent(ref_fn, X, y, start, lr, epochs)
            if all(close(got[k], want[k], EXACT) for k in want):
                continue
            key = next(k for k in want if not close(got[k], want[k], EXACT))
            ix, yours, expected = worst_entry(as_array(got[key], f"params[{key!r}]",
                                                       shape=want[key].shape), want[key])
            raise CheckError(
                f"gradient_descent for {case}, learning_rate={lr}, epochs={epochs}: params[{key!r}]"
                f"{list(ix)} should be {expected:.8g}, got {yours:.8g}"
                + hint(got, GRADIENT_DESCENT, ref_fn, X, y, start, lr, epochs)
            )


@check(A, "test_gradient_descent_losses")
def gradient_descent_losses(learner: Learner) -> None:
    for case, handle, ref_fn, X, y, start, lr in _descent_cases(learner):
        _, losses = _call_descent(learner, handle, X, y, start, lr, 3, case)
        if len(losses) != 3:
            raise CheckError(
                f"gradient_descent for {case}, epochs=3: losses must hold one loss per epoch (3), "
                f"got {len(losses)}"
                + hint(losses, GRADIENT_DESCENT_LOSSES, ref_fn, X, y, start, lr, 3)
            )
        # losses[t] is the loss at the parameters YOUR loop had reached after t steps.
        reached = [start] + [_call_descent(learner, handle, X, y, start, lr, t, case)[0]
                             for t in (1, 2)]
        for t in range(3):
            at = ref_fn(X, y, reached[t])[0]
            if close(losses[t], at, EXACT):
                continue
            raise CheckError(
                f"gradient_descent for {case}: losses[{t}] should be the loss before step {t + 1}, "
                f"{at:.8g}, got {losses[t]:.8g}"
                + hint(losses, GRADIENT_DESCENT_LOSSES, ref_fn, X, y, start, lr, 3)
            )


@check(A, "test_gradient_descent_inputs_unchanged")
def gradient_descent_inputs_unchanged(learner: Learner) -> None:
    for case, handle, _, X, y, start, lr in _descent_cases(learner):
        mine = _copy(start)
        result = learner.gradient_descent(handle, None if X is None else X.copy(),
                                          None if y is None else y.copy(), mine, lr, 2)
        if result is None:
            raise CheckError("gradient_descent returned None: is a `return` missing?")
        changed = [k for k in start if not np.array_equal(np.asarray(mine[k]), start[k])]
        if set(mine) != set(start) or changed:
            raise CheckError(
                f"gradient_descent for {case}: the params passed in were changed "
                f"({', '.join(changed) or 'keys added or removed'})\n  hint: an update such as "
                "params[k] -= learning_rate * grads[k] writes into the caller's arrays; build new "
                "arrays instead: params[k] - learning_rate * grads[k], in a new dict"
            )


_PRODUCT_FEATURES = """(lambda X, y, p: (
    f := np.column_stack([X, X[:, 0] * X[:, 1]]),
    s := f @ p["W"] + p["b"],
    z := s - s.max(axis=1, keepdims=True),
    logp := z - np.log(np.exp(z).sum(axis=1, keepdims=True)),
    n := X.shape[0],
    ds := (np.exp(logp) - np.eye(s.shape[1])[y]) / n,
    (float(-logp[np.arange(n), y].mean()), {"W": f.T @ ds, "b": ds.sum(axis=0)}),
)[-1])"""


@check(A, "test_gradient_descent_xor")
def gradient_descent_xor(learner: Learner) -> None:
    X, y = _xor()
    # The notebook's visible case: a linear layer on the features (x1, x2, x1·x2), from zeros.
    start = {"W": np.zeros((3, 2)), "b": np.zeros(2)}
    got, losses = _call_descent(learner, learner.function(_PRODUCT_FEATURES), X, y, start, 0.5,
                                100, "XOR with the product feature")
    features = np.column_stack([X, X[:, 0] * X[:, 1]])
    accuracy = float(np.mean(np.argmax(features @ got["W"] + got["b"], axis=1) == y))
    if accuracy != 1.0:
        named = hint(got, GRADIENT_DESCENT, helper(_PRODUCT_FEATURES), X, y, start, 0.5, 100)
        if not named and losses and not losses[-1] < losses[0]:
            named = (f"{HINT}the loss did not go down: the update must step against the gradient, "
                     "params - learning_rate * grads")
        raise CheckError(
            f"gradient_descent on XOR with the product feature x1·x2 (learning_rate=0.5, 100 "
            f"epochs): accuracy {accuracy:.0%}, expected 100%{named}"
        )
    handle = learner.function(_TWO_LAYER)
    for seed in (0, 1, 2):
        start = _init(2, 8, 2, seed)
        got, losses = _call_descent(learner, handle, X, y, start, 0.5, 500,
                                    f"XOR, seed {seed}")
        scores = np.maximum(X @ got["W1"] + got["b1"], 0) @ got["W2"] + got["b2"]
        accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
        if accuracy == 1.0:
            continue
        first = _reference(X, y, start)[0]
        final = _reference(X, y, got)[0] if all(np.all(np.isfinite(v)) for v in got.values()) \
            else float("nan")
        # (the notebook's visible test trains no network: the update test names loop mistakes)
        named = "" if final <= first else (
            f"{HINT}the loss did not go down: every epoch must step against the gradient at the "
            "CURRENT parameters, params - learning_rate * grads")
        raise CheckError(
            f"gradient_descent on XOR (8 hidden units, seed {seed}, learning_rate=0.5, 500 epochs): "
            f"accuracy {accuracy:.0%}, expected 100%; the loss went from {first:.4g} to {final:.4g}"
            + named
        )
