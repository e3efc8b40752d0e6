"""Grading throughput: stock ``nbgrader autograde`` beside ``bp-classroom -j 1`` and ``-j 2``.

The class: N learners who all hand in the reference solution of one assignment (the released
notebook with the reference answers filled in). Each contender grades the whole class from a
fresh workspace whose gradebook already holds the assignment, as a command of its own (its
import time counts, as it does for an instructor):

* ``nbgrader autograde A``: nbgrader as shipped, in a course folder of its own with a plain
  configuration (the hidden tests run in the learner's kernel, one learner after another);
* ``bp-classroom A -j 1`` and ``-j 2`` (``--no-feedback``, as autograde writes none): this
  course's grading, verdicts computed outside the learner's process.

The contenders take turns in each round (the order rotates), so a change of machine load hits
them alike; the table gives median wall seconds, learners per minute, the CPU seconds of the
command and everything it started, and each contender's time over stock nbgrader's.

Run: ``python benchmarks/bench_throughput.py [-n 8] [--assignment 05-linear-layer] [--rounds 1]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from _common import machine_report

from autograder.normalize import fill_answers, reference_answers
from autograder.release import assignments
from autograder.settings import COURSE, SOLUTIONS

__all__ = ["main"]

BIN = Path(sys.executable).parent


def _class(folder: Path, assignment: str, n: int) -> Path:
    """``folder/<learner>/<assignment>/<assignment>.ipynb`` for N learners; ``folder``."""
    source = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    released = nbformat.read(COURSE / assignment / f"{assignment}.ipynb", as_version=4)
    reference = fill_answers(released, reference_answers(source))
    for i in range(n):
        dest = folder / f"learner{i:03d}" / assignment
        dest.mkdir(parents=True)
        nbformat.write(reference, dest / f"{assignment}.ipynb")
    return folder


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _run(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of it and its children) of a command that must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # bp-classroom: 1 = some learner not graded
        raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


Timed = Callable[[], tuple[float, float]]
Check = Callable[[], str]


def _full_marks(scores: list[tuple[float, float]], n: int) -> str:
    full = sum(1 for score, top in scores if top and score == top)
    return "yes" if full == n == len(scores) else f"NO: {full} of {n}"


def _stock(scratch: Path, assignment: str, learners: Path, n: int) -> tuple[Timed, Check]:
    """A fresh plain nbgrader course with the class submitted; the timed ``autograde``, and
    whether it gave everyone full marks (from its gradebook)."""
    root = scratch / "stock"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.source_directory = {str(SOLUTIONS)!r}\n"
        f"c.CourseDirectory.release_directory = {str(scratch / 'release')!r}\n"
        "c.CourseDirectory.course_id = 'bench'\n"
    )
    shutil.copytree(learners, root / "submitted")
    _run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], root)

    def check() -> str:
        with sqlite3.connect(root / "gradebook.db") as db:
            rows = db.execute(
                "SELECT sa.student_id, SUM(g.auto_score), SUM(c.max_score) FROM grade g "
                "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
                "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
                "JOIN grade_cells c ON g.cell_id = c.id GROUP BY sa.student_id").fetchall()
        return _full_marks([(score or 0, top) for _, score, top in rows], n)

    return (lambda: _run([str(BIN / "nbgrader"), "autograde", assignment], root)), check


def _ours(scratch: Path, assignment: str, learners: Path, n: int, jobs: int
          ) -> tuple[Timed, Check]:
    """A fresh workspace whose gradebook holds the assignment; the timed ``bp-classroom``, and
    whether it gave everyone full marks (from its CSV)."""
    ws, empty = scratch / f"ours-j{jobs}", scratch / "empty"
    empty.mkdir(exist_ok=True)
    command = [str(BIN / "bp-classroom"), assignment]
    _run([*command, str(empty), "-w", str(ws), "-q"], scratch)  # prepares the gradebook

    def check() -> str:
        with (ws / f"grades-{assignment}.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        return _full_marks([(float(r["score"] or 0), float(r["max_score"])) for r in rows], n)

    return (lambda: _run([*command, str(learners), "-w", str(ws), "-j", str(jobs), "-q",
                          "--no-feedback"], scratch)), check


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--learners", type=int, default=8, help="class size (default 8)")
    parser.add_argument("--assignment", default="05-linear-layer", choices=assignments(SOLUTIONS))
    parser.add_argument("--rounds", type=int, default=1, help="turns of every contender")
    args = parser.parse_args(argv)
    print(*machine_report(), sep="\n")
    print(f"class: {args.learners} learners handing in the reference of {args.assignment}; "
          f"load average {os.getloadavg()[0]:.1f} at the start\n", flush=True)
    n = args.learners
    contenders: dict[str, Callable[[Path, Path], tuple[Timed, Check]]] = {
        "nbgrader autograde (stock)": lambda s, c: _stock(s, args.assignment, c, n),
        "bp-classroom -j 1": lambda s, c: _ours(s, args.assignment, c, n, 1),
        "bp-classroom -j 2": lambda s, c: _ours(s, args.assignment, c, n, 2),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    marks: dict[str, str] = {}
    names = list(contenders)
    for round_ in range(args.rounds):
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            with tempfile.TemporaryDirectory(prefix="bp-bench-") as tmp:
                learners = _class(Path(tmp) / "class", args.assignment, args.learners)
                timed, check = contenders[name](Path(tmp), learners)
                times[name].append(timed())
                marks[name] = check()
            print(f"  round {round_ + 1}: {name}: {times[name][-1][0]:.1f} s", flush=True)
    wall = {n: statistics.median(t[0] for t in ts) for n, ts in times.items()}
    cpu = {n: statistics.median(t[1] for t in ts) for n, ts in times.items()}
    stock = wall[names[0]]
    print("\n| command | wall s | learners / min | CPU s | wall / stock | stock / wall | "
          "all full marks |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in names:
        print(f"| {name} | {wall[name]:.1f} | {60 * n / wall[name]:.1f} | "
              f"{cpu[name]:.1f} | {wall[name] / stock:.2f}x | {stock / wall[name]:.2f}x | "
              f"{marks[name]} |")
    print(f"\n-j 2 over -j 1: {wall[names[1]] / wall[names[2]]:.2f}x as fast; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0 if all(m == "yes" for m in marks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
