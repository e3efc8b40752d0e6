"""Shared fixtures: a headless matplotlib, a tiny example course for the grading pipeline, one
small class graded by ``bp-classroom``, and a throw-away PostgreSQL server.

The toy course (assignment ``00-toy``: answer cells ``square`` and ``double``, four hidden-test
cells) keeps the pipeline tests independent of the real course content. The toy class is graded
once per session into SQLite; the PostgreSQL and Dask tests grade the same class their way and
compare with it.
"""

from __future__ import annotations

import importlib
import os

os.environ.setdefault("MPLBACKEND", "Agg")  # before anything imports matplotlib
importlib.import_module("autograder")  # before nbformat: see its __init__ (start-up time)

import zipfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402
from needs import have_modules, need  # noqa: E402

TOY = "00-toy"


def _meta(gid: str, *, solution: bool = False, points: int | None = None) -> dict:
    grade = points is not None
    meta = {"grade": grade, "solution": solution, "locked": grade, "schema_version": 3}
    meta["grade_id"] = gid
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


TOY_CELLS = [
    ("markdown", "# A toy assignment\nSquare and double numbers.", None),
    ("code", "import numpy as np", None),
    (
        "code",
        'def square(x):\n    """Return x squared."""\n    ### BEGIN SOLUTION\n'
        "    return x * x\n    ### END SOLUTION",
        _meta("square", solution=True),
    ),
    (
        "code",
        "assert square(3) == 9\n### BEGIN HIDDEN TESTS\n"
        'assert square(-2.5) == 6.25, "square(-2.5) should be 6.25"\n### END HIDDEN TESTS',
        _meta("test_square_values", points=1),
    ),
    (
        "code",
        'def double(x):\n    """Return 2 x."""\n    ### BEGIN SOLUTION\n'
        "    return 2 * x\n    ### END SOLUTION",
        _meta("double", solution=True),
    ),
    (
        "code",
        "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nsecret_input_value = -4\n"
        "if double(secret_input_value) != -8:\n"
        '    raise AssertionError(f"double(-4) should be -8, got {double(-4)!r}")\n'
        "### END HIDDEN TESTS",
        _meta("test_double_values", points=2),
    ),
    (
        "code",
        "### BEGIN HIDDEN TESTS\nsecret_array_check = double(np.arange(3))\n"
        'assert isinstance(secret_array_check, np.ndarray), "double must keep arrays as arrays"\n'
        "### END HIDDEN TESTS",
        _meta("test_double_array", points=1),
    ),
]
TOY_HIDDEN_SNIPPETS = ["secret_input_value", "secret_array_check", "BEGIN HIDDEN TESTS"]


def toy_notebook() -> nbformat.NotebookNode:
    """The toy source notebook (ids deliberately random, as Jupyter would make them)."""
    cells = []
    for kind, source, meta in TOY_CELLS:
        make = new_code_cell if kind == "code" else new_markdown_cell
        cells.append(make(source, metadata=meta or {}))
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


def write_toy_source(root: Path) -> Path:
    """Write ``root/00-toy/00-toy.ipynb`` and return ``root`` (a ``solutions/``-like folder)."""
    folder = root / TOY
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(toy_notebook(), folder / f"{TOY}.ipynb")
    return root


@pytest.fixture(scope="session")
def toy_hidden_snippets() -> list[str]:
    """Strings of the toy's hidden tests that must never reach a learner."""
    return list(TOY_HIDDEN_SNIPPETS)


@pytest.fixture(scope="session")
def make_toy_notebook():
    """``make_toy_notebook()`` -> a fresh toy source notebook."""
    return toy_notebook


@pytest.fixture(scope="session")
def write_toy():
    """``write_toy(root)`` writes the toy source assignment under ``root`` and returns ``root``."""
    return write_toy_source


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(source folder, release folder) of the toy course, generated once by ``bp-release``."""
    from autograder.release import main

    base = tmp_path_factory.mktemp("toy-course")
    source = write_toy_source(base / "solutions")
    course = base / "course"
    assert main(["--source", str(source), "--course", str(course)]) == 0
    return source, course


@pytest.fixture(scope="session")
def toy_submissions(toy_course: tuple[Path, Path]) -> dict[str, nbformat.NotebookNode]:
    """Notebooks a learner could hand in: reference, untouched, and a few wrong ones."""
    from autograder.normalize import fill_answers, reference_answers

    source, course = toy_course
    released = nbformat.read(course / TOY / f"{TOY}.ipynb", as_version=4)
    answers = reference_answers(nbformat.read(source / TOY / f"{TOY}.ipynb", as_version=4))
    return {
        "reference": fill_answers(released, answers),
        "untouched": released,
        "list_double": fill_answers(
            released, {**answers, "double": "def double(x):\n    return x + x if x else 0\n"}
        ),
        "syntax_error": fill_answers(released, {**answers, "square": "def square(x)\n    return"}),
        "loops": fill_answers(
            released, {**answers, "square": "def square(x):\n    while True:\n        pass\n"}
        ),
    }


# --- one small class, graded once ----------------------------------------------------------------


def class_zip(submissions: dict[str, nbformat.NotebookNode], path: Path) -> Path:
    """A Canvas-style download: ``<learner>_<id>_<id>_<original name>`` files in one zip, plus
    carol's broken file."""
    with zipfile.ZipFile(path, "w") as zf:
        for i, (learner, nb) in enumerate(submissions.items()):
            zf.writestr(f"{learner}_{100 + i}_{900 + i}_{TOY}.ipynb", nbformat.writes(nb))
        zf.writestr(f"carol_{555}_{556}_{TOY}-1.ipynb", '{"cells": [ broken')
    return path


def class_outcome(ws: Path, source: Path, db_url: str | None = None) -> dict[str, object]:
    """What a graded toy class amounts to, learner by learner: the CSV row (as text), every
    part's score and explanation, the notes, and the feedback page."""
    from autograder.gradebook import Workspace, graded_learners, read_grades

    workspace = Workspace(ws, source=source, db_url=db_url)
    csv_rows = (ws / f"grades-{TOY}.csv").read_text().splitlines()
    outcome: dict[str, object] = {"csv": csv_rows}
    for learner in sorted(graded_learners(workspace, TOY)):
        notebooks = read_grades(workspace, TOY, learner)
        outcome[learner] = [(nb.notebook, nb.notes, [(p.grade_id, p.score, p.max_score,
                             p.explanation) for p in nb.parts]) for nb in notebooks]
    for page in sorted((ws / "feedback").glob(f"*/{TOY}/*.html")):
        outcome[f"feedback/{page.parts[-3]}"] = page.read_text()
    return outcome


@dataclass(frozen=True)
class ToyClass:
    """The toy class as graded once by ``bp-classroom -j 2`` into SQLite.

    args: the command's arguments; archive: the class's zip; outcome: :func:`class_outcome`,
    taken right after grading (the workspace itself may be changed by later tests).
    """

    code: int
    workspace: Path
    source: Path
    archive: Path
    args: list[str]
    outcome: dict[str, object]


@pytest.fixture(scope="session")
def toy_class(toy_course, toy_submissions, tmp_path_factory) -> ToyClass:
    """Five learners (carol's file broken) graded by the ``bp-classroom`` command, two at a time."""
    from autograder.classroom import main

    source, _ = toy_course
    tmp = tmp_path_factory.mktemp("class")
    learners = {
        "alice": toy_submissions["reference"],
        "bob": toy_submissions["untouched"],
        "dave": toy_submissions["list_double"],
        "erin": toy_submissions["syntax_error"],
    }
    archive = class_zip(learners, tmp / "submissions.zip")
    ws = tmp / "grading"
    args = [TOY, str(archive), "-w", str(ws), "--source", str(source), "-j", "2", "-q"]
    code = main(args)
    return ToyClass(code, ws, source, archive, args, class_outcome(ws, source))


# --- a throw-away PostgreSQL server, one per session -------------------------------------------


@pytest.fixture(scope="session")
def postgres():
    """A running throw-away PostgreSQL server (:class:`pgserver.PostgresServer`), stopped and
    deleted at the end of the session. Skips (fails under CI) without the server binaries or
    psycopg."""
    from pgserver import find_binaries, postgres_server

    server_bin = find_binaries()
    need(server_bin is not None, "the PostgreSQL tests",
         "the server binaries (initdb, pg_ctl): apt-get install postgresql")
    need(have_modules("psycopg"), "the PostgreSQL tests",
         "psycopg 3: pip install -e '.[postgres]'")
    with postgres_server(server_bin) as server:
        yield server
