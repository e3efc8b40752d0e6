"""Submissions the integrity tests start from: a notebook's reference solution, as handed in.

Also the part names of notebook 05 (linear layer), the assignment the adversarial corpora attack.
"""

from __future__ import annotations

import nbformat

from autograder.normalize import fill_answers, reference_answers
from autograder.settings import COURSE, SOLUTIONS

LINEAR = "05-linear-layer"
FORWARD = ["test_affine_forward_values", "test_affine_forward_nd", "test_affine_forward_cache"]
BACKWARD = ["test_affine_backward_dx", "test_affine_backward_dw", "test_affine_backward_db",
            "test_affine_backward_nd"]  # fmt: skip


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    """The instructor's source notebook of a single-notebook ``assignment``."""
    return nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)


def reference_submission(assignment: str, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook filled with the reference answers, ``answers`` replacing some."""
    released = nbformat.read(COURSE / assignment / f"{assignment}.ipynb", as_version=4)
    return fill_answers(released, {**reference_answers(source_notebook(assignment)), **(answers or {})})
