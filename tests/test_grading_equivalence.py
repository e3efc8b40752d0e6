"""Do both ways of running a check give the same verdicts? Fast, without nbgrader.

Every entry of the mutant corpus (``tests/mutants/``), the reference solution and the untouched
release are graded twice per test cell: in the kernel's way (the answer cells run in this
process, the checks against their namespace through :class:`InKernelLearner`, as the hidden
one-liner ``run(...)`` does) and the sandbox way (:func:`autograder.verdict.external_verdicts`).
The two must agree cell by cell, and both must say what the corpus says: a mutant fails exactly
its ``loses``, an alternative and the reference pass everything, the release passes nothing.
The full nbgrader run of the same corpus is ``tests/test_grading_soundness.py``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import pytest
from mutants import Corpus, discover

from autograder.framework import InKernelLearner, load_checks
from autograder.normalize import fill_answers, reference_answers
from autograder.sandbox import strip_magics
from autograder.settings import COURSE, SOLUTIONS
from autograder.verdict import external_verdicts, source_layout

CORPORA = discover()
# The capstone trains a network per check: graded by its own soundness and integrity tests.
FAST = [c for c in CORPORA if c.assignment != "16-capstone"]


def _in_kernel(assignment: str, setup: list[str], answers: dict[str, str],
               test_ids: list[str]) -> dict[str, tuple[bool, str]]:
    """grade_id -> (passed, reason), the checks run against a namespace of this process."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    checks = load_checks(assignment)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for source in [*setup, *answers.values()]:
            try:
                exec(compile(strip_magics(source), "<cell>", "exec"), namespace)
            except Exception:  # noqa: BLE001 - an answer cell's error is the learner's
                pass
        verdicts = {}
        for gid in test_ids:
            try:
                checks[gid](InKernelLearner(namespace))
            except AssertionError as exc:
                verdicts[gid] = (False, str(exc))
            except Exception as exc:  # noqa: BLE001 - an error fails the cell, as in nbgrader
                verdicts[gid] = (False, f"{type(exc).__name__}: {exc}")
            else:
                verdicts[gid] = (True, "")
    return verdicts


def _entries(corpus: Corpus) -> list[tuple[str, dict[str, str] | None, set[str] | None, str | None]]:
    """(learner, answers or None for the untouched release, cells it must lose, explains)."""
    source = nbformat.read(SOLUTIONS / corpus.assignment / f"{corpus.notebook}.ipynb", as_version=4)
    answers = reference_answers(source)
    rows: list[tuple[str, dict[str, str] | None, set[str] | None, str | None]] = [
        ("reference", answers, set(), None),
        ("untouched", None, None, None),
    ]
    for m in corpus.mutants:
        rows.append((f"mutant {m.cell}: {m.name}", {**answers, m.cell: m.source}, set(m.loses),
                     m.explains))
    for a in corpus.alternatives:
        rows.append((f"alternative {a.cell}: {a.name}", {**answers, a.cell: a.source}, set(), None))
    return rows


@pytest.mark.parametrize("corpus", FAST, ids=lambda c: c.module)
def test_do_the_kernel_and_the_sandbox_agree_on_every_corpus_entry(corpus: Corpus, tmp_path: Path):
    src_path = SOLUTIONS / corpus.assignment / f"{corpus.notebook}.ipynb"
    released = nbformat.read(COURSE / corpus.assignment / f"{corpus.notebook}.ipynb", as_version=4)
    setup, _, test_ids = source_layout(nbformat.read(src_path, as_version=4))
    problems = []
    for k, (learner, answers, loses, explains) in enumerate(_entries(corpus)):
        path = tmp_path / f"{k}.ipynb"
        nb = released if answers is None else fill_answers(released, answers)
        nbformat.write(nb, path)
        outside = {v.grade_id: (v.passed, v.explanation)
                   for v in external_verdicts(corpus.assignment, src_path, path, call_timeout=20)[0]}
        mine = _released_answers(released) if answers is None else answers  # stubs, or filled
        inside = _in_kernel(corpus.assignment, setup, mine, test_ids)
        for gid in test_ids:
            (a, why_a), (b, why_b) = inside[gid], outside[gid]
            if a != b:
                problems.append(f"{learner}: {gid}: in the kernel {a} ({why_a[:200]}), "
                                f"outside {b} ({why_b[:200]})")
            expected = gid not in loses if loses is not None else False
            if b != expected:
                problems.append(f"{learner}: {gid}: {'passed' if b else 'failed'}, expected "
                                f"{'pass' if expected else 'fail'} ({why_b[:300]})")
        if explains and loses:
            lost = " | ".join(outside[g][1] for g in loses)
            if explains.lower() not in lost.lower():
                problems.append(f"{learner}: no lost part explains {explains!r}: {lost[:400]}")
    assert not problems, "\n".join(problems)


def _released_answers(released: nbformat.NotebookNode) -> dict[str, str]:
    return {
        c.metadata.nbgrader.grade_id: c.source
        for c in released.cells
        if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
