"""The "Grade this notebook" cell at the end of every course notebook.

The cell shows a button (:func:`grade_button`); a click calls :func:`grade_this_notebook`, which
grades the notebook *as saved on disk* with the hidden tests and shows ``bp-grade``'s table in
the notebook: points per part, the reason for each lost point, the total. (A button, so that
"Run All" never starts a grading run by itself.)
The grade is computed by a separate grader process (``python -m autograder.selfpaced``, which
runs the learner's code in its sandbox); no hidden test ever runs in the learner's kernel.

Because the file is graded, not the kernel's memory, the cell first checks that the file is up to
date: for every answer cell, the last version the kernel ran must be the one on disk. If not, it
says "save first (Ctrl+S)" instead of grading an older version. It never raises: whatever goes
wrong is printed as a sentence.
"""

from __future__ import annotations

import ast
import html
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "CELL_ID",
    "add_grade_cell",
    "CELL_SOURCE",
    "find_notebook",
    "grade_button",
    "grade_this_notebook",
    "render",
    "unsaved_cells",
]

GRADE_TIMEOUT = 600.0
CELL_ID = "grade-this-notebook"
HEADING = (
    "## Grade this notebook\n\n"
    "Save the notebook (Ctrl+S), run the cell below (Shift+Enter) and click its button: the saved "
    "file is graded with the hidden tests, by the grader outside this notebook, and the table "
    "shows your points per part and the reason for every lost point. (In a terminal: `bp-grade` "
    "with the notebook's path.)"
)
CELL_SOURCE = "from autograder.gradecell import grade_button\n\ngrade_button()"


def add_grade_cell(nb: Any) -> bool:
    """Append the "Grade this notebook" heading and cell to a source notebook (nbformat node)
    unless it already ends with them; True if it changed. Neither is an nbgrader cell."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    def ours(cell: Any) -> bool:  # by content: bp-release gives every cell an id of its own
        text = "".join(cell.get("source", "")).strip()
        return text == CELL_SOURCE or text.startswith(HEADING.split("\n")[0])

    if (len(nb.cells) >= 2 and ours(nb.cells[-1]) and ours(nb.cells[-2])
            and "".join(nb.cells[-2].get("source", "")).strip() == HEADING):
        return False
    nb.cells = [c for c in nb.cells if not ours(c)]
    nb.cells.append(new_markdown_cell(HEADING, id=f"{CELL_ID}-heading"))
    nb.cells.append(new_code_cell(CELL_SOURCE, id=CELL_ID))
    return True


def find_notebook(cwd: Path | None = None, session: str | None = None) -> Path | None:
    """The notebook this kernel belongs to: Jupyter's ``JPY_SESSION_NAME`` (absolute, or
    relative to the server's folder, so tried by name in the kernel's folder too), or the only
    ``.ipynb`` in the kernel's working folder; ``None`` if neither tells."""
    cwd = Path.cwd() if cwd is None else cwd
    session = os.environ.get("JPY_SESSION_NAME") if session is None else session
    if session and session.endswith(".ipynb"):
        given = Path(session)
        # relative to the server's folder, which the kernel does not know: look here by name
        for candidate in ([given] if given.is_absolute() else []) + [cwd / given.name]:
            if candidate.is_file():
                return candidate.resolve()
    found = [p for p in cwd.glob("*.ipynb") if not p.name.startswith(".")]
    return found[0].resolve() if len(found) == 1 else None


def _defined(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def unsaved_cells(notebook: dict[str, Any], history: list[str]) -> list[str]:
    """Answer cells whose last run in the kernel (``history``: the sources run, oldest first) is
    not what the file holds: edited and run, but not saved since."""
    stale = []
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("solution"):
            continue
        source = "".join(cell.get("source", ""))
        names = _defined(source)
        if not names:
            continue
        runs = [h for h in history if _defined(h) & names]
        if runs and not _same(runs[-1], source):
            stale.append(str(meta.get("grade_id", sorted(names)[0])))
    return stale


def render(report: dict[str, Any]) -> str:
    """HTML of ``bp-grade --json``'s report: one row per part, its points and why it lost any."""
    e = html.escape
    if report.get("status") != "graded":
        return (f"<p><b>Not graded:</b> {e(str(report.get('reason', '')))}</p>")
    rows = []
    for nb in report.get("notebooks", []):
        for part in nb.get("parts", []):
            score, top = part.get("score"), part.get("max_score")
            mark = "✓" if score == top else "✗"
            why = e(part.get("explanation") or "")
            rows.append(f"<tr><td>{mark}</td><td><code>{e(part['part'])}</code></td>"
                        f"<td style='text-align:right'>{score:g} / {top:g}</td>"
                        f"<td style='white-space:pre-wrap'>{why}</td></tr>")
        for note in nb.get("notes", []):
            rows.append(f"<tr><td></td><td colspan='3'><i>{e(note)}</i></td></tr>")
    total = f"{report.get('score', 0):g} / {report.get('max_score', 0):g}"
    return ("<table class='bp-grade'><tr><th></th><th>part</th><th>points</th><th>why points "
            "were lost</th></tr>" + "".join(rows) +
            f"<tr><td></td><td><b>total</b></td><td style='text-align:right'><b>{total}</b></td>"
            "<td></td></tr></table>")


def _show(markup: str, text: str) -> None:
    try:
        from IPython.display import HTML, display

        display(HTML(markup))
    except ImportError:
        print(text)


def grade_button(path: str | Path | None = None) -> None:
    """Show a "Grade this notebook" button and, below it, the place its table appears."""
    import ipywidgets as widgets
    from IPython.display import display

    button = widgets.Button(description="Grade this notebook", icon="check",
                            button_style="primary", layout=widgets.Layout(width="auto"))
    out = widgets.Output()

    def on_click(_: Any) -> None:
        button.disabled = True
        out.clear_output()
        try:
            with out:
                grade_this_notebook(path)
        finally:
            button.disabled = False

    button.on_click(on_click)
    display(widgets.VBox([button, out]))


def grade_this_notebook(path: str | Path | None = None) -> dict[str, Any] | None:
    """Grade the saved notebook (``path``, or this kernel's) and show the table; the report as
    a dict, or ``None`` when nothing could be graded (the reason is printed)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    target = Path(path) if path else find_notebook()
    if target is None or not target.is_file():
        print("Could not tell which notebook this is: run this cell in the course notebook "
              "itself, or call grade_this_notebook('path/to/notebook.ipynb').")
        return None
    try:
        notebook = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"Could not read {target.name}: {exc}")
        return None
    history = list(shell.user_ns.get("In", [])) if shell is not None else []
    stale = unsaved_cells(notebook, history)
    if stale:
        print(f"Save first (Ctrl+S): the file on disk is older than what you ran in "
              f"{', '.join(f'`{s}`' for s in stale)}; the grade is computed from the saved file. "
              "Then run this cell again.")
        return None
    print(f"Grading {target.name} as saved, with the hidden tests (this takes a few seconds)…")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "autograder.selfpaced", str(target), "--json"],
            capture_output=True, text=True, timeout=GRADE_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"Grading took more than {GRADE_TIMEOUT:g} s and was stopped: look for an endless "
              "loop in your answers, or run `bp-grade` in a terminal to see more.")
        return None
    try:
        report = json.loads(done.stdout)
    except ValueError:
        lines = (done.stderr or done.stdout).strip().splitlines()
        print("Grading failed: " + (lines[-1] if lines else f"exit code {done.returncode}"))
        return None
    _show(render(report), json.dumps(report, indent=1))
    return report
