"""What the JupyterHub test needs around the hub: Unix users, free ports, a view of this Python
that other users can read, and a small REST client.

The test's Python may live under a folder only root can enter (``/root/.pyenv``, a venv under
``/root``): then no learner could start a server. Rather than open that folder to every user of
the machine, the hub and every command run as a user are started in a private mount namespace
where only the folders they need are visible to others (:func:`exposing`); outside it nothing
changes.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["closed_ancestor", "exposing", "free_port", "remove_user", "request"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_ancestor(path: Path) -> Path | None:
    """The outermost folder above ``path`` that other users cannot enter, or None."""
    path = Path(path).resolve()
    for parent in reversed(path.parents):
        if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
            return parent
    return None


def exposing(paths: list[Path], hidden: Path, command: list[str]) -> list[str]:
    """``command`` run in a new mount namespace where each of ``paths`` can be reached by any
    user: every closed folder above one is replaced by an open, empty one (tmpfs) through which
    only the needed sub-folders are mounted back. ``hidden`` (root-only) keeps the originals."""
    lines = ["set -e"]
    closed: dict[Path, list[Path]] = {}
    for path in paths:
        top = closed_ancestor(path)
        if top is not None:
            closed.setdefault(top, []).append(Path(path).resolve())
    for i, (top, inner) in enumerate(sorted(closed.items())):
        keep = hidden / str(i)
        lines += [f"mkdir -p {shlex.quote(str(keep))}",
                  f"mount --bind {shlex.quote(str(top))} {shlex.quote(str(keep))}",
                  f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(str(top))}"]
        for path in sorted(set(inner)):
            rel = path.relative_to(top)
            lines += [f"mkdir -p {shlex.quote(str(path))}",
                      f"mount --bind {shlex.quote(str(keep / rel))} {shlex.quote(str(path))}"]
    lines.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
            "\n".join(lines), "sh", *command]


def remove_user(name: str) -> None:
    """Delete the Unix user ``name``, its group and home (quietly if it is not there)."""
    subprocess.run(["userdel", "--remove", "--force", name], capture_output=True, timeout=60)
    subprocess.run(["groupdel", name], capture_output=True, timeout=60)


def request(method: str, url: str, token: str, body: Any = None, form: dict | None = None,
            timeout: float = 120) -> tuple[int, Any]:
    """(status, decoded JSON or text) of an HTTP request authorized by ``token``."""
    headers = {"Authorization": f"token {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def wait_for(check, timeout: float, what: str, every: float = 0.25):  # noqa: ANN001, ANN201
    """Call ``check()`` until it returns something true; that value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
