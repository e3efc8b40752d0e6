"""``bp-classroom ASSIGNMENT SUBMISSIONS -w WORKSPACE``: grade a whole class with nbgrader.

Collect (a folder with one sub-folder per learner, or an LMS zip) -> put each valid notebook in
``WORKSPACE/submitted/<learner>/<assignment>/`` -> ``nbgrader autograde`` each learner into the
gradebook (SQLite ``WORKSPACE/gradebook.db`` unless ``--db URL``) -> redacted feedback HTML in
``WORKSPACE/feedback/<learner>/<assignment>/`` -> grades CSV.

nbgrader is imported once; each learner is graded in a worker forked from this process, under an
outer time limit (``--learner-timeout``) on top of nbgrader's per-cell one (``--timeout``). With
``--scheduler ADDRESS`` the learners are graded on a Dask cluster instead, and this process
records what comes back (:mod:`autograder.cluster`).
Re-running is safe: learners already graded are skipped (``--force`` regrades them), a changed
submission is regraded, and a run stopped half-way resumes where it stopped. A submission that
cannot be graded is listed in the CSV as ``not graded`` with the reason, never as a silent 0.

Exit codes: 0 every submission graded; 1 some could not be graded (see the CSV); 2 usage error
or nothing could be graded (unknown assignment, unreadable input, gradebook or cluster error).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .classreport import results_from_workspace, summarize, write_csv_report, write_html_report
from .collect import Intake, collect
from .database import redact_url
from .gradebook import (
    Workspace,
    assignment_notebooks,
    check_gradebook,
    grade_learner,
    graded_learners,
    is_autograded,
    open_gradebook,
    prepare_assignment,
    read_grades,
    remove_learner_outputs,
    submission_bytes,
)
from .isolation import private_stdout, run_jobs
from .report import GRADED, NOT_GRADED, LearnerResult, max_points, write_csv
from .settings import DEFAULT_CELL_TIMEOUT, SOLUTIONS
from .verdict import warm_sandboxes

__all__ = ["ClassOptions", "grade_class", "main", "write_class_report"]

STATE_FILE = "bp-classroom.json"
EXIT_ALL_GRADED, EXIT_SOME_NOT_GRADED, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class ClassOptions:
    """How to grade: ``force`` regrades everyone; ``workers`` learners at a time (each needs a
    kernel); ``learner_timeout`` seconds per learner; ``feedback`` writes HTML feedback;
    ``scheduler``: the address of a Dask scheduler to grade on its workers instead of here
    (then ``workers`` does not apply)."""

    force: bool = False
    workers: int = 1
    learner_timeout: float = 600.0
    feedback: bool = True
    progress: bool = True
    scheduler: str | None = None


def _state_path(ws: Workspace) -> Path:
    return Path(ws.root) / STATE_FILE


def _load_state(ws: Workspace, assignment: str) -> dict[str, dict[str, Any]]:
    path = _state_path(ws)
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data.get("assignments", {}).get(assignment, {})


def _save_state(ws: Workspace, assignment: str, learners: dict[str, dict[str, Any]]) -> None:
    path = _state_path(ws)
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data.setdefault("assignments", {})[assignment] = learners
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)  # atomic: an interrupted run never leaves half a state file


def _file_in(ws: Workspace, assignment: str, intake: Intake) -> bool:
    """Copy a learner's notebooks into ``submitted/``; True when something changed."""
    folder = ws.path("submitted", intake.learner, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    changed = False
    for name, src in intake.files.items():
        dest = folder / f"{name}.ipynb"
        data = submission_bytes(ws, assignment, name, Path(src))
        if not dest.is_file() or dest.read_bytes() != data:
            dest.write_bytes(data)
            changed = True
    return changed


def _not_graded_feedback(ws: Workspace, assignment: str, learner: str, reason: str) -> None:
    folder = ws.path("feedback", learner, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    body = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}"
        f"</title></head><body><h1>{html.escape(assignment)}: not graded</h1>"
        f"<p>Your submission could not be graded: {html.escape(reason)}</p>"
        "<p>Please submit the notebook again (a .ipynb file saved from Jupyter).</p></body></html>"
    )
    for name in assignment_notebooks(ws.source, assignment):
        (folder / f"{name}.html").write_text(body, encoding="utf-8")


def _todo(
    ws: Workspace, assignment: str, intakes: list[Intake], state: dict, force: bool
) -> list[str]:
    todo = []
    in_gradebook = graded_learners(ws, assignment)
    for intake in intakes:
        if intake.problem:
            state[intake.learner] = {"status": NOT_GRADED, "reason": intake.problem}
            continue
        changed = _file_in(ws, assignment, intake)
        done = (
            state.get(intake.learner, {}).get("status") == GRADED
            and is_autograded(ws, assignment, intake.learner)
            and intake.learner in in_gradebook
        )
        if force or changed or not done:
            remove_learner_outputs(ws, assignment, intake.learner)
            todo.append(intake.learner)
    return todo


def _results(ws: Workspace, assignment: str, state: dict) -> list[LearnerResult]:
    total = max_points(ws.source, assignment)
    in_gradebook = graded_learners(ws, assignment)
    results = []
    with open_gradebook(ws) as gb:  # one connection for the whole class
        for learner, entry in sorted(state.items()):
            if (
                entry["status"] == GRADED
                and learner in in_gradebook
                and is_autograded(ws, assignment, learner)
            ):
                notebooks = read_grades(ws, assignment, learner, gb)
                results.append(LearnerResult(learner, assignment, GRADED, total,
                                             entry.get("reason", ""), notebooks))
            else:
                reason = entry.get("reason") or "not graded yet (run bp-classroom again)"
                results.append(LearnerResult(learner, assignment, NOT_GRADED, total, reason))
    return results


def grade_class(
    ws: Workspace,
    assignment: str,
    submissions: Path,
    options: ClassOptions = ClassOptions(),
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> list[LearnerResult]:
    """Grade every submission of ``assignment`` found in ``submissions`` into ``ws``.

    Returns one result per learner the workspace knows for this assignment (including learners
    graded by earlier runs). Raises ValueError for an unknown assignment or unreadable input.
    """
    notebooks = assignment_notebooks(ws.source, assignment)
    Path(ws.root).mkdir(parents=True, exist_ok=True)
    check_gradebook(ws)  # reachable, schema made: before anything is filed or graded
    client = None
    if options.scheduler:
        from .cluster import connect

        client = connect(options.scheduler)  # reachable, same course: before anything is filed
    try:
        return _grade(ws, assignment, submissions, notebooks, options, log, client)
    finally:
        if client is not None:
            client.close()


def _outcomes(
    ws: Workspace, assignment: str, todo: list[str], options: ClassOptions, client: Any
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(learner, new state)`` for each learner in ``todo``, as each is graded."""
    if client is not None:
        from .cluster import grade_on_cluster

        yield from grade_on_cluster(client, ws, assignment, todo,
                                    learner_timeout=options.learner_timeout,
                                    feedback=options.feedback)
        return
    jobs = [
        (learner, lambda learner=learner: grade_learner(ws, assignment, learner, options.feedback))
        for learner in todo
    ]
    warm_sandboxes(assignment)  # one fork server, shared by every worker
    for outcome in run_jobs(jobs, timeout=options.learner_timeout, workers=options.workers):
        yield outcome.key, outcome.value or {"status": NOT_GRADED, "reason": outcome.error}


def _grade(
    ws: Workspace,
    assignment: str,
    submissions: Path,
    notebooks: list[str],
    options: ClassOptions,
    log: Callable[[str], None],
    client: Any,
) -> list[LearnerResult]:
    state = _load_state(ws, assignment)
    with tempfile.TemporaryDirectory(prefix="bp-classroom-") as scratch:
        intakes = collect(submissions, notebooks, Path(scratch), assignment)
        todo = _todo(ws, assignment, intakes, state, options.force)
        _save_state(ws, assignment, state)
    prepare_assignment(ws, assignment, force=options.force)
    where = f"; on the Dask cluster at {options.scheduler}" if client is not None else ""
    log(f"{assignment}: {len(intakes)} submissions found, {len(todo)} to grade "
        f"(gradebook {redact_url(ws.url)}{where})")
    tqdm.monitor_interval = 0  # no monitor thread: workers are forked from this process
    bar = tqdm(total=len(todo), desc="grading", unit="learner", disable=not options.progress,
               file=sys.stderr)
    with bar:
        for learner, entry in _outcomes(ws, assignment, todo, options, client):
            if entry["status"] != GRADED:
                remove_learner_outputs(ws, assignment, learner)
                bar.write(f"{learner}: not graded: {entry['reason']}")
            state[learner] = entry
            _save_state(ws, assignment, state)
            bar.set_postfix_str(learner)
            bar.update()
    for learner, entry in state.items():
        if entry["status"] != GRADED and options.feedback:
            _not_graded_feedback(ws, assignment, learner, entry["reason"])
    return _results(ws, assignment, state)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bp-classroom",
        description="Autograde a class's submissions with nbgrader; write CSV and feedback.",
        epilog="Exit codes: 0 all graded, 1 some not graded (see CSV), 2 error.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. 01-derivatives")
    parser.add_argument("submissions", type=Path, help="folder (one sub-folder per learner) or zip")
    parser.add_argument("-w", "--workspace", type=Path, required=True,
                        help="grading folder (created): submitted/, autograded/, feedback/, ...")
    parser.add_argument("--db", help="gradebook SQLAlchemy URL (default: WORKSPACE/gradebook.db)")
    parser.add_argument("--csv", type=Path, help="grades CSV (default: WORKSPACE/grades-<A>.csv)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                        help="seconds per cell (default 60)")
    parser.add_argument("--learner-timeout", type=float, default=600,
                        help="seconds per learner (default 600)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="learners graded at once")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on the workers of this Dask scheduler (e.g. tcp://host:8786); "
                        "needs the dask extra here and the course installed on every worker")
    parser.add_argument("--force", action="store_true", help="regrade learners already graded")
    parser.add_argument("--no-feedback", action="store_true", help="skip feedback HTML")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--names", action="store_true",
                        help="name the learners behind each mistake in the class report")
    parser.add_argument("--source", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    return parser


def _report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bp-classroom report",
        description="Rebuild the class report (what the class got wrong) from a graded "
        "workspace's gradebook, without regrading.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. 05-linear-layer")
    parser.add_argument("-w", "--workspace", type=Path, required=True, help="grading folder")
    parser.add_argument("--db", help="gradebook SQLAlchemy URL (default: WORKSPACE/gradebook.db)")
    parser.add_argument("--names", action="store_true",
                        help="name the learners behind each mistake")
    parser.add_argument("--source", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    return parser


def write_class_report(ws: Workspace, assignment: str, results: list[LearnerResult],
                       names: bool = False) -> tuple[Path, Path]:
    """``class-report-<A>.csv`` and ``.html`` in the workspace: what the class got wrong."""
    summary = summarize(assignment, results)
    csv_path = Path(ws.root) / f"class-report-{assignment}.csv"
    html_path = csv_path.with_suffix(".html")
    write_csv_report(summary, csv_path)
    write_html_report(summary, html_path, names=names)
    return csv_path, html_path


def _report_main(argv: Sequence[str]) -> int:
    args = _report_parser().parse_args(argv)
    ws = Workspace(args.workspace.resolve(), source=args.source, db_url=args.db)
    with private_stdout() as out:
        try:
            results = results_from_workspace(ws, args.assignment)
        except (ValueError, RuntimeError, OSError) as exc:
            print(f"bp-classroom report: {exc}", file=sys.stderr)
            return EXIT_ERROR
        csv_path, html_path = write_class_report(ws, args.assignment, results, args.names)
        print(f"{len(results)} learners; class report: {html_path} and {csv_path}", file=out)
    return EXIT_ALL_GRADED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bp-classroom``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:
        return _report_main(argv[1:])
    args = _parser().parse_args(argv)
    ws = Workspace(args.workspace.resolve(), source=args.source, db_url=args.db,
                   cell_timeout=args.timeout)
    options = ClassOptions(args.force, args.jobs, args.learner_timeout,
                           not args.no_feedback, not args.quiet, args.scheduler)
    csv_path = args.csv or Path(ws.root) / f"grades-{args.assignment}.csv"
    with private_stdout() as out:  # progress goes to stderr; stdout carries only the summary
        try:
            results = grade_class(ws, args.assignment, args.submissions, options)
        except KeyboardInterrupt:
            print("interrupted: run the same command again to resume", file=sys.stderr)
            return 130
        except (ValueError, RuntimeError, OSError) as exc:
            print(f"bp-classroom: {exc}", file=sys.stderr)
            return EXIT_ERROR
        write_csv(results, csv_path)
        _, report = write_class_report(ws, args.assignment, results, args.names)
        missing = [r for r in results if r.status != GRADED]
        print(f"{len(results) - len(missing)} graded, {len(missing)} not graded; grades: {csv_path}; "
              f"feedback: {Path(ws.root) / 'feedback'}; class report: {report}", file=out)
        for r in missing:
            print(f"  not graded: {r.learner}: {r.reason}", file=out)
    if results and len(missing) == len(results):
        return EXIT_ERROR
    return EXIT_SOME_NOT_GRADED if missing else EXIT_ALL_GRADED


if __name__ == "__main__":
    sys.exit(main())
