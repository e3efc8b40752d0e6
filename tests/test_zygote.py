"""Is a sandbox forked from the warm fork server the same as one started as a new interpreter?

Every other sandbox test runs through the fork server (the default); these compare the two ways
directly and prove what the fork server adds: nothing of its own reaches the learner, each child
draws its own random numbers, a dead fork server is replaced, a forked grader gets its own.
"""

from __future__ import annotations

import os
import signal

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


def test_does_a_forked_grader_start_a_fork_server_of_its_own():
    box, _ = _probe(fork_server=True)
    box.close()
    parents = zygote._zygote
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a classroom worker forked from a grader that already has a fork server
        try:
            child_box, seen = _probe(fork_server=True)
            child_box.close()
            ok = zygote._zygote is not parents and zygote._zygote.owner == os.getpid()
            os.write(write, b"ok" if ok and seen["draw"] >= 0 else b"no")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 2)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"ok"
    assert parents is zygote._zygote and parents.proc.poll() is None  # the grader's is untouched


def test_is_a_request_without_three_descriptors_refused():
    """Negative control of the fork server's intake: a malformed request forks nothing."""
    box, _ = _probe(fork_server=True)
    box.close()
    server = zygote._zygote
    assert server is not None
    server.sock.send(b"spawn")  # no descriptors attached
    assert server.sock.recv(64) == b"0"
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
    import socket

    server = zygote._Zygote.__new__(zygote._Zygote)
    server.sock, fake = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fake.settimeout(5)
    try:
        fake.send(b"0")  # what the fork server answers to a request it cannot serve
        r, w = os.pipe()
        with pytest.raises(OSError, match="refused"):
            server.spawn(r, w, w)
        os.close(r)
        os.close(w)
    finally:
        server.sock.close()
        fake.close()
