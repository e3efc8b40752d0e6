"""Graded checks of notebook 14 (recurrent networks): the vanilla RNN step and sequence, forward
and backward (backpropagation through time), the LSTM step and sequence, and clipping by the norm.

One check per graded test cell; each starts with the cell's visible case (the same seeded draws
as the notebook's ``random_case``) and adds hidden ones: other shapes, a batch of one example,
one time step, a square ``D = H``, longer sequences, larger weights, a gradient of zeros.

Forward values are compared with :mod:`bplib.rnn`. The learner chooses the caches, so every
backward pass is fed the cache of the learner's own forward pass, and its gradients are compared
with numerical gradients of bplib's forward pass at the same inputs: a backward pass only scores
when it is the gradient of the right function. Before that, the learner's forward output on the
case is compared with bplib's (the notebook's ``forward_first``): when it is wrong, the backward
check fails saying so, and names no backward mistake. A known mistake is named by the catalogue
(:mod:`autograder.mistakes.rnn`) through :func:`~autograder.mistakes.diagnosed`, exactly as the
notebook's visible tests do.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.framework import Learner, as_tuple, check, describe, kept
from autograder.mistakes import Mistake, diagnosed
from autograder.mistakes.rnn import (
    CLIP_GRAD_NORM,
    CLIP_TOTAL_NORM,
    LSTM_BACKWARD,
    LSTM_FORWARD,
    LSTM_GRADS,
    LSTM_STEP_BACKWARD,
    LSTM_STEP_FORWARD,
    RNN_BACKWARD,
    RNN_FORWARD,
    RNN_GRADS,
    RNN_STEP_BACKWARD,
    RNN_STEP_FORWARD,
    SEQ_GRADS,
    joined,
)
from autograder.numeric import Tolerance, close, quiet
from bplib import optim
from bplib import rnn as ref
from bplib.gradcheck import CheckError, assert_close, check_gradient, numerical_gradient_array

__all__: list[str] = []  # checks register themselves; nothing here is for import

NB = "14-recurrent"

VALUES = Tolerance(1e-8, 1e-10)  # forward values: a right implementation agrees to rounding error
GATE = Tolerance(1e-6, 1e-8)  # "is the forward pass right?" before a backward check (the notebook's)
GRAD_TOL = 1e-6  # centered differences of these small networks are good to about 1e-9
CLIP = Tolerance(1e-5, 1e-10)  # max_norm / (norm + 1e-6), as PyTorch writes it, is right too

Case = tuple[np.ndarray, ...]


def _case(seed: int, n: int, d: int, hidden: int, steps: int | None = None, gates: int = 1,
          cell: bool = False, scale: float = 0.5) -> Case:
    """The notebook's ``random_case``: the same draws, in the same order."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d) if steps is None else (n, steps, d))
    h = rng.standard_normal((n, hidden))
    Wx = scale * rng.standard_normal((d, gates * hidden))
    Wh = scale * rng.standard_normal((hidden, gates * hidden))
    b = scale * rng.standard_normal(gates * hidden)
    if cell:
        return x, h, rng.standard_normal((n, hidden)), Wx, Wh, b
    return x, h, Wx, Wh, b


def _upstream(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def _where(function: str, names: Sequence[str], arrays: Sequence[np.ndarray]) -> str:
    shown = ", ".join(f"{name} {np.shape(a)}" for name, a in zip(names, arrays, strict=True))
    return f"{function}({shown})"


_NUMERIC: dict[bytes, list[np.ndarray]] = {}  # the reference's numerical gradients, by case


def _numeric(forward: Callable[..., Any], inputs: Case, douts: Sequence[np.ndarray]
             ) -> list[np.ndarray]:
    """Numerical gradients of sum over the outputs of sum(out * dout) through bplib's
    ``forward``, one per input (the notebook's ``numeric_gradients``). They depend on the case
    alone, so each is computed once per grading process, not once per learner."""
    key = hashlib.sha256(forward.__qualname__.encode())
    for a in (*inputs, *douts):
        a = np.ascontiguousarray(a, dtype=np.float64)
        key.update(repr(a.shape).encode() + a.tobytes())
    if (found := _NUMERIC.get(key.digest())) is None:
        found = _NUMERIC[key.digest()] = _numeric_gradients(forward, inputs, douts)
    return [g.copy() for g in found]


def _numeric_gradients(forward: Callable[..., Any], inputs: Case, douts: Sequence[np.ndarray]
                       ) -> list[np.ndarray]:
    flat = np.concatenate([np.ravel(d) for d in douts])

    def outputs(k: int, v: np.ndarray) -> np.ndarray:
        args = list(inputs)
        args[k] = v
        return np.concatenate([np.ravel(o) for o in forward(*args)[:len(douts)]])

    return [numerical_gradient_array(lambda v, k=k: outputs(k, v), np.array(a, dtype=float), flat)
            for k, a in enumerate(inputs)]


def _numeric_one(forward: Callable[..., Any], inputs: Case, douts: Sequence[np.ndarray],
                 k: int) -> np.ndarray:
    """The numerical gradient of input ``k`` alone (for a hint that dout is ignored)."""
    return _numeric(forward, inputs, douts)[k]


def _call(learner: Learner, function: str, args: Sequence[Any], names: Sequence[str],
          returns: Sequence[str], where: str) -> tuple[Any, ...]:
    """The learner's ``function(*args)`` on copies, taken apart into ``returns``; the inputs must
    come back unchanged."""
    given = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    with quiet():
        result = getattr(learner, function)(*given)
    try:
        parts = as_tuple(result, function, list(returns))
    except CheckError as exc:
        raise CheckError(f"{where}: {exc}") from None
    arrays = [(name, a, g) for name, a, g in zip(names, args, given, strict=True)
              if isinstance(a, np.ndarray)]
    changed = kept([g for _, _, g in arrays], [a for _, a, _ in arrays], [n for n, _, _ in arrays])
    if changed is not None:
        example = " (dh[:, t] + dprev_h, not dh[:, t] += dprev_h)" if changed == "dh" else ""
        raise CheckError(
            f"{where} changed its input {changed} in place\n  hint: compute new arrays{example}: "
            f"the caller still needs {changed} as it was"
        )
    return parts


def _compare(got: Any, want: Any, name: str, where: str, table: Sequence[Mistake],
             inputs: Sequence[Any], tol: Tolerance = VALUES, note: str = "") -> None:
    """``got`` must be ``want``; a known mistake is named as the visible test names it."""
    try:
        with diagnosed(table, *inputs, got=got, want=want):
            assert_close(got, want, name, rtol=tol.rtol, atol=tol.atol)
    except CheckError as exc:
        raise CheckError(f"{where}: {exc}{note}") from None


def _gradient(got: Any, numeric: np.ndarray, name: str, where: str, table: Sequence[Mistake],
              inputs: Sequence[Any], batch: int, ones: Callable[[], np.ndarray] | None,
              note: str = "") -> None:
    """The gradient ``got`` must match ``numeric``; a known mistake is named by the catalogue."""
    try:
        with diagnosed(table, *inputs, got=got, want=numeric):
            check_gradient(got, numeric, name, GRAD_TOL, batch_size=batch, numeric_ones=ones)
    except CheckError as exc:
        raise CheckError(f"{where}: {exc}{note}") from None


def _forward_first(ok: bool, function: str, where: str) -> None:
    if not ok:
        raise CheckError(
            f"{where}: your {function} gives wrong values for these inputs, and this backward "
            f"pass is checked through it (with the cache it returns): fix {function} first"
        )


def _zero_upstream(grads: Sequence[Any], names: Sequence[str], wanted: Sequence[str],
                   where: str) -> None:
    for name, grad in zip(names, grads, strict=True):
        if name not in wanted:
            continue
        try:
            with quiet():
                nonzero = bool(np.any(np.asarray(grad, dtype=np.float64)))
        except (TypeError, ValueError):
            nonzero = False  # its form was judged with the random upstream gradient already
        if nonzero:
            raise CheckError(
                f"{where}: with an upstream gradient of zeros, {name} must be all zeros\n  hint: "
                f"every term of {name} must come from the upstream gradient"
            )


# ----------------------------------------------------------------------------- the RNN step

STEP_ARGS = ("x", "prev_h", "Wx", "Wh", "b")
HAND_STEP = (np.array([[1.0, 2.0]]), np.array([[0.5, -1.0]]),
             np.array([[0.5, -0.5], [0.25, 0.0]]), np.array([[1.0, 0.5], [-0.5, 0.0]]),
             np.array([0.0, 0.5]))


def _step_cases() -> list[Case]:
    """Hidden cases of one RNN step: (seed, N, D, H, scale)."""
    return [_case(seed, n, d, h, scale=s) for seed, n, d, h, s in [
        (1401, 1, 3, 2, 0.5), (1402, 4, 2, 4, 0.5), (1403, 2, 5, 5, 0.5), (1404, 3, 3, 3, 2.0),
        (1405, 5, 1, 3, 0.5),
    ]]


@check(NB, "test_rnn_step_forward")
def rnn_step_forward(learner: Learner) -> None:
    """next_h = tanh(x @ Wx + prev_h @ Wh + b), against bplib."""
    for inputs in [HAND_STEP, _case(140, 3, 4, 5), *_step_cases()]:
        where = _where("rnn_step_forward", STEP_ARGS, inputs)
        next_h, _ = _call(learner, "rnn_step_forward", inputs, STEP_ARGS, ["next_h", "cache"], where)
        _compare(next_h, ref.rnn_step_forward(*inputs)[0], "next_h", where, RNN_STEP_FORWARD, inputs)


def _rnn_step_backward(learner: Learner, first: tuple[int, int], names: Sequence[str]) -> None:
    seed, useed = first
    cases = [(_case(seed, 3, 4, 5), useed)] + [(c, 1410 + k) for k, c in enumerate(_step_cases())]
    for inputs, upstream_seed in cases:
        n, hidden = inputs[1].shape
        (dnext,) = _upstream(upstream_seed, (n, hidden))
        where = "rnn_step_backward after " + _where("rnn_step_forward", STEP_ARGS, inputs)
        next_h, cache = _call(learner, "rnn_step_forward", inputs, STEP_ARGS, ["next_h", "cache"],
                              where)
        _forward_first(close(next_h, ref.rnn_step_forward(*inputs)[0], GATE), "rnn_step_forward",
                       where)
        grads = _call(learner, "rnn_step_backward", [dnext, cache], ["dnext_h", "cache"],
                      RNN_GRADS, where)
        numeric = _numeric(ref.rnn_step_forward, inputs, [dnext])
        for name in names:
            k = RNN_GRADS.index(name)
            ones = functools.partial(_numeric_one, ref.rnn_step_forward, inputs,
                                     [np.ones_like(dnext)], k)
            _gradient(grads[k], numeric[k], name, where, RNN_STEP_BACKWARD[name], (*inputs, dnext),
                      n, ones)
        _, cache = _call(learner, "rnn_step_forward", inputs, STEP_ARGS, ["next_h", "cache"], where)
        zero = _call(learner, "rnn_step_backward", [np.zeros_like(dnext), cache],
                     ["dnext_h", "cache"], RNN_GRADS, where)
        _zero_upstream(zero, RNN_GRADS, names, where)


@check(NB, "test_rnn_step_backward_dx_dprev_h")
def rnn_step_backward_dx_dprev_h(learner: Learner) -> None:
    """dx = da Wxᵀ and dprev_h = da Whᵀ with da = dnext_h (1 - next_h²)."""
    _rnn_step_backward(learner, (141, 1410), ["dx", "dprev_h"])


@check(NB, "test_rnn_step_backward_dweights")
def rnn_step_backward_dweights(learner: Learner) -> None:
    """dWx = xᵀ da, dWh = prev_hᵀ da, db = da summed over the batch."""
    _rnn_step_backward(learner, (142, 1420), ["dWx", "dWh", "db"])


# ----------------------------------------------------------------------------- RNN sequences

SEQ_ARGS = ("x", "h0", "Wx", "Wh", "b")
HAND_SEQ = (np.array([[[1.0], [-1.0]]]), np.array([[0.5]]), np.array([[0.5]]), np.array([[1.0]]),
            np.zeros(1))


def _seq_cases(gates: int = 1) -> list[Case]:
    """Hidden sequences: (seed, N, D, H, T)."""
    return [_case(seed, n, d, h, steps=t, gates=gates) for seed, n, d, h, t in [
        (1431, 1, 3, 2, 1), (1432, 3, 2, 4, 6), (1433, 2, 3, 3, 4), (1434, 4, 5, 2, 2),
        (1435, 1, 2, 3, 5),
    ]]


def _cache_of(cache: Any, steps: int, function: str, where: str) -> None:
    if not isinstance(cache, list | tuple) or len(cache) != steps:
        raise CheckError(
            f"{where}: the cache must be the list of the T = {steps} step caches of "
            f"{function}, in time order; got {describe(cache)}"
        )


def _step_note(learner: Learner, kind: str, inputs: Case) -> str:
    """A note when the learner's step functions are wrong on the first step of ``inputs`` (the
    sequence functions call them at every step), else ""."""
    x, h0, Wx, Wh, b = inputs
    ones = np.ones_like(h0)
    try:
        with quiet():
            if kind == "rnn":
                step: Case = (x[:, 0], h0, Wx, Wh, b)
                got_out, cache = learner.rnn_step_forward(*step)[:2]
                want_out, ref_cache = ref.rnn_step_forward(*step)
                wrong = not close(got_out, want_out, GATE)
                if not wrong:
                    got = learner.rnn_step_backward(ones, cache)
                    want = ref.rnn_step_backward(ones, ref_cache)
            else:
                step = (x[:, 0], h0, np.zeros_like(h0), Wx, Wh, b)
                got_h, got_c, cache = learner.lstm_step_forward(*step)[:3]
                want_h, want_c, ref_cache = ref.lstm_step_forward(*step)
                wrong = not (close(got_h, want_h, GATE) and close(got_c, want_c, GATE))
                if not wrong:
                    got = learner.lstm_step_backward(ones, ones, cache)
                    want = ref.lstm_step_backward(ones, ones, ref_cache)
        if wrong:
            return (f"\n  note: your {kind}_step_forward is wrong too (see its own test), and "
                    f"{kind}_forward calls it at every step: fix it first")
        if all(close(g, w, GATE) for g, w in zip(got, want, strict=True)):
            return ""
    except Exception:  # noqa: BLE001 - a step function that fails here earns the note as well
        pass
    return (f"\n  note: your {kind}_step_backward is wrong too (see its own test), and "
            f"{kind}_backward calls it at every step: fix it first")


@check(NB, "test_rnn_forward")
def rnn_forward(learner: Learner) -> None:
    """The states of the whole sequence, each one step on from the last; a list of T caches."""
    for inputs in [HAND_SEQ, _case(143, 2, 4, 3, steps=3), *_seq_cases()]:
        where = _where("rnn_forward", SEQ_ARGS, inputs)
        h, cache = _call(learner, "rnn_forward", inputs, SEQ_ARGS, ["h", "cache"], where)
        want = ref.rnn_forward(*inputs)[0]
        note = "" if close(h, want, VALUES) else _step_note(learner, "rnn", inputs)
        _compare(h, want, "h", where, RNN_FORWARD, inputs, note=note)
        _cache_of(cache, inputs[0].shape[1], "rnn_step_forward", where)


def _sequence_backward(learner: Learner, kind: str, first: tuple[Case, int],
                       names: Sequence[str]) -> None:
    forward, backward = f"{kind}_forward", f"{kind}_backward"
    ref_forward = ref.rnn_forward if kind == "rnn" else ref.lstm_forward
    table = RNN_BACKWARD if kind == "rnn" else LSTM_BACKWARD
    gates = 1 if kind == "rnn" else 4
    cases = [first] + [(c, 1440 + k) for k, c in enumerate(_seq_cases(gates))]
    for inputs, upstream_seed in cases:
        n, steps, _ = inputs[0].shape
        (dh,) = _upstream(upstream_seed, (n, steps, inputs[1].shape[1]))
        where = f"{backward} after " + _where(forward, SEQ_ARGS, inputs)
        h, cache = _call(learner, forward, inputs, SEQ_ARGS, ["h", "cache"], where)
        _forward_first(close(h, ref_forward(*inputs)[0], GATE), forward, where)
        grads = _call(learner, backward, [dh, cache], ["dh", "cache"], SEQ_GRADS, where)
        numeric = _numeric(ref_forward, inputs, [dh])
        note: str | None = None
        for name in names:
            k = SEQ_GRADS.index(name)
            if note is None and not close(grads[k], numeric[k], Tolerance(1e-5, 1e-8)):
                note = _step_note(learner, kind, inputs)
            ones = functools.partial(_numeric_one, ref_forward, inputs, [np.ones_like(dh)], k)
            _gradient(grads[k], numeric[k], name, where, table[name], (*inputs, dh), n, ones,
                      note or "")
        _, cache = _call(learner, forward, inputs, SEQ_ARGS, ["h", "cache"], where)
        zero = _call(learner, backward, [np.zeros_like(dh), cache], ["dh", "cache"], SEQ_GRADS, where)
        _zero_upstream(zero, SEQ_GRADS, names, where)


@check(NB, "test_rnn_backward_dx")
def rnn_backward_dx(learner: Learner) -> None:
    """dx of backpropagation through time: every step hears from the steps after it."""
    _sequence_backward(learner, "rnn", (_case(144, 2, 3, 5, steps=4), 1440), ["dx"])


@check(NB, "test_rnn_backward_dh0")
def rnn_backward_dh0(learner: Learner) -> None:
    """dh0: the dprev_h of step 0, carried back through every step."""
    _sequence_backward(learner, "rnn", (_case(145, 2, 3, 5, steps=4), 1450), ["dh0"])


@check(NB, "test_rnn_backward_dweights")
def rnn_backward_dweights(learner: Learner) -> None:
    """dWx, dWh, db: sums over the time steps."""
    _sequence_backward(learner, "rnn", (_case(146, 2, 3, 5, steps=4), 1460),
                       ["dWx", "dWh", "db"])


# ----------------------------------------------------------------------------- the LSTM step

LSTM_ARGS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
_LN2, _LN3 = np.log(2.0), np.log(3.0)
HAND_LSTM = (np.array([[1.0]]), np.array([[0.4, -0.4]]), np.array([[2.0, -1.0]]),
             np.array([[0.0, 0.0, _LN3, _LN3, -_LN3, -_LN3, _LN2, -_LN2]]), np.full((2, 8), 0.7),
             np.zeros(8))


def _lstm_cases() -> list[Case]:
    """Hidden LSTM steps: (seed, N, D, H, scale)."""
    return [_case(seed, n, d, h, gates=4, cell=True, scale=s) for seed, n, d, h, s in [
        (1471, 1, 2, 2, 0.5), (1472, 4, 3, 5, 0.5), (1473, 3, 4, 4, 0.5), (1474, 2, 1, 3, 1.5),
    ]]


@check(NB, "test_lstm_step_forward")
def lstm_step_forward(learner: Learner) -> None:
    """next_c = f prev_c + i g and next_h = o tanh(next_c), gates in the order i, f, o, g."""
    for inputs in [HAND_LSTM, _case(147, 2, 3, 3, gates=4, cell=True), *_lstm_cases()]:
        where = _where("lstm_step_forward", LSTM_ARGS, inputs)
        next_h, next_c, _ = _call(learner, "lstm_step_forward", inputs, LSTM_ARGS,
                                  ["next_h", "next_c", "cache"], where)
        want_h, want_c, _ = ref.lstm_step_forward(*inputs)
        _compare(next_c, want_c, "next_c", where, LSTM_STEP_FORWARD["next_c"], inputs)
        _compare(next_h, want_h, "next_h", where, LSTM_STEP_FORWARD["next_h"], inputs)


def _lstm_step_backward(learner: Learner, upstream_seed: int, names: Sequence[str]) -> None:
    cases = [(_case(148, 2, 3, 4, gates=4, cell=True), upstream_seed)]
    cases += [(c, 1480 + 10 * k + 5) for k, c in enumerate(_lstm_cases())]
    for inputs, seed in cases:
        n, hidden = inputs[1].shape
        douts = _upstream(seed, (n, hidden), (n, hidden))
        where = "lstm_step_backward after " + _where("lstm_step_forward", LSTM_ARGS, inputs)
        next_h, next_c, cache = _call(learner, "lstm_step_forward", inputs, LSTM_ARGS,
                                      ["next_h", "next_c", "cache"], where)
        want_h, want_c, _ = ref.lstm_step_forward(*inputs)
        _forward_first(close(next_h, want_h, GATE) and close(next_c, want_c, GATE),
                       "lstm_step_forward", where)
        grads = _call(learner, "lstm_step_backward", [*douts, cache],
                      ["dnext_h", "dnext_c", "cache"], LSTM_GRADS, where)
        numeric = _numeric(ref.lstm_step_forward, inputs, douts)
        for name in names:
            k = LSTM_GRADS.index(name)
            ones = functools.partial(_numeric_one, ref.lstm_step_forward, inputs,
                                     [np.ones((n, hidden))] * 2, k)
            _gradient(grads[k], numeric[k], name, where, LSTM_STEP_BACKWARD[name],
                      (*inputs, *douts), n, ones)
        *_, cache = _call(learner, "lstm_step_forward", inputs, LSTM_ARGS,
                          ["next_h", "next_c", "cache"], where)
        zero = _call(learner, "lstm_step_backward", [np.zeros((n, hidden)), np.zeros((n, hidden)),
                                                     cache], ["dnext_h", "dnext_c", "cache"],
                     LSTM_GRADS, where)
        _zero_upstream(zero, LSTM_GRADS, names, where)


@check(NB, "test_lstm_step_backward_dx_dprev_h")
def lstm_step_backward_dx_dprev_h(learner: Learner) -> None:
    """dx and dprev_h through all four gates."""
    _lstm_step_backward(learner, 1480, ["dx", "dprev_h"])


@check(NB, "test_lstm_step_backward_dprev_c")
def lstm_step_backward_dprev_c(learner: Learner) -> None:
    """dprev_c = dc f, with dc = dnext_c + dnext_h o (1 - tanh²(next_c))."""
    _lstm_step_backward(learner, 1481, ["dprev_c"])


@check(NB, "test_lstm_step_backward_dweights")
def lstm_step_backward_dweights(learner: Learner) -> None:
    """dWx, dWh and db from the joined gate gradients (N, 4H)."""
    _lstm_step_backward(learner, 1482, ["dWx", "dWh", "db"])


# ----------------------------------------------------------------------------- LSTM sequences

LSTM_SEQ_CASE = _case(149, 2, 3, 2, steps=3, gates=4)


@check(NB, "test_lstm_forward")
def lstm_forward(learner: Learner) -> None:
    """Both states carried from step to step, from h0 and a zero cell; a list of T caches."""
    for inputs in [LSTM_SEQ_CASE, *_seq_cases(gates=4)]:
        where = _where("lstm_forward", SEQ_ARGS, inputs)
        h, cache = _call(learner, "lstm_forward", inputs, SEQ_ARGS, ["h", "cache"], where)
        want = ref.lstm_forward(*inputs)[0]
        note = "" if close(h, want, VALUES) else _step_note(learner, "lstm", inputs)
        _compare(h, want, "h", where, LSTM_FORWARD, inputs, note=note)
        _cache_of(cache, inputs[0].shape[1], "lstm_step_forward", where)


@check(NB, "test_lstm_backward_dx_dh0")
def lstm_backward_dx_dh0(learner: Learner) -> None:
    """dx and dh0: the hidden state's and the cell's gradients carried back through time."""
    _sequence_backward(learner, "lstm", (LSTM_SEQ_CASE, 1490), ["dx", "dh0"])


@check(NB, "test_lstm_backward_dweights")
def lstm_backward_dweights(learner: Learner) -> None:
    """dWx, dWh, db of the LSTM: sums over the time steps."""
    _sequence_backward(learner, "lstm", (LSTM_SEQ_CASE, 1491), ["dWx", "dWh", "db"])


# ----------------------------------------------------------------------------- clip_grad_norm

VISIBLE_GRADS = {"Wx": np.array([[2.0, -1.0], [0.0, 2.0]]), "b": np.array([0.0, 4.0])}


def _clip_cases() -> list[tuple[dict[str, np.ndarray], float]]:
    """(grads, max_norm): the visible pair, then hidden ones."""
    rng = np.random.default_rng(1500)
    model = {"Wx": 3.0 * rng.standard_normal((4, 5)), "Wh": rng.standard_normal((5, 5)),
             "b": 0.01 * rng.standard_normal(5), "Wy": 0.5 * rng.standard_normal((5, 2))}
    total = float(np.sqrt(sum(np.sum(g**2) for g in model.values())))
    one = {"w": rng.standard_normal((3, 4, 2))}
    return [
        (VISIBLE_GRADS, 10.0), (VISIBLE_GRADS, 1.0),
        (model, 5.0), (model, 100.0), (model, total),  # exactly at the bound: nothing to do
        (one, 0.5), (one, 50.0),
        ({"a": np.array([-6.0, 8.0]), "b": np.array([[0.0]])}, 2),  # an int bound
    ]


ZERO_GRADS = ({"Wx": np.zeros((3, 2)), "b": np.zeros(2)}, 1.0)  # nothing to clip, and no 0 / 0


def _clip(learner: Learner, grads: dict[str, np.ndarray], max_norm: float,
          inputs_kept: bool = False) -> tuple[Any, Any, str]:
    """The learner's (clipped, total_norm); with ``inputs_kept``, grads must come back as given."""
    where = (f"clip_grad_norm(grads with {', '.join(f'{k} {v.shape}' for k, v in grads.items())}, "
             f"max_norm={max_norm:g})")
    given = {name: g.copy() for name, g in grads.items()}
    with quiet():
        result = learner.clip_grad_norm(given, max_norm)
    try:
        clipped, norm = as_tuple(result, "clip_grad_norm", ["clipped", "total_norm"])
    except CheckError as exc:
        raise CheckError(f"{where}: {exc}") from None
    for name in grads if inputs_kept else ():
        if not isinstance(given, dict) or name not in given or not np.array_equal(given[name],
                                                                                  grads[name]):
            raise CheckError(
                f"{where}: clip_grad_norm changed grads['{name}'] in place\n  hint: return new "
                "arrays (g * scale), and leave the gradients you were given as they are"
            )
    return clipped, norm, where


@check(NB, "test_clip_grad_norm_total")
def clip_grad_norm_total(learner: Learner) -> None:
    """total_norm: the joint norm of every gradient, before clipping."""
    for grads, max_norm in _clip_cases():
        _, norm, where = _clip(learner, grads, max_norm)
        want = optim.clip_grad_norm(grads, max_norm)[1]
        _compare(norm, want, "total_norm", where, CLIP_TOTAL_NORM, (grads, max_norm),
                 Tolerance(1e-9, 1e-12))


@check(NB, "test_clip_grad_norm_scaled")
def clip_grad_norm_scaled(learner: Learner) -> None:
    """Every gradient times max_norm / total_norm when the joint norm exceeds max_norm."""
    for grads, max_norm in [*_clip_cases(), ZERO_GRADS]:
        clipped, _, where = _clip(learner, grads, max_norm, inputs_kept=True)
        if not isinstance(clipped, dict) or set(clipped) != set(grads):
            raise CheckError(
                f"{where}: clipped must be a dict with the names of grads, {sorted(grads)}; got "
                f"{describe(clipped)}"
            )
        want = optim.clip_grad_norm(grads, max_norm)[0]
        try:
            got = joined(clipped, list(grads))
        except (TypeError, ValueError):
            got = None
        try:
            with diagnosed(CLIP_GRAD_NORM, grads, max_norm, got=got):
                for name in grads:
                    assert_close(clipped[name], want[name], f"clipped['{name}']", rtol=CLIP.rtol,
                                 atol=CLIP.atol)
        except CheckError as exc:
            raise CheckError(f"{where}: {exc}") from None
