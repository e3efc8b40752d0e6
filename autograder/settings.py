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

from traitlets.config import Config

__all__ = [
    "COURSE",
    "DEFAULT_CELL_TIMEOUT",
    "MAX_OUTPUT_BYTES",
    "REPO_ROOT",
    "SOLUTIONS",
    "configure",
    "ensure_scripts_on_path",
    "make_config",
    "sqlite_url",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO_ROOT / "solutions"
COURSE = REPO_ROOT / "course"

DEFAULT_CELL_TIMEOUT = 60
# nbgrader's LimitOutput counts lines; one 50 MB line passes it, so we also cap bytes.
MAX_OUTPUT_BYTES = 64_000

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
    cell_timeout: int = DEFAULT_CELL_TIMEOUT,
) -> Config:
    """Fill ``c`` with the course's nbgrader settings and return it.

    root: course root for grading workspaces (created if missing); default ``$BP_WORKSPACE`` if
        set, else nbgrader's default (the current directory).
    source / release: assignment folders; default the repository's ``solutions/`` and ``course/``.
    db_url: gradebook URL; default nbgrader's ``sqlite:///<root>/gradebook.db``.
    cell_timeout: seconds each cell may run during autograding before it is interrupted.
    """
    root = root if root is not None else os.environ.get("BP_WORKSPACE")
    if root:
        c.CourseDirectory.root = str(Path(root).resolve())
        Path(root).mkdir(parents=True, exist_ok=True)  # nbgrader chdirs into it
    c.CourseDirectory.source_directory = str(Path(source or SOLUTIONS).resolve())
    c.CourseDirectory.release_directory = str(Path(release or COURSE).resolve())
    if db_url:
        c.CourseDirectory.db_url = db_url

    c.ExternalVerdicts.source_directory = str(Path(source or SOLUTIONS).resolve())
    c.ReconcileCells.source_directory = str(Path(source or SOLUTIONS).resolve())
    c.Execute.timeout = int(cell_timeout)
    # Outside the kernel, one call into the learner's code gets what a cell would.
    c.ExternalVerdicts.call_timeout = float(cell_timeout)
    c.Execute.interrupt_on_timeout = True
    c.Execute.shutdown_kernel = "immediate"  # graded: nothing to wait for
    # No history file in the grader's home; kernel start-up warnings would only clutter reports.
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
    # A deleted test cell is put back and run, rather than failing the whole notebook.
    c.OverwriteCells.add_missing_cells = True
    c.LimitOutput.max_lines = 1000
    c.LimitOutput.max_traceback = 100
    c.LimitOutputBytes.max_bytes = MAX_OUTPUT_BYTES
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
