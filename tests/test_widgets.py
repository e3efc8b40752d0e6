"""Do the interactive controls build and redraw without a browser?"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("ipywidgets")

from bplib.engine import Value  # noqa: E402
from bplib.widgets import (  # noqa: E402
    gradient_descent_path,
    learning_rate_explorer,
    step_through_graph,
)

PNG = b"\x89PNG"


def _graph():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    q = x * y
    q.label = "q"
    f = (q + x).tanh()
    f.label = "f"
    return f, x, y, q


def _quadratic(p):
    a = np.array([1.0, 10.0])
    return float(0.5 * np.sum(a * p * p)), a * p


def test_does_the_backward_step_through_show_gradients_as_they_fill_in():
    f, x, y, q = _graph()
    stepper = step_through_graph(f)
    assert bytes(stepper.image.value).startswith(PNG)
    assert stepper.order[0] is f and stepper.slider.max == len(stepper.order) - 1
    assert "grad = 1" in stepper.text.value
    first = bytes(stepper.image.value)
    stepper.slider.value = 2  # the observer redraws
    assert stepper.order[2] is q and "q" in stepper.text.value
    assert bytes(stepper.image.value) != first
    # Before any backward rule has run only the seed is known; at the end, the true gradients.
    assert stepper.grads[0][x] == 0.0 and stepper.grads[0][f] == 1.0
    f.backward()
    assert stepper.grads[-1][x] == pytest.approx(x.grad)
    assert stepper.grads[-1][y] == pytest.approx(y.grad)


def test_does_the_step_through_leave_the_graph_untouched():
    f, x, y, q = _graph()
    x.grad = 7.0
    step_through_graph(f)
    assert x.grad == 7.0 and q.grad == 0.0


def test_does_the_forward_step_through_visit_inputs_first():
    f, x, *_ = _graph()
    stepper = step_through_graph(f, direction="forward")
    assert stepper.order[0] is x and stepper.order[-1] is f and stepper.grads is None
    stepper.update(len(stepper.order) - 1)
    assert "f" in stepper.text.value
    with pytest.raises(ValueError, match="step must be in"):
        stepper.update(99)


def test_do_bad_step_through_arguments_raise():
    with pytest.raises(ValueError, match="root must be a Value"):
        step_through_graph(1.0)
    with pytest.raises(ValueError, match='direction must be "forward" or "backward"'):
        step_through_graph(_graph()[0], direction="sideways")


def test_does_gradient_descent_converge_for_a_small_rate_and_stop_when_diverging():
    path, losses = gradient_descent_path(_quadratic, [2.0, 1.0], lr=0.05, steps=200)
    assert path.shape == (201, 2) and losses.shape == (201,)
    assert losses[-1] < 1e-6 * losses[0]
    path, losses = gradient_descent_path(_quadratic, [2.0, 1.0], lr=0.5, steps=500)
    assert len(path) < 501 and np.isnan(losses[-1])  # |1 - 0.5 * 10| = 4 > 1: blows up


def test_does_the_learning_rate_explorer_redraw_for_a_new_rate():
    explorer = learning_rate_explorer(_quadratic, [2.0, 1.0], lr=0.05, steps=20)
    assert bytes(explorer.image.value).startswith(PNG) and "→" in explorer.text.value
    first_path = explorer.path.copy()
    explorer.slider.value = 0.15
    assert not np.allclose(explorer.path, first_path)
    explorer.update(1.5)
    assert bytes(explorer.image.value).startswith(PNG)


def test_does_the_explorer_work_in_one_dimension():
    explorer = learning_rate_explorer(lambda p: (float(p[0] ** 2), 2 * p), [1.5], lr=1.2, steps=10)
    assert explorer.losses[-1] > explorer.losses[0]  # |1 - 2 * 1.2| > 1: grows
    assert bytes(explorer.image.value).startswith(PNG)


@pytest.mark.parametrize(
    ("x0", "kwargs", "message"),
    [
        ([1.0, 2.0, 3.0], {}, "1 or 2 coordinates"),
        ([1.0], {"lr_range": (1.0, 0.1)}, "0 < low < high"),
        ([1.0], {"lr": 5.0}, "outside lr_range"),
        ([1.0], {"steps": 0}, "steps must be an integer >= 1"),
        ([1.0, 1.0], {"bounds": [(0, 1)]}, "bounds must be 2 pairs"),
    ],
)
def test_do_bad_explorer_arguments_raise(x0, kwargs, message):
    with pytest.raises(ValueError, match=message):
        learning_rate_explorer(_quadratic, x0, **kwargs)
