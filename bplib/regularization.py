"""Regularization: inverted dropout (a forward/backward pair) and the L2 weight penalty.

Dimension legend: N batch, D features; dropout works on inputs of any shape.
Derivations: notebook 11 (regularization).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bplib._checks import as_float_array, check_choice, check_same_shape, require_keys

__all__ = ["dropout_backward", "dropout_forward", "l2_penalty"]

_MODES = ("train", "test")


def dropout_forward(
    x: Any, dropout_param: dict[str, Any]
) -> tuple[np.ndarray, tuple[dict[str, Any], np.ndarray | None]]:
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest.

    Survivors are divided by the keep probability ``1 - p`` during training, so the expected
    value of every unit is unchanged and test mode is the plain identity (nothing to rescale).

    Args:
        x: input of any shape, e.g. (N, D).
        dropout_param: dictionary with keys
            - ``"p"`` (required): the probability of DROPPING a unit, in [0, 1). This follows
              PyTorch's ``nn.Dropout(p)``. Beware: some CS231n releases use ``p`` as the
              probability of KEEPING a unit; here ``p = 0.2`` drops about 20% of the units.
            - ``"mode"`` (required): ``"train"`` or ``"test"``.
            - ``"seed"`` (optional): when given (and not None), the mask is drawn from
              ``np.random.default_rng(seed)``, so the same seed gives the same mask. Without it
              the mask comes from numpy's global generator (``np.random.seed`` controls it).

    Returns:
        out: same shape as ``x``.
        cache: ``(dropout_param, mask)`` -- a copy of ``dropout_param`` and, in train mode, the
            scaled mask of the same shape as ``x`` (entries 0 or ``1 / (1 - p)``); ``None`` in
            test mode.

    Raises:
        ValueError: a missing key, ``p`` outside [0, 1), or a mode other than train/test.
    """
    x = as_float_array(x, "x")
    require_keys(dropout_param, ("p", "mode"), "dropout_param")
    mode = dropout_param["mode"]
    check_choice(mode, _MODES, 'dropout_param["mode"]')
    p = dropout_param["p"]
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f'dropout_param["p"] must be a number in [0, 1), got {p!r}')
    if not 0 <= p < 1:
        raise ValueError(
            f'dropout_param["p"] is the probability of dropping a unit and must be in [0, 1), '
            f"got {p!r}" + (" (p = 1 would drop every unit)" if p == 1 else "")
        )
    # Copy so that later edits to the caller's dict cannot change what backward sees.
    param = dict(dropout_param)
    if mode == "test":
        return x.copy(), (param, None)
    seed = dropout_param.get("seed")
    if seed is not None:
        uniform = np.random.default_rng(seed).random(x.shape)
    else:
        # The global generator on purpose: a notebook's np.random.seed(...) then fixes the masks.
        uniform = np.random.random(x.shape)  # noqa: NPY002
    mask = (uniform >= p) / (1.0 - p)
    return x * mask, (param, mask)


def dropout_backward(
    dout: Any, cache: tuple[dict[str, Any], np.ndarray | None]
) -> np.ndarray:
    """Backward pass of :func:`dropout_forward`.

    Args:
        dout: upstream gradient, same shape as ``x``.
        cache: ``(dropout_param, mask)`` from the forward pass.

    Returns:
        dx: same shape as ``x``: ``dout * mask`` in train mode (dropped units get no gradient,
        kept ones are scaled by ``1 / (1 - p)`` just as in the forward pass); ``dout`` in test
        mode.
    """
    dropout_param, mask = cache
    dout = as_float_array(dout, "dout")
    if dropout_param["mode"] == "test":
        return dout.copy()
    check_same_shape(dout, mask, "dout", "out")
    return dout * mask


def l2_penalty(
    weights: Any | Sequence[Any], reg: float
) -> tuple[float, np.ndarray | list[np.ndarray]]:
    """L2 weight penalty ``loss = 0.5 * reg * sum(w**2)`` and its gradient ``reg * w``.

    The factor 0.5 is a convention (CS231n's as well): it cancels the 2 from differentiating
    ``w**2``, so the gradient -- the "weight decay" added to each ``dw`` -- is exactly
    ``reg * w``. Without the 0.5 the same ``reg`` would decay weights twice as fast.

    Args:
        weights: one weight array of any shape (e.g. (D, M)), or a list/tuple of them; the
            penalty sums over all of them. Biases are usually left out.
        reg: regularization strength, a finite number >= 0.

    Returns:
        loss: the penalty, a Python float.
        grads: ``reg * w`` with the shape of ``w`` -- one array if ``weights`` was one array,
            otherwise a list in the same order as ``weights``.
    """
    try:
        reg = float(reg)
    except (TypeError, ValueError):
        raise ValueError(f"reg must be a number >= 0, got {reg!r}") from None
    if not (np.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    single = not isinstance(weights, (list, tuple))
    arrays = [weights] if single else list(weights)
    arrays = [
        as_float_array(w, "weights" if single else f"weights[{i}]") for i, w in enumerate(arrays)
    ]
    loss = 0.5 * reg * sum(float(np.sum(w * w)) for w in arrays)
    grads = [reg * w for w in arrays]
    return loss, grads[0] if single else grads
