"""Graded checks: one function per graded test cell, written once, run two ways.

A notebook's hidden tests live here, not in the notebook. Each graded test cell of
``solutions/<assignment>/<assignment>.ipynb`` ends with a hidden one-liner::

    ### BEGIN HIDDEN TESTS
    from autograder.checks import run; run("05-linear-layer", "test_affine_backward_dw", globals())
    ### END HIDDEN TESTS

and ``autograder/checks/nb05_linear_layer.py`` defines the check for that cell::

    from autograder.framework import Learner, check

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
* Name a known mistake from the catalogue (:mod:`autograder.mistakes`), not with a local copy
  of its formula; take results apart with :mod:`autograder.framework.results` before reducing
  them, and compare with :mod:`autograder.numeric`.

This package is content: the machinery (registry, ``learner``, results) is
:mod:`autograder.framework`, re-exported here so that the hidden one-liners and older check
modules keep working.
"""

from __future__ import annotations

from typing import Any

from autograder import framework as _framework

# The framework's names, reachable here too: ``from autograder.checks import run`` (the hidden
# one-liners), ``Learner``, ``check``, ... (check modules written before the split).
__all__ = list(_framework.__all__)


def __getattr__(name: str) -> Any:
    if name in _framework.__all__:
        return getattr(_framework, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
