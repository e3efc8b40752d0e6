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

from autograder.framework import Learner, as_array, check, check_table, describe
from autograder.mistakes import which
from autograder.mistakes.activations import RELU_BACKWARD
from autograder.numeric import EXACT, Tolerance, close, differing
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
def _reference(X: np.ndarray, y: np.ndarray, params: Params) -> tuple[float, Params, dict]:
    """The network composed from bplib; also returns intermediates for recognising mistakes."""
    a, cache1 = affine_forward(X, params["W1"], params["b1"])
    h, cache_relu = relu_forward(a)
    scores, cache2 = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy_loss(scores, y)
    dh, dW2, db2 = affine_backward(dscores, cache2)
    da = relu_backward(dh, cache_relu)
    _, dW1, db1 = affine_backward(da, cache1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return loss, grads, {"a": a, "h": h, "scores": scores, "dscores": dscores, "dh": dh}


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
    if result is None:
        raise CheckError("two_layer_loss returned None: is a `return` missing?")
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckError(f"two_layer_loss must return the pair (loss, grads), got {describe(result)}")
    loss, grads = result
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
            f"got {sorted(map(str, grads))}\n  hint: grads[k] is the gradient of params[k] under the "
            "same key, so that the update can be params[k] - learning_rate * grads[k] for every k"
        )
    return grads


@check(A, "test_two_layer_loss_value")
def two_layer_loss_value(learner: Learner) -> None:
    for case, (X, y, params) in _cases():
        loss, _ = _call_loss(learner, X, y, params, case)
        want, _, mid = _reference(X, y, params)
        if np.isclose(loss, want, rtol=1e-9, atol=1e-12):
            continue
        linear, _ = softmax_cross_entropy_loss(mid["a"] @ params["W2"] + params["b2"], y)
        relu_scores, _ = softmax_cross_entropy_loss(np.maximum(mid["scores"], 0), y)
        slips = [
            ("the loss of the network WITHOUT the ReLU: apply relu to the first layer's output "
             "before the second affine layer", linear),
            ("a ReLU after the second layer too: the scores go into the loss as they are",
             relu_scores),
        ]
        hint = which(loss, slips, EXACT)
        raise CheckError(
            f"two_layer_loss for {case}: the loss should be {want:.10g}, got {loss:.10g}"
            + (f"\n  hint: yours is {hint}" if hint else "")
        )


def _grad_slips(key: str, X: np.ndarray, params: Params, mid: dict) -> list[tuple[str, np.ndarray]]:
    a, h, ds, dh = mid["a"], mid["h"], mid["dscores"], mid["dh"]
    if key == "W2":
        return [("a.T @ dscores, with a the hidden layer BEFORE the ReLU; the second layer's input "
                 "is h = relu(a), so dW2 = h.T @ dscores", a.T @ ds)]
    if key == "b2":
        return [("the mean of dscores over the batch; db2 is their SUM (the 1/N is already in "
                 "dscores)", ds.mean(axis=0))]
    no_relu, on_dh, times_h = dh, dh * (dh > 0), dh * h
    slips = {
        "no relu": ("the gradient without the ReLU's backward: dh must be masked where the ReLU's "
                    "input a <= 0 (da = dh * (a > 0)) before it reaches the first layer"),
        "on dh": ("masked by the sign of the upstream gradient dh; the ReLU's mask comes from its "
                  "INPUT a: da = dh * (a > 0)"),
        "times h": ("dh multiplied by the activations h; the ReLU's local derivative is 1 where "
                    "a > 0 and 0 elsewhere, not h"),
    }
    pick = (lambda da: X.T @ da) if key == "W1" else (lambda da: da.sum(axis=0))
    out = [(slips["no relu"], pick(no_relu)), (slips["on dh"], pick(on_dh)),
           (slips["times h"], pick(times_h))]
    if key == "b1":
        out.append(("the mean over the batch; db1 is the SUM of da over the N examples",
                    (dh * (a > 0)).mean(axis=0)))
    return out


def _check_param_grad(learner: Learner, key: str) -> None:
    gname = f"d{key}"
    for case, (X, y, params) in _cases():
        _, grads = _call_loss(learner, X, y, params, case)
        got = _grads_dict(grads, case)[key]
        if got is None:
            raise CheckError(f"two_layer_loss for {case}: grads[{key!r}] is None")
        got = np.asarray(got, dtype=np.float64)

        def f(v: np.ndarray, X: np.ndarray = X, y: np.ndarray = y, params: Params = params) -> float:
            return _reference_loss(X, y, {**params, key: v})

        numeric = numerical_gradient(f, params[key].copy())
        if got.shape == numeric.shape and np.allclose(got, numeric, rtol=1e-6, atol=1e-9):
            continue
        _, _, mid = _reference(X, y, params)
        slips = [(text, value) for text, value in _grad_slips(key, X, params, mid)
                 if not close(value, numeric, Tolerance(1e-6, 1e-9))]
        text = which(got, slips, Tolerance(1e-7, 1e-12))
        if text:
            raise CheckError(
                f"two_layer_loss for {case}: grads[{key!r}] is wrong\n  hint: yours is {text}"
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
    _, want, mid = _reference(X, y, params)
    if close(got, want[key], EXACT):
        return
    pick = (lambda da: X.T @ da) if key == "W1" else (lambda da: da.sum(axis=0))
    # a ReLU mistake of the catalogue, carried through the first layer's backward
    mistake = next((m for m in RELU_BACKWARD if m.value(mid["a"], mid["dh"]) is not None
                    and close(got, pick(m.value(mid["a"], mid["dh"])), EXACT)), None)
    raise CheckError(
        f"two_layer_loss for {case}: grads[{key!r}] is wrong: {differing(got, want[key])}"
        + (f"\n  hint: yours is {mistake.message}" if mistake else "")
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


def _two_layer(X: np.ndarray, y: np.ndarray, p: Params) -> tuple[float, Params]:
    loss, grads, _ = _reference(X, y, p)
    return loss, grads


def _reference_descent(loss_fn: Callable, X: Any, y: Any, params: Params, lr: float,
                       epochs: int, sign: float = 1.0,
                       stale: bool = False) -> tuple[Params, list[float]]:
    """Gradient descent; ``sign=-1`` climbs and ``stale`` reuses the first gradient (mistakes)."""
    params, losses = _copy(params), []
    first = loss_fn(X, y, params)
    for _ in range(epochs):
        loss, grads = first if stale else loss_fn(X, y, params)
        losses.append(loss)
        params = {k: params[k] - sign * lr * grads[k] for k in params}
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
        ("a two-layer network, N=6, D=3, H=5, C=3", learner.function(_TWO_LAYER), _two_layer,
         X, y, params, 0.3),
    ]


def _call_descent(learner: Learner, loss_fn: Any, X: Any, y: Any, params: Params, lr: float,
                  epochs: int, case: str) -> tuple[dict, list[float]]:
    result = learner.gradient_descent(loss_fn, None if X is None else X.copy(),
                                      None if y is None else y.copy(), _copy(params), lr, epochs)
    if result is None:
        raise CheckError("gradient_descent returned None: is a `return` missing?")
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckError("gradient_descent must return the pair (params, losses)")
    new, losses = result
    if not isinstance(new, dict) or set(new) != set(params):
        got = sorted(map(str, new)) if isinstance(new, dict) else describe(new)
        raise CheckError(
            f"gradient_descent for {case}: the params returned must be a dict with the keys of the "
            f"params passed in, {sorted(params)}; got {got}"
        )
    try:
        losses = [float(v) for v in losses]
    except (TypeError, ValueError):
        raise CheckError(f"gradient_descent for {case}: losses must be a list of numbers") from None
    return {k: np.asarray(v, dtype=np.float64) for k, v in new.items()}, losses


@check(A, "test_gradient_descent_update")
def gradient_descent_update(learner: Learner) -> None:
    for case, handle, ref_fn, X, y, start, lr in _descent_cases(learner):
        for epochs in (1, 2, 5):
            got, _ = _call_descent(learner, handle, X, y, start, lr, epochs, case)
            want, _ = _reference_descent(ref_fn, X, y, start, lr, epochs)
            if all(np.allclose(got[k], want[k], rtol=1e-9, atol=1e-12) for k in want):
                continue
            slips = [
                ("params + learning_rate * grads: that climbs UP the loss; step against the "
                 "gradient, params - learning_rate * grads",
                 _reference_descent(ref_fn, X, y, start, lr, epochs, sign=-1.0)[0]),
                ("params - grads: the learning rate is missing from the update",
                 _reference_descent(ref_fn, X, y, start, 1.0, epochs)[0]),
                ("the parameters after ONE step: every epoch must compute the gradient at the "
                 "current parameters and step again", _reference_descent(ref_fn, X, y, start, lr, 1)[0]),
                ("the gradient of the STARTING parameters, reused at every step: call loss_fn "
                 "inside the loop, at the current parameters",
                 _reference_descent(ref_fn, X, y, start, lr, epochs, stale=True)[0]),
            ]
            hint = next((text for text, value in slips
                         if all(close(got[k], value[k], EXACT) for k in value)), "")
            key = next(k for k in want if not np.allclose(got[k], want[k], rtol=1e-9, atol=1e-12))
            ix = np.unravel_index(int(np.argmax(np.abs(got[key] - want[key]))), want[key].shape)
            raise CheckError(
                f"gradient_descent for {case}, learning_rate={lr}, epochs={epochs}: params[{key!r}]"
                f"{list(map(int, ix))} should be {want[key][ix]:.8g}, got {got[key][ix]:.8g}"
                + (f"\n  hint: yours is {hint}" if hint else "")
            )


@check(A, "test_gradient_descent_losses")
def gradient_descent_losses(learner: Learner) -> None:
    for case, handle, ref_fn, X, y, start, lr in _descent_cases(learner):
        _, losses = _call_descent(learner, handle, X, y, start, lr, 3, case)
        if len(losses) != 3:
            raise CheckError(
                f"gradient_descent for {case}, epochs=3: losses must hold one loss per epoch (3), "
                f"got {len(losses)}"
            )
        # losses[t] is the loss at the parameters YOUR loop had reached after t steps.
        reached = [start] + [_call_descent(learner, handle, X, y, start, lr, t, case)[0]
                             for t in (1, 2, 3)]
        at = [ref_fn(X, y, p)[0] for p in reached]
        for t in range(3):
            if np.isclose(losses[t], at[t], rtol=1e-9, atol=1e-12):
                continue
            hint = ""
            if np.isclose(losses[t], at[t + 1], rtol=1e-9, atol=1e-12):
                hint = ("that is the loss AFTER step t; record the loss that loss_fn returns "
                        "together with the gradient, before the update")
            raise CheckError(
                f"gradient_descent for {case}: losses[{t}] should be the loss before step {t + 1}, "
                f"{at[t]:.8g}, got {losses[t]:.8g}" + (f"\n  hint: {hint}" if hint else "")
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
    got, losses = _call_descent(learner, learner.function(_PRODUCT_FEATURES), X, y,
                                {"W": np.zeros((3, 2)), "b": np.zeros(2)}, 0.5, 100,
                                "XOR with the product feature")
    features = np.column_stack([X, X[:, 0] * X[:, 1]])
    accuracy = float(np.mean(np.argmax(features @ got["W"] + got["b"], axis=1) == y))
    if accuracy != 1.0:
        raise CheckError(
            f"gradient_descent on XOR with the product feature x1·x2 (learning_rate=0.5, 100 "
            f"epochs): accuracy {accuracy:.0%}, expected 100%"
            + ("\n  hint: the update must step against the gradient, params - learning_rate * "
               "grads" if losses and not losses[-1] < losses[0] else "")
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
        first = _two_layer(X, y, start)[0]
        final = _two_layer(X, y, got)[0] if all(np.all(np.isfinite(v)) for v in got.values()) \
            else float("nan")
        hint = ""
        if not final <= first:
            hint = ("the loss did not go down: every epoch must step against the gradient at "
                    "the CURRENT parameters, params - learning_rate * grads")
        raise CheckError(
            f"gradient_descent on XOR (8 hidden units, seed {seed}, learning_rate=0.5, 500 epochs): "
            f"accuracy {accuracy:.0%}, expected 100%; the loss went from {first:.4g} to {final:.4g}"
            + (f"\n  hint: {hint}" if hint else "")
        )
