"""Does the scalar autodiff Value agree with centered differences of plain float code?"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from bplib.engine import Value, topological_order, zero_grad
from bplib.gradcheck import GradientCheckError, centered_difference, check_gradient

# Each op: (Value version, plain-float version, how to draw valid inputs). The float versions use
# only the math module, so they are an oracle independent of the engine.
_any = lambda rng: rng.uniform(-2, 2)  # noqa: E731
_pos = lambda rng: rng.uniform(0.3, 3)  # noqa: E731
_away = lambda rng: rng.choice([-1, 1]) * rng.uniform(0.3, 2)  # noqa: E731 (kinks, poles)

OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, (_any, _any)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (_any, _any)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (_any, _any)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (_any, _away)),
    "pow3": (lambda a: a**3, lambda a: a**3, (_any,)),
    "pow-2": (lambda a: a**-2, lambda a: a**-2, (_away,)),
    "pow0.5": (lambda a: a**0.5, lambda a: a**0.5, (_pos,)),
    "neg": (lambda a: -a, lambda a: -a, (_any,)),
    "radd": (lambda a: 2.5 + a, lambda a: 2.5 + a, (_any,)),
    "rsub": (lambda a: 2.5 - a, lambda a: 2.5 - a, (_any,)),
    "rmul": (lambda a: 2.5 * a, lambda a: 2.5 * a, (_any,)),
    "rdiv": (lambda a: 2.5 / a, lambda a: 2.5 / a, (_away,)),
    "add_const": (lambda a: a + 1.5, lambda a: a + 1.5, (_any,)),
    "exp": (lambda a: a.exp(), math.exp, (_any,)),
    "log": (lambda a: a.log(), math.log, (_pos,)),
    "tanh": (lambda a: a.tanh(), math.tanh, (_any,)),
    "relu": (lambda a: a.relu(), lambda a: max(a, 0.0), (_away,)),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + math.exp(-a)), (_any,)),
}


def _numeric_local(float_fn, xs, i):
    """d float_fn / d xs[i] by a centered difference."""
    def f(t):
        args = list(xs)
        args[i] = t
        return float_fn(*args)

    return centered_difference(f, xs[i])


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_does_each_op_match_centered_differences_under_a_random_upstream_gradient(name, seed):
    value_fn, float_fn, draws = OPS[name]
    rng = np.random.default_rng(seed)
    xs = [float(draw(rng)) for draw in draws]
    upstream = float(rng.normal())
    leaves = [Value(x) for x in xs]
    out = value_fn(*leaves)
    assert out.data == pytest.approx(float_fn(*xs), rel=1e-12)
    out.grad = upstream
    out._backward()
    analytic = np.array([v.grad for v in leaves])
    numeric = np.array([upstream * _numeric_local(float_fn, xs, i) for i in range(len(xs))])
    check_gradient(analytic, numeric, name=f"d{name}", tol=1e-7)


@pytest.mark.parametrize("name", sorted(OPS))
def test_does_a_zero_upstream_gradient_give_zero_gradients(name):
    value_fn, _, draws = OPS[name]
    rng = np.random.default_rng(5)
    leaves = [Value(float(draw(rng))) for draw in draws]
    out = value_fn(*leaves)
    out.grad = 0.0
    out._backward()
    assert all(v.grad == 0.0 for v in leaves)


def test_do_ops_record_their_name_and_operands():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    assert c.op == "*" and c.children == (a, b)
    assert (a**2).op == "**2" and a.tanh().op == "tanh" and a.children == ()
    assert (a * a).children == (a, a)


# ----------------------------------------------------------------------------- composites
def _tanh(z):
    return z.tanh() if isinstance(z, Value) else math.tanh(z)


def _sigmoid(z):
    return z.sigmoid() if isinstance(z, Value) else 1 / (1 + math.exp(-z))


def _exp(z):
    return z.exp() if isinstance(z, Value) else math.exp(z)


def _log(z):
    return z.log() if isinstance(z, Value) else math.log(z)


def _composite(x, y, z, w):
    """The same expression for floats and Values: staged, with fan-out of x and y."""
    q = x * y + z
    s = _sigmoid(w)
    f = q * s
    g = _tanh(f / 4) + (x - 2) ** 2 / (1 + y * y)
    return g * _exp(-z * 0.3) - _log(1 + w * w) + 3 / (2 + x * x)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_does_backward_of_a_composite_match_numerical_gradients(seed):
    rng = np.random.default_rng(seed)
    point = rng.uniform(-2, 2, size=4)
    leaves = [Value(p) for p in point]
    out = _composite(*leaves)
    out.backward()
    assert out.data == pytest.approx(_composite(*point), rel=1e-12)
    numeric = np.array([_numeric_local(_composite, list(point), i) for i in range(4)])
    check_gradient(np.array([v.grad for v in leaves]), numeric, name="d(composite)", tol=1e-7)


def test_does_the_staged_example_match_hand_computed_values():
    # f = (x*y + z) * sigmoid(w) at x=2, y=-3, z=10, w=0: q = 4, s = 0.5, f = 2.
    x, y, z, w = Value(2.0), Value(-3.0), Value(10.0), Value(0.0)
    f = (x * y + z) * w.sigmoid()
    f.backward()
    assert f.data == 2.0
    assert (x.grad, y.grad, z.grad, w.grad) == (-1.5, 1.0, 0.5, 1.0)


def test_does_a_diamond_sum_both_paths():
    # d = c + c*a with c = a*b, so d = ab + a²b: dd/da = b + 2ab, dd/db = a + a².
    a, b = Value(1.5), Value(-2.0)
    c = a * b
    d = c + c * a
    d.backward()
    assert d.data == pytest.approx(1.5 * -2 + 1.5**2 * -2)
    assert a.grad == pytest.approx(-2 + 2 * 1.5 * -2)
    assert b.grad == pytest.approx(1.5 + 1.5**2)
    assert c.grad == pytest.approx(1 + 1.5)


def test_does_x_times_x_count_both_uses():
    x = Value(3.0)
    y = x * x
    y.backward()
    assert x.grad == 6.0


def test_do_gradients_accumulate_across_backward_calls_unless_zeroed():
    a, b = Value(1.5), Value(-2.0)
    c = a * b
    d = (c + c * a).tanh()
    d.backward()
    once = (a.grad, b.grad, c.grad)
    d.backward()
    # Leaves accumulate; the interior holds this pass's gradient, so the sum stays exact.
    assert a.grad == pytest.approx(2 * once[0]) and b.grad == pytest.approx(2 * once[1])
    assert c.grad == pytest.approx(once[2])
    d.zero_grad()
    assert a.grad == b.grad == c.grad == d.grad == 0.0
    d.backward()
    assert (a.grad, b.grad, c.grad) == pytest.approx(once)


def test_does_zero_grad_reset_only_the_values_given():
    a, b = Value(1.0), Value(2.0)
    (a * b).backward()
    zero_grad([a])
    assert a.grad == 0.0 and b.grad == 1.0
    zero_grad(b)
    assert b.grad == 0.0
    with pytest.raises(ValueError, match="expects Values"):
        zero_grad([a, 3.0])


def test_does_a_10000_node_chain_backward_without_recursion():
    assert sys.getrecursionlimit() < 10_000  # otherwise this test would prove nothing
    x = Value(0.5)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-9)
    assert len(topological_order(y)) == 1 + 4 * 10_000  # x, then (const, *, const, +) per step


def test_is_the_topological_order_children_first_each_node_once():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + c * a
    order = topological_order(d)
    assert order[-1] is d and len(order) == len({id(v) for v in order}) == 5
    index = {id(v): i for i, v in enumerate(order)}
    assert all(index[id(ch)] < index[id(v)] for v in order for ch in v.children)
    assert [v.label for v in order[:2]] == ["a", "b"]


def test_does_sigmoid_stay_finite_at_extreme_inputs():
    for x, expected in ((-1000.0, 0.0), (1000.0, 1.0), (-40.0, math.exp(-40) / (1 + math.exp(-40)))):
        v = Value(x)
        s = v.sigmoid()
        s.backward()
        assert s.data == pytest.approx(expected, abs=1e-300)
        assert math.isfinite(v.grad)


def test_does_repr_show_data_and_grad():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-1, label="x")) == "Value(data=-1.0, grad=0.0, label='x')"


def test_do_bad_inputs_raise_value_errors_that_say_why():
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="real number"):
        Value("3")
    with pytest.raises(ValueError, match="plain number"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match="Value"):
        topological_order(3.0)
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(TypeError):
        Value(1.0) + "a"


def test_does_a_wrong_backward_fail_the_check_with_a_sign_hint():
    # Negative control: a tanh whose backward has the sign flipped must be caught.
    x = Value(0.7)
    out = x.tanh()

    def wrong() -> None:
        x.grad -= (1 - out.data**2) * out.grad

    out._backward = wrong
    out.backward()
    numeric = np.array([centered_difference(math.tanh, 0.7)])
    with pytest.raises(GradientCheckError, match="wrong sign"):
        check_gradient(np.array([x.grad]), numeric, name="dx")


def test_does_a_backward_that_assigns_instead_of_adding_fail_the_check():
    # Negative control: with `=` instead of `+=`, x in x*x gets one use's gradient, not two.
    x = Value(1.3)
    out = x * x

    def assigns() -> None:
        x.grad = x.data * out.grad

    out._backward = assigns
    out.backward()
    with pytest.raises(GradientCheckError, match="constant factor"):
        check_gradient(np.array([x.grad]), np.array([2 * 1.3]), name="dx")


@pytest.mark.torch
def test_does_the_composite_match_pytorch_autograd():
    torch = pytest.importorskip("torch")
    point = np.random.default_rng(7).uniform(-2, 2, size=4)
    leaves = [Value(p) for p in point]
    _composite(*leaves).backward()
    t = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in point]
    q = t[0] * t[1] + t[2]
    g = torch.tanh(q * torch.sigmoid(t[3]) / 4) + (t[0] - 2) ** 2 / (1 + t[1] * t[1])
    out = g * torch.exp(-t[2] * 0.3) - torch.log(1 + t[3] * t[3]) + 3 / (2 + t[0] * t[0])
    out.backward()
    np.testing.assert_allclose([v.grad for v in leaves], [p.grad.item() for p in t], rtol=1e-10)
