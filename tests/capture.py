"""Capture what a command and every process it starts write to stdout and stderr."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def captured_output(path: Path) -> Iterator[Path]:
    """Send stdout and stderr, of this process (descriptors 1 and 2, ``sys.stdout`` and
    ``sys.stderr``) and of every child, to ``path`` meanwhile."""
    saved = os.dup(1), os.dup(2)
    streams = sys.stdout, sys.stderr
    with path.open("wb") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            yield path
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
