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

The frames after start-up (values in the :mod:`autograder.wire` format; ``h``: a handle, an
object of the child; ``cb``: a callback, a function of the grader)::

    grader -> child   {"op": "get" | "call" | "getattr" | "setattr" | "operator" | "neutral",
                       ...}                                       a request
    child -> grader   {"value": v, "after": {arg: v}}             its reply (``after``: the
                      {"same": i, "after": {...}}                 arrays/dicts passed, as the
                      {"missing": true} | {}                      call left them; ``same``: the
                      {"error": {"type": t, "message": m}}        result IS argument i)
    child -> grader   {"op": "callback", "cb": id, "args": [v], "kwargs": {k: v},
                       "sync": {arg: v}}                          the learner's code called a
                                                                  grader function
    grader -> child   {"value": v} | {"error": {...}}             its result (no "op")

While the grader runs a callback it may send nested requests, which the child serves while it
waits for the callback's result; while the grader waits for a reply it serves callbacks. The
learner's time budget (``call_timeout``) covers the whole chain but not the grader's own time;
the wall clock is capped too (:data:`WALL_FACTOR`). What the child sends is bounded
(:data:`autograder.wire.REPLY_LIMITS` per frame, :data:`MAX_RECEIVED` in all); a frame that
breaks a bound or the format is a ``"protocol"`` failure. The grader-side state behind
callbacks and handle checks is :mod:`autograder.remote`; nothing of the checks is sent.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import operator
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .lockdown import Isolation, enter_namespaces, lock_down
from .neutral import NEUTRAL
from .wire import (
    REPLY_LIMITS,
    CallbackRef,
    Handle,
    WireError,
    decode,
    encode,
    read_frame,
    write_frame,
)
from .zygote import ForkedProcess, spawn, warm

__all__ = [
    "PRELOAD",
    "SANDBOX_ENVIRONMENT",
    "CellResult",
    "Sandbox",
    "SandboxFailure",
    "strip_magics",
    "warm_fork_server",
]

# Modules imported before the lockdown, beyond what the set-up cells import: afterwards no file
# can be opened, so an import of anything not yet loaded fails.
PRELOAD = (
    "numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.lib.stride_tricks", "numpy.testing",
    "math", "cmath", "random", "itertools", "functools", "collections", "operator", "copy",
    "statistics", "typing", "dataclasses", "warnings", "numbers", "collections.abc",
    "bplib", "bplib.gradcheck", "bplib.layers", "bplib.losses", "bplib.optim", "bplib.conv",
    "bplib.rnn", "bplib.normalization", "bplib.regularization", "bplib.engine", "bplib.datasets",
    "bplib.model", "bplib.train", "bplib.autograd",
)  # fmt: skip

_BINOPS = {
    name: getattr(operator, name)
    for name in ("add", "sub", "mul", "truediv", "floordiv", "pow", "matmul", "mod", "neg", "pos",
                 "abs", "lt", "le", "gt", "ge", "eq", "ne")
}  # fmt: skip
# What the grader accepts from one learner's process in all (the course's reference solutions
# take at most 20 MB, notebook 11), and how long a request chain with callbacks may take on the
# wall clock, in multiples of the learner's time budget.
MAX_RECEIVED = 256 * 1024 * 1024
WALL_FACTOR = 3.0
# Callbacks nested deeper than this (a callback whose helper calls learner code that calls back
# ...) fail in the learner's code instead of growing the grader's stack.
MAX_CALLBACK_NESTING = 16


class SandboxFailure(Exception):
    """The learner's process timed out, died or broke the protocol."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail
        super().__init__(detail)


class _CellHung(Exception):
    """An answer cell did not finish, or ended the process, while it ran at its top level."""

    def __init__(self, grade_id: str, kind: str, reason: str) -> None:
        self.grade_id, self.kind, self.reason = grade_id, kind, reason
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


def _limits() -> Any:
    from .settings import grading  # the grader's side only: the child never needs traitlets

    return grading()


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
    # bplib names the learner may use (the notebook's documented helpers); None: all but ``neuter``
    allow_bplib: Sequence[str] | None = ()
    # defaults: autograder.settings.GradingSettings (cell_timeout, call_timeout, memory_bytes)
    start_timeout: float = field(default_factory=lambda: float(_limits().cell_timeout))
    call_timeout: float = field(default_factory=lambda: _limits().call_timeout)
    memory_bytes: int = field(default_factory=lambda: _limits().memory_bytes)
    fork_server: bool = field(default_factory=lambda: bool(_limits().fork_server))
    cells: list[CellResult] = field(default_factory=list)
    lockdown: str = ""
    isolation: dict[str, Any] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | ForkedProcess | None = None
    _rfd: int = -1
    _wfd: int = -1
    # Callbacks (see request): on_callback serves one; peer is the grader-side state behind it.
    on_callback: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    peer: Any = None
    _depth: int = 0  # requests in flight (nested ones come from callbacks)
    _budget: float = 0.0  # learner seconds left for the request chain in flight
    _wall: float = 0.0  # time.monotonic() deadline of that chain
    _timeout: float = 0.0
    _received: int = 0  # bytes accepted from the learner's process so far

    def start(self) -> None:
        """Start the child and run the cells; raise :class:`SandboxFailure` if it cannot.

        An answer cell that does not finish within ``start_timeout`` (an endless loop at its top
        level) or that ends the process (``os._exit``, a crash) is skipped and the others run
        again without it, so it costs only the parts that need it.
        """
        skipped: dict[str, tuple[str, str]] = {}
        while True:
            try:
                self._launch(skipped)
            except _CellHung as hung:
                skipped[hung.grade_id] = (hung.kind, hung.reason)
                continue
            self.cells = [
                CellResult(gid, skipped[gid]) if gid in skipped else cell
                for gid, cell in ((c.grade_id, c) for c in self.cells)
            ]
            return

    def _launch(self, skipped: dict[str, tuple[str, str]]) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env, cwd = _environment()
        self._proc = None
        if self.fork_server and sys.platform == "linux":
            try:  # warm: forked from a process that has done the imports (autograder.zygote)
                self._proc = spawn(to_child_r, from_child_w, env, cwd)
            except OSError:
                self._proc = None  # no fork server here: start a new interpreter
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.sandbox", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
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
                "allow_bplib": None if self.allow_bplib is None else list(self.allow_bplib),
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
                if current in skipped:
                    raise
                if exc.kind == "timeout":
                    why = f"did not finish within {self.start_timeout:g} s (an endless loop?) and was skipped"
                    raise _CellHung(current, "Timeout", why) from None
                if exc.kind == "died":
                    why = f"{exc.detail.split(' while ')[0]} and was skipped"
                    raise _CellHung(current, "ProcessExit", why) from None
                raise
        self.lockdown = str(reply.get("lockdown", ""))
        isolation = reply.get("isolation")
        self.isolation = isolation if isinstance(isolation, dict) else {}
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
                    try:  # not yet a group of its own
                        os.kill(self._proc.pid, signal.SIGKILL)
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
        self._send(message, doing)
        return self._receive(timeout, doing)

    def _send(self, message: dict[str, Any], doing: str) -> None:
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

    def _receive(self, timeout: float, doing: str) -> dict[str, Any]:
        """The reply to the request just sent, serving the callbacks the learner's code makes first.

        ``timeout`` is the learner's time: what the grader spends running a callback does not
        count, and nested requests (a callback reading the learner's objects) draw on the same
        budget as the request that started the chain. The wall clock is capped as well
        (:data:`WALL_FACTOR` times ``timeout``), so a learner calling back in a loop still stops.
        """
        outermost = self._depth == 0
        if outermost:
            self._budget = timeout
            self._wall = time.monotonic() + WALL_FACTOR * timeout
            self._timeout = timeout
        self._depth += 1
        try:
            while True:
                frame = self._read(doing)
                if "op" in frame:
                    if frame["op"] != "callback" or self.on_callback is None:
                        self._garbage(f"an unexpected request {str(frame['op'])[:40]!r}")
                    try:
                        reply = self.on_callback(frame)
                    except BaseException:
                        self.close()  # the learner's process waits for a reply it will not get
                        raise
                    self._send(reply, doing)
                    continue
                if "error" in frame:
                    err = frame["error"]
                    if not isinstance(err, dict):
                        self._garbage("an error that is not an object")
                    raise RemoteError(
                        str(err.get("type", "Exception"))[:200], str(err.get("message", ""))[:4000]
                    )
                return frame
        finally:
            self._depth -= 1

    def _read(self, doing: str) -> dict[str, Any]:
        """One frame from the learner's process, within what is left of the time budget."""
        started = time.monotonic()
        deadline = min(started + self._budget, self._wall)
        try:
            return read_frame(self._rfd, deadline, REPLY_LIMITS, self._account)
        except TimeoutError:
            self.close()
            raise SandboxFailure(
                "timeout",
                f"no answer within {self._timeout:g} s while {doing} (an endless loop?)",
            ) from None
        except (BrokenPipeError, EOFError) as exc:
            code = self._proc.wait() if self._proc else None
            self.close()
            raise SandboxFailure(
                "died", f"the notebook's process exited (exit code {code}) while {doing}"
            ) from exc
        except (WireError, ValueError, OSError) as exc:
            self._garbage(str(exc))
        finally:
            self._budget -= time.monotonic() - started

    def _account(self, size: int) -> None:
        self._received += size
        if self._received > MAX_RECEIVED:
            raise WireError(
                f"more than {MAX_RECEIVED // 2**20} MB in all: that is not what a notebook's "
                "functions return"
            )

    def _garbage(self, what: str) -> NoReturn:
        """Kill the learner's process for breaking the protocol; raise the failure."""
        self.close()
        raise SandboxFailure("protocol", f"the notebook's process sent garbage: {what}")

    def request(self, message: dict[str, Any], doing: str) -> dict[str, Any]:
        """Send one request and return the reply; raise ``RemoteError`` or ``SandboxFailure``.

        Callback requests that come before the reply go to :attr:`on_callback` (set by
        :mod:`autograder.remote`), whose reply is sent back; without it they are a protocol error.
        """
        return self._exchange(message, self.call_timeout, doing)


# --------------------------------------------------------------------------- the child side


class _Sink(io.TextIOBase):
    """Where the learner's prints go: nowhere (nothing printed is ever sent to the grader)."""

    def write(self, text: str) -> int:
        return len(text)


# The environment variables a learner's process inherits: an allow-list. The grader's environment
# can hold what a learner must never read (a JupyterHub API token, a database password, a cloud
# key), and an answer could show it back in its own feedback. Only locale, paths and the
# interpreter's own settings pass; PYTHONPATH too, as the course may be imported through it. Not
# PATH: a sandbox runs no program, and the grader changes its own PATH while it works (nbgrader
# runs alembic from the venv), which would make its workers' sandboxes need another fork server.
SANDBOX_ENVIRONMENT = ("HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "PYTHONPATH",
                       "PYTHONHASHSEED", "PYTHONUTF8", "PYTHONIOENCODING", "MPLCONFIGDIR")


def _environment() -> tuple[dict[str, str], str]:
    """The environment variables and working directory a sandbox process starts with."""
    env = {k: v for k, v in os.environ.items() if k in SANDBOX_ENVIRONMENT or k.startswith("LC_")}
    env["MPLBACKEND"] = "Agg"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Several learners are graded at once: one BLAS thread each avoids oversubscription.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env, os.environ.get("TMPDIR", "/tmp")


def warm_fork_server() -> None:
    """Start this process's sandbox fork server now (when the settings use one): its start-up
    overlaps with the grader's own, and the grading workers forked afterwards share it."""
    if bool(_limits().fork_server) and sys.platform == "linux":
        with contextlib.suppress(OSError):  # then each sandbox starts its own way
            warm(*_environment())


def _is_bplib(obj: Any) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and (module == "bplib" or module.startswith("bplib."))


def _bplib_modules() -> list[types.ModuleType]:
    return [
        m for name, m in list(sys.modules.items())
        if isinstance(m, types.ModuleType) and (name == "bplib" or name.startswith("bplib."))
    ]  # fmt: skip


def _functions_of(obj: Any) -> list[types.FunctionType]:
    """The plain functions behind a bplib function or class (its methods, properties, wrappers)."""
    if isinstance(obj, types.FunctionType):
        inner = getattr(obj, "__wrapped__", None)
        return [obj, *(_functions_of(inner) if inner is not None else [])]
    if isinstance(obj, type):
        found = []
        for value in vars(obj).values():
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                found += [f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)]
            elif isinstance(value, types.FunctionType):
                found += _functions_of(value)
        return found
    inner = getattr(obj, "__wrapped__", None)  # functools.lru_cache and the like
    return _functions_of(inner) if inner is not None else []


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _uses(obj: Any) -> list[Any]:
    """The bplib functions, classes and modules that ``obj``'s code refers to by name."""
    found: list[Any] = []
    if isinstance(obj, type):
        found += [base for base in obj.__mro__[1:] if _is_bplib(base)]
    for fn in _functions_of(obj):
        names = _code_names(fn.__code__)
        values = [fn.__globals__.get(n) for n in names]
        values += [c.cell_contents for c in fn.__closure__ or () if _cell_full(c)]
        values += list(fn.__defaults__ or ())
        for value in values:
            if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "bplib":
                found += [getattr(value, n) for n in names if n in vars(value)]
            elif _is_bplib(value) and (callable(value) or isinstance(value, type)):
                found.append(value)
    return found


def _cell_full(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _resolve(dotted: str) -> Any:
    """``bplib.gradcheck.check_gradient`` -> that object (a module name gives the module)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            obj: Any = module
            for name in parts[cut:]:
                obj = getattr(obj, name, None)
            return obj
    return None


def _neuter(graded: Sequence[str], allowed: Sequence[str] | None = ()) -> int:
    """Make bplib refuse to run in the learner's process, except what the notebook gives them.

    ``allowed`` names the documented helpers the notebook's set-up imports for the learner
    (``bplib.gradcheck.check_gradient``; see :mod:`autograder.learner_bplib`); they keep working,
    with every bplib function they call. Everything else of bplib refuses, and so do the
    ``graded`` names (the functions the learner writes) whoever calls them. ``allowed=None``
    refuses only the graded names. The functions' code objects are replaced, so every alias
    (``from bplib import x``, a dict of functions, ``gc`` spelunking) reaches the refusal.
    Returns how many functions now refuse.
    """

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ReferenceUseError(
            "the course's reference implementation is not available while grading: "
            "implement it yourself"
        )

    everything: dict[int, Any] = {}
    for module in _bplib_modules():
        for value in vars(module).values():
            if _is_bplib(value) and (isinstance(value, type) or callable(value)):
                everything[id(value)] = value
    keep: dict[int, Any] = {}
    if allowed is None:
        keep = dict(everything)
    else:
        todo = [obj for obj in map(_resolve, allowed) if obj is not None]
        while todo:
            obj = todo.pop()
            if id(obj) in keep or isinstance(obj, types.ModuleType):
                continue
            keep[id(obj)] = obj
            todo += _uses(obj)
    graded_set = set(graded)
    kept = {id(f) for obj in keep.values() for f in _functions_of(obj)}
    targets: dict[int, types.FunctionType] = {}
    for obj in everything.values():
        for fn in _functions_of(obj):  # a class may hold a kept function (``staticmethod(f)``)
            if id(fn) not in kept or fn.__name__ in graded_set or getattr(obj, "__name__", "") in graded_set:
                targets[id(fn)] = fn
    for fn in targets.values():
        code = fn.__code__
        replacement = refuse.__code__.replace(co_name=code.co_name, co_qualname=code.co_qualname)
        if code.co_freevars:  # a closure: keep its free variables, so the code object fits
            replacement = replacement.replace(co_freevars=code.co_freevars)
        try:
            fn.__code__ = replacement
        except ValueError:
            continue
        fn.__globals__["ReferenceUseError"] = ReferenceUseError
    return len(targets)


class ReferenceUseError(RuntimeError):
    """Raised by a neutered reference implementation."""


def _child(rfd: int, wfd: int, isolation: Isolation | None = None) -> None:
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
    allowed = init.get("allow_bplib")
    _neuter(init.get("neuter", []), None if allowed is None else list(allowed))
    iso = lock_down(int(init["memory"]), keep_fds=(rfd, wfd), isolation=isolation)
    mode = iso.mode

    cells = []
    for grade_id, source in init["answers"]:
        write_frame(wfd, {"progress": grade_id})
        error = None
        try:
            exec(compile(strip_magics(source), f"<answer cell {grade_id}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the learner's cell, not ours
            error = [type(exc).__name__, str(exc)[:2000]]
        cells.append({"id": grade_id, "error": error})

    # ---- serving the grader's requests (see the module docstring and autograder.remote)
    objects: dict[int, Any] = {}  # handle key -> object, kept alive while the grader may use it
    keys: dict[int, int] = {}  # id(object) -> handle key: one handle per object
    last_key = [0]  # handle keys are 1, 2, 3, ... in the order they are sent
    proxies: dict[int, Any] = {}  # callback id -> its proxy here
    # the calls under way: their arguments, and what the grader last saw of the arrays and dicts
    running: list[tuple[list[Any], dict[str, Any], dict[str, Any]]] = []
    import numpy as np  # imported before the lockdown (PRELOAD): no file is opened here

    ndarray = np.ndarray

    class CheckFunction:
        """A function of the grader's process: calling it asks the grader to run it there."""

        __slots__ = ("_cb",)

        def __init__(self, cb: int) -> None:
            self._cb = cb

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return call_back(self._cb, args, kwargs)

        def __repr__(self) -> str:
            return "<function of the grader>"

    def to_handle(obj: Any) -> Handle | CallbackRef:
        if type(obj) is CheckFunction:
            return CallbackRef(obj._cb)
        key = keys.get(id(obj))
        if key is None:
            last_key[0] += 1
            key = keys[id(obj)] = last_key[0]
            objects[key] = obj
        return Handle(key, str(type(obj).__name__))

    def forget_since(mark: int) -> None:
        """Drop the handles made after ``mark``: their frame was never sent."""
        for key in range(mark + 1, last_key[0] + 1):
            keys.pop(id(objects.pop(key, None)), None)
        last_key[0] = mark

    def from_handle(key: int, _type: str) -> Any:
        if key not in objects:
            raise WireError(f"unknown handle #{key}")
        return objects[key]

    def from_callback(cb: int) -> Any:
        if cb not in proxies:
            proxies[cb] = CheckFunction(cb)
        return proxies[cb]

    def arg(value: Any) -> Any:
        return decode(value, from_handle, from_callback=from_callback)

    def changed(args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arrays and dicts among a call's arguments, which the callee may change in place."""
        found = {str(i): a for i, a in enumerate(args) if isinstance(a, dict | ndarray)}
        found.update({k: v for k, v in kwargs.items() if isinstance(v, dict | ndarray)})
        return found

    def snapshot(value: Any) -> Any:
        if isinstance(value, ndarray):
            return value.copy()
        return {k: v.copy() if isinstance(v, ndarray) else v for k, v in value.items()}

    def unchanged(before: Any, value: Any) -> bool:
        """Whether an array or dict still holds what ``before`` (a snapshot) holds."""
        if isinstance(value, ndarray):
            return (before.shape == value.shape and before.dtype == value.dtype
                    and bool(np.array_equal(before, value)))
        if before.keys() != value.keys():
            return False
        for k, v in value.items():
            old = before[k]
            if isinstance(v, ndarray):
                if not (isinstance(old, ndarray) and unchanged(old, v)):
                    return False
            elif old is not v or isinstance(v, dict | list):  # containers: assume changed
                return False
        return True

    def encoded(frame: dict[str, Any]) -> dict[str, Any]:
        """A frame whose fields value/args hold objects, after/sync/kwargs dicts of objects."""
        out: dict[str, Any] = {}
        for name, value in frame.items():
            if name == "value":
                out[name] = encode(value, to_handle)
            elif name == "args":
                out[name] = [encode(v, to_handle) for v in value]
            elif name in ("after", "sync", "kwargs"):
                out[name] = {str(k): encode(v, to_handle) for k, v in value.items()}
            else:
                out[name] = value
        return out

    def failure(exc: BaseException) -> dict[str, Any]:
        try:
            message = str(exc)[:2000]
        except BaseException:  # noqa: BLE001 - the learner's exception may not even print
            message = ""
        return {"error": {"type": type(exc).__name__, "message": message}}

    def send(frame: dict[str, Any]) -> None:
        """Send a reply; if it cannot cross (too big, say), send the reason instead."""
        mark = last_key[0]
        try:
            data = encoded(frame)
            write_frame(wfd, data, REPLY_LIMITS)
        except OSError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a reply that cannot cross is an error reply
            forget_since(mark)
            write_frame(wfd, failure(exc))

    def serve(msg: dict[str, Any]) -> None:
        try:
            reply = handlers[msg["op"]](msg)
        except BaseException as exc:  # noqa: BLE001 - reported to the grader as the learner's error
            reply = failure(exc)
        send(reply)

    def call_back(cb: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Ask the grader to run its function ``cb``; serve its requests until it answers."""
        mark = last_key[0]
        frame: dict[str, Any] = {"op": "callback", "cb": cb}
        if running:  # the grader sees the arrays and dicts the current call changed so far
            args_now, kwargs_now, seen = running[-1]
            try:
                sync = {
                    key: value for key, value in changed(args_now, kwargs_now).items()
                    if key not in seen or not unchanged(seen[key], value)
                }  # fmt: skip
                frame["sync"] = encoded({"sync": sync})["sync"]
                seen.update({key: snapshot(value) for key, value in sync.items()})
            except Exception:  # noqa: BLE001 - nothing to show then
                forget_since(mark)
                seen.clear()
        try:
            frame.update(encoded({"args": list(args), "kwargs": kwargs}))
            write_frame(wfd, frame, REPLY_LIMITS)
        except OSError:
            raise
        except BaseException:
            forget_since(mark)
            raise
        while True:
            try:
                msg = read_frame(rfd)
            except EOFError:
                os._exit(0)  # the grader is gone
            if "op" in msg:  # a request of the grader's function: serve it, keep waiting
                serve(msg)
                continue
            if "error" in msg:
                err = msg["error"]
                kind = getattr(builtins, str(err.get("type")), None)
                if not (isinstance(kind, type) and issubclass(kind, Exception)):
                    kind = RuntimeError
                raise kind(str(err.get("message", "")))
            return arg(msg.get("value"))

    handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}

    def op_get(msg: dict[str, Any]) -> dict[str, Any]:
        name = msg["name"]
        return {"missing": True} if name not in namespace else {"value": namespace[name]}

    def op_call(msg: dict[str, Any]) -> dict[str, Any]:
        fn = arg(msg["fn"])
        args = [arg(a) for a in msg["args"]]
        kwargs = {k: arg(v) for k, v in msg["kwargs"].items()}
        running.append((args, kwargs, {}))
        try:
            value = fn(*args, **kwargs)
        finally:
            running.pop()
        # Arrays and dicts changed in place travel back so the caller's copies change too; a
        # result that IS one of them is named, not sent, so the caller gets its own object back.
        after = changed(args, kwargs)
        same = next((i for i, a in enumerate(args) if a is value and str(i) in after), None)
        if same is not None:
            return {"same": same, "after": after}
        return {"value": value, "after": after}

    def op_getattr(msg: dict[str, Any]) -> dict[str, Any]:
        return {"value": getattr(arg(msg["obj"]), msg["name"])}

    def op_setattr(msg: dict[str, Any]) -> dict[str, Any]:
        setattr(arg(msg["obj"]), msg["name"], arg(msg["value"]))
        return {}

    def op_operator(msg: dict[str, Any]) -> dict[str, Any]:
        return {"value": _BINOPS[msg["name"]](*[arg(a) for a in msg["operands"]])}

    def op_neutral(msg: dict[str, Any]) -> dict[str, Any]:
        return {"value": NEUTRAL[msg["name"]]}

    handlers.update(
        get=op_get, call=op_call, getattr=op_getattr, setattr=op_setattr,
        operator=op_operator, neutral=op_neutral,
    )  # fmt: skip
    write_frame(wfd, {"cells": cells, "lockdown": mode, "isolation": iso.as_dict()})
    while True:
        try:
            msg = read_frame(rfd)
        except EOFError:
            return
        serve(msg)


if __name__ == "__main__":
    _rfd, _wfd = int(sys.argv[1]), int(sys.argv[2])
    _child(_rfd, _wfd, enter_namespaces(keep_fds=(_rfd, _wfd)))
