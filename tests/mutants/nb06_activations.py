"""Mutants and alternatives of notebook 06 (activations): ReLU, leaky ReLU, sigmoid and tanh
forward/backward pairs.

Each mutant is a mistake learners make with activations (a mask on the wrong array, a slope from
the input instead of the output, an overflowing exponential, a forgotten ``dout``); ``loses``
lists every test cell it must fail, and ``explains`` a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "06-activations"


def _head(signature: str, doc: str) -> str:
    return f'def {signature}:\n    """{doc}"""\n'


_RF = _head("relu_forward(x)", "out = max(0, x); cache x.")
_RB = _head("relu_backward(dout, cache)", "Backward pass of relu_forward; cache = x.") + "    x = cache\n"
_LF = _head("leaky_relu_forward(x, alpha=0.01)", "Leaky ReLU; cache (x, alpha).")
_LB = _head("leaky_relu_backward(dout, cache)", "Backward pass; cache = (x, alpha).") + (
    "    x, alpha = cache\n"
)
_SF = _head("sigmoid_forward(x)", "Logistic sigmoid; cache = out.")
_SB = _head("sigmoid_backward(dout, cache)", "Backward pass; cache = out.") + "    out = cache\n"
_TF = _head("tanh_forward(x)", "Hyperbolic tangent; cache = out.")
_TB = _head("tanh_backward(dout, cache)", "Backward pass; cache = out.") + "    out = cache\n"

MUTANTS = [
    # ----------------------------------------------------------------- relu_forward
    Mutant(
        cell="relu_forward",
        name="min instead of max",
        source=_RF + "    return np.minimum(x, 0.0), x\n",
        loses=["test_relu_forward_values"],
        explains="min(0, x)",
    ),
    Mutant(
        cell="relu_forward",
        name="zeroes the negative entries of x in place",
        source=_RF + "    x[x < 0] = 0.0\n    return x, x\n",
        loses=["test_relu_forward_values"],
        explains="in place",
    ),
    Mutant(
        cell="relu_forward",
        name="caches the tuple (x, out)",
        source=_RF + "    out = np.maximum(x, 0.0)\n    return out, (x, out)\n",
        loses=["test_relu_forward_cache"],
        explains="should be x itself",
    ),
    # ----------------------------------------------------------------- relu_backward
    Mutant(
        cell="relu_backward",
        name="mask taken from dout instead of x",
        source=_RB + "    return np.where(dout > 0, dout, 0.0)\n",
        loses=["test_relu_backward"],
        explains="the mask comes from the input",
    ),
    Mutant(
        cell="relu_backward",
        name="multiplies dout by the output max(0, x)",
        source=_RB + "    return dout * np.maximum(x, 0.0)\n",
        loses=["test_relu_backward"],
        explains="OUTPUT",
    ),
    Mutant(
        cell="relu_backward",
        name="forgets dout",
        source=_RB + "    return (x > 0).astype(float)\n",
        loses=["test_relu_backward"],
        explains="ignores the upstream gradient",
    ),
    Mutant(
        cell="relu_backward",
        name="mask x >= 0: passes dout at the kink, where the notebook's convention is 0",
        source=_RB + "    return dout * (x >= 0)\n",
        loses=["test_relu_backward"],
        explains="x == 0",
    ),
    Mutant(
        cell="relu_backward",
        name="writes the mask into dout in place",
        source=_RB + "    dout[x <= 0] = 0.0\n    return dout\n",
        loses=["test_relu_backward"],
        explains="in place",
    ),
    # ----------------------------------------------------------------- leaky_relu_forward
    Mutant(
        cell="leaky_relu_forward",
        name="slope applied to the positive side",
        source=_LF + "    return np.where(x > 0, alpha * x, x), (x, alpha)\n",
        loses=["test_leaky_relu_forward_values"],
        explains="positive side",
    ),
    Mutant(
        cell="leaky_relu_forward",
        name="ignores the alpha argument (0.01 hard-coded)",
        source=_LF + "    return np.where(x > 0, x, 0.01 * x), (x, alpha)\n",
        loses=["test_leaky_relu_forward_values"],
        explains="alpha = 0.01",
    ),
    Mutant(
        cell="leaky_relu_forward",
        name="caches x without alpha",
        source=_LF + "    return np.where(x > 0, x, alpha * x), x\n",
        loses=["test_leaky_relu_forward_cache"],
        explains="travel in the cache",
    ),
    # ----------------------------------------------------------------- leaky_relu_backward
    Mutant(
        cell="leaky_relu_backward",
        name="slope 1 at the kink: x >= 0, where the notebook's slope for x <= 0 is alpha",
        source=_LB + "    return np.where(x >= 0, dout, alpha * dout)\n",
        loses=["test_leaky_relu_backward"],
        explains="x == 0",
    ),
    Mutant(
        cell="leaky_relu_backward",
        name="slope not applied (ReLU's backward)",
        source=_LB + "    return np.where(x > 0, dout, 0.0)\n",
        loses=["test_leaky_relu_backward"],
        explains="the slope is alpha",
    ),
    Mutant(
        cell="leaky_relu_backward",
        name="slope 0.01 instead of the cached alpha",
        source=_LB + "    return np.where(x > 0, dout, 0.01 * dout)\n",
        loses=["test_leaky_relu_backward"],
        explains="in the cache",
    ),
    Mutant(
        cell="leaky_relu_backward",
        name="forgets dout",
        source=_LB + "    return np.where(x > 0, 1.0, alpha)\n",
        loses=["test_leaky_relu_backward"],
        explains="ignores the upstream gradient",
    ),
    # ----------------------------------------------------------------- sigmoid_forward
    Mutant(
        cell="sigmoid_forward",
        name="textbook formula, overflows for x < -709",
        source=_SF + "    out = 1.0 / (1.0 + np.exp(-x))\n    return out, out\n",
        loses=["test_sigmoid_forward_stable"],
        explains="overflow",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="exp(x) / (1 + exp(x)), nan for x > 709",
        source=_SF + "    out = np.exp(x) / (1.0 + np.exp(x))\n    return out, out\n",
        loses=["test_sigmoid_forward_stable"],
        explains="overflow",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="np.where over two overflowing branches",
        source=_SF
        + """    out = np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
    return out, out
""",
        loses=["test_sigmoid_forward_stable"],
        explains="both branches",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="sign of the exponent flipped",
        source=_SF
        + """    e = np.exp(-np.abs(x))
    out = np.where(x <= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, out
""",
        loses=["test_sigmoid_forward_values", "test_sigmoid_forward_stable"],
        explains="the exponent is -x",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="caches the input x",
        source=_SF
        + """    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, x
""",
        loses=["test_sigmoid_forward_cache"],
        explains="cache the OUTPUT",
    ),
    # ----------------------------------------------------------------- sigmoid_backward
    Mutant(
        cell="sigmoid_backward",
        name="derivative from the input: sigmoid applied to the cache again",
        source=_SB + "    s = 1.0 / (1.0 + np.exp(-out))\n    return dout * s * (1.0 - s)\n",
        loses=["test_sigmoid_backward"],
        explains="as if the cache were the input",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="sign flipped",
        source=_SB + "    return dout * out * (out - 1.0)\n",
        loses=["test_sigmoid_backward"],
        explains="wrong sign",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="forgets dout",
        source=_SB + "    return out * (1.0 - out)\n",
        loses=["test_sigmoid_backward"],
        explains="ignores the upstream gradient",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="tanh's derivative",
        source=_SB + "    return dout * (1.0 - out**2)\n",
        loses=["test_sigmoid_backward"],
        explains="derivative of tanh",
    ),
    # ----------------------------------------------------------------- tanh_forward
    Mutant(
        cell="tanh_forward",
        name="exponential formula, nan for |x| > 709",
        source=_TF
        + """    out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    return out, out
""",
        loses=["test_tanh_forward_values"],
        explains="nan",
    ),
    Mutant(
        cell="tanh_forward",
        name="2 sigmoid(x) - 1 instead of 2 sigmoid(2x) - 1",
        source=_TF + "    out = 2.0 / (1.0 + np.exp(-x)) - 1.0\n    return out, out\n",
        loses=["test_tanh_forward_values"],
        explains="2σ(2x) - 1",
    ),
    Mutant(
        cell="tanh_forward",
        name="caches the input x",
        source=_TF + "    return np.tanh(x), x\n",
        loses=["test_tanh_forward_cache"],
        explains="cache the OUTPUT",
    ),
    # ----------------------------------------------------------------- tanh_backward
    Mutant(
        cell="tanh_backward",
        name="derivative from the input: tanh applied to the cache again",
        source=_TB + "    return dout * (1.0 - np.tanh(out) ** 2)\n",
        loses=["test_tanh_backward"],
        explains="as if the cache were the input",
    ),
    Mutant(
        cell="tanh_backward",
        name="square missing",
        source=_TB + "    return dout * (1.0 - out)\n",
        loses=["test_tanh_backward"],
        explains="missing the square",
    ),
    Mutant(
        cell="tanh_backward",
        name="forgets dout",
        source=_TB + "    return 1.0 - out**2\n",
        loses=["test_tanh_backward"],
        explains="ignores the upstream gradient",
    ),
    Mutant(
        cell="tanh_backward",
        name="the sigmoid's derivative",
        source=_TB + "    return dout * out * (1.0 - out)\n",
        loses=["test_tanh_backward"],
        explains="sigmoid's derivative",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="relu_forward",
        name="x times its 0/1 mask",
        source=_RF + "    return x * (x > 0), x\n",
    ),
    Alternative(
        cell="leaky_relu_forward",
        name="np.maximum(alpha * x, x) (valid for 0 <= alpha <= 1)",
        source=_LF + "    return np.maximum(alpha * x, x), (x, alpha)\n",
    ),
    Alternative(
        cell="leaky_relu_backward",
        name="dout times a slope array",
        source=_LB + "    slope = np.ones_like(x)\n    slope[x <= 0] = alpha\n    return dout * slope\n",
    ),
    Alternative(
        cell="sigmoid_forward",
        name="logaddexp form",
        source=_SF
        + """    out = np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))  # 1 / (1 + e^-x)
    return out, out
""",
    ),
    Alternative(
        cell="sigmoid_forward",
        name="clipped input, then the textbook formula",
        source=_SF + "    out = 1.0 / (1.0 + np.exp(-np.clip(x, -500.0, 500.0)))\n    return out, out\n",
    ),
    Alternative(
        cell="sigmoid_forward",
        name="via tanh",
        source=_SF + "    out = 0.5 * (1.0 + np.tanh(0.5 * x))\n    return out, out\n",
    ),
    Alternative(
        cell="sigmoid_backward",
        name="out - out**2",
        source=_SB + "    return np.multiply(dout, out - out**2)\n",
    ),
    Alternative(
        cell="tanh_forward",
        name="2 sigmoid(2x) - 1 with exp (overflow harmless, values right)",
        source=_TF + "    out = 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0\n    return out, out\n",
    ),
    Alternative(
        cell="tanh_backward",
        name="(1 - out)(1 + out)",
        source=_TB + "    return dout * (1.0 - out) * (1.0 + out)\n",
    ),
]
