"""Does the JupyterHub recipe (``deploy/jupyterhub/``) take a class round nbgrader's exchange?

As root: ``setup_course.py`` makes an instructor and two learners (real Unix users, removed at
the end), the exchange and the configuration; the hub starts on 127.0.0.1 with its proxy. Then,
as each person would: the instructor releases (``nbgrader release_assignment``); each learner's
server, started through the hub's REST API, fetches the assignment, saves the learner's work and
submits it (nbgrader's Assignments API in that server, through the hub's proxy); the instructor
collects, grades with ``bp-classroom`` and releases the feedback; each learner fetches it.

The toy assignment keeps it small. Skipped (failing under CI=true) unless root on Linux with the
hub extra, configurable-http-proxy, ``useradd`` and ``unshare``.
"""

from __future__ import annotations

import contextlib
import html
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from conftest import TOY
from hubtools import exposing, free_port, remove_user, request, wait_for
from needs import have_modules, need

from autograder.settings import REPO_ROOT

pytestmark = [pytest.mark.hub, pytest.mark.slow]

DEPLOY = REPO_ROOT / "deploy" / "jupyterhub"
BIN = Path(sys.executable).parent
COURSE_ID = "bp-hub-test"


def _need_everything() -> None:
    what = "the JupyterHub tests"
    need(sys.platform.startswith("linux") and os.geteuid() == 0, what,
         "root on Linux (it makes Unix users)")
    need(have_modules("jupyterhub"), what, "JupyterHub: pip install -e '.[hub]'")
    need(shutil.which("configurable-http-proxy") is not None, what,
         "configurable-http-proxy: npm install -g configurable-http-proxy")
    for tool in ("useradd", "userdel", "runuser", "unshare", "nsenter"):
        need(shutil.which(tool) is not None, what, f"the `{tool}` command")


class Hub:
    """A running hub of the recipe, and how to act as its users."""

    def __init__(self, base: Path, names: dict[str, str], toy: tuple[Path, Path]) -> None:
        self.base, self.names = base, names
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.exchange = base / "exchange"
        self.source, self.release = toy
        self.hidden = base / "hidden"
        self.proc: subprocess.Popen | None = None
        self.setup_output = ""

    def exposed(self, command: list[str]) -> list[str]:
        """``command`` in a mount namespace where this Python is readable by every user."""
        paths = [Path(sys.base_prefix), Path(sys.prefix), REPO_ROOT]
        return exposing(paths, self.hidden, command)

    def setup(self) -> str:
        """Run the recipe's setup script; its output."""
        args = [sys.executable, str(DEPLOY / "setup_course.py"),
                "--instructor", self.names["instructor"],
                "--learners", f"{self.names['alice']},{self.names['bob']}",
                "--course-id", COURSE_ID, "--prefix", str(self.base / "srv"),
                "--exchange", str(self.exchange), "--home-base", str(self.base / "home"),
                "--bind-url", self.url, "--hub-port", str(free_port()),
                "--proxy-api-port", str(free_port()),
                "--source", str(self.source), "--release", str(self.release)]
        done = subprocess.run(self.exposed(args), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> None:
        """Start the hub (as root, in its namespace) and wait until its API answers."""
        env = {**os.environ, "BP_HUB_SETTINGS": str(self.base / "srv" / "hub" / "course.json"),
               "BP_HUB_API_TOKEN": self.token}
        log = (self.base / "hub.log").open("wb")
        self.proc = subprocess.Popen(
            self.exposed([str(BIN / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")]),
            cwd=self.base / "srv" / "hub", env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self._answers(), 120, "the hub's REST API")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the hub stopped: {self.log()[-3000:]}")
        try:
            return request("GET", f"{self.url}/hub/api/", self.token, timeout=5)[0] == 200
        except OSError:
            return False

    def log(self) -> str:
        """What the hub and its proxy logged."""
        return (self.base / "hub.log").read_text(errors="replace")

    def api(self, method: str, path: str, **kwargs) -> tuple[int, object]:  # noqa: ANN003
        """The hub's REST API (``/hub/api/...``) or a user's server (``/user/...``), as the
        course-admin service."""
        return request(method, f"{self.url}{path}", self.token, **kwargs)

    def run_as(self, who: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        """A command run as the Unix user ``who`` (a key of ``names``) in the hub's namespace."""
        user = pwd.getpwnam(self.names[who])
        env = [f"HOME={user.pw_dir}", f"USER={user.pw_name}", f"PATH={BIN}:/usr/bin:/bin"]
        command = ["nsenter", "--target", str(self.proc.pid), "--mount", f"--wd={cwd}", "--",
                   "runuser", "-u", user.pw_name, "--", "env", *env, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    def stop(self) -> None:
        """Stop the hub (it stops the servers and the proxy), then anything the users left."""
        tree = []
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                tree = psutil.Process(self.proc.pid).children(recursive=True)  # proxy, servers
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        uids = set()
        for name in self.names.values():
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        leftovers = [p for p in psutil.process_iter(["uids"]) if p.info["uids"]
                     and p.info["uids"].real in uids]
        leftovers += [p for p in tree if p.is_running() and p not in leftovers]
        for proc in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(leftovers, timeout=10)


def visible_text(page: str) -> str:
    """What a browser shows of an HTML page, as one line of words."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


@pytest.fixture(scope="module")
def hub(toy_course, toy_submissions):
    """The recipe's hub, running, with an instructor and two learners; all gone afterwards."""
    _need_everything()
    base = Path(tempfile.mkdtemp(prefix="bp-hub-"))
    base.chmod(0o755)
    (base / "hidden").mkdir(mode=0o700)
    source, release = toy_course
    shutil.copytree(source, base / "toy" / "solutions")
    shutil.copytree(release, base / "toy" / "course")
    tag = secrets.token_hex(3)
    names = {"instructor": f"bpt{tag}", "alice": f"bpa{tag}", "bob": f"bpb{tag}"}
    hub = Hub(base, names, (base / "toy" / "solutions", base / "toy" / "course"))
    try:
        hub.setup_output = hub.setup()
        hub.start()
        yield hub
    finally:
        hub.stop()
        for name in names.values():
            remove_user(name)
        shutil.rmtree(base, ignore_errors=True)


def test_are_homes_private_and_the_exchange_open(hub):
    homes = {who: Path(pwd.getpwnam(name).pw_dir) for who, name in hub.names.items()}
    for who, home in homes.items():
        assert stat.S_IMODE(home.stat().st_mode) == 0o700, who
        assert home.stat().st_uid == pwd.getpwnam(hub.names[who]).pw_uid
    secret = homes["alice"] / "secret.txt"
    secret.write_text("alice's work")
    os.chown(secret, pwd.getpwnam(hub.names["alice"]).pw_uid, -1)
    peek = ["cat", str(secret)]
    assert hub.run_as("bob", peek, cwd=Path("/")).returncode != 0  # bob cannot read alice's home
    assert hub.run_as("alice", peek, cwd=Path("/")).stdout == "alice's work"  # (the control)
    assert stat.S_IMODE(hub.exchange.stat().st_mode) == 0o777
    assert "course 'bp-hub-test' ready" in hub.setup_output


def test_does_a_class_go_round_the_exchange_through_the_hub(hub, toy_submissions):
    course = Path(pwd.getpwnam(hub.names["instructor"]).pw_dir) / COURSE_ID
    work = {"alice": toy_submissions["reference"], "bob": toy_submissions["list_double"]}
    for who in work:  # the learners' servers start while the instructor releases
        status, _ = hub.api("POST", f"/hub/api/users/{hub.names[who]}/server")
        assert status in (201, 202), status
    done = hub.run_as("instructor", ["nbgrader", "release_assignment", TOY], cwd=course)
    assert done.returncode == 0, done.stderr
    for who in work:
        name = hub.names[who]
        wait_for(lambda name=name: hub.api("GET", f"/hub/api/users/{name}")[1]
                 .get("servers", {}).get("", {}).get("ready"), 180, f"{who}'s server")
    status, _ = hub.api("GET", f"/user/{hub.names['alice']}/formgrader/api/status")
    assert status == 404  # a learner's server has no Formgrader

    ids = {"course_id": COURSE_ID, "assignment_id": TOY}
    for who, nb in work.items():
        user = f"/user/{hub.names[who]}"
        status, listed = hub.api("POST", f"{user}/assignments/fetch", form=ids)
        assert status == 200 and listed["success"], listed
        assert {(a["assignment_id"], a["status"]) for a in listed["value"]} == {(TOY, "fetched")}
        status, _ = hub.api("PUT", f"{user}/api/contents/{TOY}/{TOY}.ipynb",
                            body={"type": "notebook", "format": "json", "content": nb})
        assert status in (200, 201)
        status, listed = hub.api("POST", f"{user}/assignments/submit", form=ids)
        assert status == 200 and listed["success"], listed
        assert (TOY, "submitted") in {(a["assignment_id"], a["status"]) for a in listed["value"]}

    for step in (["nbgrader", "collect", TOY],
                 ["bp-classroom", TOY, "submitted", "-w", ".", "-j", "2", "--source", str(hub.source),
                  "-q"],
                 ["nbgrader", "release_feedback", TOY]):
        done = hub.run_as("instructor", step, cwd=course)
        assert done.returncode == 0, f"{step}: {done.stdout}\n{done.stderr}"
    rows = (course / f"grades-{TOY}.csv").read_text().splitlines()
    assert f"{hub.names['alice']},{TOY},4,4,graded,,," in rows  # no reason, flags or mistakes
    assert f"{hub.names['bob']},{TOY},3,4,graded,,," in rows

    for who, expect in (("alice", "test_double_array 1 / 1 —"),
                        ("bob", "test_double_array 0 / 1 a value could not be used")):
        user = f"/user/{hub.names[who]}"
        status, _ = hub.api("POST", f"{user}/assignments/fetch_feedback", form=ids)
        assert status == 200
        status, folder = hub.api("GET", f"{user}/api/contents/{TOY}/feedback")
        assert status == 200 and len(folder["content"]) == 1, folder
        stamp = folder["content"][0]["name"]
        page_path = f"{TOY}/feedback/{stamp}/{TOY}.html"
        status, page = hub.api("GET", f"{user}/api/contents/{quote(page_path)}?type=file&format=text")
        assert status == 200, page
        text = page["content"]
        assert "BEGIN HIDDEN TESTS" not in text and "secret_input_value" not in text
        shown = visible_text(text)
        assert "Your grade, part by part" in shown and expect in shown, (who, shown[:2000])
        home = Path(pwd.getpwnam(hub.names[who]).pw_dir)
        assert (home / page_path).stat().st_uid == pwd.getpwnam(hub.names[who]).pw_uid
