"""Mutants and alternatives of notebook 01 (derivatives): finite differences, relative error and
the numerical gradient.

Each mutant is a mistake learners make with finite differences; ``loses`` lists every test cell
it must fail, and ``explains`` a phrase of the hint the failing check must give.
"""

from __future__ import annotations

from . import Alternative, Mutant

ASSIGNMENT = "01-derivatives"

_FD_HEAD = '''def forward_difference(f, x, h=1e-5):
    """Estimate f'(x) with a forward difference."""
'''
_CD_HEAD = '''def centered_difference(f, x, h=1e-5):
    """Estimate f'(x) with a centered difference."""
'''
_RE_HEAD = '''def rel_error(a, b):
    """Largest elementwise relative error."""
'''
_NG_HEAD = '''def numerical_gradient(f, x, h=1e-5):
    """Centered-difference gradient of a scalar function of an array."""
'''

MUTANTS = [
    # ----------------------------------------------------------------- forward_difference
    Mutant(
        cell="forward_difference",
        name="backward difference",
        source=_FD_HEAD + "    return (f(x) - f(x - h)) / h\n",
        loses=["test_forward_difference_values"],
        explains="backward difference",
    ),
    Mutant(
        cell="forward_difference",
        name="centered formula instead of forward",
        source=_FD_HEAD + "    return (f(x + h) - f(x - h)) / (2 * h)\n",
        loses=["test_forward_difference_values", "test_forward_difference_order"],
        explains="yours is the centered difference",
    ),
    Mutant(
        cell="forward_difference",
        name="not divided by h",
        source=_FD_HEAD + "    return f(x + h) - f(x)\n",
        loses=["test_forward_difference_values", "test_forward_difference_order"],
        explains="not divided by h",
    ),
    Mutant(
        cell="forward_difference",
        name="ignores the h argument",
        source=_FD_HEAD + "    step = 1e-5\n    return (f(x + step) - f(x)) / step\n",
        loses=["test_forward_difference_values", "test_forward_difference_order"],
        explains="instead of the h you were given",
    ),
    # ----------------------------------------------------------------- centered_difference
    Mutant(
        cell="centered_difference",
        name="forward difference instead of centered",
        source=_CD_HEAD + "    return (f(x + h) - f(x)) / h\n",
        loses=[
            "test_centered_difference_values",
            "test_centered_difference_order",
            "test_centered_difference_default_h",
        ],
        explains="yours is the forward difference",
    ),
    Mutant(
        cell="centered_difference",
        name="missing the 2 in 2h",
        source=_CD_HEAD + "    return (f(x + h) - f(x - h)) / h\n",
        loses=[
            "test_centered_difference_values",
            "test_centered_difference_order",
            "test_centered_difference_default_h",
        ],
        explains="2h apart",
    ),
    Mutant(
        cell="centered_difference",
        name="operator precedence: / 2 * h",
        source=_CD_HEAD + "    return (f(x + h) - f(x - h)) / 2 * h\n",
        loses=[
            "test_centered_difference_values",
            "test_centered_difference_order",
            "test_centered_difference_default_h",
        ],
        explains="with the parentheses",
    ),
    Mutant(
        cell="centered_difference",
        name="tiny default step drowned in round-off",
        source=_CD_HEAD.replace("h=1e-5", "h=1e-12")
        + "    return (f(x + h) - f(x - h)) / (2 * h)\n",
        loses=["test_centered_difference_default_h"],
        explains="round-off",
    ),
    Mutant(
        cell="centered_difference",
        name="half steps x +- h/2",
        source=_CD_HEAD + "    return (f(x + h / 2) - f(x - h / 2)) / h\n",
        loses=["test_centered_difference_values"],
        explains="x ± h/2",
    ),
    # ----------------------------------------------------------------- rel_error
    Mutant(
        cell="rel_error",
        name="divides by |a| only",
        source=_RE_HEAD
        + "    a, b = np.asarray(a, float), np.asarray(b, float)\n"
        + "    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a))))\n",
        loses=["test_rel_error_values", "test_rel_error_arrays"],
        explains="divided by |a| only",
    ),
    Mutant(
        cell="rel_error",
        name="mean instead of max",
        source=_RE_HEAD
        + "    a, b = np.asarray(a, float), np.asarray(b, float)\n"
        + "    return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))\n",
        loses=["test_rel_error_arrays"],
        explains="the mean over the entries",
    ),
    Mutant(
        cell="rel_error",
        name="no floor: 0/0",
        source=_RE_HEAD
        + "    a, b = np.asarray(a, float), np.asarray(b, float)\n"
        + "    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))\n",
        loses=["test_rel_error_zeros"],
        explains="0/0",
    ),
    Mutant(
        cell="rel_error",
        name="no absolute value in the numerator",
        source=_RE_HEAD
        + "    a, b = np.asarray(a, float), np.asarray(b, float)\n"
        + "    return float(np.max((a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))\n",
        loses=["test_rel_error_values", "test_rel_error_arrays", "test_rel_error_zeros"],
        explains="take the absolute value",
    ),
    Mutant(
        cell="rel_error",
        name="Python max instead of np.maximum",
        source=_RE_HEAD + "    return float(np.max(abs(a - b) / max(1e-8, abs(a) + abs(b))))\n",
        loses=["test_rel_error_arrays"],
        explains="np.maximum",
    ),
    # ----------------------------------------------------------------- numerical_gradient
    Mutant(
        cell="numerical_gradient",
        name="forward difference per entry",
        source=_NG_HEAD
        + '''    grad = np.zeros(x.shape)
    f0 = float(f(x))
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        grad[ix] = (float(f(x)) - f0) / h
        x[ix] = old
    return grad
''',
        loses=["test_numerical_gradient_values"],
        explains="forward difference",
    ),
    Mutant(
        cell="numerical_gradient",
        name="x not restored",
        source=_NG_HEAD
        + '''    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        f_plus = float(f(x))
        x[ix] = old - h
        f_minus = float(f(x))
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad
''',
        loses=["test_numerical_gradient_values", "test_numerical_gradient_restores_x"],
        explains="restore each entry",
    ),
    Mutant(
        cell="numerical_gradient",
        name="all entries perturbed at once",
        source=_NG_HEAD
        + '''    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        grad[ix] = (float(f(x + h)) - float(f(x - h))) / (2 * h)
    return grad
''',
        loses=[
            "test_numerical_gradient_values",
            "test_numerical_gradient_any_shape",
            "test_numerical_gradient_in_place",
        ],
        explains="nudged all entries of x at once",
    ),
    Mutant(
        cell="numerical_gradient",
        name="nudges a copy, not x in place",
        source=_NG_HEAD
        + '''    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[ix] += h
        x_minus[ix] -= h
        grad[ix] = (float(f(x_plus)) - float(f(x_minus))) / (2 * h)
    return grad
''',
        loses=["test_numerical_gradient_in_place"],
        explains="in place",
    ),
    Mutant(
        cell="numerical_gradient",
        name="loops over rows with range(len(x))",
        source=_NG_HEAD
        + '''    grad = np.zeros(x.shape)
    for i in range(len(x)):
        old = x[i].copy()
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
''',
        loses=["test_numerical_gradient_any_shape"],
        explains="whole rows",
    ),
    Mutant(
        cell="numerical_gradient",
        name="flat gradient for a matrix",
        source=_NG_HEAD
        + '''    grad = []
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f(x))
        flat[i] = old - h
        f_minus = float(f(x))
        flat[i] = old
        grad.append((f_plus - f_minus) / (2 * h))
    return np.array(grad)
''',
        loses=["test_numerical_gradient_any_shape"],
        explains="arranged like x",
    ),
    Mutant(
        cell="numerical_gradient",
        name="ignores the h argument",
        source=_NG_HEAD
        + '''    step = 1e-5
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + step
        f_plus = float(f(x))
        x[ix] = old - step
        f_minus = float(f(x))
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * step)
    return grad
''',
        loses=["test_numerical_gradient_values"],
        explains="instead of the h you were given",
    ),
]

ALTERNATIVES = [
    Alternative(
        cell="forward_difference",
        name="f(x) first, times 1/h",
        source=_FD_HEAD + "    fx = f(x)\n    return (f(x + h) - fx) * (1.0 / h)\n",
    ),
    Alternative(
        cell="centered_difference",
        name="half the difference over h",
        source=_CD_HEAD + "    upper, lower = f(x + h), f(x - h)\n    return 0.5 * (upper - lower) / h\n",
    ),
    Alternative(
        cell="rel_error",
        name="np.clip floor and .max().item()",
        source=_RE_HEAD
        + '''    diff = np.abs(np.subtract(a, b, dtype=np.float64))
    scale = np.clip(np.abs(a) + np.abs(b), 1e-8, None)
    return np.asarray(diff / scale).max().item()
''',
    ),
    Alternative(
        cell="numerical_gradient",
        name="np.nditer with arithmetic restore",
        source=_NG_HEAD
        + '''    grad = np.empty_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        ix = it.multi_index
        x[ix] += h
        f_plus = f(x)
        x[ix] -= 2 * h
        f_minus = f(x)
        x[ix] += h  # back to where it was, up to rounding in the last bit
        grad[ix] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad
''',
    ),
]
