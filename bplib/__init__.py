"""bplib: the course's reference library of layers, losses, optimizers and checks, in numpy.

The functional pairs follow one convention: ``*_forward(...) -> (out, cache)`` beside
``*_backward(dout, cache) -> gradients``, with CS231n's names and argument orders, so that
published test vectors run unchanged. Optimizers share ``update(w, dw, config) -> (next_w, config)``.

The flat namespace holds the numerical core; the modules that bring in matplotlib or ipywidgets
(``plots``, ``graph``, ``widgets``) and the model/trainer (``model``, ``train``) and ``datasets``
load on first use: ``from bplib import plots`` or ``bplib.datasets.load_digits()``.
"""

from __future__ import annotations

import importlib
from typing import Any

from bplib.conv import (
    conv_backward,
    conv_backward_naive,
    conv_forward,
    conv_forward_naive,
    conv_output_size,
    max_pool_backward,
    max_pool_backward_naive,
    max_pool_forward,
    max_pool_forward_naive,
)
from bplib.engine import Value
from bplib.gradcheck import (
    CheckError,
    GradientCheckError,
    assert_close,
    centered_difference,
    check_gradient,
    check_layer,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)
from bplib.layers import (
    affine_backward,
    affine_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from bplib.losses import (
    bce_with_logits_loss,
    mse_loss,
    softmax_cross_entropy_loss,
    softmax_loss,
    weighted_mse_loss,
)
from bplib.normalization import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from bplib.optim import adam, clip_grad_norm, rmsprop, sgd, sgd_momentum
from bplib.regularization import dropout_backward, dropout_forward, l2_penalty
from bplib.rnn import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

__version__ = "0.1.0"

_LAZY_MODULES = ("autograd", "datasets", "graph", "model", "plots", "train", "widgets")

__all__ = [
    "CheckError",
    "GradientCheckError",
    "Value",
    "adam",
    "affine_backward",
    "affine_forward",
    "assert_close",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "bce_with_logits_loss",
    "centered_difference",
    "check_gradient",
    "check_layer",
    "clip_grad_norm",
    "conv_backward",
    "conv_backward_naive",
    "conv_forward",
    "conv_forward_naive",
    "conv_output_size",
    "dropout_backward",
    "dropout_forward",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "l2_penalty",
    "layernorm_backward",
    "layernorm_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "max_pool_backward",
    "max_pool_backward_naive",
    "max_pool_forward",
    "max_pool_forward_naive",
    "mse_loss",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
    "relu_backward",
    "relu_forward",
    "rmsprop",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sgd",
    "sgd_momentum",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_cross_entropy_loss",
    "softmax_loss",
    "tanh_backward",
    "tanh_forward",
    "weighted_mse_loss",
    *_LAZY_MODULES,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"bplib.{name}")
    raise AttributeError(f"module 'bplib' has no attribute {name!r}")
