"""Two interactive controls for the notebooks, built on ipywidgets.

* :func:`step_through_graph`: a slider that walks a ``Value`` graph in topological order (or in
  the reverse order of the backward pass, showing each gradient as it becomes known).
* :func:`learning_rate_explorer`: gradient descent on a 1-D or 2-D function, with a log-scale
  learning-rate slider; too small crawls, too large oscillates or diverges.

ipywidgets is imported only when a control is built, so ``import bplib.widgets`` never fails.
Each control draws into its own matplotlib Figure (not pyplot's, which would display a second
copy) and shows it as a PNG in an ``Image`` widget, which works with any matplotlib backend. Each
returns a small object whose ``update(...)`` redraws it (the widgets call it; tests can too) and
which displays itself as its widget in a notebook.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bplib._checks import as_float_array, check_choice, check_ndim
from bplib.engine import Value, topological_order
from bplib.graph import _layout, draw_graph, graph_nodes_edges

__all__ = [
    "GraphStepper",
    "LearningRateExplorer",
    "gradient_descent_path",
    "learning_rate_explorer",
    "step_through_graph",
]

LossAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is a course dependency
        raise ImportError("the interactive controls need ipywidgets: pip install ipywidgets") from err
    return ipywidgets


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


class _Control:
    """Shows ``self.widget`` when a notebook displays the object."""

    widget: Any

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# ----------------------------------------------------------------------------- graph step-through
class GraphStepper(_Control):
    """The step-through control returned by :func:`step_through_graph`.

    Attributes:
        order: the nodes in the order the slider visits them.
        grads: per step, the gradients known at that step (backward direction) or ``None``.
        slider, text, image, widget: the ipywidgets parts; ``widget`` is the whole control.
        figure: the matplotlib Figure redrawn on each step.
    """

    def __init__(self, root: Value, direction: str) -> None:
        w = _ipywidgets()
        check_choice(direction, ("forward", "backward"), "direction")
        self.root, self.direction = root, direction
        order = topological_order(root)
        self.order = order if direction == "forward" else order[::-1]
        self.grads = _backward_snapshots(root, order) if direction == "backward" else None
        _, _, n_cols, tallest = _layout(*graph_nodes_edges(root))
        self.figure = Figure(figsize=(max(3.0, 1.15 * n_cols), max(1.8, 0.95 * tallest)))
        self.slider = w.IntSlider(value=0, min=0, max=len(order) - 1, description="step",
                                  continuous_update=False)
        self.text = w.HTML()
        self.image = w.Image(format="png")
        self.widget = w.VBox([self.slider, self.text, self.image])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.update(0)

    def update(self, step: int) -> None:
        """Highlight node ``step`` of :attr:`order` and redraw."""
        if not 0 <= step < len(self.order):
            raise ValueError(f"step must be in 0..{len(self.order) - 1}, got {step}")
        node = self.order[step]
        grads = self.grads[step] if self.grads is not None else None
        name = node.label or f"node {step}"
        operands = ", ".join(c.label or f"{c.data:.4g}" for c in node.children)
        made = f"= {node.op}({operands})" if node.children else "(input)"
        grad = grads[node] if grads is not None else node.grad
        self.text.value = (f"<b>{self.direction} step {step}</b>: {name} {made}, "
                           f"data = {node.data:.6g}, grad = {grad:.6g}")
        self.figure.clear()
        ax = self.figure.add_subplot()
        draw_graph(self.root, ax=ax, show_grad=True, highlight=node, grads=grads)
        self.image.value = _png(self.figure)


def _backward_snapshots(root: Value, order: list[Value]) -> list[dict[Value, float]]:
    """Gradients after each step of a backward pass from ``root``; the nodes are left untouched.

    Step 0 has only the seed d(root)/d(root) = 1; step k has run the local backward rules of the
    first k nodes in reverse topological order.
    """
    saved = {node: node.grad for node in order}
    try:
        for node in order:
            node.grad = 0.0
        root.grad = 1.0
        snapshots = []
        for node in reversed(order):
            snapshots.append({n: n.grad for n in order})
            node._backward()
    finally:
        for node, grad in saved.items():
            node.grad = grad
    return snapshots


def step_through_graph(root: Value, direction: str = "backward") -> GraphStepper:
    """A slider that walks the graph of ``root`` one node at a time, drawn with :func:`draw_graph`.

    Args:
        root: the output ``Value``.
        direction: "forward" visits nodes in topological order (inputs first) and shows each
            node's current ``grad``; "backward" visits them in reverse, showing the gradients as
            the backward pass fills them in (from a fresh pass; ``root``'s graph is not changed).

    Returns:
        A :class:`GraphStepper`; display it (last expression of a cell) to use it.
    """
    if not isinstance(root, Value):
        raise ValueError(f"root must be a Value, got {type(root).__name__}")
    return GraphStepper(root, direction)


# ----------------------------------------------------------------------------- learning rate
def gradient_descent_path(
    loss_fn_and_grad: LossAndGrad, x0: Any, lr: float, steps: int, blow_up: float = 1e6
) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent ``x <- x - lr * grad`` from ``x0``.

    Args:
        loss_fn_and_grad: maps a point (D,) to ``(loss, grad)`` with grad of shape (D,).
        x0: (D,) starting point.
        lr: learning rate, > 0.
        steps: number of updates S >= 0.
        blow_up: stop early once any coordinate exceeds this in size (a diverging run).

    Returns:
        path: (S' + 1, D) the points visited, S' <= S; losses: (S' + 1,) the loss at each.
    """
    x = as_float_array(x0, "x0").astype(np.float64).ravel()
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    path, losses = [x.copy()], []
    for step in range(steps + 1):
        loss, grad = loss_fn_and_grad(x)
        losses.append(float(loss))
        if step == steps:
            break
        grad = as_float_array(grad, "grad").ravel()
        if grad.shape != x.shape:
            raise ValueError(f"loss_fn_and_grad returned a gradient of shape {grad.shape} "
                             f"for a point of shape {x.shape}")
        x = x - lr * grad
        path.append(x.copy())
        if not np.all(np.isfinite(x)) or np.abs(x).max() > blow_up:
            losses.append(float("nan"))
            break
    return np.array(path), np.array(losses)


class LearningRateExplorer(_Control):
    """The control returned by :func:`learning_rate_explorer`.

    Attributes:
        slider: log-scale learning-rate slider; text, image, widget: the other ipywidgets parts.
        path, losses: the last trajectory drawn (see :func:`gradient_descent_path`).
        figure: the matplotlib Figure redrawn on each update.
    """

    def __init__(self, loss_fn_and_grad: LossAndGrad, x0: np.ndarray, lr: float,
                 lr_range: tuple[float, float], steps: int,
                 bounds: Sequence[tuple[float, float]]) -> None:
        w = _ipywidgets()
        self.loss_fn_and_grad, self.x0, self.steps = loss_fn_and_grad, x0, steps
        self.bounds = bounds
        self._landscape = self._evaluate_landscape()
        self.figure = Figure(figsize=(9.0, 3.6))
        lo, hi = np.log10(lr_range[0]), np.log10(lr_range[1])
        self.slider = w.FloatLogSlider(value=lr, base=10, min=lo, max=hi, step=(hi - lo) / 100,
                                       description="learning rate", readout_format=".3g",
                                       continuous_update=False,
                                       style={"description_width": "initial"})
        self.text = w.HTML()
        self.image = w.Image(format="png")
        self.widget = w.VBox([self.slider, self.text, self.image])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.update(lr)

    def _evaluate_landscape(self) -> tuple[np.ndarray, ...]:
        # The loss surface does not depend on the learning rate: evaluate it once.
        f = self.loss_fn_and_grad
        if len(self.x0) == 1:
            xs = np.linspace(*self.bounds[0], 300)
            return xs, np.array([f(np.array([x]))[0] for x in xs], dtype=np.float64)
        xs = np.linspace(*self.bounds[0], 60)
        ys = np.linspace(*self.bounds[1], 60)
        zz = np.array([[f(np.array([x, y]))[0] for x in xs] for y in ys], dtype=np.float64)
        return xs, ys, zz

    def update(self, lr: float) -> None:
        """Run gradient descent with learning rate ``lr`` and redraw."""
        self.path, self.losses = gradient_descent_path(self.loss_fn_and_grad, self.x0, lr,
                                                       self.steps)
        diverged = not np.isfinite(self.losses[-1])
        final = self.losses[-2] if diverged else self.losses[-1]
        self.text.value = (f"learning rate {lr:.3g}: " + (
            f"<b>diverged</b> after {len(self.path) - 1} steps" if diverged
            else f"loss {self.losses[0]:.4g} → {final:.4g} after {self.steps} steps"))
        self.figure.clear()
        ax_f, ax_l = self.figure.subplots(1, 2)
        shown = self.path[np.all(np.abs(self.path) < 1e3, axis=1)]
        if len(self.x0) == 1:
            xs, fx = self._landscape
            ax_f.plot(xs, fx, color="0.3")
            finite = np.isfinite(self.losses[: len(shown)])
            ax_f.plot(shown[finite, 0], self.losses[: len(shown)][finite], "o-", color="C3", ms=3)
            ax_f.set_xlabel("x")
            ax_f.set_ylabel("f(x)")
        else:
            xs, ys, zz = self._landscape
            ax_f.contour(xs, ys, zz, levels=20, cmap="viridis")
            ax_f.plot(shown[:, 0], shown[:, 1], "o-", color="C3", ms=3)
            ax_f.set_xlabel("$x_1$")
            ax_f.set_ylabel("$x_2$")
        ax_f.set_xlim(*self.bounds[0])
        if len(self.x0) == 2:
            ax_f.set_ylim(*self.bounds[1])
        ax_f.set_title("trajectory")
        finite = np.isfinite(self.losses)
        ax_l.plot(np.flatnonzero(finite), self.losses[finite], "o-", ms=3)
        ax_l.set_yscale("symlog", linthresh=1e-3)
        ax_l.set_xlabel("step")
        ax_l.set_title("loss")
        self.figure.tight_layout()
        self.image.value = _png(self.figure)


def learning_rate_explorer(
    loss_fn_and_grad: LossAndGrad,
    x0: Any,
    *,
    lr: float = 0.1,
    lr_range: tuple[float, float] = (1e-3, 2.0),
    steps: int = 30,
    bounds: Sequence[tuple[float, float]] | None = None,
) -> LearningRateExplorer:
    """Gradient descent trajectories on a 1-D or 2-D function for a log-scale learning rate.

    Args:
        loss_fn_and_grad: maps a point (D,) with D = 1 or 2 to ``(loss, grad)``, grad (D,).
        x0: (D,) starting point.
        lr: the initial learning rate, inside ``lr_range``.
        lr_range: (smallest, largest) learning rate of the slider, both > 0.
        steps: gradient-descent updates per trajectory, >= 1.
        bounds: D pairs (low, high): the region drawn; default a box around 0 and ``x0``.

    Returns:
        A :class:`LearningRateExplorer`; display it (last expression of a cell) to use it.
    """
    x0 = as_float_array(x0, "x0").astype(np.float64).ravel()
    check_ndim(x0, 1, "x0", "(D,)")
    if x0.size not in (1, 2):
        raise ValueError(f"x0 must have 1 or 2 coordinates (a 1-D or 2-D function), got {x0.size}")
    low, high = lr_range
    if not 0 < low < high:
        raise ValueError(f"lr_range must be (low, high) with 0 < low < high, got {lr_range}")
    if not low <= lr <= high:
        raise ValueError(f"lr={lr} is outside lr_range={lr_range}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not callable(loss_fn_and_grad):
        raise ValueError("loss_fn_and_grad must be a function of a point returning (loss, grad)")
    if bounds is None:
        r = 1.5 * float(np.abs(x0).max()) + 1.0
        bounds = [(-r, r)] * x0.size
    bounds = [(float(a), float(b)) for a, b in bounds]
    if len(bounds) != x0.size or any(not a < b for a, b in bounds):
        raise ValueError(f"bounds must be {x0.size} pairs (low, high) with low < high, got {bounds}")
    return LearningRateExplorer(loss_fn_and_grad, x0, lr, (low, high), steps, bounds)
