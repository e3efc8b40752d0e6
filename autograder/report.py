"""What a grading run says: a table for people, JSON for machines, a CSV for the course.

A submission that could not be graded is never a silent 0: it has ``status = "not graded"``, no
score, and a ``reason``.
"""

from __future__ import annotations

import csv
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .explain import cap_bytes, is_test_cell
from .gradebook import GradedNotebook

__all__ = [
    "CSV_COLUMNS",
    "GRADED",
    "NOT_GRADED",
    "NOT_STARTED",
    "LearnerResult",
    "format_table",
    "max_points",
    "to_json",
    "write_csv",
]

GRADED = "graded"
NOT_GRADED = "not graded"
NOT_STARTED = "not started"  # bp-grade FOLDER: every answer cell as released, so not graded
CSV_COLUMNS = ["learner", "assignment", "score", "max_score", "status", "reason", "flags",
               "mistakes"]


@dataclass(frozen=True)
class LearnerResult:
    """The outcome for one learner and one assignment.

    status: ``"graded"`` or ``"not graded"`` (then ``reason`` says why and there is no score);
        ``"not started"`` (nothing to grade: the score is 0).
    max_score: points possible for the assignment, known even when grading failed.
    """

    learner: str
    assignment: str
    status: str
    max_score: float
    reason: str = ""
    notebooks: list[GradedNotebook] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        """Points earned, or None when not graded."""
        if self.status == NOT_STARTED:
            return 0.0
        if self.status != GRADED:
            return None
        return sum(nb.score for nb in self.notebooks)

    @property
    def flags(self) -> list[str]:
        """Integrity flags raised while grading (cheating, tampering, use of the reference)."""
        prefix = "flagged: "
        return [n[len(prefix) :] for nb in self.notebooks for n in nb.notes if n.startswith(prefix)]

    @property
    def mistakes(self) -> list[str]:
        """``"<grade_id>=<mistake id>"`` for every catalogued mistake behind a lost part."""
        return [f"{p.grade_id}={key}" for nb in self.notebooks for p in nb.parts if p.lost
                for key in p.mistakes]

    @property
    def full_marks(self) -> bool:
        """Graded, and no part lost a point."""
        return self.status == GRADED and not any(p.lost for nb in self.notebooks for p in nb.parts)


def max_points(source: Path, assignment: str) -> float:
    """Points possible in ``source/<assignment>`` (sum over its autograded test cells)."""
    total = 0.0
    for path in sorted((Path(source) / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        total += sum(float(c.metadata.nbgrader.get("points", 0)) for c in nb.cells if is_test_cell(c))
    return total


def to_json(result: LearnerResult) -> dict[str, Any]:
    """A JSON-ready dict of ``result`` (stable keys; see ``bp-grade --help``)."""
    return {
        "learner": result.learner,
        "assignment": result.assignment,
        "status": result.status,
        "reason": result.reason,
        "score": result.score,
        "max_score": result.max_score,
        "flags": result.flags,
        "notebooks": [
            {
                "notebook": nb.notebook,
                "score": nb.score,
                "max_score": nb.max_score,
                "notes": nb.notes,
                "parts": [
                    {
                        "part": p.grade_id,
                        "score": p.score,
                        "max_score": p.max_score,
                        "explanation": p.explanation,
                        "mistakes": list(p.mistakes),
                    }
                    for p in nb.parts
                ],
            }
            for nb in result.notebooks
        ],
    }


def _points(score: float | None, max_score: float) -> str:
    return f"{'?' if score is None else f'{score:g}'} / {max_score:g}"


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` indented under its part, its own line breaks kept, long lines wrapped."""
    out = []
    for i, line in enumerate(text.splitlines() or [""]):
        first = "      ✗ " if i == 0 else "        "
        out += textwrap.wrap(line, width, initial_indent=first, subsequent_indent="        ") or [first]
    return out


def format_table(result: LearnerResult, width: int | None = None) -> str:
    """The score table printed by ``bp-grade``: one row per part, an explanation per lost point."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    lines = [f"{result.assignment}: {result.learner}"]
    if result.status != GRADED:
        return "\n".join([*lines, f"NOT GRADED: {result.reason}"])
    for nb in result.notebooks:
        name_w = max([len("part"), *(len(p.grade_id) for p in nb.parts)])
        lines += ["", f"{nb.notebook}.ipynb", f"  {'part':<{name_w}}  points"]
        for p in nb.parts:
            lines.append(f"  {p.grade_id:<{name_w}}  {_points(p.score, p.max_score)}")
            if p.lost:
                lines += _wrapped(p.explanation, max(40, width - 8))
        lines += [f"  note: {note}" for note in nb.notes]
    lines += ["", f"total: {_points(result.score, result.max_score)}"]
    return "\n".join(lines)


def write_csv(results: list[LearnerResult], path: Path) -> None:
    """Write the course CSV (``CSV_COLUMNS``), one row per learner, sorted by learner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for r in sorted(results, key=lambda r: (r.learner, r.assignment)):
            score = "" if r.score is None else f"{r.score:g}"
            writer.writerow(
                [
                    r.learner,
                    r.assignment,
                    score,
                    f"{r.max_score:g}",
                    r.status,
                    cap_bytes(r.reason, 500),
                    cap_bytes("; ".join(r.flags), 500),
                    "; ".join(r.mistakes),
                ]
            )
    tmp.replace(path)
