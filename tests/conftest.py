"""Shared fixtures: a headless matplotlib, and a tiny example course for the grading pipeline.

The toy course (assignment ``00-toy``: answer cells ``square`` and ``double``, four hidden-test
cells) keeps the pipeline tests independent of the real course content.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # before anything imports matplotlib

from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

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
