"""Run grading jobs in forked workers, each under an outer time limit.

nbgrader only limits each cell; a learner whose kernel ignores interrupts, or that makes nbgrader
hang, must not stop the class. Each job runs in a child forked from this process, so nbgrader
(already imported here, ≈3 s) is not imported again; the parent waits at most ``timeout``
seconds, then kills the child and every process under it (kernels start their own sessions, so a
process-group kill would miss them). Where ``fork`` does not exist (Windows) jobs run in this
process, one after another, with only nbgrader's per-cell limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import psutil

__all__ = ["Outcome", "can_fork", "private_stdout", "run_jobs"]


@dataclass(frozen=True)
class Outcome:
    """How one job ended: ``value`` is what it returned, ``error`` why it did not (or None)."""

    key: str
    value: Any = None
    error: str | None = None
    seconds: float = 0.0


def can_fork() -> bool:
    """True when jobs can run in forked children (POSIX)."""
    return hasattr(os, "fork")


def _child(conn: Connection, job: Callable[[], Any]) -> None:
    try:
        conn.send((job(), None))
    except BaseException as exc:  # report anything, including SystemExit from learner-facing code
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        conn.send((None, f"grading crashed: {last}"))
    finally:
        conn.close()


def _kill_descendants(pid: int) -> None:
    """Kill every process under ``pid`` (kernels, sandboxes); ``pid`` itself is left alone."""
    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    # Dead means a zombie or gone. Waiting until each one is gone (``psutil.wait_procs``) waits
    # for its reaper as well: a descendant whose parent has exited is reaped by init, which in a
    # container may take a second or more, for a process that already holds no memory or files.
    deadline = time.monotonic() + 10
    while (procs := [proc for proc in procs if not _dead(proc)]) and time.monotonic() < deadline:
        time.sleep(0.002)


def _dead(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@dataclass
class _Running:
    key: str
    pid: int
    conn: Connection
    started: float


def _fork(key: str, job: Callable[[], Any]) -> _Running:
    """Start ``job`` in a child forked from this process; its result comes back on a pipe.

    ``os.fork`` rather than ``multiprocessing``: this also works inside a daemonic process (a
    Dask worker), and the parent reaps each child itself, so no descriptor outlives its job.
    """
    reader, writer = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: run the job, send the outcome, never return into the caller
        code = 0
        try:
            _die_with(parent)
            os.close(reader)
            _child(Connection(writer, readable=False), job)
        except BaseException:
            code = 1
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            # What the job left running (a kernel, a sandbox) ends with it. Here, while this
            # process still holds them: once it has exited they belong to init, and the parent
            # would no longer find them under it.
            with contextlib.suppress(BaseException):
                _kill_descendants(os.getpid())
            os._exit(code)
    os.close(writer)
    return _Running(key, pid, Connection(reader, writable=False), time.monotonic())


def _die_with(parent: int) -> None:
    """Linux: this process is killed when the thread that forked it ends (its parent killed, e.g.
    a Dask worker that is lost), rather than grading on for nobody."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _reap(pid: int) -> int | None:
    """Kill ``pid`` and everything under it, wait for it; its exit code (None if unknown)."""
    _kill_descendants(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # a worker that already finished is a zombie: harmless
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status)


def _finish(run: _Running, timeout: float, timed_out: bool) -> Outcome:
    seconds = time.monotonic() - run.started
    value, error, crashed = None, None, False
    if timed_out:
        error = f"timed out: grading took longer than {timeout:g} s and was stopped"
    else:
        try:
            value, error = run.conn.recv()
        except (EOFError, OSError):
            crashed = True
    code = _reap(run.pid)  # also reaps kernels a finished worker may have left behind
    run.conn.close()
    if crashed:
        error = f"grading crashed (worker exit code {code})"
    return Outcome(run.key, value, error, seconds)


def run_jobs(
    jobs: Iterable[tuple[str, Callable[[], Any]]], *, timeout: float, workers: int = 1
) -> Iterator[Outcome]:
    """Run ``(key, job)`` pairs, at most ``workers`` at a time; yield each :class:`Outcome` as it ends.

    A job that exceeds ``timeout`` seconds is killed with its whole process tree and reported as
    timed out; a job that raises or whose worker dies is reported with the reason. Every worker
    is reaped and its pipe closed before its outcome is yielded.
    """
    pending = list(jobs)
    if not can_fork():
        for key, job in pending:
            start = time.monotonic()
            try:
                yield Outcome(key, job(), None, time.monotonic() - start)
            except Exception as exc:
                yield Outcome(key, None, f"grading crashed: {exc!r}", time.monotonic() - start)
        return
    running: list[_Running] = []
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                running.append(_fork(*pending.pop(0)))
            now = time.monotonic()
            wait_for = min(r.started + timeout for r in running) - now
            ready = wait([r.conn for r in running], timeout=max(0.0, wait_for))
            now = time.monotonic()
            for run in list(running):
                late = now - run.started > timeout
                if run.conn in ready or late:
                    running.remove(run)
                    yield _finish(run, timeout, timed_out=late and run.conn not in ready)
    finally:
        for run in running:  # interrupted (Ctrl-C or the consumer stopped): leave nothing behind
            _reap(run.pid)
            run.conn.close()


@contextlib.contextmanager
def private_stdout() -> Iterator[Any]:
    """While grading runs, file descriptor 1 is stderr; yield a stream to the real stdout.

    Whatever grading starts (nbgrader, its kernels, forked workers, sandboxes) inherits a
    descriptor 1 that leads to stderr, so nothing but the grader's own final report, written to
    the yielded stream, can reach stdout, where ``--json`` output is read by programs.
    """
    sys.stdout.flush()
    try:
        if sys.stdout.fileno() != 1:
            raise OSError("stdout is not descriptor 1")
        saved = os.dup(1)  # not inheritable: no child gets it
    except (OSError, ValueError, AttributeError):  # stdout redirected in-process, or none at all
        yield sys.stdout
        return
    os.dup2(2, 1)
    stream = os.fdopen(os.dup(saved), "w", encoding="utf-8")
    try:
        yield stream
    finally:
        stream.flush()
        stream.close()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
