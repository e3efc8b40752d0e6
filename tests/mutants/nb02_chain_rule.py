"""Mutants and alternatives of notebook 02 (chain rule): a staged scalar function, fan-out, and
the sigmoid gate.

Each mutant is a mistake learners make when they first apply the chain rule by hand; ``loses``
lists every test cell it must fail, and ``explains`` a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "02-chain-rule"

_SF_HEAD = '''def staged_forward(x, y, z, w):
    """Forward pass of f = (x*y + z) * sigmoid(w); cache (x, y, p, s)."""
'''
_SB_HEAD = '''def staged_backward(df, cache):
    """Backward pass of staged_forward."""
    x, y, p, s = cache
'''
_FB_HEAD = '''def fanout_backward(dout, cache):
    """Backward pass of g = x*y + x."""
    x, y = cache
'''
_SGF_HEAD = '''def sigmoid_forward(x):
    """Logistic sigmoid; cache = out."""
'''
_SGB_HEAD = '''def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward; cache = out."""
'''

_STAGED_BACKWARD_CELLS = [
    "test_staged_backward_dx",
    "test_staged_backward_dy",
    "test_staged_backward_dz",
    "test_staged_backward_dw",
]

MUTANTS = [
    # ----------------------------------------------------------------- staged_forward
    Mutant(
        cell="staged_forward",
        name="sigmoid with +w in the exponent",
        source=_SF_HEAD
        + '''    p = x * y + z
    s = 1.0 / (1.0 + np.exp(w))
    return p * s, (x, y, p, s)
''',
        loses=["test_staged_forward_value", "test_staged_forward_cache"],
        explains="minus sign in the exponent",
    ),
    Mutant(
        cell="staged_forward",
        name="missing parentheses: x*y + z*sigmoid(w)",
        source=_SF_HEAD
        + '''    p = x * y + z
    s = 1.0 / (1.0 + np.exp(-w))
    return x * y + z * s, (x, y, p, s)
''',
        loses=["test_staged_forward_value"],
        explains="mind the parentheses",
    ),
    Mutant(
        cell="staged_forward",
        name="caches w instead of the sigmoid's output s",
        source=_SF_HEAD
        + '''    p = x * y + z
    s = 1.0 / (1.0 + np.exp(-w))
    return p * s, (x, y, p, w)
''',
        loses=["test_staged_forward_cache"],
        explains="store its OUTPUT",
    ),
    Mutant(
        cell="staged_forward",
        name="caches q instead of p",
        source=_SF_HEAD
        + '''    q = x * y
    s = 1.0 / (1.0 + np.exp(-w))
    return (q + z) * s, (x, y, q, s)
''',
        loses=["test_staged_forward_cache"],
        explains="needs p = x*y + z",
    ),
    Mutant(
        cell="staged_forward",
        name="returns (cache, f)",
        source=_SF_HEAD
        + '''    p = x * y + z
    s = 1.0 / (1.0 + np.exp(-w))
    return (x, y, p, s), p * s
''',
        loses=["test_staged_forward_value", "test_staged_forward_cache"],
        explains="return f first",
    ),
    # ----------------------------------------------------------------- staged_backward
    Mutant(
        cell="staged_backward",
        name="multiply gate: own input instead of the other",
        source=_SB_HEAD
        + '''    dp, ds = df * s, df * p
    dq, dz = dp, dp
    dx, dy = dq * x, dq * y
    dw = ds * s * (1 - s)
    return dx, dy, dz, dw
''',
        loses=["test_staged_backward_dx", "test_staged_backward_dy"],
        explains="the OTHER input",
    ),
    Mutant(
        cell="staged_backward",
        name="dw uses df instead of ds (upstream of s forgotten)",
        source=_SB_HEAD
        + '''    dp = df * s
    dq, dz = dp, dp
    dx, dy = dq * y, dq * x
    dw = df * s * (1 - s)
    return dx, dy, dz, dw
''',
        loses=["test_staged_backward_dw"],
        explains="missing the factor p",
    ),
    Mutant(
        cell="staged_backward",
        name="sigmoid derivative applied to its output as if it were the input",
        source=_SB_HEAD
        + '''    dp, ds = df * s, df * p
    dq, dz = dp, dp
    dx, dy = dq * y, dq * x
    sig = 1.0 / (1.0 + np.exp(-s))
    dw = ds * sig * (1 - sig)
    return dx, dy, dz, dw
''',
        loses=["test_staged_backward_dw"],
        explains="as if s were the input",
    ),
    Mutant(
        cell="staged_backward",
        name="ignores the upstream gradient df",
        source=_SB_HEAD
        + '''    dp, ds = s, p
    dq, dz = dp, dp
    dx, dy = dq * y, dq * x
    dw = ds * s * (1 - s)
    return dx, dy, dz, dw
''',
        loses=_STAGED_BACKWARD_CELLS + ["test_staged_backward_upstream"],
        explains="upstream gradient df",
    ),
    Mutant(
        cell="staged_backward",
        name="dz skips the factor s",
        source=_SB_HEAD
        + '''    dp, ds = df * s, df * p
    dx, dy = dp * y, dp * x
    dz = df
    dw = ds * s * (1 - s)
    return dx, dy, dz, dw
''',
        loses=["test_staged_backward_dz"],
        explains="dz = df·s",
    ),
    Mutant(
        cell="staged_backward",
        name="sign flip in the sigmoid derivative",
        source=_SB_HEAD
        + '''    dp, ds = df * s, df * p
    dq, dz = dp, dp
    dx, dy = dq * y, dq * x
    dw = ds * s * (s - 1)
    return dx, dy, dz, dw
''',
        loses=["test_staged_backward_dw"],
        explains="wrong sign",
    ),
    # ----------------------------------------------------------------- fanout_backward
    Mutant(
        cell="fanout_backward",
        name="second path overwrites the first",
        source=_FB_HEAD
        + '''    dx = dout * y
    dx = dout
    dy = dout * x
    return dx, dy
''',
        loses=["test_fanout_backward_dx"],
        explains="the gradients of the two paths sum",
    ),
    Mutant(
        cell="fanout_backward",
        name="only the path through the product",
        source=_FB_HEAD + "    return dout * y, dout * x\n",
        loses=["test_fanout_backward_dx"],
        explains="must be ADDED",
    ),
    Mutant(
        cell="fanout_backward",
        name="multiplies the two paths' gradients",
        source=_FB_HEAD
        + '''    dx = (dout * y) * (dout * 1.0)
    dy = dout * x
    return dx, dy
''',
        loses=["test_fanout_backward_dx", "test_fanout_backward_upstream"],
        explains="PRODUCT",
    ),
    Mutant(
        cell="fanout_backward",
        name="ignores the upstream gradient dout",
        source=_FB_HEAD + "    return y + 1.0, x + 0.0\n",
        loses=[
            "test_fanout_backward_dx",
            "test_fanout_backward_dy",
            "test_fanout_backward_upstream",
        ],
        explains="upstream gradient",
    ),
    Mutant(
        cell="fanout_backward",
        name="treats y as fanning out too",
        source=_FB_HEAD + "    return dout * (y + 1.0), dout * (x + 1.0)\n",
        loses=["test_fanout_backward_dy"],
        explains="only x fans out",
    ),
    # ----------------------------------------------------------------- sigmoid_forward
    Mutant(
        cell="sigmoid_forward",
        name="exp(+x): sigma(-x)",
        source=_SGF_HEAD
        + '''    out = 1.0 / (1.0 + np.exp(np.asarray(x, dtype=float)))
    return out, out
''',
        loses=["test_sigmoid_forward_values", "test_sigmoid_forward_large"],
        explains="the exponent is -x",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="caches the input instead of the output",
        source=_SGF_HEAD
        + '''    x = np.asarray(x, dtype=float)
    out = 1.0 / (1.0 + np.exp(-x))
    return out, x
''',
        loses=["test_sigmoid_forward_cache"],
        explains="cache the OUTPUT",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="exp(x) / (1 + exp(x)) overflows to nan",
        source=_SGF_HEAD
        + '''    e = np.exp(np.asarray(x, dtype=float))
    out = e / (1.0 + e)
    return out, out
''',
        loses=["test_sigmoid_forward_large"],
        explains="exponentiate only -|x|",
    ),
    Mutant(
        cell="sigmoid_forward",
        name="cache as a one-element tuple",
        source=_SGF_HEAD
        + '''    out = 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
    return out, (out,)
''',
        loses=["test_sigmoid_forward_cache"],
        explains="not a tuple",
    ),
    # ----------------------------------------------------------------- sigmoid_backward
    Mutant(
        cell="sigmoid_backward",
        name="derivative taken of the cache as if it were the input",
        source=_SGB_HEAD
        + '''    s = 1.0 / (1.0 + np.exp(-cache))
    return dout * s * (1 - s)
''',
        loses=["test_sigmoid_backward_values", "test_sigmoid_backward_shapes"],
        explains="as if the cache were the input",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="ignores the upstream gradient dout",
        source=_SGB_HEAD + "    out = cache\n    return out * (1 - out)\n",
        loses=[
            "test_sigmoid_backward_values",
            "test_sigmoid_backward_upstream",
            "test_sigmoid_backward_shapes",
        ],
        explains="ignores the upstream gradient",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="tanh's derivative",
        source=_SGB_HEAD + "    return dout * (1 - cache**2)\n",
        loses=["test_sigmoid_backward_values", "test_sigmoid_backward_shapes"],
        explains="derivative of tanh",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="sign flipped",
        source=_SGB_HEAD + "    return dout * cache * (cache - 1)\n",
        loses=["test_sigmoid_backward_values", "test_sigmoid_backward_shapes"],
        explains="wrong sign",
    ),
    Mutant(
        cell="sigmoid_backward",
        name="summed to one number",
        source=_SGB_HEAD + "    return np.sum(dout * cache * (1 - cache))\n",
        loses=["test_sigmoid_backward_values", "test_sigmoid_backward_shapes"],
        explains="shape",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="staged_forward",
        name="sigmoid via tanh, no named q",
        source=_SF_HEAD
        + '''    s = 0.5 * (1.0 + np.tanh(0.5 * w))  # the same function as 1 / (1 + exp(-w))
    p = z + y * x
    return s * p, (x, y, p, s)
''',
    ),
    Alternative(
        cell="staged_backward",
        name="one expression per gradient, s - s**2",
        source=_SB_HEAD
        + '''    return df * s * y, df * s * x, df * s, df * p * (s - s**2)
''',
    ),
    Alternative(
        cell="fanout_backward",
        name="accumulates with += on a float copy",
        source=_FB_HEAD
        + '''    dx = np.zeros_like(np.asarray(x, dtype=float))
    dx += dout * y  # path through q = x * y
    dx += dout  # direct path
    dy = dout * x
    return dx, dy
''',
    ),
    Alternative(
        cell="sigmoid_forward",
        name="math in logaddexp form",
        source=_SGF_HEAD
        + '''    x = np.asarray(x, dtype=np.float64)
    out = np.exp(-np.logaddexp(0.0, -x))  # 1 / (1 + e^-x) = exp(-log(1 + e^-x)), no overflow
    return out, out
''',
    ),
    Alternative(
        cell="sigmoid_backward",
        name="out - out**2 with np.multiply",
        source=_SGB_HEAD + "    out = cache\n    return np.multiply(dout, out - out**2)\n",
    ),
]
