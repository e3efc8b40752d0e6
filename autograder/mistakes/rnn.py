"""Known mistakes of recurrent networks and gradient clipping (notebook 14).

Dimensions: N batch, T time steps, D input features, H hidden units. LSTM gates along the 4H
axis in the order i, f, o, g (as :mod:`bplib.rnn`).

Inputs, as the graded *forward* functions get them, so that a mistake never depends on the
learner's choice of cache; a backward table takes the forward's inputs and the upstream
gradient(s):

* ``RNN_STEP_FORWARD``: ``(x, prev_h, Wx, Wh, b)`` -> ``next_h``;
* ``RNN_STEP_BACKWARD[name]``: ``(x, prev_h, Wx, Wh, b, dnext_h)`` -> gradient ``name``, one of
  ``dx``, ``dprev_h``, ``dWx``, ``dWh``, ``db``;
* ``RNN_FORWARD``: ``(x, h0, Wx, Wh, b)`` -> ``h`` (N, T, H);
* ``RNN_BACKWARD[name]``: ``(x, h0, Wx, Wh, b, dh)`` -> ``dx``, ``dh0``, ``dWx``, ``dWh``, ``db``;
* ``LSTM_STEP_FORWARD[name]``: ``(x, prev_h, prev_c, Wx, Wh, b)`` -> ``next_h`` or ``next_c``;
* ``LSTM_STEP_BACKWARD[name]``: ``(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c)`` -> ``dx``,
  ``dprev_h``, ``dprev_c``, ``dWx``, ``dWh``, ``db``;
* ``LSTM_FORWARD``: ``(x, h0, Wx, Wh, b)`` -> ``h`` (N, T, H), from a zero cell state;
* ``LSTM_BACKWARD[name]``: ``(x, h0, Wx, Wh, b, dh)`` -> ``dx``, ``dh0``, ``dWx``, ``dWh``, ``db``;
* ``CLIP_GRAD_NORM``: ``(grads, max_norm)`` -> the clipped gradients, :func:`joined` in the
  order of ``grads``; ``CLIP_TOTAL_NORM``: ``(grads, max_norm)`` -> the returned norm.

A backward table lists only the mistakes that change that gradient. A mistake returns ``None``
where it would coincide with the right answer (a sequence of one step cannot show a mistake of
the time loop; a symmetric ``Wh`` cannot show a transpose), and a mistake that is the right
answer rescaled as a whole (the weights' gradients averaged over time) is a ``relation``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from autograder.numeric import Tolerance, close

from . import Mistake

__all__ = [
    "CLIP_GRAD_NORM",
    "CLIP_TOTAL_NORM",
    "LSTM_BACKWARD",
    "LSTM_FORWARD",
    "LSTM_STEP_BACKWARD",
    "LSTM_STEP_FORWARD",
    "RNN_BACKWARD",
    "RNN_FORWARD",
    "RNN_STEP_BACKWARD",
    "RNN_STEP_FORWARD",
    "joined",
]

RNN_GRADS = ("dx", "dprev_h", "dWx", "dWh", "db")
SEQ_GRADS = ("dx", "dh0", "dWx", "dWh", "db")
LSTM_GRADS = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
WEIGHTS = ("dWx", "dWh", "db")


def _f(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _table(variants: Sequence[tuple[str, str, tuple[str, ...], Callable[..., Any]]],
           names: Sequence[str]) -> dict[str, list[Mistake]]:
    """One list per gradient name: the mistakes of ``variants`` that change that gradient.

    A variant is ``(name, message, changes, compute)``: ``compute(*inputs)`` returns the mistaken
    gradients as a dict (``None`` where the mistake shows nothing for these inputs)."""

    def pick(compute: Callable[..., Any], grad: str) -> Callable[..., Any]:
        def result(*inputs: Any) -> Any:
            found = compute(*inputs)
            return None if found is None else found.get(grad)

        return result

    return {grad: [Mistake(name, message, pick(compute, grad))
                   for name, message, changes, compute in variants if grad in changes]
            for grad in names}


# ----------------------------------------------------------------------------- vanilla RNN step


def _pre(x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any) -> np.ndarray:
    """The pre-activation a = x·Wx + prev_h·Wh + b (N, H)."""
    return _f(x) @ _f(Wx) + _f(prev_h) @ _f(Wh) + _f(b)


def _asymmetric(w: Any) -> bool:
    return not np.allclose(_f(w), _f(w).T)


RNN_STEP_FORWARD = [
    Mistake("no tanh", "x·Wx + prev_h·Wh + b without the tanh: next_h = tanh(x·Wx + prev_h·Wh + b)",
            lambda x, h, Wx, Wh, b: _pre(x, h, Wx, Wh, b)),
    Mistake("no previous state", "tanh(x·Wx + b), without the previous hidden state: add "
            "prev_h·Wh inside the tanh, it is what carries the sequence from step to step",
            lambda x, h, Wx, Wh, b: np.tanh(_f(x) @ _f(Wx) + _f(b))),
    Mistake("no bias", "tanh(x·Wx + prev_h·Wh) without the bias: add b, of shape (H,), inside "
            "the tanh", lambda x, h, Wx, Wh, b: np.tanh(_f(x) @ _f(Wx) + _f(h) @ _f(Wh))),
    Mistake("Wh transposed", "tanh(x·Wx + prev_h·Whᵀ + b), with Wh transposed: the product is "
            "prev_h @ Wh, row j of Wh holding the weights from unit j of the previous state",
            lambda x, h, Wx, Wh, b: np.tanh(_f(x) @ _f(Wx) + _f(h) @ _f(Wh).T + _f(b))
            if _asymmetric(Wh) else None),
    Mistake("sigmoid", "σ(x·Wx + prev_h·Wh + b): the vanilla RNN squashes with tanh, not with "
            "the sigmoid", lambda x, h, Wx, Wh, b: _sigmoid(_pre(x, h, Wx, Wh, b))),
]


def _step_grads(x: Any, prev_h: Any, Wx: Any, Wh: Any, da: np.ndarray) -> dict[str, np.ndarray]:
    """The five gradients of one step from the gradient ``da`` of its pre-activation."""
    return {"dx": da @ _f(Wx).T, "dprev_h": da @ _f(Wh).T, "dWx": _f(x).T @ da,
            "dWh": _f(prev_h).T @ da, "db": da.sum(axis=0)}


def _rnn_step_variant(kind: str) -> Callable[..., dict[str, np.ndarray] | None]:
    def compute(x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any, dnext: Any
                ) -> dict[str, np.ndarray] | None:
        a = _pre(x, prev_h, Wx, Wh, b)
        h, dnext = np.tanh(a), _f(dnext)
        da = dnext * (1.0 - h**2)
        if kind == "pre-activation":
            return _step_grads(x, prev_h, Wx, Wh, dnext * (1.0 - a**2))
        if kind == "tanh again":
            return _step_grads(x, prev_h, Wx, Wh, dnext * (1.0 - np.tanh(h) ** 2))
        if kind == "no derivative":
            return _step_grads(x, prev_h, Wx, Wh, dnext)
        if kind == "missing square":
            return _step_grads(x, prev_h, Wx, Wh, dnext * (1.0 - h))
        if kind == "Wh not transposed":
            return {"dprev_h": da @ _f(Wh)} if _asymmetric(Wh) else None
        if kind == "dWh transposed":
            return {"dWh": da.T @ _f(prev_h)} if _asymmetric(_f(prev_h).T @ da) else None
        if kind == "db not summed":
            return {"db": da}
        if kind == "db over units":
            return {"db": da.sum(axis=1)}
        raise ValueError(kind)

    return compute


RNN_STEP_BACKWARD = _table([
    ("tanh' from the pre-activation", "computed with 1 - a², where a = x·Wx + prev_h·Wh + b is "
     "tanh's input (the pre-activation): tanh'(a) = 1 - tanh(a)² = 1 - next_h², so use the "
     "output next_h (or tanh of a)", RNN_GRADS, _rnn_step_variant("pre-activation")),
    ("tanh applied again", "computed with 1 - tanh(next_h)²: tanh applied again, as if next_h "
     "were tanh's input. next_h IS tanh's output, tanh(a), so tanh'(a) = 1 - next_h²", RNN_GRADS,
     _rnn_step_variant("tanh again")),
    ("no tanh derivative", "computed from dnext_h without tanh's local derivative: multiply it "
     "by 1 - next_h² first, da = dnext_h * (1 - next_h**2)", RNN_GRADS,
     _rnn_step_variant("no derivative")),
    ("missing square", "computed with 1 - next_h, missing the square: tanh' = 1 - next_h²",
     RNN_GRADS, _rnn_step_variant("missing square")),
    ("Wh not transposed", "da·Wh; prev_h entered the step as prev_h·Wh, so its gradient is "
     "da·Whᵀ (as dX = dY·Wᵀ for the affine layer)", ("dprev_h",),
     _rnn_step_variant("Wh not transposed")),
    ("dWh transposed", "daᵀ·prev_h, the transpose: dWh = prev_hᵀ·da, of shape (H, H), row j "
     "for unit j of prev_h", ("dWh",), _rnn_step_variant("dWh transposed")),
    ("db not summed", "da itself, one row per example, of shape (N, H): b is shared by the whole "
     "batch, so db is da summed over axis 0", ("db",), _rnn_step_variant("db not summed")),
    ("db over units", "da summed over axis 1 (the hidden units), of shape (N,): sum over axis 0, "
     "the batch, to get one entry per unit", ("db",), _rnn_step_variant("db over units")),
], RNN_GRADS)


# ----------------------------------------------------------------------------- RNN sequences


def _states(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any) -> np.ndarray:
    """The hidden states (N, T, H) a tanh RNN goes through from ``h0``: the mistakes below are
    variants of the backward pass along these states."""
    x, prev = _f(x), _f(h0)
    out = np.empty((x.shape[0], x.shape[1], prev.shape[1]))
    for t in range(x.shape[1]):
        prev = np.tanh(x[:, t] @ _f(Wx) + prev @ _f(Wh) + _f(b))
        out[:, t] = prev
    return out


def _rnn_forward_variant(kind: str) -> Callable[..., np.ndarray | None]:
    def compute(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any) -> np.ndarray | None:
        x, h0 = _f(x), _f(h0)
        if kind == "started from zeros":
            return _states(x, np.zeros_like(h0), Wx, Wh, b) if np.any(h0) else None
        if x.shape[1] < 2:
            return None
        if kind == "not carried":  # from h0 = 0 it is a step that ignores the state: not this
            carried = h0 @ _f(Wh)
            return np.tanh(np.einsum("ntd,dh->nth", x, _f(Wx)) + carried[:, None] + _f(b)) \
                if np.any(carried) else None
        if kind == "shifted":
            return np.concatenate([h0[:, None], _states(x, h0, Wx, Wh, b)[:, :-1]], axis=1)
        raise ValueError(kind)

    return compute


RNN_FORWARD = [
    Mistake("state not carried", "every step computed from h0: each step must start from the "
            "state the step before returned (prev_h = next_h inside the loop)",
            _rnn_forward_variant("not carried")),
    Mistake("states shifted", "the state BEFORE each step (h[:, 0] is h0): h[:, t] must be the "
            "state that step t returns", _rnn_forward_variant("shifted")),
    Mistake("started from zeros", "the states of a sequence started from zeros: start from the "
            "h0 you were given", _rnn_forward_variant("started from zeros")),
]


def _bptt_variant(kind: str) -> Callable[..., dict[str, np.ndarray] | None]:
    """A mistaken backpropagation through time, as gradients by name (None for T = 1)."""

    def compute(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any, dh: Any) -> dict[str, np.ndarray] | None:
        x, h0, Wx, Wh, dh = _f(x), _f(h0), _f(Wx), _f(Wh), _f(dh)
        steps = x.shape[1]
        if steps < 2:
            return None
        h = _states(x, h0, Wx, Wh, b)
        prevs = [h0] + [h[:, t] for t in range(steps - 1)]
        dx = np.zeros_like(x)
        shares = []  # (dWx, dWh, db) of each step, in the order the loop visits them
        carried = np.zeros_like(h0)
        order = range(steps) if kind == "forward order" else reversed(range(steps))
        arriving = {}
        for t in order:
            if kind == "not carried":
                up = dh[:, t]
            elif kind == "last upstream only":
                up = carried + (dh[:, t] if t == steps - 1 else 0.0)
            else:
                up = dh[:, t] + carried
            arriving[t] = up
            da = up * (1.0 - h[:, t] ** 2)
            dx[:, t] = da @ Wx.T
            carried = da @ Wh.T
            shares.append((x[:, t].T @ da, prevs[t].T @ da, da.sum(axis=0)))
        total = [sum(s[k] for s in shares) for k in range(3)]
        if kind in ("not carried", "last upstream only", "forward order"):
            return dict(zip(SEQ_GRADS, (dx, carried, *total), strict=True))
        if kind == "last step":  # the share of step T - 1 alone (its upstream is dh[:, T-1])
            return dict(zip(WEIGHTS, shares[0], strict=True))
        if kind == "overwritten":  # the share of step 0 alone, the last one visited
            return dict(zip(WEIGHTS, shares[-1], strict=True))
        if kind == "dh0 of the first output":
            return {"dh0": arriving[0]}
        raise ValueError(kind)

    return compute


def _averaged(got: Any, want: Any, x: Any, *_: Any) -> bool:
    """``got`` times T is ``want`` (which may be a numerical gradient: compared loosely)."""
    steps = np.shape(x)[1] if np.ndim(x) == 3 else 1
    return steps > 1 and bool(np.any(want)) and close(_f(got) * steps, want, Tolerance(1e-5, 1e-8))


RNN_BACKWARD = _table([
    ("not carried", "computed without carrying the hidden-state gradient back: each step got "
     "only its own dh[:, t]. h[:, t-1] also feeds step t, so the upstream gradient of step t-1 "
     "is dh[:, t-1] plus the dprev_h that step t's backward returned", SEQ_GRADS,
     _bptt_variant("not carried")),
    ("last upstream only", "computed from dh[:, T-1] alone, the other dh[:, t] dropped: every "
     "step's upstream gradient is its own dh[:, t] plus the dprev_h carried back from the step "
     "after it", SEQ_GRADS, _bptt_variant("last upstream only")),
    ("forward order", "computed walking forward in time: backpropagation through time starts "
     "at the last step and walks back to step 0, handing each step's dprev_h to the step "
     "before it", SEQ_GRADS, _bptt_variant("forward order")),
    ("last step only", "the share of the last time step only: Wx, Wh and b are used at every "
     "step, so their gradients are the SUM of every step's share", WEIGHTS,
     _bptt_variant("last step")),
    ("overwritten", "the share of step 0 only, the last one your loop visited: the weights are "
     "used at every step, so add each step's share (dWx += ...) instead of replacing it",
     WEIGHTS, _bptt_variant("overwritten")),
    ("dh0 of the first output", "the gradient of the first step's OUTPUT h[:, 0]: dh0 is the "
     "gradient of the initial state h0, the dprev_h that step 0's backward returns", ("dh0",),
     _bptt_variant("dh0 of the first output")),
], SEQ_GRADS)
for _name in WEIGHTS:
    RNN_BACKWARD[_name].append(Mistake(
        "averaged over time", "the average over the T time steps: the gradient of a weight "
        "used at every step is the SUM of the steps' shares, not their mean", relation=_averaged))


# ----------------------------------------------------------------------------- LSTM step


def _gates(x: Any, prev_h: Any, Wx: Any, Wh: Any, b: Any, order: str = "ifog",
           candidate: Callable[[np.ndarray], np.ndarray] = np.tanh) -> tuple[np.ndarray, ...]:
    """The gates (i, f, o, g), each (N, H), with the 4H axis read in ``order`` and the
    candidate g squashed by ``candidate``."""
    a = _pre(x, prev_h, Wx, Wh, b)
    hidden = a.shape[1] // 4
    blocks = dict(zip(order, (a[:, k * hidden:(k + 1) * hidden] for k in range(4)), strict=True))
    return (_sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"]),
            candidate(blocks["g"]))


def _lstm_forward_variant(kind: str) -> Callable[..., dict[str, np.ndarray] | None]:
    def compute(x: Any, prev_h: Any, prev_c: Any, Wx: Any, Wh: Any, b: Any
                ) -> dict[str, np.ndarray] | None:
        prev_c = _f(prev_c)
        i, f, o, g = _gates(x, prev_h, Wx, Wh, b, "ifgo" if kind == "gate order" else "ifog",
                            _sigmoid if kind == "g sigmoid" else np.tanh)
        c = {"forget on prev_h": f * _f(prev_h) + i * g, "gates swapped": i * prev_c + f * g,
             "no forget gate": prev_c + i * g}.get(kind, f * prev_c + i * g)
        if kind == "no cell tanh":
            return {"next_h": o * c}
        if kind == "old cell":
            return {"next_h": o * np.tanh(prev_c)}
        return {"next_c": c, "next_h": o * np.tanh(c)}

    return compute


_BOTH = ("next_c", "next_h")
LSTM_STEP_FORWARD = _table([
    ("forget gate on prev_h", "made with f·prev_h: the forget gate scales the previous CELL "
     "state, next_c = f·prev_c + i·g", _BOTH, _lstm_forward_variant("forget on prev_h")),
    ("gates swapped", "made with i·prev_c + f·g, the two gates swapped: f (the forget gate) "
     "scales the old cell prev_c, i (the input gate) scales the candidate g", _BOTH,
     _lstm_forward_variant("gates swapped")),
    ("no forget gate", "made with prev_c + i·g, without the forget gate: next_c = f·prev_c + i·g",
     _BOTH, _lstm_forward_variant("no forget gate")),
    ("g sigmoid", "made with g = σ(a_g): the candidate g is a tanh (values in (-1, 1)); only "
     "i, f and o are sigmoids", _BOTH, _lstm_forward_variant("g sigmoid")),
    ("gate order", "read with the blocks in the order i, f, g, o; along the 4H axis the order is "
     "i, f, o, g: a[:, 2H:3H] is o and a[:, 3H:] is g", _BOTH, _lstm_forward_variant("gate order")),
    ("no cell tanh", "o·next_c without the tanh: next_h = o·tanh(next_c)", ("next_h",),
     _lstm_forward_variant("no cell tanh")),
    ("old cell", "o·tanh(prev_c), from the OLD cell: next_h reads the new one, o·tanh(next_c)",
     ("next_h",), _lstm_forward_variant("old cell")),
], _BOTH)


def _lstm_backward_variant(kind: str) -> Callable[..., dict[str, np.ndarray] | None]:
    def compute(x: Any, prev_h: Any, prev_c: Any, Wx: Any, Wh: Any, b: Any, dnext_h: Any,
                dnext_c: Any) -> dict[str, np.ndarray] | None:
        prev_c, dnext_h, dnext_c = _f(prev_c), _f(dnext_h), _f(dnext_c)
        i, f, o, g = _gates(x, prev_h, Wx, Wh, b)
        c = f * prev_c + i * g
        tc = np.tanh(c)
        through_h = dnext_h * o * (1.0 - (c if kind == "pre-activation" else tc) ** 2)
        dc = {"dnext_c ignored": through_h, "next_h path ignored": dnext_c}.get(
            kind, dnext_c + through_h)
        if kind == "no forget in dprev_c":
            return {"dprev_c": dc}
        ds = {"sigmoid' as s": lambda s: s}.get(kind, lambda s: s * (1.0 - s))
        dgl = g * (1.0 - g) if kind == "g sigmoid'" else 1.0 - g**2
        do = dnext_h * (c if kind == "o from c" else tc)
        blocks = {"i": dc * g * ds(i), "f": dc * prev_c * ds(f), "o": do * ds(o), "g": dc * i * dgl}
        order = "ifgo" if kind == "gate order" else "ifog"
        da = np.concatenate([blocks[k] for k in order], axis=1)
        found = _step_grads(x, prev_h, Wx, Wh, da)
        found["dprev_c"] = dc * f
        return found

    return compute


_ALL = LSTM_GRADS
_NOT_C = ("dx", "dprev_h", "dWx", "dWh", "db")
LSTM_STEP_BACKWARD = _table([
    ("dnext_c ignored", "computed without dnext_c: next_c reaches the loss directly (dnext_c, "
     "through the steps after this one) and through next_h, so dc = dnext_c + "
     "dnext_h·o·(1 - tanh(next_c)²)", _ALL, _lstm_backward_variant("dnext_c ignored")),
    ("next_h path ignored", "computed with dc = dnext_c alone: next_c also reaches the loss "
     "through next_h = o·tanh(next_c); add dnext_h·o·(1 - tanh(next_c)²)", _ALL,
     _lstm_backward_variant("next_h path ignored")),
    ("tanh' from the pre-activation", "computed with 1 - next_c²: the derivative of tanh at "
     "next_c is 1 - tanh(next_c)², from tanh's output tanh(next_c), not from its input next_c",
     _ALL, _lstm_backward_variant("pre-activation")),
    ("no forget gate in dprev_c", "dc itself: prev_c entered next_c as f·prev_c, so dprev_c = "
     "dc·f", ("dprev_c",), _lstm_backward_variant("no forget in dprev_c")),
    ("sigmoid' as s", "computed with σ' = σ: the derivative of a sigmoid gate s is s·(1 - s)",
     _NOT_C, _lstm_backward_variant("sigmoid' as s")),
    ("g with sigmoid'", "computed with g·(1 - g), a sigmoid's derivative, for the candidate: "
     "g = tanh(a_g), so its derivative is 1 - g²", _NOT_C, _lstm_backward_variant("g sigmoid'")),
    ("output gate from next_c", "computed with next_c in the output gate's gradient: next_h = "
     "o·tanh(next_c), so do = dnext_h·tanh(next_c)", _NOT_C, _lstm_backward_variant("o from c")),
    ("gate order", "the gate gradients joined in the order i, f, g, o; they must follow the "
     "forward's order along the 4H axis, i, f, o, g", _NOT_C, _lstm_backward_variant("gate order")),
], LSTM_GRADS)


# ----------------------------------------------------------------------------- LSTM sequences


def _lstm_run(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any, *, c0: Any = None, carry_h: bool = True,
              carry_c: bool = True) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
    """The hidden states (N, T, H) of an LSTM run with the given carries, and per step the
    (prev_h, prev_c, i, f, o, g, next_c) the mistakes of the backward pass go along."""
    x, h0 = _f(x), _f(h0)
    prev_h, prev_c = h0, np.zeros_like(h0) if c0 is None else _f(c0)
    out, steps = np.empty((x.shape[0], x.shape[1], h0.shape[1])), []
    for t in range(x.shape[1]):
        i, f, o, g = _gates(x[:, t], prev_h, Wx, Wh, b)
        c = f * prev_c + i * g
        steps.append((prev_h, prev_c, i, f, o, g, c))
        out[:, t] = o * np.tanh(c)
        prev_h = out[:, t] if carry_h else h0
        prev_c = c if carry_c else np.zeros_like(c)
    return out, steps


def _lstm_forward_seq(kind: str) -> Callable[..., np.ndarray | None]:
    def compute(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any) -> np.ndarray | None:
        if kind == "cell from h0":
            return _lstm_run(x, h0, Wx, Wh, b, c0=h0)[0] if np.any(_f(h0)) else None
        if np.shape(x)[1] < 2:
            return None
        if kind == "cell not carried":
            return _lstm_run(x, h0, Wx, Wh, b, carry_c=False)[0]
        if kind == "hidden not carried":
            return _lstm_run(x, h0, Wx, Wh, b, carry_h=False)[0]
        h, steps = _lstm_run(x, h0, Wx, Wh, b)
        if kind == "shifted":
            return np.concatenate([_f(h0)[:, None], h[:, :-1]], axis=1)
        if kind == "cell stored":
            return np.stack([step[6] for step in steps], axis=1)
        raise ValueError(kind)

    return compute


LSTM_FORWARD = [
    Mistake("cell not carried", "every step started from a zero cell: carry next_c on to the "
            "next step, as you carry next_h", _lstm_forward_seq("cell not carried")),
    Mistake("cell from h0", "a sequence whose cell state starts at h0: the cell starts at zeros "
            "(np.zeros_like(h0)), only the hidden state starts at h0", _lstm_forward_seq("cell from h0")),
    Mistake("hidden not carried", "every step computed from h0: feed each step the hidden state "
            "the step before returned", _lstm_forward_seq("hidden not carried")),
    Mistake("states shifted", "the hidden state BEFORE each step (h[:, 0] is h0): h[:, t] must be "
            "the state that step t returns", _lstm_forward_seq("shifted")),
    Mistake("cell stored", "the cell states: h[:, t] is the hidden state next_h, not next_c",
            _lstm_forward_seq("cell stored")),
]


def _lstm_bptt_variant(kind: str) -> Callable[..., dict[str, np.ndarray] | None]:
    """A mistaken backpropagation through time of an LSTM, as gradients by name."""

    def compute(x: Any, h0: Any, Wx: Any, Wh: Any, b: Any, dh: Any) -> dict[str, np.ndarray] | None:
        x, h0, dh = _f(x), _f(h0), _f(dh)
        if x.shape[1] < 2:
            return None
        _, steps = _lstm_run(x, h0, Wx, Wh, b)
        dx = np.zeros_like(x)
        shares = []
        carried_h, carried_c = np.zeros_like(h0), np.zeros_like(h0)
        order = range(x.shape[1]) if kind == "forward order" else reversed(range(x.shape[1]))
        for t in order:
            prev_h, prev_c, i, f, o, g, c = steps[t]
            up_h = dh[:, t] + (0.0 if kind == "hidden not carried" else carried_h)
            up_c = 0.0 if kind == "cell not carried" else carried_c
            tc = np.tanh(c)
            dc = up_c + up_h * o * (1.0 - tc**2)
            da = np.concatenate((dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                                 up_h * tc * o * (1 - o), dc * i * (1 - g**2)), axis=1)
            grads = _step_grads(x[:, t], prev_h, Wx, Wh, da)
            dx[:, t], carried_h, carried_c = grads["dx"], grads["dprev_h"], dc * f
            shares.append((grads["dWx"], grads["dWh"], grads["db"]))
        total = [sum(share[k] for share in shares) for k in range(3)]
        if kind in ("cell not carried", "hidden not carried", "forward order"):
            return dict(zip(SEQ_GRADS, (dx, carried_h, *total), strict=True))
        if kind == "last step":
            return dict(zip(WEIGHTS, shares[0], strict=True))
        if kind == "overwritten":
            return dict(zip(WEIGHTS, shares[-1], strict=True))
        raise ValueError(kind)

    return compute


LSTM_BACKWARD = _table([
    ("cell gradient not carried", "computed without carrying the cell's gradient back: each "
     "step's dprev_c is the next step's dnext_c (the cell of step t-1 feeds step t); pass it on, "
     "zero only after the last step", SEQ_GRADS, _lstm_bptt_variant("cell not carried")),
    ("hidden gradient not carried", "computed without carrying the hidden state's gradient back: "
     "the upstream of step t-1's next_h is dh[:, t-1] plus the dprev_h that step t returned",
     SEQ_GRADS, _lstm_bptt_variant("hidden not carried")),
    ("forward order", "computed walking forward in time: start at the last step and walk back "
     "to step 0, handing dprev_h and dprev_c to the step before", SEQ_GRADS,
     _lstm_bptt_variant("forward order")),
    ("last step only", "the share of the last time step only: the weights are used at every "
     "step, so their gradients are the SUM of every step's share", WEIGHTS,
     _lstm_bptt_variant("last step")),
    ("overwritten", "the share of step 0 only, the last one your loop visited: add each step's "
     "share (dWx += ...) instead of replacing it", WEIGHTS, _lstm_bptt_variant("overwritten")),
], SEQ_GRADS)
for _name in WEIGHTS:
    LSTM_BACKWARD[_name].append(Mistake(
        "averaged over time", "the average over the T time steps: the gradient of a weight "
        "used at every step is the SUM of the steps' shares, not their mean", relation=_averaged))


# ----------------------------------------------------------------------------- gradient clipping


def joined(grads: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    """The arrays ``grads[name]`` for each of ``names``, flattened into one vector (1-D)."""
    if not names:
        return np.zeros(0)
    return np.concatenate([np.ravel(_f(grads[name])) for name in names])


def _norm(grads: Mapping[str, Any]) -> float:
    return float(np.sqrt(sum(float(np.sum(_f(g) ** 2)) for g in grads.values())))


def _scaled(grads: Mapping[str, Any], factor: Callable[[np.ndarray], float] | float) -> np.ndarray:
    return np.concatenate([np.ravel(_f(g) * (factor(_f(g)) if callable(factor) else factor))
                           for g in grads.values()])


def _clip_variant(kind: str) -> Callable[[Mapping[str, Any], float], np.ndarray | None]:
    def compute(grads: Mapping[str, Any], max_norm: float) -> np.ndarray | None:
        norm = _norm(grads)
        over = norm > max_norm
        if kind == "by value":
            return np.clip(joined(grads, list(grads)), -max_norm, max_norm)
        if kind == "each on its own":
            if len(grads) < 2:
                return None
            return _scaled(grads, lambda g: min(1.0, max_norm / max(float(np.sqrt(np.sum(g**2))),
                                                                    1e-300)))
        if kind == "always rescaled":
            return None if over or norm == 0 else _scaled(grads, max_norm / norm)
        if kind == "not clipped":
            return joined(grads, list(grads)) if over else None
        if kind == "squared norm":
            return _scaled(grads, min(1.0, max_norm / norm**2)) if norm**2 > max_norm else None
        if kind == "inverted":
            return _scaled(grads, norm / max_norm) if over else None
        raise ValueError(kind)

    return compute


CLIP_GRAD_NORM = [
    Mistake("not clipped", "unchanged although their joint norm exceeds max_norm: multiply "
            "every gradient by max_norm / total_norm", _clip_variant("not clipped")),
    Mistake("by value", "every entry clipped to [-max_norm, max_norm] (np.clip), which changes "
            "the gradient's direction: clip by the norm, multiplying every gradient by "
            "max_norm / total_norm when total_norm > max_norm", _clip_variant("by value")),
    Mistake("each on its own", "each gradient clipped by its own norm: use ONE factor for all "
            "of them, from the joint norm sqrt(sum over every gradient of sum(g**2)), so that "
            "their joint direction is kept", _clip_variant("each on its own")),
    Mistake("always rescaled", "rescaled to norm max_norm although their norm was already "
            "smaller: only scale down, when total_norm > max_norm", _clip_variant("always rescaled")),
    Mistake("squared norm", "scaled by max_norm / (the sum of squares): the norm is the square "
            "root of the sum of squares", _clip_variant("squared norm")),
    Mistake("inverted", "scaled by total_norm / max_norm, the inverse factor: clipping shrinks "
            "the gradients, by max_norm / total_norm", _clip_variant("inverted")),
]


def _norms(grads: Mapping[str, Any]) -> list[float]:
    return [float(np.sqrt(np.sum(_f(g) ** 2))) for g in grads.values()]


CLIP_TOTAL_NORM = [
    Mistake("sum of squares", "the sum of squares, without the square root",
            lambda grads, max_norm: _norm(grads) ** 2),
    Mistake("after clipping", "the norm AFTER clipping: return the norm the gradients had before "
            "(a spike in it is what an exploding gradient looks like in a log)",
            lambda grads, max_norm: max_norm if _norm(grads) > max_norm else None),
    Mistake("sum of norms", "the sum of each gradient's own norm: the joint norm is the square "
            "root of the sum of ALL squared entries, sqrt(sum of norm_k²)",
            lambda grads, max_norm: sum(_norms(grads)) if len(grads) > 1 else None),
    Mistake("largest norm", "the largest of the gradients' own norms: the joint norm counts every "
            "entry of every gradient", lambda grads, max_norm: max(_norms(grads))
            if len(grads) > 1 else None),
    Mistake("root mean square", "the root MEAN square: the norm is the square root of the SUM "
            "of squares, not of their mean",
            lambda grads, max_norm: float(np.sqrt(np.mean(joined(grads, list(grads)) ** 2)))),
]
