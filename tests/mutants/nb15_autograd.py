"""Mutants and alternatives of notebook 15 (build an autograd): Tensor.backward, unbroadcast and
the operations add, mul, matmul, relu, reduce_sum, reduce_mean and log_softmax.

Each mutant is a mistake learners make when they first move from scalar autodiff to arrays;
``loses`` lists every test cell it must fail. ``add`` and ``mul`` call the learner's
``unbroadcast``, so a wrong ``unbroadcast`` also costs their broadcasting cells (and the
accumulation cells, whose cases broadcast); every other mistake costs only its own function's
cells. ``explains`` is a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "15-autograd"

# The Tensor class of the notebook, with its backward method's body left to each entry.
_TENSOR = '''class Tensor:
    """One node of a computational graph over numpy arrays, with its gradient."""

    def __init__(self, data, parents=(), op=""):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self.parents = tuple(parents)
        self.op = op
        self._backward = lambda: None

    @property
    def shape(self):
        return self.data.shape

    def __add__(self, other):
        return add(self, as_tensor(other))

    def __radd__(self, other):
        return add(as_tensor(other), self)

    def __mul__(self, other):
        return mul(self, as_tensor(other))

    def __rmul__(self, other):
        return mul(as_tensor(other), self)

    def __neg__(self):
        return mul(self, as_tensor(-1.0))

    def __sub__(self, other):
        return add(self, -as_tensor(other))

    def __matmul__(self, other):
        return matmul(self, as_tensor(other))

    def relu(self):
        return relu(self)

    def sum(self):
        return reduce_sum(self)

    def mean(self):
        return reduce_mean(self)

    def log_softmax(self):
        return log_softmax(self)

    def backward(self):
{body}

def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)
'''


def _tensor(body: str) -> str:
    """The Tensor cell with ``body`` (written unindented) as backward's body."""
    return _TENSOR.replace("{body}", "\n".join("        " + line if line else line
                                                for line in body.strip("\n").splitlines()) + "\n")


_DFS = '''order, visited = [], set()

def visit(node):
    if id(node) in visited:
        return
    visited.add(id(node))
    for parent in node.parents:
        visit(parent)
    order.append(node)

visit(self)
'''

_ORDER, _GRADS = "test_backward_order", "test_backward_gradients"
_SEED, _ACC = "test_backward_seed", "test_backward_accumulates"


def _cells(op: str, *parts: str) -> list[str]:
    return [f"test_{op}_{part}" for part in parts]


_ADD = "def add(a, b):\n    out = Tensor(a.data + b.data, (a, b), \"+\")\n\n    def _backward():\n"
_MUL = "def mul(a, b):\n    out = Tensor(a.data * b.data, (a, b), \"*\")\n\n    def _backward():\n"
_MATMUL = "def matmul(a, b):\n    out = Tensor(a.data @ b.data, (a, b), \"@\")\n\n    def _backward():\n"
_RELU = ("def relu(x):\n    out = Tensor(np.maximum(x.data, 0.0), (x,), \"relu\")\n\n"
         "    def _backward():\n")
_SUM = "def reduce_sum(x):\n    out = Tensor(x.data.sum(), (x,), \"sum\")\n\n    def _backward():\n"
_MEAN = "def reduce_mean(x):\n    out = Tensor(x.data.mean(), (x,), \"mean\")\n\n    def _backward():\n"
_LSM = '''def log_softmax(x):
    shifted = x.data - x.data.max(axis=1, keepdims=True)
    out = Tensor(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), (x,), "log_softmax")

    def _backward():
'''
_END = "\n    out._backward = _backward\n    return out\n"

# unbroadcast is used by add and mul: a wrong one costs their broadcasting and accumulation cells
_UNBROADCAST_USERS = ["test_add_broadcast", "test_add_accumulates", "test_mul_broadcast",
                      "test_mul_accumulates"]
_UNB = ["test_unbroadcast_added_axes", "test_unbroadcast_size_one_axes"]

MUTANTS = [
    # ----------------------------------------------------------------- Tensor.backward
    Mutant(
        cell="Tensor",
        name="plain recursion: each closure, then its parents'",
        source=_tensor('''self.grad = np.ones_like(self.data)

def go(node):
    node._backward()
    for parent in node.parents:
        go(parent)

go(self)
'''),
        loses=[_ORDER, _GRADS],
        explains="ran 2 times",
    ),
    Mutant(
        cell="Tensor",
        name="no visited mark: a shared node listed twice",
        source=_tensor('''order = []

def visit(node):
    for parent in node.parents:
        visit(parent)
    order.append(node)

visit(self)
self.grad = np.ones_like(self.data)
for node in reversed(order):
    node._backward()
'''),
        loses=[_ORDER, _GRADS],
        explains="a visited mark",
    ),
    Mutant(
        cell="Tensor",
        name="closures in topological order, not reversed",
        source=_tensor(_DFS + '''self.grad = np.ones_like(self.data)
for node in order:
    node._backward()
'''),
        loses=[_ORDER, _GRADS, _ACC],
        explains="reverse topological order",
    ),
    Mutant(
        cell="Tensor",
        name="breadth-first order",
        source=_tensor('''order, queue, seen = [], [self], set()
while queue:
    node = queue.pop(0)
    if id(node) in seen:
        continue
    seen.add(id(node))
    order.append(node)
    queue.extend(node.parents)
self.grad = np.ones_like(self.data)
for node in order:
    node._backward()
'''),
        loses=[_ORDER, _GRADS],
        explains="is shared",
    ),
    Mutant(
        cell="Tensor",
        name="seeded with the number 1.0, as for a Value",
        source=_tensor(_DFS + '''self.grad = 1.0
for node in reversed(order):
    node._backward()
'''),
        loses=[_SEED],
        explains="ones of its own shape",
    ),
    Mutant(
        cell="Tensor",
        name="no seed",
        source=_tensor(_DFS + '''for node in reversed(order):
    node._backward()
'''),
        loses=[_SEED, _GRADS, _ACC],
    ),
    Mutant(
        cell="Tensor",
        name="every gradient reset before the pass",
        source=_tensor(_DFS + '''for node in order:
    node.grad = np.zeros_like(node.data)
self.grad = np.ones_like(self.data)
for node in reversed(order):
    node._backward()
'''),
        loses=[_ACC],
        explains="must not reset",
    ),
    # ----------------------------------------------------------------- unbroadcast
    Mutant(
        cell="unbroadcast",
        name="not reduced",
        source="def unbroadcast(grad, shape):\n    return grad\n",
        loses=[*_UNB, *_UNBROADCAST_USERS],
        explains="left at the broadcast shape",
    ),
    Mutant(
        cell="unbroadcast",
        name="leading axes only",
        source='''def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad
''',
        loses=["test_unbroadcast_size_one_axes", "test_add_broadcast", "test_add_accumulates",
               "test_mul_broadcast", "test_mul_accumulates"],
        explains="left at the broadcast shape",
    ),
    Mutant(
        cell="unbroadcast",
        name="stretched axes summed without keepdims",
        source='''def unbroadcast(grad, shape):
    added = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(added)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched)
''',
        loses=["test_unbroadcast_size_one_axes", "test_add_broadcast", "test_add_accumulates",
               "test_mul_broadcast", "test_mul_accumulates"],
        explains="keepdims=True",
    ),
    Mutant(
        cell="unbroadcast",
        name="mean over the broadcast axes",
        source='''def unbroadcast(grad, shape):
    added = grad.ndim - len(shape)
    grad = grad.mean(axis=tuple(range(added)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.mean(axis=stretched, keepdims=True)
''',
        loses=[*_UNB, *_UNBROADCAST_USERS],
        explains="SUM them",
    ),
    Mutant(
        cell="unbroadcast",
        name="always summed over axis 0, the bias rule",
        source='''def unbroadcast(grad, shape):
    if grad.shape == tuple(shape):
        return grad
    return grad.sum(axis=0)
''',
        loses=[*_UNB, *_UNBROADCAST_USERS],
        explains="axis 0 alone",
    ),
    # ----------------------------------------------------------------- add
    Mutant(
        cell="add",
        name="broadcast gradient not reduced",
        source=_ADD + "        a.grad += out.grad\n        b.grad += out.grad\n" + _END,
        loses=["test_add_broadcast", "test_add_accumulates"],
        explains="must have that operand's shape",
    ),
    Mutant(
        cell="add",
        name="= instead of +=",
        source=_ADD + ("        a.grad = unbroadcast(out.grad, a.shape)\n"
                       "        b.grad = unbroadcast(out.grad, b.shape)\n") + _END,
        loses=["test_add_accumulates"],
        explains="must ADD",
    ),
    Mutant(
        cell="add",
        name="b forgotten",
        source=_ADD + "        a.grad += unbroadcast(out.grad, a.shape)\n" + _END,
        loses=_cells("add", "backward", "broadcast", "accumulates"),
    ),
    Mutant(
        cell="add",
        name="1 instead of out.grad",
        source=_ADD + ("        a.grad += unbroadcast(np.ones_like(out.grad), a.shape)\n"
                       "        b.grad += unbroadcast(np.ones_like(out.grad), b.shape)\n") + _END,
        loses=_cells("add", "backward", "broadcast", "accumulates"),
        explains="all-ones upstream",
    ),
    Mutant(
        cell="add",
        name="b not recorded as a parent",
        source=_ADD.replace("(a, b), ", "(a,), ") + ("        a.grad += unbroadcast(out.grad, a.shape)\n"
                                                "        b.grad += unbroadcast(out.grad, b.shape)\n")
        + _END,
        loses=["test_add_forward"],
        explains="must hold every operand",
    ),
    # ----------------------------------------------------------------- mul
    Mutant(
        cell="mul",
        name="own operand instead of the other",
        source=_MUL + ("        a.grad += unbroadcast(out.grad * a.data, a.shape)\n"
                       "        b.grad += unbroadcast(out.grad * b.data, b.shape)\n") + _END,
        loses=_cells("mul", "backward", "broadcast", "accumulates"),
        explains="OTHER operand",
    ),
    Mutant(
        cell="mul",
        name="broadcast gradient not reduced",
        source=_MUL + ("        a.grad = a.grad + out.grad * b.data\n"
                       "        b.grad = b.grad + out.grad * a.data\n") + _END,
        loses=["test_mul_broadcast", "test_mul_accumulates"],
        explains="at the broadcast shape",
    ),
    Mutant(
        cell="mul",
        name="= instead of +=",
        source=_MUL + ("        a.grad = unbroadcast(out.grad * b.data, a.shape)\n"
                       "        b.grad = unbroadcast(out.grad * a.data, b.shape)\n") + _END,
        loses=["test_mul_accumulates"],
        explains="must ADD",
    ),
    Mutant(
        cell="mul",
        name="upstream gradient ignored",
        source=_MUL + ("        a.grad += unbroadcast(np.ones_like(out.grad) * b.data, a.shape)\n"
                       "        b.grad += unbroadcast(np.ones_like(out.grad) * a.data, b.shape)\n")
        + _END,
        loses=_cells("mul", "backward", "broadcast", "accumulates"),
        explains="multiply it by the upstream gradient",
    ),
    # ----------------------------------------------------------------- matmul
    Mutant(
        cell="matmul",
        name="b not transposed in a's gradient",
        source=_MATMUL + ("        a.grad += out.grad @ b.data\n"
                          "        b.grad += a.data.T @ out.grad\n") + _END,
        loses=_cells("matmul", "backward", "accumulates"),
        explains="transpose b",
    ),
    Mutant(
        cell="matmul",
        name="both gradients transposed",
        source=_MATMUL + ("        a.grad += b.data @ out.grad.T\n"
                          "        b.grad += out.grad.T @ a.data\n") + _END,
        loses=_cells("matmul", "backward", "accumulates"),
        explains="the transpose of the gradient",
    ),
    Mutant(
        cell="matmul",
        name="= instead of +=",
        source=_MATMUL + ("        a.grad = out.grad @ b.data.T\n"
                          "        b.grad = a.data.T @ out.grad\n") + _END,
        loses=["test_matmul_accumulates"],
        explains="must ADD",
    ),
    Mutant(
        cell="matmul",
        name="elementwise product in the forward pass",
        source=_MATMUL.replace("a.data @ b.data", "a.data * b.data")
        + ("        a.grad += out.grad @ b.data.T\n        b.grad += a.data.T @ out.grad\n") + _END,
        loses=_cells("matmul", "forward", "backward", "accumulates"),
        explains="elementwise product",
    ),
    # ----------------------------------------------------------------- relu
    Mutant(
        cell="relu",
        name="mask from the upstream gradient",
        source=_RELU + "        x.grad += np.where(out.grad > 0, out.grad, 0.0)\n" + _END,
        loses=_cells("relu", "backward", "accumulates"),
        explains="mask comes from the input",
    ),
    Mutant(
        cell="relu",
        name=">= at the kink",
        source=_RELU + "        x.grad += out.grad * (x.data >= 0)\n" + _END,
        loses=_cells("relu", "backward", "accumulates"),
        explains="convention is 0",
    ),
    Mutant(
        cell="relu",
        name="= instead of +=",
        source=_RELU + "        x.grad = out.grad * (x.data > 0)\n" + _END,
        loses=["test_relu_accumulates"],
        explains="must ADD",
    ),
    Mutant(
        cell="relu",
        name="min instead of max",
        source=_RELU.replace("np.maximum", "np.minimum") + "        x.grad += out.grad * (x.data > 0)\n"
        + _END,
        loses=["test_relu_forward"],
        explains="min(0, x)",
    ),
    # ----------------------------------------------------------------- reduce_sum
    Mutant(
        cell="reduce_sum",
        name="summed over axis 0 only",
        source=_SUM.replace("x.data.sum()", "x.data.sum(axis=0)")
        + "        x.grad += out.grad * np.ones_like(x.data)\n" + _END,
        loses=["test_reduce_sum_forward"],
        explains="ALL entries",
    ),
    Mutant(
        cell="reduce_sum",
        name="the mean's gradient",
        source=_SUM + "        x.grad += out.grad * np.ones_like(x.data) / x.data.size\n" + _END,
        loses=_cells("reduce_sum", "backward", "accumulates"),
        explains="the mean's rule",
    ),
    Mutant(
        cell="reduce_sum",
        name="= instead of +=",
        source=_SUM + "        x.grad = out.grad * np.ones_like(x.data)\n" + _END,
        loses=["test_reduce_sum_accumulates"],
        explains="must ADD",
    ),
    Mutant(
        cell="reduce_sum",
        name="upstream gradient ignored",
        source=_SUM + "        x.grad += np.ones_like(x.data)\n" + _END,
        loses=_cells("reduce_sum", "backward", "accumulates"),
        explains="upstream gradient out.grad",
    ),
    # ----------------------------------------------------------------- reduce_mean
    Mutant(
        cell="reduce_mean",
        name="the sum, not the mean",
        source=_MEAN.replace("x.data.mean()", "x.data.sum()")
        + "        x.grad += out.grad * np.ones_like(x.data) / x.data.size\n" + _END,
        loses=["test_reduce_mean_forward"],
        explains="divide it by their number",
    ),
    Mutant(
        cell="reduce_mean",
        name="no 1/size in the gradient",
        source=_MEAN + "        x.grad += out.grad * np.ones_like(x.data)\n" + _END,
        loses=_cells("reduce_mean", "backward", "accumulates"),
        explains="without the 1/size",
    ),
    Mutant(
        cell="reduce_mean",
        name="divided by the number of rows",
        source=_MEAN + "        x.grad += out.grad * np.ones_like(x.data) / len(x.data)\n" + _END,
        loses=_cells("reduce_mean", "backward", "accumulates"),
        explains="the number of rows",
    ),
    Mutant(
        cell="reduce_mean",
        name="= instead of +=",
        source=_MEAN + "        x.grad = out.grad * np.ones_like(x.data) / x.data.size\n" + _END,
        loses=["test_reduce_mean_accumulates"],
        explains="must ADD",
    ),
    # ----------------------------------------------------------------- log_softmax
    Mutant(
        cell="log_softmax",
        name="no max shift: overflow on large scores",
        source='''def log_softmax(x):
    out = Tensor(x.data - np.log(np.exp(x.data).sum(axis=1, keepdims=True)), (x,), "log_softmax")

    def _backward():
        p = np.exp(out.data)
        x.grad += out.grad - p * out.grad.sum(axis=1, keepdims=True)
''' + _END,
        loses=_cells("log_softmax", "forward", "backward"),
        explains="overflow",
    ),
    Mutant(
        cell="log_softmax",
        name="out.grad - softmax, the cross-entropy shortcut",
        source=_LSM + "        x.grad += out.grad - np.exp(out.data)\n" + _END,
        loses=_cells("log_softmax", "backward", "accumulates"),
        explains="each row's SUM of out.grad",
    ),
    Mutant(
        cell="log_softmax",
        name="the Jacobian's diagonal only",
        source=_LSM + "        x.grad += out.grad * (1.0 - np.exp(out.data))\n" + _END,
        loses=_cells("log_softmax", "backward", "accumulates"),
        explains="diagonal only",
    ),
    Mutant(
        cell="log_softmax",
        name="row sums without keepdims",
        source=_LSM + "        x.grad += out.grad - np.exp(out.data) * out.grad.sum(axis=1)\n" + _END,
        loses=_cells("log_softmax", "backward", "accumulates"),
    ),
    Mutant(
        cell="log_softmax",
        name="= instead of +=",
        source=_LSM + ("        x.grad = out.grad - np.exp(out.data) * out.grad.sum(axis=1, "
                       "keepdims=True)\n") + _END,
        loses=["test_log_softmax_accumulates"],
        explains="must ADD",
    ),
    Mutant(
        cell="log_softmax",
        name="normalized down the columns",
        source='''def log_softmax(x):
    shifted = x.data - x.data.max(axis=0, keepdims=True)
    out = Tensor(shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True)), (x,), "log_softmax")

    def _backward():
        p = np.exp(out.data)
        x.grad += out.grad - p * out.grad.sum(axis=0, keepdims=True)
''' + _END,
        loses=_cells("log_softmax", "forward", "backward", "accumulates"),
        explains="down each column",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="Tensor",
        name="an explicit stack instead of recursion",
        source=_tensor('''order, seen, stack = [], set(), [(self, False)]
while stack:
    node, expanded = stack.pop()
    if expanded:
        order.append(node)
    elif id(node) not in seen:
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in node.parents)
self.grad = np.ones_like(self.data)
for node in reversed(order):
    node._backward()
'''),
    ),
    Alternative(
        cell="Tensor",
        name="Kahn's algorithm: a node runs once all its users have",
        source=_tensor('''nodes, users, stack = {}, {}, [self]
while stack:
    node = stack.pop()
    if id(node) in nodes:
        continue
    nodes[id(node)] = node
    for parent in node.parents:
        users[id(parent)] = users.get(id(parent), 0) + 1
        stack.append(parent)
self.grad = np.ones_like(self.data)
ready = [self]
while ready:
    node = ready.pop()
    node._backward()
    for parent in node.parents:
        users[id(parent)] -= 1
        if users[id(parent)] == 0:
            ready.append(parent)
'''),
    ),
    Alternative(
        cell="unbroadcast",
        name="a loop over the axes",
        source='''def unbroadcast(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
''',
    ),
    Alternative(
        cell="unbroadcast",
        name="one sum over every broadcast axis, then a reshape",
        source='''def unbroadcast(grad, shape):
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    axes = tuple(i for i, n in enumerate(padded) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes).reshape(shape) if axes else grad.reshape(shape)
''',
    ),
    Alternative(
        cell="add",
        name="gradients rebound instead of added in place",
        source=_ADD + ("        a.grad = a.grad + unbroadcast(out.grad, a.shape)\n"
                       "        b.grad = b.grad + unbroadcast(out.grad, b.shape)\n") + _END,
    ),
    Alternative(
        cell="mul",
        name="np.multiply and local copies",
        source='''def mul(a, b):
    out = Tensor(np.multiply(a.data, b.data), (a, b), "*")
    a_data, b_data = a.data.copy(), b.data.copy()

    def _backward():
        g = out.grad
        a.grad += unbroadcast(np.multiply(g, b_data), a.shape)
        b.grad += unbroadcast(np.multiply(g, a_data), b.shape)
''' + _END,
    ),
    Alternative(
        cell="matmul",
        name="einsum",
        source='''def matmul(a, b):
    out = Tensor(np.einsum("nk,km->nm", a.data, b.data), (a, b), "@")

    def _backward():
        a.grad += np.einsum("nm,km->nk", out.grad, b.data)
        b.grad += np.einsum("nk,nm->km", a.data, out.grad)
''' + _END,
    ),
    Alternative(
        cell="relu",
        name="mask from the output, with np.where",
        source=_RELU + "        x.grad += np.where(out.data > 0, out.grad, 0.0)\n" + _END,
    ),
    Alternative(
        cell="reduce_sum",
        name="the scalar upstream broadcast by numpy",
        source=_SUM + "        x.grad += out.grad\n" + _END,
    ),
    Alternative(
        cell="reduce_mean",
        name="np.full_like",
        source='''def reduce_mean(x):
    out = Tensor(np.sum(x.data) / x.data.size, (x,), "mean")

    def _backward():
        x.grad += np.full_like(x.data, out.grad / x.data.size)
''' + _END,
    ),
    Alternative(
        cell="log_softmax",
        name="the softmax kept from the forward pass",
        source='''def log_softmax(x):
    top = np.max(x.data, axis=1, keepdims=True)
    e = np.exp(x.data - top)
    total = np.sum(e, axis=1, keepdims=True)
    p = e / total
    out = Tensor(x.data - top - np.log(total), (x,), "log_softmax")

    def _backward():
        row = np.sum(out.grad, axis=1, keepdims=True)
        x.grad += out.grad - p * row
''' + _END,
    ),
]
