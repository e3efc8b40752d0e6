"""Layer objects and a Sequential container, so models and trainers never handle caches.

Dimension legend: N batch, D in features, M out features, C channels, F filters,
H/W spatial, HH/WW kernel size.

Each :class:`Layer` wraps one functional pair ``*_forward(...) -> (out, cache)`` /
``*_backward(dout, cache) -> grads`` from the topic modules. ``forward`` keeps the cache on the
object, ``backward`` consumes it and stores the parameter gradients in ``layer.grads`` under the
same keys as ``layer.params``. The arithmetic lives in the functional pairs only, so a wrapper can
never disagree with the function the learner writes in a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from bplib import conv as _conv
from bplib import layers as _layers
from bplib import normalization as _norm
from bplib import regularization as _reg
from bplib._checks import as_float_array, check_choice, check_ndim

__all__ = [
    "Affine",
    "BatchNorm",
    "Conv",
    "Dropout",
    "Flatten",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "MaxPool",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "predicted_classes",
]

_MODES = ("train", "test")
_NO_CACHE = object()  # not None: a layer may legitimately cache None


def _init_std(init: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the initial weights: He for ReLU nets, Xavier/Glorot for tanh."""
    check_choice(init, ("he", "xavier"), "init")
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    return math.sqrt(2.0 / (fan_in + fan_out))


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Layer:
    """Base class: ``forward(x, mode) -> out`` then ``backward(dout) -> dx``.

    Attributes:
        params: name -> array, the trainable parameters (empty for parameter-free layers).
        grads: name -> array, filled by ``backward`` with the same keys and shapes as ``params``.
        decay: names of the parameters that weight decay applies to (weights, not biases).

    Subclasses implement ``_forward(x, mode) -> (out, cache)`` and ``_backward(dout, cache) ->
    (dx, grads)``; the base class keeps the cache, so ``backward`` always pairs with the most
    recent ``forward``. A layer whose ``dx`` is costly may also implement
    ``_param_grads(dout, cache) -> grads``, used by ``backward(dout, input_grad=False)``; a
    subclass that overrides ``_backward`` of such a layer must override it too.
    """

    decay: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache: Any = _NO_CACHE

    def forward(self, x: Any, mode: str = "train") -> np.ndarray:
        """Run the layer on ``x`` and remember what ``backward`` needs."""
        check_choice(mode, _MODES, "mode")
        out, self._cache = self._forward(as_float_array(x, "x"), mode)
        return out

    def backward(self, dout: Any, input_grad: bool = True) -> np.ndarray | None:
        """Gradient of the loss with respect to the last ``forward``'s input; fills ``grads``.

        ``dout`` has the shape of the forward output. ``input_grad=False`` fills ``grads`` only
        and returns ``None``: the first layer of a model, whose input is the data, needs no dx.
        """
        if self._cache is _NO_CACHE:
            raise RuntimeError(f"{self!r}: backward called before forward")
        dout = as_float_array(dout, "dout")
        if input_grad:
            dx, self.grads = self._backward(dout, self._cache)
            return dx
        self.grads = self._param_grads(dout, self._cache)
        return None

    def __call__(self, x: Any, mode: str = "train") -> np.ndarray:
        return self.forward(x, mode)

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    def _param_grads(self, dout: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        """The parameter gradients alone; by default ``_backward``'s, its dx thrown away."""
        return self._backward(dout, cache)[1] if self.params else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Affine(Layer):
    """Fully connected layer ``out = x @ w + b``: x (N, D) -> out (N, M); w (D, M), b (M,).

    Like ``affine_forward``, an input (N, d1, ..., dk) is flattened to D = d1*...*dk features.

    ``init="he"`` draws w with std sqrt(2/D) (for ReLU nets), ``"xavier"`` with
    sqrt(2/(D+M)) (for tanh/sigmoid nets); b starts at zero.
    """

    decay = ("w",)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        seed: int | None = None,
        init: str = "he",
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        std = _init_std(init, self.in_features, self.out_features)
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((self.in_features, self.out_features)) * std
        self.params = {"w": w.astype(dtype), "b": np.zeros(self.out_features, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        if x.ndim < 2:
            raise ValueError(f"x must have shape (N, D) with a batch axis first, got {x.shape}")
        features = math.prod(x.shape[1:])  # like affine_forward, (N, d1, d2) counts d1*d2
        if features != self.in_features:
            raise ValueError(
                f"x has shape {tuple(x.shape)} ({features} features per example) but "
                f"{self!r} expects {self.in_features} input features"
            )
        return _layers.affine_forward(x, self.params["w"], self.params["b"])

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        dx, dw, db = _layers.affine_backward(dout, cache)
        return dx, {"w": dw, "b": db}

    def _param_grads(self, dout: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        _, dw, db = _layers.affine_backward(dout, cache, input_grad=False)
        return {"w": dw, "b": db}

    def __repr__(self) -> str:
        return f"Affine({self.in_features} -> {self.out_features})"


class _Elementwise(Layer):
    """An activation without parameters: out has the shape of x."""

    _fwd: Any = None
    _bwd: Any = None

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        return type(self)._fwd(x)

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return type(self)._bwd(dout, cache), {}


class ReLU(_Elementwise):
    """``max(0, x)`` elementwise; any shape."""

    _fwd = _layers.relu_forward
    _bwd = _layers.relu_backward


class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))`` elementwise; any shape."""

    _fwd = _layers.sigmoid_forward
    _bwd = _layers.sigmoid_backward


class Tanh(_Elementwise):
    """``tanh(x)`` elementwise; any shape."""

    _fwd = _layers.tanh_forward
    _bwd = _layers.tanh_backward


class LeakyReLU(Layer):
    """``x if x > 0 else alpha * x`` elementwise; any shape."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        return _layers.leaky_relu_forward(x, self.alpha)

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return _layers.leaky_relu_backward(dout, cache), {}

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha:g})"


class Dropout(Layer):
    """Inverted dropout: in train mode zero each entry with probability ``p`` and scale the rest
    by ``1/(1-p)``; identity in test mode. Any shape.

    ``seed`` seeds a generator that draws a fresh mask seed for every training forward, so the
    masks differ between steps but a run is reproducible.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__()
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p (the drop probability) must be in [0, 1), got {p}")
        self.p = p
        self._rng = np.random.default_rng(seed)

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        param: dict[str, Any] = {"p": self.p, "mode": mode}
        if mode == "train":
            param["seed"] = int(self._rng.integers(2**31 - 1))
        return _reg.dropout_forward(x, param)

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return _reg.dropout_backward(dout, cache), {}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"


class _Normalization(Layer):
    """Shared by BatchNorm and LayerNorm: x (N, D) -> out (N, D) with gamma, beta (D,)."""

    def __init__(self, D: int) -> None:
        super().__init__()
        self.D = _positive_int(D, "D")
        self.params = {"gamma": np.ones(self.D), "beta": np.zeros(self.D)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _check(self, x: np.ndarray) -> None:
        check_ndim(x, 2, "x", "(N, D)")
        if x.shape[1] != self.D:
            raise ValueError(f"x has shape {tuple(x.shape)} but {self!r} expects {self.D} features")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.D})"


class BatchNorm(_Normalization):
    """Batch normalization over the batch axis: x (N, D) -> out (N, D); gamma, beta (D,).

    Train mode normalizes with the batch statistics and updates running averages; test mode
    uses the running averages. The running statistics live in ``self.bn_param``.
    """

    def __init__(self, D: int, eps: float = 1e-5, momentum: float = 0.9) -> None:
        super().__init__(D)
        self.bn_param: dict[str, Any] = {"eps": eps, "momentum": momentum}

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        self._check(x)
        param = dict(self.bn_param, mode=mode)
        out, cache = _norm.batchnorm_forward(x, self.params["gamma"], self.params["beta"], param)
        # The functional form records the updated running statistics in the dict it was given.
        self.bn_param.update({k: v for k, v in param.items() if k.startswith("running_")})
        return out, cache

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        dx, dgamma, dbeta = _norm.batchnorm_backward(dout, cache)
        return dx, {"gamma": dgamma, "beta": dbeta}


class LayerNorm(_Normalization):
    """Layer normalization over the feature axis: x (N, D) -> out (N, D); gamma, beta (D,).

    Train and test mode behave the same (no running statistics).
    """

    def __init__(self, D: int, eps: float = 1e-5) -> None:
        super().__init__(D)
        self.eps = eps

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        self._check(x)
        return _norm.layernorm_forward(x, self.params["gamma"], self.params["beta"],
                                       {"eps": self.eps})

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        dx, dgamma, dbeta = _norm.layernorm_backward(dout, cache)
        return dx, {"gamma": dgamma, "beta": dbeta}


class Conv(Layer):
    """2-D convolution: x (N, C, H, W) -> out (N, F, H', W'); w (F, C, HH, WW), b (F,).

    ``H' = 1 + (H + 2*pad - HH) // stride`` (same for W'). Weights use He initialisation
    (fan-in ``C*HH*WW``), biases start at zero.
    """

    decay = ("w",)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        pad: int = 0,
        seed: int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel = _positive_int(kernel, "kernel")
        self.stride = _positive_int(stride, "stride")
        if isinstance(pad, bool) or not isinstance(pad, int | np.integer) or pad < 0:
            raise ValueError(f"pad must be a non-negative integer, got {pad!r}")
        self.pad = int(pad)
        k = self.kernel
        rng = np.random.default_rng(seed)
        std = math.sqrt(2.0 / (self.in_channels * k * k))
        w = rng.standard_normal((self.out_channels, self.in_channels, k, k)) * std
        self.params = {"w": w.astype(dtype), "b": np.zeros(self.out_channels, dtype=dtype)}
        self.grads = {k_: np.zeros_like(v) for k_, v in self.params.items()}

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        check_ndim(x, 4, "x", "(N, C, H, W)")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x has shape {tuple(x.shape)} but {self!r} expects {self.in_channels} "
                "input channels"
            )
        conv_param = {"stride": self.stride, "pad": self.pad}
        return _conv.conv_forward(x, self.params["w"], self.params["b"], conv_param)

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        dx, dw, db = _conv.conv_backward(dout, cache)
        return dx, {"w": dw, "b": db}

    def _param_grads(self, dout: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        _, dw, db = _conv.conv_backward(dout, cache, input_grad=False)
        return {"w": dw, "b": db}

    def __repr__(self) -> str:
        return (
            f"Conv({self.in_channels} -> {self.out_channels}, kernel={self.kernel}, "
            f"stride={self.stride}, pad={self.pad})"
        )


class MaxPool(Layer):
    """Max pooling over ``size x size`` windows: x (N, C, H, W) -> out (N, C, H', W').

    ``H' = 1 + (H - size) // stride``; ``stride`` defaults to ``size`` (non-overlapping).
    """

    def __init__(self, size: int = 2, stride: int | None = None) -> None:
        super().__init__()
        self.size = _positive_int(size, "size")
        self.stride = self.size if stride is None else _positive_int(stride, "stride")

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        check_ndim(x, 4, "x", "(N, C, H, W)")
        pool_param = {"pool_height": self.size, "pool_width": self.size, "stride": self.stride}
        return _conv.max_pool_forward(x, pool_param)

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return _conv.max_pool_backward(dout, cache), {}

    def __repr__(self) -> str:
        return f"MaxPool(size={self.size}, stride={self.stride})"


class Flatten(Layer):
    """Reshape x (N, d1, d2, ...) to (N, d1*d2*...), e.g. between a conv stack and Affine."""

    def _forward(self, x: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        if x.ndim < 1:
            raise ValueError(f"x must have a batch axis, got a scalar of shape {tuple(x.shape)}")
        return x.reshape(x.shape[0], -1), x.shape

    def _backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return dout.reshape(cache), {}


def predicted_classes(scores: Any, threshold: float = 0.0) -> np.ndarray:
    """Class labels (N,) from outputs: the argmax of scores (N, C) when C > 1, else the
    indicator ``output > threshold`` for one output per row, (N,) or (N, 1).
    """
    scores = np.asarray(scores)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return np.argmax(scores, axis=1)
    return (scores.reshape(scores.shape[0]) > threshold).astype(np.int64)


class Sequential:
    """Layers applied one after another; ``backward`` runs them in reverse.

    ``forward(x, mode)`` returns the last layer's output (scores, not probabilities: the loss
    applies softmax/sigmoid). A ``ValueError`` raised inside a layer is re-raised naming the
    layer's index, e.g. ``layer 2 (Affine(64 -> 10)): x has shape (8, 32) but ...``.
    """

    def __init__(self, *layers: Layer) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential expects Layer objects; argument {i} is {type(layer).__name__}"
                    + (" (a class: did you forget the parentheses?)" if isinstance(layer, type)
                       else "")
                )
        self.layers: list[Layer] = list(layers)

    def forward(self, x: Any, mode: str = "train") -> np.ndarray:
        """x (N, ...) -> the last layer's output, e.g. scores (N, C)."""
        check_choice(mode, _MODES, "mode")
        out = as_float_array(x, "x")
        for i, layer in enumerate(self.layers):
            try:
                out = layer.forward(out, mode)
            except ValueError as err:
                raise ValueError(f"layer {i} ({layer!r}): {err}") from err
        return out

    __call__ = forward

    def backward(self, dout: Any, input_grad: bool = True) -> np.ndarray | None:
        """dout has the shape of the last forward's output; returns dx, the input's gradient.

        ``input_grad=False`` returns ``None`` instead and spares the first layer its dx, which a
        training step never uses (for an Affine or Conv first layer it costs as much as dw).
        """
        for layer in reversed(self.layers[1:]):
            dout = layer.backward(dout)
        return self.layers[0].backward(dout, input_grad) if self.layers else dout

    def parameters(self) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
        """Yield ``(layer_name, param_name, array, grad)`` for every parameter.

        ``layer_name`` is ``"<index>.<class>"``, e.g. ``"0.Affine"``. ``array`` is the live
        parameter (update it in place); ``grad`` is from the most recent ``backward``.
        """
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                yield f"{i}.{type(layer).__name__}", name, value, layer.grads.get(name)

    def num_parameters(self) -> int:
        """Total count of trainable numbers."""
        return sum(p.size for layer in self.layers for p in layer.params.values())

    def predict(self, x: Any) -> np.ndarray:
        """Class predictions (N,) from a forward pass in test mode.

        Several outputs per row: the argmax. One output per row (binary): 1 where the output is
        above 0.5 after a final Sigmoid layer, else where the logit is above 0.
        """
        return predicted_classes(self.forward(x, mode="test"), self.binary_threshold)

    @property
    def binary_threshold(self) -> float:
        """Where a single output splits class 0 from 1: 0.5 after a Sigmoid, else 0 (a logit)."""
        return 0.5 if self.layers and isinstance(self.layers[-1], Sigmoid) else 0.0

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = ["Sequential("]
        for i, layer in enumerate(self.layers):
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in layer.params.items())
            lines.append(f"  ({i}) {layer!r}" + (f"    [{shapes}]" if shapes else ""))
        lines.append(f")  # {self.num_parameters():,} parameters")
        return "\n".join(lines)
