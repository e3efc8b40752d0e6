"""Mutants and alternatives of notebook 10 (optimizers): sgd, sgd_momentum, rmsprop and adam,
all with the signature ``update(w, dw, config) -> (next_w, config)``.

Each mutant is a slip learners make when they first write an update rule; ``loses`` lists every
test cell it must fail, and ``explains`` a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "10-optimizers"

_SGD = '''def sgd(w, dw, config=None):
    """Vanilla SGD."""
'''
_MOM = '''def sgd_momentum(w, dw, config=None):
    """SGD with momentum."""
    if config is None:
        config = {}
'''
_RMS = '''def rmsprop(w, dw, config=None):
    """RMSprop."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-8)
'''
_ADAM = '''def adam(w, dw, config=None):
    """Adam."""
    if config is None:
        config = {}
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    b1, b2, eps = config["beta1"], config["beta2"], config["epsilon"]
'''
_ADAM_LR = '    config.setdefault("learning_rate", 1e-3)\n    lr = config["learning_rate"]\n'
_ADAM_MOMENTS = '''    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
'''
_ADAM_STORE = '    config.update(m=m, v=v, t=t)\n'
_ADAM_STEP = '''    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), config
'''

MUTANTS = [
    # ----------------------------------------------------------------- sgd
    Mutant(
        cell="sgd",
        name="steps uphill: w + learning_rate * dw",
        source=_SGD + '''    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w + config["learning_rate"] * dw, config
''',
        loses=["test_sgd_step"],
        explains="uphill",
    ),
    Mutant(
        cell="sgd",
        name="default learning rate 1e-3",
        source=_SGD + '''    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    return w - config["learning_rate"] * dw, config
''',
        loses=["test_sgd_defaults"],
        explains="the default learning_rate is 0.01",
    ),
    Mutant(
        cell="sgd",
        name="updates w in place",
        source=_SGD + '''    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config
''',
        loses=["test_sgd_step"],
        explains="changed the array w",
    ),
    Mutant(
        cell="sgd",
        name="fails on config=None",
        source=_SGD + '''    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
''',
        loses=["test_sgd_defaults"],
        explains="NoneType",
    ),
    # ----------------------------------------------------------------- sgd_momentum
    Mutant(
        cell="sgd_momentum",
        name="velocity gets + learning_rate * dw",
        source=_MOM + '''    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config
''',
        loses=["test_sgd_momentum_step", "test_sgd_momentum_state"],
        explains="uphill",
    ),
    Mutant(
        cell="sgd_momentum",
        name="velocity not stored in config",
        source=_MOM + '''    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    return w + v, config
''',
        loses=["test_sgd_momentum_state"],
        explains="has no 'velocity'",
    ),
    Mutant(
        cell="sgd_momentum",
        name="moves by the previous step's velocity",
        source=_MOM + '''    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v_old = config.get("velocity", np.zeros_like(w))
    config["velocity"] = config["momentum"] * v_old - config["learning_rate"] * dw
    return w + v_old, config
''',
        loses=["test_sgd_momentum_step", "test_sgd_momentum_state"],
        explains="OLD velocity",
    ),
    Mutant(
        cell="sgd_momentum",
        name="defaults overwrite the caller's hyperparameters",
        source=_MOM + '''    config.update(learning_rate=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config
''',
        loses=["test_sgd_momentum_step", "test_sgd_momentum_state", "test_sgd_momentum_defaults"],
        explains="keep any value the caller gave",
    ),
    Mutant(
        cell="sgd_momentum",
        name="default momentum 0.99",
        source=_MOM + '''    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.99)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config
''',
        loses=["test_sgd_momentum_defaults"],
        explains="the default momentum is 0.9",
    ),
    # ----------------------------------------------------------------- rmsprop
    Mutant(
        cell="rmsprop",
        name="cache update without (1 - decay_rate)",
        source=_RMS + '''    config.setdefault("decay_rate", 0.99)
    cache = config["decay_rate"] * config.get("cache", np.zeros_like(w)) + dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config
''',
        loses=["test_rmsprop_step", "test_rmsprop_state"],
        explains="(1 - decay_rate)",
    ),
    Mutant(
        cell="rmsprop",
        name="epsilon inside the square root",
        source=_RMS + '''    config.setdefault("decay_rate", 0.99)
    rho = config["decay_rate"]
    cache = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"]), config
''',
        loses=["test_rmsprop_step", "test_rmsprop_state"],
        explains="after the square root",
    ),
    Mutant(
        cell="rmsprop",
        name="cache not stored in config",
        source=_RMS + '''    config.setdefault("decay_rate", 0.99)
    rho = config["decay_rate"]
    cache = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config
''',
        loses=["test_rmsprop_state"],
        explains="has no 'cache'",
    ),
    Mutant(
        cell="rmsprop",
        name="no square root",
        source=_RMS + '''    config.setdefault("decay_rate", 0.99)
    rho = config["decay_rate"]
    cache = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (cache + config["epsilon"]), config
''',
        loses=["test_rmsprop_step", "test_rmsprop_state"],
        explains="without the square root",
    ),
    Mutant(
        cell="rmsprop",
        name="default decay rate 0.9",
        source=_RMS + '''    config.setdefault("decay_rate", 0.9)
    rho = config["decay_rate"]
    cache = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw**2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config
''',
        loses=["test_rmsprop_defaults"],
        explains="the default decay_rate is 0.99",
    ),
    # ----------------------------------------------------------------- adam
    Mutant(
        cell="adam",
        name="no bias correction",
        source=_ADAM + _ADAM_LR + _ADAM_MOMENTS + _ADAM_STORE
        + "    return w - lr * m / (np.sqrt(v) + eps), config\n",
        loses=["test_adam_step", "test_adam_state", "test_adam_bias_correction"],
        explains="without bias correction",
    ),
    Mutant(
        cell="adam",
        name="t incremented after the correction",
        source=_ADAM + _ADAM_LR + '''    t = config.get("t", 0)
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    config.update(m=m, v=v, t=t + 1)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), config
''',
        loses=["test_adam_step", "test_adam_state", "test_adam_bias_correction"],
        explains="OLD t",
    ),
    Mutant(
        cell="adam",
        name="m, v and t not stored in config",
        source=_ADAM + _ADAM_LR + _ADAM_MOMENTS + _ADAM_STEP,
        loses=["test_adam_state"],
        explains="has no 'm'",
    ),
    Mutant(
        cell="adam",
        name="v averages dw instead of dw**2",
        source=_ADAM + _ADAM_LR + _ADAM_MOMENTS.replace("(1 - b2) * dw**2", "(1 - b2) * dw")
        + _ADAM_STORE + _ADAM_STEP,
        loses=["test_adam_step", "test_adam_state", "test_adam_bias_correction"],
        explains="SQUARED",
    ),
    Mutant(
        cell="adam",
        name="only m bias-corrected",
        source=_ADAM + _ADAM_LR + _ADAM_MOMENTS + _ADAM_STORE
        + "    return w - lr * (m / (1 - b1**t)) / (np.sqrt(v) + eps), config\n",
        loses=["test_adam_step", "test_adam_state", "test_adam_bias_correction"],
    ),
    Mutant(
        cell="adam",
        name="default learning rate 1e-2",
        source=_ADAM + _ADAM_LR.replace("1e-3", "1e-2") + _ADAM_MOMENTS + _ADAM_STORE
        + _ADAM_STEP,
        loses=["test_adam_defaults"],
        explains="the default learning_rate is 0.001",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="sgd",
        name="a new config dict, no setdefault",
        source='''def sgd(w, dw, config=None):
    """SGD returning a fresh config with the defaults merged in."""
    config = {"learning_rate": 1e-2, **(config or {})}
    return np.subtract(w, config["learning_rate"] * np.asarray(dw)), config
''',
    ),
    Alternative(
        cell="sgd_momentum",
        name="velocity updated in place in its own array",
        source='''def sgd_momentum(w, dw, config=None):
    """Momentum with the velocity kept in one array that is updated in place."""
    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    if "velocity" not in config:
        config["velocity"] = np.zeros(np.shape(w))
    v = np.array(config["velocity"], dtype=np.float64)  # a copy: the caller's array stays as it was
    v *= mu
    v -= lr * dw
    config["velocity"] = v
    return w + v, config
''',
    ),
    Alternative(
        cell="rmsprop",
        name="np.square and np.divide",
        source='''def rmsprop(w, dw, config=None):
    """RMSprop written with numpy ufuncs."""
    if config is None:
        config = {}
    for key, value in (("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    cache = config.get("cache", np.zeros_like(w))
    cache = cache + (1 - config["decay_rate"]) * (np.square(dw) - cache)
    config["cache"] = cache
    step = np.divide(dw, np.sqrt(cache) + config["epsilon"])
    return w - config["learning_rate"] * step, config
''',
    ),
    Alternative(
        cell="adam",
        name="the correction folded into the learning rate",
        source='''def adam(w, dw, config=None):
    """Adam with lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t) (algebraically the same)."""
    if config is None:
        config = {}
    defaults = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    for key, value in defaults.items():
        config.setdefault(key, value)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] = config.get("t", 0) + 1
    t = config["t"]
    config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    root = np.sqrt(1 - b2**t)
    lr_t = config["learning_rate"] * root / (1 - b1**t)
    return w - lr_t * config["m"] / (np.sqrt(config["v"]) + config["epsilon"] * root), config
''',
    ),
]
