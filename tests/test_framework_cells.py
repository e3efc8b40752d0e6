"""The optional "check against PyTorch" cells: where they are, and that they never stop a notebook.

With PyTorch and Keras installed, the solution notebooks run these cells for real and every
comparison must agree (``test_grading_soundness.py`` executes every notebook and fails if one of
them was skipped). Here: without the frameworks, every notebook that has such a cell still runs
top to bottom, and says how to install what it skipped.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from execute import execute, outputs_text, without_modules

from autograder.settings import SOLUTIONS

CALLS = re.compile(r"\bimport_(torch|keras)\(")


def _framework_notebooks() -> list:
    found = []
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(cell.cell_type == "code" and CALLS.search(cell.source) for cell in nb.cells):
            found.append(path)
    return found


FRAMEWORK_NOTEBOOKS = _framework_notebooks()


def test_which_notebooks_check_themselves_against_a_framework():
    assert [p.parent.name[:2] for p in FRAMEWORK_NOTEBOOKS] == ["03", "05", "07", "15", "16"]


@pytest.mark.slow
@pytest.mark.parametrize("path", FRAMEWORK_NOTEBOOKS, ids=lambda p: p.stem)
def test_without_the_frameworks_does_the_notebook_still_run_and_say_how_to_install(path, tmp_path):
    with without_modules(tmp_path, "torch", "keras"):
        nb = execute(path, tmp_path)
    printed = outputs_text(nb)
    assert "is skipped" in printed and "pip install" in printed, printed[-2000:]


def test_does_the_shadow_really_hide_a_module(tmp_path):
    """Negative control of ``without_modules``: inside it, a kernel's import fails."""
    import subprocess
    import sys

    with without_modules(tmp_path, "numpy"):
        done = subprocess.run([sys.executable, "-c", "import numpy"], capture_output=True, text=True)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == "ModuleNotFoundError: No module named 'numpy'"
