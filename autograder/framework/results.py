"""Taking a learner's result apart before judging it, with a reason a learner can act on.

A check never reduces a result (``argmax``, ``max``, indexing) before these have said it is a
numeric array of the expected shape, so a wrong result is reported as what is wrong with it
("out has shape (0, 3), expected (4, 3)"), never as the grader's own exception. Nothing here
names an internal type: a learner's object is called by its own class name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bplib.gradcheck import CheckError

__all__ = ["as_array", "as_tuple", "describe", "kept", "unusable"]


def describe(value: Any) -> str:
    """What ``value`` is, in a learner's words: ``"None"``, ``"a tuple of 3 items"``, ``"a Value"``."""
    if value is None:
        return "None"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, bool | int | float | np.number):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))[:6]}"
    # a learner's object seen through the sandbox names the learner's class, not the proxy's
    name = value.learner_type if isinstance(getattr(type(value), "learner_type", None), property) else None
    name = name or type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} object"


def unusable(exc: BaseException) -> str:
    """The reason given when a check trips over a result it did not expect (a check's own bug,
    or a result of a form no check foresaw): what to look at, not the grader's exception."""
    return (
        "your result could not be checked: it does not have the form the docstring describes "
        "(check the type, the shape and that the values are numbers; print it on the "
        f"notebook's example to compare) [grader: {type(exc).__name__}]"
    )


def as_array(
    value: Any, what: str, *, shape: Sequence[int] | None = None, finite: bool = False
) -> np.ndarray:
    """``value`` as a float64 array, or a :class:`CheckError` saying what is wrong with it.

    ``shape``: the shape it must have; ``finite``: no NaN or infinity allowed."""
    if value is None:
        raise CheckError(f"{what} is None: is a `return` missing?")
    if isinstance(value, str | dict):
        raise CheckError(f"{what} must be a numeric array, got {describe(value)}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"{what} must be a numeric array, got {describe(value)}") from None
    if shape is not None and array.shape != tuple(shape):
        hint = ""
        if array.size == 0:
            hint = " (it is empty)"
        elif array.ndim == len(shape) == 2 and array.shape == tuple(shape)[::-1]:
            hint = " (transposed?)"
        raise CheckError(f"{what} has shape {array.shape}, expected {tuple(shape)}{hint}")
    if finite and array.size and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise CheckError(f"{what} has {bad} entries that are NaN or infinite")
    return array


def as_tuple(result: Any, function: str, names: Sequence[str]) -> tuple[Any, ...]:
    """The values of a function that must return ``tuple(names)``; a teaching error otherwise."""
    want = f"({', '.join(names)})" if len(names) > 1 else names[0]
    if result is None:
        raise CheckError(f"{function} returned None: is a `return` missing?")
    if not isinstance(result, tuple | list) or len(result) != len(names):
        raise CheckError(f"{function} must return {want}, got {describe(result)}")
    return tuple(result)


def kept(given: Sequence[Any], originals: Sequence[np.ndarray], names: Sequence[str]) -> str | None:
    """The name of the first array the learner's call changed in place, or ``None``."""
    for name, after, before in zip(names, given, originals, strict=True):
        after = np.asarray(after)
        if after.shape != before.shape or not np.array_equal(after, before, equal_nan=True):
            return name
    return None
