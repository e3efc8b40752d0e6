"""Set up the backprop course on one JupyterHub server: users, exchange, configuration.

Run as root with the Python of the venv where the course is installed with the ``hub`` extra
(that venv must be readable by every user: keep it outside a private home, e.g. in /opt):

    /opt/backprop-course/venv/bin/python deploy/jupyterhub/setup_course.py \\
        --instructor teacher --learners alice,bob,carol

It makes (and, run again, keeps or completes):

* a Unix account for the instructor and each learner that lacks one, with a home only its
  owner can read (mode 700: a learner must not read another's work);
* nbgrader's exchange (default ``/srv/nbgrader/exchange``, writable by everyone, as nbgrader
  requires; nbgrader itself keeps each learner's submissions apart);
* the course folder ``~instructor/<course id>/`` with its ``nbgrader_config.py`` (the course's
  grading settings, the exchange, the course id), owned by the instructor;
* the configuration folders the hub gives to learners' and the instructor's servers
  (``<prefix>/jupyter/{learner,instructor}``), and the hub's own state and settings
  (``<prefix>/hub/course.json``, root only) that ``jupyterhub_config.py`` reads.

Then: set passwords (``passwd alice``) or another authenticator, and start the hub (see
``jupyterhub_config.py``). A Unix user is never removed by this script.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructor", required=True, help="the instructor's Unix user name")
    parser.add_argument("--learners", default="", help="learners' Unix user names, comma-separated")
    parser.add_argument("--course-id", default="backprop", help="nbgrader course id")
    parser.add_argument("--prefix", type=Path, default=Path("/srv/backprop-course"),
                        help="where the hub's state and the servers' configuration go")
    parser.add_argument("--exchange", type=Path, default=Path("/srv/nbgrader/exchange"),
                        help="nbgrader's exchange folder")
    parser.add_argument("--home-base", type=Path, default=Path("/home"),
                        help="parent folder of the homes of users this script creates")
    parser.add_argument("--bind-url", default="http://:8000", help="where the hub listens")
    parser.add_argument("--hub-port", type=int, default=8081, help="the hub's internal port")
    parser.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API port")
    parser.add_argument("--source", type=Path, default=REPO / "solutions",
                        help="the instructor's source notebooks (default: the course's)")
    parser.add_argument("--release", type=Path, default=REPO / "course",
                        help="the released notebooks (default: the course's course/)")
    return parser


def _user(name: str, home_base: Path) -> pwd.struct_passwd:
    """The Unix user ``name``, made if missing; its home made private (700)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--base-dir", str(home_base),
                        "--shell", "/bin/bash", "--user-group", name], check=True)
        entry = pwd.getpwnam(name)
    home = Path(entry.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    return entry


def _write(path: Path, text: str, mode: int = 0o644, owner: pwd.struct_passwd | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _readable_by(user: pwd.struct_passwd, python: str) -> str | None:
    """None when ``user`` can run ``python`` and import the course, else why not."""
    done = subprocess.run(["runuser", "-u", user.pw_name, "--", python, "-c",
                           "import autograder"],
                          capture_output=True, text=True, timeout=120)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def main(argv: Sequence[str] | None = None) -> int:
    """Set the course up; the exit code (0 done, 1 a user cannot run the course's Python)."""
    args = _parser().parse_args(argv)
    if os.geteuid() != 0:
        print("setup_course.py makes Unix users and the exchange: run it as root", file=sys.stderr)
        return 2
    learners = [n for n in args.learners.split(",") if n]
    args.home_base.mkdir(parents=True, exist_ok=True)
    teacher = _user(args.instructor, args.home_base)
    for name in learners:
        _user(name, args.home_base)
    problem = _readable_by(teacher, sys.executable)
    if problem:
        print(f"{args.instructor} cannot run {sys.executable} with the course: {problem}\n"
              "install the course in a venv every user can read (e.g. under /opt)", file=sys.stderr)
        return 1

    args.exchange.mkdir(parents=True, exist_ok=True)
    args.exchange.chmod(0o777)  # nbgrader: everyone writes here, nbgrader keeps learners apart
    exchange_settings = (f"c.CourseDirectory.course_id = {args.course_id!r}\n"
                         f"c.Exchange.root = {str(args.exchange)!r}\n")

    course_root = Path(teacher.pw_dir) / args.course_id
    course_root.mkdir(exist_ok=True)
    os.chown(course_root, teacher.pw_uid, teacher.pw_gid)
    _write(course_root / "nbgrader_config.py", (
        "# The course's nbgrader settings (autograder/settings.py), for the nbgrader commands,\n"
        "# the Formgrader and bp-classroom run in this folder. Made by setup_course.py.\n"
        "from autograder.settings import configure\n\n"
        "c = get_config()  # noqa: F821\n"
        f"configure(c, root={str(course_root)!r}, source={str(args.source.resolve())!r},\n"
        f"          release={str(args.release.resolve())!r}, course_id={args.course_id!r})\n"
        + exchange_settings), owner=teacher)

    config = args.prefix / "jupyter"
    learner_extensions = {"nbgrader.server_extensions.formgrader": False,
                          "nbgrader.server_extensions.course_list": False}
    _write(config / "learner" / "nbgrader_config.py", "c = get_config()  # noqa: F821\n"
           + exchange_settings)
    _write(config / "learner" / "jupyter_server_config.json",
           json.dumps({"ServerApp": {"jpserver_extensions": learner_extensions}}, indent=1))
    _write(config / "instructor" / "nbgrader_config.py", "c = get_config()  # noqa: F821\n"
           + exchange_settings)

    state = args.prefix / "hub"
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    settings = {
        "course_id": args.course_id, "instructor": args.instructor, "learners": learners,
        "course_root": str(course_root), "exchange": str(args.exchange),
        "jupyter_config": str(config), "hub_state": str(state), "python": sys.executable,
        "bind_url": args.bind_url, "hub_port": args.hub_port,
        "proxy_api_port": args.proxy_api_port,
    }
    _write(state / "course.json", json.dumps(settings, indent=1), mode=0o600)
    if not shutil.which("configurable-http-proxy"):
        print("note: the hub needs configurable-http-proxy: npm install -g configurable-http-proxy",
              file=sys.stderr)
    print(f"course {args.course_id!r} ready: {course_root} (instructor {args.instructor}), "
          f"{len(learners)} learners, exchange {args.exchange}; start the hub with "
          f"BP_HUB_SETTINGS={state / 'course.json'} "
          f"{Path(sys.executable).parent / 'jupyterhub'} -f {Path(__file__).parent / 'jupyterhub_config.py'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
