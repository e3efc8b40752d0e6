"""Isolate a learner's process before it runs the learner's code: default-deny.

Two steps, both in the sandbox process (:mod:`autograder.sandbox`):

1. :func:`enter_namespaces`, first thing after start: new PID, IPC, mount, network and UTS
   namespaces (as root directly; otherwise inside a new user namespace where the kernel allows
   unprivileged ones). The process forks once so that the learner's process is the first process
   of its PID namespace: it sees no other process (``getppid()`` is 0, every other pid is
   unknown), its System V shared memory and semaphores vanish with it, and it has no network
   interface but a loopback that is down. The forked-off parent only waits and passes the exit
   status on.
2. :func:`lock_down`, after the trusted set-up and before the learner's code: resource limits
   (memory, no file writes, no core dumps, a small thread budget), every file descriptor closed
   but the sandbox's own two pipe ends, a separate unprivileged uid/gid with no supplementary
   groups and no capabilities when started as root, ``no_new_privs``, and a seccomp filter that
   is an *allow-list*: the few system calls a numpy computation and the pipe protocol need
   (read, write, memory management, threads, signals to itself, clocks, randomness); every other
   system call fails with ``EPERM``. ``clone`` is allowed for threads only; ``clone3`` hides its
   flags in memory and fails with ``ENOSYS`` (glibc then falls back to ``clone``).

What could not be had on this platform is reported (:class:`Isolation`), never silently skipped:
the grade report then tells the instructor to grade in a container.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import struct
import sys
from dataclasses import dataclass, field

__all__ = [
    "ALLOWED_SYSCALLS",
    "LOCKDOWN_FULL",
    "LOCKDOWN_PARTIAL",
    "Isolation",
    "enter_namespaces",
    "lock_down",
    "seccomp_available",
    "syscall_numbers",
]

LOCKDOWN_FULL = "full"
LOCKDOWN_PARTIAL = "partial"

# The allow-list, by name. Everything here acts on the process itself: its memory, its threads,
# its own signals, its two pipe ends (the only descriptors left open), clocks and randomness.
ALLOWED_SYSCALLS = (
    "read", "write", "readv", "writev", "close", "lseek",
    "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "mbind",
    "futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
    "clone",  # threads only: see the filter program
    "exit", "exit_group",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getrusage",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
    "pselect6", "ppoll", "getrandom",
)  # fmt: skip
_X86_64_ONLY = ("select", "poll")  # aarch64 has only the pselect6/ppoll forms

# System call numbers (from the kernel's unistd tables) of the allowed calls, per architecture.
_NUMBERS = {
    "x86_64": {
        "read": 0, "write": 1, "close": 3, "poll": 7, "lseek": 8, "mmap": 9, "mprotect": 10,
        "munmap": 11, "brk": 12, "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15,
        "readv": 19, "writev": 20, "select": 23, "sched_yield": 24, "mremap": 25, "madvise": 28,
        "nanosleep": 35, "getpid": 39, "clone": 56, "exit": 60, "gettimeofday": 96,
        "getrusage": 98, "getuid": 102, "getgid": 104, "geteuid": 107, "getegid": 108,
        "sigaltstack": 131, "gettid": 186, "futex": 202, "sched_getaffinity": 204,
        "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230, "exit_group": 231,
        "mbind": 237, "pselect6": 270, "ppoll": 271, "set_robust_list": 273, "getrandom": 318,
        "rseq": 334,
    },
    "aarch64": {
        "close": 57, "lseek": 62, "read": 63, "write": 64, "readv": 65, "writev": 66,
        "pselect6": 72, "ppoll": 73, "exit": 93, "exit_group": 94, "futex": 98,
        "set_robust_list": 99, "nanosleep": 101, "clock_gettime": 113, "clock_getres": 114,
        "clock_nanosleep": 115, "sched_getaffinity": 123, "sched_yield": 124,
        "rt_sigaction": 134, "rt_sigprocmask": 135, "rt_sigreturn": 139, "sigaltstack": 132,
        "getrusage": 165, "gettimeofday": 169, "getpid": 172, "getuid": 174, "geteuid": 175,
        "getgid": 176, "getegid": 177, "gettid": 178, "brk": 214, "munmap": 215, "mremap": 216,
        "clone": 220, "mmap": 222, "mprotect": 226, "madvise": 233, "mbind": 235,
        "getrandom": 278, "rseq": 293,
    },
}  # fmt: skip
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SECCOMP_NR = {"x86_64": 317, "aarch64": 277}
_CLONE3_NR = 435
_UNSHARE_NR = {"x86_64": 272, "aarch64": 97}

_CLONE_THREAD = 0x00010000
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_NAMESPACES = {
    "pid": _CLONE_NEWPID, "ipc": _CLONE_NEWIPC, "mount": _CLONE_NEWNS, "network": _CLONE_NEWNET,
    "uts": _CLONE_NEWUTS,
}  # fmt: skip
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_LD_W_ABS, _JEQ_K, _JSET_K, _RET_K = 0x20, 0x15, 0x45, 0x06
_PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS = 4, 38
# Threads the learner's process may have (numpy's BLAS is told to use one): a fork bomb made of
# threads stops here, and the uid it counts against is the sandbox's own.
MAX_THREADS = 16
# The sandbox's own uid/gid when the grader is root: unused ids, one per sandbox (the outer pid
# of the process that started it is unique among the running ones).
_UID_BASE = 1_900_000_000


@dataclass
class Isolation:
    """What the sandbox got; ``missing`` names each protection this platform could not give."""

    namespaces: list[str] = field(default_factory=list)
    uid: int | None = None
    own_uid: int = 0  # the uid to take when started as root (0: derive one)
    seccomp: bool = False
    missing: list[str] = field(default_factory=list)
    closed_fds: int = 0

    @property
    def mode(self) -> str:
        return LOCKDOWN_PARTIAL if self.missing else LOCKDOWN_FULL

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode, "namespaces": list(self.namespaces), "uid": self.uid,
            "seccomp": self.seccomp, "missing": list(self.missing), "closed_fds": self.closed_fds,
        }  # fmt: skip


def seccomp_available() -> bool:
    """Whether this platform gets the system-call filter (Linux on x86_64 or aarch64)."""
    return sys.platform == "linux" and platform.machine() in _NUMBERS and sys.byteorder == "little"


def syscall_numbers() -> dict[str, int]:
    """The allowed system calls of this machine's architecture, by name."""
    table = _NUMBERS[platform.machine()]
    return {name: nr for name, nr in table.items() if name in ALLOWED_SYSCALLS or name in _X86_64_ONLY}


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


# --------------------------------------------------------------------------- namespaces


def _write_proc(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _unshare(flags: int) -> bool:
    return _libc().syscall(_UNSHARE_NR[platform.machine()], flags) == 0


def _wait_and_pass_on(child: int) -> None:
    """The forked-off parent: wait for the learner's process and end the same way it did."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # the grader stops both with SIGKILL to the group
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def enter_namespaces(keep_fds: tuple[int, ...]) -> Isolation:
    """Move this process into new namespaces; call it before any thread exists.

    Returns in a *new* process (the first of its PID namespace) when a PID namespace was made;
    the original process stays behind, waits, and exits with the new one's status. ``keep_fds``
    are closed in that waiting process, so the grader sees end-of-file when the learner's process
    dies.
    """
    iso = Isolation()
    if sys.platform != "linux" or platform.machine() not in _UNSHARE_NR:
        iso.missing.append("namespaces (not Linux)")
        return iso
    flags = 0
    for flag in _NAMESPACES.values():
        flags |= flag
    uid, gid = os.getuid(), os.getgid()
    iso.own_uid = _UID_BASE + os.getpid() % 4_000_000  # before the fork: our pid is unique now
    if uid == 0:
        if _unshare(flags):
            iso.namespaces = list(_NAMESPACES)
    elif _unshare(_CLONE_NEWUSER | flags):
        try:  # be root inside the new user namespace only, mapped to our own ids outside
            _write_proc("/proc/self/setgroups", "deny")
            _write_proc("/proc/self/uid_map", f"0 {uid} 1")
            _write_proc("/proc/self/gid_map", f"0 {gid} 1")
            iso.namespaces = ["user", *_NAMESPACES]
        except OSError:
            iso.namespaces = ["user", *_NAMESPACES]
            iso.missing.append("a uid map in the user namespace")
    if not iso.namespaces:
        err = ctypes.get_errno()
        iso.missing.append(f"PID, IPC, mount and network namespaces ({os.strerror(err) or 'refused'})")
        return iso
    try:
        _libc().mount(None, b"/", None, 0x4000 | 0x40000, None)  # MS_REC | MS_PRIVATE
    except (AttributeError, OSError):
        pass
    child = os.fork()
    if child:
        for fd in keep_fds:
            os.close(fd)
        _wait_and_pass_on(child)
    return iso


# --------------------------------------------------------------------------- the lockdown


def _close_fds(keep: tuple[int, ...]) -> int:
    closed = 0
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(256))
    for fd in fds:
        if fd in keep:
            continue
        try:
            os.close(fd)
            closed += 1
        except OSError:
            pass
    return closed


def _drop_capabilities() -> None:
    """Empty the effective, permitted and inheritable capability sets (capset(2), v3)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]  # fmt: skip

    header, data = Header(0x20080522, 0), (Data * 2)()
    if _libc().capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _capabilities() -> int:
    """This process's effective capability mask (0 = none), read from /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return -1


def _stmt(code: int, k: int) -> bytes:
    return struct.pack("HBBI", code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _program(arch: str) -> list[bytes]:
    """The BPF program: the allow-list of ``arch``; anything else fails with EPERM."""
    allowed = syscall_numbers() if arch == platform.machine() else {
        n: nr for n, nr in _NUMBERS[arch].items() if n in ALLOWED_SYSCALLS or n in _X86_64_ONLY
    }
    clone_nr = allowed.pop("clone")
    prog = [
        _stmt(_LD_W_ABS, 4),  # seccomp_data.arch
        _jump(_JEQ_K, _AUDIT_ARCH[arch], 1, 0),
        _stmt(_RET_K, _RET_KILL_PROCESS),
        _stmt(_LD_W_ABS, 0),  # seccomp_data.nr
    ]
    for nr in sorted(allowed.values()):
        prog += [_jump(_JEQ_K, nr, 0, 1), _stmt(_RET_K, _RET_ALLOW)]
    prog += [_jump(_JEQ_K, _CLONE3_NR, 0, 1), _stmt(_RET_K, _RET_ERRNO | errno.ENOSYS)]
    prog += [
        _jump(_JEQ_K, clone_nr, 0, 3),
        _stmt(_LD_W_ABS, 16),  # low word of args[0], the flags (little-endian)
        _jump(_JSET_K, _CLONE_THREAD, 0, 1),  # a fork is a clone without CLONE_THREAD
        _stmt(_RET_K, _RET_ALLOW),
        _stmt(_RET_K, _RET_ERRNO | errno.EPERM),
    ]
    return prog


def _install_seccomp() -> None:
    arch = platform.machine()
    prog = b"".join(_program(arch))
    filters = ctypes.create_string_buffer(prog, len(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog) // 8, ctypes.addressof(filters))
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog): every thread, at once.
    if libc.syscall(_SECCOMP_NR[arch], 1, 1, ctypes.byref(fprog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER) failed")


def lock_down(
    memory_bytes: int | None = None,
    *,
    keep_fds: tuple[int, ...] = (),
    isolation: Isolation | None = None,
    uid: int | None = None,
) -> Isolation:
    """Restrict this process for good and report what it got.

    Call it after every module the learner's code may need is imported: afterwards nothing can
    be opened, not even a module file. ``keep_fds`` (the protocol's pipe ends) stay open; every
    other descriptor is closed. ``uid`` is the unprivileged id to take when running as root
    (default: one of its own, derived from the parent's pid). ``memory_bytes``: the address
    space cap (default :attr:`autograder.settings.GradingSettings.memory_bytes`).
    """
    if memory_bytes is None:
        from .settings import grading

        memory_bytes = grading().memory_bytes
    iso = isolation if isolation is not None else Isolation()
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no writing to regular files
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import linecache

    linecache.clearcache()  # no reference source lines left behind in memory
    iso.closed_fds = _close_fds(keep_fds)
    if sys.platform == "linux":
        in_user_ns = "user" in iso.namespaces
        if os.geteuid() == 0 and not in_user_ns:
            own = uid or iso.own_uid or _UID_BASE + os.getpid() % 4_000_000
            resource.setrlimit(resource.RLIMIT_NPROC, (MAX_THREADS, MAX_THREADS))
            os.setgroups([])
            os.setresgid(own, own, own)
            os.setresuid(own, own, own)
            iso.uid = own
        elif os.geteuid() == 0:  # root of our own user namespace: the uid outside is the caller's
            iso.missing.append("a separate uid (the grader is not root: same uid, own user namespace)")
        else:
            iso.missing.append("a separate uid (the grader is not root)")
        try:
            _drop_capabilities()
        except (OSError, AttributeError):
            iso.missing.append("dropping capabilities")
        if _capabilities() not in (0, -1):
            iso.missing.append("an empty capability set")
        _libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # nobody of the same uid may trace it
    if not seccomp_available():
        iso.missing.append("the system-call filter (needs Linux on x86_64 or aarch64)")
        return iso
    try:
        _install_seccomp()
        iso.seccomp = True
    except OSError as exc:
        iso.missing.append(f"the system-call filter ({exc})")
    return iso
