"""Graded checks of notebook 15 (build an autograd): ``Tensor.backward``, ``unbroadcast`` and the
operations ``add``, ``mul``, ``matmul``, ``relu``, ``reduce_sum``, ``reduce_mean``, ``log_softmax``.

The learner writes the ``Tensor`` class (its ``backward``) and the operations; the checks reach
them through ``learner`` only: ``learner.Tensor(data, parents, op)`` makes a node in the learner's
process, attributes are read and set through it, and a node's closure is called as
``out._backward()``. Each check repeats its test cell's visible cases first, in the same order (so
a mistake is named the same way in the notebook and in the grade), then adds hidden ones: other
shapes, both operands broadcast, square products, inputs at ReLU's kink, huge logits.

* An operation is checked on its own, as the notebook checks it: fresh operands with their grads
  set by the check, ``out.grad`` set to an upstream gradient of the check's choosing, the closure
  run once. Expected values come from :mod:`bplib.autograd`; a recognised mistake is named from
  :mod:`autograder.mistakes.autograd` (ReLU's from :mod:`autograder.mistakes.activations`).
* ``Tensor.backward`` is checked on nodes made by the learner's ``Tensor`` whose closures are the
  check's own known linear maps (callbacks: nothing correct runs in the learner's process). They
  record how often and in which order they ran and the gradient they found; a leaf's gradient
  is then the sum over paths of the products of the slopes. So ``backward`` is graded apart from
  the learner's operations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.checks._graphs import path_sums
from autograder.checks._graphs import reachable as _reachable
from autograder.framework import Learner, LearnerError, as_array, check, describe
from autograder.mistakes import Mistake, hint
from autograder.mistakes.activations import RELU_BACKWARD, RELU_FORWARD
from autograder.mistakes.autograd import (
    ACCUMULATE,
    ADD_GRAD,
    LOG_SOFTMAX_FORWARD,
    LOG_SOFTMAX_GRAD,
    MATMUL_FORWARD,
    MATMUL_GRAD_A,
    MATMUL_GRAD_B,
    MUL_GRAD,
    REDUCE_MEAN_FORWARD,
    REDUCE_MEAN_GRAD,
    REDUCE_SUM_FORWARD,
    REDUCE_SUM_GRAD,
    SAME_NODE,
    UNBROADCAST,
)
from autograder.numeric import EXACT, close, differing, fmt
from autograder.remote import identity
from bplib import autograd as ref
from bplib.gradcheck import CheckError

__all__: list[str] = []  # checks register themselves; nothing here is for import

A = "15-autograd"

_SHAPE_HINT = (
    "\n  hint: whatever a closure adds into an operand's grad must have that operand's shape, "
    "and the arrays it combines must line up: a broadcast operand's gradient is summed with "
    "unbroadcast, and a sum along an axis keeps that axis (keepdims=True)"
)
_SIMPLE = (np.ndarray, np.generic, bool, int, float, complex, str, bytes, tuple, list, dict)


# ----------------------------------------------------------------------------- talking to nodes
def _call(where: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call learner code; its exceptions become a LearnerError naming ``where``."""
    try:
        return fn(*args)
    except CheckError:
        raise
    except Exception as exc:  # the learner's bug is a lost point, not a crash of the check
        raise LearnerError(where, type(exc).__name__, str(exc)) from None


def _attr(obj: Any, name: str, where: str) -> Any:
    try:
        return getattr(obj, name)
    except LearnerError as exc:
        if exc.exc_type != "AttributeError":
            raise
    except AttributeError:
        pass
    raise CheckError(f"{where} has no attribute `{name}`: every Tensor needs data, grad, "
                     "parents and _backward (they are set in Tensor.__init__)")


def _node(result: Any, where: str) -> Any:
    """``result`` if it can be a Tensor; a CheckError saying what came instead."""
    if result is None:
        raise CheckError(f"{where} returned None: is a `return` missing? It must return the new "
                         "Tensor, the node of its result")
    if isinstance(result, _SIMPLE):
        raise CheckError(f"{where} must return a new Tensor, the node of its result; got "
                         f"{describe(result)}")
    return result


def _tensor(learner: Learner, data: Any, parents: Sequence[Any] = (), op: str = "") -> Any:
    return _call("Tensor", learner.Tensor, np.array(data, dtype=np.float64), tuple(parents), op)


def _set_grad(node: Any, value: Any) -> None:
    node.grad = np.array(value, dtype=np.float64)


def _grad(node: Any, what: str) -> np.ndarray:
    return as_array(_attr(node, "grad", what), f"{what}.grad")


def _run_closure(out: Any, g: Any, where: str) -> None:
    """Set out.grad = g and run out's closure once, as backward() would."""
    _set_grad(out, g)
    closure = _attr(out, "_backward", where)
    try:
        _call(f"the backward closure of {where}", closure)
    except LearnerError as exc:
        if exc.exc_type == "ValueError":
            raise CheckError(f"{where}: the backward closure raised ValueError: "
                             f"{exc.exc_message}{_SHAPE_HINT}") from None
        raise


def _compare(got: Any, want: Any, name: str, where: str, mistakes: Sequence[Mistake] = (),
             inputs: Sequence[Any] = (), before: Any = None) -> None:
    """``got`` must equal ``want`` to rounding; a known mistake of ``inputs`` is named.

    ``before``: what the array held before the closure ran, to say so when nothing arrived."""
    got = as_array(got, f"{where}: {name}")
    want = np.asarray(want, dtype=np.float64)
    if got.shape == want.shape and close(got, want, EXACT):
        return
    extra = hint(got, list(mistakes), *inputs, want=want) if mistakes else ""
    if not extra and before is not None and close(got, before, EXACT):
        extra = (f"\n  hint: {name} did not change: the closure must add a contribution into "
                 "every operand's grad")
    if not extra and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        extra = ("\n  hint: an overflow: some exp() received a huge argument; subtract each "
                 "row's max first (log-sum-exp)")
    if got.shape != want.shape:
        raise CheckError(f"{where}: {name} has shape {got.shape}, expected {want.shape}{extra}")
    if want.ndim == 0:
        raise CheckError(f"{where}: {name} is {float(got):.8g}, expected {float(want):.8g}{extra}")
    raise CheckError(f"{where}: {name} is wrong: {differing(got, want, EXACT)}{extra}")


def _has_parents(learner_out: Any, operands: Sequence[Any], where: str, code: str) -> None:
    parents = _attr(learner_out, "parents", where)
    try:
        ids = [identity(p) for p in parents]
    except TypeError:
        raise CheckError(f"{where}: parents must be a tuple of the operand Tensors, got "
                         f"{describe(parents)}") from None
    for operand in operands:
        if identity(operand) not in ids:
            raise CheckError(f"{where}: out.parents must hold every operand, so that backward() "
                             f"can reach it\n  hint: {code}")


def _shape(shape: Sequence[int]) -> str:
    return str(tuple(shape))


# ----------------------------------------------------------------------------- unbroadcast
def _unbroadcast_cases(extra: Sequence[tuple[tuple[int, ...], tuple[int, ...]]], seed: int
                       ) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    rng = np.random.default_rng(seed)
    return [(np.round(rng.standard_normal(g), 3), s) for g, s in extra]


_G = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
_G3 = np.arange(12.0).reshape(2, 2, 3)


def _check_unbroadcast(learner: Learner, cases: list[tuple[np.ndarray, tuple[int, ...]]]) -> None:
    for g, shape in cases:
        where = f"unbroadcast(grad of shape {g.shape}, {_shape(shape)})"
        got = _call("unbroadcast", learner.unbroadcast, g.copy(), tuple(shape))
        if got is None:
            raise CheckError(f"{where} returned None: is a `return` missing?")
        _compare(got, ref.unbroadcast(g, shape), "the result", where, UNBROADCAST, (g, shape))


@check(A, "test_unbroadcast_added_axes")
def unbroadcast_added_axes(learner: Learner) -> None:
    visible = [(_G, (3,)), (_G, ()), (_G, (2, 3)), (_G3, (2, 3))]
    hidden = _unbroadcast_cases([((5, 4), (4,)), ((3, 2, 4), (2, 4)), ((3, 2, 4), (4,)),
                                 ((6,), ()), ((2, 3, 4), ()), ((1, 5), (5,)), ((4,), (4,))], 1501)
    _check_unbroadcast(learner, visible + hidden)


@check(A, "test_unbroadcast_size_one_axes")
def unbroadcast_size_one_axes(learner: Learner) -> None:
    visible = [(_G, (1, 3)), (_G, (2, 1)), (_G, (1, 1)), (_G3, (2, 1))]
    hidden = _unbroadcast_cases([((4, 5), (1, 5)), ((4, 5), (4, 1)), ((3, 4, 5), (3, 1, 5)),
                                 ((3, 4, 5), (1, 4, 1)), ((2, 3, 4), (1, 1, 1)),
                                 ((3, 4, 5), (4, 1)), ((2, 1, 3), (1, 3)), ((6, 1), (1, 1))], 1502)
    _check_unbroadcast(learner, visible + hidden)


# ----------------------------------------------------------------------------- operations
# name -> (the reference operation, its symbol for messages, how out.parents is recorded)
_OPS: dict[str, tuple[Callable[..., Any], str, str]] = {
    "add": (ref.add, "+", "Tensor(value, (a, b), '+')"),
    "mul": (ref.mul, "*", "Tensor(value, (a, b), '*')"),
    "matmul": (ref.matmul, "@", "Tensor(value, (a, b), '@')"),
    "relu": (ref.relu, "relu", "Tensor(value, (x,), 'relu')"),
    "reduce_sum": (ref.reduce_sum, "sum", "Tensor(value, (x,), 'sum')"),
    "reduce_mean": (ref.reduce_mean, "mean", "Tensor(value, (x,), 'mean')"),
    "log_softmax": (ref.log_softmax, "log_softmax", "Tensor(value, (x,), 'log_softmax')"),
}
_BINARY = ("add", "mul", "matmul")


def _describe(name: str, datas: Sequence[np.ndarray], same: bool = False) -> str:
    if name in _BINARY:
        if same:
            return f"x {_OPS[name][1]} x with x of shape {datas[0].shape}"
        return (f"a of shape {np.shape(datas[0])} {_OPS[name][1]} b of shape "
                f"{np.shape(datas[1])}")
    largest = float(np.max(np.abs(datas[0]), initial=0.0))
    scores = f", entries up to {largest:.0e} in size" if largest >= 100 else ""
    return f"{name}(x) with x of shape {np.shape(datas[0])}{scores}"


def _reference(name: str, datas: Sequence[np.ndarray], g: Any,
               befores: Sequence[Any] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """bplib's forward value and the operands' grads after one closure call (distinct nodes)."""
    nodes = [ref.Tensor(d) for d in datas]
    for node, before in zip(nodes, befores or [], strict=False):
        node.grad = np.array(before, dtype=np.float64)
    out = _OPS[name][0](*nodes)
    out.grad = np.array(g, dtype=np.float64)
    out._backward()
    return out.data, [node.grad for node in nodes]


def _learner_op(learner: Learner, name: str, datas: Sequence[np.ndarray], g: Any | None,
                befores: Sequence[Any] | None = None, same: bool = False) -> tuple[Any, list[Any]]:
    """Fresh learner operands (one node in both slots if ``same``), their grads set to
    ``befores`` (zeros by default), out = the learner's operation; with ``g``, out's closure
    run once under that upstream gradient. Returns (out, the distinct operand nodes)."""
    count = 1 if same else len(datas)
    nodes = [_tensor(learner, d) for d in datas[:count]]
    for k, node in enumerate(nodes):
        _set_grad(node, befores[k] if befores is not None else np.zeros(np.shape(datas[k])))
    operands = [nodes[0], nodes[0]] if same else nodes
    where = _describe(name, datas, same)
    out = _node(_call(name, getattr(learner, name), *operands), f"{name} ({where})")
    if g is not None:
        _run_closure(out, g, where)
    return out, nodes


def _forward(learner: Learner, name: str, cases: Sequence[Sequence[np.ndarray]],
             mistakes: Sequence[Mistake] = ()) -> None:
    """out.data equals the reference's, and out.parents holds the operands."""
    for datas in cases:
        out, nodes = _learner_op(learner, name, datas, None)
        where = _describe(name, datas)
        data = _attr(out, "data", where)
        _compare(data, _reference_data(name, datas), "out.data", where, mistakes, tuple(datas))
        _has_parents(out, nodes, where, _OPS[name][2])


def _reference_data(name: str, datas: Sequence[np.ndarray]) -> np.ndarray:
    return _OPS[name][0](*[ref.Tensor(d) for d in datas]).data


_GradTables = Sequence[tuple[Sequence[Mistake], Callable[..., tuple[Any, ...]]]]


def _backward(learner: Learner, name: str, cases: Sequence[tuple[Sequence[np.ndarray], Any]],
              tables: _GradTables) -> None:
    """The closure, run once on fresh operands, adds exactly the reference's gradients.

    ``tables``: per operand, (its mistakes, the inputs they take from (datas, g, k))."""
    names = ("a", "b") if name in _BINARY else ("x",)
    for datas, g in cases:
        out, nodes = _learner_op(learner, name, datas, g)
        where = _describe(name, datas)
        _, want = _reference(name, datas, g)
        for k, node in enumerate(nodes):
            mistakes, inputs = tables[k]
            try:
                _compare(_grad(node, names[k]), want[k], f"{names[k]}.grad", where, mistakes,
                         inputs(datas, np.asarray(g, dtype=np.float64), k),
                         before=np.zeros(np.shape(datas[k])))
            except CheckError as exc:
                data = np.asarray(_attr(out, "data", where), dtype=np.float64)
                if "hint:" in str(exc) or np.all(np.isfinite(data)):
                    raise
                raise CheckError(f"{exc}\n  hint: the forward pass overflowed for these inputs "
                                 "(out.data holds inf or nan) and the closure used it: subtract "
                                 "each row's max before exp") from None


def _accumulates(learner: Learner, name: str,
                 cases: Sequence[tuple[Sequence[np.ndarray], Any, Sequence[Any]]],
                 same_cases: Sequence[tuple[np.ndarray, Any]] = ()) -> None:
    """Grads already in the operands are kept (the closure adds); x op x collects both slots."""
    names = ("a", "b") if name in _BINARY else ("x",)
    for datas, g, befores in cases:
        _, nodes = _learner_op(learner, name, datas, g, befores=befores)
        where = _describe(name, datas)
        _, contributions = _reference(name, datas, g)
        for k, node in enumerate(nodes):
            before = np.asarray(befores[k], dtype=np.float64)
            _compare(_grad(node, names[k]), before + contributions[k], f"{names[k]}.grad",
                     f"{where}, {names[k]}.grad held {_held(before)} before", ACCUMULATE,
                     (before, contributions[k]), before=before)
    for x, g in same_cases:
        _, (node,) = _learner_op(learner, name, (x, x), g, same=True)
        _, (first, second) = _reference(name, (x, x), g)
        _compare(_grad(node, "x"), first + second, "x.grad",
                 f"the closure of {_describe(name, (x, x), same=True)}", SAME_NODE, (first, second))


def _held(before: np.ndarray) -> str:
    flat = np.unique(before)
    if flat.size == 1:
        return f"{flat[0]:g} in every entry"
    return fmt(before)


def _draw(seed: int, *shapes: tuple[int, ...], scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.round(scale * rng.standard_normal(s), 4) for s in shapes]


def _upstream(seed: int, name: str, datas: Sequence[np.ndarray]) -> np.ndarray:
    return _draw(seed, np.shape(_reference_data(name, datas)))[0]


# ----------------------------------------------------------------------------- add
_X23 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def _add_inputs(datas: Sequence[np.ndarray], g: np.ndarray, k: int) -> tuple[Any, ...]:
    return (g, np.shape(datas[k]))


@check(A, "test_add_forward")
def add_forward(learner: Learner) -> None:
    cases = [(_X23, np.array([10.0, 20.0, 30.0]))]
    cases += [tuple(_draw(1511 + i, *shapes)) for i, shapes in enumerate(
        [((4, 1), (1, 5)), ((), (3,)), ((2, 3, 4), (3, 1)), ((3, 3), (3, 3)), ((3,), (2, 3))])]
    _forward(learner, "add", cases)


def _binary_cases(name: str, seed: int, shapes: Sequence[tuple[tuple[int, ...], ...]]
                  ) -> list[tuple[tuple[np.ndarray, ...], np.ndarray]]:
    cases = []
    for i, pair in enumerate(shapes):
        datas = tuple(_draw(seed + i, *pair))
        cases.append((datas, _upstream(seed + 50 + i, name, datas)))
    return cases


_G22 = np.array([[1.5, -2.0], [0.5, 3.0]])


@check(A, "test_add_backward")
def add_backward(learner: Learner) -> None:
    cases = [((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, -1.0], [2.0, 0.0]])), _G22)]
    cases += _binary_cases("add", 1521, [((3, 4), (3, 4)), ((5,), (5,)), ((2, 3, 2), (2, 3, 2)),
                                         ((), ())])
    _backward(learner, "add", cases, [(ADD_GRAD, _add_inputs)] * 2)


@check(A, "test_add_broadcast")
def add_broadcast(learner: Learner) -> None:
    cases = [((np.ones(sx), np.full(sb, 2.0)), _G) for sx, sb in
             [((2, 3), (3,)), ((2, 1), (1, 3)), ((2, 3), ())]]
    cases += _binary_cases("add", 1531, [((4, 3), (4, 1)), ((2, 3, 4), (3, 1)), ((1, 5), (4, 1)),
                                         ((3,), (2, 3)), ((2, 1, 3), (2, 3)), ((), (4, 2))])
    _backward(learner, "add", cases, [(ADD_GRAD, _add_inputs)] * 2)


@check(A, "test_add_accumulates")
def add_accumulates(learner: Learner) -> None:
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((np.ones((2, 3)), np.zeros(3)), _G, (np.full((2, 3), 10.0), np.ones(3)))]
    for i, (sa, sb) in enumerate([((3, 4), (4,)), ((2, 2), (2, 2)), ((4, 1), (1, 3))]):
        datas = tuple(_draw(1541 + i, sa, sb))
        cases.append((datas, _upstream(1545 + i, "add", datas), tuple(_draw(1549 + i, sa, sb))))
    same = [(np.ones((2, 3)), _G), (_draw(1553, (3, 2))[0], _draw(1554, (3, 2))[0])]
    _accumulates(learner, "add", cases, same)


# ----------------------------------------------------------------------------- mul
def _mul_inputs(datas: Sequence[np.ndarray], g: np.ndarray, k: int) -> tuple[Any, ...]:
    return (g, datas[k], datas[1 - k])


_XM = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]])


@check(A, "test_mul_forward")
def mul_forward(learner: Learner) -> None:
    cases = [(_XM, np.array([2.0, -1.0, 4.0]))]
    cases += [tuple(_draw(1561 + i, *shapes)) for i, shapes in enumerate(
        [((4, 1), (1, 5)), ((), (3,)), ((2, 3, 4), (3, 1)), ((3, 3), (3, 3)), ((3,), (2, 3))])]
    _forward(learner, "mul", cases)


@check(A, "test_mul_backward")
def mul_backward(learner: Learner) -> None:
    cases = [((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, -1.0], [2.0, 0.0]])), _G22)]
    cases += _binary_cases("mul", 1571, [((3, 4), (3, 4)), ((5,), (5,)), ((2, 3, 2), (2, 3, 2)),
                                         ((), ())])
    _backward(learner, "mul", cases, [(MUL_GRAD, _mul_inputs)] * 2)


@check(A, "test_mul_broadcast")
def mul_broadcast(learner: Learner) -> None:
    cases = [((_XM, np.array([2.0, -1.0, 4.0])), _G),
             ((np.array([[2.0], [-1.0]]), np.array([[1.0, 0.5, -3.0]])), _G),
             ((_XM, np.array(3.0)), _G)]
    cases += _binary_cases("mul", 1581, [((4, 3), (4, 1)), ((2, 3, 4), (3, 1)), ((1, 5), (4, 1)),
                                         ((3,), (2, 3)), ((2, 1, 3), (2, 3)), ((), (4, 2))])
    _backward(learner, "mul", cases, [(MUL_GRAD, _mul_inputs)] * 2)


@check(A, "test_mul_accumulates")
def mul_accumulates(learner: Learner) -> None:
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, -1.0], [2.0, 0.0]])
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((a, b), _G22, (np.full((2, 2), 10.0), np.full((2, 2), -1.0)))]
    for i, (sa, sb) in enumerate([((3, 4), (4,)), ((2, 2), (2, 2)), ((4, 1), (1, 3))]):
        datas = tuple(_draw(1591 + i, sa, sb))
        cases.append((datas, _upstream(1595 + i, "mul", datas), tuple(_draw(1599 + i, sa, sb))))
    same = [(a, _G22), (_draw(1603, (3, 2))[0], _draw(1604, (3, 2))[0])]
    _accumulates(learner, "mul", cases, same)


# ----------------------------------------------------------------------------- matmul
def _matmul_inputs(datas: Sequence[np.ndarray], g: np.ndarray, k: int) -> tuple[Any, ...]:
    return (datas[0], datas[1], g)


_SQ_A = np.array([[1.0, 2.0], [3.0, 4.0]])
_SQ_B = np.array([[0.5, -1.0], [2.0, 0.25]])
_EX_A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
_EX_B = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
_GM = np.array([[1.0, 0.0], [0.0, 2.0]])


@check(A, "test_matmul_forward")
def matmul_forward(learner: Learner) -> None:
    cases = [(_SQ_A, np.array([[0.0, 1.0], [1.0, 0.0]])), (_EX_A, _EX_B)]
    cases += [tuple(_draw(1611 + i, *shapes)) for i, shapes in enumerate(
        [((3, 3), (3, 3)), ((1, 4), (4, 3)), ((5, 2), (2, 1)), ((2, 6), (6, 2))])]
    _forward(learner, "matmul", cases, MATMUL_FORWARD)


@check(A, "test_matmul_backward")
def matmul_backward(learner: Learner) -> None:
    cases = [((_SQ_A, _SQ_B), _GM), ((_EX_A, _EX_B), _GM)]
    cases += _binary_cases("matmul", 1621, [((3, 3), (3, 3)), ((4, 2), (2, 5)), ((1, 3), (3, 1)),
                                            ((2, 4), (4, 2)), ((3, 3), (3, 3))])
    _backward(learner, "matmul", cases, [(MATMUL_GRAD_A, _matmul_inputs),
                                          (MATMUL_GRAD_B, _matmul_inputs)])


@check(A, "test_matmul_accumulates")
def matmul_accumulates(learner: Learner) -> None:
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((_SQ_A, _SQ_B), _GM, (np.full((2, 2), 10.0), np.full((2, 2), -1.0)))]
    for i, (sa, sb) in enumerate([((3, 4), (4, 2)), ((3, 3), (3, 3))]):
        datas = tuple(_draw(1631 + i, sa, sb))
        cases.append((datas, _upstream(1635 + i, "matmul", datas), tuple(_draw(1639 + i, sa, sb))))
    same = [(_SQ_A, _GM), (_draw(1643, (3, 3))[0], _draw(1644, (3, 3))[0])]
    _accumulates(learner, "matmul", cases, same)


# ----------------------------------------------------------------------------- relu
_XR = np.array([[-1.5, 0.0, 2.0], [3.0, -0.5, 0.25]])
_GR = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])


def _with_zeros(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Random inputs with some entries exactly at ReLU's kink."""
    x = _draw(seed, shape)[0]
    x.flat[:: 3] = 0.0
    return x


def _unary_inputs(datas: Sequence[np.ndarray], g: np.ndarray, k: int) -> tuple[Any, ...]:
    return (datas[0], g)


@check(A, "test_relu_forward")
def relu_forward(learner: Learner) -> None:
    cases = [(_XR,)] + [(_with_zeros(1651 + i, s),) for i, s in enumerate([(4, 5), (7,), (2, 3, 2)])]
    _forward(learner, "relu", cases, RELU_FORWARD)


@check(A, "test_relu_backward")
def relu_backward(learner: Learner) -> None:
    cases = [((_XR,), _GR)]
    for i, s in enumerate([(4, 5), (7,), (2, 3, 2)]):
        cases.append(((_with_zeros(1661 + i, s),), _draw(1665 + i, s)[0]))
    _backward(learner, "relu", cases, [(RELU_BACKWARD, _unary_inputs)])


@check(A, "test_relu_accumulates")
def relu_accumulates(learner: Learner) -> None:
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((_XR,), _GR, (np.array([[10.0, 10.0, 10.0], [-1.0, -1.0, -1.0]]),))]
    for i, s in enumerate([(4, 5), (7,)]):
        cases.append(((_with_zeros(1671 + i, s),), _draw(1675 + i, s)[0], (_draw(1679 + i, s)[0],)))
    _accumulates(learner, "relu", cases)


# ----------------------------------------------------------------------------- reduce_sum / mean
def _reduction_cases(seed: int) -> list[tuple[np.ndarray, ...]]:
    return [tuple(_draw(seed + i, s)) for i, s in enumerate([(5,), (3, 4, 2), (), (1, 1), (4, 3)])]


@check(A, "test_reduce_sum_forward")
def reduce_sum_forward(learner: Learner) -> None:
    _forward(learner, "reduce_sum", [(_X23,), *_reduction_cases(1681)], REDUCE_SUM_FORWARD)


def _reduction_upstreams() -> list[np.ndarray]:
    return [np.array(v) for v in (-1.5, 0.7, 2.0, -3.0, 0.25)]


@check(A, "test_reduce_sum_backward")
def reduce_sum_backward(learner: Learner) -> None:
    cases = [((_X23,), np.array(2.5))]
    cases += list(zip(_reduction_cases(1691), _reduction_upstreams(), strict=True))
    _backward(learner, "reduce_sum", cases, [(REDUCE_SUM_GRAD, _unary_inputs)])


@check(A, "test_reduce_sum_accumulates")
def reduce_sum_accumulates(learner: Learner) -> None:
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((_X23,), np.array(2.5), (np.full((2, 3), 10.0),))]
    for i, datas in enumerate(_reduction_cases(1701)[:2]):
        cases.append((datas, np.array(-0.75), (_draw(1705 + i, datas[0].shape)[0],)))
    _accumulates(learner, "reduce_sum", cases)


@check(A, "test_reduce_mean_forward")
def reduce_mean_forward(learner: Learner) -> None:
    _forward(learner, "reduce_mean", [(_X23,), *_reduction_cases(1711)], REDUCE_MEAN_FORWARD)


@check(A, "test_reduce_mean_backward")
def reduce_mean_backward(learner: Learner) -> None:
    cases = [((_X23,), np.array(3.0))]
    cases += list(zip(_reduction_cases(1721), _reduction_upstreams(), strict=True))
    _backward(learner, "reduce_mean", cases, [(REDUCE_MEAN_GRAD, _unary_inputs)])


@check(A, "test_reduce_mean_accumulates")
def reduce_mean_accumulates(learner: Learner) -> None:
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((_X23,), np.array(3.0), (np.full((2, 3), 10.0),))]
    for i, datas in enumerate(_reduction_cases(1731)[:2]):
        cases.append((datas, np.array(-0.75), (_draw(1735 + i, datas[0].shape)[0],)))
    _accumulates(learner, "reduce_mean", cases)


# ----------------------------------------------------------------------------- log_softmax
_XL1 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
_XL2 = np.array([[1000.0, 0.0, -1000.0], [-5.0, 5.0, 0.0]])
_GL1 = np.array([[1.0, 0.0, 0.0], [0.5, -1.0, 2.0]])
_XL3 = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [-2.0, 0.0, 3.0]])
_GL3 = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0], [2.0, 0.0, -1.0]])


def _cross_entropy_upstream(n: int, c: int, seed: int) -> np.ndarray:
    """The upstream gradient the cross-entropy sends: -1/N at each example's label."""
    pick = np.zeros((n, c))
    pick[np.arange(n), np.random.default_rng(seed).integers(0, c, n)] = -1.0 / n
    return pick


@check(A, "test_log_softmax_forward")
def log_softmax_forward(learner: Learner) -> None:
    cases = [(_XL1,), (_XL2,)]
    cases += [(_draw(1741, (4, 5), scale=3.0)[0],), (_draw(1742, (1, 3))[0],),
              (np.array([[1e4, -1e4, 0.0, 5e3], [800.0, 801.0, 799.0, -800.0]]),),
              (_draw(1743, (5, 2))[0] + 50.0,), (_draw(1744, (3, 1))[0],)]
    _forward(learner, "log_softmax", cases, LOG_SOFTMAX_FORWARD)
    for datas in cases:
        out, _ = _learner_op(learner, "log_softmax", datas, None)
        data = as_array(_attr(out, "data", "log_softmax"), "out.data")
        if not np.all(np.isfinite(data)):
            raise CheckError(f"{_describe('log_softmax', datas)}: out.data has entries that are "
                             "nan or infinite\n  hint: subtract each row's max before exp")


@check(A, "test_log_softmax_backward")
def log_softmax_backward(learner: Learner) -> None:
    cases = [((_XL1,), _GL1), ((_XL3,), _GL3)]
    for i, shape in enumerate([(4, 5), (1, 3), (6, 2)]):
        cases.append(((_draw(1751 + i, shape, scale=2.0)[0],), _draw(1755 + i, shape)[0]))
    cases.append(((_draw(1759, (5, 4))[0],), _cross_entropy_upstream(5, 4, 1760)))
    cases.append(((np.array([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]]),), _draw(1761, (2, 3))[0]))
    _backward(learner, "log_softmax", cases, [(LOG_SOFTMAX_GRAD, _unary_inputs)])


@check(A, "test_log_softmax_accumulates")
def log_softmax_accumulates(learner: Learner) -> None:
    cases: list[tuple[Sequence[np.ndarray], Any, Sequence[Any]]] = [
        ((_XL1,), _GL1, (np.full((2, 3), 10.0),))]
    for i, shape in enumerate([(4, 5), (3, 3)]):
        cases.append(((_draw(1771 + i, shape)[0],), _draw(1775 + i, shape)[0],
                      (_draw(1779 + i, shape)[0],)))
    _accumulates(learner, "log_softmax", cases)


# ----------------------------------------------------------------------------- Tensor.backward
class _Record:
    """What one check-owned closure saw: its runs, when it last ran (a tick), the grad it found."""

    __slots__ = ("calls", "seen", "tick")

    def __init__(self) -> None:
        self.calls, self.tick, self.seen = 0, -1, None


class _Graph:
    """A graph of the learner's Tensors whose closures are known linear maps of the check.

    A node made from parents p with slopes s adds s * grad to each parent's grad. ``inputs[k]``
    lists ((parent index, slope), ...) of node k; leaves have none and keep the learner's
    do-nothing closure. ``root`` is the index of the root, ``detached`` a node outside its graph.
    """

    def __init__(self, learner: Learner, shape: tuple[int, ...]) -> None:
        self.learner, self.shape = learner, shape
        self.nodes: list[Any] = []
        self.labels: list[str] = []
        self.inputs: list[tuple[tuple[int, float], ...]] = []
        self.records: list[_Record | None] = []
        self.clock = [0]
        self.root = -1
        self.detached: int | None = None

    def leaf(self, label: str, value: float) -> int:
        self.nodes.append(_tensor(self.learner, np.full(self.shape, value)))
        self.labels.append(label)
        self.inputs.append(())
        self.records.append(None)
        return len(self.nodes) - 1

    def node(self, label: str, parents: Sequence[tuple[int, float]]) -> int:
        operands = [self.nodes[k] for k, _ in parents]
        node = _tensor(self.learner, np.zeros(self.shape), operands, "lin")
        record = _Record()
        k = len(self.nodes)
        self.nodes.append(node)
        self.labels.append(label)
        self.inputs.append(tuple(parents))
        self.records.append(record)
        node._backward = self._closure(k, record)
        return k

    def _closure(self, k: int, record: _Record) -> Callable[[], None]:
        nodes, inputs, clock = self.nodes, self.inputs, self.clock

        def closure() -> None:
            record.calls += 1
            record.tick = clock[0]
            clock[0] += 1
            g = np.asarray(nodes[k].grad, dtype=np.float64)
            record.seen = g
            for parent, slope in inputs[k]:
                nodes[parent].grad = np.asarray(nodes[parent].grad, dtype=np.float64) + slope * g

        return closure

    def reachable(self) -> set[int]:
        return _reachable(self.inputs, self.root)

    def expected(self) -> list[float]:
        """The sum over paths from the root of the products of slopes, for every node."""
        return path_sums(self.inputs, self.root)

    def run(self) -> None:
        root = self.nodes[self.root]
        _call("Tensor.backward", _attr(root, "backward", "the root"))


def _example(learner: Learner) -> _Graph:
    """The notebook's example: c = lin(a, b; 2, -1), d = lin(c, a; 3, .5), e = lin(d; 1.5),
    f = lin(e, c; 1, 4): c is shared, reached from f along a short path and a long one."""
    graph = _Graph(learner, (2,))
    a, b = graph.leaf("a", 1.0), graph.leaf("b", 0.5)
    c = graph.node("c", [(a, 2.0), (b, -1.0)])
    d = graph.node("d", [(c, 3.0), (a, 0.5)])
    e = graph.node("e", [(d, 1.5)])
    graph.root = graph.node("f", [(e, 1.0), (c, 4.0)])
    return graph


def _random(learner: Learner, seed: int, leaves: int, size: int, shape: tuple[int, ...] = (2,),
            chain: int = 0, detached: bool = True) -> _Graph:
    """A random graph: every node made from one or two earlier nodes (recent ones favoured, so
    nodes are shared along paths of different lengths), an optional long chain, an optional
    node outside the root's graph, and a root that every other node reaches."""
    rng = np.random.default_rng(seed)
    graph = _Graph(learner, shape)
    for i in range(leaves):
        graph.leaf(f"x{i}", float(i + 1))
    for _ in range(size):
        n = len(graph.nodes)
        first = int(n - 1 - min(rng.geometric(0.4) - 1, n - 1))
        parents = [(first, float(rng.choice([-1.5, -0.5, 0.5, 1.0, 2.0])))]
        if rng.random() < 0.6:
            parents.append((int(rng.integers(n)), float(rng.choice([-1.0, 0.25, 1.5]))))
        graph.node(f"n{n}", parents)
    for _ in range(chain):
        graph.node(f"n{len(graph.nodes)}", [(len(graph.nodes) - 1, 1.0)])
    if detached:
        graph.detached = graph.node("outside", [(leaves, 2.0)])
    used = {p for k in range(len(graph.nodes)) for p, _ in graph.inputs[k]}
    loose = [k for k in range(leaves, len(graph.nodes)) if k not in used and k != graph.detached]
    while len(loose) > 1:
        loose = [*loose[2:], graph.node(f"n{len(graph.nodes)}", [(loose[0], 1.0), (loose[1], -1.0)])]
    graph.root = loose[0]
    return graph


@check(A, "test_backward_seed")
def backward_seed(learner: Learner) -> None:
    for shape in [(), (2, 3), (4,)]:
        leaf = _tensor(learner, np.full(shape, 3.0))
        _call("Tensor.backward", _attr(leaf, "backward", "a Tensor"))
        got = as_array(_attr(leaf, "grad", "the root"), "a.grad")
        where = f"a.backward() on an input of shape {shape}"
        if got.shape != shape:
            raise CheckError(f"{where}: a.grad has shape {got.shape}\n  hint: seed the root with "
                             "ones of its own shape, np.ones_like(self.data)")
        if not np.any(got):
            raise CheckError(f"{where}: a.grad is still zero\n  hint: seed the root, "
                             "self.grad = np.ones_like(self.data), before running the closures")
        _compare(got, np.ones(shape), "a.grad", where)
    for graph in (_example(learner), _random(learner, 1801, 2, 5, shape=(2, 2), detached=False)):
        graph.run()
        record = graph.records[graph.root]
        label = graph.labels[graph.root]
        if record is None or record.calls == 0:
            raise CheckError(f"{label}.backward(): the root's closure never ran\n  hint: run "
                             "node._backward() for every node of the order, the root too")
        _compare(record.seen, np.ones(graph.shape), f"{label}.grad",
                 f"{label}.backward(), when {label}'s closure ran")


def _order_problem(graph: _Graph) -> str:
    """What is wrong with the closure runs of one graph ("" if nothing)."""
    below = graph.reachable()
    for k in sorted(below):
        record = graph.records[k]
        if record is not None and record.calls != 1:
            return (f"the closure of {graph.labels[k]} ran {record.calls} times\n  hint: every "
                    "node's closure runs exactly once: list each node once (a visited mark), "
                    "then run the closures of that list")
    if graph.detached is not None:
        record = graph.records[graph.detached]
        if record is not None and record.calls:
            return ("the closure of a node outside the root's graph ran\n  hint: follow "
                    ".parents from the root only")
    for k in sorted(below):
        for parent, _ in graph.inputs[k]:
            mine, theirs = graph.records[k], graph.records[parent]
            if mine is not None and theirs is not None and theirs.tick < mine.tick:
                shared = sum(parent in (p for p, _ in graph.inputs[j]) for j in below) > 1
                return (f"the closure of {graph.labels[parent]} ran before the closure of "
                        f"{graph.labels[k]}, which uses it\n  hint: "
                        + (f"{graph.labels[parent]} is shared: its closure may run only after "
                           "those of all the nodes that use it. " if shared else "")
                        + "Run the closures in reverse topological order")
    return ""


@check(A, "test_backward_order")
def backward_order(learner: Learner) -> None:
    graphs = [_example(learner)]
    graphs += [_random(learner, seed, leaves, size, chain=chain) for seed, leaves, size, chain in
               [(1811, 2, 4, 0), (1812, 3, 9, 0), (1813, 2, 8, 30), (1814, 4, 14, 0)]]
    for graph in graphs:
        graph.run()
        problem = _order_problem(graph)
        if problem:
            root = graph.labels[graph.root]
            raise CheckError(f"{root}.backward() on a graph of {len(graph.reachable())} nodes: "
                             f"{problem}")


@check(A, "test_backward_gradients")
def backward_gradients(learner: Learner) -> None:
    graphs = [_example(learner)]
    graphs += [_random(learner, seed, leaves, size, shape=shape) for seed, leaves, size, shape in
               [(1821, 2, 4, (2,)), (1822, 3, 10, (3,)), (1823, 3, 16, (2, 2))]]
    for graph in graphs:
        graph.run()
        want = graph.expected()
        root = graph.labels[graph.root]
        for k in sorted(graph.reachable() - {graph.root}):  # the root's is the seed's check
            _compare(_grad(graph.nodes[k], graph.labels[k]), np.full(graph.shape, want[k]),
                     f"{graph.labels[k]}.grad", f"after {root}.backward() (the sum over paths "
                     "from the root of the products of the slopes)")


@check(A, "test_backward_accumulates")
def backward_accumulates(learner: Learner) -> None:
    for seed in (1831, 1832, 1833):
        graph = _Graph(learner, (2,))
        a, b = graph.leaf("a", 1.0), graph.leaf("b", 0.5)
        if seed == 1831:  # the notebook's case
            first = graph.node("first", [(a, 3.0), (b, 1.0)])
            second = graph.node("second", [(a, -0.5)])
        else:
            rng = np.random.default_rng(seed)
            s = [float(v) for v in rng.uniform(0.5, 2.0, 4)]
            mid = graph.node("first", [(a, s[0]), (b, -s[1])])
            first = graph.node("first'", [(mid, 1.5), (a, s[2])])
            second = graph.node("second", [(a, -s[3]), (b, 0.5)])
        graph.root = first
        want_first = graph.expected()
        graph.run()
        graph.root = second
        want_second = graph.expected()
        graph.run()
        for k, name in ((a, "a"), (b, "b")):
            got = _grad(graph.nodes[k], name)
            want = np.full(2, want_first[k] + want_second[k])
            where = "backward passes from two outputs that share a and b"
            if close(got, np.full(2, want_second[k]), EXACT) and want_first[k] != 0:
                raise CheckError(f"{where}: {name}.grad holds the second pass's gradient alone"
                                 "\n  hint: backward must not reset the gradients; the passes "
                                 "add up, as in PyTorch")
            _compare(got, want, f"{name}.grad", where)
