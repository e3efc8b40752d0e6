"""A grading workspace and the nbgrader steps run in it: prepare, autograde, read scores, feedback.

A workspace is an nbgrader course root somewhere the user chose (never inside this package):
``submitted/<learner>/<assignment>/``, ``autograded/…``, ``feedback/…`` and, by default, the
gradebook ``gradebook.db``. Everything goes through nbgrader's own Python API, in this process;
nbgrader is imported on first use because that import alone takes seconds.

The gradebook may be any SQLAlchemy URL nbgrader accepts: SQLite (the default) or PostgreSQL
(``postgresql+psycopg://``, the ``postgres`` extra). :func:`check_gradebook` connects and
creates the schema once, before any worker starts (two workers creating it at once on an empty
PostgreSQL database collide); :func:`learner_lock` keeps two graders off the same learner; a
URL is only ever shown without its password (:mod:`autograder.database`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import nbformat
from traitlets.config import Config

from .database import DatabaseError, check_reachable, database_lock, first_line, redact_url
from .explain import (
    Part,
    explain_notebook,
    failed_answer_cells,
    integrity_of,
    is_test_cell,
    mistakes_of,
)
from .normalize import restore_metadata
from .settings import (
    COURSE,
    COURSE_ID,
    DEFAULT_CELL_TIMEOUT,
    SOLUTIONS,
    ensure_scripts_on_path,
    make_config,
    sqlite_url,
)

__all__ = [
    "GradebookError",
    "GradedNotebook",
    "Workspace",
    "assignment_notebooks",
    "autograde",
    "check_gradebook",
    "failure_reason",
    "generate_feedback",
    "grade_learner",
    "gradebook_lock",
    "graded_learners",
    "has_grades",
    "is_autograded",
    "learner_lock",
    "open_gradebook",
    "prepare_assignment",
    "read_grades",
    "remove_learner_outputs",
]


@dataclass(frozen=True)
class Workspace:
    """Where grading happens and with what.

    root: the nbgrader course root (created if missing).
    source: the folder of source assignments (default: the repository's ``solutions/``).
    db_url: gradebook SQLAlchemy URL (default: SQLite file ``<root>/gradebook.db``).
    cell_timeout: seconds each cell may run before it is interrupted and scored 0.
    course_id: nbgrader's course id, recorded with each assignment in the gradebook.
    """

    root: Path
    source: Path = SOLUTIONS
    db_url: str | None = None
    cell_timeout: int = DEFAULT_CELL_TIMEOUT
    course_id: str = COURSE_ID

    @property
    def url(self) -> str:
        """The gradebook URL in use."""
        return self.db_url or sqlite_url(Path(self.root) / "gradebook.db")

    def config(self, release: Path | None = None) -> Config:
        """nbgrader configuration for this workspace (see :func:`autograder.settings.configure`)."""
        return make_config(
            root=self.root,
            source=self.source,
            release=release or Path(self.root) / "release",
            db_url=self.url,
            cell_timeout=self.cell_timeout,
            course_id=self.course_id,
        )

    def path(self, step: str, learner: str, assignment: str) -> Path:
        """``<root>/<step>/<learner>/<assignment>`` (step: submitted, autograded, feedback)."""
        return Path(self.root) / step / learner / assignment


@dataclass(frozen=True)
class GradedNotebook:
    """Scores of one notebook of one learner, in the notebook's cell order."""

    notebook: str
    parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Points earned (parts awaiting a person count 0)."""
        return sum(p.score or 0.0 for p in self.parts)

    @property
    def max_score(self) -> float:
        """Points possible."""
        return sum(p.max_score for p in self.parts)


def _quiet() -> None:
    # nbgrader's gradebook triggers SQLAlchemy autoflush warnings that mean nothing to a user.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")


@cache
def _install_alembic_shim() -> None:
    """Compute the gradebook schema version in-process instead of running ``alembic`` (4 s)."""
    import nbgrader.api
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    original = nbgrader.api.get_alembic_version

    def heads() -> str:
        try:
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", ALEMBIC_DIR)
            (head,) = ScriptDirectory.from_config(cfg).get_heads()
            return head
        except Exception:  # any surprise: fall back to nbgrader's own way
            return original()

    nbgrader.api.get_alembic_version = heads


def _ready() -> None:
    """What nbgrader needs from this process: the venv's scripts on PATH, quiet warnings, and
    the gradebook's schema version without a subprocess."""
    ensure_scripts_on_path()
    _quiet()
    _install_alembic_shim()


def _api(
    ws: Workspace,
    release: Path | None = None,
    *,
    no_database: bool = False,
    replay: Path | None = None,
) -> Any:
    """nbgrader's ``NbGraderAPI`` for ``ws`` (``no_database``: as ``generate_assignment --no-db``;
    ``replay``: autograde takes its outputs from the notebooks in that folder instead of running
    anything, see :class:`autograder.preprocessors.ReplayVerdicts`)."""
    _ready()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    Path(ws.root).mkdir(parents=True, exist_ok=True)
    cfg = ws.config(release)
    if no_database:
        cfg.SaveCells.enabled = False
        cfg.GenerateAssignment.no_database = True
    if replay is not None:
        steps = list(cfg.Autograde.autograde_preprocessors)
        steps[steps.index("autograder.external.ExternalVerdicts")] = (
            "autograder.preprocessors.ReplayVerdicts"
        )
        cfg.Autograde.autograde_preprocessors = steps
        cfg.ReplayVerdicts.directory = str(replay)
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)


class GradebookError(DatabaseError):
    """The gradebook cannot be used; the message says why, without the URL's password."""


@contextlib.contextmanager
def open_gradebook(ws: Workspace) -> Iterator[Any]:
    """nbgrader's :class:`~nbgrader.api.Gradebook` of ``ws``, closed (its connections
    released) on exit."""
    _ready()
    from nbgrader.api import Gradebook

    with Gradebook(ws.url, ws.course_id) as gb:
        yield gb


def check_gradebook(ws: Workspace, connect_timeout: int = 10) -> None:
    """Connect to the gradebook and create its schema (once, here, before any worker starts).

    Raises :class:`GradebookError` with a reason a person can act on (the URL shown without its
    password) when the driver is missing, the server cannot be reached or refuses the login.
    """
    from sqlalchemy.exc import SQLAlchemyError

    try:
        check_reachable(ws.url, connect_timeout)
    except DatabaseError as exc:
        raise GradebookError(str(exc)) from None
    _ready()
    from nbgrader.api import Gradebook

    try:
        with gradebook_lock(ws, "schema"), open_gradebook(ws):
            # Made here once: the tables, PostgreSQL's enum types, and the course rows, ours and
            # the "default_course" that nbgrader's own preprocessors open the gradebook with;
            # made lazily by two graders at once, any of these collides.
            Gradebook(ws.url).close()
    except SQLAlchemyError as exc:
        raise GradebookError(f"cannot set up the gradebook {redact_url(ws.url)}: "
                             f"{first_line(exc, ws.url)}") from None


def gradebook_lock(ws: Workspace, name: str) -> contextlib.AbstractContextManager[None]:
    """The lock called ``name`` on ``ws``'s gradebook, for this course (see
    :func:`autograder.database.database_lock`)."""
    return database_lock(ws.url, f"{ws.course_id}/{name}")


def learner_lock(ws: Workspace, assignment: str, learner: str) -> contextlib.AbstractContextManager[None]:
    """The lock on one learner's ``assignment``: two graders (two runs, or two machines sharing
    a PostgreSQL gradebook) grade the same learner one after the other, never at once (nbgrader
    would insert the same submission twice, and both gradings could fail)."""
    return gradebook_lock(ws, f"learner/{assignment}/{learner}")


def assignment_notebooks(source: Path, assignment: str) -> list[str]:
    """Notebook names (without ``.ipynb``) of ``source/<assignment>/``, sorted."""
    folder = Path(source) / assignment
    if not folder.is_dir():
        raise ValueError(f"no assignment {assignment!r} in {source}: no folder {folder}")
    names = sorted(p.stem for p in folder.glob("*.ipynb"))
    if not names:
        raise ValueError(f"assignment folder {folder} holds no notebook")
    return names


def failure_reason(result: dict[str, Any]) -> str:
    """The last exception line nbgrader logged for a failed step, e.g. ``NotJSONError: …``."""
    text = "\n".join(str(result.get(k, "")) for k in ("log", "error"))
    found = re.findall(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Interrupt)): ?(.*)$", text, re.M)
    found = [f for f in found if f[0] != "NbGraderException"] or found
    if not found:
        return "nbgrader could not grade it (no error message)"
    name, message = found[-1]
    if name in _PLAIN_REASONS:
        return _PLAIN_REASONS[name]
    return f"{name}: {message.strip()}" if message.strip() else name


_PLAIN_REASONS = {
    "DeadKernelError": "the kernel died while running the notebook (did the code call exit() or "
    "os._exit(), crash, or run out of memory?)",
    "UnresponsiveKernelError": "the kernel stopped responding and could not be interrupted",
}


def prepare_assignment(ws: Workspace, assignment: str, *, force: bool = False) -> None:
    """Put ``assignment`` (its cells and hidden tests) into the gradebook, once.

    The release nbgrader writes on the way is thrown away: the committed one is ``course/``.
    """
    assignment_notebooks(ws.source, assignment)
    with gradebook_lock(ws, f"assignment/{assignment}"):  # another grader may be preparing it
        if not force and _in_gradebook(ws, assignment):
            return
        with tempfile.TemporaryDirectory(prefix="bp-release-") as tmp:
            result = _api(ws, Path(tmp)).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"could not prepare {assignment}: {failure_reason(result)}")


def _in_gradebook(ws: Workspace, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    with open_gradebook(ws) as gb:
        try:
            return len(gb.find_assignment(assignment).notebooks) > 0
        except MissingEntry:
            return False


def is_autograded(ws: Workspace, assignment: str, learner: str) -> bool:
    """True when every notebook of the assignment has an autograded copy for ``learner``."""
    folder = ws.path("autograded", learner, assignment)
    return all(
        (folder / f"{nb}.ipynb").is_file() for nb in assignment_notebooks(ws.source, assignment)
    )


def has_grades(ws: Workspace, assignment: str, learner: str) -> bool:
    """True when the gradebook holds an autograded submission of ``learner``."""
    return learner in graded_learners(ws, assignment)


def graded_learners(ws: Workspace, assignment: str) -> set[str]:
    """Every learner with a submission of ``assignment`` in the gradebook (one query)."""
    from nbgrader.api import Assignment, Student, SubmittedAssignment

    with open_gradebook(ws) as gb:
        rows = (
            gb.db.query(Student.id)
            .join(SubmittedAssignment, SubmittedAssignment.student_id == Student.id)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .filter(Assignment.name == assignment)
        )
        return {learner for (learner,) in rows}


def autograde(
    ws: Workspace, assignment: str, learner: str, *, force: bool = True, replay: Path | None = None
) -> str | None:
    """Run ``nbgrader autograde`` for one learner; None when it worked, else the reason why not.

    replay: a folder of this learner's notebooks as autograded elsewhere; their outputs are
    recorded instead of running anything (see :func:`_api`).
    """
    result = _api(ws, replay=replay).autograde(assignment, learner, force=force, create=True)
    if result["success"] and is_autograded(ws, assignment, learner):
        return None
    return failure_reason(result)


def generate_feedback(ws: Workspace, assignment: str, learner: str) -> str | None:
    """Write redacted feedback HTML for one learner; None when it worked, else the reason."""
    result = _api(ws).generate_feedback(assignment, learner, force=True)
    return None if result["success"] else failure_reason(result)


def grade_learner(ws: Workspace, assignment: str, learner: str, feedback: bool) -> dict[str, Any]:
    """Autograde one learner's filed submission, then write feedback; the learner's new state
    (``status`` graded or not graded, ``reason``). Holds :func:`learner_lock` meanwhile."""
    from .report import GRADED, NOT_GRADED

    with learner_lock(ws, assignment, learner):
        reason = autograde(ws, assignment, learner, force=True)
        if reason:
            return {"status": NOT_GRADED, "reason": reason}
        problem = generate_feedback(ws, assignment, learner) if feedback else None
    note = f"feedback could not be written: {problem}" if problem else ""
    return {"status": GRADED, "reason": note}


def read_grades(
    ws: Workspace, assignment: str, learner: str, gb: Any = None
) -> list[GradedNotebook]:
    """Scores from the gradebook, explanations from the autograded notebooks, in cell order.

    gb: an open :class:`nbgrader.api.Gradebook` to read from (default: open one for this call).
    """
    if gb is None:
        with open_gradebook(ws) as opened:
            return read_grades(ws, assignment, learner, opened)
    graded = []
    for name in assignment_notebooks(ws.source, assignment):
        scores = {
            g.name: (g.score, g.max_score)
            for g in gb.find_submission_notebook(name, assignment, learner).grades
        }
        path = ws.path("autograded", learner, assignment) / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4) if path.is_file() else None
        graded.append(_graded(name, scores, nb))
    return graded


def _graded(name: str, scores: dict[str, tuple[float | None, float]], nb: Any) -> GradedNotebook:
    why = explain_notebook(nb) if nb is not None else {}
    named = mistakes_of(nb) if nb is not None else {}
    order = [str(c.metadata.nbgrader.grade_id) for c in nb.cells if is_test_cell(c)] if nb else []
    order += sorted(set(scores) - set(order))
    parts = []
    for gid in order:
        if gid not in scores:
            continue
        score, max_score = scores[gid]
        part = Part(gid, score, float(max_score))
        if part.lost:
            part = Part(gid, score, float(max_score), why.get(gid) or "no explanation recorded",
                        tuple(named.get(gid, ())))
        parts.append(part)
    if nb is None:
        notes = [f"{name}.ipynb was not submitted or could not be graded"]
    else:
        notes = [f"the answer cell `{a}`: {err}" for a, err in failed_answer_cells(nb).items()]
        integrity = integrity_of(nb)
        notes += list(integrity.get("notes", []))
        flags = sorted({f for fs in integrity.get("flags", {}).values() for f in fs})
        notes += [f"flagged: {flag}" for flag in flags]
    return GradedNotebook(name, parts, notes)


def submission_bytes(ws: Workspace, assignment: str, notebook: str, src: Path) -> bytes:
    """What to file for a submitted notebook: the file itself, with lost nbgrader metadata restored.

    A file that is not a readable notebook is filed as it is, so that grading reports why.
    """
    raw = Path(src).read_bytes()
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception:  # not a notebook: nbgrader will say so, and the report with it
        return raw
    release = COURSE / assignment / f"{notebook}.ipynb"
    if Path(ws.source).resolve() != SOLUTIONS.resolve() or not release.is_file():
        release = Path(ws.source) / assignment / f"{notebook}.ipynb"
    if not release.is_file() or not restore_metadata(nb, nbformat.read(release, as_version=4)):
        return raw
    return nbformat.writes(nb).encode("utf-8")


def remove_learner_outputs(ws: Workspace, assignment: str, learner: str) -> None:
    """Delete the autograded and feedback copies of one learner (to grade afresh)."""
    for step in ("autograded", "feedback"):
        shutil.rmtree(ws.path(step, learner, assignment), ignore_errors=True)
