"""Lock a learner's process down before it runs the learner's code.

On Linux (x86_64, aarch64) a seccomp filter makes the system calls that reach outside the
process fail with ``EPERM``: opening files (so the gradebook, the hidden checks and the reference
sources cannot be read or written), creating or removing files, starting programs, forking,
networking, signalling other processes, tracing, and raising resource limits. Threads may still
be created (BLAS uses them). Resource limits cap memory and forbid writing regular files.

Elsewhere only the resource limits apply, and :func:`lock_down` says so: the guarantees of a
full lockdown then need a container or a separate user account (see the README).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import resource
import struct
import sys

__all__ = ["LOCKDOWN_FULL", "LOCKDOWN_PARTIAL", "lock_down", "seccomp_available"]

LOCKDOWN_FULL = "full"
LOCKDOWN_PARTIAL = "partial"

# Denied system calls by architecture: (audit arch, seccomp syscall number, {name: number}).
_X86_64 = {
    "open": 2, "openat": 257, "openat2": 437, "creat": 85, "open_by_handle_at": 304,
    "name_to_handle_at": 303, "link": 86, "linkat": 265, "symlink": 88, "symlinkat": 266,
    "unlink": 87, "unlinkat": 263, "rename": 82, "renameat": 264, "renameat2": 316,
    "mkdir": 83, "mkdirat": 258, "rmdir": 84, "mknod": 133, "mknodat": 259, "chmod": 90,
    "fchmod": 91, "fchmodat": 268, "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260,
    "truncate": 76, "ftruncate": 77, "execve": 59, "execveat": 322, "fork": 57, "vfork": 58,
    "socket": 41, "connect": 42, "bind": 49, "ptrace": 101, "kill": 62,
    "process_vm_readv": 310, "process_vm_writev": 311, "setrlimit": 160, "prlimit64": 302,
    "setuid": 105, "setgid": 106, "mount": 165, "chroot": 161, "unshare": 272, "setns": 308,
    "io_uring_setup": 425, "chdir": 80, "fchdir": 81,
}  # fmt: skip
_AARCH64 = {
    "openat": 56, "openat2": 437, "open_by_handle_at": 265, "name_to_handle_at": 264,
    "linkat": 37, "symlinkat": 36, "unlinkat": 35, "renameat": 38, "renameat2": 276,
    "mkdirat": 34, "mknodat": 33, "fchmod": 52, "fchmodat": 53, "fchownat": 54, "fchown": 55,
    "truncate": 45, "ftruncate": 46, "execve": 221, "execveat": 281, "socket": 198,
    "connect": 203, "bind": 200, "ptrace": 117, "kill": 129, "process_vm_readv": 270,
    "process_vm_writev": 271, "setrlimit": 164, "prlimit64": 261, "setuid": 146, "setgid": 144,
    "mount": 40, "chroot": 51, "unshare": 97, "setns": 268, "io_uring_setup": 425, "chdir": 49,
    "fchdir": 50,
}  # fmt: skip
_ARCHES = {
    "x86_64": (0xC000003E, 317, _X86_64, 56, 435),  # audit arch, seccomp(), denied, clone, clone3
    "aarch64": (0xC00000B7, 277, _AARCH64, 220, 435),
}

_CLONE_THREAD = 0x00010000
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000


def _stmt(code: int, k: int) -> bytes:
    return struct.pack("HBBI", code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


_LD_W_ABS, _JEQ_K, _JSET_K, _RET_K = 0x20, 0x15, 0x45, 0x06


def _program(audit_arch: int, denied: list[int], clone_nr: int, clone3_nr: int) -> list[bytes]:
    prog = [
        _stmt(_LD_W_ABS, 4),  # seccomp_data.arch
        _jump(_JEQ_K, audit_arch, 1, 0),
        _stmt(_RET_K, _RET_KILL_PROCESS),
        _stmt(_LD_W_ABS, 0),  # seccomp_data.nr
    ]
    for nr in denied:
        prog += [_jump(_JEQ_K, nr, 0, 1), _stmt(_RET_K, _RET_ERRNO | errno.EPERM)]
    # clone3 hides its flags in memory: refuse it, and glibc falls back to clone for threads.
    prog += [_jump(_JEQ_K, clone3_nr, 0, 1), _stmt(_RET_K, _RET_ERRNO | errno.ENOSYS)]
    # clone is allowed for threads only (a fork is a clone without CLONE_THREAD).
    prog += [
        _jump(_JEQ_K, clone_nr, 1, 0),
        _stmt(_RET_K, _RET_ALLOW),
        _stmt(_LD_W_ABS, 16),  # low word of args[0], the flags (little-endian)
        _jump(_JSET_K, _CLONE_THREAD, 0, 1),
        _stmt(_RET_K, _RET_ALLOW),
        _stmt(_RET_K, _RET_ERRNO | errno.EPERM),
    ]
    return prog


def seccomp_available() -> bool:
    """Whether this platform gets the system-call filter (Linux on x86_64 or aarch64)."""
    return sys.platform == "linux" and platform.machine() in _ARCHES and sys.byteorder == "little"


def _install_seccomp() -> None:
    audit_arch, seccomp_nr, denied, clone_nr, clone3_nr = _ARCHES[platform.machine()]
    prog = b"".join(_program(audit_arch, sorted(denied.values()), clone_nr, clone3_nr))
    count = len(prog) // 8
    filters = ctypes.create_string_buffer(prog, len(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(count, ctypes.addressof(filters))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog): every thread, at once.
    if libc.syscall(seccomp_nr, 1, 1, ctypes.byref(fprog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER) failed")


def lock_down(memory_bytes: int = 8 * 1024**3) -> str:
    """Restrict this process for good; return :data:`LOCKDOWN_FULL` or :data:`LOCKDOWN_PARTIAL`.

    Call it after every module the learner's code may need is imported: afterwards nothing can
    be opened, not even a module file.
    """
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no writing to regular files
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not seccomp_available():
        return LOCKDOWN_PARTIAL
    try:
        _install_seccomp()
    except OSError:
        return LOCKDOWN_PARTIAL
    return LOCKDOWN_FULL
