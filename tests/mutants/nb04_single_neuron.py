"""Mutants and alternatives of notebook 04 (single neuron): forward pass, binary cross-entropy,
backward pass and one step of gradient descent.

Each mutant is a mistake learners make (many of them copied from tutorials); ``loses`` lists
every test cell it must fail, and ``explains`` a phrase of the hint the failing check gives.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "04-single-neuron"

_FWD = '''def neuron_forward(x, w, b):
    """a = sigmoid(x @ w + b); cache (x, a)."""
'''
_BCE = '''def bce_loss(a, y):
    """Mean binary cross-entropy."""
'''
_BWD = '''def neuron_backward(y, cache):
    """(dw, db) of the mean binary cross-entropy."""
    x, a = cache
'''
_GD = '''def gd_step(w, b, dw, db, lr):
    """One step of gradient descent."""
'''
_STABLE = '''    z = x @ w + b
    e = np.exp(-np.abs(z))
    a = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
'''
_BACKWARD_CELLS = ["test_neuron_backward_dw", "test_neuron_backward_db"]

MUTANTS = [
    # ----------------------------------------------------------------- neuron_forward
    Mutant(
        cell="neuron_forward",
        name="exp(+z): sigmoid(-z)",
        source=_FWD + "    a = 1.0 / (1.0 + np.exp(x @ w + b))\n    return a, (x, a)\n",
        loses=["test_neuron_forward_values", "test_neuron_forward_large"],
        explains="the exponent is -z",
    ),
    Mutant(
        cell="neuron_forward",
        name="bias forgotten",
        source=_FWD + "    z = x @ w\n    e = np.exp(-np.abs(z))\n"
        "    a = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n    return a, (x, a)\n",
        loses=["test_neuron_forward_values", "test_neuron_forward_large"],
        explains="bias b is missing",
    ),
    Mutant(
        cell="neuron_forward",
        name="exp(z) / (1 + exp(z)) overflows to nan",
        source=_FWD + "    e = np.exp(x @ w + b)\n    a = e / (1.0 + e)\n    return a, (x, a)\n",
        loses=["test_neuron_forward_large"],
        explains="inf / inf",
    ),
    Mutant(
        cell="neuron_forward",
        name="caches z instead of a",
        source=_FWD + _STABLE + "    return a, (x, z)\n",
        loses=["test_neuron_forward_cache"],
        explains="cache the activation a",
    ),
    Mutant(
        cell="neuron_forward",
        name="no sigmoid: returns z",
        source=_FWD + "    z = x @ w + b\n    return z, (x, z)\n",
        loses=["test_neuron_forward_values", "test_neuron_forward_large"],
        explains="apply the sigmoid",
    ),
    # ----------------------------------------------------------------- bce_loss
    Mutant(
        cell="bce_loss",
        name="sum instead of mean",
        source=_BCE + "    return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)))\n",
        loses=["test_bce_loss_values", "test_bce_loss_confident"],
        explains="the SUM over the batch",
    ),
    Mutant(
        cell="bce_loss",
        name="minus sign missing",
        source=_BCE + "    return float(np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))\n",
        loses=["test_bce_loss_values", "test_bce_loss_confident"],
        explains="minus sign is missing",
    ),
    Mutant(
        cell="bce_loss",
        name="y and 1 - y swapped",
        source=_BCE + "    return float(-np.mean((1 - y) * np.log(a) + y * np.log(1 - a)))\n",
        loses=["test_bce_loss_values", "test_bce_loss_confident"],
        explains="swapped",
    ),
    Mutant(
        cell="bce_loss",
        name="'safe' clipping to [0.01, 0.99]",
        source=_BCE + "    a = np.clip(a, 0.01, 0.99)\n"
        "    return float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))\n",
        loses=["test_bce_loss_confident"],
        explains="clipping a",
    ),
    Mutant(
        cell="bce_loss",
        name="mean squared error",
        source=_BCE + "    return float(np.mean((a - y) ** 2))\n",
        loses=["test_bce_loss_values", "test_bce_loss_confident"],
        explains="mean squared error",
    ),
    # ----------------------------------------------------------------- neuron_backward
    Mutant(
        cell="neuron_backward",
        name="error y - a",
        source=_BWD + "    dz = (y - a) / len(y)\n    return x.T @ dz, float(dz.sum())\n",
        loses=_BACKWARD_CELLS,
        explains="wrong sign",
    ),
    Mutant(
        cell="neuron_backward",
        name="missing 1/N",
        source=_BWD + "    dz = a - y\n    return x.T @ dz, float(dz.sum())\n",
        loses=_BACKWARD_CELLS,
        explains="times too large",
    ),
    Mutant(
        cell="neuron_backward",
        name="extra sigmoid derivative a(1 - a)",
        source=_BWD + "    dz = (a - y) * a * (1 - a) / len(y)\n    return x.T @ dz, float(dz.sum())\n",
        loses=_BACKWARD_CELLS,
        explains="extra factor a·(1 - a)",
    ),
    Mutant(
        cell="neuron_backward",
        name="db not summed over the batch",
        source=_BWD + "    dz = (a - y) / len(y)\n    return x.T @ dz, dz\n",
        loses=["test_neuron_backward_db"],
        explains="batch axis",
    ),
    Mutant(
        cell="neuron_backward",
        name="dw not summed over the batch",
        source=_BWD + "    dz = (a - y) / len(y)\n    return x * dz[:, None], float(dz.sum())\n",
        loses=["test_neuron_backward_dw"],
        explains="batch axis",
    ),
    # ----------------------------------------------------------------- gd_step
    Mutant(
        cell="gd_step",
        name="plus instead of minus",
        source=_GD + "    return w + lr * dw, b + lr * db\n",
        loses=["test_gd_step_values"],
        explains="UPHILL",
    ),
    Mutant(
        cell="gd_step",
        name="updates w in place",
        source=_GD + "    w -= lr * dw\n    return w, b - lr * db\n",
        loses=["test_gd_step_inputs_unchanged"],
        explains="in place",
    ),
    Mutant(
        cell="gd_step",
        name="bias not updated",
        source=_GD + "    return w - lr * dw, b\n",
        loses=["test_gd_step_values"],
        explains="bias did not move",
    ),
    Mutant(
        cell="gd_step",
        name="learning rate ignored",
        source=_GD + "    return w - dw, b - db\n",
        loses=["test_gd_step_values"],
        explains="multiply the gradients by lr",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="neuron_forward",
        name="logaddexp form, dot product",
        source=_FWD
        + "    z = np.dot(x, w) + b\n    a = np.exp(-np.logaddexp(0.0, -z))\n    return a, (x, a)\n",
    ),
    Alternative(
        cell="bce_loss",
        name="picks the log-probability of the label, tiny clip",
        source=_BCE
        + "    a = np.clip(np.asarray(a, dtype=float), 1e-12, 1 - 1e-12)\n"
        "    right = np.where(np.asarray(y) == 1, a, 1.0 - a)\n"
        "    return -np.log(right).mean()\n",
    ),
    Alternative(
        cell="neuron_backward",
        name="einsum and a mean for db",
        source=_BWD
        + "    err = a - y\n"
        "    return np.einsum('nd,n->d', x, err) / len(err), np.mean(err)\n",
    ),
    Alternative(
        cell="gd_step",
        name="copies, then updates in place",
        source=_GD + "    w = w.copy()\n    w -= lr * dw\n    b = b - lr * db\n    return w, b\n",
    ),
]
