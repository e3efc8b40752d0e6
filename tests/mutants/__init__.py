"""The mutant corpus: plausible wrong (and unusual right) answers that prove a grade is right.

Each notebook ``solutions/<assignment>/<notebook>.ipynb`` gets one module here, named
``nbXX_<anything>.py`` (for example ``nb01_derivatives.py``). The soundness tests
(``tests/test_grading_soundness.py``) find every such module by itself, so a new notebook is
covered just by adding its module. A module defines:

``ASSIGNMENT: str``
    The assignment folder name, e.g. ``"01-derivatives"``.
``NOTEBOOK: str`` (optional)
    The notebook's file name without ``.ipynb``; defaults to ``ASSIGNMENT``.
``MUTANTS: list[Mutant]``
    Wrong implementations. At least three per graded answer cell.
``ALTERNATIVES: list[Alternative]``
    Correct implementations written differently from the reference. At least one per module.
``UNGRADED: dict[str, str]`` (optional)
    Answer cells that no check grades (an optional part), each with the reason: they need no
    mutants, since a wrong answer there can lose nothing. Whoever declares one proves that it
    changes no verdict (for notebook 16's ``cnn_layers``: ``tests/test_capstone_cnn.py``).

How a submission is built from one entry: take the *released* notebook
(``course/<assignment>/<notebook>.ipynb``), fill every answer cell (a cell whose nbgrader
metadata has ``solution: true``) with the reference solution's code from ``solutions/`` (the
cell source with the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marker lines removed), then
replace the answer cell whose ``grade_id`` is ``entry.cell`` with ``entry.source`` in full.
Every submission of a module is graded through ``nbgrader autograde`` as one learner of one
class, in one process.

What must come out:

* a :class:`Mutant` scores 0 on every test cell named in ``loses`` and full points on every
  other graded cell of the notebook; if ``explains`` is set, it appears (case-insensitive) in the
  explanation of at least one lost part (the explanation is the failing cell's exception type and
  message, e.g. the gradient checker's hint ``"sign flipped"``);
* an :class:`Alternative` scores full marks on every graded cell.

Example (a module ``nb05_linear_layer.py``)::

    from . import Alternative, Mutant   # relative: works however pytest names the package

    ASSIGNMENT = "05-linear-layer"
    MUTANTS = [
        Mutant(
            cell="affine_backward",
            name="dw transposed",
            source='''def affine_backward(dout, cache):
        x, w, b = cache
        return dout @ w.T, (x.T @ dout).T, dout.sum(axis=0)
    ''',
            loses=["test_affine_backward_dw"],
            explains="transposed",
        ),
    ]
    ALTERNATIVES = [
        Alternative(cell="affine_backward", name="einsum", source="def affine_backward(...): ..."),
    ]
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType

__all__ = ["Alternative", "Corpus", "Mutant", "discover"]


@dataclass(frozen=True)
class Mutant:
    """A plausible wrong implementation of one answer cell.

    cell: grade_id of the answer cell that is replaced (the function's name).
    name: the plausible mistake, in a few words (``"missing 1/N"``); unique per answer cell.
    source: the full replacement source of that answer cell.
    loses: grade_ids of the test cells that must score 0; every other graded cell scores full.
    explains: a substring (case-insensitive) that must appear in the explanation of at least
        one lost part, when the checker can recognise the mistake; ``None`` otherwise.
    """

    cell: str
    name: str
    source: str
    loses: list[str] = field(default_factory=list)
    explains: str | None = None


@dataclass(frozen=True)
class Alternative:
    """A correct implementation written differently from the reference: it must get full marks.

    cell: grade_id of the answer cell that is replaced.
    name: what is different, in a few words (``"einsum instead of matmul"``); unique per cell.
    source: the full replacement source of that answer cell.
    """

    cell: str
    name: str
    source: str


@dataclass(frozen=True)
class Corpus:
    """The entries of one ``nbXX_*.py`` module, with where its notebook lives."""

    module: str
    assignment: str
    notebook: str
    mutants: list[Mutant]
    alternatives: list[Alternative]
    ungraded: dict[str, str] = field(default_factory=dict)


def _corpus(mod: ModuleType) -> Corpus:
    assignment = mod.ASSIGNMENT
    return Corpus(
        module=mod.__name__.rsplit(".", 1)[-1],
        assignment=assignment,
        notebook=getattr(mod, "NOTEBOOK", assignment),
        mutants=list(getattr(mod, "MUTANTS", [])),
        alternatives=list(getattr(mod, "ALTERNATIVES", [])),
        ungraded=dict(getattr(mod, "UNGRADED", {})),
    )


def discover() -> list[Corpus]:
    """Import every ``nbXX_*.py`` module of this package, sorted by name."""
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(__path__)
        if info.name.startswith("nb") and not info.ispkg
    )
    return [_corpus(importlib.import_module(f"{__name__}.{name}")) for name in names]
