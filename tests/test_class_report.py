"""Does the class report count what the class got wrong, exactly?

A class of 30 submissions of notebook 05 is built with known mistakes in known proportions (from
the mutant corpus), graded through ``bp-classroom``'s machinery, and the report must give back
exactly those counts, per part and per catalogued mistake; rebuilt from the gradebook alone it
must say the same. Empty and broken classes get a clear report, not a crash.
"""

from __future__ import annotations

import csv
import re
from collections import Counter

import nbformat
import pytest
from mutants import discover
from submissions import BACKWARD, FORWARD, LINEAR, reference_submission

from autograder.classreport import (
    OTHER,
    results_from_workspace,
    summarize,
    write_csv_report,
    write_html_report,
)
from autograder.classroom import ClassOptions, grade_class, main
from autograder.gradebook import Workspace
from autograder.mistakes import catalogue
from autograder.report import LearnerResult
from autograder.settings import COURSE

CORPUS = next(c for c in discover() if c.assignment == LINEAR)
# (mutant name in the corpus, learners who make it, its own part, the id the grade must name)
MADE = [
    ("db not summed over the batch", 7, "test_affine_backward_db",
     "layers.affine_backward_db.not-summed"),
    ("forgets the bias", 5, "test_affine_forward_values", "layers.affine_forward.no-bias"),
    ("dw transposed", 4, "test_affine_backward_dw", "layers.affine_backward_dw.transposed"),
]
HONEST, UNTOUCHED = 10, 2
PARTS = FORWARD + BACKWARD


def _mutant(name: str):
    return next(m for m in CORPUS.mutants if m.name == name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(workspace, results) of a class of 30: honest, mistaken, untouched, corrupt, flagged."""
    tmp = tmp_path_factory.mktemp("class-report")
    folder = tmp / "submissions"
    learners: dict[str, nbformat.NotebookNode | bytes] = {}
    for i in range(HONEST):
        learners[f"honest-{i:02d}"] = reference_submission(LINEAR)
    for name, count, _, _ in MADE:
        mutant = _mutant(name)
        slug = re.sub(r"\W+", "-", name)
        for i in range(count):
            learners[f"{slug}-{i:02d}"] = reference_submission(
                LINEAR, {mutant.cell: mutant.source})
    for i in range(UNTOUCHED):
        learners[f"untouched-{i:02d}"] = nbformat.read(COURSE / LINEAR / f"{LINEAR}.ipynb",
                                                         as_version=4)
    learners["corrupt"] = b"{ not a notebook"
    learners["copies-bplib"] = reference_submission(LINEAR, {
        "affine_forward": "from bplib.layers import affine_forward\n"})
    assert len(learners) == 30
    for learner, nb in learners.items():
        (folder / learner).mkdir(parents=True)
        path = folder / learner / f"{LINEAR}.ipynb"
        if isinstance(nb, bytes):
            path.write_bytes(nb)
        else:
            nbformat.write(nb, path)
    ws = Workspace(tmp / "grading")
    results = grade_class(ws, LINEAR, folder, ClassOptions(workers=2, feedback=False,
                                                            progress=False), log=lambda m: None)
    return ws, folder, results


def _expected() -> dict[str, Counter]:
    """part -> Counter of mistake ids (OTHER for a loss without one), from what was put in."""
    want: dict[str, Counter] = {p: Counter() for p in PARTS}
    for name, count, _, key in MADE:
        for part in _mutant(name).loses:
            want[part][key] += count
    for part in PARTS:
        want[part][OTHER] += UNTOUCHED  # "not implemented yet" names no mistake
    return want


def test_does_the_report_count_each_mistake_as_many_times_as_the_class_made_it(graded):
    _, _, results = graded
    summary = summarize(LINEAR, results)
    assert sorted(summary.not_graded) == ["corrupt"]
    assert list(summary.flagged) == ["copies-bplib"]
    assert len(summary.graded) == 28
    parts = {p.grade_id: p for p in summary.parts}
    assert set(parts) == set(PARTS)
    want = _expected()
    for part in PARTS:
        assert parts[part].graded == 28
        named = parts[part].mistakes
        # on its own part each mistake is named exactly as often as it was made; a mutant that
        # also loses a neighbouring part (the N-d case) may be named there in that part's words
        for _, count, own, key in MADE:
            if part == own:
                assert named[key] == count, (part, named)
        assert parts[part].lost == sum(want[part].values()), (part, named, want[part])
        assert named[OTHER] >= UNTOUCHED


def test_is_the_most_common_mistake_first_and_a_loss_without_a_diagnosis_last(graded):
    _, _, results = graded
    part = next(p for p in summarize(LINEAR, results).parts if p.grade_id == "test_affine_backward_db")
    assert part.ranked() == [("layers.affine_backward_db.not-summed", 7), (OTHER, 2)]


def test_does_the_report_rebuilt_from_the_gradebook_say_the_same(graded):
    ws, _, results = graded
    again = results_from_workspace(ws, LINEAR)
    fresh = {p.grade_id: (p.graded, p.lost, dict(p.mistakes)) for p in summarize(LINEAR, again).parts}
    first = {p.grade_id: (p.graded, p.lost, dict(p.mistakes)) for p in summarize(LINEAR, results).parts}
    assert fresh == first


def test_does_bp_classroom_report_write_csv_and_html_without_names(graded, tmp_path, capsys):
    ws, _, _ = graded
    assert main(["report", LINEAR, "-w", str(ws.root)]) == 0
    page = (ws.root / f"class-report-{LINEAR}.html").read_text()
    rows = list(csv.DictReader((ws.root / f"class-report-{LINEAR}.csv").open()))
    db = [r for r in rows if r["part"] == "test_affine_backward_db"]
    assert [(r["mistake"], r["count"], r["share_of_graded"]) for r in db] == [
        ("layers.affine_backward_db.not-summed", "7", "0.250"), (OTHER, "2", "0.071")]
    assert db[0]["description"].startswith(catalogue()[db[0]["mistake"]].name)
    assert len(re.findall(r"<img [^>]*src='data:image/png;base64,", page)) == len(PARTS)
    assert "honest-00" not in page and "db-not-summed" not in page  # no names unless asked
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")  # offline
    assert main(["report", LINEAR, "-w", str(ws.root), "--names"]) == 0
    assert "db-not-summed-over-the-batch-00" in (ws.root / f"class-report-{LINEAR}.html").read_text()


def test_is_an_empty_or_broken_class_a_clear_report(tmp_path):
    empty = summarize(LINEAR, [])
    write_html_report(empty, tmp_path / "empty.html")
    write_csv_report(empty, tmp_path / "empty.csv")
    assert "No graded submissions yet" in (tmp_path / "empty.html").read_text()
    assert (tmp_path / "empty.csv").read_text().count("\n") == 1  # the header only
    broken = [LearnerResult(f"l{i}", LINEAR, "not graded", 12.0, "not a valid notebook")
              for i in range(3)]
    summary = summarize(LINEAR, broken)
    write_csv_report(summary, tmp_path / "broken.csv")
    write_html_report(summary, tmp_path / "broken.html")
    rows = list(csv.DictReader((tmp_path / "broken.csv").open()))
    assert [(r["part"], r["description"], r["count"]) for r in rows] == [
        ("(not graded)", "not a valid notebook", "3")]
    assert "3 not graded" in (tmp_path / "broken.html").read_text()


def test_is_a_loss_without_a_diagnosis_never_counted_as_a_named_mistake():
    """Negative control: a lost part that names no mistake counts only as OTHER."""
    from autograder.explain import Part
    from autograder.gradebook import GradedNotebook

    nb = GradedNotebook(LINEAR, [Part("test_affine_backward_db", 0.0, 1.0, "wrong"),
                                 Part("test_affine_backward_dx", 2.0, 2.0)])
    summary = summarize(LINEAR, [LearnerResult("a", LINEAR, "graded", 3.0, "", [nb])])
    parts = {p.grade_id: p for p in summary.parts}
    assert parts["test_affine_backward_db"].mistakes == Counter({OTHER: 1})
    assert parts["test_affine_backward_dx"].lost == 0 and not parts["test_affine_backward_dx"].mistakes
