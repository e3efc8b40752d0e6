"""Known mistakes of the activations (notebook 6; the ReLU again in notebooks 8 and 16).

Inputs, as the graded functions get them: forward ``(x)`` (leaky ReLU ``(x, alpha)``, ``alpha``
``None`` when the default is used); backward ``(x, dout)`` for ReLU, ``(x, alpha, dout)`` for
leaky ReLU, ``(out, dout)`` for sigmoid and tanh (their cache is the output). The ``*_CACHE``
tables hold mistaken caches of a forward pass, for its input ``(x)``. A mistake whose result
would be a graded function's right answer for some input (the sigmoid in place of tanh, a leaky
ReLU of slope 0.01, ReLU's mask applied to ``dout``) is a ``relation``, so the catalogue never
computes one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Mistake, negated, same_as

__all__ = [
    "LEAKY_RELU_BACKWARD",
    "LEAKY_RELU_FORWARD",
    "RELU_BACKWARD",
    "RELU_FORWARD",
    "SIGMOID_BACKWARD",
    "SIGMOID_CACHE",
    "SIGMOID_FORWARD",
    "TANH_BACKWARD",
    "TANH_CACHE",
    "TANH_FORWARD",
]

DEFAULT_ALPHA = 0.01




def _overflowed(got: Any, want: Any, x: Any, *_: Any) -> bool:
    """A relation: nan or inf where the right answer is finite, and only where the input ``x``
    is so large (hundreds) that an exp of it overflows."""
    got, x = np.asarray(got, dtype=np.float64), np.asarray(x, dtype=np.float64)
    bad = ~np.isfinite(got)
    return (got.shape == x.shape and bool(np.any(bad)) and bool(np.all(np.isfinite(want)))
            and bool(np.all(np.abs(x[bad]) > 300)))


def _masked_by_dout(got: Any, want: Any, x: Any, dout: Any) -> bool:
    """A relation: dout kept where dout > 0 (told apart from dout itself only if some dout < 0)."""
    dout = np.asarray(dout, dtype=np.float64)
    return bool(np.any(dout < 0)) and same_as(lambda: np.where(dout > 0, dout, 0.0))(got, want)


RELU_FORWARD = [
    Mistake("min", "min(0, x): ReLU keeps the positive part, max(0, x)",
            lambda x: np.minimum(x, 0.0)),
    Mistake("abs", "|x|: negative inputs become 0, not -x", lambda x: np.abs(x)),
    Mistake("identity", "x itself: negative inputs must become 0", lambda x: x),
    Mistake("leaky", "a leaky ReLU (0.01·x for x < 0): the ReLU is exactly 0 there",
            relation=same_as(lambda x: np.where(x > 0, x, 0.01 * x))),
]

RELU_BACKWARD = [
    Mistake("times output", "dout times the OUTPUT max(0, x); ReLU's local derivative is the 0/1 "
            "mask (x > 0), so dx = dout where x > 0 and 0 elsewhere",
            lambda x, dout: dout * np.maximum(x, 0.0)),
    Mistake("mask on dout", "dout masked where dout > 0; the mask comes from the input x: where "
            "x > 0", relation=_masked_by_dout),
    Mistake("mask inverted", "the mask inverted: the gradient passes where x > 0, and is 0 where "
            "x < 0", lambda x, dout: np.where(x < 0, dout, 0.0)),
    Mistake("passes at 0", "dout passed on where x == 0 exactly: at the kink the convention is "
            "0, so the mask is x > 0 (not x >= 0)",
            lambda x, dout: np.where(x >= 0, dout, 0.0) if np.any(x == 0) else None),
    Mistake("no mask", "dout unchanged: zero it where the forward input x was <= 0",
            lambda x, dout: dout),
    Mistake("times input", "dout·x; the local derivative of max(0, x) is 1 where x > 0 and 0 "
            "elsewhere, not x", lambda x, dout: dout * x),
]


def _alpha(alpha: float | None) -> float:
    return DEFAULT_ALPHA if alpha is None else alpha


LEAKY_RELU_FORWARD = [
    Mistake("slope on positive side", "alpha applied to the positive side: x > 0 passes "
            "unchanged, x < 0 is scaled by alpha",
            lambda x, alpha: np.where(x > 0, _alpha(alpha) * x, x)),
    Mistake("relu", "ReLU: the slope alpha is missing, x < 0 gives alpha·x, not 0",
            relation=same_as(lambda x, alpha: np.maximum(x, 0.0))),
    Mistake("default alpha", "computed with alpha = 0.01, not the alpha passed in: use the "
            "argument", relation=same_as(lambda x, alpha: np.where(x > 0, x, 0.01 * x)
                                         if alpha is not None else None)),
    Mistake("other default", "computed with another default slope: the default is alpha = 0.01 "
            "(write alpha=0.01 in the signature)",
            relation=same_as(lambda x, alpha: np.where(x > 0, x, 0.1 * x) if alpha is None
                             else None)),
]

LEAKY_RELU_BACKWARD = [
    Mistake("relu mask", "0 where x < 0, as for ReLU: there the slope is alpha, so dx = "
            "alpha·dout", relation=same_as(lambda x, alpha, dout: np.where(x > 0, dout, 0.0))),
    Mistake("alpha times x", "alpha·x where x < 0: the local derivative there is the slope alpha, "
            "and it multiplies dout", lambda x, alpha, dout: np.where(x > 0, dout, alpha * x)),
    Mistake("slope on positive side", "the slope alpha applied where x > 0; there the slope is 1",
            lambda x, alpha, dout: np.where(x > 0, alpha * dout, dout)),
    Mistake("default slope", "computed with the slope 0.01, not the alpha in the cache",
            relation=same_as(lambda x, alpha, dout: np.where(x > 0, dout, 0.01 * dout))),
    Mistake("1 at 0", "the slope 1 used where x == 0 exactly: the convention at the kink is the "
            "slope of the left side, alpha (the mask is x > 0)",
            lambda x, alpha, dout: np.where(x >= 0, dout, alpha * dout) if np.any(x == 0) else None),
]

SIGMOID_FORWARD = [
    Mistake("exponent +x", "1 / (1 + exp(+x)) = σ(-x): the exponent is -x",
            lambda x: 1.0 / (1.0 + np.exp(x))),
    Mistake("tanh", "tanh(x); the sigmoid is 1 / (1 + exp(-x))", relation=same_as(np.tanh)),
    Mistake("exp", "exp(-x); the sigmoid is 1 / (1 + exp(-x))", lambda x: np.exp(-x)),
    Mistake("overflow", "nan or inf where |x| is large: exp of a large number overflows to inf, "
            "and exp(x) / (1 + exp(x)) gives inf / inf = nan. Exponentiate only -|x|: "
            "e = np.exp(-np.abs(x)), then 1 / (1 + e) where x >= 0 and e / (1 + e) elsewhere",
            relation=_overflowed),
]

TANH_FORWARD = [
    Mistake("2 sigma(x) - 1", "2σ(x) - 1; tanh(x) is 2σ(2x) - 1",
            lambda x: 2.0 / (1.0 + np.exp(-x)) - 1.0),
    Mistake("sigmoid", "σ(x), the sigmoid; tanh(x) = (e^x - e^-x) / (e^x + e^-x)",
            relation=same_as(lambda x: 0.5 + 0.5 * np.tanh(0.5 * x))),
    Mistake("sign flipped", "tanh(-x): the sign is flipped", relation=negated),
    Mistake("overflow", "nan where |x| is large: exp(x) and exp(-x) overflow to inf there, and "
            "inf / inf is nan; np.tanh is finite for every x", relation=_overflowed),
]

SIGMOID_CACHE = [
    Mistake("input", "the input x; cache the OUTPUT out = σ(x): sigmoid_backward computes the "
            "slope out·(1 - out) from it, and given x the same formula silently computes a "
            "wrong number", lambda x: x),
]

TANH_CACHE = [
    Mistake("input", "the input x; cache the OUTPUT out = tanh(x): tanh_backward computes the "
            "slope 1 - out² from it, and given x the same formula silently computes a wrong "
            "number", lambda x: x),
]

SIGMOID_BACKWARD = [
    Mistake("cache as input", "dout·σ(c)·(1 - σ(c)) with c the cache: the sigmoid applied again, "
            "as if the cache were the input x. The cache IS the output out = σ(x): dx = "
            "dout·out·(1 - out)",
            relation=same_as(lambda out, dout: dout * (0.25 - 0.25 * np.tanh(0.5 * out) ** 2))),
    Mistake("tanh's derivative", "dout·(1 - out²), the derivative of tanh; the sigmoid's is "
            "out·(1 - out)", relation=same_as(lambda out, dout: dout * (1 - out**2))),
    Mistake("missing (1 - out)", "dout·out, missing the factor (1 - out)",
            lambda out, dout: dout * out),
]

TANH_BACKWARD = [
    Mistake("cache as input", "dout·(1 - tanh(c)²) with c the cache: tanh applied again, as if "
            "the cache were the input x. The cache IS the output out = tanh(x): dx = "
            "dout·(1 - out²)", relation=same_as(lambda out, dout: dout * (1 - np.tanh(out) ** 2))),
    Mistake("missing square", "dout·(1 - out), missing the square: tanh'(x) = 1 - tanh(x)²",
            lambda out, dout: dout * (1 - out)),
    Mistake("sigmoid's derivative", "dout·out·(1 - out), the sigmoid's derivative; tanh's is "
            "1 - out²", relation=same_as(lambda out, dout: dout * out * (1 - out))),
    Mistake("square misplaced", "dout·(1 - out)², the square in the wrong place: 1 - out², not "
            "(1 - out)²", lambda out, dout: dout * (1 - out) ** 2),
]
