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

__all__ = ["as_array", "as_tuple", "describe", "error_sentence", "kept", "unusable"]


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
    del exc  # the grader's own exception says nothing a learner can act on
    return (
        "your result could not be checked: it does not have the form the docstring describes "
        "(check the type, the shape and that the values are numbers; print it on the "
        "notebook's example to compare)"
    )


# What Python's errors mean, in a learner's words: a reason names the problem, not a class.
_ERRORS = {
    "ArithmeticError": "an arithmetic error",
    "AssertionError": "an assertion in your code failed",
    "AttributeError": "an object has no attribute of that name",
    "FloatingPointError": "a floating-point overflow or invalid value",
    "ImportError": "an import failed",
    "IndentationError": "the indentation is wrong",
    "IndexError": "an index is out of range",
    "KeyError": "a dictionary has no such key",
    "LinAlgError": "a linear-algebra routine failed",
    "MemoryError": "it ran out of memory",
    "ModuleNotFoundError": "a module that is not available was imported",
    "NameError": "a name is used that is not defined",
    "OverflowError": "a number is too large",
    "RecursionError": "the recursion went too deep (a function that keeps calling itself?)",
    "ReferenceUseError": "it called the course's reference implementation",
    "StopIteration": "an iterator ran out",
    "SyntaxError": "the code is not valid Python",
    "TypeError": "a value of the wrong type was used (for example None, or a tuple for an array)",
    "UnboundLocalError": "a local variable is used before it is assigned",
    "ValueError": "a value could not be used (often arrays whose shapes do not fit together)",
    "WireError": "the result could not be sent to the grader (too large, too deeply nested, or "
    "not plain data)",
    "ZeroDivisionError": "a division by zero",
}


def error_sentence(exc_type: str, message: str) -> str:
    """What an error raised by the learner's code means, with its message: never the bare
    exception class (``"a division by zero: float division by zero"``)."""
    what = _ERRORS.get(exc_type, "an error")
    message = message.strip()
    return f"{what}: {message}" if message and message != exc_type else what


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
