"""Can one learner's code reach the other learners, the gradebook or the grading command?

Attackers and honest learners are graded together, as an instructor would: by ``bp-classroom``'s
machinery with two workers at once, and by a plain ``nbgrader autograde`` from the repository
root. Each attacker's answer cell is the reference solution with an attack before it: it signals
every process it can name, borrows file descriptors from the other workers (where the
gradebook and the source notebooks are open), writes forged grades to them and to stdout, and
leaves System V shared memory behind. The honest learners' grades must be untouched, every
learner graded, the gradebook free of forged rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from submissions import ATTACKS, LINEAR, PRELUDE, attacker, reference_submission

from autograder.classroom import ClassOptions, grade_class
from autograder.gradebook import Workspace
from autograder.lockdown import seccomp_available
from autograder.report import GRADED, format_table
from autograder.settings import SOLUTIONS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not seccomp_available(), reason="isolation needs Linux x86_64/aarch64"),
]

ASSIGNMENT = LINEAR
REPO_ROOT = Path(__file__).resolve().parents[1]

def _reference() -> nbformat.NotebookNode:
    return reference_submission(ASSIGNMENT)


def _ipc_keys() -> set[str]:
    keys = set()
    for table in ("shm", "sem", "msg"):
        path = Path("/proc/sysvipc") / table
        if path.exists():
            keys |= {f"{table}:{line.split()[0]}" for line in path.read_text().splitlines()[1:]}
    return keys


def _forged_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from grade where auto_score = 99").fetchone()[0]


def test_does_a_class_graded_two_at_a_time_keep_every_honest_grade(tmp_path, capfd):
    before = _ipc_keys()
    folder = tmp_path / "submissions"
    learners = {"honest-a": _reference(), "honest-b": _reference(), "honest-c": _reference()}
    learners.update({name: attacker(name) for name in ATTACKS})
    for name, nb in learners.items():
        (folder / name).mkdir(parents=True)
        nbformat.write(nb, folder / name / f"{ASSIGNMENT}.ipynb")
    ws = Workspace(tmp_path / "grading", source=SOLUTIONS, cell_timeout=20)
    options = ClassOptions(workers=2, feedback=False, progress=False, learner_timeout=300)
    results = {r.learner: r for r in grade_class(ws, ASSIGNMENT, folder, options, log=lambda m: None)}
    assert set(results) == set(learners)
    for name, result in results.items():
        assert result.status == GRADED, f"{name}: {result.reason}"
        # every attack fails, so each attacker's reference answer still earns its marks
        assert result.score == result.max_score, format_table(result)
    assert _forged_rows(Path(ws.root) / "gradebook.db") == 0
    assert _ipc_keys() <= before, "a learner left System V IPC objects behind"
    out = capfd.readouterr()
    assert '"score": 0' not in out.out + out.err


def test_does_plain_nbgrader_autograde_grade_everyone_after_anattacker(tmp_path):
    """``nbgrader autograde`` grades learners one after another in one process: an attacker that
    signals its parent (the nbgrader process) or borrows its descriptors must not stop it."""
    ws = tmp_path / "workspace"
    kill_parent = PRELUDE + (
        "for _kill in (lambda: os.kill(os.getppid(), 9), lambda: os.killpg(os.getpgid(0), 9),\n"
        "              lambda: os.killpg(0, 9), lambda: os.kill(-1, 9)):\n"
        "    try:\n        _kill()\n    except OSError:\n        pass\n"
    )
    learners = {
        "a-attacker": attacker("borrows-descriptors"),
        "b-attacker": _reference(),
        "c-honest": _reference(),
    }
    for cell in learners["b-attacker"].cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "affine_backward":
            cell.source = kill_parent + cell.source
    for name, nb in learners.items():
        folder = ws / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "BP_WORKSPACE": str(ws), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    release = tmp_path / "release"
    for args in (
        ["generate_assignment", ASSIGNMENT, "--force", f"--CourseDirectory.release_directory={release}"],
        ["autograde", ASSIGNMENT],
    ):
        done = subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(ws / "gradebook.db") as conn:
        rows = conn.execute(
            "select s.student_id, sum(g.auto_score), sum(c.max_score) from grade g "
            "join submitted_notebook n on g.notebook_id = n.id "
            "join submitted_assignment s on n.assignment_id = s.id "
            "join grade_cells c on g.cell_id = c.id group by s.student_id"
        ).fetchall()
    scores = {learner: (score, top) for learner, score, top in rows}
    assert set(scores) == set(learners), scores
    for learner, (score, top) in scores.items():
        assert score == top, f"{learner}: {score} of {top}"
    assert _forged_rows(ws / "gradebook.db") == 0
    shutil.rmtree(ws, ignore_errors=True)
