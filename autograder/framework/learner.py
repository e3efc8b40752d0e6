"""``learner``: what a check may ask of the learner's code, and its in-kernel implementation.

The sandboxed implementation is :class:`autograder.remote.RemoteLearner`; both give the same
answers, so a check is written once (see :mod:`autograder.checks` for the rules).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from bplib.gradcheck import CheckError

from .results import error_sentence

__all__ = ["HELPER_GLOBALS", "InKernelLearner", "Learner", "LearnerError", "helper"]


class LearnerError(CheckError):
    """The learner's code raised an exception while a check called it."""

    def __init__(self, where: str, exc_type: str, message: str) -> None:
        self.where, self.exc_type, self.exc_message = where, exc_type, message
        if exc_type == "NotImplementedError":
            text = f"not implemented yet: fill in the answer cell `{where}`"
        else:
            text = f"your `{where}` stopped with an error — {error_sentence(exc_type, message)}"
        super().__init__(text)


class Learner(Protocol):
    """What a check may ask of the learner's code (see :mod:`autograder.checks`)."""

    def __getattr__(self, name: str) -> Any: ...

    def function(self, source: str) -> Callable[..., Any]: ...

    def neutral(self, name: str) -> Any: ...


# Names a check's ``learner.function(source)`` may use. The helper is defined in the check's
# process, both ways (in the sandbox way, the learner's code gets a callback to it).
HELPER_GLOBALS: dict[str, Any] = {"np": np, "math": math}


def helper(source: str) -> Callable[..., Any]:
    """A check's helper defined from its own source, in this process (never the learner's)."""
    return eval(source, dict(HELPER_GLOBALS))  # the check's own source, never the learner's


class InKernelLearner:
    """``learner`` over a notebook's globals: the learner's objects, called in this process."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._namespace:
            raise CheckError(f"`{name}` is not defined: run its answer cell (and the cells above it) first")
        obj = self._namespace[name]
        if callable(obj) and not isinstance(obj, type):
            return _reporting(name, obj)
        return obj

    def function(self, source: str) -> Callable[..., Any]:
        return helper(source)

    def neutral(self, name: str) -> Any:
        from autograder.neutral import NEUTRAL

        return NEUTRAL[name]


def _reporting(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CheckError:
            raise
        except Exception as exc:  # the learner's bug, reported as a lost point, not a crash
            raise LearnerError(name, type(exc).__name__, str(exc)) from None

    return call
