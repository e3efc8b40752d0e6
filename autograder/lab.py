"""``bp-lab``: open the course in JupyterLab as a learner sees it (``make lab``).

JupyterLab starts on ``course/`` with the repository's learner settings (``lab/learner/``): no
nbgrader instructor tools, no news pop-up. The settings are passed on the command line, so
nothing in the learner's home folder is changed. ``--instructor`` opens the repository root with
every nbgrader tool instead (``make instructor``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .settings import COURSE, REPO_ROOT

__all__ = ["LEARNER_SETTINGS", "learner_arguments", "learner_settings", "main"]

LEARNER_SETTINGS = REPO_ROOT / "lab" / "learner"


def learner_settings() -> list[str]:
    """The JupyterLab arguments that make a Lab the learner's view (whatever its root)."""
    return [f"--LabApp.app_settings_dir={LEARNER_SETTINGS}"]


def learner_arguments(root: Path = COURSE) -> list[str]:
    """The JupyterLab arguments of the learner's view of ``root``."""
    return [f"--ServerApp.root_dir={root}", *learner_settings()]


def main(argv: Sequence[str] | None = None) -> int:
    """Replace this process with JupyterLab (learner's view, or the instructor's)."""
    parser = argparse.ArgumentParser(prog="bp-lab", description=__doc__.splitlines()[0])
    parser.add_argument("--instructor", action="store_true",
                        help="the repository root with nbgrader's instructor tools")
    args, rest = parser.parse_known_args(argv)
    command = [sys.executable, "-m", "jupyterlab"]
    if args.instructor:
        command += [f"--ServerApp.root_dir={REPO_ROOT}"]
    else:
        command += learner_arguments()
    os.chdir(REPO_ROOT)  # nbgrader's configuration is found from the repository root
    os.execv(sys.executable, command + list(rest))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
