"""A throw-away JupyterLab server on loopback, and the Chromium that the browser tests drive.

Nothing here touches the user's own Jupyter setup: configuration, data, runtime, settings,
workspaces and IPython folders all live under one temporary folder, the port is random and the
token is fresh. The server runs in its own process group; every kernel it starts runs in its own
session (jupyter_client starts kernels with ``start_new_session``), so ``stop`` kills the server's
group and then each kernel's group, and fails loudly if any of them survives.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil  # a dependency of ipykernel, so present wherever a kernel can run

__all__ = [
    "CHROMIUM_ARGS",
    "LabServer",
    "chromium_args",
    "find_chromium",
    "missing_requirements",
]

# Chromium on a closed network: no calls home, no GPU, no QUIC probing. --no-sandbox is added
# only for root (see chromium_args), where Chromium refuses to start without it.
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
)

# The lab settings every test server gets. windowingMode "none" makes JupyterLab render every
# cell, not only those on screen; autosave off keeps the copied notebooks as they were.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"


def find_chromium() -> str | None:
    """Return the path of the system's Chromium, or None. Never downloads a browser."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def missing_requirements() -> str | None:
    """Why the browser tests cannot run here (Playwright or Chromium missing), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "Python Playwright is not installed "
            "(pip install 'playwright>=1.45,<2'; do not run `playwright install`)"
        )
    if find_chromium() is None:
        return (
            "no system Chromium found "
            "(Debian/Ubuntu: apt-get install chromium; or put chromium on PATH)"
        )
    return None


def chromium_args() -> list[str]:
    """Command-line switches for Chromium; adds --no-sandbox when running as root."""
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """JupyterLab serving ``root_dir`` with a configuration that lives in ``work_dir``.

    ``disabled_extensions`` lists front-end extensions to switch off through the throw-away
    page_config.json (the negative control disables the widgets manager this way).
    Use as a context manager; ``stop`` runs even when the body fails.
    """

    def __init__(
        self,
        root_dir: Path,
        work_dir: Path,
        *,
        disabled_extensions: tuple[str, ...] = (),
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 60.0,
    ) -> None:
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.disabled_extensions = disabled_extensions
        self.extra_args = extra_args  # e.g. the learner's view: autograder.lab.learner_arguments
        self.start_timeout = start_timeout
        self.token = secrets.token_hex(16)
        self.port = 0
        self.log_path = self.work_dir / "server.log"
        self.runtime_dir = self.work_dir / "runtime"
        self.proc: subprocess.Popen[bytes] | None = None
        self._kernel_pids: set[int] = set()
        self._settings_dir = self.work_dir / "settings"
        self._workspaces_dir = self.work_dir / "workspaces"

    # ----- configuration -------------------------------------------------------------------
    def _write_config(self) -> dict[str, str]:
        dirs = {
            name: self.work_dir / name
            for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")
        }
        for folder in dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        for plugin, values in LAB_SETTINGS.items():
            path = dirs["settings"] / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))
        if self.disabled_extensions:
            labconfig = dirs["config"] / "labconfig"
            labconfig.mkdir(exist_ok=True)
            page_config = {"disabledExtensions": dict.fromkeys(self.disabled_extensions, True)}
            (labconfig / "page_config.json").write_text(json.dumps(page_config, indent=2))
        env = dict(os.environ)
        # A learner's MPLBACKEND=Agg would hide every inline plot: let the kernel choose.
        env.pop("MPLBACKEND", None)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            IPYTHONDIR=str(dirs["ipython"]),
        )
        return env

    def _command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={self._settings_dir}",
            f"--LabApp.workspaces_dir={self._workspaces_dir}",
            # Lets the test read the kernel's own state through window.jupyterapp.
            "--LabApp.expose_app_in_browser=True",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd + list(self.extra_args)

    # ----- life cycle ----------------------------------------------------------------------
    def __enter__(self) -> LabServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until its REST API answers; retries a taken port."""
        env = self._write_config()
        for _attempt in range(3):
            self.port = _free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self._command(),
                    cwd=self.root_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: stop() kills all of it
                )
            if self._wait_until_up():
                return
            self._kill_group(self.proc.pid)
        raise RuntimeError(f"JupyterLab did not start; its log:\n{self.log_tail()}")

    def _wait_until_up(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # e.g. the port was taken between choosing and binding it
            try:
                self.api("GET", "status")
                return True
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        return False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self) -> str:
        """URL of a fresh JupyterLab page (reset: no notebook restored from a workspace)."""
        return f"{self.base_url}/lab?reset&token={self.token}"

    def api(self, method: str, path: str, body: object = None, timeout: float = 5.0) -> object:
        """Call the server's REST API (``path`` below /api/) and return the decoded JSON."""
        request = urllib.request.Request(
            f"{self.base_url}/api/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    # ----- processes -----------------------------------------------------------------------
    def kernel_processes(self) -> list[psutil.Process]:
        """Kernels of this server: processes whose command line names our runtime folder.

        A kernel gets its connection file there (``-f <runtime>/kernel-<id>.json``), so this
        finds them even after the server is gone and they have been re-parented.
        """
        marker = str(self.runtime_dir)
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if proc.pid != os.getpid() and any(marker in part for part in cmdline):
                found.append(proc)
        self._kernel_pids.update(p.pid for p in found)
        return found

    @staticmethod
    def _kill_group(pid: int, grace: float = 10.0) -> None:
        """SIGTERM the process group led by ``pid``, then SIGKILL it if it lingers."""
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not _group_alive(pgid):
                    return
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server and every kernel it started; raise if any process survives."""
        groups: set[int] = set()
        for proc in self.kernel_processes():
            try:
                groups.add(os.getpgid(proc.pid))
            except ProcessLookupError:
                pass
        if self.proc is not None:
            groups.add(self.proc.pid)
            self._kill_group(self.proc.pid)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # The server shuts its kernels down on SIGTERM; this is for the ones it could not.
        for pid in self._kernel_pids | {p.pid for p in self.kernel_processes()}:
            if psutil.pid_exists(pid):
                self._kill_group(pid, grace=3.0)
        survivors = [p.pid for p in self.kernel_processes()]
        survivors += [pgid for pgid in groups if _group_alive(pgid)]
        if survivors:
            raise RuntimeError(f"processes of the test server survived stop(): {survivors}")


def _group_alive(pgid: int) -> bool:
    """Whether any process (other than a zombie) is left in process group ``pgid``."""
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False
