"""A fork server for the learners' sandboxes: start each one already warm, in milliseconds.

A sandbox's own start-up is mostly imports: numpy, bplib, matplotlib and ipywidgets take about
0.45 s of CPU before a set-up cell has run, once per notebook per learner. The *zygote* is a clean
Python process started once per grading process with nothing but those imports done: it never
receives anything of the grader but the two pipe ends of a new sandbox, and for each request it
forks a child that continues exactly as ``python -m autograder.sandbox`` would (new namespaces,
lockdown, the learner's cells). The child is a copy of an interpreter that has only imported
modules, so it holds nothing a fresh process would not.

Grader side: :func:`spawn` returns a :class:`ForkedProcess`, which behaves as the
:class:`subprocess.Popen` the sandbox used before (``pid``, ``poll``, ``wait``, ``returncode``);
its exit status comes back through a third pipe the zygote writes when it reaps the child.

Wire of the control socket (``AF_UNIX``, ``SOCK_SEQPACKET``): the grader sends ``b"spawn"`` with
three descriptors (the child's read end, its write end, the status pipe's write end); the zygote
answers the child's pid as text. End of file on the socket ends the zygote.
"""

from __future__ import annotations

import array
import fcntl
import importlib
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping

__all__ = ["ForkedProcess", "PRELOAD", "spawn"]

# What a set-up cell imports, loaded once in the zygote (the sandbox module itself included).
PRELOAD = (
    "numpy",
    "matplotlib",
    "matplotlib.pyplot",
    "ipywidgets",
    "bplib",
    "bplib.datasets",
    "bplib.gradcheck",
    "bplib.plots",
    "bplib.widgets",
    "autograder.sandbox",
)
_STATUS_BYTES = 16


class ForkedProcess:
    """A sandbox forked by the zygote, seen from the grader as a ``Popen`` is."""

    def __init__(self, pid: int, status_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status_fd = status_fd

    def _read_status(self, block: bool, timeout: float | None = None) -> None:
        if self.returncode is not None:
            return
        if not block or timeout is not None:
            # poll(), not select(): a grader holding many files has descriptors past 1024
            waiting = select.poll()
            waiting.register(self._status_fd, select.POLLIN)
            if not waiting.poll(0 if not block else max(0, int(timeout * 1000))):
                return
        data = os.read(self._status_fd, _STATUS_BYTES)
        os.close(self._status_fd)
        self._status_fd = -1
        # No status at all: the zygote itself went away; the child was killed with it.
        self.returncode = int(data) if data.strip() else -signal.SIGKILL

    def poll(self) -> int | None:
        """The exit code if the child has ended (negative: the signal), else ``None``."""
        self._read_status(block=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end; its exit code (``subprocess.TimeoutExpired`` on timeout)."""
        self._read_status(block=True, timeout=timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"sandbox {self.pid}", timeout or 0.0)
        return self.returncode

    def __del__(self) -> None:
        if self._status_fd >= 0:
            try:
                os.close(self._status_fd)
            except OSError:
                pass


class _Zygote:
    """The grader's handle on its zygote process (one per grading process, started lazily)."""

    def __init__(self, env: Mapping[str, str], cwd: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.owner = os.getpid()
        self.sock = ours
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.zygote", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        theirs.close()
        self.key = (tuple(sorted(env.items())), cwd)

    def spawn(self, child_r: int, child_w: int, status_w: int) -> int:
        fds = array.array("i", [child_r, child_w, status_w])
        self.sock.sendmsg([b"spawn"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        reply = self.sock.recv(64)
        if not reply:
            raise OSError("the sandbox fork server has exited")
        pid = int(reply)
        if pid <= 0:  # never hand on 0: killing "process group 0" would stop the grader itself
            raise OSError("the sandbox fork server refused the request")
        return pid

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_lock = threading.Lock()
_zygote: _Zygote | None = None


def _current(env: Mapping[str, str], cwd: str) -> _Zygote:
    """This process's zygote for ``env`` and ``cwd``, started if need be (hold ``_lock``)."""
    global _zygote
    key = (tuple(sorted(env.items())), cwd)
    if _zygote is not None and (_zygote.owner != os.getpid() or _zygote.key != key
                                or _zygote.proc.poll() is not None):
        if _zygote.owner == os.getpid():
            _zygote.close()
        _zygote = None  # after a fork, the parent's zygote is the parent's alone
    if _zygote is None:
        _zygote = _Zygote(env, cwd)
    return _zygote


def spawn(child_r: int, child_w: int, env: Mapping[str, str], cwd: str) -> ForkedProcess:
    """A new sandbox process reading ``child_r`` and writing ``child_w`` (both stay open here:
    close them after the call, as after ``Popen(pass_fds=...)``). ``env`` and ``cwd`` are the
    zygote's: a different pair starts a new zygote. Raises ``OSError`` if no fork server can run."""
    global _zygote
    status_r, status_w = os.pipe()
    try:
        with _lock:
            for attempt in (1, 2):
                zygote = _current(env, cwd)
                try:
                    pid = zygote.spawn(child_r, child_w, status_w)
                    break
                except OSError:
                    zygote.close()
                    _zygote = None
                    if attempt == 2:
                        raise
    except BaseException:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
    return ForkedProcess(pid, status_r)


# --------------------------------------------------------------------------- the zygote


def _serve(ctrl: socket.socket) -> None:
    """Fork a sandbox for each request; report each child's exit status when it is reaped."""
    statuses: dict[int, int] = {}  # child pid -> status pipe write end
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([ctrl, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(statuses)
        if ctrl not in ready:
            continue
        try:
            msg, ancdata, _, _ = ctrl.recvmsg(16, socket.CMSG_SPACE(3 * 4))
        except InterruptedError:
            continue
        if not msg:
            return  # the grader is gone; the sandboxes end on their own pipes' end of file
        fds = array.array("i")
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            ctrl.send(b"0")
            continue
        child_r, child_w, status_w = fds
        pid = os.fork()
        if pid == 0:
            _become_sandbox(ctrl, (wake_r, wake_w, status_w, *statuses.values()), child_r, child_w)
        try:
            os.setpgid(pid, pid)  # here too: the group exists before the grader learns the pid
        except OSError:
            pass  # the child did it first, or has already exited
        os.close(child_r)
        os.close(child_w)
        statuses[pid] = status_w
        ctrl.send(str(pid).encode())
        _reap(statuses)


def _reap(statuses: dict[int, int]) -> None:
    while statuses:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = statuses.pop(pid, None)
        if fd is not None:
            try:
                os.write(fd, str(os.waitstatus_to_exitcode(status)).encode())
            except OSError:
                pass  # the grader stopped waiting
            os.close(fd)


def _become_sandbox(ctrl: socket.socket, others: tuple[int, ...], child_r: int, child_w: int) -> None:
    """In the forked child: drop everything of the zygote, then run as the sandbox's main."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        ctrl.close()
        for fd in others:
            os.close(fd)
        os.setpgid(0, 0)  # its own process group, which the grader kills as a whole
        # A fork shares its parent's random state: draw fresh seeds, as a new process would.
        random.seed()
        import numpy as np

        np.random.seed(int.from_bytes(os.urandom(4), "little"))  # noqa: NPY002 - the legacy global state, which learner code may use
        from . import sandbox
        from .lockdown import enter_namespaces

        # Out of the low numbers a learner's stray write to "some descriptor" would hit first
        # (a new interpreter got them from the grader, whose low numbers are long taken).
        child_r, child_w = (_moved_up(fd) for fd in (child_r, child_w))

        sys.argv = [str(sandbox.__file__), str(child_r), str(child_w)]  # as `python -m` gives it

        sandbox._child(child_r, child_w, enter_namespaces(keep_fds=(child_r, child_w)))
    except BaseException:  # noqa: BLE001 - nothing to report to: the grader sees end of file
        os._exit(1)
    os._exit(0)


def _moved_up(fd: int, floor: int = 64) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, floor)
    os.close(fd)
    return high


def _main(ctrl_fd: int) -> None:
    ctrl = socket.socket(fileno=ctrl_fd)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot load is loaded by the cell, or not
            pass
    _serve(ctrl)


if __name__ == "__main__":
    _main(int(sys.argv[1]))
