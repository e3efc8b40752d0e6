"""Do crashes, cheats and tampering get the right grade, from both grading commands?

An adversarial corpus on notebook 05 (linear layer): each learner starts from the reference
solution and does one thing the integrity table of ``grading.md`` lists. The whole corpus is
graded as one class by ``bp-classroom``'s machinery, and the cheats that matter most also by
``bp-grade``'s. Every learner must get exactly the parts it earned, with the reason, and must not
change anyone else's grade.
"""

from __future__ import annotations

import json
import sqlite3
from functools import cache
from pathlib import Path

import nbformat
import pytest
from submissions import BACKWARD, FORWARD, LINEAR, reference_submission

from autograder.classroom import ClassOptions, grade_class
from autograder.gradebook import Workspace
from autograder.report import GRADED, NOT_GRADED, LearnerResult, format_table
from autograder.selfpaced import grade_notebook
from autograder.settings import SOLUTIONS

pytestmark = pytest.mark.slow

ASSIGNMENT = LINEAR
CELL_TIMEOUT = 5

RIGHT_FORWARD = """def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)
"""
WRONG_FORWARD = """def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w, (x, w)  # forgets b
"""


def _forward(prefix: str, body: str = RIGHT_FORWARD) -> str:
    return prefix + "\n" + body


# learner -> (answer-cell source for affine_forward, parts lost, a phrase of the explanation or
# flag that must appear, or None). Backward checks build their own caches, so a broken forward
# costs only the forward's parts.
ANSWER_CHEATS: dict[str, tuple[str, list[str], str | None]] = {
    "loops-forever": (
        "def affine_forward(x, w, b):\n    while True:\n        pass\n", FORWARD, "no answer within"),
    "sleeps": (
        "import time\ndef affine_forward(x, w, b):\n    time.sleep(3600)\n", FORWARD, "no answer within"),
    "hangs-at-top-level": (_forward("while True:\n    pass"), FORWARD, "was skipped"),
    "ignores-interrupts": (
        "import signal\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "def affine_forward(x, w, b):\n    while True:\n        pass\n", FORWARD, "no answer within"),
    "os-exit": ("import os\ndef affine_forward(x, w, b):\n    os._exit(3)\n", FORWARD, "exit code 3"),
    "system-exit-at-top": (_forward("raise SystemExit('bye')", ""), FORWARD, "not defined"),
    "segfault": (
        "import ctypes\ndef affine_forward(x, w, b):\n    ctypes.string_at(0)\n", FORWARD, "exited"),
    "imports-bplib": (
        "from bplib.layers import affine_forward\n", FORWARD, "reference implementation"),
    "hides-bplib": (
        "def affine_forward(x, w, b):\n"
        "    lib = __import__('bp' + 'lib.lay' + 'ers', fromlist=['x'])\n"
        "    return getattr(lib, 'affine_' + 'forward')(x, w, b)\n", FORWARD, "reference implementation"),
    "patches-numpy": (
        "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n" + WRONG_FORWARD, FORWARD[:2],
        "touches numpy"),
    "patches-checker": (
        "import bplib.gradcheck as g\ng.assert_close = lambda *a, **k: None\n"
        "g.check_layer = lambda *a, **k: {}\n" + WRONG_FORWARD, FORWARD[:2], "imports bplib"),
    "input-transformer": (
        "try:\n    get_ipython().input_transformers_post.append(lambda lines: [])\n"
        "except NameError:\n    pass\n" + WRONG_FORWARD, FORWARD[:2], "IPython"),
    "huge-output": (_forward("print('x' * 50_000_000)"), [], None),
}


def _reference() -> nbformat.NotebookNode:
    return reference_submission(ASSIGNMENT)


def _with_forward(source: str) -> nbformat.NotebookNode:
    nb = _reference()
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "affine_forward"]
    cell.source = source
    return nb


def _test_cell(nb: nbformat.NotebookNode, gid: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
    return cell


def _tampered() -> dict[str, tuple[nbformat.NotebookNode, list[str], str]]:
    edited = _reference()
    _test_cell(edited, "test_affine_backward_dx").source = "pass  # nothing to see here"
    deleted = _reference()
    deleted.cells.remove(_test_cell(deleted, "test_affine_backward_db"))
    repointed = _reference()
    _test_cell(repointed, "test_affine_backward_dw").metadata.nbgrader["points"] = 100
    stripped = _reference()
    for cell in stripped.cells:
        cell.metadata.pop("nbgrader", None)
    return {
        "edits-a-test": (edited, ["test_affine_backward_dx"], "test cell was edited"),
        "deletes-a-test": (deleted, ["test_affine_backward_db"], "test cell was deleted"),
        "repoints-a-test": (repointed, ["test_affine_backward_dw"], "metadata was changed"),
        # Stripped metadata is put back from the release (an editor may strip it): graded in full,
        # and flagged.
        "strips-metadata": (stripped, [], "restored from the release"),
    }


def _gradebook_attack(db: Path) -> str:
    """An answer cell that tries to rewrite every grade and read the hidden tests, then is right."""
    targets = (str(db), str(db.with_name("other.db")), str(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    return _forward(
        "for target in ({!r}, {!r}):\n"
        "    try:\n"
        "        import sqlite3\n"
        "        sqlite3.connect(target).execute('update grade set auto_score = 99').connection.commit()\n"
        "    except Exception:\n"
        "        pass\n"
        "try:\n"
        "    HIDDEN = open({!r}).read()\n"
        "except OSError:\n"
        "    HIDDEN = ''\n".format(*targets)
    )


@cache
def _graded_class(root: Path) -> tuple[dict[str, LearnerResult], Path]:
    folder = root / "submissions"
    ws = Workspace(root / "grading", source=SOLUTIONS, cell_timeout=CELL_TIMEOUT)
    learners: dict[str, nbformat.NotebookNode] = {"honest": _reference()}
    learners.update({name: _with_forward(src) for name, (src, _, _) in ANSWER_CHEATS.items()})
    learners.update({name: nb for name, (nb, _, _) in _tampered().items()})
    learners["gradebook-attack"] = _with_forward(_gradebook_attack(Path(ws.root) / "gradebook.db"))
    for name, nb in learners.items():
        (folder / name).mkdir(parents=True)
        nbformat.write(nb, folder / name / f"{ASSIGNMENT}.ipynb")
    (folder / "corrupt").mkdir()
    (folder / "corrupt" / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')
    (folder / "png").mkdir()
    (folder / "png" / f"{ASSIGNMENT}.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    options = ClassOptions(workers=3, feedback=True, progress=False, learner_timeout=300)
    results = grade_class(ws, ASSIGNMENT, folder, options, log=lambda msg: None)
    return {r.learner: r for r in results}, Path(ws.root)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, LearnerResult], Path]:
    return _graded_class(tmp_path_factory.mktemp("integrity"))


def _parts(result: LearnerResult) -> dict[str, tuple[float, float, str]]:
    assert result.status == GRADED, f"{result.learner}: {result.reason}"
    return {p.grade_id: (p.score, p.max_score, p.explanation) for nb in result.notebooks for p in nb.parts}


def _assert_loses_exactly(result: LearnerResult, lost: list[str], phrase: str | None) -> None:
    parts = _parts(result)
    table = format_table(result)
    assert set(parts) == set(FORWARD + BACKWARD), table
    for gid, (score, top, why) in parts.items():
        if gid in lost:
            assert score == 0, f"{gid} should score 0\n{table}"
            assert why, f"{gid} lost points without an explanation\n{table}"
        else:
            assert score == top, f"{gid} should keep its {top} points\n{table}"
    if phrase:
        said = "\n".join([*(why for _, _, why in parts.values()), *result.flags,
                          *(n for nb in result.notebooks for n in nb.notes)])
        assert phrase.lower() in said.lower(), f"{phrase!r} not in\n{table}"


def test_does_the_honest_learner_get_full_marks_without_flags(graded):
    results, _ = graded
    _assert_loses_exactly(results["honest"], [], None)
    assert results["honest"].flags == []


@pytest.mark.parametrize("learner", sorted(ANSWER_CHEATS))
def test_does_a_crash_or_cheat_in_an_answer_lose_only_what_it_affects(graded, learner):
    results, _ = graded
    _, lost, phrase = ANSWER_CHEATS[learner]
    _assert_loses_exactly(results[learner], lost, phrase)


@pytest.mark.parametrize("learner", ["imports-bplib", "hides-bplib", "patches-numpy", "input-transformer"])
def test_is_a_cheat_flagged_in_the_report(graded, learner):
    results, _ = graded
    assert results[learner].flags, format_table(results[learner])


@pytest.mark.parametrize("learner", ["edits-a-test", "deletes-a-test", "repoints-a-test", "strips-metadata"])
def test_does_tampering_with_a_test_cell_earn_nothing_for_it_and_get_flagged(graded, learner):
    results, _ = graded
    _, lost, phrase = _tampered()[learner]
    _assert_loses_exactly(results[learner], lost, phrase)
    assert results[learner].flags, format_table(results[learner])


@pytest.mark.parametrize("learner", ["corrupt", "png"])
def test_is_a_broken_file_not_graded_with_a_reason(graded, learner):
    results, _ = graded
    assert results[learner].status == NOT_GRADED
    assert "not a notebook" in results[learner].reason


def test_can_a_submission_neither_change_grades_nor_read_hidden_tests(graded):
    results, root = graded
    _assert_loses_exactly(results["gradebook-attack"], [], "opens files")
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("select count(*) from grade where auto_score = 99").fetchone() == (0,)
    _assert_loses_exactly(results["honest"], [], None)


def test_does_huge_output_stay_out_of_the_graded_copy_and_feedback(graded):
    _, root = graded
    for step in ("autograded", "feedback"):
        for path in (root / step / "huge-output").rglob("*"):
            if path.is_file():
                assert path.stat().st_size < 2_000_000, f"{path} is {path.stat().st_size} bytes"


def test_does_the_csv_list_flags_and_unGraded_reasons(graded):
    _, root = graded
    rows = (root / f"grades-{ASSIGNMENT}.csv")
    if not rows.is_file():  # grade_class leaves the CSV to the command line; write it here
        from autograder.report import write_csv

        write_csv(list(graded[0].values()), rows)
    text = rows.read_text()
    assert "reference implementation" in text and "not a notebook" in text


@pytest.mark.parametrize(
    ("learner", "lost", "phrase"),
    [
        ("imports-bplib", FORWARD, "reference implementation"),
        ("patches-numpy", FORWARD[:2], "touches numpy"),
        ("os-exit", FORWARD, "exit code 3"),
    ],
)
def test_does_bp_grade_give_the_same_verdict(tmp_path, learner, lost, phrase):
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(_with_forward(ANSWER_CHEATS[learner][0]), path)
    result = grade_notebook(path, cell_timeout=CELL_TIMEOUT)
    _assert_loses_exactly(result, lost, phrase)
    assert json.dumps(result.flags)
