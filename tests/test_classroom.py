"""Does ``bp-classroom`` grade a class right, write an honest CSV and safe feedback, and resume?"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import psutil
import pytest
from descriptors import open_descriptors

from autograder.classroom import STATE_FILE, ClassOptions, grade_class, main
from autograder.collect import collect, learner_id
from autograder.gradebook import Workspace
from autograder.preprocessors import LimitOutputBytes
from autograder.release import assignments
from autograder.settings import COURSE, REPO_ROOT, SOLUTIONS

TOY = "00-toy"  # the example assignment of tests/conftest.py


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {row["learner"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded_class(toy_class):
    """Five learners (one broken file) graded by the ``bp-classroom`` command, two at a time."""
    return toy_class.code, toy_class.workspace, toy_class.args


@pytest.mark.slow
def test_does_the_class_csv_say_who_got_what_and_who_was_not_graded(graded_class):
    code, ws, _ = graded_class
    assert code == 1  # one submission could not be graded
    rows = _rows(ws / f"grades-{TOY}.csv")
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin"]
    got = {k: (r["score"], r["max_score"], r["status"]) for k, r in rows.items()}
    assert got == {
        "alice": ("4", "4", "graded"),
        "bob": ("0", "4", "graded"),
        "carol": ("", "4", "not graded"),
        "dave": ("3", "4", "graded"),
        "erin": ("3", "4", "graded"),
    }
    assert "not a notebook: invalid JSON" in rows["carol"]["reason"]
    assert list(next(iter(rows.values()))) == [
        "learner", "assignment", "score", "max_score", "status", "reason", "flags", "mistakes",
    ]


@pytest.mark.slow
def test_does_feedback_explain_lost_points_without_hidden_tests(graded_class, toy_hidden_snippets):
    _, ws, _ = graded_class
    pages = {p.parts[-3]: p.read_text() for p in (ws / "feedback").glob(f"*/{TOY}/*.html")}
    assert sorted(pages) == ["alice", "bob", "carol", "dave", "erin"]
    for learner, page in pages.items():
        for snippet in toy_hidden_snippets:
            assert snippet not in page, f"{learner}: hidden test leaked ({snippet})"
        assert "Traceback (most recent call last)" not in page
        assert "Cell In[" not in page
    assert "not implemented yet: fill in the answer cell `square`" in pages["bob"]
    assert ("a value could not be used (often arrays whose shapes do not fit together): The truth "
            "value of an array") in pages["dave"]
    assert ("`square` is not defined because its answer cell failed to run: the code is not "
            "valid Python") in pages["erin"]
    for page in pages.values():  # reasons name the problem, never an exception class
        summary = page.split("In\xa0[", 1)[0]  # the learner's own cells and outputs follow
        assert not re.search(r"\b(ValueError|SyntaxError|NameError|CheckError|LearnerError)\b",
                             summary)
    assert "could not be graded" in pages["carol"]


@pytest.mark.slow
def test_is_rerunning_safe_and_does_a_changed_submission_get_regraded(graded_class, toy_submissions):
    _, ws, args = graded_class
    before = (ws / f"grades-{TOY}.csv").read_text()
    assert main(args) == 1
    assert (ws / f"grades-{TOY}.csv").read_text() == before  # nothing lost, nothing redone
    bob = ws / "submitted" / "bob" / TOY / f"{TOY}.ipynb"
    stamp = (ws / "autograded" / "alice" / TOY / f"{TOY}.ipynb").stat().st_mtime_ns
    folder = ws.parent / "bob-again"
    folder.mkdir()
    nbformat.write(toy_submissions["reference"], folder / "bob.ipynb")  # flat <learner>.ipynb
    messages: list[str] = []
    opts = ClassOptions(progress=False)
    results = grade_class(Workspace(ws, source=Path(args[5])), TOY, folder, opts, messages.append)
    assert "1 to grade" in messages[0]
    scores = {r.learner: r.score for r in results}
    assert scores["bob"] == 4 and scores["alice"] == 4 and scores["carol"] is None
    assert (ws / "autograded" / "alice" / TOY / f"{TOY}.ipynb").stat().st_mtime_ns == stamp
    assert nbformat.read(bob, as_version=4) == toy_submissions["reference"]


@pytest.mark.slow
def test_does_an_interrupted_run_resume_and_force_regrade(toy_course, toy_submissions, tmp_path):
    source, _ = toy_course
    folder = tmp_path / "in"
    for learner in ("ann", "ben"):
        (folder / learner).mkdir(parents=True)
        nbformat.write(toy_submissions["reference"], folder / learner / "work.ipynb")
    ws = Workspace(tmp_path / "ws", source=source, db_url=f"sqlite:///{tmp_path / 'other.db'}")
    opts = ClassOptions(progress=False)
    assert [r.score for r in grade_class(ws, TOY, folder, opts)] == [4, 4]
    descriptors = open_descriptors()
    assert (tmp_path / "other.db").is_file() and not (tmp_path / "ws" / "gradebook.db").exists()
    # As if the run had been killed while grading ben: his state says nothing, a copy is half done.
    state_path = tmp_path / "ws" / STATE_FILE
    state = json.loads(state_path.read_text())
    del state["assignments"][TOY]["ben"]
    state_path.write_text(json.dumps(state))
    messages: list[str] = []
    results = grade_class(ws, TOY, folder, opts, messages.append)
    assert "1 to grade" in messages[0] and [r.score for r in results] == [4, 4]
    messages.clear()
    grade_class(ws, TOY, folder, ClassOptions(force=True, progress=False), messages.append)
    assert "2 to grade" in messages[0]
    assert open_descriptors() == descriptors  # three learners graded since: nothing left open


@pytest.mark.slow
def test_do_timeouts_fail_one_cell_or_one_learner_and_leave_no_process(
    toy_course, toy_submissions, tmp_path
):
    source, course = toy_course
    looper, stubborn = tmp_path / "looper", tmp_path / "stubborn"
    (looper / "lou").mkdir(parents=True)
    nbformat.write(toy_submissions["loops"], looper / "lou" / f"{TOY}.ipynb")
    nb = nbformat.read(course / TOY / f"{TOY}.ipynb", as_version=4)
    nb.cells[1].source = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    (stubborn / "stu").mkdir(parents=True)
    nbformat.write(nb, stubborn / "stu" / f"{TOY}.ipynb")
    ws = Workspace(tmp_path / "ws", source=source, cell_timeout=3)
    already = psutil.Process().children(recursive=True)  # e.g. multiprocessing's resource tracker
    # A loop that can be interrupted costs one cell: the rest of the notebook is graded.
    (lou,) = grade_class(ws, TOY, looper, ClassOptions(progress=False), lambda m: None)
    parts = {p.grade_id: p for p in lou.notebooks[0].parts}
    assert parts["test_square_values"].score == 0
    assert "timed out" in parts["test_square_values"].explanation
    assert parts["test_double_values"].score == 2
    # A loop that ignores interrupts is stopped by the outer limit: that learner only.
    opts = ClassOptions(learner_timeout=6, progress=False)
    results = {r.learner: r for r in grade_class(ws, TOY, stubborn, opts, lambda m: None)}
    assert results["stu"].status == "not graded" and "timed out" in results["stu"].reason
    assert results["lou"].status == "graded"
    assert psutil.Process().children(recursive=True) == already


def test_is_a_missing_assignment_or_input_exit_2(toy_course, tmp_path, capsys):
    source, _ = toy_course
    ws = str(tmp_path / "ws")
    assert main(["99-none", str(tmp_path), "-w", ws, "--source", str(source), "-q"]) == 2
    assert main([TOY, str(tmp_path / "nothing"), "-w", ws, "--source", str(source), "-q"]) == 2
    assert "neither a folder nor a zip" in capsys.readouterr().err


# --- collecting submissions ----------------------------------------------------------------------


def test_are_canvas_names_folders_and_flat_files_understood(tmp_path):
    good = nbformat.writes(nbformat.v4.new_notebook())
    (tmp_path / "in" / "Zoe Q").mkdir(parents=True)
    (tmp_path / "in" / "Zoe Q" / "sub").mkdir()
    (tmp_path / "in" / "Zoe Q" / "sub" / "mine.ipynb").write_text(good)
    (tmp_path / "in" / "yann_LATE_12_34_hw-1.ipynb").write_text(good)
    (tmp_path / "in" / "xia_1_2_report.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "in" / "will.ipynb").write_text("")
    (tmp_path / "in" / "vic.ipynb").write_bytes(b"\x89PNG\x00\xff")
    (tmp_path / "in" / "notes.txt").write_text("ignored")
    found = {i.learner: i for i in collect(tmp_path / "in", ["hw"], tmp_path / "scratch")}
    assert sorted(found) == ["Zoe_Q", "vic", "will", "xia", "yann"]
    assert found["Zoe_Q"].problem is None and found["Zoe_Q"].files["hw"].name == "mine.ipynb"
    assert found["yann"].problem is None
    assert "no .ipynb notebook found (got: report.pdf)" == found["xia"].problem
    assert "empty" in found["will"].problem
    assert "binary" in found["vic"].problem


def test_is_nbgraders_submitted_folder_read_one_assignment_at_a_time(tmp_path):
    """``nbgrader collect`` files ``submitted/<learner>/<assignment>/``: a learner who handed in
    another assignment only is not graded on that one."""
    good = nbformat.writes(nbformat.v4.new_notebook())
    for learner, assignment in (("amy", "hw1"), ("amy", "hw2"), ("ben", "hw1")):
        (tmp_path / learner / assignment).mkdir(parents=True)
        (tmp_path / learner / assignment / f"{assignment}.ipynb").write_text(good)
        (tmp_path / learner / assignment / "timestamp.txt").write_text("2026-01-01 10:00:00")
    found = {i.learner: i for i in collect(tmp_path, ["hw2"], tmp_path / "scratch", "hw2")}
    assert sorted(found) == ["amy"]
    assert found["amy"].problem is None and found["amy"].files["hw2"].parent.name == "hw2"
    # negative control: without the assignment's name, ben's hw1 is taken for his hw2
    blind = {i.learner: i for i in collect(tmp_path, ["hw2"], tmp_path / "scratch")}
    assert blind["ben"].problem is None and blind["ben"].files["hw2"].name == "hw1.ipynb"


def test_does_a_zip_never_write_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.ipynb", "{}")
        zf.writestr("top/amy/hw.ipynb", nbformat.writes(nbformat.v4.new_notebook()))
    found = collect(archive, ["hw"], tmp_path / "scratch")
    assert [i.learner for i in found] == ["amy"]
    assert not (tmp_path.parent / "escaped.ipynb").exists()
    assert not list(tmp_path.rglob("escaped.ipynb"))


def test_is_a_learner_id_safe_as_a_folder_and_a_glob():
    assert learner_id("../a*b [c]") == "a_b_c"
    assert learner_id("  ") == "unnamed"


def test_does_output_get_capped_by_bytes():
    cell = nbformat.v4.new_code_cell("print('x' * 10**6)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 1_000_000)]
    capped, _ = LimitOutputBytes(max_bytes=1000).preprocess_cell(cell, {}, 0)
    assert len(capped.outputs[0].text.encode()) <= 1000


@pytest.mark.slow
def test_do_plain_nbgrader_commands_from_the_repo_root_grade_and_redact(tmp_path):
    """An instructor's own ``nbgrader`` commands work from the repository root, and the
    feedback they make hides hidden tests too."""
    name = assignments(SOLUTIONS)[0]
    ws = tmp_path / "workspace"
    submitted = ws / "submitted" / "zed" / name
    submitted.mkdir(parents=True)
    shutil.copytree(COURSE / name, submitted, dirs_exist_ok=True)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "BP_WORKSPACE": str(ws), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for args in (
        ["generate_assignment", name, "--force", f"--CourseDirectory.release_directory={tmp_path}/r"],
        ["autograde", name],
        ["generate_feedback", name],
    ):
        subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=REPO_ROOT, env=env, check=True,
                       capture_output=True, timeout=600)
    (page,) = (ws / "feedback" / "zed" / name).glob("*.html")
    text = page.read_text()
    assert "BEGIN HIDDEN TESTS" not in text and "Traceback (most recent call last)" not in text
    assert "not implemented yet: fill in the answer cell" in text
    assert (ws / "gradebook.db").is_file() and not (REPO_ROOT / "submitted").exists()
