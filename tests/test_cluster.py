"""Does ``bp-classroom --scheduler`` grade on a Dask cluster exactly as on one machine, survive a
lost worker, show its progress, and keep the sandbox's isolation on the workers?

One ``LocalCluster`` of two worker processes (one thread each) for the module.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from capture import captured_output
from conftest import TOY, class_outcome
from needs import have_modules, need
from submissions import LINEAR, attacker

import autograder.cluster as cluster_module
from autograder.classroom import ClassOptions, grade_class, main
from autograder.cluster import connect
from autograder.gradebook import Workspace
from autograder.report import GRADED
from autograder.settings import SOLUTIONS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    """A Dask ``LocalCluster``: two worker processes with one thread each, closed at the end."""
    need(have_modules("distributed"), "the Dask tests", "Dask: pip install -e '.[dask]'")
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as local:
        yield local


def worker_pids(address: str) -> dict[str, int]:
    """Worker address -> its process id, as the scheduler at ``address`` knows them now."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        return client.run(os.getpid)


class Killer(threading.Thread):
    """Kills (SIGKILL) the worker process that is grading a learner, a second after it began."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.killed: dict[str, object] = {}
        self.stop = threading.Event()

    def run(self) -> None:  # noqa: D102
        from distributed import Client

        with Client(self.address, set_as_default=False) as client:
            while not self.stop.is_set():
                busy = {w: [k for k in keys if str(k).startswith("bp-grade-")]
                        for w, keys in client.processing().items()}
                busy = {w: keys for w, keys in busy.items() if keys}
                if busy:
                    worker, keys = sorted(busy.items())[0]
                    time.sleep(1.0)  # well into grading: the worker has forked its grader
                    if keys[0] in client.processing().get(worker, ()):
                        pid = client.run(os.getpid, workers=[worker])[worker]
                        os.kill(pid, signal.SIGKILL)
                        self.killed = {"worker": worker, "pid": pid, "task": str(keys[0])}
                        return
                time.sleep(0.05)


@pytest.fixture(scope="module")
def dask_class(cluster, toy_class, tmp_path_factory):
    """The toy class graded by ``bp-classroom --scheduler``, one worker killed while grading."""
    tmp = tmp_path_factory.mktemp("dask-class")
    ws = tmp / "grading"
    before = worker_pids(cluster.scheduler_address)
    killer = Killer(cluster.scheduler_address)
    killer.start()
    args = [TOY, str(toy_class.archive), "-w", str(ws), "--source", str(toy_class.source),
            "--scheduler", cluster.scheduler_address]  # with its progress bar
    with captured_output(tmp / "output.txt") as output:
        code = main(args)
    killer.stop.set()
    killer.join(30)
    return {"code": code, "ws": ws, "output": output.read_text(errors="replace"),
            "killed": killer.killed, "before": before}


def test_does_the_cluster_grade_the_class_exactly_as_one_machine_does(dask_class, toy_class):
    assert dask_class["code"] == toy_class.code == 1  # carol's file cannot be graded
    outcome = class_outcome(dask_class["ws"], toy_class.source)
    assert {"alice", "bob", "dave", "erin", "feedback/carol"} <= set(outcome)  # not vacuous
    assert outcome["csv"] == toy_class.outcome["csv"]
    assert outcome == toy_class.outcome  # every part, explanation, note and feedback page


def test_is_a_learner_whose_worker_was_killed_graded_again(dask_class, cluster):
    killed = dask_class["killed"]
    assert killed, "no worker was killed while grading"
    assert killed["worker"] in dask_class["before"] and not psutil.pid_exists(killed["pid"])
    learner = killed["task"].split("-")[-2]
    rows = dask_class["ws"] / f"grades-{TOY}.csv"
    assert f"\n{learner},{TOY}," in rows.read_text() and "grading crashed" not in rows.read_text()
    # Dask replaced the lost worker: two workers again, the killed one not among them
    deadline = time.monotonic() + 60
    while len(now := worker_pids(cluster.scheduler_address)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(now) == 2 and killed["pid"] not in now.values()


def test_is_progress_shown_as_learners_come_back(dask_class):
    output = dask_class["output"]
    assert "on the Dask cluster at tcp://" in output
    assert "grading: 100%" in output and "4/4" in output
    assert "4 graded, 1 not graded" in output


def test_does_the_sandbox_hold_on_the_workers(cluster, tmp_path):
    """Learners whose code signals every process it can name, or borrows other processes'
    descriptors, graded on the workers: the attacks reach nothing (the workers, their nannies
    and the scheduler live on, the same processes) and each still earns its reference marks."""
    folder = tmp_path / "submissions"
    for attack in ("signals-everyone", "borrows-descriptors"):
        (folder / attack).mkdir(parents=True)
        nbformat.write(attacker(attack), folder / attack / f"{LINEAR}.ipynb")
    before = worker_pids(cluster.scheduler_address)
    ws = Workspace(tmp_path / "grading", source=SOLUTIONS, cell_timeout=20)
    options = ClassOptions(feedback=False, progress=False, learner_timeout=300,
                           scheduler=cluster.scheduler_address)
    results = grade_class(ws, LINEAR, folder, options, log=lambda msg: None)
    for result in results:
        assert result.status == GRADED and result.score == result.max_score, result
        notes = [n for nb in result.notebooks for n in nb.notes]
        assert not any(n.startswith("the sandbox ran without") for n in notes), notes
    assert worker_pids(cluster.scheduler_address) == before


def test_is_an_unreachable_scheduler_a_clear_error_before_grading(
    toy_class, tmp_path, capfd, monkeypatch
):
    need(have_modules("distributed"), "the Dask tests", "Dask: pip install -e '.[dask]'")
    monkeypatch.setattr(cluster_module, "connect", functools.partial(connect, timeout=2))
    ws = tmp_path / "ws"
    code = main([TOY, str(toy_class.archive), "-w", str(ws), "--source", str(toy_class.source),
                 "--scheduler", "tcp://127.0.0.1:9", "-q"])
    err = capfd.readouterr().err
    assert code == 2 and "bp-classroom: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert not (ws / "submitted").exists()  # nothing filed, nothing graded
    assert Path(ws / "gradebook.db").is_file()  # (the gradebook was checked first)
