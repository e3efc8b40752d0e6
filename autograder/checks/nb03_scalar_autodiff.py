"""Graded checks of notebook 03 (scalar autodiff): six backward rules, topological order, backward.

Each rule is checked on its own. Its ``local`` check calls it on one fresh operation with a random
upstream gradient; its ``in_graphs`` check makes sure it adds (gradients already stored are kept,
``x * x`` collects both contributions) and runs it inside random expressions with fan-out. There
the check walks the graph itself, calling the learner's rule for the operation under test and a
correct rule (run in the check's process, on the learner's nodes) for every other operation, so a
wrong ``mul`` costs only ``mul``'s points. Expected gradients come from :class:`bplib.engine.Value`;
a centered difference is quoted beside them. Every check starts with the cell's visible cases,
and a known mistake is named by the catalogue (:mod:`autograder.mistakes.scalar`), as in the
notebook's visible tests.

``backward_pass`` is checked on nodes whose rules are known linear maps (the gradient of a node is
then the sum over paths of the products of the slopes) and that record when they run, and on
expressions whose nodes carry correct rules: it does not depend on the learner's six rules, only
on the learner's ``topological_order``, which it is meant to use. Those rules are the check's own
functions: the learner's process holds only callbacks to them (:mod:`autograder.remote`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.checks._graphs import path_sums, reachable
from autograder.framework import Learner, LearnerError, check, describe
from autograder.mistakes import HINT, Mistake, hint
from autograder.mistakes.scalar import (
    ACCUMULATE,
    ADD_RULE,
    BACKWARD_PASS,
    EXP_RULE,
    MUL_RULE,
    POW_RULE,
    RELU_RULE,
    SECOND_PASS,
    TANH_RULE,
    TOPOLOGICAL_ORDER,
)
from bplib.engine import Value as RefValue
from bplib.gradcheck import CheckError

__all__: list[str] = []

A = "03-scalar-autodiff"

_RETURNED = (
    "{fn} returned {value}: a rule returns nothing, it adds each operand's contribution into that "
    "operand's .grad"
)
_UNCHANGED = "the operands' .grad did not change: add each contribution into `operand.grad`"
_OFF = ("the contribution added is wrong, so the local rule itself is off: the check of this rule "
        "on a fresh operation (the cell above) says how")


class _Linear:
    """What the rule of one linear node saw: how often it ran, and out.grad when it ran."""

    __slots__ = ("calls", "seen")

    def __init__(self) -> None:
        self.calls, self.seen = 0, 0.0


class _Clock:
    """The rule runs across one graph, so the order in which they ran can be checked: ``runs``
    holds the labels of the nodes whose rules ran, in the order they ran."""

    __slots__ = ("runs",)

    def __init__(self) -> None:
        self.runs: list[str] = []


class _Helpers:
    """Set numbers on the learner's nodes, build nodes whose rules are known, apply correct rules.

    All of it runs in the check's process. A rule set on a node (``node._backward = rule``) is a
    function of the check: the learner's process gets a callback, and when the learner's code
    runs it, it runs here, reading and adding gradients through the learner's nodes. No correct
    rule is ever defined in the learner's process.
    """

    def __init__(self, learner: Learner) -> None:
        self._learner = learner
        self._value: Any = None  # the learner's Value class, looked up once

    @staticmethod
    def set_grad(node: Any, g: float) -> None:
        node.grad = float(g)

    @staticmethod
    def set_label(node: Any, label: str) -> None:
        node.label = str(label)

    def linear_node(self, a: Any, b: Any, sa: float, sb: float, data: float, label: str,
                    clock: _Clock) -> tuple[Any, _Linear]:
        """A node made from a (and b) whose local derivatives are the numbers sa (and sb).

        Its rule counts its runs, notes that it ran (clock) and the gradient it found, and adds
        sa * grad to a, sb * grad to b. Returns the node and that record.
        """
        if self._value is None:
            self._value = self._learner.Value
        out = _call("Value", self._value, data, (a,) if b is None else (a, b), "f", label)
        seen = _Linear()

        def rule() -> None:
            seen.calls += 1
            clock.runs.append(label)
            g = out.grad
            seen.seen = g
            a.grad += sa * g
            if b is not None:
                b.grad += sb * g

        out._backward = rule
        return out, seen

    @staticmethod
    def reference_backward(kind: str, a: Any, b: Any, n: float | None, out: Any) -> None:
        """The correct rule of one operation."""
        g = out.grad
        if kind == "add":
            a.grad += g
            b.grad += g
        elif kind == "mul":
            da, db = b.data * g, a.data * g
            a.grad += da
            b.grad += db
        elif kind == "pow":
            a.grad += n * a.data ** (n - 1) * g
        elif kind == "exp":
            a.grad += out.data * g
        elif kind == "tanh":
            a.grad += (1.0 - out.data**2) * g
        elif kind == "relu":
            a.grad += g if a.data > 0 else 0.0
        else:
            raise ValueError(kind)

    def use_reference_rule(self, kind: str, a: Any, b: Any, n: float | None, out: Any) -> None:
        reference = self.reference_backward
        out._backward = lambda: reference(kind, a, b, n, out)


def _call(where: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call learner code; its exceptions become a LearnerError naming ``where``."""
    try:
        return fn(*args)
    except CheckError:
        raise
    except Exception as exc:  # the learner's bug is a lost point, not a crash of the check
        raise LearnerError(where, type(exc).__name__, str(exc)) from None


def _num(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise CheckError(f"{what} should be a number, got {describe(value)}") from None
    return out


def _same(got: Sequence[float], want: Sequence[float], rtol: float = 1e-9) -> bool:
    return all(math.isfinite(g) and abs(g - w) <= rtol * (1.0 + abs(w)) for g, w in
               zip(got, want, strict=True))


# ----------------------------------------------------------------------------- operations
_BINARY = ("add", "mul")
_FN = {kind: f"backward_{kind}" for kind in ("add", "mul", "pow", "exp", "tanh", "relu")}
# the catalogue of each rule's mistakes on fresh operands; inputs as _inputs gives them
_RULES: dict[str, list[Mistake]] = {
    "add": ADD_RULE, "mul": MUL_RULE, "pow": POW_RULE, "exp": EXP_RULE, "tanh": TANH_RULE,
    "relu": RELU_RULE,
}
_SYMBOL = {"add": "+", "mul": "*"}


def _forward(kind: str, xs: Sequence[float], n: float | None) -> float:
    x = xs[0]
    if kind == "add":
        return x + xs[1]
    if kind == "mul":
        return x * xs[1]
    if kind == "pow":
        return x**n
    if kind == "exp":
        return math.exp(x)
    if kind == "tanh":
        return math.tanh(x)
    return max(x, 0.0)


def _apply(kind: str, nodes: Sequence[Any], n: float | None) -> Any:
    """The operation on Value nodes (the learner's or bplib's), through their operators."""
    a = nodes[0]
    if kind == "add":
        return a + nodes[1]
    if kind == "mul":
        return a * nodes[1]
    if kind == "pow":
        return a**n
    return getattr(a, kind)()


def _reference_grads(kind: str, xs: Sequence[float], n: float | None, g: float,
                     same_node: bool = False) -> tuple[float, ...]:
    """bplib's engine: the gradients one operation gives its operands under upstream g."""
    if same_node:
        x = RefValue(xs[0])
        nodes = [x, x]
    else:
        nodes = [RefValue(v) for v in xs]
    out = _apply(kind, nodes, n)
    out.grad = g
    out._backward()
    return (nodes[0].grad,) if same_node else tuple(node.grad for node in nodes)


def _describe(kind: str, xs: Sequence[float], n: float | None, g: float) -> str:
    if kind in _BINARY:
        where = f"a = {xs[0]:.4g}, b = {xs[1]:.4g}"
    elif kind == "pow":
        where = f"a = {xs[0]:.4g}, n = {n:g}"
    else:
        where = f"a = {xs[0]:.4g}"
    return f"{where}, out.grad = {g:.4g}"


def _inputs(kind: str, xs: Sequence[float], n: float | None, g: float) -> tuple[float, ...]:
    """The numbers a rule reads, as the catalogue's tables take them."""
    if kind in _BINARY:
        return (xs[0], xs[1], g)
    return (xs[0], n, g) if kind == "pow" else (xs[0], g)


# ----------------------------------------------------------------------------- one operation
def _run_rule(learner: Learner, helpers: _Helpers, kind: str, xs: Sequence[float],
              n: float | None, g: float, before: Sequence[float] | None = None,
              same_node: bool = False) -> tuple[tuple[float, ...], Any]:
    """Build one operation from fresh learner nodes, set grads, run the learner's rule.

    Returns the operands' grads afterwards (one per distinct node) and what the rule returned.
    """
    if same_node:
        node = _call("Value", learner.Value, xs[0])
        nodes = [node, node]
        distinct = [node]
    else:
        nodes = [_call("Value", learner.Value, v) for v in xs]
        distinct = nodes
    out = _call(f"Value ({kind})", _apply, kind, nodes, n)
    for node, start in zip(distinct, before or [], strict=False):
        helpers.set_grad(node, start)
    helpers.set_grad(out, g)
    fn = _FN[kind]
    rule = getattr(learner, fn)
    if kind in _BINARY:
        returned = _call(fn, rule, nodes[0], nodes[1], out)
    elif kind == "pow":
        returned = _call(fn, rule, nodes[0], n, out)
    else:
        returned = _call(fn, rule, nodes[0], out)
    names = ("a", "b")
    grads = tuple(_num(node.grad, f"{fn}: {names[i]}.grad") for i, node in enumerate(distinct))
    return grads, returned


def _fail(fn: str, where: str, names: Sequence[str], got: Sequence[float],
          want: Sequence[float], why: str, wrong: int = 1, total: int = 1) -> None:
    """Raise the failure of one case; ``why`` is its hint line ("" for none)."""
    found = ", ".join(f"{k}.grad = {u:.10g} (expected {w:.10g})"
                      for k, u, w in zip(names, got, want, strict=True))
    raise CheckError(
        f"{fn} at {where}: {found}"
        + (f" ({wrong} of {total} cases wrong)" if total > 1 else "")
        + why
    )


def _generic(fn: str, got: Sequence[float], before: Sequence[float], returned: Any,
             added: bool = False) -> str:
    """The hint line when no known mistake explains the gradients ("" if none fits)."""
    if returned is not None:
        return HINT + _RETURNED.format(fn=fn, value=describe(returned))
    if _same(got, before):
        return HINT + _UNCHANGED
    return HINT + _OFF if added else ""


def _check_local(learner: Learner, kind: str, cases: list[tuple]) -> None:
    """The rule alone on fresh operands (grad 0) under upstream g: out.grad × local derivative.

    A hint is given only when it explains every failing case: the first known mistake that all
    of them are, or else a reason they share.
    """
    helpers = _Helpers(learner)
    fn = _FN[kind]
    names = ("a", "b") if kind in _BINARY else ("a",)
    failures = []
    for xs, n, g in cases:
        got, returned = _run_rule(learner, helpers, kind, xs, n, g)
        want = _reference_grads(kind, xs, n, g)
        if not _same(got, want):
            failures.append((_describe(kind, xs, n, g), got, want, _inputs(kind, xs, n, g),
                             _generic(fn, got, [0.0] * len(got), returned)))
    if not failures:
        return
    where, got, want, inputs, why = failures[0]
    common = [m for m in _RULES[kind]
              if all(m.matches(f[1], f[3], f[2]) for f in failures)]
    if common:
        why = hint(got, common, *inputs, want=want)
    elif any(f[4] != why for f in failures):
        why = ""
    _fail(fn, where, names, got, want, why, len(failures), len(cases))


def _check_adds(learner: Learner, kind: str, cases: list[tuple]) -> None:
    """Gradients already in the operands are kept: the rule adds to them."""
    helpers = _Helpers(learner)
    fn = _FN[kind]
    for xs, n, g, before in cases:
        got, returned = _run_rule(learner, helpers, kind, xs, n, g, before=before)
        local = _reference_grads(kind, xs, n, g)
        want = tuple(p + c for p, c in zip(before, local, strict=True))
        if _same(got, want):
            continue
        why = (hint(got, ACCUMULATE, tuple(before), want=want)
               or _generic(fn, got, before, returned, added=True))
        names = ("a", "b") if kind in _BINARY else ("a",)
        starts = ", ".join(f"{k}.grad = {p:g}" for k, p in zip(names, before, strict=True))
        where = f"{_describe(kind, xs, n, g)} and already {starts}"
        _fail(fn, where, names, got, want, why)


def _check_same_node(learner: Learner, kind: str, cases: list[tuple]) -> None:
    """x + x and x * x: one node in both operand slots collects both contributions."""
    helpers = _Helpers(learner)
    fn = _FN[kind]
    for x, g in cases:
        got, returned = _run_rule(learner, helpers, kind, (x, x), None, g, same_node=True)
        want = _reference_grads(kind, (x, x), None, g, same_node=True)
        if _same(got, want):
            continue
        why = hint(got, ACCUMULATE, (0.0,), want=want) or _generic(fn, got, (0.0,), returned)
        where = f"x {_SYMBOL[kind]} x with x = {x:.4g}, out.grad = {g:.4g}"
        _fail(fn, where, ("x",), got, want, why)


def _check_two_uses(learner: Learner, kind: str, x: float,
                    uses: Sequence[tuple[float | None, float]]) -> None:
    """One node feeding two operations of this kind, ``uses`` = [(n, out.grad), (n, out.grad)]
    (n the exponent of pow, else None): the two rule calls add up."""
    helpers = _Helpers(learner)
    fn = _FN[kind]
    a = _call("Value", learner.Value, x)
    outs = [_call(f"Value ({kind})", _apply, kind, [a], n) for n, _ in uses]
    for out, (_, g) in zip(outs, uses, strict=True):
        helpers.set_grad(out, g)
    for out, (n, _) in zip(outs, uses, strict=True):
        args = (a, n, out) if kind == "pow" else (a, out)
        _call(fn, getattr(learner, fn), *args)
    got = (_num(a.grad, f"{fn}: a.grad"),)
    first, second = (_reference_grads(kind, (x,), n, g)[0] for n, g in uses)
    if _same(got, (first + second,)):
        return
    # the second call found the first one's contribution in a.grad
    why = hint(got, ACCUMULATE, (first,), want=(first + second,))
    (n1, g1), (n2, g2) = uses
    second_use = f"a second use{f' with n = {n2:g}' if kind == 'pow' else ''}, out.grad = {g2:.4g}"
    where = f"{_describe(kind, (x,), n1, g1)} and {second_use}"
    _fail(fn, where, ("a",), got, (first + second,), why)


# ----------------------------------------------------------------------------- random expressions
_KINDS = ("add", "mul", "pow", "exp", "tanh", "relu")
_EXPONENTS = (2.0, 3.0, -1.0, 0.5, 1.5)


def _program(seed: int, focus: str | None, n_leaves: int = 3, n_ops: int = 8,
             self_use: bool = False) -> tuple[list[float], list[tuple]]:
    """A random expression: leaf values and steps (kind, i, j, n) over earlier node indices.

    The steps use ``focus`` about half the time (every kind when None), reuse nodes (fan-out),
    keep every value moderate and stay away from the kink of relu. The last steps add up all
    nodes nothing uses, so every node reaches the root (the last node). ``self_use`` starts with
    x0 op x0 for a binary focus.
    """
    rng = np.random.default_rng(seed)
    values = [float(v) for v in rng.uniform(0.5, 1.5, n_leaves) * rng.choice([-1.0, 1.0], n_leaves)]
    steps: list[tuple] = []
    if self_use and focus in _BINARY:
        steps.append((focus, 0, 0, None))
        values.append(_forward(focus, (values[0], values[0]), None))
    tries = 0
    while len(steps) < n_ops:
        tries += 1
        if tries > 5000:
            raise RuntimeError("could not build a random expression")  # never with these ranges
        kind = focus if focus is not None and rng.random() < 0.5 else str(rng.choice(_KINDS))
        # favour recent nodes: deeper expressions
        i = int(len(values) - 1 - min(rng.geometric(0.35) - 1, len(values) - 1))
        j = int(rng.integers(len(values))) if kind in _BINARY else None
        n = float(rng.choice(_EXPONENTS)) if kind == "pow" else None
        x = values[i]
        if kind == "pow" and (abs(x) < 0.3 or (x < 0 and not n.is_integer())):
            continue
        if kind == "relu" and abs(x) < 0.1:
            continue
        if kind == "exp" and x > 2.0:
            continue
        y = _forward(kind, (x,) if j is None else (x, values[j]), n)
        if not math.isfinite(y) or abs(y) > 15 or (y != 0 and abs(y) < 1e-2):
            continue
        values.append(y)
        steps.append((kind, i, j, n))
    used = {k for _, i, j, _ in steps for k in (i, j) if k is not None}
    unused = [k for k in range(n_leaves, len(values)) if k not in used]
    while len(unused) > 1:
        i, j = unused[0], unused[1]
        values.append(values[i] + values[j])
        steps.append(("add", i, j, None))
        unused = [*unused[2:], len(values) - 1]
    return values[:n_leaves], steps


def _evaluate(leaves: Sequence[float], steps: Sequence[tuple]) -> list[float]:
    values = list(leaves)
    for kind, i, j, n in steps:
        values.append(_forward(kind, (values[i],) if j is None else (values[i], values[j]), n))
    return values


def _text(n_leaves: int, steps: Sequence[tuple]) -> str:
    """The expression as lines like ``t3 = x0 * x1``."""
    def name(k: int) -> str:
        return f"x{k}" if k < n_leaves else f"t{k}"

    lines = []
    for s, (kind, i, j, n) in enumerate(steps):
        if kind in _BINARY:
            rhs = f"{name(i)} {_SYMBOL[kind]} {name(j)}"
        elif kind == "pow":
            rhs = f"{name(i)} ** {n:g}"
        else:
            rhs = f"{kind}({name(i)})"
        lines.append(f"{name(n_leaves + s)} = {rhs}")
    return "; ".join(lines)


def _bplib_grads(leaves: Sequence[float], steps: Sequence[tuple]) -> list[float]:
    nodes = [RefValue(v) for v in leaves]
    for kind, i, j, n in steps:
        nodes.append(_apply(kind, [nodes[i]] if j is None else [nodes[i], nodes[j]], n))
    nodes[-1].backward()
    return [node.grad for node in nodes[: len(leaves)]]


def _numerical_grads(leaves: Sequence[float], steps: Sequence[tuple], h: float = 1e-6) -> list:
    grads = []
    for k in range(len(leaves)):
        up, down = list(leaves), list(leaves)
        up[k] += h
        down[k] -= h
        grads.append((_evaluate(up, steps)[-1] - _evaluate(down, steps)[-1]) / (2 * h))
    return grads


def _build(learner: Learner, leaves: Sequence[float], steps: Sequence[tuple]) -> list[Any]:
    """The expression made of the learner's Values (through the given class's operators)."""
    nodes = [_call("Value", learner.Value, v, (), "", f"x{k}") for k, v in enumerate(leaves)]
    for kind, i, j, n in steps:
        operands = [nodes[i]] if j is None else [nodes[i], nodes[j]]
        nodes.append(_call(f"Value ({kind})", _apply, kind, operands, n))
    return nodes


def _compare_leaves(fn: str, leaves: Sequence[float], steps: Sequence[tuple], nodes: list,
                    g: float, context: str) -> None:
    want = [g * v for v in _bplib_grads(leaves, steps)]
    numeric = [g * v for v in _numerical_grads(leaves, steps)]
    for k in range(len(leaves)):
        got = _num(nodes[k].grad, f"{fn}: x{k}.grad")
        if _same([got], [want[k]], rtol=1e-8):
            continue
        uses = sum((i == k) + (j == k) for _, i, j, _ in steps)
        shown = _text(len(leaves), steps) if len(steps) <= 12 else f"{len(steps)} operations"
        raise CheckError(
            f"{fn} {context}: x{k}.grad = {got:.8g}, expected {want[k]:.8g} (bplib's engine; a "
            f"centered difference gives {numeric[k]:.8g}). x{k} = {leaves[k]:.4g} is used "
            f"{uses} time(s) in: {shown}; root = the last node, root.grad = {g:.4g}"
        )


def _check_in_expressions(learner: Learner, kind: str, seeds: Sequence[int]) -> None:
    """The learner's rule for ``kind`` inside random expressions (correct rules elsewhere)."""
    helpers = _Helpers(learner)
    fn = _FN[kind]
    rule = getattr(learner, fn)
    rng = np.random.default_rng(seeds[0] + 7)
    for s, seed in enumerate(seeds):
        leaves, steps = _program(seed, kind, self_use=(s == 0))
        nodes = _build(learner, leaves, steps)
        g = float(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]))
        helpers.set_grad(nodes[-1], g)
        for k in reversed(range(len(steps))):
            op, i, j, n = steps[k]
            out, a = nodes[len(leaves) + k], nodes[i]
            b = nodes[j] if j is not None else None
            if op == kind:
                args = (a, b, out) if op in _BINARY else (a, n, out) if op == "pow" else (a, out)
                _call(fn, rule, *args)
            else:
                helpers.reference_backward(op, a, b, n, out)
        _compare_leaves(fn, leaves, steps, nodes, g, "inside an expression")


def _random_cases(seed: int, kind: str, count: int) -> list[tuple]:
    """(xs, n, g) with moderate inputs away from the kinks."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        xs = tuple(float(v) for v in rng.uniform(-2.0, 2.0, 2 if kind in _BINARY else 1))
        n = float(rng.choice(_EXPONENTS)) if kind == "pow" else None
        if kind == "pow" and (abs(xs[0]) < 0.3 or (xs[0] < 0 and not n.is_integer())):
            continue
        if kind == "relu" and abs(xs[0]) < 0.1:
            continue
        g = float(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]))
        cases.append((xs, n, g))
    return cases


# ----------------------------------------------------------------------------- rule checks
@check(A, "test_backward_add_local")
def backward_add_local(learner: Learner) -> None:
    _check_local(learner, "add", [((2.0, -3.0), None, 1.5), *_random_cases(301, "add", 4)])


@check(A, "test_backward_add_in_graphs")
def backward_add_in_graphs(learner: Learner) -> None:
    _check_adds(learner, "add", [((2.0, -3.0), None, 1.5, (10.0, 20.0)),
                                 ((0.7, 1.9), None, -0.8, (-1.25, 0.5))])
    _check_same_node(learner, "add", [(4.0, 1.5), (-1.3, -0.6)])
    _check_in_expressions(learner, "add", [311, 312, 313])


@check(A, "test_backward_mul_local")
def backward_mul_local(learner: Learner) -> None:
    _check_local(learner, "mul", [((3.0, -2.0), None, 1.5), *_random_cases(302, "mul", 4)])


@check(A, "test_backward_mul_in_graphs")
def backward_mul_in_graphs(learner: Learner) -> None:
    _check_adds(learner, "mul", [((3.0, -2.0), None, 1.5, (10.0, 20.0)),
                                 ((-0.6, 1.4), None, 0.9, (0.25, -2.0))])
    _check_same_node(learner, "mul", [(3.0, 1.0), (-1.7, 0.4)])
    _check_in_expressions(learner, "mul", [321, 322, 323])


@check(A, "test_backward_pow_local")
def backward_pow_local(learner: Learner) -> None:
    _check_local(learner, "pow", [((3.0,), 2, 0.5), ((4.0,), 0.5, -2.0), ((-1.5,), 3, 0.7),
                                  ((2.0,), -2, 1.3), *_random_cases(303, "pow", 4)])


@check(A, "test_backward_pow_in_graphs")
def backward_pow_in_graphs(learner: Learner) -> None:
    _check_adds(learner, "pow", [((3.0,), 2, 0.5, (10.0,)), ((1.8,), 1.5, -1.1, (0.75,))])
    _check_two_uses(learner, "pow", 2.0, [(2, 1.0), (-1, 1.0)])
    _check_two_uses(learner, "pow", 2.0, [(-1, 1.0), (-1, 2.5)])
    _check_in_expressions(learner, "pow", [331, 332, 333])


@check(A, "test_backward_exp_local")
def backward_exp_local(learner: Learner) -> None:
    _check_local(learner, "exp", [((1.0,), None, 2.0), ((0.0,), None, -0.5),
                                  *_random_cases(304, "exp", 4)])


@check(A, "test_backward_exp_in_graphs")
def backward_exp_in_graphs(learner: Learner) -> None:
    _check_adds(learner, "exp", [((1.0,), None, 2.0, (10.0,)), ((-0.4,), None, 0.6, (-3.0,))])
    _check_two_uses(learner, "exp", 0.0, [(None, 1.0), (None, 3.0)])
    _check_two_uses(learner, "exp", 0.3, [(None, 1.0), (None, -2.0)])
    _check_in_expressions(learner, "exp", [341, 342, 343])


@check(A, "test_backward_tanh_local")
def backward_tanh_local(learner: Learner) -> None:
    _check_local(learner, "tanh", [((0.5,), None, 2.0), ((-1.3,), None, 0.8),
                                   *_random_cases(305, "tanh", 4)])


@check(A, "test_backward_tanh_in_graphs")
def backward_tanh_in_graphs(learner: Learner) -> None:
    _check_adds(learner, "tanh", [((0.5,), None, 2.0, (10.0,)), ((1.1,), None, -0.7, (0.4,))])
    _check_two_uses(learner, "tanh", 0.0, [(None, 1.0), (None, 3.0)])
    _check_two_uses(learner, "tanh", -0.6, [(None, 1.5), (None, 0.5)])
    _check_in_expressions(learner, "tanh", [351, 352, 353])


@check(A, "test_backward_relu_local")
def backward_relu_local(learner: Learner) -> None:
    for case in [((2.0,), None, 1.5), ((-1.0,), None, 1.5), ((0.0,), None, 1.5),
                 ((0.0,), None, -0.7), *_random_cases(306, "relu", 5)]:
        # one case at a time: the hints differ with the sign of the input
        _check_local(learner, "relu", [case])


@check(A, "test_backward_relu_in_graphs")
def backward_relu_in_graphs(learner: Learner) -> None:
    _check_adds(learner, "relu", [((2.0,), None, 1.5, (10.0,)), ((-1.0,), None, 1.5, (10.0,)),
                                  ((0.8,), None, -0.4, (-2.5,)), ((-0.3,), None, 2.0, (1.5,))])
    _check_two_uses(learner, "relu", 1.2, [(None, 0.5), (None, 1.5)])
    _check_in_expressions(learner, "relu", [361, 362, 363])


# ----------------------------------------------------------------------------- graphs of known nodes
class _Graph:
    """A graph of the learner's Values, leaves and linear nodes, known to the check.

    ``labels[k]``: node k's label; ``inputs[k]``: ((child, slope), ...) for interior nodes, () for
    leaves; ``seen[k]``: what node k's rule saw (None for leaves); ``root``: the index of the
    root; ``reachable``: the nodes below the root.
    """

    def __init__(self, learner: Learner, helpers: _Helpers, seed: int, n_leaves: int,
                 n_nodes: int, detached: bool = True, chain: int = 0,
                 prefix: str = "n") -> None:
        rng = np.random.default_rng(seed)
        self.clock = _Clock()
        self.labels: list[str] = []
        self.inputs: list[tuple] = []
        self.nodes: list[Any] = []
        self.seen: list[_Linear | None] = []  # what the rule of each interior node saw
        for k in range(n_leaves):
            self._add_leaf(learner, f"{prefix}{k}")
        used: set[int] = set()
        for _ in range(n_nodes):
            size = len(self.nodes)
            a = size - 1 - min(int(rng.geometric(0.4)) - 1, size - 1)
            b = int(rng.integers(size)) if rng.random() < 0.7 else None
            slopes = rng.uniform(0.5, 2.0, 2) * rng.choice([-1.0, 1.0], 2)
            self._add_node(helpers, a, b, float(slopes[0]), float(slopes[1]), prefix)
            used.update(k for k in (a, b) if k is not None)
        for _ in range(chain):  # a long thin part: depth
            self._add_node(helpers, len(self.nodes) - 1, None, 0.9, 0.0, prefix)
            used.add(len(self.nodes) - 2)
        self.detached = None
        if detached:  # built from the graph but not used by the root: must not be visited
            self._add_node(helpers, n_leaves - 1, None, 2.0, 0.0, prefix)
            self.detached = len(self.nodes) - 1
            used.add(n_leaves - 1)
        unused = [k for k in range(len(self.nodes)) if k not in used and k != self.detached]
        while len(unused) > 1:
            self._add_node(helpers, unused[0], unused[1], 1.0, -1.0, prefix)
            unused = [*unused[2:], len(self.nodes) - 1]
        self.root = unused[0]
        self.reachable = self._below(self.root)

    @classmethod
    def example(cls, learner: Learner, helpers: _Helpers) -> _Graph:
        """The notebook's example_graph(): leaves a, b; c = lin(a, b) with slopes 2, -1;
        d = lin(c, a) with 3, 0.5; e = lin(d, c) with 1.5, 4, the root."""
        graph = cls.__new__(cls)
        graph.clock = _Clock()
        graph.labels, graph.inputs, graph.nodes, graph.seen = [], [], [], []
        graph._add_leaf(learner, "a")
        graph._add_leaf(learner, "b")
        for label, (a, sa), (b, sb) in (("c", (0, 2.0), (1, -1.0)), ("d", (2, 3.0), (0, 0.5)),
                                        ("e", (3, 1.5), (2, 4.0))):
            graph._add_node(helpers, a, b, sa, sb, "", label)
        graph.detached = None
        graph.root = 4
        graph.reachable = graph._below(graph.root)
        return graph

    def children(self) -> dict[str, list[str]]:
        """The labels of the children of every node below the root (the catalogue's input)."""
        return {self.labels[k]: [self.labels[c] for c, _ in self.inputs[k]]
                for k in sorted(self.reachable)}

    def order(self) -> list[str]:
        """A topological order of the nodes below the root: children first, the root last."""
        return [self.labels[k] for k in sorted(self.reachable)]

    def run_order(self) -> list[str]:
        """An order the rules of the nodes below the root may run in: users first."""
        return [self.labels[k] for k in sorted(self.reachable, reverse=True) if self.inputs[k]]

    def _add_leaf(self, learner: Learner, label: str) -> None:
        self.nodes.append(_call("Value", learner.Value, 0.5 + len(self.nodes), (), "", label))
        self.seen.append(None)
        self.labels.append(label)
        self.inputs.append(())

    def _add_node(self, helpers: _Helpers, a: int, b: int | None, sa: float, sb: float,
                  prefix: str, label: str = "") -> None:
        label = label or f"{prefix}{len(self.nodes)}"
        node, seen = helpers.linear_node(self.nodes[a], None if b is None else self.nodes[b], sa,
                                         sb, float(len(self.nodes)), label, self.clock)
        self.nodes.append(node)
        self.seen.append(seen)
        self.labels.append(label)
        self.inputs.append(((a, sa),) if b is None else ((a, sa), (b, sb)))

    def _below(self, root: int) -> set[int]:
        return reachable(self.inputs, root)

    def expected_grads(self) -> list[float]:
        """The sum over paths from the root of the products of slopes, for every node."""
        return path_sums(self.inputs, self.root)


# ----------------------------------------------------------------------------- topological order
def _order_labels(learner: Learner, root: Any) -> list[str]:
    """The labels of the nodes the learner's topological_order(root) returns, in its order."""
    result = _call("topological_order", learner.topological_order, root)
    if result is None:
        raise CheckError("topological_order returned None: is a `return` missing?")
    try:
        items = list(result)
    except TypeError:
        raise CheckError(
            f"topological_order must return a list of Values, got {describe(result)}"
        ) from None
    labels = []
    for item in items:
        try:
            labels.append(str(item.label))
        except AttributeError:
            raise CheckError(
                f"topological_order must return a list of Values, found {describe(item)}"
            ) from None
    return labels


def _expression_example(learner: Learner, twice: bool) -> tuple[str, Any, dict[str, str]]:
    """The notebook's L = (a*b + a)**2 from the learner's operators, labelled a, b, c, d, L; with
    ``twice``, L = s * s for that square s (one node used twice, as in x * x).

    Returns (its description, the root, the children of each node by label)."""
    a = _call("Value", learner.Value, 2.0, (), "", "a")
    b = _call("Value", learner.Value, -3.0, (), "", "b")
    c = _call("Value (mul)", _apply, "mul", [a, b], None)
    d = _call("Value (add)", _apply, "add", [c, a], None)
    square = _call("Value (pow)", _apply, "pow", [d], 2)
    children = {"a": "", "b": "", "c": "ab", "d": "ca"}
    labelled = [(c, "c"), (d, "d")]
    if twice:
        root = _call("Value (mul)", _apply, "mul", [square, square], None)
        labelled += [(square, "s"), (root, "L")]
        children |= {"s": "d", "L": "ss"}
        what = "L = ((a*b + a)**2) * ((a*b + a)**2)"
    else:
        root = square
        labelled.append((root, "L"))
        children["L"] = "d"
        what = "L = (a*b + a)**2"
    helpers = _Helpers(learner)
    for node, label in labelled:
        helpers.set_label(node, label)
    return what, root, children


def _topological_cases(learner: Learner) -> list[tuple[str, list[str], list[str], dict]]:
    """(description, the learner's order, a right one, children by label) for every graph: the
    notebook's first, then random graphs with a node that is not below the root."""
    cases = []
    for twice in (False, True):
        what, root, children = _expression_example(learner, twice)
        cases.append((what, _order_labels(learner, root), list(children), children))
    helpers = _Helpers(learner)
    for graph in (_Graph(learner, helpers, 401, 2, 4), _Graph(learner, helpers, 402, 3, 8),
                  _Graph(learner, helpers, 403, 3, 12, chain=40),
                  _Graph(learner, helpers, 404, 1, 5)):
        cases.append((f"a graph of {len(graph.reachable)} nodes",
                      _order_labels(learner, graph.nodes[graph.root]), graph.order(),
                      graph.children()))
    return cases


@check(A, "test_topological_order_complete")
def topological_order_complete(learner: Learner) -> None:
    for what, got, want, children in _topological_cases(learner):
        where = f"topological_order on {what}"
        why = hint(got, TOPOLOGICAL_ORDER, children, want=want)
        for label in want:
            if got.count(label) > 1:
                raise CheckError(f"{where}: node {label} appears {got.count(label)} times{why}")
        missing = [label for label in want if label not in got]
        if missing:
            raise CheckError(f"{where}: {len(missing)} of {len(want)} nodes are missing (e.g. "
                             f"{missing[0]}){why}")
        extra = sorted(set(got) - set(want))
        if extra:
            raise CheckError(f"{where}: the list holds {extra[0]}, which is not below the "
                             f"root{why}")


@check(A, "test_topological_order_children_first")
def topological_order_children_first(learner: Learner) -> None:
    for what, got, want, children in _topological_cases(learner):
        where = f"topological_order on {what}"
        why = hint(got, TOPOLOGICAL_ORDER, children, want=want)
        root = want[-1]
        if not got or got[-1] != root:
            raise CheckError(f"{where}: the root {root} should be last"
                             + (why or HINT + "the root comes last"))
        places = {label: got.index(label) for label in set(got)}
        for node, kids in children.items():
            for child in kids:
                if child in places and node in places and places[child] > places[node]:
                    raise CheckError(f"{where}: {child} comes after {node}, which is computed "
                                     f"from it{why}")


# ----------------------------------------------------------------------------- backward pass
def _run_backward(learner: Learner, root: Any) -> None:
    _call("backward_pass", learner.backward_pass, root)


@check(A, "test_backward_pass_seed")
def backward_pass_seed(learner: Learner) -> None:
    for x in (3.0, -0.25):
        leaf = _call("Value", learner.Value, x, (), "", "a")
        _run_backward(learner, leaf)
        got = _num(leaf.grad, "backward_pass: a.grad")
        if got != 1.0:
            raise CheckError(
                f"backward_pass(a) on a lone input: a.grad = {got:g}, expected 1.0\n  hint: "
                "seed the root with root.grad = 1.0 (dL/dL = 1)"
            )
    helpers = _Helpers(learner)
    for graph in (_Graph.example(learner, helpers),
                  _Graph(learner, helpers, 411, 2, 3, detached=False),
                  _Graph(learner, helpers, 412, 3, 7, detached=False)):
        _run_backward(learner, graph.nodes[graph.root])
        root = graph.seen[graph.root] or _Linear()  # the root of these graphs is never a leaf
        calls, seen = _num(root.calls, "calls"), _num(root.seen, "seen")
        if calls == 0:
            raise CheckError("backward_pass: the root's rule never ran\n  hint: run "
                             "node._backward() for every node, the root too")
        if seen != 1.0:
            raise CheckError(
                f"backward_pass: the root's rule ran with root.grad = {seen:g}, expected 1.0\n"
                "  hint: seed root.grad = 1.0 BEFORE running the rules"
            )


def _order_failure(graph: _Graph) -> str:
    """What is wrong with the rule runs of one graph ("" if nothing)."""
    runs = graph.clock.runs
    for label in graph.run_order():
        if label not in runs:
            return f"the rule of {label} never ran"
        if runs.count(label) > 1:
            return f"the rule of {label} ran {runs.count(label)} times"
    if graph.detached is not None and graph.labels[graph.detached] in runs:
        return f"the rule of {graph.labels[graph.detached]} ran, but it is not below the root"
    children = graph.children()
    for k, label in enumerate(runs):
        late = [user for user in runs[k + 1:] if label in children.get(user, ())]
        if late:
            return f"the rule of {label} ran before the rule of {late[0]}, which uses it"
    return ""


@check(A, "test_backward_pass_order")
def backward_pass_order(learner: Learner) -> None:
    helpers = _Helpers(learner)
    graphs = [_Graph.example(learner, helpers)]
    graphs += [_Graph(learner, helpers, seed, leaves, size, chain=chain)
               for seed, leaves, size, chain in ((421, 2, 3, 0), (422, 3, 8, 0), (423, 2, 10, 25),
                                                 (424, 4, 14, 0))]
    for graph in graphs:
        _run_backward(learner, graph.nodes[graph.root])
        problem = _order_failure(graph)
        if problem:
            raise CheckError(
                f"backward_pass on a graph of {len(graph.reachable)} nodes: {problem}"
                + hint(list(graph.clock.runs), BACKWARD_PASS, graph.children(),
                       want=graph.run_order())
            )


@check(A, "test_backward_pass_gradients")
def backward_pass_gradients(learner: Learner) -> None:
    helpers = _Helpers(learner)
    # nodes with linear rules: path sums (the notebook's example graph first)
    graphs = [_Graph.example(learner, helpers)]
    graphs += [_Graph(learner, helpers, seed, leaves, size)
               for seed, leaves, size in ((431, 2, 3), (432, 3, 9), (433, 3, 15))]
    for graph in graphs:
        _run_backward(learner, graph.nodes[graph.root])
        want = graph.expected_grads()
        # as the notebook does: the nodes with rules from the root down, then the inputs
        for k in sorted(graph.reachable, key=lambda k: (not graph.inputs[k], -k if graph.inputs[k]
                                                         else k)):
            got = _num(graph.nodes[k].grad, f"backward_pass: {graph.labels[k]}.grad")
            if not _same([got], [want[k]], rtol=1e-9):
                raise CheckError(
                    f"backward_pass on a graph of {len(graph.reachable)} nodes with known local "
                    f"derivatives: {graph.labels[k]}.grad = {got:.8g}, expected {want[k]:.8g} "
                    "(the sum over every path from the root of the products of the local "
                    "derivatives)"
                )
    # expressions of every operation, each node with a correct rule attached
    for seed in (441, 442, 443):
        leaves, steps = _program(seed, None, n_ops=10, self_use=False)
        if seed == 441:  # a diamond and x * x for sure
            leaves, steps = [1.3, -0.7, 0.9], [("mul", 0, 1, None), ("add", 3, 0, None),
                                               ("mul", 4, 4, None), ("tanh", 5, None, None),
                                               ("mul", 6, 2, None)]
        nodes = _build(learner, leaves, steps)
        for k, (op, i, j, n) in enumerate(steps):
            helpers.use_reference_rule(op, nodes[i], None if j is None else nodes[j], n,
                                       nodes[len(leaves) + k])
        _run_backward(learner, nodes[-1])
        _compare_leaves("backward_pass", leaves, steps, nodes, 1.0,
                        "on an expression (every node with a correct rule)")


def _shared_inputs(learner: Learner, helpers: _Helpers, seed: int | None
                   ) -> tuple[Any, Any, list[tuple[str, Any, float, float]]]:
    """Two outputs built on the same inputs: (first root, second root, [(label, input, what the
    first pass sends it, what the second sends it)]). Without a seed, the notebook's: a, b;
    first = lin(a, b) with slopes 3, 1; second = lin(a) with slope -0.5."""
    if seed is None:
        clock = _Clock()
        a = _call("Value", learner.Value, 1.0, (), "", "a")
        b = _call("Value", learner.Value, 2.0, (), "", "b")
        first, _ = helpers.linear_node(a, b, 3.0, 1.0, 0.0, "first", clock)
        second, _ = helpers.linear_node(a, None, -0.5, 0.0, 0.0, "second", clock)
        return first, second, [("a", a, 3.0, -0.5), ("b", b, 1.0, 0.0)]
    graph = _Graph(learner, helpers, seed, 2, 4, detached=False, prefix="p")
    # a second output built on the same two inputs a = p0 and b = p1
    rng = np.random.default_rng(seed + 1)
    a, b = graph.nodes[0], graph.nodes[1]
    sa, sb = (float(v) for v in rng.uniform(0.5, 2.0, 2))
    mid, _ = helpers.linear_node(a, b, sa, -sb, 0.0, "q0", graph.clock)
    top, _ = helpers.linear_node(mid, a, 1.5, 0.75, 0.0, "q1", graph.clock)
    firsts = graph.expected_grads()
    return graph.nodes[graph.root], top, [(graph.labels[0], a, firsts[0], 1.5 * sa + 0.75),
                                          (graph.labels[1], b, firsts[1], -1.5 * sb)]


@check(A, "test_backward_pass_accumulates")
def backward_pass_accumulates(learner: Learner) -> None:
    helpers = _Helpers(learner)
    for seed in (None, 451, 452):
        first, second, inputs = _shared_inputs(learner, helpers, seed)
        _run_backward(learner, first)
        for label, node, one, _ in inputs:
            got = _num(node.grad, f"backward_pass: {label}.grad")
            if not _same([got], [one], rtol=1e-9):
                raise CheckError(
                    f"backward_pass from the first of two outputs that share the input {label}: "
                    f"{label}.grad = {got:.10g}, expected {one:.10g}\n  hint: a single backward "
                    "pass is wrong here already: the gradient check above says how"
                )
        _run_backward(learner, second)
        for label, node, one, two in inputs:
            got = _num(node.grad, f"backward_pass: {label}.grad")
            if _same([got], [one + two], rtol=1e-9):
                continue
            why = hint((got,), SECOND_PASS, (one,), want=(one + two,)) or (
                HINT + "an input shared by two outputs holds the sum of what the two backward "
                "passes send it")
            raise CheckError(
                f"backward_pass from two outputs that share the input {label}: {label}.grad = "
                f"{got:.10g}, expected {one:.6g} (first pass) + {two:.6g} (second pass) = "
                f"{one + two:.10g}{why}"
            )
