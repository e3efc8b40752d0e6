"""Make a submission's nbgrader cells consistent with the source notebook, before nbgrader sees it.

nbgrader's ``OverwriteCells`` (and the metadata checks around it) fail the *whole* notebook when a
submission's nbgrader cells do not match the gradebook: two cells with one ``grade_id``, a
``grade_id`` the assignment does not have, flags flipped by the create-assignment toolbar, a cell
turned into Markdown. :func:`reconcile_cells` repairs all of that first, so the rest of the
notebook is graded normally:

* every graded cell of the source (test, answer, locked set-up cell) ends up exactly once, with
  the source's cell type, flags and points;
* any other cell claiming a ``grade_id`` loses its nbgrader metadata (it is graded as a plain cell);
* a test cell that was edited, duplicated, re-pointed to another ``grade_id``, renamed, flag-flipped
  or deleted stays recognisable as tampered: its ``grade_id`` is listed in
  :attr:`Reconciliation.tampered` (the verdict gives it no credit and flags it);
* an answer cell whose flags or ``grade_id`` were changed gets the source's back and is graded as
  usual (an editor accident costs nothing); of several copies of one answer cell the one graded is
  the last filled-in copy that defines what the source's answer cell defines (what the notebook
  ends with when run top to bottom).

What was done is recorded in the notebook metadata ``backprop_course``: ``intake`` (notes for the
report) and ``tampered_tests`` (``grade_id`` -> reason), so that a reconciled file still carries
the evidence of what the learner did.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode, from_dict

from .settings import grading

__all__ = ["Reconciliation", "reconcile_cells", "recorded_tampering"]

_FLAGS = ("grade", "solution", "locked", "task")
_DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


@dataclass
class Reconciliation:
    """What :func:`reconcile_cells` found and did.

    tampered: test ``grade_id`` -> why that test earns nothing (edited, duplicated, re-pointed, …).
    notes: other changes, for the grade report (answer-cell accidents, stray ``grade_id``\\ s).
    """

    tampered: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _nbgrader(cell: Mapping[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _normal(source: Any) -> str:
    return "\n".join(line.rstrip() for line in _text(source).strip().splitlines())


def _without(source: str, begin: str, end: str, replacement: list[str] | None = None) -> str:
    """``source`` with its begin/end regions removed (or replaced, indented like the marker)."""
    kept, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            kept += [indent + r for r in replacement or []]
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _kind(cell: Mapping[str, Any]) -> str:
    meta = _nbgrader(cell)
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return "test"
    if cell.get("cell_type") == "code" and meta.get("solution") and not meta.get("grade"):
        return "answer"
    return "other"


def _flags_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: bool(meta.get(k, False)) for k in _FLAGS}
    out["points"] = meta.get("points") if meta.get("grade") or meta.get("task") else None
    return out


@dataclass
class _Source:
    """One graded cell of the source notebook."""

    gid: str
    cell: NotebookNode
    kind: str
    released: str  # normalized source as released (hidden tests and solutions removed)
    names: set[str]  # what an answer cell defines


def _source_cells(source_nb: NotebookNode) -> dict[str, _Source]:
    cells: dict[str, _Source] = {}
    marks = grading()
    for cell in source_nb.cells:
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if not isinstance(gid, str) or not any(meta.get(k) for k in _FLAGS) or gid in cells:
            continue
        text = _without(_text(cell.source), marks.begin_hidden_tests, marks.end_hidden_tests)
        text = _without(text, marks.begin_solution, marks.end_solution, marks.stub_lines)
        kind = _kind(cell)
        names = set(_DEFINES.findall(_text(cell.source))) if kind == "answer" else set()
        cells[gid] = _Source(gid, cell, kind, _normal(text), names)
    return cells


def _home(cell: NotebookNode, claimed: str | None, src: dict[str, _Source]) -> str | None:
    """The source cell this submitted cell comes from, when that can be told; else None.

    By cell id (released cells keep theirs), else for a code cell by its released test source
    (when exactly one test has it), else by the names an answer cell of the source defines.
    """
    by_id = [s.gid for s in src.values() if s.cell.get("id") and s.cell.get("id") == cell.get("id")]
    if len(by_id) == 1:
        return by_id[0]
    if cell.get("cell_type") != "code":
        return None
    text = _normal(cell.get("source", ""))
    if claimed in src and src[claimed].kind == "test" and src[claimed].released == text:
        return claimed
    same = [s.gid for s in src.values() if s.kind == "test" and s.released == text and text]
    if len(same) == 1:
        return same[0]
    defined = set(_DEFINES.findall(_text(cell.get("source", ""))))
    if claimed in src and src[claimed].kind == "answer" and src[claimed].names <= defined:
        return claimed
    answers = [s.gid for s in src.values() if s.kind == "answer" and s.names and s.names <= defined]
    return answers[0] if len(answers) == 1 else None


def _answer_rank(cell: NotebookNode, s: _Source) -> tuple[bool, bool, bool]:
    text = _normal(cell.get("source", ""))
    defines = s.names <= set(_DEFINES.findall(_text(cell.get("source", ""))))
    return (cell.get("cell_type") == s.cell.cell_type, defines, text != s.released)


def _pick(indices: list[int], cells: list[NotebookNode], s: _Source) -> int:
    """Which of several cells claiming ``s`` keeps its place."""
    if s.kind == "answer":
        best = max(_answer_rank(cells[i], s) for i in indices)
        return [i for i in indices if _answer_rank(cells[i], s) == best][-1]
    ranked = sorted(
        indices,
        key=lambda i: (
            cells[i].cell_type != s.cell.cell_type,
            _normal(cells[i].get("source", "")) != s.released,
            i,
        ),
    )
    return ranked[0]


def _set_type(cell: NotebookNode, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.pop("attachments", None)
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _flag_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    changed = [f"{k}: {old[k]} → {new[k]}" for k in ("grade", "solution", "locked", "task", "points") if old[k] != new[k]]
    return ", ".join(changed)


def _released_cell(s: _Source, taken: set[str]) -> NotebookNode:
    cell_id = s.cell.get("id") or s.gid
    n = 1
    while cell_id in taken:
        n += 1
        cell_id = f"{s.gid}-restored-{n}"
    cell = from_dict(
        {
            "cell_type": s.cell.cell_type,
            "id": cell_id,
            "metadata": {"nbgrader": copy.deepcopy(dict(_nbgrader(s.cell)))},
            "source": s.released,
        }
    )
    if s.cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def recorded_tampering(nb: Mapping[str, Any]) -> dict[str, str]:
    """``grade_id`` -> reason recorded in ``nb``'s metadata by an earlier :func:`reconcile_cells`."""
    found = nb.get("metadata", {}).get("backprop_course", {}).get("tampered_tests", {})
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def reconcile_cells(nb: NotebookNode, source_nb: NotebookNode) -> Reconciliation:
    """Make ``nb``'s nbgrader cells consistent with ``source_nb`` (in place); say what was done.

    Also records the result in ``nb.metadata.backprop_course`` (``intake`` notes and
    ``tampered_tests``), merged with what an earlier run recorded. Running it again on its own
    output changes nothing.
    """
    src = _source_cells(source_nb)
    cells = list(nb.cells)
    result = Reconciliation()
    tampered, notes = result.tampered, result.notes

    claimed: dict[int, str] = {}  # cell index -> the grade_id it claims (any, known or not)
    home: dict[int, str | None] = {}
    for i, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid:
            claimed[i] = gid
            home[i] = _home(cell, gid, src)
        else:
            if isinstance(meta, dict) and any(meta.get(k) for k in _FLAGS):
                notes.append(
                    f"cell {i + 1} had nbgrader flags but no grade_id; it was graded as a plain cell"
                )
            del cell.metadata["nbgrader"]

    keeper: dict[str, int] = {}
    reported: set[int] = set()  # extra copies already named in a note
    for s in src.values():
        own = [i for i, g in claimed.items() if g == s.gid and home[i] in (s.gid, None)]
        if own:
            keeper[s.gid] = _pick(own, cells, s)
            extra = [i for i in own if i != keeper[s.gid]]
            if extra and s.kind == "test":
                same = all(_normal(cells[i].get("source", "")) == _normal(cells[keeper[s.gid]].get("source", "")) for i in extra)
                tampered[s.gid] = (
                    f"the test cell was duplicated ({len(own)} cells claim `{s.gid}`)"
                    if same
                    else f"the test cell was duplicated: {len(own)} cells claim `{s.gid}`, "
                    "with different sources"
                )
            elif extra:
                reported.update(extra)
                what = "answer cell" if s.kind == "answer" else "cell"
                chosen = "the released one"
                if s.kind == "answer":
                    names = ", ".join(f"`{n}`" for n in sorted(s.names))
                    chosen = f"the last filled-in copy that defines {names}" if names else "the last filled-in copy"
                notes.append(
                    f"{len(own)} cells claim the {what} `{s.gid}`: graded {chosen} "
                    f"(cell {keeper[s.gid] + 1}), the others as plain cells"
                )
            continue
        moved = [i for i, g in claimed.items() if home[i] == s.gid and g != s.gid]
        if moved:  # its own cell now claims another grade_id (re-pointed or renamed)
            i = _pick(moved, cells, s)
            keeper[s.gid] = i
            new = claimed[i]
            how = "re-pointed" if new in src else "renamed"
            target = f"`{new}`" if new in src else f"`{new}`, which the assignment does not have"
            if s.kind == "test":
                tampered[s.gid] = f"the test cell was {how}: its grade_id was changed to {target}"
            else:
                notes.append(
                    f"the {'answer cell' if s.kind == 'answer' else 'cell'} `{s.gid}` was {how} "
                    f"(grade_id changed to {target}); its grade_id was put back"
                )

    kept = {i: gid for gid, i in keeper.items()}
    for i, gid in sorted(claimed.items()):
        if i in kept:
            continue
        cell = cells[i]
        if gid in src and src[gid].kind == "test":
            tampered.setdefault(gid, f"another cell claims the test's grade_id `{gid}`")
        elif gid in src and i not in reported:
            notes.append(
                f"cell {i + 1} ({cell.cell_type}) also claimed the grade_id `{gid}`; "
                "it was graded as a plain cell"
            )
        elif gid not in src:
            notes.append(
                f"cell {i + 1} ({cell.cell_type}) claimed the grade_id `{gid}`, which the "
                "assignment does not have; it was graded as a plain cell"
            )
        del cell.metadata["nbgrader"]

    for gid, i in keeper.items():
        s, cell = src[gid], cells[i]
        meta = cell.metadata["nbgrader"]
        if cell.cell_type != s.cell.cell_type:
            if s.kind == "test":
                tampered.setdefault(gid, f"the test cell was turned into a {cell.cell_type} cell")
            else:
                notes.append(
                    f"the cell `{gid}` had been turned into a {cell.cell_type} cell; it was "
                    f"turned back into a {s.cell.cell_type} cell"
                )
            _set_type(cell, s.cell.cell_type)
        want, have = _flags_of(_nbgrader(s.cell)), _flags_of(meta)
        if want != have or meta.get("grade_id") != gid:
            change = _flag_change(want, have)  # from the source's to the learner's
            if s.kind == "test" and change:
                tampered.setdefault(gid, f"the test cell's nbgrader metadata was changed ({change})")
            elif change:
                notes.append(
                    f"the nbgrader flags of the {'answer cell' if s.kind == 'answer' else 'cell'} "
                    f"`{gid}` were changed ({change}) and were put back"
                )
            extra = {k: meta[k] for k in ("checksum", "cell_type") if k in meta}
            cell.metadata["nbgrader"] = from_dict({**copy.deepcopy(dict(_nbgrader(s.cell))), **extra})
        if s.kind == "test" and _normal(cell.get("source", "")) != s.released:
            tampered.setdefault(gid, "the test cell was edited")

    missing = [gid for gid, s in src.items() if gid not in keeper and s.kind == "test"]
    if missing:
        order = list(src)
        taken = {str(c.get("id")) for c in cells}
        for gid in missing:
            tampered.setdefault(gid, "the test cell was deleted (or its nbgrader metadata removed)")
            before = [keeper[g] for g in order[: order.index(gid)] if g in keeper]
            at = max(before) + 1 if before else 0
            new = _released_cell(src[gid], taken)
            taken.add(str(new.id))
            cells.insert(at, new)
            keeper = {g: (j + 1 if j >= at else j) for g, j in keeper.items()}
            keeper[gid] = at
    nb.cells = cells

    _record(nb, result, src)
    return result


def _record(nb: NotebookNode, result: Reconciliation, src: dict[str, _Source]) -> None:
    if not result.tampered and not result.notes:
        return
    course = nb.metadata.setdefault("backprop_course", {})
    recorded = recorded_tampering(nb)
    for gid, reason in result.tampered.items():
        recorded.setdefault(gid, reason)
    order = [gid for gid in src if gid in recorded] + sorted(set(recorded) - set(src))
    course["tampered_tests"] = {gid: recorded[gid] for gid in order}
    intake = course.setdefault("intake", [])
    if not isinstance(intake, list):
        intake = course["intake"] = []
    for note in result.notes:
        if note not in intake:
            intake.append(note)
