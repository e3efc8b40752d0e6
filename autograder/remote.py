"""``learner`` for checks run outside the learner's process: a proxy over a :class:`Sandbox`.

``learner.affine_forward(x, w, b)`` sends ``x, w, b`` to the sandbox, calls the learner's
function there and brings back ``(out, cache)``: ``out`` as an array, ``cache`` as a handle
(:class:`RemoteObject`) that can be passed back to ``learner.affine_backward``. Objects the
learner made (a ``Value``) support attribute access, calls and arithmetic the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bplib.gradcheck import CheckError

from .checks import LearnerError
from .sandbox import RemoteError, Sandbox, SandboxFailure
from .wire import Handle, decode, encode

__all__ = ["LearnerCrash", "RemoteLearner", "RemoteObject"]


class LearnerCrash(CheckError):
    """The learner's process timed out or died during a check."""

    def __init__(self, failure: SandboxFailure) -> None:
        self.kind = failure.kind
        super().__init__(failure.detail)


def _ensure(sandbox: Sandbox) -> None:
    if not sandbox.alive:
        raise LearnerCrash(SandboxFailure("dead", "the notebook's process stopped earlier"))


class RemoteLearner:
    """The learner's names, reached through a sandbox; records which names each check used."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.used: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self.used.add(name)
        reply = _request(self._sandbox, {"op": "get", "name": name}, name, f"looking up `{name}`")
        if reply.get("missing"):
            raise CheckError(f"`{name}` is not defined: its answer cell did not define it (or failed)")
        return _decode(self._sandbox, reply["value"], name)

    def function(self, source: str) -> Any:
        reply = _request(self._sandbox, {"op": "helper", "source": source}, "helper", "defining a helper")
        return _decode(self._sandbox, reply["value"], "helper")


class RemoteObject:
    """An object living in the learner's process."""

    __slots__ = ("_sandbox", "_handle", "_where")

    def __init__(self, sandbox: Sandbox, handle: Handle, where: str) -> None:
        object.__setattr__(self, "_sandbox", sandbox)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_where", where)

    def __repr__(self) -> str:
        return f"<learner's {self._handle.type_name} from {self._where}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        enc_args = [_encode(a) for a in args]
        enc_kwargs = {k: _encode(v) for k, v in kwargs.items()}
        reply = _request(
            self._sandbox,
            {"op": "call", "fn": {"h": self._handle.id}, "args": enc_args, "kwargs": enc_kwargs},
            self._where,
            f"calling `{self._where}`",
        )
        for key, value in reply.get("after", {}).items():
            original = args[int(key)] if key.isdigit() else kwargs.get(key)
            _write_back(original, _decode(self._sandbox, value, self._where))
        return _decode(self._sandbox, reply["value"], self._where)

    def __getattr__(self, name: str) -> Any:
        where = f"{self._where}.{name}"
        reply = _request(
            self._sandbox,
            {"op": "getattr", "obj": {"h": self._handle.id}, "name": name},
            where,
            f"reading `{where}`",
        )
        return _decode(self._sandbox, reply["value"], where)

    def __setattr__(self, name: str, value: Any) -> None:
        where = f"{self._where}.{name}"
        _request(
            self._sandbox,
            {"op": "setattr", "obj": {"h": self._handle.id}, "name": name, "value": _encode(value)},
            where,
            f"setting `{where}`",
        )

    def _operator(self, name: str, *operands: Any) -> Any:
        reply = _request(
            self._sandbox,
            {"op": "operator", "name": name, "operands": [_encode(o) for o in operands]},
            self._where,
            f"applying `{name}` to `{self._where}`",
        )
        return _decode(self._sandbox, reply["value"], f"{name}({self._where})")

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


def _request(sandbox: Sandbox, message: dict[str, Any], where: str, doing: str) -> dict[str, Any]:
    _ensure(sandbox)
    try:
        return sandbox.request(message, doing)
    except RemoteError as exc:
        raise LearnerError(where, exc.exc_type, exc.message) from None
    except SandboxFailure as exc:
        raise LearnerCrash(exc) from None


def _encode(value: Any) -> Any:
    def to_handle(obj: Any) -> Handle:
        if isinstance(obj, RemoteObject):
            return obj._handle
        raise TypeError(f"a check can pass only data and learner objects, not {type(obj).__name__}")

    if isinstance(value, RemoteObject):
        return {"h": value._handle.id}
    return encode(value, to_handle)


def _decode(sandbox: Sandbox, data: Any, where: str) -> Any:
    def from_handle(key: int, type_name: str) -> RemoteObject:
        return RemoteObject(sandbox, Handle(key, type_name), where)

    return decode(data, from_handle)


def _write_back(original: Any, new: Any) -> None:
    if isinstance(original, dict) and isinstance(new, dict):
        original.clear()
        original.update(new)
    elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape:
            original[...] = new

