"""The check framework: registry, the ``learner`` proxy, result handling; no check content.

Content (each notebook's checks, :mod:`autograder.checks`; the mistake catalogue,
:mod:`autograder.mistakes`) imports this package, never the reverse. The sandboxed ``learner``
is :mod:`autograder.remote`; numbers are compared with :mod:`autograder.numeric`.
"""

from __future__ import annotations

from .learner import HELPER_GLOBALS, InKernelLearner, Learner, LearnerError, helper
from .registry import (
    CHECKS,
    CONTENT_PACKAGE,
    CheckFn,
    check,
    check_table,
    checks_for,
    load_checks,
    module_name,
    run,
)
from .results import as_array, as_tuple, describe, error_sentence, kept, unusable

__all__ = [
    "CHECKS",
    "CONTENT_PACKAGE",
    "HELPER_GLOBALS",
    "CheckFn",
    "InKernelLearner",
    "Learner",
    "LearnerError",
    "as_array",
    "as_tuple",
    "check",
    "check_table",
    "checks_for",
    "describe",
    "error_sentence",
    "helper",
    "kept",
    "load_checks",
    "module_name",
    "run",
    "unusable",
]
