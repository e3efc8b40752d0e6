"""Reverse-mode automatic differentiation over numpy arrays: the ``Tensor`` of notebook 15.

Notebook 03's :class:`~bplib.engine.Value` holds one number; a :class:`Tensor` holds an array and
its gradient, an array of the same shape. Each operation below is a function that computes its
forward value, records its operands (``parents``) and attaches a backward closure that adds each
operand's vector-Jacobian product to the operand's ``grad``: ``dL/d(operand)`` from
``dL/d(out)``, never forming a Jacobian. :meth:`Tensor.backward` seeds the root with ones and runs
every closure once, in reverse topological order.

Dimension legend: N batch, K and M the inner and outer sizes of a matrix product, C classes.

Broadcasting (numpy's rules) copies an operand along the axes it lacks or has of size 1; the
gradient of those copies is their sum (:func:`unbroadcast`), so ``b`` of shape (M,) added to
``x`` of shape (N, M) receives the upstream gradient summed over the N rows: the affine layer's
``db`` of notebook 05.

Conventions, those of notebook 15: ``backward()`` *assigns* the seed ``ones_like(root.data)`` and
resets nothing, so gradients accumulate over several passes and a graph is differentiated once,
fresh; ReLU's slope at exactly 0 is 0; :func:`log_softmax` works on the rows of an (N, C) array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bplib._checks import check_labels, check_ndim

__all__ = [
    "Tensor",
    "add",
    "as_tensor",
    "cross_entropy",
    "log_softmax",
    "matmul",
    "mul",
    "reduce_mean",
    "reduce_sum",
    "relu",
    "topological_order",
    "unbroadcast",
]


class Tensor:
    """One node of a computational graph over arrays, with its gradient.

    Attributes:
        data: the array computed by the forward pass, float64, any shape (``()`` for a scalar).
        grad: dL/d(this node) once a backward pass from L has run; zeros of ``data``'s shape until
            then.
        parents: the operand Tensors this node was computed from, in order (``()`` for an input,
            a parameter or a constant). A node used twice by one operation appears twice.
        op: the name of that operation ("" for an input).
        _backward: the node's backward closure, a function of no arguments that adds this node's
            contribution to each parent's ``grad``; inputs have one that does nothing.
    """

    def __init__(self, data: Any, parents: Sequence[Tensor] = (), op: str = "") -> None:
        if isinstance(data, Tensor):
            raise ValueError("Tensor(data) needs an array, got a Tensor; use the Tensor itself")
        self.data = np.array(data, dtype=np.float64)  # a copy: the graph owns its values
        self.grad = np.zeros_like(self.data)
        self.parents = tuple(parents)
        self.op = op
        self._backward: Callable[[], None] = lambda: None

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data`` (and of ``grad``)."""
        return self.data.shape

    def __repr__(self) -> str:
        made = f", op={self.op!r}" if self.op else ""
        return f"Tensor(shape={self.shape}{made})"

    # ---- operators, each the function of the same name below
    def __add__(self, other: Any) -> Tensor:
        return add(self, as_tensor(other))

    def __radd__(self, other: Any) -> Tensor:
        return add(as_tensor(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return mul(self, as_tensor(other))

    def __rmul__(self, other: Any) -> Tensor:
        return mul(as_tensor(other), self)

    def __neg__(self) -> Tensor:
        return mul(self, as_tensor(-1.0))

    def __sub__(self, other: Any) -> Tensor:
        return add(self, -as_tensor(other))

    def __rsub__(self, other: Any) -> Tensor:
        return add(as_tensor(other), -self)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, as_tensor(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(as_tensor(other), self)

    def relu(self) -> Tensor:
        """:func:`relu` of this tensor."""
        return relu(self)

    def sum(self) -> Tensor:
        """:func:`reduce_sum` of this tensor: the sum of all entries, shape ()."""
        return reduce_sum(self)

    def mean(self) -> Tensor:
        """:func:`reduce_mean` of this tensor: the mean of all entries, shape ()."""
        return reduce_mean(self)

    def log_softmax(self) -> Tensor:
        """:func:`log_softmax` of this (N, C) tensor, row by row."""
        return log_softmax(self)

    # ---- the backward pass
    def backward(self) -> None:
        """Fill ``grad`` of every node below (and including) this one with d(sum of self)/d(node).

        Seeds ``self.grad = ones_like(self.data)`` (for a scalar loss, dL/dL = 1), then runs
        every node's closure once, in reverse topological order, so that a node's gradient is
        complete before it is passed on. Nothing is reset: a second backward pass from another
        root adds to the nodes the two graphs share.
        """
        order = topological_order(self)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            node._backward()


def as_tensor(x: Any) -> Tensor:
    """``x`` itself if it is a Tensor, else a new input node (a constant) holding ``x``."""
    return x if isinstance(x, Tensor) else Tensor(x)


def topological_order(root: Tensor) -> list[Tensor]:
    """Every node reachable from ``root`` through ``parents``, each once, parents first.

    ``root`` is last. Iterative (an explicit stack), so deep graphs need no recursion.
    """
    if not isinstance(root, Tensor):
        raise ValueError(f"root must be a Tensor, got {type(root).__name__}")
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(node.parents) if id(parent) not in seen)
    return order


def unbroadcast(grad: Any, shape: Sequence[int]) -> np.ndarray:
    """Sum ``grad`` over the axes broadcasting added or stretched, giving it shape ``shape``.

    Args:
        grad: the gradient of a broadcast result, e.g. shape (N, M).
        shape: the shape of the operand that was broadcast to it, e.g. (M,), (1, M), (N, 1) or
            () (numpy's rules: aligned from the right; missing leading axes and axes of size 1
            are copied).

    Returns:
        An array of shape ``shape``: each entry the sum of the gradients of all its copies.
    """
    grad = np.asarray(grad, dtype=np.float64)
    shape = tuple(int(n) for n in shape)
    try:
        fits = grad.ndim >= len(shape) and np.broadcast_shapes(grad.shape, shape) == grad.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"a gradient of shape {grad.shape} cannot come from broadcasting "
                         f"an operand of shape {shape}")
    leading = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(leading)))  # axes the operand did not have
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def add(a: Tensor, b: Tensor) -> Tensor:
    """``a + b`` with broadcasting; each operand receives the upstream gradient, unbroadcast."""
    out = Tensor(a.data + b.data, (a, b), "+")

    def _backward() -> None:
        a.grad += unbroadcast(out.grad, a.shape)
        b.grad += unbroadcast(out.grad, b.shape)

    out._backward = _backward
    return out


def mul(a: Tensor, b: Tensor) -> Tensor:
    """``a * b`` elementwise with broadcasting; each operand's local derivative is the other."""
    out = Tensor(a.data * b.data, (a, b), "*")

    def _backward() -> None:
        a.grad += unbroadcast(out.grad * b.data, a.shape)
        b.grad += unbroadcast(out.grad * a.data, b.shape)

    out._backward = _backward
    return out


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for a (N, K) and b (K, M): out (N, M); da = dout b^T, db = a^T dout."""
    check_ndim(a.data, 2, "a", "(N, K)")
    check_ndim(b.data, 2, "b", "(K, M)")
    out = Tensor(a.data @ b.data, (a, b), "@")

    def _backward() -> None:
        a.grad += out.grad @ b.data.T
        b.grad += a.data.T @ out.grad

    out._backward = _backward
    return out


def relu(x: Tensor) -> Tensor:
    """``max(0, x)`` elementwise; the gradient passes where x > 0 (not at exactly 0)."""
    out = Tensor(np.maximum(x.data, 0.0), (x,), "relu")

    def _backward() -> None:
        x.grad += out.grad * (x.data > 0)

    out._backward = _backward
    return out


def reduce_sum(x: Tensor) -> Tensor:
    """The sum of all entries of x, shape (); every entry receives the upstream gradient."""
    out = Tensor(x.data.sum(), (x,), "sum")

    def _backward() -> None:
        x.grad += out.grad * np.ones_like(x.data)

    out._backward = _backward
    return out


def reduce_mean(x: Tensor) -> Tensor:
    """The mean of all entries of x, shape (); every entry receives 1/size of the upstream."""
    out = Tensor(x.data.mean(), (x,), "mean")

    def _backward() -> None:
        x.grad += out.grad * np.ones_like(x.data) / x.data.size

    out._backward = _backward
    return out


def log_softmax(x: Tensor) -> Tensor:
    """Row-wise log-softmax of x (N, C), stable for any logits: x - max - log(sum(exp(x - max))).

    Backward: dx = dout - softmax(x) * (the row sums of dout), with softmax = exp(out).
    """
    check_ndim(x.data, 2, "x", "(N, C)")
    shifted = x.data - x.data.max(axis=1, keepdims=True)
    out = Tensor(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), (x,), "log_softmax")

    def _backward() -> None:
        x.grad += out.grad - np.exp(out.data) * out.grad.sum(axis=1, keepdims=True)

    out._backward = _backward
    return out


def cross_entropy(logits: Tensor, y: Any) -> Tensor:
    """Mean softmax cross-entropy of logits (N, C) with integer labels y (N,), shape ().

    Built from the operations above: the sum of log_softmax(logits) times a constant holding
    -1/N at each example's label, so its gradient is (softmax - onehot(y)) / N.
    """
    check_ndim(logits.data, 2, "logits", "(N, C)")
    n, c = logits.shape
    labels = check_labels(y, n, c, "y")
    pick = np.zeros((n, c))
    pick[np.arange(n), labels] = -1.0 / n
    return reduce_sum(mul(log_softmax(logits), Tensor(pick)))
