"""Does draw_graph draw one box per value, one circle per operation and one arrow per edge?"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bplib.engine import Value  # noqa: E402
from bplib.graph import draw_graph, graph_nodes_edges  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _staged():
    x, y, z, w = (Value(v, label=n) for v, n in ((2.0, "x"), (-3.0, "y"), (10.0, "z"), (0.0, "w")))
    q = x * y
    q.label = "q"
    f = (q + z) * w.sigmoid()
    f.label = "f"
    f.backward()
    return f, (x, y, z, w, q)


def _bigger():
    a, b = Value(1.5, label="a"), Value(-2.0, label="b")
    c = a * b
    d = c + c * a
    e = (d * 0.1).tanh() + 2 / (a**2) - a.exp().log()
    e.backward()
    return e


def test_are_nodes_topological_and_edges_one_per_operand():
    x = Value(3.0, label="x")
    y = x * x + 1.0
    nodes, edges = graph_nodes_edges(y)
    assert nodes[-1] is y and len(nodes) == 4  # x, x*x, 1.0, +
    square = nodes[1]
    assert edges.count((x, square)) == 2  # both uses of x
    assert len(edges) == sum(len(n.children) for n in nodes) == 4


@pytest.mark.parametrize("make", [lambda: _staged()[0], _bigger])
def test_does_draw_graph_draw_one_artist_per_node_and_edge(make):
    root = make()
    nodes, edges = graph_nodes_edges(root)
    n_ops = sum(1 for n in nodes if n.children)
    ax = draw_graph(root)
    assert len(ax.texts) == len(nodes) + n_ops
    assert len(ax.patches) == len(edges) + n_ops
    ax.figure.canvas.draw()  # clipping arrows to boxes happens at draw time


def test_do_boxes_show_label_data_and_grad():
    f, (x, *_rest) = _staged()
    ax = draw_graph(f)
    texts = [t.get_text() for t in ax.texts]
    assert "x\ndata 2\ngrad -1.5" in texts
    assert "f\ndata 2\ngrad 1" in texts
    assert "*" in texts and "sigmoid" in texts
    no_grad = [t.get_text() for t in draw_graph(f, show_grad=False).texts]
    assert "x\ndata 2" in no_grad and not any("grad" in t for t in no_grad)


def test_do_grads_override_and_highlight_change_only_what_is_drawn():
    f, (x, *_rest) = _staged()
    ax = draw_graph(f, highlight=x, grads={x: 42.0})
    assert "x\ndata 2\ngrad 42" in [t.get_text() for t in ax.texts]
    assert x.grad == -1.5
    faces = {t.get_text().split("\n")[0]: t.get_bbox_patch().get_facecolor() for t in ax.texts}
    assert faces["x"] != faces["y"]


def test_do_arrows_run_left_to_right():
    ax = draw_graph(_bigger())
    for arrow in ax.patches:
        (x0, _), (x1, _) = arrow._posA_posB
        assert x0 < x1


def test_does_a_given_axes_get_used():
    fig, ax = plt.subplots()
    assert draw_graph(_staged()[0], ax=ax) is ax


def test_do_bad_arguments_raise_value_errors():
    f = _staged()[0]
    with pytest.raises(ValueError, match="root must be a Value"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="highlight must be a node"):
        draw_graph(f, highlight=Value(1.0))
    chain = Value(1.0)
    for _ in range(300):
        chain = chain + 1.0
    with pytest.raises(ValueError, match="max_nodes=200"):
        draw_graph(chain)


def test_does_a_single_leaf_draw():
    ax = draw_graph(Value(5.0, label="only"))
    assert len(ax.texts) == 1 and len(ax.patches) == 0
