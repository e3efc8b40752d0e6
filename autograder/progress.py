"""``bp-grade FOLDER``: where a learner stands in the whole course, one row per notebook.

Every notebook found under the folder is matched to its assignment (as ``bp-grade NOTEBOOK``
does). One whose answer cells are all exactly as released is *not started*: it is reported at
once with its possible points, without grading. Every other one is graded with the hidden tests
(:func:`autograder.selfpaced.grade_notebook`). The table shows, per notebook, the points, the
points possible, the status and the first lost point; then the total.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from .explain import grade_id, is_answer_cell, is_test_cell
from .report import GRADED, NOT_GRADED, NOT_STARTED, LearnerResult, to_json

__all__ = ["NotebookProgress", "find_notebooks", "format_progress", "grade_folder",
           "is_untouched", "progress_json", "total"]

_SKIP = {".ipynb_checkpoints", "__MACOSX"}


@dataclass(frozen=True)
class NotebookProgress:
    """One notebook of the folder: where it is, and its result (status graded, not graded or
    not started)."""

    path: Path
    result: LearnerResult

    @property
    def status(self) -> str:
        """``full marks``, ``points lost``, ``not started`` or ``not graded``."""
        if self.result.status == GRADED:
            return "full marks" if self.result.full_marks else "points lost"
        return self.result.status

    @property
    def first_lost(self) -> str:
        """The first lost point (``part: explanation``, first line), or why it was not graded
        (nothing for a notebook not started: its status says it all)."""
        if self.result.status == NOT_STARTED:
            return ""
        if self.result.status != GRADED:
            return self.result.reason
        for nb in self.result.notebooks:
            for part in nb.parts:
                if part.lost:
                    first = (part.explanation or "").strip().splitlines() or [""]
                    return f"{part.grade_id}: {first[0]}"
        return ""


def find_notebooks(folder: Path) -> list[Path]:
    """Every ``.ipynb`` under ``folder``, sorted, checkpoints and hidden folders left out."""
    return sorted(
        p for p in Path(folder).rglob("*.ipynb")
        if p.is_file() and not _SKIP.intersection(p.parts)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _answers(nb: Any) -> dict[str, str]:
    return {str(grade_id(c)): c.source.strip() for c in nb.cells if is_answer_cell(c) and grade_id(c)}


def is_untouched(nb: Any, released: Any) -> bool:
    """True when every answer cell of ``nb`` is exactly as in the release ``released`` (and none
    is missing or added): nothing was done, so nothing can earn a point."""
    mine, stubs = _answers(nb), _answers(released)
    return bool(stubs) and mine == stubs


def _possible(source_nb: Any) -> float:
    return sum(float(c.metadata.nbgrader.get("points", 0)) for c in source_nb.cells
               if is_test_cell(c))


def _release_of(release: Path, assignment: str, notebook: str) -> Path | None:
    path = Path(release) / assignment / f"{notebook}.ipynb"
    return path if path.is_file() else None


def grade_folder(
    folder: Path,
    *,
    source: Path,
    release: Path,
    grade: Callable[[Path], LearnerResult],
    identify: Callable[[Path], tuple[str, str]],
    learner: str,
) -> list[NotebookProgress]:
    """Each notebook of ``folder`` with its result: untouched ones at once, the others through
    ``grade`` (one notebook -> its result). ``identify`` names a notebook's (assignment,
    notebook); ``release`` holds the released notebooks an untouched one is compared with."""
    rows = []
    for path in find_notebooks(folder):
        try:
            nb = nbformat.read(path, as_version=4)
            assignment, notebook = identify(path)
        except Exception as exc:  # not a notebook, or of no assignment: say so, go on
            reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            rows.append(NotebookProgress(path, LearnerResult(learner, "?", NOT_GRADED, 0.0, reason)))
            continue
        possible = _possible(nbformat.read(Path(source) / assignment / f"{notebook}.ipynb",
                                           as_version=4))
        released = _release_of(release, assignment, notebook)
        if released is not None and is_untouched(nb, nbformat.read(released, as_version=4)):
            reason = "every answer cell is as released"
            rows.append(NotebookProgress(path, LearnerResult(learner, assignment, NOT_STARTED,
                                                             possible, reason)))
            continue
        rows.append(NotebookProgress(path, grade(path)))
    return rows


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def format_progress(folder: Path, rows: list[NotebookProgress], width: int | None = None) -> str:
    """The table ``bp-grade FOLDER`` prints: one row per notebook, then the total."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    names = [str(r.path.relative_to(folder)) for r in rows]
    name_w = max([len("notebook"), *map(len, names)])
    status_w = max([len("status"), *(len(r.status) for r in rows)])
    head = f"{'notebook':<{name_w}}  {'points':>6}  {'of':>4}  {'status':<{status_w}}  first lost point"
    lines = [head, "-" * min(len(head) + 20, width)]
    room = max(20, width - (len(head) - len("first lost point")))
    for name, r in zip(names, rows, strict=True):
        lost = r.first_lost
        lost = lost if len(lost) <= room else lost[: room - 1] + "…"
        lines.append(f"{name:<{name_w}}  {_points(r.result.score):>6}  "
                     f"{r.result.max_score:>4g}  {r.status:<{status_w}}  {lost}".rstrip())
    score, possible = total(rows)
    lines += ["", f"total: {score:g} / {possible:g} over {len(rows)} notebooks"]
    counts = {s: sum(r.status == s for r in rows)
              for s in ("full marks", "points lost", NOT_STARTED, NOT_GRADED)}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines)


def total(rows: list[NotebookProgress]) -> tuple[float, float]:
    """(points earned, points possible) over every notebook (not graded ones earn nothing)."""
    return (sum(r.result.score or 0.0 for r in rows), sum(r.result.max_score for r in rows))


def progress_json(folder: Path, rows: list[NotebookProgress]) -> dict[str, Any]:
    """``bp-grade FOLDER --json``: each notebook as ``bp-grade NOTEBOOK --json`` reports it, with
    its path, status and first lost point; and the total."""
    score, possible = total(rows)
    return {
        "folder": str(folder),
        "score": score,
        "max_score": possible,
        "notebooks": [
            {"path": str(r.path.relative_to(folder)), "progress": r.status,
             "first_lost_point": r.first_lost, **to_json(r.result)}
            for r in rows
        ],
    }
