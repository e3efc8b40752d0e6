"""The whole course's time budget: run every solution notebook, then grade its reference answers.

For each ``solutions/NN-name/NN-name.ipynb``, one after the other:

* execute: the notebook top to bottom in a fresh kernel (nbclient), as "Restart & Run All" does,
  in a scratch copy of its folder; hidden tests included, as they are in the solution. Once
  with the machine's default BLAS threads, once with one (as the grader's sandbox runs);
* grade: ``bp-grade`` (a fresh process, real ``nbgrader autograde``) of the reference solution as
  a learner hands it in: the released notebook with the reference answers filled in
  (``autograder.normalize.fill_answers(release, reference_answers(source))``).

It prints each notebook's times, grading / execution, whether grading gave full marks, and the
totals, and flags a notebook over ``--max-seconds`` (30) or grading over ``--max-ratio`` (1.2)
times its execution. Exit code 0 when everything ran (over-budget rows are reported, not
errors), 1 when a notebook failed to run or to get full marks.

Run: ``python benchmarks/course_budget.py [NN-name ...] [--max-seconds 30] [--max-ratio 1.2]``.
Times are wall-clock seconds and vary with the machine's load; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from _common import machine_report
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient

from autograder.normalize import fill_answers, reference_answers
from autograder.settings import COURSE, SOLUTIONS

__all__ = ["Budget", "execute_seconds", "grade_seconds", "main"]


@dataclass
class Budget:
    """One notebook's figures in seconds, and what went wrong: execute with the machine's
    default BLAS threads and with one, and grade (whose sandbox uses one)."""

    name: str
    execute: float
    execute_1: float = float("nan")
    grade: float = float("nan")
    problem: str = ""


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def execute_seconds(path: Path, blas_threads: int | None = None) -> float:
    """Seconds to run ``path`` top to bottom in a fresh kernel, kernel start included.

    ``blas_threads`` limits the kernel's BLAS threads (as the grader's sandbox does, with 1);
    None leaves the machine's default. Raises RuntimeError naming the first cell that raised.
    """
    nb = nbformat.read(path, as_version=4)
    saved = {v: os.environ.get(v) for v in BLAS_THREAD_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="bp-budget-") as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(path.parent, run, ignore=shutil.ignore_patterns("*.ipynb"))
        if blas_threads is not None:  # the kernel, a new process, reads them when it starts
            os.environ.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(blas_threads)))
        try:
            start = time.perf_counter()
            # Unix sockets, not TCP ports: on a machine where others start kernels too, a
            # port picked as free can be taken before the kernel binds it, and the run hangs.
            km = AsyncKernelManager(kernel_name="python3", transport="ipc",
                                    ip=str(Path(tmp) / "kernel"))  # absolute: cwd is run
            NotebookClient(nb, km=km, timeout=300,
                           resources={"metadata": {"path": str(run)}}).execute()
            seconds = time.perf_counter() - start
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                raise RuntimeError(f"cell {cell.get('id')}: {out.ename}: {out.evalue}")
    return seconds


def grade_seconds(path: Path) -> tuple[float, str]:
    """Seconds ``bp-grade`` takes on the reference solution of ``path``; and a problem, if any.

    The problem is empty when grading gave full marks.
    """
    source = nbformat.read(path, as_version=4)
    released = nbformat.read(COURSE / path.parent.name / path.name, as_version=4)
    submission = fill_answers(released, reference_answers(source))
    with tempfile.TemporaryDirectory(prefix="bp-budget-") as tmp:
        mine = Path(tmp) / path.name
        nbformat.write(submission, mine)
        grader = Path(sys.executable).with_name("bp-grade")
        start = time.perf_counter()
        done = subprocess.run([str(grader), "--json", str(mine)], capture_output=True, text=True,
                              check=False)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        try:
            result = json.loads(done.stdout)
            score = f"score {result.get('score')} of {result.get('max_score')}"
            reason = result.get("reason") or score
        except ValueError:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return seconds, f"bp-grade exit {done.returncode}: {reason}"
    return seconds, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments to time (default: all)")
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--max-ratio", type=float, default=1.2)
    args = parser.parse_args(argv)

    paths = sorted(SOLUTIONS.glob("*/*.ipynb"))
    if args.names:
        paths = [p for p in paths if p.parent.name in args.names]
    print("course budget: each solution notebook executed, then its reference solution graded "
          "with bp-grade; wall-clock seconds, one notebook at a time")
    print("\n".join(machine_report()))
    print()
    print("| notebook | execute s | execute s, 1 BLAS thread | grade s | grade / execute "
          "| notes |")
    print("|---|---:|---:|---:|---:|---|")
    rows: list[Budget] = []
    for path in paths:
        try:
            row = Budget(path.stem, execute_seconds(path), execute_seconds(path, blas_threads=1))
        except Exception as exc:  # a broken notebook is a row, not the end of the run
            row = Budget(path.stem, float("nan"), problem=f"did not run: {exc}")
        else:
            row.grade, row.problem = grade_seconds(path)
        rows.append(row)
        notes = [row.problem] if row.problem else []
        if max(row.execute, row.execute_1) > args.max_seconds:
            notes.append(f"over {args.max_seconds:g} s")
        if row.grade > args.max_ratio * row.execute:
            notes.append(f"grading over {args.max_ratio:g}x")
        print(f"| {row.name} | {row.execute:.1f} | {row.execute_1:.1f} | {row.grade:.1f} | "
              f"{row.grade / row.execute:.2f}x | {'; '.join(notes)} |", flush=True)
    execute, execute_1 = sum(r.execute for r in rows), sum(r.execute_1 for r in rows)
    grade = sum(r.grade for r in rows)
    print(f"| total | {execute:.1f} | {execute_1:.1f} | {grade:.1f} | {grade / execute:.2f}x | |")
    print("\nexecute: as a learner runs it (the machine's default BLAS threads); grading runs "
          "the answers in a sandbox with one BLAS thread.")
    return 1 if any(r.problem for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
