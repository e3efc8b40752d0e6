"""Normal form of a source notebook, so that regenerating the course makes no diff.

* no outputs, no execution counts;
* cell ids derived from the cell: its nbgrader ``grade_id`` when it has one, else its type and a
  hash of its source (``markdown-1a2b3c4d``), made unique by a suffix;
* cell metadata kept: ``nbgrader`` (rewritten as valid schema 3) and ``tags``; notebook metadata
  kept: ``kernelspec`` (Python 3) and ``language_info.name``;
* nbformat 4.5.

Also here: the lines of a source notebook that must never reach the release.
"""

from __future__ import annotations

import copy
import hashlib
import re

from nbformat import NotebookNode, from_dict

from .settings import grading

__all__ = [
    "fill_answers",
    "normalize_notebook",
    "reference_answers",
    "restore_metadata",
    "secret_lines",
]

_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_FLAGS = ("grade", "solution", "locked", "task")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Released lines come from the source's public lines, nbgrader's stub, or other files copied from
# the assignment folder; lines this short could match in those by chance and prove nothing.
_MIN_SECRET_LEN = 8
_TEXT_STUB = "YOUR ANSWER HERE"  # nbgrader's stub of a written answer


def _nbgrader_meta(meta: dict, cell_type: str, where: str) -> dict | None:
    flags = {k: bool(meta.get(k, False)) for k in _FLAGS}
    if not any(flags.values()):
        return None
    gid = meta.get("grade_id")
    if not isinstance(gid, str) or not _GRADE_ID.match(gid):
        raise ValueError(f"{where}: grade_id must be letters, digits, _ or -, got {gid!r}")
    if flags["grade"] and not flags["solution"]:
        flags["locked"] = True  # nbgrader locks it anyway; say so in the metadata
    out: dict = {k: flags[k] for k in ("grade", "solution", "locked")}
    out.update(grade_id=gid, schema_version=3)
    if flags["task"]:
        out["task"] = True
    if flags["grade"] or flags["task"]:
        points = meta.get("points")
        if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
            raise ValueError(f"{where} ({gid}): points must be a number >= 0, got {points!r}")
        out["points"] = points
    if cell_type == "markdown" and flags["grade"] and not flags["solution"] and not flags["task"]:
        raise ValueError(f"{where} ({gid}): a graded markdown cell must also be a solution cell")
    return out


def _cell_id(cell: NotebookNode, gid: str | None, taken: set[str]) -> str:
    if gid and len(gid) <= 64 and gid not in taken:
        return gid
    digest = hashlib.sha256(cell.source.encode("utf-8")).hexdigest()[:8]
    base = f"{cell.cell_type}-{digest}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def normalize_notebook(nb: NotebookNode) -> NotebookNode:
    """A normalized copy of ``nb`` (the input is not changed).

    Raises ValueError on invalid nbgrader metadata (bad or duplicate ``grade_id``, missing
    ``points``), naming the cell.
    """
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    taken: set[str] = set()
    grade_ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"cell {index} ({cell.cell_type})"
        old_meta = cell.get("metadata", {})
        meta: dict = {}
        nbg = _nbgrader_meta(dict(old_meta.get("nbgrader", {})), cell.cell_type, where)
        if nbg:
            if nbg["grade_id"] in grade_ids:
                raise ValueError(f"{where}: grade_id {nbg['grade_id']!r} is used twice")
            grade_ids.add(nbg["grade_id"])
            meta["nbgrader"] = nbg
        if old_meta.get("tags"):
            meta["tags"] = list(old_meta["tags"])
        cell.metadata = from_dict(meta)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.id = _cell_id(cell, nbg["grade_id"] if nbg else None, taken)
        taken.add(cell.id)
    return nb


def _regions(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """(lines inside begin/end regions, lines outside), markers dropped."""
    inside, outside, depth = [], [], False
    for line in source.splitlines():
        if begin in line:
            depth = True
        elif end in line:
            depth = False
        else:
            (inside if depth else outside).append(line)
    return inside, outside


def secret_lines(nb: NotebookNode) -> set[str]:
    """Stripped lines of solution and hidden-test regions that occur nowhere else in ``nb``.

    Very short lines and nbgrader's stub lines are left out: they prove nothing.
    """
    secret, public = set(), set()
    marks = grading()
    stub_lines = {*marks.stub_lines, _TEXT_STUB}
    for cell in nb.cells:
        rest = cell.source
        for begin, end in (
            (marks.begin_solution, marks.end_solution),
            (marks.begin_hidden_tests, marks.end_hidden_tests),
        ):
            inside, outside = _regions(rest, begin, end)
            secret.update(line.strip() for line in inside)
            rest = "\n".join(outside)
        public.update(line.strip() for line in rest.splitlines())
    return {line for line in secret - public - stub_lines if len(line) >= _MIN_SECRET_LEN}


def reference_answers(nb: NotebookNode) -> dict[str, str]:
    """grade_id -> the reference code of each answer cell (solution markers removed)."""
    answers = {}
    marks = grading()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            lines = [
                line
                for line in cell.source.splitlines()
                if marks.begin_solution not in line and marks.end_solution not in line
            ]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def fill_answers(released: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A copy of a released notebook with the answer cells named in ``answers`` filled in.

    ``fill_answers(release, reference_answers(source))`` is the reference solution as a learner
    would hand it in. Raises ValueError for a name that is not an answer cell of ``released``.
    """
    nb = copy.deepcopy(released)
    found = set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type == "code" and meta.get("solution") and gid in answers:
            cell.source = answers[gid]
            found.add(gid)
    missing = sorted(set(answers) - found)
    if missing:
        raise ValueError(f"no answer cell named {', '.join(missing)} in the released notebook")
    return nb


def _defines(source: str, name: str) -> bool:
    return re.search(rf"^(def|class)\s+{re.escape(name)}\b", source, re.MULTILINE) is not None


def restore_metadata(nb: NotebookNode, released: NotebookNode) -> int:
    """Give back the nbgrader metadata a submission lost (an editor that strips it, a copied cell).

    A cell without nbgrader metadata gets that of the released cell with the same id, or, for an
    answer cell, of the one whose function or class it defines, when no other cell already has
    that grade_id. The cells' sources are not touched, so an edited test cell stays edited.
    Returns how many cells were restored and records that in the notebook's metadata
    (``backprop_course.intake``) for the grade report.
    """
    meta_of = lambda c: c.get("metadata", {}).get("nbgrader")  # noqa: E731
    present = {meta_of(c).get("grade_id") for c in nb.cells if meta_of(c)}
    graded = [c for c in released.cells if meta_of(c) and meta_of(c).get("grade_id")]
    by_id = {c.get("id"): c for c in graded}
    restored = 0
    for cell in nb.cells:
        if meta_of(cell):
            continue
        match = by_id.get(cell.get("id"))
        if match is None and cell.cell_type == "code":
            match = next(
                (
                    c
                    for c in graded
                    if meta_of(c).get("solution") and _defines(str(cell.source), meta_of(c)["grade_id"])
                ),
                None,
            )
        if match is None or match.cell_type != cell.cell_type:
            continue
        gid = meta_of(match)["grade_id"]
        if gid in present:
            continue
        cell.setdefault("metadata", {})["nbgrader"] = copy.deepcopy(meta_of(match))
        present.add(gid)
        restored += 1
    if restored:
        notes = nb.metadata.setdefault("backprop_course", {}).setdefault("intake", [])
        notes.append(f"nbgrader metadata was missing from {restored} cell(s) and was restored from the release")
    return restored
