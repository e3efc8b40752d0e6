"""The message format between the grader and a learner's sandboxed process.

Only plain data crosses: ``None``, booleans, numbers, strings, numeric numpy arrays, and
tuples, lists and string-keyed dicts of those. Anything else stays in the process that made it
and crosses as a *handle* (an id). Decoding is JSON plus a whitelist of numeric dtypes, so a
message from the learner's process cannot make the grader run code (unlike pickle).

Frames are a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
"""

from __future__ import annotations

import base64
import json
import math
import os
import select
import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "MAX_FRAME",
    "Handle",
    "WireError",
    "decode",
    "encode",
    "read_frame",
    "write_frame",
]

MAX_FRAME = 256 * 1024 * 1024
MAX_DEPTH = 32
MAX_STRING = 100_000
_DTYPES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}


class WireError(ValueError):
    """A malformed or oversized message."""


class Handle:
    """A reference to an object that lives in the other process."""

    __slots__ = ("id", "type_name")

    def __init__(self, id: int, type_name: str = "object") -> None:
        self.id, self.type_name = id, type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} #{self.id}>"


def encode(obj: Any, to_handle: Callable[[Any], Handle], depth: int = 0) -> Any:
    """Turn ``obj`` into JSON-able data; objects that are not plain data go through ``to_handle``."""
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
    if type(obj) is tuple:
        return {"t": [encode(v, to_handle, depth + 1) for v in obj]}
    if type(obj) is list:
        return {"l": [encode(v, to_handle, depth + 1) for v in obj]}
    if type(obj) is dict and all(isinstance(k, str) for k in obj):
        return {"d": {k: encode(v, to_handle, depth + 1) for k, v in obj.items()}}
    handle = to_handle(obj)
    return {"h": handle.id, "type": handle.type_name}


def decode(data: Any, from_handle: Callable[[int, str], Any], depth: int = 0) -> Any:
    """Inverse of :func:`encode`; handle ids go through ``from_handle(id, type_name)``."""
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
        if str(dtype)[1:] not in _DTYPES or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise WireError(f"array of dtype {dtype!r} and shape {shape!r} not accepted")
        buf = base64.b64decode(raw)
        count = math.prod(shape)
        if len(buf) != count * np.dtype(dtype).itemsize:
            raise WireError("array data does not match its shape")
        return np.frombuffer(buf, dtype=np.dtype(dtype)).reshape(shape).copy()
    if "h" in data:
        return from_handle(int(data["h"]), str(data.get("type", "object")))
    if "t" in data:
        return tuple(decode(v, from_handle, depth + 1) for v in data["t"])
    if "l" in data:
        return [decode(v, from_handle, depth + 1) for v in data["l"]]
    if "d" in data:
        return {str(k): decode(v, from_handle, depth + 1) for k, v in data["d"].items()}
    raise WireError(f"unknown value tag {sorted(data)}")


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Send one message on file descriptor ``fd``."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise WireError(f"message of {len(body)} bytes exceeds the {MAX_FRAME}-byte limit")
    view = memoryview(struct.pack(">I", len(body)) + body)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, n: int, deadline: float | None = None) -> bytes:
    """``n`` bytes from ``fd``; ``TimeoutError`` if they have not all come by ``deadline``."""
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError("the message did not arrive in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other process closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> dict[str, Any]:
    """Receive one message from ``fd`` (``deadline``: a ``time.monotonic()`` limit, else block)."""
    (size,) = struct.unpack(">I", read_exactly(fd, 4, deadline))
    if size > MAX_FRAME:
        raise WireError(f"message of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    message = json.loads(read_exactly(fd, size, deadline))
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
