"""Execute a course notebook as nbgrader would: in a fresh kernel, in a copy of its folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config


def execute(path: Path, tmp_path: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel; return the notebook with its outputs.

    The kernel runs in a fresh folder holding the assignment's other files, as nbgrader runs it.
    A cell that raises stops the run with nbclient's ``CellExecutionError``.
    """
    nb = nbformat.read(path, as_version=4)
    shutil.copytree(path.parent, tmp_path / "run", ignore=shutil.ignore_patterns("*.ipynb"))
    # Unix sockets, not TCP ports: while other kernels start on the machine, a port picked as
    # free can be taken before this kernel binds it, and the client then waits out its timeout.
    config = Config()
    config.AsyncKernelManager.transport = "ipc"
    config.AsyncKernelManager.ip = str(tmp_path / "kernel")
    NotebookClient(nb, timeout=timeout, kernel_name="python3", config=config,
                   resources={"metadata": {"path": str(tmp_path / "run")}}).execute()
    return nb


@contextmanager
def without_modules(tmp_path: Path, *names: str) -> Iterator[Path]:
    """Kernels started inside this block cannot import ``names``, as if they were not installed.

    Each name is shadowed by a package, first on ``PYTHONPATH``, whose import raises
    ``ModuleNotFoundError``, as a missing module's does.
    """
    shadow = tmp_path / "shadow"
    for name in names:
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {name!r}'!r}, name={name!r})\n")
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), before]))
    try:
        yield shadow
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's code cells printed, as one string."""
    return "\n".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
                     if out.output_type == "stream")
