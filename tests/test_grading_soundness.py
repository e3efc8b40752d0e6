"""Is the grade right? Every course notebook, graded through real ``nbgrader autograde``.

For each assignment of ``solutions/`` one class is graded, in one process, by the classroom
machinery: the reference solution, the untouched release, and one learner per sampled entry of
the assignment's mutant corpus (``tests/mutants/nbXX_*.py``, see ``tests/mutants/__init__.py``;
the sample is below, every entry is graded without nbgrader by ``test_grading_equivalence.py``).
Notebooks and corpus modules are found automatically, so a new notebook is covered by adding it
and its corpus module.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest
from execute import execute, outputs_text
from mutants import Alternative, Corpus, Mutant, discover
from needs import have_modules

from autograder.classroom import ClassOptions, grade_class
from autograder.explain import is_answer_cell, is_test_cell
from autograder.gradebook import Workspace
from autograder.normalize import fill_answers, reference_answers
from autograder.release import assignments
from autograder.report import GRADED, LearnerResult, format_table
from autograder.settings import COURSE, SOLUTIONS

ASSIGNMENTS = assignments(SOLUTIONS)
SOURCE_NOTEBOOKS = sorted(SOLUTIONS.glob("*/*.ipynb"))
CORPORA = discover()
# Every corpus entry is graded the sandbox way, verdict by verdict, in
# tests/test_grading_equivalence.py (fast, no nbgrader). Through real nbgrader here: a sample,
# the first mutant of each answer cell and the first alternative of each notebook, and all of
# the capstone's (which the fast test leaves out); BP_SOUNDNESS_FULL=1 grades every entry.
FULL = os.environ.get("BP_SOUNDNESS_FULL") == "1"


def _sampled(corpus: Corpus, index: int, entries: list) -> bool:
    if FULL or corpus.assignment == "16-capstone":
        return True
    cell = entries[index].cell
    return next(i for i, e in enumerate(entries) if e.cell == cell) == index


MUTANTS = [(c, i, m) for c in CORPORA for i, m in enumerate(c.mutants)
           if _sampled(c, i, c.mutants)]
ALTERNATIVES = [(c, i, a) for c in CORPORA for i, a in enumerate(c.alternatives) if i == 0 or FULL
                or c.assignment == "16-capstone"]
# Kernels wait on each other's I/O: one worker more than cores grades a class fastest.
WORKERS = int(os.environ.get("BP_GRADING_WORKERS", (os.cpu_count() or 1) + 1))


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _ids(nb: nbformat.NotebookNode, test: object) -> list[str]:
    return [c.metadata.nbgrader.grade_id for c in nb.cells if test(c)]


def _learner(kind: str, corpus: Corpus | None = None, index: int = 0) -> str:
    return f"{kind}-{corpus.module}-{index:02d}" if corpus else kind


def _submissions(assignment: str) -> dict[str, dict[str, nbformat.NotebookNode]]:
    """learner -> {notebook name: notebook}: reference, untouched, one per mutant/alternative."""
    notebooks = sorted((SOLUTIONS / assignment).glob("*.ipynb"))
    released = {p.stem: _read(COURSE / assignment / p.name) for p in notebooks}
    answers = {p.stem: reference_answers(_read(p)) for p in notebooks}
    entries: dict[str, dict[str, nbformat.NotebookNode]] = {
        "reference": {n: fill_answers(released[n], answers[n]) for n in released},
        "untouched": dict(released),
    }
    for corpus in CORPORA:
        if corpus.assignment != assignment:
            continue
        for kind, items in (("mutant", corpus.mutants), ("alternative", corpus.alternatives)):
            for i, entry in enumerate(items):
                nbs = dict(entries["reference"])
                mine = {**answers[corpus.notebook], entry.cell: entry.source}
                nbs[corpus.notebook] = fill_answers(released[corpus.notebook], mine)
                entries[_learner(kind, corpus, i)] = nbs
    return entries


@cache
def _graded(assignment: str, tmp: Path, wanted: frozenset[str] | None) -> dict[str, LearnerResult]:
    """Grade the class of ``assignment`` once (only the ``wanted`` learners, if given)."""
    folder = tmp / assignment / "submissions"
    for learner, nbs in _submissions(assignment).items():
        if wanted is not None and learner not in wanted:
            continue
        (folder / learner).mkdir(parents=True)
        for name, nb in nbs.items():
            nbformat.write(nb, folder / learner / f"{name}.ipynb")
    ws = Workspace(tmp / assignment / "grading", source=SOLUTIONS)
    # Feedback HTML is tested in test_classroom.py; here it would only cost time.
    options = ClassOptions(workers=WORKERS, feedback=False, progress=False)
    results = grade_class(ws, assignment, folder, options, log=lambda msg: None)
    return {r.learner: r for r in results}


def _learner_of(item: pytest.Item) -> tuple[str, str] | None:
    """(assignment, learner) a selected test of this module needs graded, if any."""
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    if "corpus" in params and "index" in params:
        kind = "mutant" if "mutant" in params else "alternative"
        return params["corpus"].assignment, _learner(kind, params["corpus"], params["index"])
    if "assignment" in params:
        name = getattr(item, "originalname", "")
        return params["assignment"], "reference" if "reference" in name else "untouched"
    return None


@pytest.fixture(scope="module")
def class_of(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """``class_of(assignment)`` -> {learner: result}, grading each assignment at most once.

    Only learners that selected tests look at are graded, so ``-k`` on one mutant is quick.
    """
    tmp = tmp_path_factory.mktemp("soundness")
    wanted: dict[str, set[str]] = {}
    for item in request.session.items:
        if item.module is request.module and (found := _learner_of(item)):
            wanted.setdefault(found[0], set()).add(found[1])
    return lambda assignment: _graded(assignment, tmp, frozenset(wanted.get(assignment, ())))


def _parts(result: LearnerResult) -> dict[str, tuple[float | None, float, str]]:
    assert result.status == GRADED, f"{result.learner} not graded: {result.reason}"
    return {p.grade_id: (p.score, p.max_score, p.explanation) for nb in result.notebooks
            for p in nb.parts}


# --- the course notebooks themselves ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=lambda p: p.stem)
def test_does_every_solution_notebook_run_top_to_bottom_with_every_test_passing(path, tmp_path):
    nb = execute(path, tmp_path)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{cell.get('id')}: {out.ename}: {out.evalue}"
            if is_test_cell(cell):  # nbgrader scores a test that writes to stderr as failed
                assert not (out.output_type == "stream" and out.name == "stderr"), (
                    f"{cell.id} wrote to stderr: {out.text[:300]}"
                )
    if have_modules("torch", "keras"):  # the optional framework comparisons ran, not skipped
        assert " is skipped" not in outputs_text(nb), "a framework comparison was skipped"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_does_the_reference_solution_get_full_marks(assignment, class_of):
    result = class_of(assignment)["reference"]
    parts = _parts(result)
    assert parts, "no graded parts"
    assert all(score == top for score, top, _ in parts.values()), format_table(result)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_does_the_untouched_release_score_zero_everywhere(assignment, class_of):
    result = class_of(assignment)["untouched"]
    parts = _parts(result)
    assert all(score == 0 for score, _, _ in parts.values()), format_table(result)
    assert all(why for _, _, why in parts.values()), format_table(result)


@pytest.mark.slow
@pytest.mark.parametrize(("corpus", "index", "mutant"), MUTANTS,
                         ids=[f"{c.module}:{m.cell}:{m.name}" for c, _, m in MUTANTS])
def test_does_a_mutant_lose_its_functions_points_and_no_others(corpus, index, mutant, class_of):
    result = class_of(corpus.assignment)[_learner("mutant", corpus, index)]
    parts = _parts(result)
    table = format_table(result)
    for gid, (score, top, _) in parts.items():
        expected = 0 if gid in mutant.loses else top
        assert score == expected, f"{gid}: {score} / {top}, expected {expected}\n{table}"
    if mutant.explains:
        lost = " | ".join(parts[g][2] for g in mutant.loses)
        assert mutant.explains.lower() in lost.lower(), (
            f"no lost part explains {mutant.explains!r}\n{table}"
        )


@pytest.mark.slow
@pytest.mark.parametrize(("corpus", "index", "alternative"), ALTERNATIVES,
                         ids=[f"{c.module}:{a.cell}:{a.name}" for c, _, a in ALTERNATIVES])
def test_does_a_correct_but_different_implementation_get_full_marks(
    corpus, index, alternative, class_of
):
    result = class_of(corpus.assignment)[_learner("alternative", corpus, index)]
    parts = _parts(result)
    assert all(score == top for score, top, _ in parts.values()), format_table(result)


# --- the corpus is complete and well-formed (fast) ----------------------------------------------


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=lambda p: p.stem)
def test_does_every_graded_function_have_three_mutants_and_the_notebook_an_alternative(path):
    mine = [c for c in CORPORA if (c.assignment, c.notebook) == (path.parent.name, path.stem)]
    assert len(mine) == 1, f"tests/mutants/ needs one module for {path.parent.name}/{path.name}"
    corpus = mine[0]
    answers = _ids(_read(path), is_answer_cell)
    # An optional, ungraded answer cell can lose nothing, so it has no mutants (and must exist).
    assert set(corpus.ungraded) <= set(answers), f"{corpus.module}: UNGRADED names no answer cell"
    assert not any(m.cell in corpus.ungraded for m in corpus.mutants), "a mutant of an ungraded cell"
    for cell in (a for a in answers if a not in corpus.ungraded):
        count = sum(m.cell == cell for m in corpus.mutants)
        assert count >= 3, f"{corpus.module}: {cell} has {count} mutants, needs at least 3"
    assert corpus.alternatives, f"{corpus.module}: needs at least one Alternative"


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda c: c.module)
def test_does_every_corpus_entry_name_real_cells(corpus):
    path = SOLUTIONS / corpus.assignment / f"{corpus.notebook}.ipynb"
    assert path.is_file(), f"{corpus.module}: no notebook {path}"
    nb = _read(path)
    answers, tests = set(_ids(nb, is_answer_cell)), set(_ids(nb, is_test_cell))
    entries: list[Mutant | Alternative] = [*corpus.mutants, *corpus.alternatives]
    for entry in entries:
        assert entry.cell in answers, f"{entry.name}: {entry.cell} is not an answer cell"
        assert re.search(rf"^(def|class) {re.escape(entry.cell)}\b", entry.source, re.M), (
            f"{entry.name}: the source must define {entry.cell} (a function or a class)"
        )
    for mutant in corpus.mutants:
        assert mutant.loses, f"{mutant.name}: a mutant must lose at least one part"
        assert set(mutant.loses) <= tests, f"{mutant.name}: unknown {set(mutant.loses) - tests}"
    for kind in (corpus.mutants, corpus.alternatives):
        keys = [(e.cell, e.name) for e in kind]
        assert len(keys) == len(set(keys)), f"{corpus.module}: names must be unique per cell"
