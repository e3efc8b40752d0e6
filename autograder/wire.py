"""The message format between the grader and a learner's sandboxed process.

Only plain data crosses: ``None``, booleans, numbers, strings, numeric numpy arrays, and
tuples, lists and string-keyed dicts of those. Anything else stays in the process that made it
and crosses as a reference: an object of the learner's process as a *handle* (``{"h": id}``),
a function of the grader's process as a *callback* (``{"cb": id}``; calling it in the learner's
process asks the grader to run it, see :mod:`autograder.sandbox`). Decoding is JSON plus a
whitelist of numeric dtypes, so a message from the learner's process cannot make the grader run
code (unlike pickle).

Frames are a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.

The grader reads what the learner's process writes as untrusted input (the learner's code can
write to its own end of the pipe): :class:`Limits` bound a frame's size and how many containers
and items it may hold *before* it is parsed, parsing cannot recurse without limit, and anything
malformed raises :class:`WireError` and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import select
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MAX_FRAME",
    "REPLY_LIMITS",
    "CallbackRef",
    "Handle",
    "Limits",
    "WireError",
    "check_body",
    "decode",
    "encode",
    "read_frame",
    "write_frame",
]

MAX_FRAME = 256 * 1024 * 1024  # what the learner's process accepts from the grader
MAX_DEPTH = 32
MAX_STRING = 100_000
MAX_DIMS = 32
_DTYPES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}


@dataclass(frozen=True)
class Limits:
    """Bounds on one frame, checked on its raw bytes before it is parsed.

    ``max_containers`` counts ``[`` and ``{``, ``max_items`` counts ``,`` (brackets and commas
    inside strings count too: the bounds are conservative, never exceeded by an accepted frame).
    """

    max_frame: int
    max_containers: int
    max_items: int


# What the grader accepts in one frame from the learner's process. The largest real reply of the
# course (notebook 11, the reference solution) is 3.2 MB with a few hundred containers; a frame
# of empty lists or tiny dicts at these bounds parses into a few tens of MB at most.
REPLY_LIMITS = Limits(max_frame=16 * 1024 * 1024, max_containers=200_000, max_items=2_000_000)


class WireError(ValueError):
    """A malformed or oversized message."""


class Handle:
    """A reference to an object that lives in the other process."""

    __slots__ = ("id", "type_name")

    def __init__(self, id: int, type_name: str = "object") -> None:
        self.id, self.type_name = id, type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} #{self.id}>"


class CallbackRef:
    """A reference to a function of the grader's process, callable from the learner's."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"<callback #{self.id}>"


def encode(obj: Any, to_handle: Callable[[Any], Handle | CallbackRef], depth: int = 0) -> Any:
    """Turn ``obj`` into JSON-able data; objects that are not plain data go through ``to_handle``.

    ``to_handle`` returns a :class:`Handle` (an object of this process) or a :class:`CallbackRef`.
    """
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if obj is None or isinstance(obj, bool | str):
        if isinstance(obj, str) and len(obj) > MAX_STRING:
            obj = obj[:MAX_STRING] + "…"
        return obj
    if isinstance(obj, int | np.integer) and not isinstance(obj, np.bool_):
        return {"i": str(int(obj))}
    if isinstance(obj, float | np.floating):
        return {"f": repr(float(obj))}
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray) and obj.dtype.str[1:] in _DTYPES:
        data = np.ascontiguousarray(obj)
        # obj.shape, not data.shape: ascontiguousarray turns a 0-d array into shape (1,)
        return {"nd": [data.dtype.str, list(obj.shape), base64.b64encode(data.tobytes()).decode()]}
    if isinstance(obj, Handle):
        return {"h": obj.id}
    if isinstance(obj, CallbackRef):
        return {"cb": obj.id}
    if type(obj) is tuple:
        return {"t": [encode(v, to_handle, depth + 1) for v in obj]}
    if type(obj) is list:
        return {"l": [encode(v, to_handle, depth + 1) for v in obj]}
    if type(obj) is dict and all(isinstance(k, str) for k in obj):
        return {"d": {k: encode(v, to_handle, depth + 1) for k, v in obj.items()}}
    ref = to_handle(obj)
    if isinstance(ref, CallbackRef):
        return {"cb": ref.id}
    return {"h": ref.id, "type": ref.type_name}


def _no_callbacks(key: int) -> Any:
    raise WireError(f"unexpected callback #{key}")


def decode(
    data: Any,
    from_handle: Callable[[int, str], Any],
    depth: int = 0,
    *,
    from_callback: Callable[[int], Any] = _no_callbacks,
) -> Any:
    """Inverse of :func:`encode`: handle ids go through ``from_handle(id, type_name)``, callback
    ids through ``from_callback(id)``. Anything malformed raises :class:`WireError`."""
    try:
        return _decode(data, from_handle, from_callback, depth)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError,
            MemoryError, binascii.Error) as exc:  # fmt: skip
        raise WireError(f"malformed value ({type(exc).__name__}: {str(exc)[:200]})") from None


def _ref_id(value: Any, what: str) -> int:
    if type(value) is not int or not 0 < value < 2**63:
        raise WireError(f"a {what} id must be a positive integer, got {str(value)[:40]!r}")
    return value


def _decode(
    data: Any, from_handle: Callable[[int, str], Any], from_callback: Callable[[int], Any], depth: int
) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or isinstance(data, bool | str):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise WireError(f"unexpected value of type {type(data).__name__}")
    if "i" in data:
        return int(data["i"])
    if "f" in data:
        return float(data["f"])
    if "nd" in data:
        dtype, shape, raw = data["nd"]
        if (
            not isinstance(dtype, str) or dtype[1:] not in _DTYPES or not isinstance(shape, list)
            or len(shape) > MAX_DIMS or not isinstance(raw, str)
            or not all(type(s) is int and 0 <= s < 2**40 for s in shape)
        ):  # fmt: skip
            raise WireError(f"array of dtype {str(dtype)[:20]!r} and shape {str(shape)[:80]} not accepted")
        itemsize = np.dtype(dtype).itemsize
        if len(raw) != 4 * -(-math.prod(shape) * itemsize // 3):  # before decoding anything
            raise WireError("array data does not match its shape")
        buf = base64.b64decode(raw, validate=True)
        if len(buf) != math.prod(shape) * itemsize:
            raise WireError("array data does not match its shape")
        return np.frombuffer(buf, dtype=np.dtype(dtype)).reshape(shape).copy()
    if "h" in data:
        type_name = data.get("type", "object")
        if not isinstance(type_name, str):
            raise WireError("a handle's type must be a string")
        return from_handle(_ref_id(data["h"], "handle"), type_name[:200])
    if "cb" in data:
        if len(data) != 1:
            raise WireError("unexpected fields beside a callback")
        return from_callback(_ref_id(data["cb"], "callback"))
    if "t" in data:
        return tuple(_decode(v, from_handle, from_callback, depth + 1) for v in _list(data["t"]))
    if "l" in data:
        return [_decode(v, from_handle, from_callback, depth + 1) for v in _list(data["l"])]
    if "d" in data:
        items = data["d"]
        if not isinstance(items, dict):
            raise WireError("a dict must be a JSON object")
        return {str(k): _decode(v, from_handle, from_callback, depth + 1) for k, v in items.items()}
    raise WireError(f"unknown value tag {sorted(data)[:4]}")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise WireError("a sequence must be a JSON array")
    return value


def check_body(body: bytes, limits: Limits) -> None:
    """Raise :class:`WireError` if a frame's raw bytes exceed ``limits`` (no parsing: C-speed counts)."""
    if len(body) > limits.max_frame:
        raise WireError(f"message of {len(body)} bytes exceeds the {limits.max_frame}-byte limit")
    containers = body.count(b"[") + body.count(b"{")
    if containers > limits.max_containers:
        raise WireError(f"message of {containers} lists/objects exceeds the limit of {limits.max_containers}")
    items = body.count(b",")
    if items > limits.max_items:
        raise WireError(f"message of {items} items exceeds the limit of {limits.max_items}")


def write_frame(fd: int, message: dict[str, Any], limits: Limits | None = None) -> None:
    """Send one message on file descriptor ``fd``; ``limits``: what the reader will accept."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if limits is not None:
        check_body(body, limits)
    elif len(body) > MAX_FRAME:
        raise WireError(f"message of {len(body)} bytes exceeds the {MAX_FRAME}-byte limit")
    view = memoryview(struct.pack(">I", len(body)) + body)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _readable(fd: int, wait: float) -> bool:
    """Whether ``fd`` has data (or end-of-file) within ``wait`` seconds.

    ``poll`` where it exists: ``select`` refuses descriptors numbered 1024 or more, which a
    grader holding many files or connections can be handed for a learner's pipe.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(max(0.0, wait) * 1000))
    return bool(select.select([fd], [], [], wait)[0])


def read_exactly(fd: int, n: int, deadline: float | None = None) -> bytes:
    """``n`` bytes from ``fd``; ``TimeoutError`` if they have not all come by ``deadline``."""
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not _readable(fd, wait):
                raise TimeoutError("the message did not arrive in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other process closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(
    fd: int,
    deadline: float | None = None,
    limits: Limits | None = None,
    account: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Receive one message from ``fd`` (``deadline``: a ``time.monotonic()`` limit, else block).

    With ``limits`` (the grader reading the learner's process) the frame is bounded before it is
    read and parsed; ``account(size)`` is told each frame's size first and may refuse it by
    raising :class:`WireError`. Malformed frames raise :class:`WireError`; a timeout
    ``TimeoutError``; a closed pipe ``EOFError``.
    """
    (size,) = struct.unpack(">I", read_exactly(fd, 4, deadline))
    max_frame = limits.max_frame if limits is not None else MAX_FRAME
    if size > max_frame:
        raise WireError(f"message of {size} bytes exceeds the {max_frame}-byte limit")
    if account is not None:
        account(4 + size)
    body = read_exactly(fd, size, deadline)
    if limits is not None:
        check_body(body, limits)
    try:
        message = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise WireError("message nested too deeply") from None
    except (ValueError, MemoryError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise WireError(f"not a JSON message ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
