"""Is a gradebook URL never shown with its password, and does an SQLite gradebook's lock hold?"""

from __future__ import annotations

import fcntl

import pytest

from autograder.database import (
    DatabaseError,
    check_reachable,
    database_lock,
    lock_key,
    redact_url,
    scrub,
)


def test_is_a_password_never_shown():
    url = "postgresql+psycopg://grader:s3cr3t-pw@db.example.org:5432/course?sslmode=require"
    assert redact_url(url) == (
        "postgresql+psycopg://grader:***@db.example.org:5432/course?sslmode=require")
    assert redact_url("sqlite:////tmp/gradebook.db") == "sqlite:////tmp/gradebook.db"
    assert "s3cr3t" not in redact_url("not a url s3cr3t")  # unparsable: not shown at all
    message = 'FATAL: password "s3cr3t-pw" was refused'
    assert scrub(message, url) == 'FATAL: password "***" was refused'
    assert scrub(message, "sqlite:////tmp/x.db") == message  # (the control: nothing to hide)


def test_is_a_missing_driver_or_folder_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match=r"no database driver .*\*\*\*"):
        check_reachable("nosuchdialect://u:s3cr3t@host/db")
    with pytest.raises(DatabaseError, match="cannot reach the gradebook sqlite:///"):
        check_reachable(f"sqlite:///{tmp_path}/no/such/folder/gradebook.db")
    check_reachable(f"sqlite:///{tmp_path}/gradebook.db")  # a folder that exists: fine


def test_does_an_sqlite_lock_keep_out_a_second_holder_only(tmp_path):
    url = f"sqlite:///{tmp_path}/gradebook.db"

    def free(name: str) -> bool:
        path = tmp_path / "gradebook.db.locks" / f"{lock_key(name) & 0xFFFFFFFFFFFFFFFF:016x}"
        with open(path, "a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(fh, fcntl.LOCK_UN)
            return True

    with database_lock(url, "course/learner/a/alice"):
        assert not free("course/learner/a/alice")
        assert free("course/learner/a/bob")
    assert free("course/learner/a/alice")
