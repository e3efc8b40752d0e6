"""The catalogue of known mistakes: each defined once, with what it computes and what to do.

A :class:`Mistake` is a plausible wrong implementation of a graded function, reduced to
``result``: a function of the graded function's own inputs that computes the *mistaken* result
(or, for a mistake that is the right answer transformed, like a flipped sign, ``relation``: a
predicate of the answer and the expected one), and ``message``: a sentence that says what the
result is and what to do instead. Which mistake a
wrong answer is: :func:`diagnose` (the first whose result the answer matches); the message
only: :func:`hint`. One module per topic holds the tables:

* :mod:`autograder.mistakes.calculus` — numerical derivatives, the relative error and the chain
  rule by hand (notebooks 1 and 2);
* :mod:`autograder.mistakes.scalar` — a scalar autodiff ``Value``'s backward rules
  and a single neuron (notebooks 3 and 4);
* :mod:`autograder.mistakes.layers` — the affine layer, forward and backward;
* :mod:`autograder.mistakes.activations` — ReLU, leaky ReLU, sigmoid, tanh (forward and backward);
* :mod:`autograder.mistakes.losses` — MSE, BCE with logits, softmax cross-entropy, weighted MSE;
* :mod:`autograder.mistakes.network` — a two-layer network's loss, gradients and descent;
* :mod:`autograder.mistakes.training` — minibatches, the training loop, standardization;
* :mod:`autograder.mistakes.optimizers` — SGD, momentum, RMSProp, Adam;
* :mod:`autograder.mistakes.regularization` — the L2 penalty and dropout;
* :mod:`autograder.mistakes.normalization` — batch and layer normalization;
* :mod:`autograder.mistakes.conv` — convolution (forward, dx, dw, db) and max pooling;
* :mod:`autograder.mistakes.rnn` — the RNN and LSTM steps and sequences (forward and backward),
  clipping by the norm;
* :mod:`autograder.mistakes.capstone` — the capstone's own: shifting images, predicting labels.

Every mistake has a stable id, ``<module>.<table>.<name>`` (:func:`catalogue`,
:func:`mistake_id`); the grader records the ids a check named (:func:`recording`), so a class
report can count them.

The catalogue is pure numpy (with :mod:`autograder.numeric`): the grader's hidden checks use it,
and a notebook's visible tests import it in the learner's kernel, so a learner reads the same
diagnosis in the notebook as in the grade. A visible test wraps its assertions in
:func:`diagnosed`: when one fails and the result is a known mistake, the failure's hint becomes
the catalogue's (the line :func:`hint` gives a hidden check)::

    from autograder.mistakes import diagnosed
    from autograder.mistakes.optimizers import ADAM

    next_w, config = adam(w, dw, dict(config))
    with diagnosed(ADAM, w, dw, config, got=next_w, want=expected):
        assert_close(next_w, expected, "next_w")

It never holds a graded function's correct result in a form that could stand in for the
learner's answer: a mistake computes a *wrong* variant (one that is the right answer turned
around is a ``relation`` that needs the right answer given), and the correct values are the
reference's (:mod:`bplib`), computed by the hidden checks in the grader.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.numeric import MATCH, Tolerance, close, quiet

__all__ = [
    "HINT",
    "Mistake",
    "catalogue",
    "diagnose",
    "diagnosed",
    "hint",
    "ids_of",
    "mistake_id",
    "negated",
    "recording",
    "same_as",
    "step_reversed",
    "which",
]


@dataclass(frozen=True)
class Mistake:
    """One known mistake.

    name: a few words, unique in its table (``"no bias correction"``).
    message: what the mistaken result is, and what to do instead; it reads after "yours is".
    result: the mistaken result, computed from the graded function's inputs (as passed to it).
    relation: instead of ``result``, whether an answer is this mistake, given the answer, the
        right one and the inputs (``relation(got, want, *inputs)``).
    """

    name: str
    message: str
    result: Callable[..., Any] | None = None
    relation: Callable[..., bool] | None = None

    def value(self, *inputs: Any) -> Any:
        """The mistaken result for ``inputs`` (``None`` for a relation, or where the mistake
        makes no sense for them): to carry a mistake of one layer through a bigger model."""
        if self.result is None:
            return None
        try:
            with quiet():
                return self.result(*inputs)
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError):
            return None

    def matches(self, got: Any, inputs: tuple[Any, ...], want: Any = None,
                tol: Tolerance = MATCH) -> bool:
        """Whether ``got`` is this mistake for ``inputs`` (a relation needs ``want``)."""
        if self.result is not None:
            value = self.value(*inputs)
            return value is not None and close(got, value, tol)
        try:
            with quiet():
                return self.relation is not None and want is not None and bool(
                    self.relation(got, want, *inputs))
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError):
            return False  # a mistake that makes no sense for these inputs is not the one


def diagnose(got: Any, mistakes: Iterable[Mistake], *inputs: Any, want: Any = None,
             tol: Tolerance = MATCH) -> Mistake | None:
    """The first of ``mistakes`` that ``got`` is, for ``inputs`` (and the right ``want``).

    Inside :func:`recording`, a mistake found is also recorded (for the class report)."""
    found = next((m for m in mistakes if m.matches(got, inputs, want, tol)), None)
    fired = _FIRED.get()
    if found is not None and fired is not None and found not in fired:
        fired.append(found)
    return found


_FIRED: contextvars.ContextVar[list[Mistake] | None] = contextvars.ContextVar("fired", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[Mistake]]:
    """The mistakes :func:`diagnose` finds within the block, in order (one check's diagnoses)."""
    fired: list[Mistake] = []
    token = _FIRED.set(fired)
    try:
        yield fired
    finally:
        _FIRED.reset(token)


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


@functools.cache
def catalogue() -> dict[str, Mistake]:
    """Every mistake of the topic modules by its stable id, ``<module>.<table>.<name>``
    (``layers.affine_backward_db.not-summed``): the table's and the mistake's own names, so an
    id stays as long as they do. A mistake in more than one table keeps its first id."""
    modules = [(info.name, vars(importlib.import_module(f"{__name__}.{info.name}")))
               for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)]
    return ids_of(modules)


def ids_of(modules: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Mistake]:
    """The ids of the mistakes in the upper-case tables of ``(module name, namespace)`` pairs;
    ``ValueError`` if two mistakes of one table would share an id."""
    found: dict[str, Mistake] = {}
    seen: set[int] = set()
    for module, namespace in modules:
        for table, value in sorted(namespace.items()):
            if not (table.isupper() and isinstance(value, list | tuple)):
                continue
            for mistake in value:
                if isinstance(mistake, Mistake) and id(mistake) not in seen:
                    seen.add(id(mistake))
                    key = f"{module}.{table.lower()}.{_slug(mistake.name)}"
                    if key in found:
                        raise ValueError(f"two mistakes of {module}.{table} are named like "
                                         f"{mistake.name!r}: names must differ in a table")
                    found[key] = mistake
    return found


def mistake_id(mistake: Mistake) -> str:
    """The stable id of a catalogued mistake (see :func:`catalogue`); ``""`` for one that is not
    in a table of a topic module."""
    return next((key for key, m in catalogue().items() if m is mistake), "")


HINT = "\n  hint: "  # how every failure message, visible or hidden, introduces its hint


def hint(got: Any, mistakes: Iterable[Mistake], *inputs: Any, want: Any = None,
         tol: Tolerance = MATCH) -> str:
    """``"\\n  hint: yours is <message>"`` for the mistake ``got`` is; ``""`` if none."""
    found = diagnose(got, mistakes, *inputs, want=want, tol=tol)
    return f"{HINT}yours is {found.message}" if found else ""


@contextlib.contextmanager
def diagnosed(mistakes: Iterable[Mistake], *inputs: Any, got: Any, want: Any = None,
              tol: Tolerance = MATCH) -> Iterator[None]:
    """A visible test's assertions, diagnosed by the catalogue as the hidden check diagnoses.

    If an assertion in the block fails (any ``AssertionError``, such as bplib's ``CheckError``)
    and ``got`` is one of ``mistakes`` for ``inputs`` (and the right ``want``, which relations
    need), the failure is raised again with its own first part and the catalogue's hint in place
    of any generic one; otherwise it goes through unchanged. A passing block is untouched."""
    try:
        yield
    except AssertionError as exc:
        extra = hint(got, list(mistakes), *inputs, want=want, tol=tol)
        if not extra:
            raise
        head = str(exc).split(HINT, 1)[0]
        raise type(exc)(head + extra) from None


def same_as(value: Callable[..., Any]) -> Callable[..., bool]:
    """A relation: the answer is ``value(*inputs)``, a mistaken value that is not the right
    answer here (``None`` where the mistake makes no sense). For a mistake whose value is the
    right answer of other inputs or of another graded function: computed only to compare."""

    def relation(got: Any, want: Any, *inputs: Any) -> bool:
        mistaken = value(*inputs)
        return (mistaken is not None and close(got, mistaken, MATCH)
                and not close(mistaken, want, MATCH))

    return relation


def negated(got: Any, want: Any, *_: Any) -> bool:
    """A relation: ``got`` is ``-want`` (and ``want`` is not zero)."""
    return bool(np.any(want)) and close(got, -np.asarray(want, dtype=np.float64), MATCH)


def step_reversed(got: Any, want: Any, w: Any, *_: Any) -> bool:
    """A relation for update rules: ``got - w`` is ``-(want - w)``, a step the wrong way."""
    w = np.asarray(w, dtype=np.float64)
    return negated(np.asarray(got, dtype=np.float64) - w, np.asarray(want, dtype=np.float64) - w)


def which(got: Any, candidates: Sequence[tuple[str, Any]], tol: Tolerance = MATCH) -> str:
    """The text of the first ``(text, mistaken value)`` candidate that ``got`` matches; ``""``.

    For a check's own one-off cases; a mistake that more than one check knows belongs in a
    table of :class:`Mistake`."""
    return next((text for text, value in candidates if close(got, value, tol)), "")
