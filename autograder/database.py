"""The gradebook's database, below nbgrader: URLs shown without passwords, reachability, locks.

nbgrader takes any SQLAlchemy URL: SQLite (the default) or PostgreSQL (``postgresql+psycopg://``,
the ``postgres`` extra). Here is what nbgrader does not do for several graders sharing one:

* :func:`redact_url`: the only way a URL is ever shown (its password as ``***``);
* :func:`check_reachable`: connect once and say why not (no driver, unreachable, refused);
* :func:`database_lock`: a named lock that every grader of the same database sees, whether it
  is another process here or another machine (PostgreSQL advisory locks; ``flock`` beside an
  SQLite file).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["DatabaseError", "check_reachable", "database_lock", "first_line", "lock_key",
           "redact_url", "scrub"]


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says why, without the URL's password."""


def redact_url(url: str) -> str:
    """``url`` as it may be shown: its password replaced by ``***`` (an unparsable URL is not
    shown at all, since it may still hold one)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparsable gradebook URL, not shown)"


def scrub(text: str, url: str) -> str:
    """``text`` with the password of ``url`` (if any) replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except ArgumentError:
        return text.replace(url, "***")
    return text.replace(str(password), "***") if password else text


def first_line(exc: BaseException, url: str) -> str:
    """The first line of a database error (the driver's own, when wrapped), password scrubbed."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return scrub((text.splitlines() or [type(exc).__name__])[0], url)


def check_reachable(url: str, connect_timeout: int = 10) -> None:
    """Connect to ``url`` once; :class:`DatabaseError` with a reason a person can act on when
    the driver is missing, the server cannot be reached or refuses the login."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"cannot read the gradebook URL {shown}") from None
    backend = parsed.get_backend_name()
    connect_args = {"connect_timeout": connect_timeout} if backend == "postgresql" else {}
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = (" (PostgreSQL: install the `postgres` extra, psycopg 3, and write "
                "postgresql+psycopg://)" if backend == "postgresql" else "")
        raise DatabaseError(f"no database driver for the gradebook {shown}{hint}: {exc}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot reach the gradebook {shown}: {first_line(exc, url)}") from None
    finally:
        engine.dispose()


def lock_key(name: str) -> int:
    """The 64-bit key of the lock called ``name`` (PostgreSQL's ``bigint``)."""
    digest = hashlib.sha256(f"backprop-course/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def database_lock(url: str, name: str) -> Iterator[None]:
    """Hold the lock called ``name`` on the database at ``url``: one holder at a time, across
    processes and machines that use that database.

    PostgreSQL: a session advisory lock (released when its connection ends, even by a crash).
    SQLite: an exclusive ``flock`` on a file beside the database. Other databases: no lock.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    parsed = make_url(url)
    key = lock_key(name)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(parsed, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        finally:
            engine.dispose()
        return
    try:
        import fcntl
    except ImportError:  # Windows: one grader per gradebook
        fcntl = None
    if fcntl is None or parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    folder = Path(f"{parsed.database}.locks")
    folder.mkdir(exist_ok=True)
    with open(folder / f"{key & 0xFFFFFFFFFFFFFFFF:016x}", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
