"""Does a learner read the same diagnosis in the notebook as in the grade?

For every mutant of the corpus (``tests/mutants/``) the notebook is run the way a learner runs it,
top to bottom in one namespace of this process (hidden tests left out, plots on Agg, widgets not
shown), and every test cell the mutant loses is graded by its hidden check in the same namespace
(:class:`InKernelLearner`, as the hidden one-liner ``run(...)`` does). A known mistake is named by
one line of the catalogue, ``hint: yours is <message>`` (:mod:`autograder.mistakes`); whenever
either side names one, the other must name the same. A generic hint (about the numbers of one
case, such as "3 of 4 entries are wrong") may differ, as the cases differ.

A visible test that passes where the hidden check fails is allowed (hidden cases probe what the
visible ones do not, such as an input exactly at a kink), but never for a mutant the catalogue
names in the grade *and* whose visible test runs the very inputs the mistake shows on.

The capstone's accuracy cells (:data:`UNCOMPARED`) are left out of the comparison, so that its
share of this test stays well under a minute: each would train a network twice per mutant (the
notebook's training cell, and the grade's own training), seconds each. Nothing is lost: a count
of right digits names no catalogue mistake on either side (the visible cells assert a number,
and the hidden reasons hold no catalogue line, ``autograder/checks/nb16_capstone.py``). A
capstone mutant is run only as far as the last *other* cell it loses, which comes before the
training section; one that loses only accuracy cells is not run here (its grade is compared in
``tests/test_grading_soundness.py``).
"""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache

import matplotlib
import nbformat
import pytest
from mutants import Corpus, Mutant, discover

from autograder.framework import InKernelLearner, load_checks
from autograder.sandbox import strip_magics
from autograder.settings import SOLUTIONS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

HIDDEN = "### BEGIN HIDDEN TESTS"
CATALOGUE = re.compile(r"\n  hint: (yours is .*)", re.S)
CORPORA = discover()
# Test cells not compared, by assignment: the capstone's accuracy cells train a network.
UNCOMPARED = {"16-capstone": {"test_accuracy_90", "test_accuracy_95", "test_accuracy_97"}}


def catalogue_hint(text: str | None) -> str | None:
    """The catalogue's line in a failure message (up to the next line), or None."""
    found = CATALOGUE.search(text or "")
    return found.group(1).split("\n")[0].strip() if found else None


@cache
def _cells(assignment: str, notebook: str) -> list[tuple[dict, str]]:
    nb = nbformat.read(SOLUTIONS / assignment / f"{notebook}.ipynb", as_version=4)
    return [(dict(c.metadata.get("nbgrader", {})), c.source) for c in nb.cells
            if c.cell_type == "code"]


def compared(corpus: Corpus, mutant: Mutant) -> list[str]:
    """The test cells ``mutant`` loses whose hints are compared (all but :data:`UNCOMPARED`)."""
    return [gid for gid in mutant.loses if gid not in UNCOMPARED.get(corpus.assignment, set())]


def run_as_learner(corpus: Corpus, mutant: Mutant) -> tuple[dict[str, str | None], dict]:
    """(test grade_id -> the visible test's failure or None, the namespace at the end), for the
    notebook run top to bottom as far as the last compared test cell ``mutant`` loses."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    visible: dict[str, str | None] = {}
    cells = _cells(corpus.assignment, corpus.notebook)
    lost = compared(corpus, mutant)
    last = max(i for i, (meta, _) in enumerate(cells) if meta.get("grade_id") in lost)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for meta, source in cells[: last + 1]:  # up to the last cell it loses, as a learner would
            if meta.get("solution") and meta.get("grade_id") == mutant.cell:
                source = mutant.source
            try:
                exec(compile(strip_magics(source.split(HIDDEN)[0]), "<cell>", "exec"), namespace)
                error = None
            except Exception as exc:  # noqa: BLE001 - a failing cell is what the learner sees
                error = f"{type(exc).__name__}: {exc}"
            if meta.get("grade") and not meta.get("solution"):
                visible[meta["grade_id"]] = error
            plt.close("all")
    return visible, namespace


def graded(assignment: str, namespace: dict, grade_id: str) -> str:
    """The hidden check's reason for ``grade_id`` ("" when it passes)."""
    check = load_checks(assignment)[grade_id]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            check(InKernelLearner(namespace))
        except Exception as exc:  # noqa: BLE001 - every failure has a reason to compare
            return str(exc) or type(exc).__name__
    return ""


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda c: c.module)
def test_do_the_visible_test_and_the_grade_name_the_same_mistake(corpus: Corpus):
    problems = []
    for mutant in corpus.mutants:
        if not compared(corpus, mutant):
            continue
        visible, namespace = run_as_learner(corpus, mutant)
        for gid in compared(corpus, mutant):
            grade = graded(corpus.assignment, namespace, gid)
            seen, named = catalogue_hint(visible[gid]), catalogue_hint(grade)
            if (seen or named) and seen != named:
                problems.append(
                    f"{mutant.cell}: {mutant.name} [{gid}]\n  notebook: {seen or visible[gid]!r:.300}"
                    f"\n  grade:    {named or grade!r:.300}")
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems)


def test_does_the_comparison_fail_when_the_two_sides_name_different_mistakes():
    """Negative control of :func:`catalogue_hint`: different lines differ, generic ones vanish."""
    a = "out is wrong\n  hint: yours is x·W without the bias: add b"
    b = "out is wrong in 4 entries\n  hint: yours is x·W − b: the bias is added"
    assert catalogue_hint(a) != catalogue_hint(b)
    assert catalogue_hint(a) == "yours is x·W without the bias: add b"
    assert catalogue_hint("dw is wrong\n  hint: 3 of 4 entries are wrong") is None
