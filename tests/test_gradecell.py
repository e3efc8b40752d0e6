"""Does the "Grade this notebook" cell grade what is saved, and refuse a stale file?

The cell's button is driven in the real browser test (tests/browser/test_learner_lab.py); here
its parts: finding the notebook, telling a saved file from an unsaved edit, drawing the table,
and a real grading run of the untouched release.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from submissions import LINEAR, reference_submission

from autograder.gradecell import (
    CELL_SOURCE,
    find_notebook,
    grade_this_notebook,
    render,
    unsaved_cells,
)
from autograder.settings import COURSE, SOLUTIONS

ANSWER = "def affine_forward(x, w, b):\n    return x @ w + b, (x, w, b)\n"


def _nb(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "source": source, "metadata": {
        "nbgrader": {"solution": True, "grade_id": "affine_forward"}}}]}


def test_is_a_saved_answer_up_to_date_and_an_edit_run_but_not_saved_stale():
    assert unsaved_cells(_nb(ANSWER), ["import numpy as np", ANSWER]) == []
    edited = ANSWER.replace("+ b", "- b")
    # run the edit, did not save: the last run of affine_forward is not what the file holds
    assert unsaved_cells(_nb(ANSWER), [ANSWER, edited]) == ["affine_forward"]
    # saved the edit and ran it: up to date again
    assert unsaved_cells(_nb(edited), [ANSWER, edited]) == []
    # never run in this kernel (written elsewhere): the file is what there is to grade
    assert unsaved_cells(_nb(ANSWER), ["x = 1"]) == []


def test_is_the_notebook_found_from_the_session_or_alone_in_its_folder(tmp_path):
    nb = tmp_path / "05-linear-layer.ipynb"
    nb.write_text("{}")
    assert find_notebook(tmp_path, session=str(nb)) == nb.resolve()
    assert find_notebook(tmp_path, session="course/05-linear-layer/05-linear-layer.ipynb") == \
        nb.resolve()  # relative to the server's folder: found by name here
    assert find_notebook(tmp_path, session="") == nb.resolve()  # the only notebook here
    (tmp_path / "other.ipynb").write_text("{}")
    assert find_notebook(tmp_path, session="") is None  # two notebooks: cannot tell


def test_does_the_table_show_each_part_its_reason_and_the_total():
    report = {"status": "graded", "score": 1.0, "max_score": 3.0, "notebooks": [{
        "notes": [], "parts": [
            {"part": "test_a", "score": 1.0, "max_score": 1.0, "explanation": ""},
            {"part": "test_b", "score": 0.0, "max_score": 2.0, "explanation": "db <is> wrong"}]}]}
    page = render(report)
    assert "test_a" in page and "1 / 1" in page and "0 / 2" in page
    assert "db &lt;is&gt; wrong" in page and "<b>1 / 3</b>" in page
    assert "Not graded" in render({"status": "not graded", "reason": "not a notebook"})


def test_does_a_stale_file_get_save_first_instead_of_a_grade(tmp_path, capsys, monkeypatch):
    path = tmp_path / f"{LINEAR}.ipynb"
    nbformat.write(reference_submission(LINEAR), path)

    class Shell:  # a kernel that ran an edit of affine_forward after the save
        user_ns = {"In": ["", ANSWER]}

    monkeypatch.setattr("IPython.get_ipython", lambda: Shell())
    assert grade_this_notebook(path) is None
    assert "Save first (Ctrl+S)" in capsys.readouterr().out


@pytest.mark.slow
def test_does_the_untouched_release_get_not_implemented_reasons(tmp_path, capsys):
    path = tmp_path / f"{LINEAR}.ipynb"
    path.write_text((COURSE / LINEAR / f"{LINEAR}.ipynb").read_text())
    report = grade_this_notebook(path)
    assert report is not None and report["score"] == 0
    reasons = [p["explanation"] for nb in report["notebooks"] for p in nb["parts"]]
    assert reasons and all(r.startswith("not implemented yet") for r in reasons)
    assert "Grading" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_does_every_notebook_end_with_the_grade_cell(path):
    cells = json.loads(path.read_text())["cells"]
    assert "".join(cells[-1]["source"]) == CELL_SOURCE
    assert "nbgrader" not in cells[-1].get("metadata", {})  # not graded, never tampering
