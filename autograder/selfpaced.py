"""``bp-grade NOTEBOOK``: grade your own notebook with the hidden tests, right now.

It runs real ``nbgrader autograde`` in a temporary workspace (a throw-away gradebook, a fresh
kernel; no JupyterHub, nothing left behind) and prints one row per graded part with an
explanation for every lost point.

``bp-grade FOLDER`` (e.g. ``course/``) grades every notebook found in it and prints one row per
notebook and the total (:mod:`autograder.progress`); notebooks not started are not graded.

Exit codes: 0 full marks (every notebook); 1 graded, some points lost (or, for a folder, some
notebook not started); 2 could not grade (not a notebook, unknown assignment, grading failed or
timed out; for a folder: any notebook, or no notebook found) or a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from .explain import grade_id
from .gradebook import (
    Workspace,
    assignment_notebooks,
    autograde,
    prepare_assignment,
    read_grades,
    submission_bytes,
)
from .isolation import private_stdout, run_jobs
from .progress import format_progress, grade_folder, progress_json
from .report import GRADED, NOT_GRADED, LearnerResult, format_table, max_points, to_json
from .settings import COURSE, DEFAULT_CELL_TIMEOUT, SOLUTIONS
from .verdict import warm_sandboxes

__all__ = ["EXIT_FULL_MARKS", "EXIT_NOT_GRADED", "EXIT_POINTS_LOST", "grade_notebook", "main"]

EXIT_FULL_MARKS, EXIT_POINTS_LOST, EXIT_NOT_GRADED = 0, 1, 2
LEARNER = "you"


def _grade_ids(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    return {str(grade_id(c)) for c in nb.cells if grade_id(c)}


def identify(path: Path, source: Path, assignment: str | None) -> tuple[str, str]:
    """(assignment, notebook name) that ``path`` is a copy of.

    By file name first (``01-derivatives.ipynb`` or a copy kept in a folder named after the
    assignment), then by the nbgrader cell ids it shares with each source notebook.
    Raises ValueError when nothing matches.
    """
    candidates = [
        (nb.parent.name, nb.stem)
        for nb in sorted(Path(source).glob("*/*.ipynb"))
        if assignment is None or nb.parent.name == assignment
    ]
    if not candidates:
        where = f"assignment {assignment!r} in {source}" if assignment else str(source)
        raise ValueError(f"no source notebooks found for {where}")
    for key in (path.stem, path.parent.name):
        named = [c for c in candidates if key in c]
        if len(named) == 1:
            return named[0]
    mine = _grade_ids(path)
    overlap = sorted(
        ((len(mine & _grade_ids(Path(source) / a / f"{n}.ipynb")), a, n) for a, n in candidates),
        reverse=True,
    )
    if overlap[0][0] == 0:
        raise ValueError(
            f"cannot tell which assignment {path.name} belongs to: its name matches none and it "
            "has no graded cells of any; pass --assignment"
        )
    return overlap[0][1], overlap[0][2]


def grade_notebook(
    path: Path,
    *,
    assignment: str | None = None,
    source: Path = SOLUTIONS,
    cell_timeout: int = DEFAULT_CELL_TIMEOUT,
    timeout: float = 900,
) -> LearnerResult:
    """Grade one notebook in a temporary workspace: collect -> run -> score.

    Raises ValueError when ``path`` is not a readable notebook of a known assignment.
    """
    try:
        nbformat.read(path, as_version=4)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable notebook: {type(exc).__name__}: {exc}") from exc
    assignment, notebook = identify(path, source, assignment)
    total = max_points(source, assignment)
    with tempfile.TemporaryDirectory(prefix="bp-grade-") as tmp:
        ws = Workspace(Path(tmp), source=Path(source), cell_timeout=cell_timeout)
        warm_sandboxes(assignment)  # starts while the gradebook is prepared
        prepare_assignment(ws, assignment)
        submitted = ws.path("submitted", LEARNER, assignment)
        submitted.mkdir(parents=True)
        (submitted / f"{notebook}.ipynb").write_bytes(submission_bytes(ws, assignment, notebook, path))
        job = (LEARNER, lambda: autograde(ws, assignment, LEARNER))
        (outcome,) = run_jobs([job], timeout=timeout)
        reason = outcome.error or outcome.value
        if reason:
            return LearnerResult(LEARNER, assignment, NOT_GRADED, total, reason)
        graded = [nb for nb in read_grades(ws, assignment, LEARNER) if nb.notebook == notebook]
    if len(assignment_notebooks(source, assignment)) > 1:
        total = sum(nb.max_score for nb in graded)
    return LearnerResult(LEARNER, assignment, GRADED, total, notebooks=graded)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bp-grade",
        description="Grade your notebook with the hidden tests and explain every lost point.",
        epilog="Exit codes: 0 full marks, 1 points lost, 2 could not grade or usage error.",
    )
    parser.add_argument("notebook", type=Path,
                        help="your filled-in copy of a course/ notebook, or a folder of them "
                        "(e.g. course/): one row per notebook and the total")
    parser.add_argument("--assignment", help="assignment name, e.g. 01-derivatives (guessed)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--timeout", type=int, default=DEFAULT_CELL_TIMEOUT, help=f"seconds per cell (default {DEFAULT_CELL_TIMEOUT})"
    )
    parser.add_argument(
        "--total-timeout", type=float, default=900, help="seconds for the whole notebook"
    )
    parser.add_argument("--source", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--release", type=Path, default=COURSE, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bp-grade``; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.notebook.is_dir():
        return _main_folder(args)
    if not args.notebook.is_file():
        print(f"bp-grade: no such file: {args.notebook}", file=sys.stderr)
        return EXIT_NOT_GRADED
    if not args.json:
        print(f"Grading {args.notebook} in a fresh kernel…", file=sys.stderr, flush=True)
    with private_stdout() as out:
        try:
            result = grade_notebook(
                args.notebook,
                assignment=args.assignment,
                source=args.source,
                cell_timeout=args.timeout,
                timeout=args.total_timeout,
            )
        except ValueError as exc:
            result = LearnerResult(LEARNER, args.assignment or "?", NOT_GRADED, 0.0, str(exc))
        print(json.dumps(to_json(result), indent=2) if args.json else format_table(result), file=out)
    if result.status != GRADED:
        return EXIT_NOT_GRADED
    return EXIT_FULL_MARKS if result.full_marks else EXIT_POINTS_LOST


def _main_folder(args: argparse.Namespace) -> int:
    folder = args.notebook

    def grade(path: Path) -> LearnerResult:
        if not args.json:
            print(f"Grading {path.relative_to(folder)}…", file=sys.stderr, flush=True)
        try:
            return grade_notebook(path, assignment=args.assignment, source=args.source,
                                  cell_timeout=args.timeout, timeout=args.total_timeout)
        except ValueError as exc:
            return LearnerResult(LEARNER, args.assignment or "?", NOT_GRADED, 0.0, str(exc))

    with private_stdout() as out:
        rows = grade_folder(folder, source=args.source, release=args.release, grade=grade,
                            identify=lambda p: identify(p, args.source, args.assignment),
                            learner=LEARNER)
        if args.json:
            print(json.dumps(progress_json(folder, rows), indent=2), file=out)
        elif rows:
            print(format_progress(folder, rows), file=out)
        else:
            print(f"no notebook (.ipynb) found in {folder}", file=out)
    if not rows or any(r.result.status == NOT_GRADED for r in rows):
        return EXIT_NOT_GRADED
    return EXIT_FULL_MARKS if all(r.result.full_marks for r in rows) else EXIT_POINTS_LOST


if __name__ == "__main__":
    sys.exit(main())
