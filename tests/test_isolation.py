"""Do grading workers end cleanly: results back, crashes and timeouts reported, nothing left open?"""

from __future__ import annotations

import os
import time

import psutil
import pytest
from descriptors import open_descriptors

from autograder.isolation import can_fork, run_jobs

pytestmark = pytest.mark.skipif(not can_fork(), reason="workers are forked only where fork exists")


def _exit_3() -> None:
    os._exit(3)


def test_does_the_descriptor_count_see_a_leak():
    """Negative control for the leak tests: a pipe left open is seen."""
    before = open_descriptors()
    reader, writer = os.pipe()
    try:
        assert open_descriptors() - before == {reader, writer}
    finally:
        os.close(reader)
        os.close(writer)


def test_do_workers_return_results_report_crashes_and_leave_no_descriptor():
    jobs = [("one", lambda: 1), ("boom", lambda: 1 / 0), ("exit", _exit_3), ("two", lambda: 2)]
    list(run_jobs(jobs, timeout=30, workers=2))  # warm up: lazily opened files, imports
    before = open_descriptors()
    for _ in range(3):
        outcomes = {o.key: o for o in run_jobs(jobs, timeout=30, workers=2)}
    assert open_descriptors() == before
    assert outcomes["one"].value == 1 and outcomes["two"].value == 2
    assert outcomes["boom"].error == "grading crashed: ZeroDivisionError: division by zero"
    assert outcomes["exit"].error == "grading crashed (worker exit code 3)"
    assert psutil.Process().children(recursive=True) == []


def test_is_a_late_worker_killed_and_reaped():
    start = time.monotonic()
    (outcome,) = run_jobs([("slow", lambda: time.sleep(60))], timeout=0.5)
    assert outcome.error is not None and outcome.error.startswith("timed out")
    assert time.monotonic() - start < 15
    assert psutil.Process().children(recursive=True) == []  # no zombie either
