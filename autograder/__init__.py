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

__all__: list[str] = []
