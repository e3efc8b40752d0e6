"""Do the plotting helpers draw what they promise, on the Axes given, and reject bad input?"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from bplib import plots  # noqa: E402
from bplib.datasets import spirals, two_moons  # noqa: E402
from bplib.plots import (  # noqa: E402
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_digits,
    plot_error_vs_step,
    plot_gradient_magnitudes,
    plot_history,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- decision boundary
@pytest.mark.parametrize(
    "predict",
    [
        lambda g: (g[:, 1] < 0.25).astype(int),  # labels
        lambda g: 1 / (1 + np.exp(-g[:, 0])),  # probability of class 1
        lambda g: (1 / (1 + np.exp(-g[:, 0])))[:, None],  # (K, 1) probability
        lambda g: np.column_stack([g[:, 0], -g[:, 0]]),  # (K, C) scores
    ],
)
def test_does_the_decision_boundary_draw_regions_and_every_point(predict):
    X, y = two_moons(40, seed=0)
    fig, ax = plt.subplots()
    out = plot_decision_boundary(predict, X, y, ax=ax, resolution=30)
    assert out is ax
    scatters = [c for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets())]
    assert any(len(c.get_offsets()) == 40 for c in scatters)
    assert len(ax.collections) >= 2  # filled regions + points


def test_does_the_grid_reach_predict_as_k_by_2():
    X, y = spirals(10, seed=0)
    seen = []

    def predict(g):
        seen.append(g.shape)
        return np.zeros(len(g), dtype=int)

    plot_decision_boundary(predict, X, y, resolution=17)
    assert seen == [(17 * 17, 2)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": np.zeros((5, 3))}, r"X must have shape \(N, 2\)"),
        ({"y": np.zeros(4, int)}, r"y must have shape \(5,\)"),
        ({"resolution": 1}, "resolution must be an integer >= 2"),
        ({"predict": lambda g: np.zeros(3)}, "predict returned shape"),
        ({"predict": lambda g: g[:, 0] * 5.5}, "outside"),
    ],
)
def test_do_bad_decision_boundary_arguments_raise(kwargs, message):
    args = {
        "predict": lambda g: np.zeros(len(g), int),
        "X": np.random.default_rng(0).normal(size=(5, 2)),
        "y": np.array([0, 1, 0, 1, 1]),
        "resolution": 10,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(**args)


# ----------------------------------------------------------------------------- history
class _Solver:
    loss_history = [2.3, 1.5, 1.0, 0.7, 0.6, 0.5]
    train_acc_history = [0.2, 0.6, 0.8]
    val_acc_history = [0.2, 0.5, 0.7]


def test_does_history_draw_loss_and_accuracy_panels():
    axes = plot_history({"loss": [3, 2, 1, 0.5], "train_acc": [0.5, 0.9], "val_acc": [0.4, 0.8]})
    assert len(axes) == 2
    assert len(axes[0].lines) == 1 and len(axes[1].lines) == 2
    assert axes[0].get_ylabel() == "loss" and axes[1].get_ylabel() == "accuracy"


def test_does_history_accept_objects_with_cs231n_names_and_one_axes():
    fig, ax = plt.subplots()
    axes = plot_history(_Solver(), ax=ax)
    assert axes[0] is ax and axes[1] is not ax  # accuracy on a twin y axis
    # Epoch points are placed at the end of their epoch on the shared per-step axis.
    np.testing.assert_allclose(axes[1].lines[0].get_xdata(), [2, 4, 6])


def test_does_history_with_loss_only_draw_one_panel():
    axes = plot_history({"loss": [1.0, 0.5]})
    assert len(axes) == 1 and len(axes[0].lines) == 1


def test_does_history_without_known_keys_raise():
    with pytest.raises(ValueError, match="history must hold"):
        plot_history({"accuracy": [0.5]})
    with pytest.raises(ValueError, match="pair of Axes"):
        plot_history({"loss": [1.0]}, ax=[1, 2, 3])


# ----------------------------------------------------------------------------- error vs step
def test_does_error_vs_step_draw_a_log_log_u_curve_with_its_minimum():
    h = np.logspace(-12, -1, 12)
    errs = np.vstack([1e-16 / h + h, 1e-16 / h + h**2])
    ax = plot_error_vs_step(h, errs, labels=["forward", "centered"])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) == 4  # two curves and the two marked minima
    assert ax.lines[1].get_xdata()[0] == h[np.argmin(errs[0])]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["forward", "centered"]


def test_are_zero_errors_left_out_of_the_log_plot():
    ax = plot_error_vs_step([1e-3, 1e-2, 1e-1], [0.0, 1e-4, 1e-2])
    assert np.isnan(ax.lines[0].get_ydata()[0])


@pytest.mark.parametrize(
    ("steps", "errors", "labels", "message"),
    [
        ([1e-3, -1e-2], [1, 2], None, "positive"),
        ([1e-3, 1e-2], [1, 2, 3], None, "errors has 3 values per curve but steps has 2"),
        ([1e-3, 1e-2], [[1, 2], [3, 4]], ["one"], "labels has 1 entries"),
    ],
)
def test_do_bad_error_vs_step_arguments_raise(steps, errors, labels, message):
    with pytest.raises(ValueError, match=message):
        plot_error_vs_step(steps, errors, labels=labels)


# ----------------------------------------------------------------------------- gradients
def test_does_gradient_magnitudes_draw_one_bar_per_layer_on_a_log_scale():
    grads = {"W1": np.full((3, 4), 1e-6), "W2": np.full(5, -1e-3), "W3": np.ones(2)}
    ax = plot_gradient_magnitudes(grads)
    assert ax.get_yscale() == "log" and len(ax.patches) == 3
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [1e-6, 1e-3, 1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["W1", "W2", "W3"]


def test_does_a_list_of_gradients_get_layer_names_and_norms():
    ax = plot_gradient_magnitudes([np.array([3.0, 4.0]), np.zeros(2)], stat="norm")
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [5.0, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer 1", "layer 2"]


@pytest.mark.parametrize(
    ("grads", "kwargs", "message"),
    [
        ({}, {}, "grads is empty"),
        (3.0, {}, "dict or a list"),
        ({"W": np.ones(2)}, {"stat": "median"}, 'stat must be "mean_abs" or "norm" or "max_abs"'),
        ({"W": np.array([1.0, np.nan])}, {}, "contains nan"),
    ],
)
def test_do_bad_gradient_arguments_raise(grads, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_gradient_magnitudes(grads, **kwargs)


# ----------------------------------------------------------------------------- digits
def _images(n):
    return np.random.default_rng(0).integers(0, 17, size=(n, 64)).astype(float)


def test_does_plot_digits_draw_one_image_per_digit_and_mark_mistakes():
    labels = np.arange(12) % 10
    preds = labels.copy()
    preds[3] = 8
    fig = plot_digits(_images(12), labels, predictions=preds, ncols=5)
    images = [a for a in fig.axes if any(isinstance(c, AxesImage) for c in a.get_children())]
    assert len(images) == 12 and len(fig.axes) == 15  # 3 rows of 5, three cells hidden
    titles = [a.get_title() for a in images]
    assert titles[3] == "3→8" and titles[4] == "4"


def test_does_plot_digits_accept_8x8_images_and_cap_the_count():
    fig = plot_digits(_images(30).reshape(30, 8, 8), np.zeros(30, int), max_images=7)
    assert sum(1 for a in fig.axes if a.images) == 7


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "message"),
    [
        (np.zeros((3, 10)), np.zeros(3, int), {}, r"images must have shape \(N, 64\)"),
        (np.zeros((3, 64)), np.zeros(2, int), {}, r"labels must have shape \(3,\)"),
        (np.zeros((3, 64)), np.array([0, 1, 10]), {}, "outside the valid range 0..9"),
        (np.zeros((3, 64)), np.zeros(3, int), {"ncols": 0}, "ncols must be an integer >= 1"),
    ],
)
def test_do_bad_digit_arguments_raise(images, labels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_digits(images, labels, **kwargs)


# ----------------------------------------------------------------------------- confusion matrix
def test_does_the_confusion_matrix_write_every_count():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 2])
    ax = plot_confusion_matrix(y_true, y_pred, 3)
    assert len(ax.texts) == 9
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert cells[(0, 0)] == "1" and cells[(0, 1)] == "1" and cells[(1, 1)] == "2"
    assert cells[(1, 2)] == "1" and cells[(2, 0)] == "0"
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert "66.7%" in ax.get_title()


@pytest.mark.parametrize(
    ("y_true", "y_pred", "n", "message"),
    [
        ([0, 1], [0, 1, 1], 2, r"y_pred must have shape \(2,\)"),
        ([0, 3], [0, 1], 3, "y_true holds label 3"),
        ([0, 1], [0, 1], 0, "n_classes must be an integer >= 1"),
        (0, [0], 2, r"y_true must have shape \(N,\)"),
    ],
)
def test_do_bad_confusion_arguments_raise(y_true, y_pred, n, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(y_true, y_pred, n)


def test_does_no_plot_call_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("plt.show() must not be called by bplib.plots")

    monkeypatch.setattr(plt, "show", fail)
    plot_history({"loss": [1.0, 0.5]})
    plot_confusion_matrix([0, 1], [1, 1], 2)
    plot_gradient_magnitudes([np.ones(2)])
    plot_error_vs_step([1e-3, 1e-2], [1e-5, 1e-4])
    plot_digits(_images(2), [0, 1])
    assert set(plots.__all__) >= {"plot_history", "plot_confusion_matrix"}
