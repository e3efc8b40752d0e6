"""Run a learner's answer cells in a locked-down process and call into them from the grader.

The grader (parent) starts ``python -m autograder.sandbox`` with two pipes. The child runs the
notebook's trusted set-up cells (from ``solutions/``), neuters the reference implementations
of the functions being graded, locks itself down (:mod:`autograder.lockdown`), runs the
learner's answer cells, and then answers requests: fetch a name, call a function, read or set
an attribute, apply an operator. Plain data crosses the pipe (:mod:`autograder.wire`); every
other object stays in the child and crosses as a handle. The parent never runs learner code and
never unpickles anything from the child, so a verdict computed in the parent cannot be forged
from inside the learner's process; it can only be fed numbers.

Every request has a deadline; a child that misses it, dies, or talks nonsense is killed, and the
request raises :class:`SandboxFailure` with the reason.
"""

from __future__ import annotations

import builtins
import importlib
import io
import operator
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .wire import Handle, WireError, decode, encode, read_frame, write_frame

__all__ = [
    "PRELOAD",
    "CellResult",
    "Sandbox",
    "SandboxFailure",
    "strip_magics",
]

# Modules imported before the lockdown, beyond what the set-up cells import: afterwards no file
# can be opened, so an import of anything not yet loaded fails.
PRELOAD = (
    "numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.lib.stride_tricks", "numpy.testing",
    "math", "cmath", "random", "itertools", "functools", "collections", "operator", "copy",
    "statistics", "typing", "dataclasses", "warnings", "numbers", "collections.abc",
    "bplib", "bplib.gradcheck", "bplib.layers", "bplib.losses", "bplib.optim", "bplib.conv",
    "bplib.rnn", "bplib.normalization", "bplib.regularization", "bplib.engine", "bplib.datasets",
    "bplib.model", "bplib.train",
)  # fmt: skip

_BINOPS = {
    name: getattr(operator, name)
    for name in ("add", "sub", "mul", "truediv", "floordiv", "pow", "matmul", "mod", "neg", "pos",
                 "abs", "lt", "le", "gt", "ge", "eq", "ne")
}  # fmt: skip
_MAX_OUTPUT = 64_000


class SandboxFailure(Exception):
    """The learner's process timed out, died or broke the protocol."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail
        super().__init__(detail)


class _CellHung(Exception):
    def __init__(self, grade_id: str) -> None:
        self.grade_id = grade_id
        super().__init__(grade_id)


class RemoteError(Exception):
    """The learner's code raised an exception while serving a request."""

    def __init__(self, exc_type: str, message: str) -> None:
        self.exc_type, self.message = exc_type, message
        super().__init__(f"{exc_type}: {message}")


@dataclass
class CellResult:
    """How one answer cell ran in the sandbox: ``error`` is ``(type, message)`` or ``None``."""

    grade_id: str
    error: tuple[str, str] | None = None


def strip_magics(source: str) -> str:
    """Drop IPython-only lines (``%magic``, ``!shell``) so a cell runs as plain Python."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


# --------------------------------------------------------------------------- the parent side


@dataclass
class Sandbox:
    """A learner's process: started with :meth:`start`, used through :meth:`request`."""

    setup_cells: Sequence[str]
    answer_cells: Sequence[tuple[str, str]]  # (grade_id, source)
    neuter: Sequence[str] = ()
    start_timeout: float = 60.0
    call_timeout: float = 30.0
    memory_bytes: int = 8 * 1024**3
    cells: list[CellResult] = field(default_factory=list)
    lockdown: str = ""
    _proc: subprocess.Popen[bytes] | None = None
    _rfd: int = -1
    _wfd: int = -1

    def start(self) -> None:
        """Start the child and run the cells; raise :class:`SandboxFailure` if it cannot.

        An answer cell that does not finish within ``start_timeout`` (an endless loop at its top
        level) is skipped and the others run again without it, so it costs only its own parts.
        """
        skipped: dict[str, str] = {}
        while True:
            try:
                self._launch(skipped)
            except _CellHung as hung:
                skipped[hung.grade_id] = (
                    f"did not finish within {self.start_timeout:g} s (an endless loop?) and was skipped"
                )
                continue
            self.cells = [
                CellResult(gid, ("Timeout", skipped[gid])) if gid in skipped else cell
                for gid, cell in ((c.grade_id, c) for c in self.cells)
            ]
            return

    def _launch(self, skipped: dict[str, str]) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
        env["MPLBACKEND"] = "Agg"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # Several learners are graded at once: one BLAS thread each avoids oversubscription.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.sandbox", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=os.environ.get("TMPDIR", "/tmp"),
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._rfd, self._wfd = from_child_r, to_child_w
        answers = [[gid, "" if gid in skipped else src] for gid, src in self.answer_cells]
        current = "the set-up cells"
        reply = self._exchange(
            {
                "op": "init",
                "setup": list(self.setup_cells),
                "answers": answers,
                "neuter": list(self.neuter),
                "memory": self.memory_bytes,
            },
            self.start_timeout,
            "running the set-up cells",
        )
        while "progress" in reply:  # one frame before each answer cell, each with its deadline
            current = str(reply["progress"])
            try:
                reply = self._receive(self.start_timeout, f"running the answer cell `{current}`")
            except SandboxFailure as exc:
                if exc.kind == "timeout" and current not in skipped:
                    raise _CellHung(current) from None
                raise
        self.lockdown = str(reply.get("lockdown", ""))
        self.cells = [
            CellResult(str(c["id"]), tuple(c["error"]) if c.get("error") else None)
            for c in reply.get("cells", [])
        ]

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Stop the child (politely, then by force) and release the pipes."""
        if self._proc is not None:
            if self._proc.poll() is None:
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._proc.wait()
        for fd in (self._rfd, self._wfd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._rfd = self._wfd = -1

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exchange(self, message: dict[str, Any], timeout: float, doing: str) -> dict[str, Any]:
        if not self.alive:
            raise SandboxFailure("dead", f"the notebook's process is no longer running ({doing})")
        try:
            write_frame(self._wfd, message)
        except BrokenPipeError as exc:
            code = self._proc.wait() if self._proc else None
            self.close()
            raise SandboxFailure(
                "died", f"the notebook's process exited (exit code {code}) while {doing}"
            ) from exc
        return self._receive(timeout, doing)

    def _receive(self, timeout: float, doing: str) -> dict[str, Any]:
        try:
            reply = read_frame(self._rfd, time.monotonic() + timeout)
        except TimeoutError:
            self.close()
            raise SandboxFailure(
                "timeout", f"no answer within {timeout:g} s while {doing} (an endless loop?)"
            ) from None
        except (BrokenPipeError, EOFError) as exc:
            code = self._proc.wait() if self._proc else None
            self.close()
            raise SandboxFailure(
                "died", f"the notebook's process exited (exit code {code}) while {doing}"
            ) from exc
        except (WireError, ValueError) as exc:
            self.close()
            raise SandboxFailure("protocol", f"the notebook's process sent garbage: {exc}") from exc
        if "error" in reply:
            err = reply["error"]
            raise RemoteError(str(err.get("type", "Exception")), str(err.get("message", "")))
        return reply

    def request(self, message: dict[str, Any], doing: str) -> dict[str, Any]:
        """Send one request and return the reply; raise ``RemoteError`` or ``SandboxFailure``."""
        return self._exchange(message, self.call_timeout, doing)


# --------------------------------------------------------------------------- the child side


class _Sink(io.TextIOBase):
    """Where the learner's prints go: kept up to a byte cap, never sent anywhere."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def _neuter(names: Sequence[str]) -> None:
    """Make bplib's reference implementations of ``names`` refuse to run, wherever referenced.

    The function's code object is replaced, so every alias (``from bplib import x``, a dict of
    functions, ``gc`` spelunking) reaches the refusal.
    """

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ReferenceUseError(
            "the course's reference implementation is not available while grading: "
            "implement it yourself"
        )

    seen: set[int] = set()
    for mod_name, module in list(sys.modules.items()):
        if not (mod_name == "bplib" or mod_name.startswith("bplib.")):
            continue
        for name in names:
            fn = getattr(module, name, None)
            targets = [fn]
            if isinstance(fn, type):  # a class: neuter its methods
                targets = [v for v in vars(fn).values() if callable(v)]
            for target in targets:
                code = getattr(target, "__code__", None)
                if code is None or id(target) in seen or target.__closure__:
                    continue
                seen.add(id(target))
                target.__code__ = refuse.__code__.replace(co_name=code.co_name)
                target.__globals__["ReferenceUseError"] = ReferenceUseError


class ReferenceUseError(RuntimeError):
    """Raised by a neutered reference implementation."""


def _child(rfd: int, wfd: int) -> None:
    from .lockdown import lock_down

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    init = read_frame(rfd)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    sink = _Sink()
    sys.stdout = sys.stderr = sink
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    for source in init["setup"]:  # trusted: from solutions/, run before the lockdown
        exec(compile(strip_magics(source), "<setup>", "exec"), namespace)
    _neuter(init.get("neuter", []))
    mode = lock_down(int(init.get("memory", 8 * 1024**3)))

    cells = []
    for grade_id, source in init["answers"]:
        write_frame(wfd, {"progress": grade_id})
        error = None
        try:
            exec(compile(strip_magics(source), f"<answer cell {grade_id}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the learner's cell, not ours
            error = [type(exc).__name__, str(exc)[:2000]]
        cells.append({"id": grade_id, "error": error})

    objects: dict[int, Any] = {}

    def to_handle(obj: Any) -> Handle:
        objects[id(obj)] = obj
        return Handle(id(obj), type(obj).__name__)

    def from_handle(key: int, _type: str) -> Any:
        if key not in objects:
            raise WireError(f"unknown handle #{key}")
        return objects[key]

    def out(value: Any) -> Any:
        return encode(value, to_handle)

    def arg(value: Any) -> Any:
        return decode(value, from_handle)

    handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}

    def op_get(msg: dict[str, Any]) -> dict[str, Any]:
        name = msg["name"]
        return {"missing": True} if name not in namespace else {"value": out(namespace[name])}

    def op_call(msg: dict[str, Any]) -> dict[str, Any]:
        fn = arg(msg["fn"])
        args = [arg(a) for a in msg["args"]]
        kwargs = {k: arg(v) for k, v in msg["kwargs"].items()}
        value = fn(*args, **kwargs)
        # Arrays and dicts changed in place travel back so the caller's copies change too.
        after = {str(i): out(a) for i, a in enumerate(args) if isinstance(a, dict | _ndarray())}
        after.update({k: out(v) for k, v in kwargs.items() if isinstance(v, dict | _ndarray())})
        return {"value": out(value), "after": after}

    def op_getattr(msg: dict[str, Any]) -> dict[str, Any]:
        return {"value": out(getattr(arg(msg["obj"]), msg["name"]))}

    def op_setattr(msg: dict[str, Any]) -> dict[str, Any]:
        setattr(arg(msg["obj"]), msg["name"], arg(msg["value"]))
        return {}

    def op_operator(msg: dict[str, Any]) -> dict[str, Any]:
        return {"value": out(_BINOPS[msg["name"]](*[arg(a) for a in msg["operands"]]))}

    def op_helper(msg: dict[str, Any]) -> dict[str, Any]:
        import math

        import numpy

        return {"value": out(eval(msg["source"], {"np": numpy, "math": math}))}

    def op_release(msg: dict[str, Any]) -> dict[str, Any]:
        for key in msg["handles"]:
            objects.pop(int(key), None)
        return {}

    handlers.update(
        get=op_get, call=op_call, getattr=op_getattr, setattr=op_setattr,
        operator=op_operator, helper=op_helper, release=op_release,
    )  # fmt: skip
    write_frame(wfd, {"cells": cells, "lockdown": mode})
    while True:
        try:
            msg = read_frame(rfd)
        except EOFError:
            return
        if msg.get("op") == "bye":
            return
        try:
            reply = handlers[msg["op"]](msg)
        except BaseException as exc:  # noqa: BLE001 - reported to the grader as the learner's error
            reply = {"error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}
        try:
            write_frame(wfd, reply)
        except WireError as exc:
            write_frame(wfd, {"error": {"type": "WireError", "message": str(exc)}})


def _ndarray() -> type:
    import numpy

    return numpy.ndarray


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
