"""Mutants and alternatives of notebook 12 (normalization): ``batchnorm_forward``,
``batchnorm_backward``, ``batchnorm_backward_alt``, ``layernorm_forward`` and
``layernorm_backward``.

Each mutant is a mistake learners make with normalization layers; ``loses`` lists every test cell
it must fail, and ``explains`` a phrase of the hint the failing check gives. The backward passes
are graded through the learner's own forward pass (its cache), so a forward mutant that computes
the wrong normalization also hands the (reference) backward passes a cache of the wrong function,
and loses their points too; mutants of the running statistics or of test mode do not.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "12-normalization"

_BNF = '''def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm forward; cache (xhat, xc, inv_std, gamma, mode)."""
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d))
    running_var = bn_param.get("running_var", np.zeros(d))
'''
_BNF_TRAIN = '''    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
'''
_BNF_TEST = '''    else:
        mean, var = running_mean, running_var
'''
_BNF_TAIL = '''    xc = x - mean
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc * inv_std
    return gamma * xhat + beta, (xhat, xc, inv_std, gamma, mode)
'''

_BNB = '''def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward through the graph."""
    xhat, xc, inv_std, gamma, mode = cache
    n = dout.shape[0]
'''
_BNB_PARAMS = '''    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
'''
_BNB_DX = '''    dxhat = dout * gamma
    dxc = dxhat * inv_std
    dinv_std = (dxhat * xc).sum(axis=0)
    dvar = -0.5 * inv_std**3 * dinv_std
    dxc = dxc + (2.0 / n) * xc * dvar
    dx = dxc - dxc.sum(axis=0) / n
'''
_BNB_RETURN = "    return dx, dgamma, dbeta\n"

_ALT = '''def batchnorm_backward_alt(dout, cache):
    """Backward pass of batchnorm_forward by the compact formula."""
    xhat, _, inv_std, gamma, mode = cache
    n = dout.shape[0]
    g = dout * gamma
'''
_ALT_PARAMS = _BNB_PARAMS

_LNF = '''def layernorm_forward(x, gamma, beta, ln_param=None):
    """Layer norm forward; cache (xhat, inv_std, gamma)."""
    eps = (ln_param or {}).get("eps", 1e-5)
'''
_LNF_TAIL = '''    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    return gamma * xhat + beta, (xhat, inv_std, gamma)
'''

_LNB = '''def layernorm_backward(dout, cache):
    """Backward pass of layernorm_forward."""
    xhat, inv_std, gamma = cache
    d = dout.shape[1]
    g = dout * gamma
'''

_BN_WRONG_NORMALIZATION = [
    "test_batchnorm_forward_train", "test_batchnorm_backward_dx", "test_batchnorm_backward_dgamma",
    "test_batchnorm_backward_alt",
]
_LN_ALL = ["test_layernorm_forward", "test_layernorm_backward_dx",
           "test_layernorm_backward_dgamma_dbeta"]

MUTANTS = [
    # ----------------------------------------------------------------- batchnorm_forward
    Mutant(
        cell="batchnorm_forward",
        name="unbiased variance (N - 1)",
        source=_BNF + '''    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
''' + _BNF_TEST + _BNF_TAIL,
        loses=[*_BN_WRONG_NORMALIZATION, "test_batchnorm_forward_running"],
        explains="divided by N - 1",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="eps outside the square root",
        source=_BNF + _BNF_TRAIN + _BNF_TEST + '''    xc = x - mean
    inv_std = 1.0 / (np.sqrt(var) + eps)
    xhat = xc * inv_std
    return gamma * xhat + beta, (xhat, xc, inv_std, gamma, mode)
''',
        loses=[*_BN_WRONG_NORMALIZATION, "test_batchnorm_forward_test"],
        explains="eps added outside the square root",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="running statistics not updated",
        source=_BNF + '''    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
''' + _BNF_TEST + _BNF_TAIL,
        loses=["test_batchnorm_forward_running"],
        explains="not updated",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="momentum weights swapped",
        source=_BNF + '''    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var
''' + _BNF_TEST + _BNF_TAIL,
        loses=["test_batchnorm_forward_running"],
        explains="momentum weights the OLD running value",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="running variance from the unbiased variance (PyTorch's convention)",
        source=_BNF + '''    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)
''' + _BNF_TEST + _BNF_TAIL,
        loses=["test_batchnorm_forward_running"],
        explains="unbiased variance",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="test mode uses the batch statistics",
        source=_BNF + _BNF_TRAIN + '''    else:
        mean, var = x.mean(axis=0), x.var(axis=0)
''' + _BNF_TAIL,
        loses=["test_batchnorm_forward_test"],
        explains="running_mean and running_var",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="test mode updates the running statistics too",
        source=_BNF + '''    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
    else:
        mean, var = running_mean, running_var
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0)
''' + _BNF_TAIL,
        loses=["test_batchnorm_forward_test"],
        explains="test mode changed",
    ),
    Mutant(
        cell="batchnorm_forward",
        name="statistics over the features (axis 1)",
        source=_BNF + '''    if mode == "train":
        mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0)
''' + _BNF_TEST + _BNF_TAIL,
        loses=_BN_WRONG_NORMALIZATION,
        explains="axis 0",
    ),
    # ----------------------------------------------------------------- batchnorm_backward
    Mutant(
        cell="batchnorm_backward",
        name="dgamma not summed over the batch",
        source=_BNB + "    dbeta = dout.sum(axis=0)\n    dgamma = dout * xhat\n" + _BNB_DX
        + _BNB_RETURN,
        loses=["test_batchnorm_backward_dgamma"],
        explains="still has the batch axis",
    ),
    Mutant(
        cell="batchnorm_backward",
        name="dbeta summed over the features",
        source=_BNB + "    dbeta = dout.sum(axis=1)\n    dgamma = (dout * xhat).sum(axis=0)\n"
        + _BNB_DX + _BNB_RETURN,
        loses=["test_batchnorm_backward_dbeta"],
        explains="summed over axis 1",
    ),
    Mutant(
        cell="batchnorm_backward",
        name="missing the path through the mean",
        source=_BNB + _BNB_PARAMS + '''    dxhat = dout * gamma
    dxc = dxhat * inv_std
    dinv_std = (dxhat * xc).sum(axis=0)
    dvar = -0.5 * inv_std**3 * dinv_std
    dx = dxc + (2.0 / n) * xc * dvar
''' + _BNB_RETURN,
        loses=["test_batchnorm_backward_dx"],
        explains="path through the mean",
    ),
    Mutant(
        cell="batchnorm_backward",
        name="missing the path through the variance",
        source=_BNB + _BNB_PARAMS + '''    dxc = dout * gamma * inv_std
    dx = dxc - dxc.sum(axis=0) / n
''' + _BNB_RETURN,
        loses=["test_batchnorm_backward_dx"],
        explains="path through the variance",
    ),
    Mutant(
        cell="batchnorm_backward",
        name="dx without gamma",
        source=_BNB + _BNB_PARAMS + '''    dxhat = dout
    dxc = dxhat * inv_std
    dinv_std = (dxhat * xc).sum(axis=0)
    dvar = -0.5 * inv_std**3 * dinv_std
    dxc = dxc + (2.0 / n) * xc * dvar
    dx = dxc - dxc.sum(axis=0) / n
''' + _BNB_RETURN,
        loses=["test_batchnorm_backward_dx"],
        explains="multiply by gamma",
    ),
    Mutant(
        cell="batchnorm_backward",
        name="variance derivative without the 2",
        source=_BNB + _BNB_PARAMS + '''    dxhat = dout * gamma
    dxc = dxhat * inv_std
    dinv_std = (dxhat * xc).sum(axis=0)
    dvar = -0.5 * inv_std**3 * dinv_std
    dxc = dxc + (1.0 / n) * xc * dvar
    dx = dxc - dxc.sum(axis=0) / n
''' + _BNB_RETURN,
        loses=["test_batchnorm_backward_dx"],
        explains="at half its size",
    ),
    # ----------------------------------------------------------------- batchnorm_backward_alt
    Mutant(
        cell="batchnorm_backward_alt",
        name="compact formula without the sum(g) term",
        source=_ALT + _ALT_PARAMS
        + "    dx = inv_std / n * (n * g - xhat * (g * xhat).sum(axis=0))\n" + _BNB_RETURN,
        loses=["test_batchnorm_backward_alt"],
        explains="path through the mean",
    ),
    Mutant(
        cell="batchnorm_backward_alt",
        name="compact formula without the 1/N",
        source=_ALT + _ALT_PARAMS
        + "    dx = inv_std * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))\n"
        + _BNB_RETURN,
        loses=["test_batchnorm_backward_alt"],
        explains="times too large",
    ),
    Mutant(
        cell="batchnorm_backward_alt",
        name="compact formula from dout instead of dout * gamma",
        source=_ALT + _ALT_PARAMS
        + "    dx = inv_std / n * (n * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0))\n"
        + _BNB_RETURN,
        loses=["test_batchnorm_backward_alt"],
        explains="multiply by gamma",
    ),
    Mutant(
        cell="batchnorm_backward_alt",
        name="dgamma from dout without xhat",
        source=_ALT + "    dbeta = dout.sum(axis=0)\n    dgamma = dout.sum(axis=0)\n"
        + "    dx = inv_std / n * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))\n"
        + _BNB_RETURN,
        loses=["test_batchnorm_backward_alt"],
        explains="weighted by xhat",
    ),
    # ----------------------------------------------------------------- layernorm_forward
    Mutant(
        cell="layernorm_forward",
        name="statistics over the batch (axis 0)",
        source=_LNF + "    mean, var = x.mean(axis=0), x.var(axis=0)\n" + _LNF_TAIL,
        loses=_LN_ALL,
        explains="layer norm normalizes each example",
    ),
    Mutant(
        cell="layernorm_forward",
        name="unbiased variance (D - 1)",
        source=_LNF + "    mean = x.mean(axis=1, keepdims=True)\n"
        + "    var = x.var(axis=1, ddof=1, keepdims=True)\n" + _LNF_TAIL,
        loses=_LN_ALL,
        explains="divided by D - 1",
    ),
    Mutant(
        cell="layernorm_forward",
        name="mean and variance without keepdims",
        source=_LNF + "    mean, var = x.mean(axis=1), x.var(axis=1)\n" + _LNF_TAIL,
        loses=_LN_ALL,
        explains="keep the axis",
    ),
    Mutant(
        cell="layernorm_forward",
        name="eps outside the square root",
        source=_LNF + '''    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    inv_std = 1.0 / (np.sqrt(var) + eps)
    xhat = (x - mean) * inv_std
    return gamma * xhat + beta, (xhat, inv_std, gamma)
''',
        loses=_LN_ALL,
        explains="eps added outside the square root",
    ),
    # ----------------------------------------------------------------- layernorm_backward
    Mutant(
        cell="layernorm_backward",
        name="sums over the batch as in batch norm",
        source=_LNB + '''    n = dout.shape[0]
    dx = inv_std / n * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
''',
        loses=["test_layernorm_backward_dx"],
        explains="wrong axis",
    ),
    Mutant(
        cell="layernorm_backward",
        name="dgamma and dbeta summed over the features",
        source=_LNB + '''    dx = inv_std / d * (d * g - g.sum(axis=1, keepdims=True)
                        - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, (dout * xhat).sum(axis=1), dout.sum(axis=1)
''',
        loses=["test_layernorm_backward_dgamma_dbeta"],
        explains="summed over axis 1",
    ),
    Mutant(
        cell="layernorm_backward",
        name="missing the path through the mean",
        source=_LNB + '''    dx = inv_std / d * (d * g - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
''',
        loses=["test_layernorm_backward_dx"],
        explains="path through the mean",
    ),
    Mutant(
        cell="layernorm_backward",
        name="dgamma and dbeta swapped",
        source=_LNB + '''    dx = inv_std / d * (d * g - g.sum(axis=1, keepdims=True)
                        - xhat * (g * xhat).sum(axis=1, keepdims=True))
    return dx, dout.sum(axis=0), (dout * xhat).sum(axis=0)
''',
        loses=["test_layernorm_backward_dgamma_dbeta"],
        explains="weighted by xhat",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="batchnorm_forward",
        name="np.mean of squares, setdefault for the defaults, division by std",
        source='''def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm via np.mean; fills in bn_param's defaults with setdefault."""
    eps = bn_param.setdefault("eps", 1e-5)
    m = bn_param.setdefault("momentum", 0.9)
    d = x.shape[1]
    if bn_param["mode"] == "train":
        mean = np.mean(x, axis=0)
        var = np.mean((x - mean) ** 2, axis=0)
        bn_param["running_mean"] = m * bn_param.get("running_mean", np.zeros(d)) + (1 - m) * mean
        bn_param["running_var"] = m * bn_param.get("running_var", np.zeros(d)) + (1 - m) * var
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, x - mean, 1.0 / std, gamma, bn_param["mode"])
''',
    ),
    Alternative(
        cell="batchnorm_backward",
        name="graph walk with the standard deviation as a node",
        source='''def batchnorm_backward(dout, cache):
    """Graph walk through std = sqrt(var + eps) and xhat = xc / std."""
    xhat, xc, inv_std, gamma, mode = cache
    n = dout.shape[0]
    std = 1.0 / inv_std
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    dbeta = np.einsum("nd->d", dout)
    dxhat = dout * gamma
    dxc = dxhat / std
    dstd = -np.sum(dxhat * xc, axis=0) / std**2
    dvar = dstd / (2.0 * std)
    dxc += 2.0 * xc * dvar / n
    dx = dxc - np.mean(dxc, axis=0)
    return dx, dgamma, dbeta
''',
    ),
    Alternative(
        cell="batchnorm_backward_alt",
        name="mean-centred form of the compact formula",
        source='''def batchnorm_backward_alt(dout, cache):
    """dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))."""
    xhat, _, inv_std, gamma, _ = cache
    g = dout * gamma
    dx = inv_std * (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
''',
    ),
    Alternative(
        cell="layernorm_forward",
        name="transpose and normalize the columns",
        source='''def layernorm_forward(x, gamma, beta, ln_param=None):
    """Layer norm as batch-norm statistics of x.T."""
    eps = 1e-5 if not ln_param else ln_param.get("eps", 1e-5)
    xt = x.T
    inv_std = 1.0 / np.sqrt(xt.var(axis=0) + eps)
    xhat = ((xt - xt.mean(axis=0)) * inv_std).T
    return xhat * gamma + beta, (xhat, inv_std[:, None], gamma)
''',
    ),
    Alternative(
        cell="layernorm_backward",
        name="transpose and use the batch-norm formula on columns",
        source='''def layernorm_backward(dout, cache):
    """Layer norm backward as batch norm's compact formula on the transposes."""
    xhat, inv_std, gamma = cache
    gt, xt = (dout * gamma).T, xhat.T
    d = gt.shape[0]
    dxt = inv_std.T / d * (d * gt - gt.sum(axis=0) - xt * (gt * xt).sum(axis=0))
    return dxt.T, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
''',
    ),
]
