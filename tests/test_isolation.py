"""Do grading workers end cleanly: results back, crashes and timeouts reported, nothing left open?"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

import psutil
import pytest
from descriptors import open_descriptors

from autograder.isolation import can_fork, run_jobs

pytestmark = pytest.mark.skipif(not can_fork(), reason="workers are forked only where fork exists")


def _exit_3() -> None:
    os._exit(3)


def children() -> set[int]:
    """Every process under this one (e.g. multiprocessing's resource tracker, once a test has
    started one: it stays for the session)."""
    return {p.pid for p in psutil.Process().children(recursive=True)}


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
    already = children()
    list(run_jobs(jobs, timeout=30, workers=2))  # warm up: lazily opened files, imports
    before = open_descriptors()
    for _ in range(3):
        outcomes = {o.key: o for o in run_jobs(jobs, timeout=30, workers=2)}
    assert open_descriptors() == before
    assert outcomes["one"].value == 1 and outcomes["two"].value == 2
    assert outcomes["boom"].error == "grading crashed: ZeroDivisionError: division by zero"
    assert outcomes["exit"].error == "grading crashed (worker exit code 3)"
    assert children() == already


def test_is_a_late_worker_killed_and_reaped():
    already = children()
    start = time.monotonic()
    (outcome,) = run_jobs([("slow", lambda: time.sleep(60))], timeout=0.5)
    assert outcome.error is not None and outcome.error.startswith("timed out")
    assert time.monotonic() - start < 15
    assert children() == already  # no zombie either


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_does_a_worker_die_with_the_process_that_forked_it():
    """As when a Dask worker grading a learner is killed: its grading child must not go on."""
    reader, writer = os.pipe()
    middle = os.fork()
    if middle == 0:  # a stand-in for the worker: one plain child, one grading job
        try:
            plain = os.fork()
            if plain == 0:
                time.sleep(60)
                os._exit(0)
            os.write(writer, str(plain).encode())
            list(run_jobs([("slow", lambda: time.sleep(60))], timeout=120))
        finally:
            os._exit(0)
    os.close(writer)
    try:
        plain = int(os.read(reader, 32))
        deadline = time.monotonic() + 20
        while len(psutil.Process(middle).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        (grading,) = [p.pid for p in psutil.Process(middle).children() if p.pid != plain]
    finally:
        os.close(reader)
        os.kill(middle, signal.SIGKILL)
        os.waitpid(middle, 0)
    deadline = time.monotonic() + 10
    while _alive(grading) and time.monotonic() < deadline:
        time.sleep(0.05)
    plain_alive, grading_alive = _alive(plain), _alive(grading)
    for pid in (plain, grading):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not grading_alive
    assert plain_alive  # the control: an ordinary orphan lives on


def _leave_a_grandchild(report: int) -> str:
    """A job that leaves a process behind (as a kernel or a sandbox may), ignoring SIGTERM."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(60)
        os._exit(0)
    os.write(report, f"{pid}\n".encode())
    return "done"


def test_is_what_a_finished_job_leaves_behind_killed():
    reader, writer = os.pipe()
    try:
        outcomes = list(run_jobs([(k, lambda: _leave_a_grandchild(writer)) for k in "ab"],
                                 timeout=30, workers=1))
        left = [int(line) for line in os.read(reader, 64).split()]
    finally:
        os.close(reader)
        os.close(writer)
    assert [o.value for o in outcomes] == ["done", "done"]
    assert len(left) == 2 and not any(_alive(pid) for pid in left)
