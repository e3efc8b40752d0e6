"""Known mistakes of the scalar autodiff engine (notebook 3) and the single logistic neuron
(notebook 4).

Notebook 3's backward rules get Values; their tables take the numbers they read, and their
answer is the gradients a rule leaves in its operands, one per distinct operand, as a tuple:

* ``ADD_RULE``, ``MUL_RULE``: inputs ``(a, b, g)``, the operands' data and the upstream gradient
  ``out.grad``, on fresh operands (grad 0); the answer ``(a.grad, b.grad)``;
* ``POW_RULE``: ``(a, n, g)``; ``EXP_RULE``, ``TANH_RULE``, ``RELU_RULE``: ``(a, g)``; the answer
  ``(a.grad,)``;
* ``ACCUMULATE``: a rule on operands that already hold gradients, or a node used more than once:
  input ``(before,)``, the operands' grads before the rule ran (a tuple like the answer);
* ``TOPOLOGICAL_ORDER``: the answer is the list of the labels of the nodes returned, the right
  one a valid order (root last); input ``(children,)``, a dict from each node's label to the
  labels of its children;
* ``BACKWARD_PASS``: the answer is the list of the labels of the nodes whose rules ran, in the
  order they ran, the right one a valid run order; input ``(children,)`` as above;
* ``SECOND_PASS``: a second backward pass from another root sharing the inputs: input
  ``(first,)``, the gradients the first pass left in them.

Notebook 4's functions get arrays (a cache unpacked):

* ``NEURON_FORWARD`` (mistaken activations ``a``) and ``NEURON_CACHE`` (a mistaken ``cache[1]``):
  ``(x, w, b)``, ``x`` of shape ``(N, D)``, ``w`` of shape ``(D,)``, ``b`` a number;
* ``BCE_LOSS`` (a mistaken loss): ``(a, y)``, probabilities and 0/1 labels of shape ``(N,)``;
* ``NEURON_BACKWARD_DW`` and ``NEURON_BACKWARD_DB`` (mistaken gradients): ``(y, x, a)``;
* ``GD_STEP`` (a mistaken step): ``(w, b, dw, db, lr)``; its answer is the new parameters as one
  vector, the new ``w`` followed by the new ``b`` (``np.append(w_new, b_new)``).

A mistake whose result would be a graded function's right answer for the same inputs (``z = x·w
+ b`` is an affine layer's output, the mean squared error notebook 7's loss, a rule's local
derivative without the upstream gradient) or the right answer turned around (a sign, a step
uphill, the operands swapped) is a ``relation``, so no table computes one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.numeric import MATCH, close

from . import Mistake, negated, same_as

__all__ = [
    "ACCUMULATE",
    "ADD_RULE",
    "BACKWARD_PASS",
    "BCE_LOSS",
    "EXP_RULE",
    "GD_STEP",
    "MUL_RULE",
    "NEURON_BACKWARD_DB",
    "NEURON_BACKWARD_DW",
    "NEURON_CACHE",
    "NEURON_FORWARD",
    "POW_RULE",
    "RELU_RULE",
    "SECOND_PASS",
    "TANH_RULE",
    "TOPOLOGICAL_ORDER",
]


def _overflowed(got: Any, want: Any, z: Any) -> bool:
    """A relation: nan or inf where the right answer is finite, and only where ``z`` is so large
    (hundreds) that an exp of it overflows."""
    got, z = np.asarray(got, dtype=np.float64), np.asarray(z, dtype=np.float64)
    bad = ~np.isfinite(got)
    return (got.shape == z.shape and bool(np.any(bad)) and bool(np.all(np.isfinite(want)))
            and bool(np.all(np.abs(z[bad]) > 300)))


# ----------------------------------------------------------------------------- notebook 3: rules
_ADD_DONT_ASSIGN = ("A node used in several places collects one contribution per use, so a "
                    "rule must ADD its contribution: `a.grad += ...`")


def _without_upstream(got: Any, want: Any, *inputs: Any) -> bool:
    """A relation: the local derivative alone, times 1 instead of the upstream gradient (the
    last input)."""
    g = inputs[-1]
    return g != 1 and bool(np.any(want)) and close(np.multiply(got, g), want, MATCH)


def _no_upstream() -> Mistake:
    """The local derivative alone (a mistake of every rule; each table has its own, so that a
    class report counts it per rule)."""
    return Mistake("no upstream", "the local derivative without out.grad: multiply it by the "
                   "upstream gradient, out.grad", relation=_without_upstream)


def _wrong_sign() -> Mistake:
    """The right contribution with the wrong sign (a mistake of every rule)."""
    return Mistake("wrong sign", "the right size with the wrong sign: check the sign of the "
                   "local derivative", relation=negated)

ADD_RULE = [
    Mistake("b forgotten", "b received nothing: addition passes out.grad on to BOTH operands",
            lambda a, b, g: (g, 0.0)),
    Mistake("1 for out.grad", "1.0 instead of out.grad: each contribution is out.grad × 1",
            lambda a, b, g: (1.0, 1.0)),
    _wrong_sign(),
]

MUL_RULE = [
    Mistake("own operand", "each operand's own data times out.grad; the local derivative of a·b "
            "with respect to a is b, the OTHER operand", relation=lambda got, want, a, b, g: (
                a != b and close(got, np.asarray(want, dtype=np.float64)[::-1], MATCH))),
    _no_upstream(),
    _wrong_sign(),
]

POW_RULE = [
    Mistake("exponent n", "n·a**n·out.grad: the exponent of the derivative is n - 1, "
            "d(a**n)/da = n·a**(n-1)", lambda a, n, g: (g * n * a**n,)),
    Mistake("factor n missing", "a**(n-1)·out.grad: the factor n is missing, d(a**n)/da = "
            "n·a**(n-1)", lambda a, n, g: (g * a ** (n - 1),) if n != 1 else None),
    _no_upstream(),
    _wrong_sign(),
]

EXP_RULE = [
    Mistake("a for exp(a)", "a.data·out.grad: the derivative of exp(a) is exp(a) itself, "
            "out.data, not a", lambda a, g: (g * a,)),
    _no_upstream(),
    _wrong_sign(),
]

TANH_RULE = [
    Mistake("from the input", "(1 - a²)·out.grad, with the INPUT: the derivative is "
            "1 - tanh(a)² = 1 - out.data²", lambda a, g: (g * (1 - a * a),)),
    Mistake("no square", "(1 - out.data)·out.grad, without the square: the derivative is "
            "1 - out.data²", lambda a, g: (g * (1 - np.tanh(a)),)),
    Mistake("square misplaced", "(1 - out.data)²·out.grad, the square in the wrong place: the "
            "derivative is 1 - out.data², not (1 - out.data)²",
            lambda a, g: (g * (1 - np.tanh(a)) ** 2,)),
    _no_upstream(),
    _wrong_sign(),
]

RELU_RULE = [
    Mistake("passes at 0", "out.grad passed on at exactly a = 0, where our convention is slope "
            "0 (use `a.data > 0`, not `>=`)", lambda a, g: (g,) if a == 0 else None),
    Mistake("passes a negative input", "out.grad passed on at a negative input: the gradient "
            "passes only where a > 0", lambda a, g: (g,) if a < 0 else None),
    Mistake("blocks a positive input", "0 at a positive input: the gradient passes where a > 0",
            lambda a, g: (0.0,) if a > 0 else None),
    Mistake("1 for out.grad", "1.0 at a positive input: pass on the upstream gradient out.grad, "
            "not 1", lambda a, g: (1.0,) if a > 0 else None),
    _wrong_sign(),
]


def _arrays(*values: Any) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _zeroed(got: Any, want: Any, before: Any) -> bool:
    """A relation: the grads that were there set to 0 where the rule adds nothing."""
    got, want, before = _arrays(got, want, before)
    return bool(np.any(before)) and close(want, before, MATCH) and not np.any(got)


def _assigned(got: Any, want: Any, before: Any) -> bool:
    """A relation: the grads hold the rule's contribution alone, not added to what was there."""
    got, want, before = _arrays(got, want, before)
    return bool(np.any(before)) and close(got, want - before, MATCH)


def _sign_of_contribution(got: Any, want: Any, before: Any) -> bool:
    got, want, before = _arrays(got, want, before)
    return negated(got - before, want - before)


ACCUMULATE = [
    Mistake("zeroed", "a.grad set to 0 where the gradient is blocked: a blocked path adds "
            "nothing, it must not erase the contributions of a's other uses. " + _ADD_DONT_ASSIGN,
            relation=_zeroed),
    Mistake("assigned", "the rule's contribution alone: `=` replaced the gradient that was "
            "already in the node. " + _ADD_DONT_ASSIGN, relation=_assigned),
    Mistake("one of two", "half of the right value, one contribution of two: x is both operands, "
            "so both updates land in x.grad and the second must not overwrite the first. "
            + _ADD_DONT_ASSIGN, relation=lambda got, want, before: bool(np.any(want)) and close(
                got, np.multiply(want, 0.5), MATCH)),
    Mistake("wrong sign", "a contribution of the right size with the wrong sign: check the sign "
            "of the local derivative", relation=_sign_of_contribution),
]


# ----------------------------------------------------------------------------- notebook 3: graphs
def _first_places(order: Any) -> dict[str, int]:
    places: dict[str, int] = {}
    for k, label in enumerate(order):
        places.setdefault(label, k)
    return places


def _child_after_user(order: Any, children: dict[str, Any]) -> bool:
    """Whether some node comes before one of its children in ``order`` (both in it)."""
    places = _first_places(order)
    return any(child in places and node in places and places[child] > places[node]
               for node, kids in children.items() for child in kids)


def _repeats(got: Any, *_: Any) -> bool:
    return len(list(got)) != len(set(got))


def _leaves_out(got: Any, want: Any, *_: Any) -> bool:
    return bool(set(want) - set(got))


def _adds(got: Any, want: Any, *_: Any) -> bool:
    return bool(set(got) - set(want))


TOPOLOGICAL_ORDER = [
    Mistake("repeats", "a list with some node more than once: mark visited nodes and skip them: "
            "a node reached along two paths (a diamond, or x * x) must appear once",
            relation=_repeats),
    Mistake("missing", "a list without some nodes below the root: every node reachable from the "
            "root through .children belongs in the list, the children of children too (visit "
            "them recursively)", relation=_leaves_out),
    Mistake("outside", "a list with a node that is not below the root: start from the root and "
            "follow .children only", relation=_adds),
    Mistake("root first", "the root first: the list is in reverse (root first); "
            "topological_order puts children first, the root last, and backward_pass reverses it",
            relation=lambda got, want, children: len(got) > 1 and got[0] == list(want)[-1]),
    Mistake("parent first", "a list where a node comes before one of its children: append a node "
            "only after all of its children",
            relation=lambda got, want, children: _child_after_user(got, children)),
]

BACKWARD_PASS = [
    Mistake("never ran", "the rule of some node below the root never ran: every node below the "
            "root must be visited, run node._backward() for every node of topological_order(root)",
            relation=_leaves_out),
    Mistake("twice", "some node's rule run more than once: run every node's rule exactly once, "
            "once for each node of topological_order(root), which lists every node once",
            relation=_repeats),
    Mistake("outside", "the rule of a node that is not below the root run too: follow .children "
            "from the root only", relation=_adds),
    Mistake("too early", "a node's rule run before the rule of a node that uses it: a node's "
            "grad is complete only when every node that uses it has passed its share, so go "
            "through the topological order in REVERSE, reversed(order)",
            relation=lambda got, want, children: _child_after_user(list(got)[::-1], children)),
]

SECOND_PASS = [
    Mistake("reset", "only the second pass's share: backward_pass must not reset gradients; the "
            "passes add up in the inputs they share, as in PyTorch",
            relation=lambda got, want, first: bool(np.any(first)) and close(
                got, np.subtract(want, first), MATCH)),
]


# ----------------------------------------------------------------------------- notebook 4
NEURON_FORWARD = [
    Mistake("no sigmoid", "z = x @ w + b itself: apply the sigmoid, a = 1 / (1 + exp(-z))",
            relation=same_as(lambda x, w, b: x @ w + b)),
    Mistake("exponent +z", "sigmoid(-z): the exponent is -z, a = 1 / (1 + exp(-z))",
            lambda x, w, b: 1.0 / (1.0 + np.exp(x @ w + b))),
    Mistake("no bias", "the bias b is missing: z = x @ w + b",
            lambda x, w, b: 1.0 / (1.0 + np.exp(-(x @ w)))),
    Mistake("overflow", "nan where |z| is large: exp(z) / (1 + exp(z)) is inf / inf = nan there; "
            "exponentiate only -|z| (e = exp(-|z|), then 1 / (1 + e) where z >= 0, e / (1 + e) "
            "where z < 0)", relation=lambda got, want, x, w, b: _overflowed(got, want, x @ w + b)),
]

NEURON_CACHE = [
    Mistake("z", "z = x @ w + b, before the sigmoid; cache the activation a: the backward pass "
            "computes a - y", relation=same_as(lambda x, w, b: x @ w + b)),
]

BCE_LOSS = [
    Mistake("sum", "the SUM over the batch; the loss is the mean, divide by N",
            lambda a, y: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))),
    Mistake("negative", "negative: a minus sign is missing, -(y·log a + (1 - y)·log(1 - a))",
            relation=negated),
    Mistake("swapped", "y and 1 - y swapped: y multiplies log(a), the log-probability of class 1",
            lambda a, y: -np.mean((1 - y) * np.log(a) + y * np.log(1 - a))),
    Mistake("only y log a", "only the y·log(a) term: examples with y = 0 contribute -log(1 - a)",
            lambda a, y: -np.mean(y * np.log(a))),
    Mistake("mse", "the mean squared error; the cross-entropy is -(y·log a + (1 - y)·log(1 - a))",
            relation=same_as(lambda a, y: np.mean((np.asarray(a) - np.asarray(y)) ** 2))),
]


def _extra_factor(y: Any, x: Any, a: Any) -> np.ndarray:
    """dL/dz with the sigmoid's slope a·(1 - a) applied once too often."""
    a = np.asarray(a, dtype=np.float64)
    return (a - y) * a * (1 - a) / len(a)


_EXTRA = ("an extra factor a·(1 - a) (a sigmoid_derivative applied to the error): with the "
          "cross-entropy that factor cancels, dL/dz = (a - y) / N")

NEURON_BACKWARD_DW = [
    Mistake("extra sigmoid slope", _EXTRA, lambda y, x, a: np.asarray(x).T @ _extra_factor(y, x, a)),
]

NEURON_BACKWARD_DB = [
    Mistake("extra sigmoid slope", _EXTRA, lambda y, x, a: _extra_factor(y, x, a).sum()),
]


def _steps(got: Any, want: Any, w: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """(your step, the right step), each as the change of the vector [w..., b]."""
    start = np.append(np.asarray(w, dtype=np.float64), b)
    return np.asarray(got, dtype=np.float64) - start, np.asarray(want, dtype=np.float64) - start


def _uphill(got: Any, want: Any, w: Any, b: Any, *_: Any) -> bool:
    """A relation: every parameter moved by the right amount, some of them the wrong way."""
    mine, right = _steps(got, want, w, b)
    if mine.shape != right.shape:
        return False
    same = np.isclose(mine, right, rtol=MATCH.rtol, atol=MATCH.atol)
    turned = np.isclose(mine, -right, rtol=MATCH.rtol, atol=MATCH.atol) & (right != 0)
    return bool(np.all(same | turned)) and bool(np.any(turned))


def _bias_kept(got: Any, want: Any, w: Any, b: Any, dw: Any, db: Any, lr: Any) -> bool:
    """A relation: w took the right step, b none at all."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return (lr * db != 0 and got.shape == want.shape and close(got[:-1], want[:-1], MATCH)
            and close(got[-1], b, MATCH))


GD_STEP = [
    Mistake("uphill", "a step UPHILL (+ lr·gradient), where the loss grows: subtract the "
            "gradients, w - lr·dw and b - lr·db", relation=_uphill),
    Mistake("bias kept", "w updated, but the bias did not move: b - lr·db", relation=_bias_kept),
    Mistake("no lr", "a step of the whole gradient, w - dw: multiply the gradients by lr",
            lambda w, b, dw, db, lr: np.append(w - dw, b - db) if lr != 1 else None),
]
