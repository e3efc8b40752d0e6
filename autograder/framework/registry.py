"""Which check grades which test cell: the registry, and running one check in the kernel.

A check module (content, :mod:`autograder.checks`) registers each check for an
``(assignment, grade_id)`` with :func:`check`, or a whole table of checks that differ only in
data with :func:`check_table`. :func:`load_checks` imports an assignment's module by its name
(``"05-linear-layer"`` -> ``autograder.checks.nb05_linear_layer``); nothing here imports
content otherwise.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from bplib.gradcheck import CheckError

from .learner import InKernelLearner, Learner
from .results import unusable

__all__ = ["CHECKS", "CONTENT_PACKAGE", "CheckFn", "check", "check_table", "checks_for",
           "load_checks", "module_name", "run"]

CheckFn = Callable[[Learner], None]

# The package whose modules hold the checks, one per notebook (imported by name, on demand).
CONTENT_PACKAGE = "autograder.checks"

# (assignment, grade_id) -> check
CHECKS: dict[tuple[str, str], CheckFn] = {}


def check(
    assignment: str, grade_id: str, *, timeout: float | None = None
) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check of test cell ``grade_id`` in ``assignment``.

    ``timeout``: seconds one call into the learner's code may take during this check, when the
    default (:attr:`autograder.settings.GradingSettings.call_timeout`) is not enough (training
    a network, say).
    """

    def register(fn: CheckFn) -> CheckFn:
        key = (assignment, grade_id)
        if key in CHECKS and CHECKS[key] is not fn:
            raise ValueError(f"two checks for {assignment}/{grade_id}")
        fn.call_timeout = timeout  # type: ignore[attr-defined]
        CHECKS[key] = fn
        return fn

    return register


def check_table(assignment: str, table: Mapping[str, CheckFn]) -> None:
    """Register one check per row of ``table`` (``{grade_id: check}``), e.g. checks made with
    :func:`functools.partial` from one body and each row's data."""
    for grade_id, fn in table.items():
        check(assignment, grade_id)(fn)


def module_name(assignment: str) -> str:
    """``"05-linear-layer"`` -> ``"autograder.checks.nb05_linear_layer"``."""
    if not re.fullmatch(r"\d\d-[a-z0-9-]+", assignment):
        raise ValueError(f"assignment names look like '05-linear-layer', got {assignment!r}")
    return f"{CONTENT_PACKAGE}.nb{assignment.replace('-', '_')}"


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


def run(assignment: str, grade_id: str, namespace: Mapping[str, Any]) -> None:
    """Run the check of ``grade_id`` against the objects in ``namespace`` (a notebook's globals).

    Raises the check's ``AssertionError`` on failure, so nbgrader marks the cell as failed; a
    check that trips over an unforeseen result fails with the same reason as outside the kernel.
    """
    checks = load_checks(assignment)
    if grade_id not in checks:
        raise LookupError(f"no check registered for {assignment}/{grade_id}")
    try:
        checks[grade_id](InKernelLearner(namespace))
    except AssertionError:
        raise
    except Exception as exc:  # a result of a form the check did not foresee
        raise CheckError(unusable(exc)) from None
