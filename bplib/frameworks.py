"""The optional "check against PyTorch" cells: import a framework or say how to get it, compare.

Several notebooks end a section with an ungraded cell that builds the same computation in
PyTorch (or Keras 3 on PyTorch's backend) and compares its values and gradients with the
learner's, in float64. Those cells share three things, defined here once:

* :func:`import_torch` and :func:`import_keras` return the framework, ready for these small
  comparisons (one thread), or ``None`` after printing how to install it, so that a notebook still
  runs top to bottom without it;
* :func:`compare` prints one line per quantity (shape, equal bit for bit, close within a
  tolerance, the largest difference) and returns the largest difference, for the cell to assert on.

Nothing here computes a value a notebook grades: the frameworks do, and this module only imports
them and compares arrays.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["INSTALL_HINT", "compare", "import_keras", "import_torch"]

INSTALL_HINT = ("install its CPU build with `pip install torch keras`, or, in the course folder, "
                "`pip install -e \".[frameworks]\"`, then run this cell again")


def _missing(*names: str) -> list[str]:
    """The modules of ``names`` that are not installed, or installed but fail to import."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def import_torch(skipping: str = "this comparison", threads: int = 1) -> Any | None:
    """PyTorch, set to ``threads`` threads, or ``None`` after printing how to install it.

    One thread is the default: the arrays of these comparisons are small, and on a busy 2-core
    machine a second thread that waits for a core makes every operation many times slower.
    """
    if _missing("torch"):
        print(f"PyTorch is not installed, so {skipping} is skipped. To run it, {INSTALL_HINT}.")
        return None
    torch = importlib.import_module("torch")
    torch.set_num_threads(threads)
    return torch


def import_keras(skipping: str = "this comparison", threads: int = 1) -> Any | None:
    """Keras 3 on PyTorch's backend, or ``None`` after printing why not and how to get it.

    Keras reads its backend once, when it is first imported: if another backend was imported
    earlier in this kernel, it says to restart the kernel and returns ``None``.
    """
    os.environ["KERAS_BACKEND"] = "torch"  # read once, when keras is first imported
    missing = _missing("keras", "torch")
    if missing:
        print(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed "
              f"(Keras runs here on PyTorch's backend), so {skipping} is skipped. To run it, "
              f"{INSTALL_HINT}.")
        return None
    import_torch(skipping, threads)
    keras = importlib.import_module("keras")
    if keras.backend.backend() != "torch":
        print(f"Keras was already imported with the {keras.backend.backend()!r} backend in this "
              f"kernel, so {skipping} is skipped: restart the kernel and run the notebook again.")
        return None
    return keras


def compare(rows: Iterable[tuple[str, Any, Any]], tol: float = 1e-10) -> float:
    """Print one line per ``(name, yours, theirs)``; return the largest absolute difference.

    ``yours`` and ``theirs`` are numbers or arrays of the same shape (a torch tensor goes through
    ``.detach().numpy()`` first). Each line shows the shape, whether the two are equal bit for
    bit ("exact"), whether they agree within ``tol`` (absolute and relative, as ``np.allclose``)
    and their largest difference. Two shapes that differ raise a ``ValueError`` naming both.
    """
    print(f"{'quantity':18} {'shape':10} {'exact':>6} {'close (' + format(tol, '.0e') + ')':>13} "
          f"{'max difference':>15}")
    worst = 0.0
    for name, mine, theirs in rows:
        mine, theirs = _array(mine), _array(theirs)
        if mine.shape != theirs.shape:
            raise ValueError(f"{name}: yours has shape {mine.shape}, theirs {theirs.shape}")
        difference = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
        if np.isnan(difference):  # a NaN on either side: never close, and never hidden by max()
            difference = 0.0 if np.array_equal(mine, theirs, equal_nan=True) else np.inf
        exact = bool(np.array_equal(mine, theirs))
        near = bool(np.allclose(mine, theirs, rtol=tol, atol=tol))
        print(f"{name:18} {str(mine.shape):10} {str(exact):>6} {str(near):>13} {difference:15.1e}")
        worst = max(worst, difference)
    return worst


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().numpy()
    return np.asarray(value, dtype=np.float64)
