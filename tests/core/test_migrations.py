"""The schema is managed by Alembic: from empty to head, and back down and up again."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from scheduler import db

TABLES = {"release", "post", "attempt", "accountstate", "node"}


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(tmp_path: Path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'siar.db'}")
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.HEAD_REVISION
    assert tables(engine) >= TABLES


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'siar.db'}")
    db.upgrade(engine)
    db.downgrade(engine, "base")
    assert tables(engine) == set()
    db.upgrade(engine)
    assert tables(engine) >= TABLES


def test_the_head_revision_siar_expects_is_alembics_head():
    """``scheduler/revision.py`` names the newest migration without importing Alembic (a
    daemon at head never loads it): it must be the head of ``scheduler/migrations``."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db._alembic_config(db.make_engine("sqlite://")))
    assert script.get_heads() == [db.HEAD_REVISION]


def test_schema_is_applied_on_first_use(tmp_path: Path):
    engine = db.open_database(f"sqlite:///{tmp_path / 'nested' / 'siar.db'}")
    assert db.current_revision(engine) == db.HEAD_REVISION


def test_models_and_migrations_agree(tmp_path: Path):
    """Autogenerate finds nothing to do: no model change lacks its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import scheduler.models  # noqa: F401

    engine = db.make_engine(f"sqlite:///{tmp_path / 'siar.db'}")
    db.upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


#: a process that sets up the schema when told to (a line on stdin): imports first, so
#: that the processes meet at the database, not in their imports
_SET_UP = """
import sys
import alembic.command, scheduler.models  # noqa: F401
from scheduler.db import ensure_schema, make_engine
engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
ensure_schema(engine)
"""


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """The URL of a PostgreSQL database no Siar has set up (dropped afterwards)."""
    from tests.conftest import _admin, _database_url, drop_postgres_database

    url = _database_url(postgres_url, f"siar_empty_{uuid.uuid4().hex[:12]}")
    _admin(postgres_url, f"CREATE DATABASE {url.rsplit('/', 1)[1]}")
    yield url
    drop_postgres_database(postgres_url, url)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database no Siar has set up, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'siar.db'}"
    return request.getfixturevalue("empty_postgres")


def test_processes_starting_together_on_an_empty_database_set_it_up_once(
        empty_database: str) -> None:
    """A daemon and ``siar add`` started at once on a new database (as the demo and the
    benchmark do) both find no schema: one sets it up, the other waits and finds it done,
    instead of failing on "table already exists"."""
    processes = [subprocess.Popen([sys.executable, "-c", _SET_UP, empty_database],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:  # all at once
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=120) for process in processes]

    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in results]
    engine = db.make_engine(empty_database)
    assert db.current_revision(engine) == db.HEAD_REVISION
    assert tables(engine) >= TABLES
    engine.dispose()


def test_a_schema_set_up_by_another_process_during_the_first_read_is_read_again(
        empty_postgres: str) -> None:
    """The revision read fails on a new database, and before Siar asks whether the table
    exists, another process has set the database up: the revision is read again, not
    reported as a failure (a daemon started beside ``siar add`` exited 70 on it).
    PostgreSQL only: on SQLite the failed read holds the writer lock until its rollback,
    so the other process cannot get in between there in a test."""
    from sqlalchemy import event

    engine, other = db.make_engine(empty_postgres), db.make_engine(empty_postgres)
    event.listen(engine, "rollback", lambda _connection: db.upgrade(other), once=True)
    try:
        assert db.current_revision(engine) == db.HEAD_REVISION
    finally:
        engine.dispose()
        other.dispose()
