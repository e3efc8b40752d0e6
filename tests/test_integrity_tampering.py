"""Tampering costs only what it touches: inconsistent nbgrader cells no longer fail a whole notebook.

Each learner starts from the reference solution of notebook 05 (linear layer) and does one thing to
the notebook's nbgrader cells that used to make nbgrader's ``OverwriteCells`` raise (``KeyError:
'grade_id'``, "Inconsistent checksums"), so that the whole notebook was "not graded": a duplicated,
re-pointed or renamed cell, another cell claiming a ``grade_id``, flipped flags, a Markdown cell
with a ``grade_id``. Each must be graded, lose exactly the tampered test's points (nothing for an
answer-cell accident) and be flagged with what happened: through ``bp-classroom``'s machinery
(with an honest learner in the same class), ``bp-grade``'s, and a plain ``nbgrader autograde``.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from submissions import BACKWARD, FORWARD, LINEAR, reference_submission, source_notebook

from autograder.classroom import ClassOptions, grade_class
from autograder.consistency import reconcile_cells
from autograder.gradebook import GradedNotebook, Workspace, read_grades
from autograder.report import GRADED, LearnerResult, format_table
from autograder.selfpaced import grade_notebook
from autograder.settings import COURSE, REPO_ROOT, SOLUTIONS
from autograder.verdict import tampered_tests

pytestmark = pytest.mark.slow

ASSIGNMENT = LINEAR
CELL_TIMEOUT = 5
WRONG_FORWARD = "def affine_forward(x, w, b):\n    return x.reshape(x.shape[0], -1) @ w, (x, w)\n"


def _source() -> NotebookNode:
    return source_notebook(ASSIGNMENT)


def _reference() -> NotebookNode:
    return reference_submission(ASSIGNMENT)


def _cell(nb: NotebookNode, gid: str) -> NotebookNode:
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
    return cell


def _copy_after(nb: NotebookNode, gid: str, cell_id: str) -> NotebookNode:
    """A copy of cell ``gid`` pasted right below it (JupyterLab gives a pasted cell a new id)."""
    original = _cell(nb, gid)
    pasted = copy.deepcopy(original)
    pasted.id = cell_id
    nb.cells.insert(nb.cells.index(original) + 1, pasted)
    return pasted


def _meta(gid: str, **flags: object) -> dict:
    meta = {"grade": False, "solution": False, "locked": False, "schema_version": 3, "grade_id": gid}
    return {"nbgrader": {**meta, **flags}}


def _duplicated_test(nb: NotebookNode) -> None:
    _copy_after(nb, "test_affine_backward_db", "pasted-test")


def _duplicated_answer(nb: NotebookNode) -> None:
    # A first, wrong attempt left above the copy the learner went on to fix: the last filled-in
    # copy is graded (what "run all" ends with), not the first.
    first = _cell(nb, "affine_forward")
    _copy_after(nb, "affine_forward", "pasted-answer")
    first.source = WRONG_FORWARD


def _stub_pasted_below_answer(nb: NotebookNode) -> None:
    released = nbformat.read(COURSE / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    stub = copy.deepcopy(_cell(released, "affine_backward"))
    stub.id = "pasted-stub"
    nb.cells.insert(nb.cells.index(_cell(nb, "affine_backward")) + 1, stub)


def _new_cell_claims_test(nb: NotebookNode) -> None:
    cell = nbformat.v4.new_code_cell("print('all good')", metadata=_meta(
        "test_affine_forward_nd", grade=True, locked=True, points=1))  # fmt: skip
    nb.cells.append(cell)


def _new_cell_claims_answer(nb: NotebookNode) -> None:
    cell = nbformat.v4.new_code_cell("scratch = 1", metadata=_meta("affine_backward", solution=True))
    nb.cells.append(cell)


def _repointed_test(nb: NotebookNode) -> None:
    _cell(nb, "test_affine_backward_dx").metadata.nbgrader["grade_id"] = "test_affine_backward_dw"


def _renamed_test(nb: NotebookNode) -> None:
    _cell(nb, "test_affine_backward_dx").metadata.nbgrader["grade_id"] = "test_my_own_dx"


def _renamed_answer(nb: NotebookNode) -> None:
    _cell(nb, "affine_backward").metadata.nbgrader["grade_id"] = "my_backward"


def _flag(gid: str, **flags: object) -> Callable[[NotebookNode], None]:
    def change(nb: NotebookNode) -> None:
        meta = _cell(nb, gid).metadata.nbgrader
        for key, value in flags.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value

    return change


def _markdown_with_grade_id(nb: NotebookNode) -> None:
    # What nbgrader's create-assignment toolbar makes of a learner's own notes cell.
    cell = nbformat.v4.new_markdown_cell("My notes on the shapes.", metadata=_meta(
        "cell-1f2e3d4c", grade=True, solution=True, points=0))  # fmt: skip
    nb.cells.insert(3, cell)


def _markdown_claims_answer(nb: NotebookNode) -> None:
    cell = nbformat.v4.new_markdown_cell("Notes", metadata=_meta(
        "affine_forward", grade=True, solution=True, points=1))  # fmt: skip
    nb.cells.insert(3, cell)


def _test_made_markdown(nb: NotebookNode) -> None:
    cell = _cell(nb, "test_affine_forward_values")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]


# learner -> (what it does, parts lost, a phrase that must appear in the explanation or flags)
CASES: dict[str, tuple[Callable[[NotebookNode], None], list[str], str]] = {
    "duplicated-test": (_duplicated_test, ["test_affine_backward_db"], "test cell was duplicated"),
    "duplicated-answer": (_duplicated_answer, [], "2 cells claim the answer cell `affine_forward`"),
    "stub-pasted-below-answer": (
        _stub_pasted_below_answer, [], "2 cells claim the answer cell `affine_backward`"),
    "new-cell-claims-test": (_new_cell_claims_test, ["test_affine_forward_nd"], "2 cells claim"),
    "new-cell-claims-answer": (_new_cell_claims_answer, [], "cells claim the answer cell"),
    "repointed-test": (_repointed_test, ["test_affine_backward_dx"], "re-pointed"),
    "renamed-test": (_renamed_test, ["test_affine_backward_dx"], "changed to `test_my_own_dx`"),
    "renamed-answer": (_renamed_answer, [], "`affine_backward` was renamed"),
    "test-made-solution": (
        _flag("test_affine_forward_cache", solution=True), ["test_affine_forward_cache"],
        "metadata was changed (solution: False → True)"),
    "test-grade-false": (
        _flag("test_affine_backward_nd", grade=False, points=None), ["test_affine_backward_nd"],
        "metadata was changed (grade: True → False"),
    "test-unlocked": (
        _flag("test_affine_forward_nd", locked=False), ["test_affine_forward_nd"],
        "metadata was changed (locked: True → False)"),
    "test-made-markdown": (_test_made_markdown, ["test_affine_forward_values"], "markdown cell"),
    "answer-made-graded": (
        _flag("affine_forward", grade=True, points=3), [], "were changed (grade: False → True"),
    "answer-made-graded-no-points": (
        _flag("affine_backward", grade=True), [], "flags of the answer cell `affine_backward`"),
    "markdown-with-grade-id": (_markdown_with_grade_id, [], "`cell-1f2e3d4c`, which the assignment"),
    "markdown-claims-answer": (_markdown_claims_answer, [], "claim the answer cell `affine_forward`"),
}  # fmt: skip
IMPORTANT = ["duplicated-test", "duplicated-answer", "repointed-test", "renamed-test",
             "test-made-solution", "answer-made-graded", "markdown-with-grade-id"]  # fmt: skip


def _tampered(name: str) -> NotebookNode:
    nb = _reference()
    CASES[name][0](nb)
    return nb


def _write_class(folder: Path, names: list[str]) -> None:
    learners = {"honest": _reference(), **{name: _tampered(name) for name in names}}
    for name, nb in learners.items():
        (folder / name).mkdir(parents=True)
        nbformat.write(nb, folder / name / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LearnerResult]:
    root = tmp_path_factory.mktemp("tampering")
    _write_class(root / "submissions", sorted(CASES))
    ws = Workspace(root / "grading", source=SOLUTIONS, cell_timeout=CELL_TIMEOUT)
    options = ClassOptions(workers=2, feedback=False, progress=False, learner_timeout=300)
    results = grade_class(ws, ASSIGNMENT, root / "submissions", options, log=lambda msg: None)
    return {r.learner: r for r in results}


def _said(notebooks: list[GradedNotebook]) -> str:
    return "\n".join(
        [*(p.explanation for nb in notebooks for p in nb.parts), *(n for nb in notebooks for n in nb.notes)]
    )


def _assert_loses_exactly(notebooks: list[GradedNotebook], lost: list[str], phrase: str | None,
                          table: str) -> None:  # fmt: skip
    parts = {p.grade_id: p for nb in notebooks for p in nb.parts}
    assert set(parts) == set(FORWARD + BACKWARD), table
    for gid, part in parts.items():
        if gid in lost:
            assert part.score == 0, f"{gid} should score 0\n{table}"
            assert part.explanation, f"{gid} lost points without an explanation\n{table}"
        else:
            assert part.score == part.max_score, f"{gid} should keep its {part.max_score} points\n{table}"
    if phrase is None:
        return
    said = _said(notebooks)
    assert phrase.lower() in said.lower(), f"{phrase!r} not in\n{table}"
    flagged = [n for nb in notebooks for n in nb.notes if n.startswith("flagged: ")]
    assert any(phrase.lower() in f.lower() for f in flagged), f"{phrase!r} not flagged\n{table}"


def _assert_result(result: LearnerResult, lost: list[str], phrase: str | None) -> None:
    table = format_table(result)
    assert result.status == GRADED, f"{result.learner}: {result.reason}"
    _assert_loses_exactly(result.notebooks, lost, phrase, table)


def test_does_the_honest_learner_in_the_class_get_full_marks_without_flags(graded):
    _assert_result(graded["honest"], [], None)
    assert graded["honest"].flags == [], format_table(graded["honest"])
    assert graded["honest"].notebooks[0].notes == [], format_table(graded["honest"])


@pytest.mark.parametrize("learner", sorted(CASES))
def test_does_bp_classroom_grade_it_and_take_only_the_tampered_tests_points(graded, learner):
    _, lost, phrase = CASES[learner]
    _assert_result(graded[learner], lost, phrase)
    assert graded[learner].flags, format_table(graded[learner])


@pytest.mark.parametrize("learner", IMPORTANT)
def test_does_bp_grade_give_the_same_verdict(tmp_path, learner):
    _, lost, phrase = CASES[learner]
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(_tampered(learner), path)
    _assert_result(grade_notebook(path, cell_timeout=CELL_TIMEOUT), lost, phrase)


def test_does_plain_nbgrader_autograde_grade_them_too(tmp_path):
    """An instructor's own ``nbgrader autograde`` from the repository root (no bp-* intake)."""
    ws = tmp_path / "workspace"
    names = IMPORTANT + ["new-cell-claims-test", "test-made-markdown"]
    for name in ["honest", *names]:
        folder = ws / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_reference() if name == "honest" else _tampered(name), folder / f"{ASSIGNMENT}.ipynb")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "BP_WORKSPACE": str(ws), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for args in (
        ["generate_assignment", ASSIGNMENT, "--force", f"--CourseDirectory.release_directory={tmp_path}/r"],
        ["autograde", ASSIGNMENT],
    ):
        done = subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    workspace = Workspace(ws, source=SOLUTIONS)
    for name in ["honest", *names]:
        assert (ws / "autograded" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file(), name
        notebooks = read_grades(workspace, ASSIGNMENT, name)
        table = "\n".join(f"{p.grade_id}: {p.score}/{p.max_score} {p.explanation}"
                          for nb in notebooks for p in nb.parts) + "\n" + _said(notebooks)  # fmt: skip
        if name == "honest":
            _assert_loses_exactly(notebooks, [], None, table)
            assert notebooks[0].notes == [], table
        else:
            _, lost, phrase = CASES[name]
            _assert_loses_exactly(notebooks, lost, phrase, f"{name}\n{table}")


def test_is_reconciling_idempotent_and_the_evidence_kept_for_tampered_tests(tmp_path):
    source = _source()
    for name, (_, lost, _) in CASES.items():
        nb = _tampered(name)
        reconcile_cells(nb, source)
        ids = [c.metadata.nbgrader.grade_id for c in nb.cells if "nbgrader" in c.metadata]
        assert sorted(ids) == sorted(["setup", "affine_forward", "affine_backward", *FORWARD, *BACKWARD]), name
        again = copy.deepcopy(nb)
        second = reconcile_cells(again, source)
        assert again == nb and not second.notes, name
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)  # a reconciled file still names what was done to test cells
        assert sorted(tampered_tests(path, SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")) == sorted(lost), name


def test_is_the_untouched_reference_left_alone(tmp_path):
    nb = _reference()
    before = copy.deepcopy(nb)
    result = reconcile_cells(nb, _source())
    assert (result.tampered, result.notes) == ({}, []) and nb == before
    path = tmp_path / "reference.ipynb"
    nbformat.write(nb, path)
    assert tampered_tests(path, SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb") == {}
