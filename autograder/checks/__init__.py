"""Graded checks: one function per graded test cell, written once, run two ways.

A notebook's hidden tests live here, not in the notebook. Each graded test cell of
``solutions/<assignment>/<assignment>.ipynb`` ends with a hidden one-liner::

    ### BEGIN HIDDEN TESTS
    from autograder.checks import run; run("05-linear-layer", "test_affine_backward_dw", globals())
    ### END HIDDEN TESTS

and ``autograder/checks/nb05_linear_layer.py`` defines the check for that cell::

    from autograder.checks import Learner, check

    @check("05-linear-layer", "test_affine_backward_dw")
    def affine_backward_dw(learner: Learner) -> None:
        rng = np.random.default_rng(5)
        x, w, b = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 4)), rng.standard_normal(4)
        check_layer(learner.affine_forward, learner.affine_backward, [x, w, b], names=["x", "w", "b"])

A check talks to the learner's code only through ``learner``: ``learner.name`` is the learner's
function or class called ``name`` (``learner.affine_forward(x, w, b)``), ``learner.function(src)``
is a helper defined from the check's own source (a function to differentiate, say), and
``learner.neutral(name)`` one of the few neutral helpers that must run where the learner's
objects live (:mod:`autograder.neutral`: a random generator, numpy's error state). It passes if
it returns and fails by raising ``AssertionError`` (best: the teaching errors of
:mod:`bplib.gradcheck`), whose message becomes the explanation of the lost points. An exception
raised by the learner's code reaches the check as :class:`LearnerError`.

**Nothing correct lives in the learner's process.** A check's own functions (``learner.function``
helpers, or any Python function or lambda of the check) stay in the check's process: passed to
the learner's code they cross as callbacks, which the learner's code can call but not read, and
which run here (:mod:`autograder.remote`). Reference rules, expected values, correct losses and
gradients are only ever such functions, never ``learner.neutral`` helpers.

The two ways:

* **In the kernel** (the hidden one-liner, run by plain ``nbgrader autograde`` and by anyone
  executing ``solutions/``): ``learner`` wraps the notebook's globals. Cheap and faithful, but
  the learner's code runs in the same process as the verdict.
* **Outside** (``bp-grade`` and ``bp-classroom``): the learner's cells run in a sandboxed process
  and ``learner`` is a proxy that sends inputs there and brings numbers back, so the verdict is
  computed in a process that never ran the learner's code (:mod:`autograder.sandbox`).

Rules for check authors, so both ways agree:

* Cover everything the cell's visible tests check, plus hidden cases (other shapes, seeds, edge
  cases); choose inputs with a fixed seed; never call ``learner`` functions with objects other
  than numbers, numpy arrays, ``None``, strings, tuples/lists/dicts of those, what ``learner``
  itself returned (caches, ``learner.neutral`` helpers and what they made), and the check's
  own functions (callbacks: they run in the check's process, their arguments from the
  learner's code arriving as numbers, arrays and learner objects).
* Arrays and dicts that the learner's function changes in place are changed in the check's copy
  too, after the call and whenever the learner's code calls one of the check's functions (so
  "is x restored?", "are the running means updated?" and a loss that reads an array the
  learner nudges in place can be checked). A learner's function that returns one of the arrays
  or dicts it was given returns the check's own object, as in the kernel.
* Compare against :mod:`bplib` (the reference) computed in the check, never against the
  learner's own other functions.
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from bplib.gradcheck import CheckError

__all__ = [
    "CHECKS",
    "InKernelLearner",
    "Learner",
    "LearnerError",
    "check",
    "checks_for",
    "load_checks",
    "module_name",
    "run",
]

CheckFn = Callable[["Learner"], None]

# (assignment, grade_id) -> check
CHECKS: dict[tuple[str, str], CheckFn] = {}


class LearnerError(CheckError):
    """The learner's code raised an exception while a check called it."""

    def __init__(self, where: str, exc_type: str, message: str) -> None:
        self.where, self.exc_type, self.exc_message = where, exc_type, message
        if exc_type == "NotImplementedError":
            text = f"not implemented yet: fill in the answer cell `{where}`"
        else:
            text = f"`{where}` raised {exc_type}: {message}" if message else f"`{where}` raised {exc_type}"
        super().__init__(text)


class Learner(Protocol):
    """What a check may ask of the learner's code (see the module docstring)."""

    def __getattr__(self, name: str) -> Any: ...

    def function(self, source: str) -> Callable[..., Any]: ...

    def neutral(self, name: str) -> Any: ...


def check(
    assignment: str, grade_id: str, *, timeout: float | None = None
) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check of test cell ``grade_id`` in ``assignment``.

    ``timeout``: seconds one call into the learner's code may take during this check, when the
    default (30 s) is not enough (training a network, say).
    """

    def register(fn: CheckFn) -> CheckFn:
        key = (assignment, grade_id)
        if key in CHECKS and CHECKS[key] is not fn:
            raise ValueError(f"two checks for {assignment}/{grade_id}")
        fn.call_timeout = timeout  # type: ignore[attr-defined]
        CHECKS[key] = fn
        return fn

    return register


def module_name(assignment: str) -> str:
    """``"05-linear-layer"`` -> ``"autograder.checks.nb05_linear_layer"``."""
    if not re.fullmatch(r"\d\d-[a-z0-9-]+", assignment):
        raise ValueError(f"assignment names look like '05-linear-layer', got {assignment!r}")
    return f"{__name__}.nb{assignment.replace('-', '_')}"


def load_checks(assignment: str) -> dict[str, CheckFn]:
    """Import the checks of ``assignment``; return ``{grade_id: check}``."""
    name = module_name(assignment)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name or not checks_for(assignment):  # checks registered by other means
            raise
    return checks_for(assignment)


def checks_for(assignment: str) -> dict[str, CheckFn]:
    """The registered checks of ``assignment`` (already imported), by grade_id."""
    return {gid: fn for (a, gid), fn in CHECKS.items() if a == assignment}


# Names a check's ``learner.function(source)`` may use. The helper is defined in the check's
# process, both ways (in the sandbox way, the learner's code gets a callback to it).
HELPER_GLOBALS: dict[str, Any] = {"np": np, "math": math}


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
        return eval(source, dict(HELPER_GLOBALS))  # the check's own source, never the learner's

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


def run(assignment: str, grade_id: str, namespace: Mapping[str, Any]) -> None:
    """Run the check of ``grade_id`` against the objects in ``namespace`` (a notebook's globals).

    Raises the check's ``AssertionError`` on failure, so nbgrader marks the cell as failed.
    """
    checks = load_checks(assignment)
    if grade_id not in checks:
        raise LookupError(f"no check registered for {assignment}/{grade_id}")
    checks[grade_id](InKernelLearner(namespace))
