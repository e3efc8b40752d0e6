"""Scalar reverse-mode automatic differentiation: the ``Value`` of notebook 03.

Every arithmetic operation on a :class:`Value` creates a new ``Value`` that remembers its operands
(``children``), the operation's name (``op``) and a small function ``_backward`` that applies the
chain rule for that one operation: it multiplies the output's gradient by the local derivative and
*adds* the result to each operand's ``grad``. The forward value and that local backward rule are
written next to each other in each operator below.

Gradients are added (``+=``), never assigned, because a value used in several places (fan-out,
e.g. ``x * x`` or ``c + c * a``) receives one contribution per use and its gradient is their sum.
:meth:`Value.backward` visits the graph in reverse topological order, so that a node's gradient is
complete before it is passed on to its children. Notebook 03 derives all of this.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

import numpy as np

__all__ = ["Value", "topological_order", "zero_grad"]


def _as_float(x: Any, name: str) -> float:
    """Return ``x`` as a Python float, or raise ``ValueError`` for anything that is not a real number."""
    if isinstance(x, Real):
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and np.issubdtype(x.dtype, np.number):
        if np.iscomplexobj(x):
            raise ValueError(f"{name} must be a real number, got complex {x!r}")
        return float(x)
    raise ValueError(f"{name} must be a real number (int or float), got {type(x).__name__}")


def _is_number(x: Any) -> bool:
    return isinstance(x, Real)


class Value:
    """One scalar node of a computational graph, with its gradient.

    Attributes:
        data: the number computed by the forward pass.
        grad: d(root)/d(this value) after ``root.backward()``; starts at 0.0.
        label: an optional name shown by ``repr`` and by :func:`bplib.graph.draw_graph`.
        op: the name of the operation that produced this value ("" for an input/leaf).
        children: the operand ``Value`` s of that operation, in order (``()`` for a leaf). A value
            used twice by one operation (``x * x``) appears twice.
    """

    def __init__(
        self, data: float, children: tuple[Value, ...] = (), op: str = "", label: str = ""
    ) -> None:
        if isinstance(data, Value):
            raise ValueError("Value(data) needs a number, got a Value; use the Value itself")
        self.data: float = _as_float(data, "data")
        self.grad: float = 0.0
        self.label: str = str(label)
        self.op: str = op
        self.children: tuple[Value, ...] = tuple(children)
        # Leaves have nothing to pass a gradient on to.
        self._backward: Callable[[], None] = lambda: None

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _lift(other: Any) -> Value | None:
        """Wrap a plain number as a constant leaf; ``None`` for unsupported types."""
        if isinstance(other, Value):
            return other
        if _is_number(other):
            return Value(other)
        return None

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{name})"

    # ------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Value:
        other = Value._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            # d(a+b)/da = d(a+b)/db = 1: addition routes the gradient unchanged to both operands.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Value:
        other = Value._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            # Each operand's local derivative is the *other* operand.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __sub__(self, other: Any) -> Value:
        other = Value._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Any) -> Value:
        other = Value._lift(other)
        if other is None:
            return NotImplemented
        if other.data == 0.0:
            raise ZeroDivisionError(f"division by a Value with data 0.0 ({self!r} / {other!r})")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            # d(a/b)/da = 1/b;  d(a/b)/db = -a/b**2.
            self.grad += out.grad / other.data
            other.grad += -self.data / other.data**2 * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: Any) -> Value:
        if isinstance(exponent, Value) or not _is_number(exponent):
            raise ValueError(
                f"the exponent of ** must be a plain number (int or float), got "
                f"{type(exponent).__name__}; write exp(y * log(x)) for a Value exponent"
            )
        n = float(exponent)
        if self.data < 0 and not n.is_integer():
            raise ValueError(
                f"a negative base ({self.data}) with a non-integer exponent ({n}) is not a real number"
            )
        if self.data == 0.0 and n < 0:
            raise ZeroDivisionError(f"0.0 cannot be raised to the negative power {n}")
        out = Value(self.data**n, (self,), f"**{exponent:g}")

        def _backward() -> None:
            # Power rule: d(x**n)/dx = n * x**(n-1); at x = 0 the formula would divide by zero
            # for n < 1, where the true slope is 0 (n = 0) or infinite (0 < n < 1).
            if self.data == 0.0 and n < 1:
                local = 0.0 if n == 0 else math.inf
            else:
                local = n * self.data ** (n - 1)
            self.grad += local * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")

        def _backward() -> None:
            self.grad -= out.grad

        out._backward = _backward
        return out

    # Reflected operators: ``2 + v`` calls ``v.__radd__(2)``; the number becomes a constant leaf.
    def __radd__(self, other: Any) -> Value:
        return self + other

    def __rmul__(self, other: Any) -> Value:
        return self * other

    def __rsub__(self, other: Any) -> Value:
        other = Value._lift(other)
        return NotImplemented if other is None else other - self

    def __rtruediv__(self, other: Any) -> Value:
        other = Value._lift(other)
        return NotImplemented if other is None else other / self

    # ------------------------------------------------------- elementary functions
    def exp(self) -> Value:
        """``e**x``; its derivative is itself, so backward reuses the output (OverflowError past ~709)."""
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        """Natural logarithm; raises ``ValueError`` unless ``data > 0``."""
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got data={self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """Hyperbolic tangent; derivative ``1 - tanh(x)**2`` from the cached output."""
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """``max(0, x)``; the derivative at exactly 0 is taken as 0."""
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward() -> None:
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """Logistic ``1 / (1 + e**-x)``, computed without overflow; derivative ``s * (1 - s)``."""
        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            # For negative x, e**-x can overflow; the equivalent e**x / (1 + e**x) cannot.
            e = math.exp(self.data)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    # ------------------------------------------------------------- backward pass
    def backward(self) -> None:
        """Fill ``grad`` of every node of the graph below (and including) this value.

        Interior nodes (those made by an operation) are reset to 0.0 and then receive
        d(self)/d(node) for this pass; this value's own gradient is seeded with 1.0. Leaves
        (inputs and parameters) *accumulate*: a second call without :meth:`zero_grad` adds the
        same gradients again, as ``loss.backward()`` does for parameters in PyTorch. Resetting the
        interior keeps a second call exact; otherwise stale interior gradients would be passed on
        a second time.
        """
        order = topological_order(self)
        for node in order:
            if node.children:
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0.0`` on every node of the graph below (and including) this value."""
        for node in topological_order(self):
            node.grad = 0.0


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root``, each once, children before the values made from them.

    ``root`` is last. The walk is iterative (an explicit stack), so graphs deeper than Python's
    recursion limit (e.g. a chain of 10,000 operations) work. The order is deterministic: operands
    are visited in the order they were given to their operation.
    """
    if not isinstance(root, Value):
        raise ValueError(f"root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    seen: set[int] = set()
    # Each entry is (node, expanded): a node is emitted when popped the second time, after all
    # its children (pushed above it) have been emitted.
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in reversed(node.children):
            if id(child) not in seen:
                stack.append((child, False))
    return order


def zero_grad(values: Value | Iterable[Value]) -> None:
    """Set ``grad = 0.0`` on the given values only (e.g. a model's parameters), not their graphs."""
    items = [values] if isinstance(values, Value) else list(values)
    for i, v in enumerate(items):
        if not isinstance(v, Value):
            raise ValueError(f"zero_grad expects Values, got {type(v).__name__} at position {i}")
        v.grad = 0.0
