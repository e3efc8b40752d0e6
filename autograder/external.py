"""The nbgrader preprocessor that grades with verdicts computed outside the learner's process.

It takes the place of nbgrader's ``Execute`` in ``Autograde``: instead of running the submitted
notebook (hidden tests included) in the learner's kernel, it runs the learner's answer cells in a
sandbox and each test cell's check in the grader (:mod:`autograder.verdict`), then writes the
outcome into the test cell as nbgrader expects it: no error output for a pass, an error output
whose message is the explanation for a fail. nbgrader's own ``SaveAutoGrades`` then scores the
cells, so the gradebook, formgrader, export and feedback work unchanged.

Integrity flags and notes go into the notebook metadata ``backprop_course`` for the reports.
An assignment without registered checks is executed the nbgrader way (in the kernel).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import from_dict
from nbgrader.preprocessors import Execute
from traitlets import Float, Unicode, default

from .consistency import reconcile_cells
from .settings import SOLUTIONS, grading
from .verdict import external_verdicts, has_checks

__all__ = ["ExternalVerdicts"]

PASS_TEXT = "passed (checked outside your notebook's process)\n"


class ExternalVerdicts(Execute):
    """nbgrader's ``Execute``, unless the assignment has checks: then verdicts from outside."""

    source_directory = Unicode(str(SOLUTIONS), help="the source notebooks (trusted)").tag(config=True)
    call_timeout = Float(
        help="seconds a single call into the learner's code may take (default: "
        "GradingSettings.call_timeout)"
    ).tag(config=True)

    @default("call_timeout")
    def _call_timeout_default(self) -> float:
        return grading(self.config).call_timeout

    def preprocess(self, nb: Any, resources: dict[str, Any] | None = None, km: Any = None) -> Any:
        resources = resources if resources is not None else {}
        info = resources.get("nbgrader", {})
        assignment, notebook = info.get("assignment"), info.get("notebook")
        if not assignment or not notebook or not has_checks(str(assignment)):
            return super().preprocess(nb, resources, km=km)
        source = Path(self.source_directory) / str(assignment) / f"{notebook}.ipynb"
        # nbgrader has already restored the test cells from the gradebook: to see what the
        # learner did to them, read the file as submitted.
        original = self._submitted_file(str(info.get("student", "")), str(assignment), str(notebook))
        intake: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="bp-verdict-") as tmp:
            submitted = Path(tmp) / "submission.ipynb"
            if original is None:
                nbformat.write(nb, str(submitted))
            else:
                # Graded as nbgrader grades it: the cells made consistent with the source the way
                # ReconcileCells did while sanitizing (same answer copy), with what the learner
                # did to test cells recorded in the metadata for tampered_tests.
                as_submitted = nbformat.read(str(original), as_version=4)
                reconcile_cells(as_submitted, nbformat.read(str(source), as_version=4))
                nbformat.write(as_submitted, str(submitted))
                intake = dict(as_submitted.metadata.get("backprop_course", {}))
            verdicts, notes = external_verdicts(
                str(assignment),
                source,
                submitted,
                start_timeout=float(self.timeout or grading(self.config).cell_timeout),
                call_timeout=self.call_timeout,
                check_tampering=original is not None,
            )
        if original is not None:  # what happened when the file was taken in (restored metadata)
            for note in intake.get("intake", []) if isinstance(intake.get("intake"), list) else []:
                notes.append(str(note))
                for verdict in verdicts:
                    verdict.flags.append(str(note))
        by_id = {v.grade_id: v for v in verdicts}
        flags: dict[str, list[str]] = {}
        named = {v.grade_id: v.mistakes for v in verdicts if v.mistakes}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            verdict = by_id.get(meta.get("grade_id", ""))
            if cell.cell_type != "code" or verdict is None:
                continue
            cell.outputs = [_output(verdict.passed, verdict.explanation)]
            cell.execution_count = None
            if verdict.flags:
                flags[verdict.grade_id] = sorted(set(verdict.flags))
        ours = nb.metadata.setdefault("backprop_course", {})
        ours["integrity"] = {"flags": flags, "notes": notes}
        ours["mistakes"] = named  # grade_id -> ids of the catalogued mistakes behind a lost part
        return nb, resources


    def _submitted_file(self, student: str, assignment: str, notebook: str) -> Path | None:
        from nbgrader.coursedir import CourseDirectory

        if not student:
            return None
        coursedir = CourseDirectory(config=self.config)
        folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        path = Path(folder) / f"{notebook}.ipynb"
        return path if path.is_file() else None


def _output(passed: bool, explanation: str) -> Any:
    if passed:
        return from_dict({"output_type": "stream", "name": "stdout", "text": PASS_TEXT})
    return from_dict(
        {
            "output_type": "error",
            "ename": "CheckFailed",
            "evalue": explanation,
            "traceback": [explanation],
        }
    )
