"""Can the capstone's accuracy be had by memorizing the public test set? It must not.

The test digits of notebook 16 and their labels are public (``train_test_split(load_digits(),
seed=0)``), so the accuracy cells grade on those digits moved by one pixel, with their ink scaled
and noise added, in a shuffled order, drawn afresh in the grader's process at every grading
(:func:`autograder.checks.nb16_capstone.graded_digits`). Here, in one process and without
nbgrader: the graded digits look up nothing; answers that memorize the public test set (the
corpus entries of ``tests/mutants/nb16_capstone.py``) would get full marks on the public digits
and lose every accuracy cell on the graded ones; the reference keeps them. The same answers are
also graded through nbgrader by ``test_grading_soundness.py``.
"""

from __future__ import annotations

from typing import Any

import nbformat
import numpy as np
import pytest
from mutants import nb16_capstone as corpus

from autograder.checks import InKernelLearner
from autograder.checks import nb16_capstone as checks
from autograder.normalize import reference_answers
from autograder.settings import SOLUTIONS
from bplib.datasets import load_digits, train_test_split
from bplib.gradcheck import CheckError

ACCURACY = {"test_accuracy_90": checks.accuracy_90, "test_accuracy_95": checks.accuracy_95,
            "test_accuracy_97": checks.accuracy_97}
MEMORIZERS = [m for m in corpus.MUTANTS if m.name.startswith("memorizes the test set")]

X, Y = load_digits()
X_TRAIN, X_TEST, Y_TRAIN, Y_TEST = train_test_split(X, Y, seed=0)


def _namespace(cell: str | None = None, source: str = "") -> dict[str, Any]:
    """The notebook's answers run in order (one of them replaced), with the setup's imports."""
    nb = nbformat.read(SOLUTIONS / checks.NB / f"{checks.NB}.ipynb", as_version=4)
    namespace: dict[str, Any] = {"np": np, "load_digits": load_digits,
                                 "train_test_split": train_test_split}
    for grade_id, code in reference_answers(nb).items():
        exec(source if grade_id == cell else code, namespace)
    return namespace


def _grades(namespace: dict[str, Any]) -> dict[str, str]:
    """grade_id -> "" (passed) or the explanation of the lost points, for the accuracy cells."""
    learner, out = InKernelLearner(namespace), {}
    for grade_id, check in ACCURACY.items():
        try:
            check(learner)
            out[grade_id] = ""
        except CheckError as exc:
            out[grade_id] = str(exc)
    return out


def _image_bytes(images: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(images, dtype=np.float64)}


def test_are_the_graded_digits_the_moved_test_digits_and_none_of_the_public_ones():
    images, labels = checks.graded_digits(X_TEST, Y_TEST, checks._grading_rng())
    n = len(checks.MOVES) * len(Y_TEST)
    assert images.shape == (n, 64) and labels.shape == (n,)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.array_equal(np.bincount(labels), len(checks.MOVES) * np.bincount(Y_TEST))
    assert not _image_bytes(images) & _image_bytes(X), "a graded digit is a public image"
    # The order says nothing: row k is not "test digit k mod 359".
    assert np.mean(labels == np.tile(Y_TEST, len(checks.MOVES))) < 0.25
    # Each graded digit is its test digit moved by one of the four moves, up to ink and noise.
    moved = np.concatenate([checks._shift_reference(X_TEST, dy, dx) for dy, dx in checks.MOVES])
    distance = (moved**2).sum(axis=1)[None, :] - 2 * images @ moved.T  # + |image|², the same
    nearest = distance.argmin(axis=1) % len(Y_TEST)
    assert np.mean(Y_TEST[nearest] == labels) > 0.99


def test_does_every_grading_draw_other_digits():
    a, _ = checks.graded_digits(X_TEST, Y_TEST, checks._grading_rng())
    b, _ = checks.graded_digits(X_TEST, Y_TEST, checks._grading_rng())
    assert not _image_bytes(a) & _image_bytes(b)


def test_does_the_check_send_the_learner_fresh_moved_digits_at_every_grading():
    seen: list[np.ndarray] = []

    def train_digits(X_train: np.ndarray, y_train: np.ndarray, seed: int = 0) -> dict:
        return {}

    def predict(params: dict, X: np.ndarray) -> np.ndarray:
        seen.append(np.array(X))
        return np.zeros(len(X), dtype=int)

    for _ in range(2):  # two learners: two trainings, two draws
        checks._LAST.clear()
        with pytest.raises(CheckError, match="moved by one pixel"):
            checks.accuracy_90(InKernelLearner({"train_digits": train_digits,
                                                "predict": predict}))
    checks._LAST.clear()
    graded = [x for x in seen if len(x) != len(X_TEST)]
    assert len(graded) == 2
    assert not _image_bytes(graded[0]) & _image_bytes(graded[1])
    assert not (_image_bytes(graded[0]) | _image_bytes(graded[1])) & _image_bytes(X)


@pytest.mark.parametrize("mutant", MEMORIZERS, ids=lambda m: m.name)
def test_does_memorizing_the_public_test_set_lose_every_accuracy_point(mutant):
    namespace = _namespace(mutant.cell, mutant.source)
    # The threat is real: on the public test digits, as they are, it reads every one.
    params = namespace["train_digits"](X_TRAIN.copy(), Y_TRAIN.copy(), 1)
    assert np.mean(np.asarray(namespace["predict"](params, X_TEST.copy())) == Y_TEST) == 1.0
    grades = _grades(namespace)
    checks._LAST.clear()
    assert all(grades.values()), f"{mutant.name} kept accuracy points: {grades}"
    assert all(mutant.explains in why for why in grades.values()), grades


@pytest.mark.slow
def test_does_the_reference_keep_every_accuracy_point_with_a_margin():
    namespace = _namespace()
    grades = _grades(namespace)
    checks._LAST.clear()
    assert not any(grades.values()), grades
    # The margin, on one more draw of the graded digits with the grading seed's network.
    params = namespace["train_digits"](X_TRAIN.copy(), Y_TRAIN.copy(), checks.GRADING_SEED)
    images, labels = checks.graded_digits(X_TEST, Y_TEST, checks._grading_rng())
    accuracy = np.mean(namespace["predict"](params, images) == labels)
    assert accuracy >= max(checks.THRESHOLDS.values()) + 0.015, accuracy
