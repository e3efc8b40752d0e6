"""Submissions the integrity tests start from: a notebook's reference solution, as handed in.

Also the part names of notebook 05 (linear layer), the assignment the adversarial corpora attack,
and the attacks on other processes that a learner's answer cell may try (:func:`attacker`).
"""

from __future__ import annotations

import nbformat

from autograder.normalize import fill_answers, reference_answers
from autograder.settings import COURSE, SOLUTIONS

LINEAR = "05-linear-layer"
FORWARD = ["test_affine_forward_values", "test_affine_forward_nd", "test_affine_forward_cache"]
BACKWARD = ["test_affine_backward_dx", "test_affine_backward_dw", "test_affine_backward_db",
            "test_affine_backward_nd"]  # fmt: skip


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    """The instructor's source notebook of a single-notebook ``assignment``."""
    return nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)


def reference_submission(assignment: str, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook filled with the reference answers, ``answers`` replacing some."""
    released = nbformat.read(COURSE / assignment / f"{assignment}.ipynb", as_version=4)
    return fill_answers(released, {**reference_answers(source_notebook(assignment)), **(answers or {})})


PRELUDE = """
import ctypes, os, signal, platform
_libc = ctypes.CDLL(None, use_errno=True)
_X86 = platform.machine() == "x86_64"
_PIDFD_OPEN, _PIDFD_GETFD = 434, 438
_TGKILL = 234 if _X86 else 131
"""

# What a learner's code may try against every other process it can name: each attack is put
# before the reference answer of notebook 05's ``affine_forward`` (see :func:`attacker`).
ATTACKS = {
    "signals-everyone": """
for _pid in range(2, 40000):
    for _sig in (signal.SIGKILL, signal.SIGSTOP):
        try:
            os.kill(_pid, _sig)
        except OSError:
            pass
    _libc.syscall(_TGKILL, _pid, _pid, 9)
for _pg in range(2, 2000):
    try:
        os.killpg(_pg, signal.SIGKILL)
    except OSError:
        pass
""",
    "borrows-descriptors": """
_stolen = 0
for _pid in range(2, 40000):
    _fd = _libc.syscall(_PIDFD_OPEN, _pid, 0)
    if _fd < 0:
        continue
    for _target in range(0, 64):
        _mine = _libc.syscall(_PIDFD_GETFD, _fd, _target, 0)
        if _mine >= 0:
            _stolen += 1
            os.write(_mine, b"UPDATE grade SET auto_score = 99; -- forged")
""",
    "forges-output": """
for _fd in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9):
    try:
        os.write(_fd, b'{"learner": "honest-a", "score": 0}\\n')
    except OSError:
        pass
""",
    "shares-memory": """
_ids = [_libc.shmget(0x5EED + _i, 1 << 20, 0o1666) for _i in range(8)]
_sems = _libc.semget(0x5EED, 4, 0o1666)
_queue = _libc.msgget(0x5EED, 0o1666)
""",
}


def attacker(attack: str) -> nbformat.NotebookNode:
    """Notebook 05's reference submission with ``ATTACKS[attack]`` run before ``affine_forward``."""
    nb = reference_submission(LINEAR)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "affine_forward":
            cell.source = PRELUDE + ATTACKS[attack] + "\n" + cell.source
    return nb
