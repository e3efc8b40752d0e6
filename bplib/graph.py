"""Draw the computational graph of a :class:`~bplib.engine.Value` with matplotlib alone.

Inputs sit on the left and the output on the right; every node that an operation produced is
drawn as a box (label, data, grad) preceded by a small circle naming the operation, and arrows
run from each operand into that circle. The column of a value is its longest distance from the
output, so every arrow points left to right. Within a column, nodes are ordered by the average
height of the nodes that use them, which keeps crossings rare in the small graphs (up to a few
dozen nodes) that the notebooks draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch

from bplib.engine import Value, topological_order

__all__ = ["draw_graph", "graph_nodes_edges"]

_LEAF_COLOR = "#e3f2e1"
_VALUE_COLOR = "#e3ebf7"
_OP_COLOR = "#f2f2f2"
_HIGHLIGHT_COLOR = "#ffd54f"
_EDGE_COLOR = "0.35"


def graph_nodes_edges(root: Value) -> tuple[list[Value], list[tuple[Value, Value]]]:
    """The nodes and operand edges of the graph that produced ``root``.

    Returns:
        nodes: every ``Value`` reachable from ``root``, each once, in topological order (operands
            before results, ``root`` last).
        edges: one ``(operand, result)`` pair per operand of each operation, so ``x * x`` gives
            the pair ``(x, x*x)`` twice: each use is a separate path for the gradient.
    """
    nodes = topological_order(root)
    edges = [(child, node) for node in nodes for child in node.children]
    return nodes, edges


def _levels(nodes: list[Value]) -> dict[Value, int]:
    """Longest distance of each node from the root (the root is level 0)."""
    level = {nodes[-1]: 0}
    for node in reversed(nodes):  # results before their operands
        for child in node.children:
            level[child] = max(level.get(child, 0), level[node] + 1)
    return level


def _layout(
    nodes: list[Value], edges: list[tuple[Value, Value]]
) -> tuple[dict[Value, tuple[float, float]], list[list[tuple[float, float]]], int, int]:
    """Place every value; route edges that skip columns through free slots.

    Values at level ``L`` go to column ``2L`` counted from the right, their operation circle to
    column ``2L + 1``, between them and their operands. An edge that skips value columns gets a
    waypoint of its own in each skipped column, so it never runs underneath a box.

    Returns:
        pos: (x, y) of each value; routes: per edge, the waypoints between its two ends;
        the number of columns; the largest number of slots in one column.
    """
    level = _levels(nodes)
    max_level = max(level.values())
    n_cols = 2 * max_level + 1
    # Slots are values and waypoints ("route", edge index, level); each knows who uses it.
    consumers: dict[object, list[object]] = {node: [] for node in nodes}
    slots_at: list[list[object]] = [[] for _ in range(max_level + 1)]
    order_key: dict[object, tuple[int, int]] = {}
    for i, node in enumerate(nodes):
        slots_at[level[node]].append(node)
        order_key[node] = (0, i)
    for e, (child, parent) in enumerate(edges):
        user: object = parent
        for lev in range(level[parent] + 1, level[child]):
            slot = ("route", e, lev)
            consumers[slot] = [user]
            slots_at[lev].append(slot)
            order_key[slot] = (1, e)
            user = slot
        consumers[child].append(user)
    y: dict[object, float] = {}
    for column in slots_at:
        # Order each column by the mean height of the slots that use it: few crossings.
        bary = {s: sum(y[c] for c in consumers[s]) / len(consumers[s]) if consumers[s] else 0.0
                for s in column}
        column.sort(key=lambda s: (-bary[s], order_key[s]))
        centre = sum(bary.values()) / len(column)
        for i, s in enumerate(column):
            y[s] = centre + (len(column) - 1) / 2 - i

    def x_of(lev: int) -> float:
        return float(n_cols - 1 - 2 * lev)

    pos = {node: (x_of(level[node]), y[node]) for node in nodes}
    routes = [
        [(x_of(lev), y[("route", e, lev)]) for lev in range(level[child] - 1, level[parent], -1)]
        for e, (child, parent) in enumerate(edges)
    ]
    return pos, routes, n_cols, max(len(column) for column in slots_at)


class _Edge(FancyArrowPatch):
    """An arrow clipped to the outlines of two text boxes.

    A text box's outline is only placed when the text is drawn; this arrow places both outlines
    itself before drawing, so it can sit *under* the boxes and still end at their edges.
    """

    def __init__(self, start, end, source, target, rad: float) -> None:
        super().__init__(
            start, end, patchA=None if source is None else source.get_bbox_patch(),
            patchB=target.get_bbox_patch(),
            arrowstyle="-|>", mutation_scale=9, color=_EDGE_COLOR, lw=0.9, zorder=1,
            connectionstyle=f"arc3,rad={rad}", shrinkA=1, shrinkB=1,
        )
        self._texts = tuple(t for t in (source, target) if t is not None)

    def draw(self, renderer) -> None:
        for text in self._texts:
            text.update_bbox_position_size(renderer)
        super().draw(renderer)


def _value_text(node: Value, grad: float | None) -> str:
    lines = [node.label] if node.label else []
    lines.append(f"data {node.data:.4g}")
    if grad is not None:
        lines.append(f"grad {grad:.4g}")
    return "\n".join(lines)


def draw_graph(
    root: Value,
    ax: Axes | None = None,
    show_grad: bool = True,
    *,
    highlight: Value | None = None,
    grads: Mapping[Value, float] | None = None,
    fontsize: float = 8.0,
    max_nodes: int = 200,
) -> Axes:
    """Draw the graph that produced ``root``, inputs on the left, ``root`` on the right.

    Args:
        root: the output ``Value``.
        ax: where to draw; a new figure sized to the graph when ``None``.
        show_grad: also print each node's gradient.
        highlight: a node of the graph to fill in a bright colour (used by the step-through).
        grads: gradients to print instead of each node's ``grad`` (e.g. a snapshot taken part
            way through a backward pass); nodes missing from it print their ``grad``.
        fontsize: text size in points.
        max_nodes: refuse larger graphs, which would be unreadable (and slow) to draw.

    Returns:
        The Axes. It holds one text artist per value and one per operation circle
        (``ax.texts``) and one arrow patch per operand edge plus one per operation
        (``ax.patches``); an edge that skips columns also has a line leading up to its arrow
        (``ax.lines``).
    """
    if not isinstance(root, Value):
        raise ValueError(f"root must be a Value, got {type(root).__name__}")
    nodes, edges = graph_nodes_edges(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"the graph has {len(nodes)} values but draw_graph draws at most max_nodes={max_nodes};"
            f" draw a smaller expression or raise max_nodes"
        )
    if highlight is not None and highlight not in set(nodes):
        raise ValueError(f"highlight must be a node of the graph, got {highlight!r}")
    pos, routes, n_cols, tallest = _layout(nodes, edges)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3.0, 1.15 * n_cols), max(1.8, 0.95 * tallest)))

    boxes = {}
    op_boxes = {}
    for node in nodes:
        x, y = pos[node]
        grad = None
        if show_grad:
            grad = grads.get(node, node.grad) if grads is not None else node.grad
        face = _LEAF_COLOR if not node.children else _VALUE_COLOR
        lw = 0.8
        if node is highlight:
            face, lw = _HIGHLIGHT_COLOR, 2.0
        boxes[node] = ax.text(
            x, y, _value_text(node, grad), ha="center", va="center", fontsize=fontsize,
            zorder=2, bbox={"boxstyle": "round,pad=0.35", "fc": face, "ec": "0.2", "lw": lw},
        )
        if node.children:
            op_boxes[node] = ax.text(
                x - 1, y, node.op, ha="center", va="center", fontsize=fontsize, zorder=2,
                bbox={"boxstyle": "circle,pad=0.3", "fc": _OP_COLOR, "ec": "0.4", "lw": 0.8},
            )

    repeats: dict[tuple[int, int], int] = {}
    for (child, parent), route in zip(edges, routes, strict=True):
        k = repeats.get((id(child), id(parent)), 0)
        repeats[(id(child), id(parent))] = k + 1
        # A value used twice by one operation (x * x) gets two arrows, bent apart.
        rad = 0.0 if k == 0 or route else 0.25 * ((k + 1) // 2) * (1 if k % 2 else -1)
        op_x, op_y = pos[parent][0] - 1, pos[parent][1]
        start, source = pos[child], boxes[child]
        if route:
            # The leg up to the last waypoint is a plain line; it starts hidden under the box.
            xs, ys = zip(pos[child], *route, strict=False)
            ax.plot(xs, ys, color=_EDGE_COLOR, lw=0.9, zorder=1, solid_capstyle="round")
            start, source = route[-1], None
        ax.add_patch(_Edge(start, (op_x, op_y), source, op_boxes[parent], rad))
    for node, op_text in op_boxes.items():
        ax.add_patch(_Edge((pos[node][0] - 1, pos[node][1]), pos[node], op_text, boxes[node], 0))

    ys = [p[1] for p in pos.values()]
    ax.set_xlim(-0.7, n_cols - 0.3)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_axis_off()
    return ax
