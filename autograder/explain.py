"""Explain, in one line a learner can act on, why a graded cell of an autograded notebook lost points.

The explanation is built only from what the failing cell raised (exception type and message, the
gradient checker's hint) and never from its source or traceback, which would show hidden tests.
The rules mirror nbgrader's ``determine_grade``: a test cell scores 0 when an output is an error
or a write to stderr, partial credit when its last expression is a number, full marks otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .framework.results import error_sentence

__all__ = [
    "Part",
    "answer_cells",
    "cap_bytes",
    "explain_cell",
    "explain_notebook",
    "failed_answer_cells",
    "grade_id",
    "integrity_of",
    "is_answer_cell",
    "is_test_cell",
    "mistakes_of",
]

MAX_EXPLANATION_BYTES = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_FRAME = re.compile(r"Cell In\[(\d+)\]")


@dataclass(frozen=True)
class Part:
    """One graded cell of a learner's notebook after grading.

    grade_id: the cell's nbgrader id (``test_<function>_<property>`` for a test cell).
    score / max_score: points earned and possible; ``score`` is None when a person must grade it.
    explanation: why points were lost ("" at full marks); never hidden-test source.
    mistakes: ids of the catalogued mistakes the check named (:func:`autograder.mistakes.catalogue`).
    """

    grade_id: str
    score: float | None
    max_score: float
    explanation: str = ""
    mistakes: tuple[str, ...] = ()

    @property
    def lost(self) -> bool:
        """True when the part scored less than its maximum (manual parts count as not lost)."""
        return self.score is not None and self.score < self.max_score


def cap_bytes(text: str, limit: int = MAX_EXPLANATION_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, marked when cut (line counts do not help)."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    marker = f" … [{len(raw) - limit} more bytes cut]"
    return raw[: max(0, limit - len(marker.encode()))].decode("utf-8", "ignore") + marker


def _nbgrader(cell: Mapping) -> Mapping:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell: Mapping) -> str | None:
    """The cell's nbgrader ``grade_id``, or None for an ordinary cell."""
    return _nbgrader(cell).get("grade_id")


def is_answer_cell(cell: Mapping) -> bool:
    """A code cell the learner fills in (nbgrader ``solution`` and not ``grade``)."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_test_cell(cell: Mapping) -> bool:
    """An autograded code cell (nbgrader ``grade`` and not ``solution``)."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def answer_cells(nb: Mapping) -> dict[int, str]:
    """Execution count -> grade_id of every answer cell that ran."""
    return {
        cell["execution_count"]: str(grade_id(cell))
        for cell in nb.get("cells", [])
        if is_answer_cell(cell) and cell.get("execution_count") is not None
    }


def _plain(text: str | list[str]) -> str:
    joined = "".join(text) if isinstance(text, list) else str(text)
    return _ANSI.sub("", joined)


# A failed assertion's message is already the explanation (the checker's or the check's words).
_ASSERTIONS = {"AssertionError", "CheckError", "GradientCheckError", "LearnerError"}


def _error_text(output: Mapping) -> str:
    ename = output.get("ename", "Error")
    evalue = _plain(output.get("evalue", "")).strip()
    if ename in _ASSERTIONS:
        return evalue or "a check failed without saying why"
    return error_sentence(ename, evalue)


def failed_answer_cells(nb: Mapping) -> dict[str, str]:
    """grade_id -> error of each answer cell that itself raised (e.g. a SyntaxError)."""
    failed = {}
    for cell in nb.get("cells", []):
        if not is_answer_cell(cell):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") != "NotImplementedError":
                failed[str(grade_id(cell))] = cap_bytes(_error_text(output), 300)
                break
    return failed


def _unimplemented(output: Mapping, answers: Mapping[int, str], test_id: str) -> str:
    frames = [int(n) for n in _CELL_FRAME.findall(_plain(output.get("traceback", [])))]
    names = [answers[n] for n in frames if n in answers]
    if not names:
        # No traceback frame to go on: guess from the test_<function>_<property> naming rule.
        names = sorted(
            (a for a in set(answers.values()) if test_id.startswith(f"test_{a}")), key=len
        )[-1:]
    where = f"the answer cell `{names[-1]}`" if names else "the answer cells this check uses"
    return f"not implemented yet: fill in {where}"


def explain_cell(
    cell: Mapping, answers: Mapping[int, str], failed: Mapping[str, str] | None = None
) -> str:
    """Why the test ``cell`` lost points, or "" when its outputs show no failure.

    answers: execution count -> grade_id of answer cells (see :func:`answer_cells`), used to name
        the cell a ``NotImplementedError`` came from.
    failed: answer cells that raised themselves (see :func:`failed_answer_cells`); a
        ``NameError`` on such a function is explained by that cell's own error.
    """
    test_id = str(grade_id(cell))
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "error":
            ename = output.get("ename", "")
            if ename == "NotImplementedError":
                return _unimplemented(output, answers, test_id)
            if ename == "CheckFailed":  # a verdict from outside the kernel: already an explanation
                return cap_bytes(_plain(output.get("evalue", "")).strip() or "the check failed")
            if ename in ("CellTimeoutError", "KeyboardInterrupt"):  # interrupted on timeout
                return "timed out: the check did not finish within the time limit per cell"
            text = _error_text(output)
            for name, error in (failed or {}).items():
                if ename == "NameError" and f"'{name}'" in text:
                    text = f"`{name}` is not defined because its answer cell failed to run: {error}"
            return cap_bytes(text)
        if kind == "stream" and output.get("name") == "stderr":
            lines = _plain(output.get("text", "")).strip().splitlines() or [""]
            return cap_bytes(f"the check wrote to stderr, which counts as a failure: {lines[0]}")
        if kind == "execute_result":
            return "partial credit from the check's own result"
    return ""


def explain_notebook(nb: Mapping) -> dict[str, str]:
    """grade_id -> explanation for every test cell of an executed notebook ("" when passed)."""
    answers = answer_cells(nb)
    failed = failed_answer_cells(nb)
    return {
        str(grade_id(cell)): explain_cell(cell, answers, failed)
        for cell in nb.get("cells", [])
        if is_test_cell(cell)
    }


def mistakes_of(nb: Mapping) -> dict[str, list[str]]:
    """grade_id -> ids of the catalogued mistakes behind each lost part (``ExternalVerdicts``)."""
    found = nb.get("metadata", {}).get("backprop_course", {}).get("mistakes", {})
    return {str(k): [str(i) for i in v] for k, v in found.items() if isinstance(v, list)}


def integrity_of(nb: Mapping) -> dict:
    """``{"flags": {grade_id: [...]}, "notes": [...]}`` recorded by ``ExternalVerdicts``."""
    return dict(nb.get("metadata", {}).get("backprop_course", {}).get("integrity", {}))
