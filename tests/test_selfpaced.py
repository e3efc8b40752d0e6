"""Does ``bp-grade`` grade one notebook right, explain each lost point, and exit meaningfully?"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import nbformat
import pytest

from autograder import selfpaced
from autograder.explain import cap_bytes, explain_cell, explain_notebook, is_answer_cell
from autograder.progress import is_untouched
from autograder.release import assignments
from autograder.report import max_points
from autograder.selfpaced import EXIT_FULL_MARKS, EXIT_NOT_GRADED, EXIT_POINTS_LOST, identify, main
from autograder.settings import COURSE, SOLUTIONS

TOY = "00-toy"  # the example assignment of tests/conftest.py


def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], toy_hidden_snippets: list[str]):
    """``run(args)`` -> (exit code, stdout) of ``bp-grade``, checked for leaked hidden tests."""
    return lambda args: _run(args, capsys, toy_hidden_snippets)


def _run(args: list[str], capsys, hidden: list[str]) -> tuple[int, str]:
    code = main(args)
    out = capsys.readouterr().out
    for snippet in hidden:
        assert snippet not in out, f"hidden test source leaked: {snippet}"
    assert "Traceback" not in out
    return code, out


@pytest.mark.slow
def test_does_the_reference_get_full_marks_and_exit_0(toy_course, toy_submissions, tmp_path, run):
    source, _ = toy_course
    path = _write(toy_submissions["reference"], tmp_path / f"{TOY}.ipynb")
    code, out = run([str(path), "--source", str(source)])
    assert code == EXIT_FULL_MARKS, out
    assert "total: 4 / 4" in out


@pytest.mark.slow
def test_does_an_untouched_notebook_score_zero_and_say_what_to_fill_in(
    toy_course, toy_submissions, tmp_path, run
):
    source, _ = toy_course
    path = _write(toy_submissions["untouched"], tmp_path / "my copy.ipynb")  # renamed: found by ids
    code, out = run([str(path), "--source", str(source), "--json"])
    assert code == EXIT_POINTS_LOST
    report = json.loads(out)
    assert report["status"] == "graded" and report["score"] == 0 and report["max_score"] == 4
    parts = {p["part"]: p for p in report["notebooks"][0]["parts"]}
    assert set(parts) == {"test_square_values", "test_double_values", "test_double_array"}
    assert parts["test_square_values"]["explanation"] == (
        "not implemented yet: fill in the answer cell `square`"
    )
    assert parts["test_double_array"]["explanation"].endswith("`double`")


@pytest.mark.slow
def test_does_a_wrong_answer_lose_only_its_part_with_the_checks_message(
    toy_course, toy_submissions, tmp_path, run
):
    source, _ = toy_course
    path = _write(toy_submissions["list_double"], tmp_path / TOY / "attempt.ipynb")
    code, out = run([str(path), "--source", str(source)])
    assert code == EXIT_POINTS_LOST
    assert "test_double_array   0 / 1" in out and "test_double_values  2 / 2" in out
    flat = " ".join(out.split())  # the table wraps long reasons
    assert ("a value could not be used (often arrays whose shapes do not fit together): The truth "
            "value of an array") in flat
    assert "ValueError" not in out  # a reason names the problem, not the exception class
    assert "total: 3 / 4" in out


def test_is_a_corrupt_file_not_graded_with_exit_2(toy_course, tmp_path, run):
    source, _ = toy_course
    path = tmp_path / f"{TOY}.ipynb"
    path.write_text('{"cells": [')
    code, out = run([str(path), "--source", str(source)])
    assert code == EXIT_NOT_GRADED
    assert "NOT GRADED" in out and "not a readable notebook" in out


def test_is_a_missing_file_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope.ipynb")]) == EXIT_NOT_GRADED
    assert "no such file" in capsys.readouterr().err


def test_is_an_unknown_assignment_exit_2_with_a_reason(toy_course, toy_submissions, tmp_path, capsys):
    source, _ = toy_course
    path = _write(toy_submissions["reference"], tmp_path / f"{TOY}.ipynb")
    code = main([str(path), "--source", str(source), "--assignment", "99-nothing", "--json"])
    assert code == EXIT_NOT_GRADED
    assert "no source notebooks" in json.loads(capsys.readouterr().out)["reason"]


def test_is_a_notebook_found_by_name_or_by_its_cells(toy_course, toy_submissions, tmp_path):
    source, _ = toy_course
    by_name = _write(toy_submissions["untouched"], tmp_path / f"{TOY}.ipynb")
    by_cells = _write(toy_submissions["untouched"], tmp_path / "renamed.ipynb")
    assert identify(by_name, source, None) == (TOY, TOY)
    assert identify(by_cells, source, None) == (TOY, TOY)
    stranger = _write(nbformat.v4.new_notebook(), tmp_path / "other.ipynb")
    with pytest.raises(ValueError, match="cannot tell"):
        identify(stranger, source, None)


# --- explanations, on hand-made executed cells -------------------------------------------------


def _test_cell(gid: str, outputs: list[dict]) -> dict:
    meta = {"grade": True, "solution": False, "grade_id": gid, "points": 1}
    return {"cell_type": "code", "metadata": {"nbgrader": meta}, "outputs": outputs}


def _answer_cell(gid: str, count: int, outputs: list[dict] | None = None) -> dict:
    meta = {"grade": False, "solution": True, "grade_id": gid}
    return {"cell_type": "code", "metadata": {"nbgrader": meta}, "execution_count": count,
            "outputs": outputs or []}


def _error(ename: str, evalue: str, traceback: list[str] | None = None) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback or []}


def test_is_not_implemented_traced_to_the_answer_cell_that_raised() -> None:
    tb = ["\x1b[36mCell In[9], line 2\x1b[0m", "\x1b[36mCell In[4], line 3, in helper\x1b[0m"]
    cell = _test_cell("test_outer_values", [_error("NotImplementedError", "", tb)])
    why = explain_cell(cell, {4: "helper", 5: "outer"})
    assert why == "not implemented yet: fill in the answer cell `helper`"


def test_is_not_implemented_without_a_traceback_traced_by_the_test_name() -> None:
    cell = _test_cell("test_outer_values", [_error("NotImplementedError", "")])
    assert explain_cell(cell, {5: "outer"}).endswith("answer cell `outer`")


def test_does_an_explanation_keep_the_checkers_message_but_not_the_traceback() -> None:
    tb = ["---", "hidden_line = secret()", "GradientCheckError: dw is transposed"]
    cell = _test_cell("test_x", [_error("GradientCheckError", "dw: transposed (hint)", tb)])
    assert explain_cell(cell, {}) == "dw: transposed (hint)"  # the message, not the class


def test_does_an_error_of_the_learners_code_read_as_what_went_wrong_not_as_a_class() -> None:
    cell = _test_cell("test_x", [_error("ZeroDivisionError", "float division by zero", [])])
    assert explain_cell(cell, {}) == "a division by zero: float division by zero"
    unknown = _test_cell("test_x", [_error("WeirdError", "", [])])
    assert explain_cell(unknown, {}) == "an error"  # negative control: no class name leaks


def test_are_stderr_timeouts_and_broken_answer_cells_explained() -> None:
    stderr = {"output_type": "stream", "name": "stderr", "text": "RuntimeWarning: overflow\nmore"}
    assert "stderr" in explain_cell(_test_cell("t", [stderr]), {})
    assert "timed out" in explain_cell(_test_cell("t", [_error("KeyboardInterrupt", "")]), {})
    nb = {"cells": [
        _answer_cell("square", 1, [_error("SyntaxError", "invalid syntax (line 1)")]),
        _test_cell("test_square_values", [_error("NameError", "name 'square' is not defined")]),
        _test_cell("test_square_ok", []),
    ]}
    why = explain_notebook(nb)
    assert why["test_square_ok"] == ""
    assert ("`square` is not defined because its answer cell failed to run: the code is not "
            "valid Python") in why["test_square_values"]


def test_are_explanations_capped_by_bytes_not_lines() -> None:
    long = "é" * 10_000  # one line, 20 kB
    capped = cap_bytes(long, 600)
    assert len(capped.encode()) <= 600 and "more bytes cut" in capped
    cell = _test_cell("t", [_error("AssertionError", long)])
    assert len(explain_cell(cell, {}).encode()) <= 600


# --- a whole folder: the learner's progress through the course ----------------------------------


def test_is_an_untouched_notebook_told_from_a_started_one(toy_course, toy_submissions):
    released = toy_submissions["untouched"]
    assert is_untouched(copy.deepcopy(released), released)
    started = copy.deepcopy(released)
    started.cells[2].source = started.cells[2].source.replace("raise", "return 1  #")
    assert is_answer_cell(started.cells[2])
    assert not is_untouched(started, released)  # one answer cell changed
    assert not is_untouched(toy_submissions["reference"], released)
    dropped = copy.deepcopy(released)
    del dropped.cells[2]
    assert not is_untouched(dropped, released)  # an answer cell deleted: grade it, to be sure
    assert not is_untouched(released, nbformat.v4.new_notebook())  # nothing to compare with


@pytest.mark.slow
def test_does_a_folder_get_one_row_per_notebook_and_a_total(
    toy_course, toy_submissions, tmp_path, capsys, monkeypatch
):
    source, course = toy_course
    graded: dict[Path, object] = {}  # the table and the JSON show one grading of each notebook
    real = selfpaced.grade_notebook

    def grade_once(path: Path, **kwargs: object) -> object:
        if path not in graded:
            graded[path] = real(path, **kwargs)
        return graded[path]

    monkeypatch.setattr(selfpaced, "grade_notebook", grade_once)
    mine = tmp_path / "mine"
    _write(toy_submissions["list_double"], mine / TOY / f"{TOY}.ipynb")
    _write(toy_submissions["untouched"], mine / "later" / f"{TOY}.ipynb")
    _write(toy_submissions["untouched"], mine / ".ipynb_checkpoints" / f"{TOY}.ipynb")  # skipped
    (mine / "notes.ipynb").write_text('{"cells": [')
    args = [str(mine), "--source", str(source), "--release", str(course)]
    code = main(args)
    table = capsys.readouterr().out
    assert code == EXIT_NOT_GRADED  # notes.ipynb could not be graded
    rows = {line.split()[0]: line for line in table.splitlines() if ".ipynb" in line}
    assert sorted(rows) == [f"{TOY}/{TOY}.ipynb", f"later/{TOY}.ipynb", "notes.ipynb"]
    assert rows[f"{TOY}/{TOY}.ipynb"].split()[1:5] == ["3", "4", "points", "lost"]
    assert "test_double_array: a value could not be used" in rows[f"{TOY}/{TOY}.ipynb"]
    assert rows[f"later/{TOY}.ipynb"].split()[1:5] == ["0", "4", "not", "started"]
    assert rows["notes.ipynb"].split()[1:5] == ["-", "0", "not", "graded"]
    assert "total: 3 / 8 over 3 notebooks" in table
    assert main([*args, "--json"]) == EXIT_NOT_GRADED
    report = json.loads(capsys.readouterr().out)
    assert (report["score"], report["max_score"]) == (3, 8)
    by_path = {nb["path"]: nb for nb in report["notebooks"]}
    assert by_path[f"{TOY}/{TOY}.ipynb"]["notebooks"][0]["parts"][2]["score"] == 0
    assert by_path[f"later/{TOY}.ipynb"]["progress"] == "not started"
    assert by_path[f"later/{TOY}.ipynb"]["status"] == "not started"


def test_is_the_untouched_course_reported_not_started_without_grading(monkeypatch, capsys):
    def no_grading(*args, **kwargs):
        raise AssertionError("an untouched notebook was graded")

    monkeypatch.setattr(selfpaced, "grade_notebook", no_grading)
    start = time.monotonic()
    code = main([str(COURSE), "--json"])
    elapsed = time.monotonic() - start
    report = json.loads(capsys.readouterr().out)
    assert code == EXIT_POINTS_LOST
    assert {nb["progress"] for nb in report["notebooks"]} == {"not started"}
    assert len(report["notebooks"]) == len(assignments(SOLUTIONS))
    assert report["score"] == 0
    assert report["max_score"] == sum(max_points(SOLUTIONS, a) for a in assignments(SOLUTIONS))
    assert elapsed < 20  # reading notebooks, not grading them (about 1 s on a quiet machine)
