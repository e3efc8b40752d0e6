"""Grading tooling of the course, built on nbgrader.

* ``bp-release`` (:mod:`autograder.release`): regenerate ``course/`` from ``solutions/``.
* ``bp-grade`` (:mod:`autograder.selfpaced`): a learner grades their own notebook.
* ``bp-classroom`` (:mod:`autograder.classroom`): an instructor grades a class.

The grading core is a pipeline of small, swappable steps: collect (:mod:`autograder.collect`)
-> run (:mod:`autograder.gradebook`, isolated by :mod:`autograder.isolation`) -> score and
explain (:mod:`autograder.gradebook`, :mod:`autograder.explain`) -> report
(:mod:`autograder.report`, feedback via :mod:`autograder.preprocessors`). The nbgrader settings
live in :mod:`autograder.settings`, loaded by ``nbgrader_config.py`` at the repository root.
"""

import sys

__all__: list[str] = []

# nbformat validates notebooks with jsonschema, whose format checkers import ``rfc3987_syntax``
# when it is installed (JupyterLab's dependencies bring it in). That import compiles some 40
# grammars: about 1.1 s of every grading process's start-up, a third of grading a short notebook.
# No notebook or nbgrader schema uses the "iri" formats it checks, so the grading processes go
# without it (jsonschema leaves out a format checker whose import fails). JupyterLab itself runs in
# processes of its own and keeps it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
