"""nbgrader preprocessors the course adds (wired in by :mod:`autograder.settings`).

``ReconcileCells`` runs first while autograde sanitizes a submission, before nbgrader's
``OverwriteCells``: it makes the submission's nbgrader cells consistent with the source notebook
(:mod:`autograder.consistency`), so a duplicated, re-pointed or flag-flipped cell costs only what
it touches instead of failing the whole notebook.
``LimitOutputBytes`` runs during autograding, after nbgrader's line-based ``LimitOutput``.
``RedactFeedback`` runs while nbgrader generates feedback HTML: it replaces every test cell by
its name and one-line explanation, so feedback never shows hidden tests or tracebacks.
``ReplayVerdicts`` takes the place of the run step when a notebook was graded elsewhere (on a
Dask worker): it puts in the outputs the grading produced there, so that nbgrader's own steps
after it (scores into the gradebook, late penalties) run here, in the one process that writes.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode, from_dict
from traitlets import Bool, Integer, Unicode, default

from .consistency import reconcile_cells
from .explain import cap_bytes, explain_notebook, is_test_cell
from .settings import SOLUTIONS, grading

__all__ = [
    "LimitOutputBytes",
    "ReconcileCells",
    "RedactFeedback",
    "ReplayVerdicts",
    "summary_markdown",
]

_TEXT_KEYS = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


class ReconcileCells(Preprocessor):
    """Make a submission's nbgrader cells consistent with its source notebook (see
    :func:`autograder.consistency.reconcile_cells`); what was done goes into the notebook metadata
    ``backprop_course`` (``intake``, ``tampered_tests``) for the verdict and the report."""

    enabled = Bool(True, help="nbconvert preprocessors are off by default; this one is on").tag(
        config=True
    )
    source_directory = Unicode(str(SOLUTIONS), help="the source notebooks (trusted)").tag(config=True)

    def source_path(self, resources: dict[str, Any]) -> Path | None:
        """The source notebook of the notebook being graded, when there is one."""
        info = (resources or {}).get("nbgrader", {})
        assignment, notebook = info.get("assignment"), info.get("notebook")
        if not assignment or not notebook:
            return None
        path = Path(self.source_directory) / str(assignment) / f"{notebook}.ipynb"
        return path if path.is_file() else None

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:  # noqa: D102
        path = self.source_path(resources)
        if path is not None:
            reconcile_cells(nb, nbformat.read(str(path), as_version=4))
        return nb, resources


class LimitOutputBytes(Preprocessor):
    """Cap every output by bytes: nbgrader's own limit counts lines, and one huge line passes."""

    enabled = Bool(True, help="nbconvert preprocessors are off by default; this one is on").tag(
        config=True
    )
    max_bytes = Integer(
        help="bytes kept per text output (default: GradingSettings.max_output_bytes)"
    ).tag(config=True)
    max_image_bytes = Integer(
        help="bytes kept per image, base64 (default: GradingSettings.max_image_bytes)"
    ).tag(config=True)

    @default("max_bytes")
    def _max_bytes_default(self) -> int:
        return grading(self.config).max_output_bytes

    @default("max_image_bytes")
    def _max_image_bytes_default(self) -> int:
        return grading(self.config).max_image_bytes

    def preprocess_cell(self, cell, resources, index):  # noqa: D102 (nbconvert API)
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                output["text"] = cap_bytes(_join(output.get("text", "")), self.max_bytes)
            elif kind == "error":
                output["evalue"] = cap_bytes(str(output.get("evalue", "")), self.max_bytes)
                output["traceback"] = [
                    cap_bytes("\n".join(output.get("traceback", [])), self.max_bytes)
                ]
            elif kind in ("display_data", "execute_result"):
                self._cap_bundle(output.get("data", {}))
        return cell, resources

    def _cap_bundle(self, data: dict) -> None:
        for key in list(data):
            value = _join(data[key]) if isinstance(data[key], str | list) else None
            if value is None:
                continue
            limit = self.max_bytes if key in _TEXT_KEYS else self.max_image_bytes
            if len(value.encode()) > limit:
                if key in _TEXT_KEYS:
                    data[key] = cap_bytes(value, limit)
                else:
                    del data[key]
                    data["text/plain"] = f"[{key} output removed: over {limit} bytes]"


def _join(text: str | list[str]) -> str:
    return "".join(text) if isinstance(text, list) else text


def _cell(source: str, cell_id: str) -> NotebookNode:
    return from_dict({"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source})


def summary_markdown(rows: list[tuple[str, float | None, float, str]]) -> str:
    """A Markdown table of (part, score, max score, explanation) rows, HTML-escaped."""
    lines = [
        "## Your grade, part by part",
        "",
        "| part | points | why points were lost |",
        "|---|---|---|",
    ]
    for part, score, max_score, why in rows:
        shown = "needs a person" if score is None else f"{score:g}"
        cleaned = html.escape(why.replace("\n", " ")).replace("|", "\\|")
        lines.append(f"| `{part}` | {shown} / {max_score:g} | {cleaned or '—'} |")
    return "\n".join(lines)


class RedactFeedback(Preprocessor):
    """Feedback without hidden tests: test cells become their name, points and explanation.

    Runs after nbgrader's ``GetGrades`` (which puts ``score`` and ``points`` into each graded
    cell's metadata). Every error output keeps only ``ExceptionType: message``; a table of all
    parts goes first.
    """

    enabled = Bool(True, help="nbconvert preprocessors are off by default; this one is on").tag(
        config=True
    )

    def preprocess(self, nb, resources):  # noqa: D102 (nbconvert API)
        why = explain_notebook(nb)
        rows = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        output["traceback"] = [cap_bytes(f"{output.ename}: {output.evalue}")]
            if not is_test_cell(cell):
                continue
            meta = cell.metadata.nbgrader
            gid, score, points = meta["grade_id"], meta.get("score"), meta.get("points", 0)
            lost = score is not None and score < points
            text = why.get(gid, "") if lost else ""
            rows.append((gid, score, float(points), text))
            cell.source = f"# Hidden check `{gid}` (its source is not shown)"
            cell.outputs = (
                [from_dict({"output_type": "stream", "name": "stdout", "text": text + "\n"})]
                if text
                else []
            )
        nb.cells.insert(0, _cell(summary_markdown(rows), "bp-feedback-summary"))
        return nb, resources


class ReplayVerdicts(Preprocessor):
    """The run step of autograding, for a notebook already graded elsewhere.

    ``directory/<notebook>.ipynb`` is that notebook as autograded there (from the same
    submission and source): its outputs, execution counts and metadata replace this one's, cell
    by cell. nbgrader's later steps then score it exactly as they scored it there. A notebook
    whose cells differ (another submission, another source) is refused: autograde fails.
    """

    enabled = Bool(True, help="nbconvert preprocessors are off by default; this one is on").tag(
        config=True
    )
    directory = Unicode("", help="folder of the notebooks as graded elsewhere").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict]:  # noqa: D102
        name = (resources or {}).get("nbgrader", {}).get("notebook")
        path = Path(self.directory) / f"{name}.ipynb"
        if not name or not path.is_file():
            raise ValueError(f"no graded copy of {name}.ipynb to replay")
        graded = nbformat.read(str(path), as_version=4)
        if [(c.cell_type, c.source) for c in nb.cells] != [
            (c.cell_type, c.source) for c in graded.cells
        ]:
            raise ValueError(f"the graded copy of {name}.ipynb has other cells than the submission")
        for cell, done in zip(nb.cells, graded.cells, strict=True):
            cell.metadata = done.metadata
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
        nb.metadata = graded.metadata
        return nb, resources
