"""What a test needs to see leaks: the file descriptors this process holds."""

from __future__ import annotations

import os


def open_descriptors() -> set[int]:
    """The file descriptors this process has open now."""
    return {int(fd) for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")}
