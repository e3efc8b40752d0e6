"""Verdicts computed outside the learner's process: the grading core of ``bp-grade``/``bp-classroom``.

For one submitted notebook:

1. take the trusted set-up cells from the *source* notebook (cells tagged ``setup``; the first
   code cell when none is tagged) and the learner's *answer cells* (by ``grade_id``), nothing
   else of the submission;
2. read the answer cells without running them: flag uses of ``bplib`` (the reference) and
   tampering-looking constructs (patching numpy, builtins, IPython, the checker);
3. run them in a locked-down sandbox (:mod:`autograder.sandbox`), with the reference versions of
   the functions they define neutered;
4. run each test cell's check (:mod:`autograder.checks`) in *this* process against a proxy of
   the learner's objects, restarting the sandbox after a crash so that a crash loses only what
   it prevents from running.

The result per test cell is pass or fail with an explanation, plus flags that a grade report
shows (and, for flagged reference use, a zero for the parts that used it).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .framework import LearnerError, checks_for, load_checks, unusable
from .framework.results import error_sentence
from .learner_bplib import learner_bplib
from .mistakes import mistake_id, recording
from .remote import LearnerCrash, RemoteLearner
from .sandbox import Sandbox, SandboxFailure, strip_magics, warm_fork_server
from .settings import grading

__all__ = [
    "CellVerdict", "Submission", "external_verdicts", "has_checks", "read_submission", "scan_answer",
    "warm_sandboxes",
]

_SUSPICIOUS = [
    (re.compile(r"\b(np|numpy)\s*\.\s*(testing\b|allclose\s*=|isclose\s*=|array_equal\s*=)"),
     "touches numpy's comparison functions"),
    (re.compile(r"\bbuiltins\b|__builtins__"), "changes Python's builtins"),
    (re.compile(r"get_ipython|input_transformers|IPython"), "reaches into IPython"),
    (re.compile(r"\bsys\s*\.\s*modules\b|\bgc\s*\.|__code__|__globals__"), "patches modules or code objects"),
    (re.compile(r"\bos\s*\.\s*_exit|\bsignal\s*\.|\bsys\s*\.\s*exit"), "exits or traps signals"),
    (re.compile(r"gradebook|sqlite3|\bopen\s*\(|\bsubprocess\b|\bsocket\b"), "opens files, processes or sockets"),
    (re.compile(r"\bCheckError\b|GradientCheckError|autograder"), "refers to the grader"),
]  # fmt: skip


@dataclass
class CellVerdict:
    """Outcome of one test cell: passed, or why not; ``flags`` name integrity problems;
    ``mistakes``: the ids of the catalogued mistakes the check named (for the class report)."""

    grade_id: str
    passed: bool
    explanation: str = ""
    flags: list[str] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)


@dataclass
class Submission:
    """What grading takes from a submitted notebook: its answer cells by grade_id."""

    answers: dict[str, str]
    missing: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # found by the name they define


def _nbgrader(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def source_layout(source_nb: Any) -> tuple[list[str], list[str], list[str]]:
    """(set-up sources, answer grade_ids, test grade_ids) of a trusted source notebook."""
    code = [c for c in source_nb.cells if c.cell_type == "code"]
    tagged = [c.source for c in code if "setup" in c.get("metadata", {}).get("tags", [])]
    first = _nbgrader(code[0]) if code else {}
    setup = tagged or ([code[0].source] if code and not (first.get("solution") or first.get("grade")) else [])
    answers = [_nbgrader(c)["grade_id"] for c in code if _nbgrader(c).get("solution")]
    tests = [
        _nbgrader(c)["grade_id"]
        for c in code
        if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")
    ]
    return setup, answers, tests


def _read(path: Path) -> Any:
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a corrupt file
        raise ValueError(f"not a readable notebook: {type(exc).__name__}: {exc}") from None


def read_submission(path: Path, answer_ids: Sequence[str]) -> Submission:
    """The answer cells of a submitted notebook (raises ``ValueError`` if it is not a notebook).

    A cell is found by its ``grade_id``; when its nbgrader metadata was lost (a copied cell, a
    stripped notebook), by the function or class of that name it defines.
    """
    cells = [c for c in _read(path).cells if c.get("cell_type") == "code"]
    found: dict[str, str] = {}
    for cell in cells:
        gid = _nbgrader(cell).get("grade_id")
        if gid in answer_ids and gid not in found:
            found[gid] = str(cell.get("source", ""))
    recovered = []
    for gid in answer_ids:
        if gid in found:
            continue
        for cell in cells:
            if not _nbgrader(cell) and gid in scan_answer(str(cell.get("source", "")))[0]:
                found[gid] = str(cell.get("source", ""))
                recovered.append(gid)
                break
    missing = [gid for gid in answer_ids if gid not in found]
    return Submission({gid: found.get(gid, "") for gid in answer_ids}, missing, recovered)


def tampered_tests(submission: Path, source_notebook: Path) -> dict[str, str]:
    """grade_id -> what was done to each test cell that differs from its released version.

    Edited, deleted, duplicated, re-pointed or renamed test cells, changed nbgrader flags, and
    another cell claiming a test's grade_id (see :func:`autograder.consistency.reconcile_cells`),
    plus what an earlier reconciliation of ``submission`` recorded in its metadata (a reconciled
    file no longer shows a duplicate, but still names it).
    """
    from .consistency import reconcile_cells, recorded_tampering

    source_nb = _read(source_notebook)
    submitted = _read(submission)
    recorded = recorded_tampering(submitted)
    found = reconcile_cells(submitted, source_nb).tampered  # on the copy read here
    _, _, test_ids = source_layout(source_nb)
    return {gid: found.get(gid) or recorded[gid] for gid in test_ids if gid in found or gid in recorded}


def scan_answer(source: str, graded: Iterable[str] = ()) -> tuple[set[str], list[str]]:
    """(names the answer cell defines, integrity flags) — read, never run.

    Taking one of the ``graded`` functions from ``bplib`` is flagged as use of the reference
    implementation; any other mention of ``bplib`` as suspicious.
    """
    graded = set(graded)
    flags = []
    defined: set[str] = set()
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError as exc:
        return defined, [f"does not parse: {exc.msg} (line {exc.lineno})"]
    for node in ast.walk(tree):
        taken: set[str] = set()
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bplib":
            taken = {a.name for a in node.names}
            flags.append(f"suspicious: imports {node.module}")
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "bplib" for a in node.names):
            flags.append("suspicious: imports bplib")
        elif isinstance(node, ast.Attribute) and node.attr in graded:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "bplib":
                taken = {node.attr}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "bplib" in node.value:
            flags.append("suspicious: names bplib in a string")
        for name in sorted(taken & graded):
            flags.append(f"uses the reference implementation of `{name}` (bplib)")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for pattern, what in _SUSPICIOUS:
        if pattern.search(source):
            flags.append(f"suspicious: {what}")
    return defined, sorted(set(flags))


def external_verdicts(
    assignment: str,
    source_notebook: Path,
    submission: Path,
    *,
    start_timeout: float | None = None,
    call_timeout: float | None = None,
    only: Iterable[str] | None = None,
    check_tampering: bool = True,
) -> tuple[list[CellVerdict], list[str]]:
    """Grade ``submission`` against the checks of ``assignment``.

    Returns the verdict of every test cell (in the source's order) and notes for the report
    (answer cells that failed to run, a sandbox without a system-call filter, restarts).
    With ``check_tampering``, a test cell that differs from its released version (edited,
    deleted, re-pointed) earns nothing and is flagged, whatever its check says.
    Raises ``ValueError`` when the submission is not a readable notebook. The timeouts default
    to :class:`autograder.settings.GradingSettings` (``cell_timeout``, ``call_timeout``).
    """
    limits = grading()
    start_timeout = limits.cell_timeout if start_timeout is None else start_timeout
    call_timeout = limits.call_timeout if call_timeout is None else call_timeout
    source_nb = nbformat.read(str(source_notebook), as_version=4)
    setup, answer_ids, test_ids = source_layout(source_nb)
    sub = read_submission(submission, answer_ids)
    checks = load_checks(assignment)
    notes: list[str] = [f"answer cell `{gid}` is missing from the notebook" for gid in sub.missing]
    notes += [
        f"answer cell `{gid}` had lost its nbgrader metadata; found by the name it defines"
        for gid in sub.recovered
    ]
    tampered = tampered_tests(submission, Path(source_notebook)) if check_tampering else {}

    defines: dict[str, str] = {}  # name -> answer cell defining it
    answer_flags: dict[str, list[str]] = {}
    for gid, src in sub.answers.items():
        names, flags = scan_answer(src, answer_ids)
        defines.update({n: gid for n in names})
        answer_flags[gid] = flags

    def new_sandbox() -> Sandbox:
        box = Sandbox(
            setup,
            list(sub.answers.items()),
            neuter=sorted(set(defines) | set(answer_ids)),
            allow_bplib=learner_bplib(assignment),
            start_timeout=start_timeout,
            call_timeout=call_timeout,
        )
        box.start()
        for cell in box.cells:
            if cell.error:
                notes.append(f"the answer cell `{cell.grade_id}` stopped with an error — "
                             f"{error_sentence(cell.error[0], cell.error[1])}")
        missing = [str(m) for m in box.isolation.get("missing", [])] or (
            ["the system-call filter"] if box.lockdown != "full" else []
        )
        if missing and not any(n.startswith("the sandbox ran without") for n in notes):
            notes.append(
                f"the sandbox ran without {'; '.join(missing)} on this platform: "
                "for exams, grade in a container (see the README)"
            )
        return box

    verdicts: list[CellVerdict] = []
    sandbox: Sandbox | None = None
    wanted = set(only) if only is not None else None
    try:
        for gid in test_ids:
            if wanted is not None and gid not in wanted:
                continue
            if gid not in checks:
                verdicts.append(CellVerdict(gid, False, f"no check is registered for `{gid}`"))
                continue
            if sandbox is None or not sandbox.alive:
                if sandbox is not None:
                    sandbox.close()
                    notes.append(f"the notebook's process was restarted before `{gid}`")
                try:
                    sandbox = new_sandbox()
                except SandboxFailure as exc:
                    sandbox = None
                    verdicts.append(CellVerdict(gid, False, f"the answer cells could not run: {exc.detail}"))
                    continue
            sandbox.call_timeout = getattr(checks[gid], "call_timeout", None) or call_timeout
            learner = RemoteLearner(sandbox)
            verdict = _run_check(gid, checks[gid], learner)
            used_cells = {defines[n] for n in learner.used if n in defines}
            for cell in sorted(used_cells):
                for flag in answer_flags.get(cell, []):
                    verdict.flags.append(f"answer cell `{cell}` {flag}")
            if any("reference implementation" in f for f in verdict.flags) and verdict.passed:
                verdict.passed = False
                verdict.explanation = "no credit: the answer uses the course's reference implementation"
            if gid in tampered:
                verdict.passed = False
                verdict.explanation = f"no credit: {tampered[gid]}"
                verdict.flags.append(tampered[gid])
            verdicts.append(verdict)
    finally:
        if sandbox is not None:
            sandbox.close()
    return verdicts, notes


def _run_check(gid: str, check: Any, learner: RemoteLearner) -> CellVerdict:
    with recording() as fired:
        verdict = _verdict_of(gid, check, learner)
    if not verdict.passed:
        verdict.mistakes = [key for key in map(mistake_id, fired) if key]
    return verdict


def _verdict_of(gid: str, check: Any, learner: RemoteLearner) -> CellVerdict:
    try:
        check(learner)
    except LearnerError as exc:
        verdict = CellVerdict(gid, False, str(exc))
        if exc.exc_type == "ReferenceUseError":
            verdict.flags.append("called the course's reference implementation")
        return verdict
    except LearnerCrash as exc:
        return CellVerdict(gid, False, f"the check could not finish: {exc}")
    except AssertionError as exc:
        return CellVerdict(gid, False, str(exc) or "a check failed")
    except Exception as exc:  # a learner's result of the wrong kind makes the check itself trip
        return CellVerdict(gid, False, unusable(exc))
    return CellVerdict(gid, True)


def has_checks(assignment: str) -> bool:
    """True when ``assignment`` is graded by registered checks, in sandboxes."""
    try:
        load_checks(assignment)
    except (ModuleNotFoundError, ValueError):
        return False
    return bool(checks_for(assignment))


def warm_sandboxes(assignment: str) -> None:
    """Before grading ``assignment`` in forked workers: start the sandboxes' fork server, which
    the workers then share (only for an assignment graded in sandboxes)."""
    if has_checks(assignment):
        warm_fork_server()
