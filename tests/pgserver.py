"""A throw-away PostgreSQL server for the tests: ``initdb`` in a temporary folder, a Unix socket.

The server binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<v>/bin``)
or ``PATH``. PostgreSQL refuses to run as root, so when the tests run as root the server runs as
the ``postgres`` user (made by the package) or ``nobody``. It listens on a socket in its own
folder only (no TCP port), trusts nobody (every connection needs the password), and runs without
fsync: its data dies with it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "find_binaries", "postgres_server"]

SUPERUSER = "bp_grader"


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in debian:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    return None


@dataclass(frozen=True)
class PostgresServer:
    """A running server: its socket folder, superuser and password, and its log file."""

    folder: Path
    socket_dir: Path
    password: str
    log: Path
    bin: Path
    run_as: str | None

    def url(self, database: str, *, password: bool = True) -> str:
        """SQLAlchemy URL (psycopg 3) of ``database``; without ``password`` it must come from
        ``PGPASSWORD`` or a password file, as a deployment should do it."""
        secret = f":{self.password}" if password else ""
        return f"postgresql+psycopg://{SUPERUSER}{secret}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; its URL (with the password)."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user=SUPERUSER, password=self.password, dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as(user: str | None):  # noqa: ANN202 (a preexec_fn)
    if user is None:
        return None
    entry = pwd.getpwnam(user)

    def drop() -> None:
        os.setgid(entry.pw_gid)
        os.setgroups([])
        os.setuid(entry.pw_uid)

    return drop


def _run(server_bin: Path, args: list[str], user: str | None, timeout: float = 60) -> None:
    result = subprocess.run(
        [str(server_bin / args[0]), *args[1:]], preexec_fn=_as(user), capture_output=True,
        text=True, timeout=timeout, env={**os.environ, "LC_ALL": "C"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr or result.stdout}")


@contextlib.contextmanager
def postgres_server(server_bin: Path) -> Iterator[PostgresServer]:
    """Start a fresh server; stop it and delete its folder on exit."""
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres" if _user_exists("postgres") else "nobody"
    folder = Path(tempfile.mkdtemp(prefix="bp-pg-"))
    data, sockets, log = folder / "data", folder / "run", folder / "server.log"
    password = secrets.token_urlsafe(18)
    (folder / "pw").write_text(password + "\n")
    sockets.mkdir()
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (folder, sockets, folder / "pw"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    started = False
    try:
        _run(server_bin, ["initdb", "-D", str(data), "-U", SUPERUSER, f"--pwfile={folder / 'pw'}",
                          "--auth=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"], run_as)
        (folder / "pw").unlink()
        options = (f"-c listen_addresses='' -c unix_socket_directories='{sockets}' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB "
                   "-c max_connections=50 -c log_connections=on")
        _run(server_bin, ["pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(log),
                          "-o", options], run_as)
        started = True
        yield PostgresServer(folder, sockets, password, log, server_bin, run_as)
    finally:
        if started:
            _run(server_bin, ["pg_ctl", "stop", "-m", "immediate", "-D", str(data)], run_as)
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
