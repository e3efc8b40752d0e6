"""Does bplib's Tensor autograd (notebook 15's reference) compute the right gradients?

Every operation's backward closure is compared with centered differences of its forward under a
random upstream gradient, broadcasting included; the backward pass with path sums on graphs whose
nodes are shared; a whole network with bplib's hand-written layers. PyTorch's autograd is the
oracle in ``tests/test_torch_crosscheck.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bplib import affine_backward, affine_forward, relu_backward, relu_forward
from bplib import autograd as ag
from bplib.gradcheck import numerical_gradient_array
from bplib.losses import softmax_cross_entropy_loss

RTOL, ATOL = 1e-7, 1e-9


def _closure_grads(op, arrays: list[np.ndarray], dout: np.ndarray) -> list[np.ndarray]:
    """Run ``op`` on fresh Tensors, set out.grad = dout, run its closure; the operands' grads."""
    tensors = [ag.Tensor(a) for a in arrays]
    out = op(*tensors)
    out.grad = np.array(dout, dtype=np.float64)
    out._backward()
    return [t.grad for t in tensors]


def _numeric(op, arrays: list[np.ndarray], dout: np.ndarray, k: int) -> np.ndarray:
    def f(v: np.ndarray) -> np.ndarray:
        parts = [v if i == k else a for i, a in enumerate(arrays)]
        return op(*[ag.Tensor(p) for p in parts]).data

    return numerical_gradient_array(f, np.array(arrays[k], dtype=np.float64), dout)


BINARY_SHAPES = [
    ((4, 3), (4, 3)),
    ((4, 3), (3,)),
    ((4, 1), (1, 3)),
    ((2, 4, 3), (4, 1)),
    ((), (2, 3)),
    ((1,), (5,)),
]


@pytest.mark.parametrize("op", [ag.add, ag.mul], ids=["add", "mul"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_does_each_broadcasting_operand_get_the_gradient_of_its_own_shape(op, shapes):
    rng = np.random.default_rng(len(shapes[0]) + 10 * len(shapes[1]))
    arrays = [rng.standard_normal(s) for s in shapes]
    out_shape = np.broadcast_shapes(*shapes)
    dout = rng.standard_normal(out_shape)
    grads = _closure_grads(op, arrays, dout)
    for k, (grad, shape) in enumerate(zip(grads, shapes, strict=True)):
        assert grad.shape == shape
        np.testing.assert_allclose(grad, _numeric(op, arrays, dout, k), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "grad_shape, shape, want",
    [
        ((2, 3), (3,), lambda g: g.sum(axis=0)),
        ((2, 3), (1, 3), lambda g: g.sum(axis=0, keepdims=True)),
        ((2, 3), (2, 1), lambda g: g.sum(axis=1, keepdims=True)),
        ((2, 3), (), lambda g: g.sum()),
        ((2, 3), (1, 1), lambda g: g.sum(keepdims=True)),
        ((4, 2, 3), (2, 1), lambda g: g.sum(axis=(0, 2))[:, None]),
        ((2, 3), (2, 3), lambda g: g),
    ],
)
def test_does_unbroadcast_sum_the_added_and_the_stretched_axes(grad_shape, shape, want):
    g = np.arange(np.prod(grad_shape), dtype=np.float64).reshape(grad_shape) - 2.5
    got = ag.unbroadcast(g, shape)
    assert got.shape == shape
    np.testing.assert_array_equal(got, want(g))


def test_does_unbroadcast_refuse_a_shape_that_cannot_broadcast_to_the_gradient():
    with pytest.raises(ValueError, match="cannot come from broadcasting"):
        ag.unbroadcast(np.zeros((2, 3)), (4,))


@pytest.mark.parametrize(
    "op, shape",
    [
        (ag.relu, (4, 5)),
        (ag.reduce_sum, (3, 4)),
        (ag.reduce_mean, (3, 4)),
        (ag.log_softmax, (4, 5)),
        (ag.log_softmax, (1, 3)),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_does_each_unary_closure_give_the_numerical_gradient(op, shape):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    x[np.abs(x) < 0.05] += 0.2  # away from ReLU's kink
    out_shape = op(ag.Tensor(x)).shape
    dout = rng.standard_normal(out_shape)
    (grad,) = _closure_grads(op, [x], dout)
    np.testing.assert_allclose(grad, _numeric(op, [x], dout, 0), rtol=RTOL, atol=ATOL)


def test_does_matmul_give_dout_bt_and_at_dout():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    dout = rng.standard_normal((3, 2))
    da, db = _closure_grads(ag.matmul, [a, b], dout)
    np.testing.assert_allclose(da, dout @ b.T, rtol=1e-12)
    np.testing.assert_allclose(db, a.T @ dout, rtol=1e-12)
    np.testing.assert_allclose(da, _numeric(ag.matmul, [a, b], dout, 0), rtol=RTOL, atol=ATOL)


def test_is_relu_slope_zero_at_the_kink_and_log_softmax_finite_for_huge_logits():
    (grad,) = _closure_grads(ag.relu, [np.array([-1.0, 0.0, 2.0])], np.ones(3))
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0])
    x = np.array([[1e4, 0.0, -1e4], [800.0, 801.0, 799.0]])
    out = ag.log_softmax(ag.Tensor(x))
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(np.exp(out.data).sum(axis=1), 1.0)
    np.testing.assert_allclose(out.data[0], [0.0, -1e4, -2e4])


def test_does_backward_sum_over_the_paths_through_a_shared_node():
    # x feeds h twice (h = x * x) and the sum directly: d/dx sum(x*x + x) = 2x + 1
    x = ag.Tensor([1.5, -2.0, 0.25])
    h = x * x
    loss = (h + x).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)
    np.testing.assert_array_equal(loss.grad, 1.0)
    # a node reached along two paths of different lengths: its closure runs once, after both
    w = ag.Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    a = ag.Tensor(np.array([[1.0, 2.0]]))
    s = a @ w  # shared: used by relu(s) and by the sum
    out = (s.relu() @ w + s).sum()
    out.backward()
    sd = a.data @ w.data
    ds = np.ones((1, 2)) @ w.data.T * (sd > 0) + 1.0
    np.testing.assert_allclose(s.grad, ds)
    np.testing.assert_allclose(w.grad, a.data.T @ ds + np.maximum(sd, 0).T @ np.ones((1, 2)))


def test_does_a_second_backward_pass_add_to_the_inputs_the_graphs_share():
    x = ag.Tensor([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 + 2 * x.data)


def test_is_the_order_parents_first_with_each_node_once():
    x = ag.Tensor(2.0)
    y = x * x
    z = y + x
    order = ag.topological_order(z)
    assert [id(n) for n in order[:1]] == [id(x)] and order[-1] is z
    assert len(order) == len({id(n) for n in order}) == 3
    deep = x
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = deep + 1.0
    assert len(ag.topological_order(deep)) == 1 + 2 * 5000


def test_does_the_mlp_match_bplibs_hand_written_layers():
    rng = np.random.default_rng(5)
    N, D, H, C = 6, 4, 5, 3
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    p = {"W1": rng.standard_normal((D, H)), "b1": rng.standard_normal(H),
         "W2": rng.standard_normal((H, C)), "b2": rng.standard_normal(C)}
    t = {k: ag.Tensor(v) for k, v in p.items()}
    xt = ag.Tensor(X)
    loss = ag.cross_entropy((xt @ t["W1"] + t["b1"]).relu() @ t["W2"] + t["b2"], y)
    loss.backward()
    a, c1 = affine_forward(X, p["W1"], p["b1"])
    h, cr = relu_forward(a)
    s, c2 = affine_forward(h, p["W2"], p["b2"])
    want_loss, ds = softmax_cross_entropy_loss(s, y)
    dh, dW2, db2 = affine_backward(ds, c2)
    dX, dW1, db1 = affine_backward(relu_backward(dh, cr), c1)
    np.testing.assert_allclose(loss.data, want_loss, rtol=1e-12)
    for ours, theirs in ((t["W1"].grad, dW1), (t["b1"].grad, db1), (t["W2"].grad, dW2),
                         (t["b2"].grad, db2), (xt.grad, dX)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)


def test_does_the_numerical_comparison_catch_a_closure_that_forgets_to_unbroadcast():
    """Negative control: a bias gradient left of the broadcast shape is caught."""

    def bad_add(a: ag.Tensor, b: ag.Tensor) -> ag.Tensor:
        out = ag.Tensor(a.data + b.data, (a, b), "+")

        def _backward() -> None:
            a.grad = a.grad + out.grad
            b.grad = b.grad + out.grad

        out._backward = _backward
        return out

    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    dout = rng.standard_normal((4, 3))
    grads = _closure_grads(bad_add, arrays, dout)
    assert grads[1].shape != (3,)


def test_are_bad_inputs_refused_with_a_message():
    with pytest.raises(ValueError, match="needs an array, got a Tensor"):
        ag.Tensor(ag.Tensor(1.0))
    with pytest.raises(ValueError, match="must be a Tensor"):
        ag.topological_order(np.zeros(2))
    with pytest.raises(ValueError):
        ag.matmul(ag.Tensor(np.zeros(3)), ag.Tensor(np.zeros((3, 2))))
    with pytest.raises(ValueError):
        ag.cross_entropy(ag.Tensor(np.zeros((2, 3))), [0, 3])
