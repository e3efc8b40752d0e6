"""Grade a class on a Dask distributed cluster: one task per learner, one writer.

``bp-classroom … --scheduler ADDRESS`` sends each learner's filed submission (its bytes) to an
existing cluster, with the assignment's source notebooks (sent once). A worker needs only the
course installed (the same version as the client: checked before anything is sent). It grades
the learner exactly as ``bp-classroom`` does on one machine, in a forked child under the
learner's time limit, the answer cells in the same sandbox, but into a private workspace of its
own (a throw-away SQLite gradebook), and sends back what came of it: the status, the autograded
notebooks (scores, flags, explanations are in them) and the feedback HTML.

The client alone writes the class's gradebook, CSV and feedback folders: it records each
returned notebook with nbgrader's own autograde steps, the run step replaced by
:class:`autograder.preprocessors.ReplayVerdicts`, so nothing races and the gradebook holds
exactly what local grading would have put there. A worker that dies is replaced by Dask and its
task runs again elsewhere (up to the cluster's ``allowed-failures``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .gradebook import (
    Workspace,
    autograde,
    grade_learner,
    learner_lock,
    prepare_assignment,
    remove_learner_outputs,
)
from .isolation import run_jobs
from .report import GRADED, NOT_GRADED
from .verdict import warm_sandboxes

__all__ = ["ClusterError", "RemoteTask", "connect", "course_fingerprint", "grade_on_cluster",
           "grade_on_worker", "record"]


class ClusterError(RuntimeError):
    """The cluster cannot grade (unreachable, no workers, another course version installed)."""


@dataclass(frozen=True)
class RemoteTask:
    """One learner to grade on a worker.

    submission: notebook name -> the filed notebook's bytes.
    """

    assignment: str
    learner: str
    submission: dict[str, bytes]
    cell_timeout: int
    learner_timeout: float
    feedback: bool
    course_id: str


@cache
def course_fingerprint() -> str:
    """A digest of the installed grading code (``autograder``, ``bplib``): client and workers
    must grade with the same checks."""
    import autograder
    import bplib

    digest = hashlib.sha256()
    for package in (autograder, bplib):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def source_files(source: Path, assignment: str) -> dict[str, bytes]:
    """Every file of ``source/<assignment>/`` (path inside it -> bytes)."""
    folder = Path(source) / assignment
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts}


# --- on a worker -------------------------------------------------------------------------------

_WORKSPACES: dict[tuple[str, str, int, str], Workspace] = {}


def _scratch() -> Path:
    """Where this worker keeps its private workspaces (Dask's own folder, cleaned by Dask)."""
    try:
        from distributed import get_worker

        return Path(get_worker().local_directory)
    except (ImportError, ValueError):
        return Path(tempfile.gettempdir())


def _private_workspace(task: RemoteTask, source: dict[str, bytes]) -> Workspace:
    """This worker's workspace for the task's assignment, source and limits (made once)."""
    digest = hashlib.sha256(repr(sorted(source.items())).encode()).hexdigest()[:16]
    key = (task.assignment, digest, task.cell_timeout, task.course_id)
    if key not in _WORKSPACES:
        root = Path(tempfile.mkdtemp(prefix="bp-worker-", dir=_scratch()))
        for name, data in source.items():
            path = root / "source" / task.assignment / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _WORKSPACES[key] = Workspace(root / "grading", source=root / "source",
                                     cell_timeout=task.cell_timeout, course_id=task.course_id)
    return _WORKSPACES[key]


def _grade_here(ws: Workspace, task: RemoteTask) -> dict[str, Any]:
    prepare_assignment(ws, task.assignment)  # once per workspace; locked against a sibling
    return grade_learner(ws, task.assignment, task.learner, task.feedback)


def grade_on_worker(task: RemoteTask, source: dict[str, bytes], fingerprint: str) -> dict[str, Any]:
    """Grade one learner here, on a worker; what came of it.

    Returns ``{"entry": {"status", "reason"}, "autograded": {name: bytes}, "feedback":
    {name: bytes}, "pid": int}``. Grading runs in a child forked from this worker (as on one
    machine), so a crash or hang costs this learner only and the worker lives on.
    """
    if fingerprint != course_fingerprint():
        raise ClusterError("this worker has another version of the course installed")
    ws = _private_workspace(task, source)
    submitted = ws.path("submitted", task.learner, task.assignment)
    shutil.rmtree(submitted, ignore_errors=True)
    submitted.mkdir(parents=True)
    for name, data in task.submission.items():
        (submitted / f"{name}.ipynb").write_bytes(data)
    remove_learner_outputs(ws, task.assignment, task.learner)
    job = (task.learner, lambda: _grade_here(ws, task))
    warm_sandboxes(task.assignment)  # this worker's fork server, kept for its next learners
    (outcome,) = run_jobs([job], timeout=task.learner_timeout)
    entry = outcome.value or {"status": NOT_GRADED, "reason": outcome.error}
    result: dict[str, Any] = {"entry": entry, "autograded": {}, "feedback": {}, "pid": os.getpid()}
    if entry["status"] == GRADED:
        folder = ws.path("autograded", task.learner, task.assignment)
        result["autograded"] = {p.stem: p.read_bytes() for p in folder.glob("*.ipynb")}
        pages = ws.path("feedback", task.learner, task.assignment)
        result["feedback"] = {p.name: p.read_bytes() for p in pages.glob("*.html")}
    remove_learner_outputs(ws, task.assignment, task.learner)
    shutil.rmtree(ws.path("submitted", task.learner, task.assignment), ignore_errors=True)
    return result


def _worker_report() -> dict[str, Any]:
    return {"fingerprint": course_fingerprint(), "pid": os.getpid()}


# --- on the client -----------------------------------------------------------------------------


def connect(address: str, timeout: float = 10) -> Any:
    """A Dask client of the scheduler at ``address`` whose workers run this course's version.

    Raises :class:`ClusterError` (before anything is graded) when Dask is not installed, the
    scheduler cannot be reached, it has no worker, or a worker runs other grading code.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--scheduler needs Dask: pip install -e '.[dask]'") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
        reports = client.run(_worker_report)
    except Exception as exc:
        client.close()
        raise ClusterError(f"the Dask cluster at {address} cannot grade: "
                           f"{type(exc).__name__}: {exc}") from None
    other = sorted(w for w, r in reports.items() if r["fingerprint"] != course_fingerprint())
    if other:
        client.close()
        raise ClusterError(f"{len(other)} of {len(reports)} Dask workers have another version of "
                           f"the course installed (e.g. {other[0]}): install this one on every worker")
    return client


def _failure(exc: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return ("grading crashed: the Dask workers grading this learner died, each time "
                "(the cluster's allowed-failures)")
    return f"grading crashed on a Dask worker: {type(exc).__name__}: {exc}"


def record(ws: Workspace, assignment: str, learner: str, result: dict[str, Any]) -> dict[str, Any]:
    """Write one learner's result from a worker into the class's workspace and gradebook; the
    learner's new state. Runs in the client, the only writer."""
    entry = dict(result["entry"])
    if entry["status"] != GRADED:
        return entry
    with tempfile.TemporaryDirectory(prefix="bp-replay-") as tmp:
        for name, data in result["autograded"].items():
            (Path(tmp) / f"{name}.ipynb").write_bytes(data)
        with learner_lock(ws, assignment, learner):
            reason = autograde(ws, assignment, learner, force=True, replay=Path(tmp))
    if reason:
        return {"status": NOT_GRADED, "reason": f"could not record the grades: {reason}"}
    pages = ws.path("feedback", learner, assignment)
    if result["feedback"]:
        pages.mkdir(parents=True, exist_ok=True)
    for name, data in result["feedback"].items():
        (pages / Path(name).name).write_bytes(data)
    return entry


def grade_on_cluster(
    client: Any,
    ws: Workspace,
    assignment: str,
    learners: list[str],
    *,
    learner_timeout: float,
    feedback: bool,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Send one task per learner in ``learners`` (already filed in ``ws``) to the cluster; yield
    ``(learner, new state)`` as each result comes back and is recorded. Task keys start with
    ``bp-grade-<assignment>-<learner>-``."""
    from distributed import as_completed

    source = source_files(ws.source, assignment)
    [source_future] = client.scatter([source], broadcast=True, hash=False)
    futures = {}
    for learner in learners:
        folder = ws.path("submitted", learner, assignment)
        task = RemoteTask(assignment, learner, {p.stem: p.read_bytes() for p in folder.glob("*.ipynb")},
                          ws.cell_timeout, learner_timeout, feedback, ws.course_id)
        futures[client.submit(grade_on_worker, task, source_future, course_fingerprint(),
                              key=f"bp-grade-{assignment}-{learner}-{os.urandom(4).hex()}",
                              pure=False)] = learner
    try:
        for future in as_completed(list(futures), loop=client.loop):
            learner = futures[future]
            if future.status == "finished":
                yield learner, record(ws, assignment, learner, future.result())
            elif future.status == "cancelled":
                yield learner, {"status": NOT_GRADED, "reason": "grading was cancelled on the cluster"}
            else:
                yield learner, {"status": NOT_GRADED, "reason": _failure(future.exception())}
            future.release()
    finally:
        client.cancel(list(futures))
        source_future.release()
