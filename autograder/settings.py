"""The one place where the course's nbgrader configuration is decided.

``autograder/nbgrader_config.py`` (loaded by the repository root's ``nbgrader_config.py``) and
our own commands (``bp-release``, ``bp-grade``, ``bp-classroom``) all call :func:`configure`, so
``nbgrader autograde`` run by hand grades exactly like ``bp-classroom``.

Folders: ``solutions/`` is nbgrader's *source*, ``course/`` its *release*, both given as absolute
paths so the course *root* (where nbgrader puts ``submitted/``, ``autograded/``, ``feedback/``
and ``gradebook.db``) can live anywhere: the current directory for the plain ``nbgrader`` CLI,
or ``$BP_WORKSPACE`` when that is set, or the folder a user passes to our commands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Integer, TraitType, Unicode
from traitlets.config import Config, Configurable

__all__ = [
    "COURSE",
    "COURSE_ID",
    "DEFAULT_CELL_TIMEOUT",
    "MAX_OUTPUT_BYTES",
    "REPO_ROOT",
    "GradingSettings",
    "SOLUTIONS",
    "configure",
    "ensure_scripts_on_path",
    "grading",
    "make_config",
    "sqlite_url",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO_ROOT / "solutions"
COURSE = REPO_ROOT / "course"
# nbgrader's default course id is empty, which SQLite lets pass but PostgreSQL refuses (the
# gradebook's assignments point at a course row that is never made for an empty id).
COURSE_ID = "backprop-course"


def _setting(trait: type[TraitType], default: Any, help: str) -> Any:
    """A configurable trait with its one default and its documentation."""
    return trait(default, help=help).tag(config=True)


class GradingSettings(Configurable):
    """Every grading limit and marker, each with its one default, in one place.

    Set any of them in ``nbgrader_config.py`` the nbgrader way (``c.GradingSettings.call_timeout
    = 120``); :func:`configure` hands them on to nbgrader's own preprocessors, and the sandbox,
    the verdicts and our preprocessors read them through :func:`grading`.
    """

    cell_timeout = _setting(Integer, 60, "Seconds a notebook cell may run while autograding "
                            "before it is interrupted (nbgrader's Execute.timeout); outside the "
                            "kernel, the same for each answer cell.")
    call_timeout = _setting(Float, 60.0, "Seconds one call a check makes into the learner's code "
                            "may take outside the kernel (callbacks into the grader do not "
                            "count); a check may ask for more.")
    memory_bytes = _setting(Integer, 8 * 1024**3, "Address space the learner's sandboxed process "
                            "may use, in bytes.")
    fork_server = _setting(Bool, True, "Start each learner's sandbox by forking a warm process "
                           "that has imported numpy, bplib, matplotlib and ipywidgets (milliseconds), "
                           "not as a new interpreter (about half a second).")
    max_output_bytes = _setting(Integer, 64_000, "Bytes kept per text output in the graded copy "
                                "(nbgrader's LimitOutput counts lines, and one 50 MB line passes).")
    max_image_bytes = _setting(Integer, 2_000_000, "Bytes kept per image output (base64).")
    begin_solution = _setting(Unicode, "### BEGIN SOLUTION", "Opens a solution region.")
    end_solution = _setting(Unicode, "### END SOLUTION", "Closes a solution region.")
    begin_hidden_tests = _setting(Unicode, "### BEGIN HIDDEN TESTS", "Opens a hidden-test region.")
    end_hidden_tests = _setting(Unicode, "### END HIDDEN TESTS", "Closes a hidden-test region.")
    code_stub = _setting(Unicode, "# YOUR CODE HERE\nraise NotImplementedError()",
                         "What a released answer cell holds in place of the solution.")

    @property
    def stub_lines(self) -> list[str]:
        """:attr:`code_stub` as its lines."""
        return self.code_stub.splitlines()


def grading(config: Config | None = None) -> GradingSettings:
    """The grading settings of ``config`` (the defaults when ``None``)."""
    return GradingSettings(config=config) if config is not None else GradingSettings()


DEFAULT_CELL_TIMEOUT: int = GradingSettings.class_traits()["cell_timeout"].default_value
MAX_OUTPUT_BYTES: int = GradingSettings.class_traits()["max_output_bytes"].default_value

# ExternalVerdicts takes Execute's place: verdicts are computed outside the learner's kernel
# (autograder/external.py); assignments without registered checks still run in the kernel.
_AUTOGRADE_PREPROCESSORS = [
    "autograder.external.ExternalVerdicts",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.preprocessors.LimitOutputBytes",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Before nbgrader's own: ReconcileCells makes the submission's nbgrader cells consistent with the
# source, so OverwriteCells never fails a whole notebook over one duplicated or re-pointed cell.
_SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.preprocessors.ReconcileCells",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
_FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.preprocessors.RedactFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """SQLAlchemy URL of an SQLite file (made absolute, so a later ``chdir`` does not move it)."""
    return f"sqlite:///{Path(path).resolve()}"


def configure(
    c: Config,
    *,
    root: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] | None = None,
    release: str | os.PathLike[str] | None = None,
    db_url: str | None = None,
    cell_timeout: int | None = None,
    course_id: str | None = None,
) -> Config:
    """Fill ``c`` with the course's nbgrader settings and return it.

    root: course root for grading workspaces (created if missing); default ``$BP_WORKSPACE`` if
        set, else nbgrader's default (the current directory).
    source / release: assignment folders; default the repository's ``solutions/`` and ``course/``.
    db_url: gradebook URL; default nbgrader's ``sqlite:///<root>/gradebook.db``.
    cell_timeout: seconds each cell, and each call into the learner's code from a check outside
        the kernel, may take during autograding (:class:`GradingSettings`; default there).
    course_id: nbgrader's course id; default: what ``c`` already says, else :data:`COURSE_ID`.
    """
    root = root if root is not None else os.environ.get("BP_WORKSPACE")
    if root:
        c.CourseDirectory.root = str(Path(root).resolve())
        Path(root).mkdir(parents=True, exist_ok=True)  # nbgrader chdirs into it
    c.CourseDirectory.source_directory = str(Path(source or SOLUTIONS).resolve())
    c.CourseDirectory.release_directory = str(Path(release or COURSE).resolve())
    if db_url:
        c.CourseDirectory.db_url = db_url
    if course_id:
        c.CourseDirectory.course_id = course_id
    elif not c.CourseDirectory.get("course_id"):
        c.CourseDirectory.course_id = COURSE_ID

    c.ExternalVerdicts.source_directory = str(Path(source or SOLUTIONS).resolve())
    c.ReconcileCells.source_directory = str(Path(source or SOLUTIONS).resolve())
    if cell_timeout is not None:
        # Outside the kernel, one call into the learner's code gets what a cell would.
        c.GradingSettings.cell_timeout = int(cell_timeout)
        c.GradingSettings.call_timeout = float(cell_timeout)
    limits = grading(c)
    c.Execute.timeout = limits.cell_timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.shutdown_kernel = "immediate"  # graded: nothing to wait for
    # No history file in the grader's home; kernel start-up warnings would only clutter reports.
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
    # A deleted test cell is put back and run, rather than failing the whole notebook.
    c.OverwriteCells.add_missing_cells = True
    c.LimitOutput.max_lines = 1000
    c.LimitOutput.max_traceback = 100
    # nbgrader's own preprocessors use the same markers as ours
    c.ClearSolutions.begin_solution_delimeter = limits.begin_solution
    c.ClearSolutions.end_solution_delimeter = limits.end_solution
    c.ClearSolutions.code_stub = {"python": limits.code_stub}
    c.ClearHiddenTests.begin_test_delimeter = limits.begin_hidden_tests
    c.ClearHiddenTests.end_test_delimeter = limits.end_hidden_tests
    c.Autograde.sanitize_preprocessors = list(_SANITIZE_PREPROCESSORS)
    c.Autograde.autograde_preprocessors = list(_AUTOGRADE_PREPROCESSORS)
    c.GenerateFeedback.preprocessors = list(_FEEDBACK_PREPROCESSORS)
    return c


def make_config(**kwargs: object) -> Config:
    """A fresh :class:`Config` passed through :func:`configure` (same keyword arguments)."""
    return configure(Config(), **kwargs)  # type: ignore[arg-type]


def ensure_scripts_on_path() -> None:
    """Put this interpreter's ``bin/`` first on ``PATH``.

    nbgrader starts kernels and (without our shim in :mod:`autograder.gradebook`) ``alembic`` by
    name, which fails when a console script is run from a venv that is not activated.
    """
    scripts = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != scripts:
        os.environ["PATH"] = os.pathsep.join([scripts, *parts])
