"""Mutants and alternatives of notebook 03 (scalar autodiff): the six backward rules of Value,
topological_order and backward_pass.

Each mutant is a mistake learners make when they first write an autodiff engine; ``loses`` lists
every test cell it must fail (a wrong rule loses only its own cells; backward_pass calls
topological_order, so a wrong order also costs backward_pass's cells), and ``explains`` a phrase
of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "03-scalar-autodiff"

_ADD = "def backward_add(a, b, out):\n"
_MUL = "def backward_mul(a, b, out):\n"
_POW = "def backward_pow(a, n, out):\n"
_EXP = "def backward_exp(a, out):\n"
_TANH = "def backward_tanh(a, out):\n"
_RELU = "def backward_relu(a, out):\n"
_TOPO = "def topological_order(root):\n"
_PASS = "def backward_pass(root):\n"


def _both(rule: str) -> list[str]:
    return [f"test_backward_{rule}_local", f"test_backward_{rule}_in_graphs"]


_PASS_ALL = ["test_backward_pass_order", "test_backward_pass_gradients",
             "test_backward_pass_accumulates"]

MUTANTS = [
    # ----------------------------------------------------------------- backward_add
    Mutant(
        cell="backward_add",
        name="b forgotten",
        source=_ADD + "    a.grad += out.grad\n",
        loses=_both("add"),
        explains="BOTH operands",
    ),
    Mutant(
        cell="backward_add",
        name="= instead of +=",
        source=_ADD + "    a.grad = out.grad\n    b.grad = out.grad\n",
        loses=["test_backward_add_in_graphs"],
        explains="must ADD its contribution",
    ),
    Mutant(
        cell="backward_add",
        name="1 instead of out.grad",
        source=_ADD + "    a.grad += 1.0\n    b.grad += 1.0\n",
        loses=_both("add"),
        explains="instead of out.grad",
    ),
    Mutant(
        cell="backward_add",
        name="returns the gradients instead of adding them",
        source=_ADD + "    return out.grad, out.grad\n",
        loses=_both("add"),
        explains="a rule returns nothing",
    ),
    # ----------------------------------------------------------------- backward_mul
    Mutant(
        cell="backward_mul",
        name="own operand instead of the other",
        source=_MUL + "    a.grad += a.data * out.grad\n    b.grad += b.data * out.grad\n",
        loses=_both("mul"),
        explains="the OTHER operand",
    ),
    Mutant(
        cell="backward_mul",
        name="= instead of +=",
        source=_MUL + "    a.grad = b.data * out.grad\n    b.grad = a.data * out.grad\n",
        loses=["test_backward_mul_in_graphs"],
        explains="must ADD its contribution",
    ),
    Mutant(
        cell="backward_mul",
        name="ignores the upstream gradient",
        source=_MUL + "    a.grad += b.data\n    b.grad += a.data\n",
        loses=_both("mul"),
        explains="without out.grad",
    ),
    Mutant(
        cell="backward_mul",
        name="the other operand's grad instead of its data",
        source=_MUL + "    a.grad += b.grad * out.grad\n    b.grad += a.grad * out.grad\n",
        loses=_both("mul"),
        explains="did not change",
    ),
    # ----------------------------------------------------------------- backward_pow
    Mutant(
        cell="backward_pow",
        name="exponent n instead of n - 1",
        source=_POW + "    a.grad += n * a.data**n * out.grad\n",
        loses=_both("pow"),
        explains="exponent of the derivative is n - 1",
    ),
    Mutant(
        cell="backward_pow",
        name="factor n missing",
        source=_POW + "    a.grad += a.data ** (n - 1) * out.grad\n",
        loses=_both("pow"),
        explains="factor n is missing",
    ),
    Mutant(
        cell="backward_pow",
        name="= instead of +=",
        source=_POW + "    a.grad = n * a.data ** (n - 1) * out.grad\n",
        loses=["test_backward_pow_in_graphs"],
        explains="must ADD its contribution",
    ),
    Mutant(
        cell="backward_pow",
        name="ignores the upstream gradient",
        source=_POW + "    a.grad += n * a.data ** (n - 1)\n",
        loses=_both("pow"),
        explains="without out.grad",
    ),
    # ----------------------------------------------------------------- backward_exp
    Mutant(
        cell="backward_exp",
        name="a.data instead of exp(a)",
        source=_EXP + "    a.grad += a.data * out.grad\n",
        loses=_both("exp"),
        explains="exp(a) itself",
    ),
    Mutant(
        cell="backward_exp",
        name="= instead of +=",
        source=_EXP + "    a.grad = out.data * out.grad\n",
        loses=["test_backward_exp_in_graphs"],
        explains="must ADD its contribution",
    ),
    Mutant(
        cell="backward_exp",
        name="ignores the upstream gradient",
        source=_EXP + "    a.grad += out.data\n",
        loses=_both("exp"),
        explains="without out.grad",
    ),
    # ----------------------------------------------------------------- backward_tanh
    Mutant(
        cell="backward_tanh",
        name="1 - a**2 from the input",
        source=_TANH + "    a.grad += (1.0 - a.data**2) * out.grad\n",
        loses=_both("tanh"),
        explains="with the INPUT",
    ),
    Mutant(
        cell="backward_tanh",
        name="1 - out without the square",
        source=_TANH + "    a.grad += (1.0 - out.data) * out.grad\n",
        loses=_both("tanh"),
        explains="without the square",
    ),
    Mutant(
        cell="backward_tanh",
        name="= instead of +=",
        source=_TANH + "    a.grad = (1.0 - out.data**2) * out.grad\n",
        loses=["test_backward_tanh_in_graphs"],
        explains="must ADD its contribution",
    ),
    Mutant(
        cell="backward_tanh",
        name="sign flipped",
        source=_TANH + "    a.grad += (out.data**2 - 1.0) * out.grad\n",
        loses=_both("tanh"),
        explains="wrong sign",
    ),
    # ----------------------------------------------------------------- backward_relu
    Mutant(
        cell="backward_relu",
        name=">= 0 lets the gradient through at the kink",
        source=_RELU + "    if a.data >= 0:\n        a.grad += out.grad\n",
        loses=["test_backward_relu_local"],
        explains="not `>=`",
    ),
    Mutant(
        cell="backward_relu",
        name="no mask at all",
        source=_RELU + "    a.grad += out.grad\n",
        loses=_both("relu"),
        explains="passed on at a negative input",
    ),
    Mutant(
        cell="backward_relu",
        name="= in both branches resets blocked inputs",
        source=_RELU + "    a.grad = out.grad if a.data > 0 else 0.0\n",
        loses=["test_backward_relu_in_graphs"],
        explains="must ADD its contribution",
    ),
    Mutant(
        cell="backward_relu",
        name="passes 1 instead of out.grad",
        source=_RELU + "    if a.data > 0:\n        a.grad += 1.0\n",
        loses=_both("relu"),
        explains="not 1",
    ),
    # ----------------------------------------------------------------- topological_order
    Mutant(
        cell="topological_order",
        name="no visited mark: shared nodes appear twice",
        source=_TOPO
        + '''    order = []

    def visit(node):
        for child in node.children:
            visit(child)
        order.append(node)

    visit(root)
    return order
''',
        loses=["test_topological_order_complete", *_PASS_ALL],
        explains="mark visited nodes",
    ),
    Mutant(
        cell="topological_order",
        name="pre-order: a node before its children",
        source=_TOPO
        + '''    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        order.append(node)
        for child in node.children:
            visit(child)

    visit(root)
    return order
''',
        loses=["test_topological_order_children_first", *_PASS_ALL],
        explains="in reverse (root first)",
    ),
    Mutant(
        cell="topological_order",
        name="only the root's direct children",
        source=_TOPO
        + '''    order = []
    for child in root.children:
        if child not in order:
            order.append(child)
    return order + [root]
''',
        loses=["test_topological_order_complete", *_PASS_ALL],
        explains="children of children",
    ),
    Mutant(
        cell="topological_order",
        name="post-order reversed: root first",
        source=_TOPO
        + '''    order, visited = [], set()

    def visit(node):
        if node in visited:
            return
        visited.add(node)
        for child in node.children:
            visit(child)
        order.append(node)

    visit(root)
    return order[::-1]
''',
        loses=["test_topological_order_children_first", *_PASS_ALL],
        explains="in reverse (root first)",
    ),
    # ----------------------------------------------------------------- backward_pass
    Mutant(
        cell="backward_pass",
        name="no seed",
        source=_PASS
        + '''    for node in reversed(topological_order(root)):
        node._backward()
''',
        loses=["test_backward_pass_seed", "test_backward_pass_gradients",
               "test_backward_pass_accumulates"],
        explains="root.grad = 1.0",
    ),
    Mutant(
        cell="backward_pass",
        name="rules run in topological, not reverse, order",
        source=_PASS
        + '''    root.grad = 1.0
    for node in topological_order(root):
        node._backward()
''',
        loses=_PASS_ALL,
        explains="REVERSE",
    ),
    Mutant(
        cell="backward_pass",
        name="resets every gradient first",
        source=_PASS
        + '''    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()
''',
        loses=["test_backward_pass_accumulates"],
        explains="must not reset gradients",
    ),
    Mutant(
        cell="backward_pass",
        name="only the root's rule runs",
        source=_PASS + "    root.grad = 1.0\n    root._backward()\n",
        loses=_PASS_ALL,
        explains="never ran",
    ),
    Mutant(
        cell="backward_pass",
        name="seed after the rules",
        source=_PASS
        + '''    for node in reversed(topological_order(root)):
        node._backward()
    root.grad = 1.0
''',
        loses=["test_backward_pass_seed", "test_backward_pass_gradients",
               "test_backward_pass_accumulates"],
        explains="BEFORE running the rules",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="backward_add",
        name="one contribution variable",
        source=_ADD + "    g = out.grad * 1.0\n    for operand in (a, b):\n        operand.grad += g\n",
    ),
    Alternative(
        cell="backward_mul",
        name="contributions computed before adding",
        source=_MUL
        + "    da, db = b.data * out.grad, a.data * out.grad\n    a.grad += da\n    b.grad += db\n",
    ),
    Alternative(
        cell="backward_pow",
        name="n * out / a from the output",
        source=_POW + "    a.grad += n * out.data / a.data * out.grad\n",
    ),
    Alternative(
        cell="backward_exp",
        name="recomputes exp(a)",
        source=_EXP + "    a.grad = a.grad + math.exp(a.data) * out.grad\n",
    ),
    Alternative(
        cell="backward_tanh",
        name="recomputes tanh(a), cosh form",
        source=_TANH + "    a.grad += out.grad / math.cosh(a.data) ** 2\n",
    ),
    Alternative(
        cell="backward_relu",
        name="mask from the output, as a product",
        source=_RELU + "    a.grad += out.grad * float(out.data > 0)\n",
    ),
    Alternative(
        cell="topological_order",
        name="explicit stack, ids as marks",
        source=_TOPO
        + '''    order, done, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in done:
            done.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node.children if id(child) not in done)
    return order
''',
    ),
    Alternative(
        cell="backward_pass",
        name="resets interior nodes only, seeds with +=",
        source=_PASS
        + '''    order = topological_order(root)
    for node in order:
        if node.children:
            node.grad = 0.0
    root.grad += 1.0
    for node in order[::-1]:
        node._backward()
''',
    ),
]
