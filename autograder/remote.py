"""``learner`` for checks run outside the learner's process: a proxy over a :class:`Sandbox`.

``learner.affine_forward(x, w, b)`` sends ``x, w, b`` to the sandbox, calls the learner's
function there and brings back ``(out, cache)``: ``out`` as an array, ``cache`` as a handle
(:class:`RemoteObject`) that can be passed back to ``learner.affine_backward``. Objects the
learner made (a ``Value``) support attribute access, calls and arithmetic the same way.

A function of the check passed to the learner (the function whose derivative is taken, a loss
for the learner's training loop, a correct backward rule set on a node) never goes to the
learner's process: it crosses as a *callback*. Calling it there sends a ``callback`` frame back
to the grader, which runs the function here, with the learner's objects among its arguments as
:class:`RemoteObject` handles, and replies with the result (or the exception, which the
learner's code then raises). While it runs, the function may itself call into the learner's
process; those nested requests are served there while the callback waits. So nothing that
embodies a correct answer is ever defined in, or reachable from, the learner's process, and a
learner that walks frames or the garbage collector finds only proxies (see
:mod:`autograder.neutral` for the few neutral helpers that do run there).

Callbacks are valid for one check: a new :class:`RemoteLearner` (one per check) expires those
of the checks before. Arrays and dicts passed to a learner's function are shared the way they
are in a notebook: what the learner's code changes in place is written back here after the call,
and before every callback it makes (so a check's function that reads such an array sees it as
the learner's code left it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bplib.gradcheck import CheckError

from .framework.learner import LearnerError, helper
from .neutral import NEUTRAL
from .sandbox import MAX_CALLBACK_NESTING, RemoteError, Sandbox, SandboxFailure
from .wire import CallbackRef, Handle, WireError, decode, encode

__all__ = ["LearnerCrash", "RemoteLearner", "RemoteObject", "identity"]


class LearnerCrash(CheckError):
    """The learner's process timed out or died during a check."""

    def __init__(self, failure: SandboxFailure) -> None:
        self.kind = failure.kind
        super().__init__(failure.detail)


def _ensure(sandbox: Sandbox) -> None:
    if not sandbox.alive:
        raise LearnerCrash(SandboxFailure("dead", "the notebook's process stopped earlier"))


class RemoteLearner:
    """The learner's names, reached through a sandbox; records which names each check used.

    Making one starts a new check on ``sandbox``: the callbacks handed out before expire.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.used: set[str] = set()
        _Peer.of(sandbox).expire()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self.used.add(name)
        reply = _request(self._sandbox, {"op": "get", "name": name}, name, f"looking up `{name}`")
        if reply.get("missing"):
            raise CheckError(f"`{name}` is not defined: its answer cell did not define it (or failed)")
        return reply["value"]

    def function(self, source: str) -> Callable[..., Any]:
        """The check's helper from its own source, defined HERE; the learner gets a callback."""
        return helper(source)

    def neutral(self, name: str) -> Any:
        """One of :data:`autograder.neutral.NEUTRAL`, in the learner's process."""
        if name not in NEUTRAL:
            raise KeyError(f"no neutral helper {name!r}")
        return _request(self._sandbox, {"op": "neutral", "name": name}, name, f"making `{name}`")["value"]


class RemoteObject:
    """An object living in the learner's process."""

    __slots__ = ("_sandbox", "_handle", "_where")

    def __init__(self, sandbox: Sandbox, handle: Handle, where: str) -> None:
        object.__setattr__(self, "_sandbox", sandbox)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_where", where)

    def __repr__(self) -> str:
        return f"<learner's {self._handle.type_name} from {self._where}>"

    @property
    def learner_type(self) -> str:
        """The class name of the object in the learner's process (``"Value"``)."""
        return self._handle.type_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        peer = _Peer.of(self._sandbox)
        message = {
            "op": "call",
            "fn": {"h": self._handle.id},
            "args": [peer.encode(a) for a in args],
            "kwargs": {k: peer.encode(v) for k, v in kwargs.items()},
        }
        peer.calls.append((args, kwargs))
        try:
            parts = _request(self._sandbox, message, self._where, f"calling `{self._where}`")
        finally:
            peer.calls.pop()
        after = parts.get("after", {})
        written = peer.write_back(args, kwargs, after)
        if "same" in parts:  # the learner's function returned one of the arrays/dicts passed
            same = parts["same"]
            if type(same) is not int or not 0 <= same < len(args) or str(same) not in after:
                raise LearnerCrash(peer.garbage("a result that names no argument"))
            return args[same] if str(same) in written else after[str(same)]
        return parts["value"]

    def __getattr__(self, name: str) -> Any:
        where = f"{self._where}.{name}"
        reply = _request(
            self._sandbox,
            {"op": "getattr", "obj": {"h": self._handle.id}, "name": name},
            where,
            f"reading `{where}`",
        )
        return reply["value"]

    def __setattr__(self, name: str, value: Any) -> None:
        where = f"{self._where}.{name}"
        _request(
            self._sandbox,
            {"op": "setattr", "obj": {"h": self._handle.id}, "name": name,
             "value": _Peer.of(self._sandbox).encode(value)},
            where,
            f"setting `{where}`",
        )  # fmt: skip

    def _operator(self, name: str, *operands: Any) -> Any:
        peer = _Peer.of(self._sandbox)
        reply = _request(
            self._sandbox,
            {"op": "operator", "name": name, "operands": [peer.encode(o) for o in operands]},
            self._where,
            f"applying `{name}` to `{self._where}`",
        )
        return reply["value"]

    def __add__(self, o: Any) -> Any: return self._operator("add", self, o)  # noqa: E704
    def __radd__(self, o: Any) -> Any: return self._operator("add", o, self)  # noqa: E704
    def __sub__(self, o: Any) -> Any: return self._operator("sub", self, o)  # noqa: E704
    def __rsub__(self, o: Any) -> Any: return self._operator("sub", o, self)  # noqa: E704
    def __mul__(self, o: Any) -> Any: return self._operator("mul", self, o)  # noqa: E704
    def __rmul__(self, o: Any) -> Any: return self._operator("mul", o, self)  # noqa: E704
    def __truediv__(self, o: Any) -> Any: return self._operator("truediv", self, o)  # noqa: E704
    def __rtruediv__(self, o: Any) -> Any: return self._operator("truediv", o, self)  # noqa: E704
    def __pow__(self, o: Any) -> Any: return self._operator("pow", self, o)  # noqa: E704
    def __matmul__(self, o: Any) -> Any: return self._operator("matmul", self, o)  # noqa: E704
    def __neg__(self) -> Any: return self._operator("neg", self)  # noqa: E704


def identity(obj: Any) -> tuple[Any, ...]:
    """What identifies an object the learner made, compared with ``==``, wherever it lives.

    Through a sandbox, the same object reached twice (two lookups of one function) gives two
    proxies with equal identities: (the sandbox, the object's handle there). In the kernel it
    is the object itself (unwrapped from the check's error-reporting wrapper). The tuple holds
    strong references, so no later object can take over an identity that is kept. Checks use
    this instead of a proxy's private attributes.
    """
    if isinstance(obj, RemoteObject):
        return (obj._sandbox, obj._handle.id)
    return (getattr(obj, "__wrapped__", obj),)


def _expired(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this function belonged to an earlier check and is no longer available")


class _Peer:
    """The grader's side of one sandbox: callbacks handed out, handles seen, calls under way."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.functions: dict[int, Callable[..., Any]] = {}  # callback id -> the check's function
        self.ids: dict[int, int] = {}  # id(function) -> callback id (the function is kept alive)
        self.last_callback = 0
        self.last_handle = 0  # the learner's process numbers its handles 1, 2, 3, ...
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []  # arguments, innermost last
        self.serving = 0
        sandbox.peer = self
        sandbox.on_callback = self.serve

    @classmethod
    def of(cls, sandbox: Sandbox) -> _Peer:
        peer = sandbox.peer
        return peer if isinstance(peer, _Peer) else cls(sandbox)

    def expire(self) -> None:
        self.functions.clear()
        self.ids.clear()

    # ------------------------------------------------------------------ to the learner's process
    def encode(self, value: Any) -> Any:
        def to_handle(obj: Any) -> Handle | CallbackRef:
            if isinstance(obj, RemoteObject):
                return obj._handle
            if callable(obj):
                return CallbackRef(self.register(obj))
            raise TypeError(
                "a check can pass only data, learner objects and its own functions, "
                f"not {type(obj).__name__}"
            )

        if isinstance(value, RemoteObject):
            return {"h": value._handle.id}
        return encode(value, to_handle)

    def register(self, fn: Callable[..., Any]) -> int:
        key = self.ids.get(id(fn))
        if key is None:
            self.last_callback += 1
            key = self.ids[id(fn)] = self.last_callback
            self.functions[key] = fn
        return key

    # ------------------------------------------------------------------ from the learner's process
    def garbage(self, what: str) -> SandboxFailure:
        """Kill the learner's process for breaking the protocol; the failure, to raise."""
        self.sandbox.close()
        return SandboxFailure("protocol", f"the notebook's process sent garbage: {what}")

    def decode_reply(self, frame: dict[str, Any], where: str) -> dict[str, Any]:
        """The fields of a frame from the learner's process, decoded; garbage kills the process.

        ``value`` and ``args`` hold a value and a list, ``after``, ``sync`` and ``kwargs`` dicts
        of values. New handles must be numbered on from the last one seen, with no gap: a handle
        to anything else is a forgery.
        """
        seen: list[int] = []

        def from_handle(key: int, type_name: str) -> RemoteObject:
            seen.append(key)
            return RemoteObject(self.sandbox, Handle(key, type_name), where)

        def from_callback(key: int) -> Callable[..., Any]:
            if key > self.last_callback:
                raise WireError(f"a callback #{key} that was never handed out")
            return self.functions.get(key, _expired)

        def value(data: Any) -> Any:
            return decode(data, from_handle, from_callback=from_callback)

        def mapping(data: Any) -> dict[str, Any]:
            if not isinstance(data, dict):
                raise WireError("expected an object of values")
            return {str(k): value(v) for k, v in data.items()}

        parts: dict[str, Any] = {}
        try:
            for name, data in frame.items():
                if name == "value":
                    parts[name] = value(data)
                elif name == "args":
                    if not isinstance(data, list):
                        raise WireError("arguments must be a list")
                    parts[name] = [value(v) for v in data]
                elif name in ("after", "sync", "kwargs"):
                    parts[name] = mapping(data)
                else:
                    parts[name] = data
            if "value" not in parts and "same" not in parts and "missing" not in parts:
                parts["value"] = None
            new = sorted({k for k in seen if k > self.last_handle})
            if new and new != list(range(self.last_handle + 1, self.last_handle + 1 + len(new))):
                raise WireError(f"a handle to an unknown object (#{new[-1]})")
            self.last_handle += len(new)
        except WireError as exc:
            raise self.garbage(str(exc)) from None
        return parts

    def write_back(self, args: tuple[Any, ...], kwargs: dict[str, Any], after: dict[str, Any]) -> set[str]:
        """Copy the learner's in-place changes into the check's arrays and dicts; which took."""
        done = set()
        for key, new in after.items():
            if key.isdigit():
                original = args[int(key)] if int(key) < len(args) else None
            else:
                original = kwargs.get(key)
            if _write_back(original, new):
                done.add(key)
        return done

    # ------------------------------------------------------------------ callbacks
    def serve(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Run the check's function that the learner's code called; the reply to send back."""
        cb = frame.get("cb")
        if type(cb) is not int or not 0 < cb <= self.last_callback:
            raise self.garbage(f"a call of a function #{str(cb)[:20]} that was never handed out")
        parts = self.decode_reply({k: v for k, v in frame.items() if k in ("args", "kwargs", "sync")},
                                  "an argument of a callback")
        if self.calls and parts.get("sync"):
            self.write_back(*self.calls[-1], parts["sync"])
        fn = self.functions.get(cb, _expired)
        if self.serving >= MAX_CALLBACK_NESTING:
            return _error(RecursionError("the check's functions were called back too deeply"))
        self.serving += 1
        try:
            result = fn(*parts.get("args", []), **parts.get("kwargs", {}))
        except (LearnerCrash, SandboxFailure):
            raise  # the learner's process is gone: nothing to reply to
        except LearnerError as exc:  # the learner's own code failed inside: pass its error on
            return {"error": {"type": exc.exc_type, "message": exc.exc_message[:2000]}}
        except Exception as exc:  # the learner's call fails with it, as in a notebook
            return _error(exc)
        finally:
            self.serving -= 1
        _ensure(self.sandbox)
        try:
            return {"value": self.encode(result)}
        except (TypeError, WireError) as exc:
            return _error(TypeError(f"the check's function returned what cannot cross: {exc}"))


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}


def _request(sandbox: Sandbox, message: dict[str, Any], where: str, doing: str) -> dict[str, Any]:
    """Send one request; its reply decoded (:meth:`_Peer.decode_reply`)."""
    _ensure(sandbox)
    try:
        return _Peer.of(sandbox).decode_reply(sandbox.request(message, doing), where)
    except RemoteError as exc:
        raise LearnerError(where, exc.exc_type, exc.message) from None
    except SandboxFailure as exc:
        raise LearnerCrash(exc) from None


def _write_back(original: Any, new: Any) -> bool:
    if isinstance(original, dict) and isinstance(new, dict):
        original.clear()
        original.update(new)
        return True
    if isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape and original.flags.writeable:
            original[...] = new
            return True
    return False
