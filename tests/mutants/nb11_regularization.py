"""Mutants and alternatives of notebook 11 (regularization): ``l2_penalty``, ``dropout_forward``
and ``dropout_backward``.

Each mutant is a mistake learners make with weight decay or inverted dropout; ``loses`` lists
every test cell it must fail, and ``explains`` a phrase of the hint the failing check gives.
``dropout_backward`` is graded through the learner's own ``dropout_forward`` (its cache), so a
forward pass that draws the wrong mask but caches it faithfully leaves the backward points intact.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "11-regularization"

_L2 = '''def l2_penalty(weights, reg):
    """0.5 * reg * sum(w**2) and reg * w, for one array or a list."""
    single = not isinstance(weights, (list, tuple))
    arrays = [weights] if single else list(weights)
'''
_L2_RETURN = "    return loss, grads[0] if single else grads\n"
_L2_LOSS = "    loss = 0.5 * reg * sum(float(np.sum(w * w)) for w in arrays)\n"
_L2_GRADS = "    grads = [reg * w for w in arrays]\n"

_DF = '''def dropout_forward(x, dropout_param):
    """Inverted dropout; cache (dropout_param, mask)."""
    p, mode = dropout_param["p"], dropout_param["mode"]
'''
_DF_TEST = "    if mode == \"test\":\n        return x.copy(), (dict(dropout_param), None)\n"
_DF_DRAW = '''    seed = dropout_param.get("seed")
    u = np.random.default_rng(seed).random(x.shape) if seed is not None else np.random.random(x.shape)
'''

_DB = '''def dropout_backward(dout, cache):
    """Backward pass of dropout_forward."""
    dropout_param, mask = cache
'''
_DB_TEST = "    if dropout_param[\"mode\"] == \"test\":\n        return dout.copy()\n"

_L2_ALL = ["test_l2_penalty_loss", "test_l2_penalty_grad", "test_l2_penalty_list"]

MUTANTS = [
    # ----------------------------------------------------------------- l2_penalty
    Mutant(
        cell="l2_penalty",
        name="no 0.5 in the penalty",
        source=_L2 + "    loss = reg * sum(float(np.sum(w * w)) for w in arrays)\n" + _L2_GRADS
        + _L2_RETURN,
        loses=["test_l2_penalty_loss", "test_l2_penalty_list"],
        explains="twice the penalty",
    ),
    Mutant(
        cell="l2_penalty",
        name="gradient without the factor reg",
        source=_L2 + _L2_LOSS + "    grads = [w.copy() for w in arrays]\n" + _L2_RETURN,
        loses=["test_l2_penalty_grad", "test_l2_penalty_list"],
        explains="the factor reg is missing",
    ),
    Mutant(
        cell="l2_penalty",
        name="gradient with an extra 2",
        source=_L2 + _L2_LOSS + "    grads = [2 * reg * w for w in arrays]\n" + _L2_RETURN,
        loses=["test_l2_penalty_grad", "test_l2_penalty_list"],
        explains="2 * reg * w",
    ),
    Mutant(
        cell="l2_penalty",
        name="L1 instead of L2",
        source=_L2 + "    loss = 0.5 * reg * sum(float(np.sum(np.abs(w))) for w in arrays)\n"
        + "    grads = [0.5 * reg * np.sign(w) for w in arrays]\n" + _L2_RETURN,
        loses=_L2_ALL,
        explains="L1 penalty",
    ),
    Mutant(
        cell="l2_penalty",
        name="only the first array of a list",
        source='''def l2_penalty(weights, reg):
    """Penalizes weights[0] only when given a list."""
    if isinstance(weights, (list, tuple)):
        loss, grad = l2_penalty(weights[0], reg)
        return loss, [grad] + [np.zeros_like(w) for w in weights[1:]]
    return 0.5 * reg * float(np.sum(weights**2)), reg * weights
''',
        loses=["test_l2_penalty_list"],
        explains="weights[0] alone",
    ),
    Mutant(
        cell="l2_penalty",
        name="a list of one gradient for one array",
        source=_L2 + _L2_LOSS + _L2_GRADS + "    return loss, grads\n",
        loses=["test_l2_penalty_grad"],
        explains="list holding one array",
    ),
    Mutant(
        cell="l2_penalty",
        name="decays the weights in place",
        source='''def l2_penalty(weights, reg):
    """Applies the decay to the weights themselves (in place)."""
    single = not isinstance(weights, (list, tuple))
    arrays = [weights] if single else list(weights)
    loss = 0.5 * reg * sum(float(np.sum(w * w)) for w in arrays)
    for w in arrays:
        w *= reg
    return loss, arrays[0] if single else arrays
''',
        loses=["test_l2_penalty_loss", "test_l2_penalty_grad"],
        explains="changed the weights",
    ),
    # ----------------------------------------------------------------- dropout_forward
    Mutant(
        cell="dropout_forward",
        name="no rescaling of the kept units",
        source=_DF + _DF_TEST + _DF_DRAW
        + "    mask = (u >= p).astype(float)\n    return x * mask, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_train"],
        explains="not rescaled",
    ),
    Mutant(
        cell="dropout_forward",
        name="p treated as the keep probability",
        source=_DF + _DF_TEST + _DF_DRAW
        + "    mask = (u < p) / p\n    return x * mask, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_train"],
        explains="probability of DROPPING",
    ),
    Mutant(
        cell="dropout_forward",
        name="multiplies by 1 - p instead of dividing",
        source=_DF + _DF_TEST + _DF_DRAW
        + "    mask = (u >= p) * (1 - p)\n    return x * mask, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_train"],
        explains="DIVIDES by 1 - p",
    ),
    Mutant(
        cell="dropout_forward",
        name="rescaling in test mode (old-style dropout)",
        source=_DF
        + "    if mode == \"test\":\n        return x * (1 - p), (dict(dropout_param), None)\n"
        + _DF_DRAW
        + "    mask = (u >= p) / (1 - p)\n    return x * mask, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_test"],
        explains="scaled in test mode",
    ),
    Mutant(
        cell="dropout_forward",
        name="drops units in test mode too",
        source=_DF + _DF_DRAW
        + "    mask = (u >= p) / (1 - p)\n    return x * mask, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_test"],
        explains="every unit is used",
    ),
    Mutant(
        cell="dropout_forward",
        name="ignores the seed",
        source=_DF + _DF_TEST
        + "    mask = (np.random.random(x.shape) >= p) / (1 - p)\n"
        + "    return x * mask, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_seed"],
        explains="same seed",
    ),
    Mutant(
        cell="dropout_forward",
        name="masks the input in place",
        source=_DF + _DF_TEST + _DF_DRAW
        + "    mask = (u >= p) / (1 - p)\n    x *= mask\n    return x, (dict(dropout_param), mask)\n",
        loses=["test_dropout_forward_train", "test_dropout_forward_seed",
               "test_dropout_backward_train"],
        explains="changed its input x in place",
    ),
    # ----------------------------------------------------------------- dropout_backward
    Mutant(
        cell="dropout_backward",
        name="mask recomputed in the backward pass",
        source=_DB + _DB_TEST + '''    p = dropout_param["p"]
    fresh = (np.random.random(dout.shape) >= p) / (1 - p)
    return dout * fresh
''',
        loses=["test_dropout_backward_train"],
        explains="different mask",
    ),
    Mutant(
        cell="dropout_backward",
        name="no 1/(1 - p) in the backward pass",
        source=_DB + _DB_TEST + "    return dout * (mask != 0)\n",
        loses=["test_dropout_backward_train"],
        explains="not scaled",
    ),
    Mutant(
        cell="dropout_backward",
        name="forgets the mask: dx = dout",
        source=_DB + "    return dout.copy()\n",
        loses=["test_dropout_backward_train"],
        explains="a mask is missing",
    ),
    Mutant(
        cell="dropout_backward",
        name="no test-mode branch",
        source=_DB + "    return dout * mask\n",
        loses=["test_dropout_backward_test"],
        explains="there is no mask",
    ),
    Mutant(
        cell="dropout_backward",
        name="divides by the keep probability once more",
        source=_DB + _DB_TEST + "    return dout * mask / (1 - dropout_param[\"p\"])\n",
        loses=["test_dropout_backward_train"],
        explains="applied twice",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="l2_penalty",
        name="vdot and a generator, tuples returned as lists",
        source='''def l2_penalty(weights, reg):
    """L2 penalty with np.vdot."""
    if isinstance(weights, (list, tuple)):
        parts = [l2_penalty(w, reg) for w in weights]
        return sum(loss for loss, _ in parts), [grad for _, grad in parts]
    w = np.asarray(weights, dtype=float)
    return float(reg * np.vdot(w, w) / 2), np.multiply(w, reg)
''',
    ),
    Alternative(
        cell="dropout_forward",
        name="binomial keep mask, np.where, a param dict of its own",
        source='''def dropout_forward(x, dropout_param):
    """Inverted dropout with a binomial keep mask; cache ({mode, p}, scaled mask or None)."""
    p = float(dropout_param["p"])
    param = {"mode": dropout_param["mode"], "p": p}
    if param["mode"] != "train":
        return np.array(x, copy=True), (param, None)
    seed = dropout_param.get("seed", None)
    rng = np.random.default_rng(seed) if seed is not None else np.random
    keep = rng.binomial(1, 1.0 - p, size=x.shape).astype(bool)
    return np.where(keep, x / (1.0 - p), 0.0), (param, np.where(keep, 1.0 / (1.0 - p), 0.0))
''',
    ),
    Alternative(
        cell="dropout_backward",
        name="test mode told by the missing mask, np.where",
        source='''def dropout_backward(dout, cache):
    """Backward pass of dropout: the identity when no mask was drawn."""
    _, mask = cache
    if mask is None:  # test mode: the layer was the identity
        return np.array(dout, copy=True)
    return np.where(mask != 0, dout * mask, 0.0)
''',
    ),
]
