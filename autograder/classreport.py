"""What the class got wrong: for each graded part, how many lost it and the named mistakes behind it.

Every lost point the checks explain with a catalogued mistake carries that mistake's stable id
(:func:`autograder.mistakes.catalogue`) into the autograded notebook and from there into each
:class:`~autograder.explain.Part`. This module counts them over a class:

* :func:`summarize` — per part: learners graded, learners who lost it, and the mistakes behind
  the losses with counts and shares (most common first); a loss no catalogued mistake explains
  is counted as "another error"; learners not graded and learners flagged for integrity are
  counted apart and left out of the shares;
* :func:`write_csv_report` — one row per (part, mistake), for spreadsheets;
* :func:`write_html_report` — one self-contained page (charts embedded as PNG), readable offline,
  with learner names only when asked;
* :func:`results_from_workspace` — the results of a class graded earlier (by ``bp-classroom`` or
  plain ``nbgrader autograde``), read from the gradebook without regrading.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .gradebook import Workspace, assignment_notebooks, has_grades, is_autograded, read_grades
from .mistakes import catalogue
from .report import GRADED, NOT_GRADED, LearnerResult, max_points

__all__ = [
    "ClassSummary",
    "PartSummary",
    "results_from_workspace",
    "summarize",
    "write_csv_report",
    "write_html_report",
]

OTHER = "another error (no catalogued mistake named)"
REPORT_COLUMNS = ["assignment", "part", "points", "graded", "lost", "lost_share", "mistake",
                  "description", "count", "share_of_graded"]


@dataclass
class PartSummary:
    """One graded part over a class (``mistakes``: id -> learners, ``OTHER`` for the rest)."""

    grade_id: str
    points: float
    graded: int = 0
    lost: int = 0
    mistakes: Counter[str] = field(default_factory=Counter)
    who: dict[str, list[str]] = field(default_factory=dict)  # id -> learners (for --names)

    def ranked(self) -> list[tuple[str, int]]:
        """(mistake id, learners) most common first; ``OTHER`` last."""
        named = sorted(((k, n) for k, n in self.mistakes.items() if k != OTHER),
                       key=lambda kn: (-kn[1], kn[0]))
        return named + ([(OTHER, self.mistakes[OTHER])] if self.mistakes[OTHER] else [])


@dataclass
class ClassSummary:
    """A class's results for one assignment, counted per part."""

    assignment: str
    parts: list[PartSummary]
    graded: list[str]
    not_graded: dict[str, str]  # learner -> reason
    flagged: dict[str, list[str]]  # learner -> integrity flags


def describe(key: str) -> str:
    """A mistake's one-line description: its name and what it is (``key`` as is if unknown)."""
    if key == OTHER:
        return "lost without a catalogued diagnosis (see each learner's feedback)"
    mistake = catalogue().get(key)
    return f"{mistake.name}: {mistake.message}" if mistake else key


def summarize(assignment: str, results: list[LearnerResult]) -> ClassSummary:
    """Count, per part, the learners who lost it and the mistakes behind the losses."""
    parts: dict[str, PartSummary] = {}
    graded: list[str] = []
    not_graded: dict[str, str] = {}
    flagged: dict[str, list[str]] = {}
    for result in sorted(results, key=lambda r: r.learner):
        if result.status != GRADED:
            not_graded[result.learner] = result.reason or NOT_GRADED
            continue
        if result.flags:
            flagged[result.learner] = result.flags
            continue
        graded.append(result.learner)
        for nb in result.notebooks:
            for part in nb.parts:
                summary = parts.setdefault(part.grade_id, PartSummary(part.grade_id, part.max_score))
                summary.graded += 1
                if not part.lost:
                    continue
                summary.lost += 1
                for key in dict.fromkeys(part.mistakes or (OTHER,)):
                    summary.mistakes[key] += 1
                    summary.who.setdefault(key, []).append(result.learner)
    return ClassSummary(assignment, list(parts.values()), graded, not_graded, flagged)


def _share(count: int, total: int) -> str:
    return f"{count / total:.3f}" if total else ""


def write_csv_report(summary: ClassSummary, path: Path) -> None:
    """One row per (part, mistake); a part nobody lost gets one row with an empty mistake."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REPORT_COLUMNS)
        for part in summary.parts:
            head = [summary.assignment, part.grade_id, f"{part.points:g}", part.graded, part.lost,
                    _share(part.lost, part.graded)]
            ranked = part.ranked()
            if not ranked:
                writer.writerow([*head, "", "", 0, _share(0, part.graded)])
            for key, count in ranked:
                writer.writerow([*head, key, describe(key), count, _share(count, part.graded)])
        for reason, count in Counter(summary.not_graded.values()).most_common():
            writer.writerow([summary.assignment, "(not graded)", "", "", "", "", "", reason, count,
                             ""])
        if summary.flagged:
            writer.writerow([summary.assignment, "(flagged)", "", "", "", "", "",
                             "flagged for integrity, left out of the counts",
                             len(summary.flagged), ""])


def _chart(part: PartSummary) -> str:
    """A horizontal bar chart of the part's mistakes as a base64 PNG (``""`` when none)."""
    ranked = part.ranked()
    if not ranked:
        return ""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    labels = [catalogue()[k].name if k in catalogue() else "another error" for k, _ in ranked]
    counts = [n for _, n in ranked]
    fig = Figure(figsize=(6.5, 0.45 * len(ranked) + 1.1))
    ax = fig.subplots()
    ax.barh(range(len(ranked)), counts, color="#c0504d")
    ax.set_yticks(range(len(ranked)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"learners (of {part.graded} graded)")
    ax.set_title(f"{part.grade_id}: {part.lost} of {part.graded} lost it")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_STYLE = """body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}td.n{text-align:right}section{margin-bottom:2rem}
.names{color:#555;font-size:.9em}"""


def write_html_report(summary: ClassSummary, path: Path, *, names: bool = False) -> None:
    """One self-contained page: per part the losses, a chart and the mistakes, most common first.

    ``names``: list the learners behind each mistake (off by default: the page can be shared)."""
    e = html.escape
    total = len(summary.graded)
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>What the class got "
           f"wrong: {e(summary.assignment)}</title><style>{_STYLE}</style></head><body>",
           f"<h1>What the class got wrong: {e(summary.assignment)}</h1>",
           f"<p>{total} learner{'s' if total != 1 else ''} graded; {len(summary.not_graded)} not "
           f"graded; {len(summary.flagged)} flagged for integrity (both left out of the counts "
           "below).</p>"]
    if not summary.parts:
        out.append("<p>No graded submissions yet: nothing to count.</p>")
    order = sorted(summary.parts, key=lambda p: (-p.lost, p.grade_id))
    if order:
        out.append("<table><tr><th>part</th><th>points</th><th>lost by</th><th>most common "
                   "mistake</th></tr>")
        for part in order:
            top = next((k for k, _ in part.ranked()), "")
            out.append(f"<tr><td><a href='#{e(part.grade_id)}'>{e(part.grade_id)}</a></td>"
                       f"<td class='n'>{part.points:g}</td><td class='n'>{part.lost} of "
                       f"{part.graded}</td><td>{e(describe(top).split(':')[0]) if top else '—'}</td>"
                       "</tr>")
        out.append("</table>")
    for part in order:
        out.append(f"<section id='{e(part.grade_id)}'><h2>{e(part.grade_id)} ({part.points:g} "
                   f"point{'s' if part.points != 1 else ''}): lost by {part.lost} of "
                   f"{part.graded}</h2>")
        png = _chart(part)
        if png:
            out.append(f"<img alt='mistakes behind {e(part.grade_id)}' "
                       f"src='data:image/png;base64,{png}'>")
            out.append("<table><tr><th>mistake</th><th>learners</th><th>share of graded</th></tr>")
            for key, count in part.ranked():
                who = (f"<div class='names'>{e(', '.join(part.who.get(key, [])))}</div>"
                       if names else "")
                out.append(f"<tr><td>{e(describe(key))}{who}</td><td class='n'>{count}</td>"
                           f"<td class='n'>{count / part.graded:.0%}</td></tr>")
            out.append("</table>")
        else:
            out.append("<p>Nobody lost this part.</p>")
        out.append("</section>")
    if summary.not_graded:
        out.append("<h2>Not graded</h2><ul>")
        for learner, reason in summary.not_graded.items():
            out.append(f"<li>{e(learner) + ': ' if names else ''}{e(reason)}</li>")
        out.append("</ul>")
    out.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def results_from_workspace(ws: Workspace, assignment: str) -> list[LearnerResult]:
    """The results of every learner with a submission of ``assignment`` in ``ws``'s gradebook,
    without regrading (a learner whose autograded copy is missing counts as not graded)."""
    from nbgrader.api import Gradebook, MissingEntry

    assignment_notebooks(ws.source, assignment)  # an unknown assignment is a clear error here
    total = max_points(ws.source, assignment)
    with Gradebook(ws.url) as gb:
        try:
            learners = sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
        except MissingEntry:
            learners = []
    results = []
    for learner in learners:
        if is_autograded(ws, assignment, learner) and has_grades(ws, assignment, learner):
            results.append(LearnerResult(learner, assignment, GRADED, total, "",
                                         read_grades(ws, assignment, learner)))
        else:
            results.append(LearnerResult(learner, assignment, NOT_GRADED, total,
                                         "submitted but not autograded"))
    return results
