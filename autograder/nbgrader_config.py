"""nbgrader configuration of the course (loaded by the repository root's ``nbgrader_config.py``).

The settings themselves are in :func:`autograder.settings.configure`, shared with ``bp-release``,
``bp-grade`` and ``bp-classroom``. Set ``BP_WORKSPACE=/some/folder`` to keep nbgrader's grading
folders (submitted/, autograded/, feedback/, gradebook.db) there instead of the current directory.
"""

from autograder.settings import configure

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
configure(c)
