"""The audit log is append-only in the database itself (SQLite and PostgreSQL), and reads
back oldest first, from a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError

from scheduler import audit
from scheduler.timeparse import utcnow


def test_rows_can_be_added_and_read_but_never_changed_or_deleted(engine: Engine) -> None:
    audit.record(engine, "petugas", "queue", 1, ["x-lapas"], title="Rakor")
    audit.record(engine, "kasubag", "approve", 1, ["x-lapas"], comment="Silakan")
    assert [(e.actor, e.action, e.detail) for e in audit.entries(engine)] == [
        ("petugas", "queue", {"title": "Rakor"}), ("kasubag", "approve", {"comment": "Silakan"})]
    for statement in ("UPDATE audit_log SET actor = 'orang lain'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as c:
            c.execute(text(statement))
    assert len(audit.entries(engine)) == 2


def test_entries_from_a_time_and_of_one_release(engine: Engine) -> None:
    audit.record(engine, "petugas", "queue", 1)
    audit.record(engine, "petugas", "queue", 2)
    assert [e.release_id for e in audit.entries(engine, release_id=2)] == [2]
    assert audit.entries(engine, since=utcnow() + timedelta(minutes=1)) == []
    assert len(audit.entries(engine, since=utcnow() - timedelta(minutes=1))) == 2


def test_an_unknown_action_is_a_bug_not_a_row(engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(engine, "petugas", "publish", 1)
