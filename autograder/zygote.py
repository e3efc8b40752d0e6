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

One zygote serves a grading process and the workers it forks afterwards (one per learner, or per
notebook): started ahead of them (:func:`warm`), its imports are paid once, not once per job.
Requests on the shared socket take turns under a POSIX record lock. The zygote watches each
requester through a pidfd: when a worker dies (stopped at its timeout, killed with its Dask
worker), the zygote kills the sandboxes that worker asked for, as it would have if they had been
its own descendants.

Wire of the control socket (``AF_UNIX``, ``SOCK_SEQPACKET``): the grader sends
``b"spawn <pid>.<n>"`` (its pid and a request number) with three descriptors (the child's read
end, its write end, the status pipe's write end); the zygote answers ``b"<pid>.<n> <child pid>"``
(a child pid of 0: refused). End of file on the socket, once every grader has let go of it, ends
the zygote.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import importlib
import os
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping

__all__ = ["ForkedProcess", "PRELOAD", "spawn", "warm"]

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
    """The grader's handle on its zygote process: one per grading process, started lazily or
    ahead (:func:`warm`), and shared with the workers that process forks."""

    def __init__(self, env: Mapping[str, str], cwd: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.owner = os.getpid()
        self.sock = ours
        # One request at a time on the shared socket, across the processes forked after this
        # point: a POSIX record lock, which (unlike flock) a forked child does not share.
        self.turn = tempfile.TemporaryFile()  # noqa: SIM115 - held for the zygote's lifetime
        self.requests = 0
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

    @property
    def inherited(self) -> bool:
        """True in a process forked from the one that started this zygote (a grading worker)."""
        return self.owner != os.getpid()

    def alive(self) -> bool:
        """False when the zygote is known to have ended (only its starter can tell by waiting;
        a worker finds out when a request fails)."""
        return self.inherited or self.proc.poll() is None

    def spawn(self, child_r: int, child_w: int, status_w: int) -> int:
        """Ask for a sandbox; its pid. The request names this process, which the zygote watches:
        if it dies, its sandboxes are killed. The reply echoes the request's id, so a reply meant
        for a requester that died mid-request is skipped, never taken for this one's."""
        self.requests += 1
        ident = f"{os.getpid()}.{self.requests}".encode()
        fds = array.array("i", [child_r, child_w, status_w])
        fcntl.lockf(self.turn, fcntl.LOCK_EX)
        try:
            self.sock.sendmsg([b"spawn " + ident], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            while True:
                reply = self.sock.recv(64)
                if not reply:
                    raise OSError("the sandbox fork server has exited")
                answer, _, pid_text = reply.partition(b" ")
                if answer == ident:
                    break
        finally:
            fcntl.lockf(self.turn, fcntl.LOCK_UN)
        pid = int(pid_text or b"0")
        if pid <= 0:  # never hand on 0: killing "process group 0" would stop the grader itself
            raise OSError("the sandbox fork server refused the request")
        return pid

    def close(self) -> None:
        """Let go of the zygote; its starter also waits for it to end (at the end of file on the
        socket, once every process holding the socket has let go)."""
        self.sock.close()
        self.turn.close()
        if self.inherited:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_lock = threading.Lock()
_zygote: _Zygote | None = None


def _current(env: Mapping[str, str], cwd: str) -> _Zygote:
    """This process's zygote for ``env`` and ``cwd`` (its own, or the one of the grader that
    forked it), started if need be. Hold ``_lock``."""
    global _zygote
    key = (tuple(sorted(env.items())), cwd)
    if _zygote is not None and (_zygote.key != key or not _zygote.alive()):
        _zygote.close()
        _zygote = None
    if _zygote is None:
        _zygote = _Zygote(env, cwd)
    return _zygote


def warm(env: Mapping[str, str], cwd: str) -> None:
    """Start this process's zygote now, if it has none, and return at once: its imports (about a
    second) overlap with other work, and the workers this process forks afterwards share it
    instead of each starting one. Raises ``OSError`` if it cannot be started."""
    with _lock:
        _current(env, cwd)


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
    """Fork a sandbox for each request; report each child's exit status when it is reaped; kill
    the sandboxes of a requester that has died (a grading worker stopped at its timeout)."""
    statuses: dict[int, int] = {}  # child pid -> status pipe write end
    owner_of: dict[int, int] = {}  # child pid -> the pid of the process that asked for it
    watching: dict[int, int] = {}  # requester pid -> a pidfd, readable once it has ended
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([ctrl, wake_r, *watching.values()], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            for pid in _reap(statuses):
                owner_of.pop(pid, None)
        for requester, pidfd in list(watching.items()):
            if pidfd in ready:  # that grader is gone: nobody will close its sandboxes
                os.close(pidfd)
                del watching[requester]
                for child in [c for c, o in owner_of.items() if o == requester]:
                    with contextlib.suppress(OSError):
                        os.killpg(child, signal.SIGKILL)
        if ctrl not in ready:
            continue
        try:
            msg, ancdata, _, _ = ctrl.recvmsg(64, socket.CMSG_SPACE(3 * 4))
        except InterruptedError:
            continue
        if not msg:
            return  # every grader is gone; the sandboxes end on their own pipes' end of file
        fds = array.array("i")
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
        ident = msg.partition(b" ")[2]
        requester = _requester(ident)
        if len(fds) != 3 or requester is None or not _watch(watching, requester):
            for fd in fds:
                os.close(fd)
            ctrl.send(ident + b" 0")
            continue
        child_r, child_w, status_w = fds
        pid = os.fork()
        if pid == 0:
            _become_sandbox(ctrl, (wake_r, wake_w, status_w, *statuses.values(),
                                   *watching.values()), child_r, child_w)
        try:
            os.setpgid(pid, pid)  # here too: the group exists before the grader learns the pid
        except OSError:
            pass  # the child did it first, or has already exited
        os.close(child_r)
        os.close(child_w)
        statuses[pid] = status_w
        owner_of[pid] = requester
        ctrl.send(ident + b" " + str(pid).encode())
        for reaped in _reap(statuses):
            owner_of.pop(reaped, None)


def _requester(ident: bytes) -> int | None:
    """The requesting process's pid from a request id ``b"<pid>.<n>"``; None if malformed."""
    head = ident.partition(b".")[0]
    return int(head) if head.isdigit() and int(head) > 0 else None


def _watch(watching: dict[int, int], requester: int) -> bool:
    """Watch ``requester`` (a pidfd); False if it cannot be watched (gone already, or no pidfds
    here): then it gets no sandbox, and the grader starts a new interpreter instead."""
    if requester in watching:
        return True
    try:
        watching[requester] = os.pidfd_open(requester)
    except (AttributeError, OSError):
        return False
    return True


def _reap(statuses: dict[int, int]) -> list[int]:
    """Reap the children that have ended and report each one's status; their pids."""
    reaped = []
    while statuses:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        reaped.append(pid)
        fd = statuses.pop(pid, None)
        if fd is not None:
            try:
                os.write(fd, str(os.waitstatus_to_exitcode(status)).encode())
            except OSError:
                pass  # the grader stopped waiting
            os.close(fd)
    return reaped


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
