"""The only check helpers that run inside a learner's process: neutral constructors and drivers.

The rule: **nothing that embodies a correct answer lives in the learner's process.** Reference
rules, expected values, correct losses and gradients, functions whose derivatives are graded: a
check keeps them in the grader, and the learner's code reaches them only as callbacks
(:mod:`autograder.remote`), which it can call but not read, and which expire with their check.

A few helpers must run where the learner's objects live, because what they make or see cannot
cross the wire: a numpy ``Generator`` the learner's code draws from, a generator the learner
returned (listed where it lives), numpy's floating-point error state while the learner's code
runs. They are listed here, by name, and carry no answer: each only constructs or calls.
A check gets them with ``learner.neutral(name)``, in the kernel as in the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["NEUTRAL"]


def rng(seed: int) -> np.random.Generator:
    """A numpy random generator with this seed."""
    return np.random.default_rng(seed)


def pairs(items: Iterable[Any]) -> list[tuple[Any, ...]]:
    """An iterable (a generator the learner returned) listed as a list of tuples."""
    return [tuple(item) for item in items]


def under_errstate(f: Callable[..., Any], mode: str, *args: Any) -> Any:
    """``f(*args)`` with numpy's overflow and invalid-value errors set to ``mode``."""
    with np.errstate(over=mode, invalid=mode):
        return f(*args)


NEUTRAL: dict[str, Callable[..., Any]] = {
    "rng": rng,
    "pairs": pairs,
    "under_errstate": under_errstate,
}
