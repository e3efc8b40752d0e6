"""What of bplib each notebook gives the learner while grading: an explicit allow-list.

While a notebook is graded, every bplib function and class refuses to run in the learner's
process (:func:`autograder.sandbox._neuter`) except the documented helpers that notebook's
set-up cell imports for the learner, listed here, and the bplib code they call themselves. The
functions the learner writes are refused even then, whoever calls them. So an answer has no
route to a correct result through bplib: not the graded function, and not a relative that
computes the same thing (a 1×1 convolution for an affine layer, ``leaky_relu`` with slope 0 for
ReLU).

A test (``tests/test_sandbox_bplib.py``) proves each list is exactly what the set-up cell
imports, so a new import there must be added here on purpose. A notebook missing from this table
gets no bplib at all.
"""

from __future__ import annotations

__all__ = ["LEARNER_BPLIB", "learner_bplib"]

_GRADCHECK = "bplib.gradcheck."
_DIGITS = ("bplib.datasets.load_digits", "bplib.datasets.train_test_split")
_LAYERS = tuple(
    f"bplib.layers.{name}" for name in ("affine_forward", "affine_backward", "relu_forward", "relu_backward")
)

LEARNER_BPLIB: dict[str, tuple[str, ...]] = {
    "01-derivatives": ("bplib", "bplib.plots.plot_error_vs_step"),
    "02-chain-rule": (
        "bplib", "bplib.engine.Value", _GRADCHECK + "centered_difference", "bplib.graph.draw_graph",
        "bplib.widgets.step_through_graph",
    ),
    "03-scalar-autodiff": (
        _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError",
        _GRADCHECK + "centered_difference", _GRADCHECK + "check_gradient", "bplib.graph.draw_graph",
        "bplib.widgets.step_through_graph",
    ),
    "04-single-neuron": (
        "bplib.datasets.logic_gate", _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError",
        _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient", "bplib.model.Affine",
        "bplib.model.Sequential", "bplib.model.Tanh", "bplib.plots.plot_decision_boundary",
        "bplib.train.fit",
    ),
    "05-linear-layer": (
        _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError", _GRADCHECK + "assert_close",
        _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient",
        _GRADCHECK + "numerical_gradient_array", _GRADCHECK + "rel_error",
    ),
    "06-activations": (
        _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError", _GRADCHECK + "assert_close",
        _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient_array",
        "bplib.layers.affine_backward", "bplib.layers.affine_forward",
        "bplib.plots.plot_gradient_magnitudes",
    ),
    "07-losses": (
        "bplib.layers.affine_forward", "bplib.datasets.load_digits", _GRADCHECK + "CheckError",
        _GRADCHECK + "assert_close", _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient",
    ),
    "08-multilayer-network": (
        *_LAYERS, "bplib.losses.softmax_cross_entropy_loss", "bplib.datasets.logic_gate",
        _GRADCHECK + "assert_close", _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient",
        _GRADCHECK + "rel_error", "bplib.plots.plot_decision_boundary",
    ),
    "09-training-loop": (
        *_DIGITS, _GRADCHECK + "CheckError", _GRADCHECK + "assert_close", *_LAYERS,
        "bplib.losses.softmax_cross_entropy_loss", "bplib.widgets.learning_rate_explorer",
    ),
    "10-optimizers": (
        *_DIGITS, _GRADCHECK + "CheckError", *_LAYERS, "bplib.losses.softmax_cross_entropy_loss",
    ),
    "11-regularization": (
        *_DIGITS, _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError",
        _GRADCHECK + "assert_close", _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient",
        _GRADCHECK + "numerical_gradient_array", _GRADCHECK + "rel_error", *_LAYERS,
        "bplib.losses.softmax_cross_entropy_loss", "bplib.optim.adam",
    ),
    "12-normalization": (
        *_DIGITS, _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError",
        _GRADCHECK + "assert_close", _GRADCHECK + "check_gradient", _GRADCHECK + "check_layer",
        _GRADCHECK + "numerical_gradient_array", _GRADCHECK + "rel_error",
        "bplib.layers.affine_backward", "bplib.layers.affine_forward", "bplib.layers.tanh_backward",
        "bplib.layers.tanh_forward", "bplib.losses.softmax_cross_entropy_loss",
        "bplib.optim.sgd_momentum",
    ),
    "13-convolution": (
        *_DIGITS, _GRADCHECK + "CheckError", _GRADCHECK + "assert_close",
        _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient_array", *_LAYERS,
        "bplib.losses.softmax_cross_entropy_loss", "bplib.optim.adam",
    ),
    "14-recurrent": (
        _GRADCHECK + "CheckError", _GRADCHECK + "GradientCheckError", _GRADCHECK + "assert_close",
        _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient_array",
        "bplib.layers.affine_backward", "bplib.layers.affine_forward",
        "bplib.losses.softmax_cross_entropy_loss", "bplib.optim.adam",
    ),
    # The layers notebook 15 compares the learner's engine with are imported after the answers.
    "15-autograd": (
        _GRADCHECK + "CheckError", _GRADCHECK + "assert_close", _GRADCHECK + "numerical_gradient_array",
        _GRADCHECK + "rel_error",
    ),
    "16-capstone": (
        *_DIGITS, _GRADCHECK + "CheckError", _GRADCHECK + "assert_close",
        _GRADCHECK + "check_gradient", _GRADCHECK + "numerical_gradient",
        _GRADCHECK + "numerical_gradient_array", "bplib.plots.plot_confusion_matrix",
        "bplib.plots.plot_digits",
    ),
}  # fmt: skip


def learner_bplib(assignment: str) -> tuple[str, ...]:
    """The bplib names the learner may use while ``assignment`` is graded (none if unlisted)."""
    return LEARNER_BPLIB.get(assignment, ())
