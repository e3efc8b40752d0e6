"""Is a sandbox forked from the warm fork server the same as one started as a new interpreter?

Every other sandbox test runs through the fork server (the default); these compare the two ways
directly and prove what the fork server adds: nothing of its own reaches the learner, each child
draws its own random numbers, a dead fork server is replaced, the workers a grader forks share
its fork server (taking turns), and the sandboxes of a worker that died are killed.
"""

from __future__ import annotations

import array
import os
import signal
import socket
import time

import numpy as np
import pytest

from autograder import zygote
from autograder.sandbox import Sandbox, SandboxFailure
from autograder.wire import decode, encode

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork server needs fork()")

PROBE = """
import os, sys
import numpy as np
def probe():
    return {"argv": [a.rsplit("/", 1)[-1] for a in sys.argv],
            "fds": FDS,
            "draw": float(np.random.rand()),
            "uid": os.getuid(), "pid": os.getpid(),
            "modules": sorted(m for m in sys.modules if m.startswith("autograder.checks"))}
"""


def _probe(fork_server: bool) -> tuple[Sandbox, dict]:
    # The set-up cell runs before the lockdown: what it sees open is what the process inherited.
    setup = "import os\nimport numpy as np\nFDS = sorted(int(n) for n in os.listdir('/proc/self/fd'))"
    box = Sandbox([setup], [("probe", PROBE)], call_timeout=10, fork_server=fork_server)
    box.start()
    fn = box.request({"op": "get", "name": "probe"}, "test")["value"]
    reply = box.request({"op": "call", "fn": fn, "args": [], "kwargs": {}}, "test")
    return box, decode(reply["value"], None)


def test_does_a_forked_sandbox_see_what_a_new_interpreter_sees():
    new_box, new = _probe(fork_server=False)
    warm_box, warm = _probe(fork_server=True)
    try:
        assert isinstance(warm_box._proc, zygote.ForkedProcess)
        assert not isinstance(new_box._proc, zygote.ForkedProcess)  # negative control
        assert warm_box.lockdown == new_box.lockdown
        same = {k: v for k, v in warm_box.isolation.items() if k != "uid"}  # one uid per sandbox
        assert same == {k: v for k, v in new_box.isolation.items() if k != "uid"}
        assert warm["argv"][0] == new["argv"][0] == "sandbox.py"
        # inherited: the standard three, the two pipe ends, listdir's own; no socket, no status pipe
        assert len(warm["fds"]) == len(new["fds"]) == 6, (warm["fds"], new["fds"])
        assert (warm["pid"] == 1) == (new["pid"] == 1)  # first of its own PID namespace, or not
        assert (warm["uid"] == os.getuid()) == (new["uid"] == os.getuid())  # its own uid, or not
        assert warm["modules"] == new["modules"] == []
    finally:
        new_box.close()
        warm_box.close()


def test_does_each_forked_sandbox_draw_its_own_random_numbers():
    draws = []
    for _ in range(3):
        box, seen = _probe(fork_server=True)
        box.close()
        draws.append(seen["draw"])
    assert len(set(draws)) == 3, draws


def test_is_an_exit_code_passed_on_from_a_forked_sandbox():
    box = Sandbox(["import numpy as np"], [("f", "import os\ndef f():\n    os._exit(7)")],
                  call_timeout=5, fork_server=True)
    box.start()
    fn = box.request({"op": "get", "name": "f"}, "test")["value"]
    with pytest.raises(SandboxFailure, match="exit code 7"):
        box.request({"op": "call", "fn": fn, "args": [], "kwargs": {}}, "test")
    assert not box.alive


def test_is_a_dead_fork_server_replaced():
    box, _ = _probe(fork_server=True)
    box.close()
    old = zygote._zygote
    assert old is not None
    os.kill(old.proc.pid, signal.SIGKILL)
    old.proc.wait()
    box, seen = _probe(fork_server=True)
    try:
        assert seen["draw"] >= 0 and zygote._zygote is not old
    finally:
        box.close()


def _in_forked_graders(work, count: int = 1) -> list[bytes]:
    """Run ``work()`` (returns bytes) in ``count`` children forked from this grader at once, as
    classroom workers are; what each returned (b"crash" if it raised), in the order they ended."""
    read, write = os.pipe()
    children = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                os.write(write, work() + b"\n")
            except BaseException:  # noqa: BLE001 - reported as b"crash"
                os.write(write, b"crash\n")
            finally:
                os._exit(0)
        children.append(pid)
    os.close(write)
    answers = b""
    while answers.count(b"\n") < count and (chunk := os.read(read, 4096)):
        answers += chunk
    for pid in children:
        os.waitpid(pid, 0)
    os.close(read)
    return answers.splitlines()


def test_does_a_forked_grader_share_its_parents_fork_server():
    box, _ = _probe(fork_server=True)
    box.close()
    parents = zygote._zygote

    def work() -> bytes:  # a classroom worker forked from a grader that has a fork server
        child_box, seen = _probe(fork_server=True)
        parent = _parent_of(child_box._proc.pid)
        child_box.close()
        shared = zygote._zygote is parents and parents.inherited
        return b"ok" if shared and parent == parents.proc.pid and seen["draw"] >= 0 else b"no"

    assert _in_forked_graders(work) == [b"ok"]
    assert parents is zygote._zygote and parents.proc.poll() is None  # still the grader's own
    assert not parents.inherited


def test_do_graders_asking_at_once_each_get_their_own_sandbox():
    """Requests from several processes take turns on the one socket; none gets another's pid."""
    box, _ = _probe(fork_server=True)
    box.close()

    def work() -> bytes:
        pids = set()
        for _ in range(4):
            child_box, seen = _probe(fork_server=True)
            pids.add((child_box._proc.pid, seen["draw"]))
            child_box.close()
        return b"ok" if len(pids) == 4 else b"no"

    answers = _in_forked_graders(work, 3)
    assert answers == [b"ok"] * 3


def test_is_a_reply_meant_for_a_grader_that_died_mid_request_skipped():
    box, _ = _probe(fork_server=True)
    box.close()
    server = zygote._zygote
    pipes = [os.pipe() for _ in range(3)]
    fds = array.array("i", [pipes[0][0], pipes[1][1], pipes[2][1]])
    # A request whose reply nobody reads, as when its worker is killed right after sending it.
    server.sock.sendmsg([f"spawn {os.getpid()}.0".encode()],
                        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    for r, w in pipes:
        os.close(r)
        os.close(w)  # that sandbox reads end of file and ends
    box, seen = _probe(fork_server=True)  # the next request reads past the stale reply
    try:
        assert seen["draw"] >= 0 and _parent_of(box._proc.pid) == server.proc.pid
    finally:
        box.close()


def test_are_the_sandboxes_of_a_grader_that_died_killed():
    """A worker stopped at its timeout cannot close its sandbox: the fork server kills it. The
    control: a sandbox of a grader that lives on is left alone."""
    mine, _ = _probe(fork_server=True)
    server = zygote._zygote

    def work() -> bytes:  # a worker whose learner's call never returns, stopped meanwhile
        child_box = Sandbox([], [("spin", "def spin():\n    while True:\n        pass\n")],
                            call_timeout=60, fork_server=True)
        child_box.start()
        fn = child_box.request({"op": "get", "name": "spin"}, "test")["value"]
        child_box._send({"op": "call", "fn": fn, "args": [], "kwargs": {}}, "test")
        return str(child_box._proc.pid).encode()  # and the worker ends without closing it

    try:
        (orphan,) = map(int, _in_forked_graders(work))
        assert _parent_of(orphan) == server.proc.pid
        time.sleep(0.2)  # it spins: end of file on its pipe cannot end it, only a kill
        deadline = time.monotonic() + 10
        while _alive(orphan) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(orphan)
        assert _alive(mine._proc.pid) and mine._proc.poll() is None
    finally:
        mine.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_is_a_request_without_three_descriptors_refused():
    """Negative control of the fork server's intake: a malformed request forks nothing."""
    box, _ = _probe(fork_server=True)
    box.close()
    server = zygote._zygote
    assert server is not None
    ident = f"{os.getpid()}.0".encode()
    server.sock.send(b"spawn " + ident)  # no descriptors attached
    assert server.sock.recv(64) == ident + b" 0"
    children = [p for p in os.listdir("/proc") if p.isdigit()
                and _parent_of(int(p)) == server.proc.pid]
    assert children == []


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_are_numbers_the_same_either_way():
    answer = "import numpy as np\ndef f(x):\n    return np.tanh(x) @ x.T"
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    results = []
    for fork_server in (False, True):
        box = Sandbox(["import numpy as np"], [("f", answer)], call_timeout=10,
                      fork_server=fork_server)
        box.start()
        try:
            fn = box.request({"op": "get", "name": "f"}, "test")["value"]
            reply = box.request({"op": "call", "fn": fn, "args": [encode(x, None)], "kwargs": {}},
                                "test")
            results.append(decode(reply["value"], None))
        finally:
            box.close()
    np.testing.assert_array_equal(results[0], results[1])


def test_is_a_refusal_from_the_fork_server_an_error_never_process_group_0():
    """A pid of 0 handed on would make close() kill the grader's own process group."""
    import tempfile

    server = zygote._Zygote.__new__(zygote._Zygote)
    server.sock, fake = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.owner, server.requests, server.turn = os.getpid(), 0, tempfile.TemporaryFile()
    fake.settimeout(5)
    try:
        fake.send(f"{os.getpid()}.1 0".encode())  # the answer to a request it cannot serve
        r, w = os.pipe()
        with pytest.raises(OSError, match="refused"):
            server.spawn(r, w, w)
        os.close(r)
        os.close(w)
    finally:
        server.sock.close()
        server.turn.close()
        fake.close()
