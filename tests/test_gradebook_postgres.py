"""Does a PostgreSQL gradebook grade a class as SQLite does, safely with several graders at once,
without ever showing its password?

Against a real, throw-away server (the ``postgres`` fixture of ``conftest.py``: Debian's
``postgresql`` binaries, ``initdb`` in a temporary folder, a Unix socket, password logins only).
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from capture import captured_output
from conftest import TOY, class_outcome

from autograder.classroom import ClassOptions, grade_class, main
from autograder.database import lock_key
from autograder.gradebook import Workspace, learner_lock

pytestmark = pytest.mark.slow

TABLES = {"assignment", "notebook", "grade_cells", "student", "submitted_assignment", "grade",
          "course", "alembic_version"}  # fmt: skip
ENUMS = {"grade_cell_type", "source_cell_type"}


def _connect(url: str):  # noqa: ANN202 (a psycopg connection)
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(host=u.query["host"], user=u.username, password=u.password,
                           dbname=u.database, autocommit=True)


def schema_of(url: str) -> tuple[set[str], set[str]]:
    """(tables, enum types) the database at ``url`` holds."""
    with _connect(url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        enums = {r[0] for r in conn.execute("SELECT typname FROM pg_type WHERE typtype = 'e'")}
    return tables, enums


def rows_of(url: str, learner: str) -> dict[str, int]:
    """How many rows the gradebook holds for ``learner``: submissions, notebooks, grades."""
    query = """
        SELECT count(DISTINCT sa.id), count(DISTINCT sn.id), count(DISTINCT g.id)
        FROM submitted_assignment sa
        LEFT JOIN submitted_notebook sn ON sn.assignment_id = sa.id
        LEFT JOIN grade g ON g.notebook_id = sn.id
        WHERE sa.student_id = %s"""
    with _connect(url) as conn:
        (submissions, notebooks, grades), = conn.execute(query, (learner,))
        (students,), = conn.execute("SELECT count(*) FROM student WHERE id = %s", (learner,))
    return {"students": students, "submissions": submissions, "notebooks": notebooks,
            "grades": grades}


def find_secret(secret: str, text: str, files: list[Path]) -> list[str]:
    """Where ``secret`` appears: ``"output"`` and/or the files that hold it."""
    found = ["output"] if secret in text else []
    for path in files:
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path))
    return found


@pytest.fixture(scope="module")
def pg_class(postgres, toy_class, tmp_path_factory, monkeypatch_module):
    """The toy class graded by ``bp-classroom -j 2`` into an empty PostgreSQL database, the
    password in the URL; the database's schema as it was when the workers were started."""
    import autograder.classroom as classroom

    url = postgres.create_database("toy_class")
    seen: dict[str, tuple[set[str], set[str]]] = {}
    real_run_jobs = classroom.run_jobs

    def run_jobs_after_a_look(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen["at workers' start"] = schema_of(url)
        return real_run_jobs(*args, **kwargs)

    monkeypatch_module.setattr(classroom, "run_jobs", run_jobs_after_a_look)
    tmp = tmp_path_factory.mktemp("pg-class")
    ws = tmp / "grading"
    args = [TOY, str(toy_class.archive), "-w", str(ws), "--source", str(toy_class.source),
            "-j", "2", "--db", url]  # with its progress bar and log
    with captured_output(tmp / "output.txt") as output:
        code = main(args)
    return {"code": code, "url": url, "ws": ws, "output": output.read_text(errors="replace"),
            "schema": seen}


@pytest.fixture(scope="module")
def monkeypatch_module():
    """A module-scoped ``monkeypatch``."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_does_postgresql_give_the_same_grades_csv_and_feedback_as_sqlite(pg_class, toy_class):
    assert pg_class["code"] == toy_class.code == 1  # carol's file cannot be graded
    outcome = class_outcome(pg_class["ws"], toy_class.source, pg_class["url"])
    assert {"alice", "bob", "dave", "erin", "feedback/carol"} <= set(outcome)  # not vacuous
    assert outcome["csv"] == toy_class.outcome["csv"]
    assert outcome == toy_class.outcome  # every part, explanation, note and feedback page


def test_is_the_schema_made_before_the_workers_start(pg_class, postgres):
    tables, enums = pg_class["schema"]["at workers' start"]
    assert TABLES <= tables and ENUMS <= enums
    # negative control: an empty database is seen as one
    empty_tables, empty_enums = schema_of(postgres.create_database("still_empty"))
    assert not TABLES & empty_tables and not ENUMS & empty_enums


def find_files(ws: Path) -> list[Path]:
    return [p for p in ws.rglob("*") if p.is_file()]


def test_does_the_password_stay_out_of_output_logs_and_files(pg_class, postgres):
    files = [*find_files(pg_class["ws"]), postgres.log]
    assert "gradebook postgresql+psycopg://bp_grader:***@/toy_class" in pg_class["output"]
    assert find_secret(postgres.password, pg_class["output"], files) == []
    # negative control: the search finds the password where it is
    planted = pg_class["ws"].parent / "planted.txt"
    planted.write_text(f"url: {pg_class['url']}")
    assert find_secret(postgres.password, pg_class["url"], [planted]) == ["output", str(planted)]


def test_is_an_unreachable_or_refusing_database_a_clear_error_before_grading(
    postgres, toy_class, tmp_path, capfd
):
    nowhere = "postgresql+psycopg://bp_grader:n0t-th1s-0ne@/toy?host=/nonexistent-folder"
    wrong_password = postgres.url("postgres").replace(postgres.password, "n0t-th1s-0ne")
    for url, why in ((nowhere, "No such file or directory"),
                     (wrong_password, "password authentication failed")):
        ws = tmp_path / "ws"
        start = time.monotonic()
        code = main([TOY, str(toy_class.archive), "-w", str(ws), "--source", str(toy_class.source),
                     "--db", url, "-q"])
        err = capfd.readouterr().err
        assert code == 2 and time.monotonic() - start < 15
        assert "bp-classroom: cannot reach the gradebook postgresql+psycopg://bp_grader:***@/" in err
        assert why in err
        assert "n0t-th1s-0ne" not in err
        assert sorted(p.name for p in ws.iterdir()) == []  # nothing filed, nothing graded


def _grade_alone(ws: Path, source: Path, folder: Path, url: str, conn) -> None:  # noqa: ANN001
    results = grade_class(Workspace(ws, source=source, db_url=url), TOY, folder,
                          ClassOptions(progress=False), log=lambda msg: None)
    conn.send([(r.learner, r.status, r.score, r.reason) for r in results])


def test_is_the_same_learner_graded_twice_at_once_stored_once(postgres, toy_course, toy_submissions):
    source, _ = toy_course
    url = postgres.create_database("twice")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in" / "alice"
        folder.mkdir(parents=True)
        nbformat.write(toy_submissions["reference"], folder / f"{TOY}.ipynb")
        ctx = mp.get_context("fork")
        pipes, graders = [], []
        # Two graders (two workspaces, as on two machines) share the gradebook. While the test
        # holds alice's lock, both must come to wait for it: then they really collide.
        with learner_lock(Workspace(Path(tmp), source=source, db_url=url), TOY, "alice"):
            for name in ("one", "two"):
                reader, writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_grade_alone,
                                   args=(Path(tmp) / name, source, folder.parent, url, writer))
                proc.start()
                pipes.append(reader)
                graders.append(proc)
            deadline = time.monotonic() + 60
            while _waiting_for_locks(url) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _waiting_for_locks(url) == 2
        outcomes = [pipe.recv() if pipe.poll(120) else "no answer" for pipe in pipes]
        for proc in graders:
            proc.join(30)
    assert outcomes == [[("alice", "graded", 4.0, "")]] * 2
    assert rows_of(url, "alice") == {"students": 1, "submissions": 1, "notebooks": 1, "grades": 3}
    assert rows_of(url, "nobody") == {"students": 0, "submissions": 0, "notebooks": 0, "grades": 0}


def _waiting_for_locks(url: str) -> int:
    with _connect(url) as conn:
        (count,), = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return count


def test_does_a_learner_lock_keep_out_a_second_holder_only(postgres, tmp_path):
    """The lock the test above relies on: held, nobody else gets it; other learners are free."""
    url = postgres.create_database("locks")
    ws = Workspace(tmp_path, db_url=url)

    def try_lock(name: str) -> bool:
        key = lock_key(f"{ws.course_id}/{name}")
        with _connect(url) as conn:
            (got,), = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
        return got

    with learner_lock(ws, TOY, "alice"):
        assert not try_lock(f"learner/{TOY}/alice")
        assert try_lock(f"learner/{TOY}/bob")
    assert try_lock(f"learner/{TOY}/alice")
