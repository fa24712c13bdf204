"""The audit log is append-only in the database itself (SQLite and PostgreSQL), and reads
back oldest first, from a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, IntegrityError

from scheduler import audit
from scheduler.timeparse import iso, utcnow


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


def test_a_content_calendar_is_audited_release_by_release_with_its_posts_or_not_at_all(
        engine: Engine) -> None:
    from scheduler import approval, queue
    from scheduler.settings import Settings
    from tests.daemon.conftest import release, variant

    due = utcnow() + timedelta(hours=1)
    items = [queue.BulkItem(release(f"Rilis {i}"), [variant("akun-a"), variant("akun-b")], due,
                            "Asia/Makassar") for i in range(3)]
    ids = approval.enqueue_bulk(engine, Settings(), items, by="petugas")
    one = audit.record  # the rows are those record() writes for one release
    one(engine, "petugas", "queue", ids[0], ["akun-b", "akun-a"],
        due_at=iso(due, "Asia/Makassar"), title="Rilis 0")
    rows = audit.entries(engine)
    assert [(e.actor, e.action, e.release_id, e.accounts, e.detail) for e in rows] == [
        *[("petugas", "queue", release_id, ["akun-a", "akun-b"],
           {"due_at": iso(due, "Asia/Makassar"), "title": f"Rilis {i}"})
          for i, release_id in enumerate(ids)],
        ("petugas", "queue", ids[0], ["akun-a", "akun-b"],
         {"due_at": iso(due, "Asia/Makassar"), "title": "Rilis 0"})]
    assert rows[0].at.tzinfo is not None and abs(rows[0].at - rows[-1].at) < timedelta(minutes=1)

    # a calendar that cannot be stored leaves no audit row behind either
    broken = queue.BulkItem(release("Rusak"), [variant("akun-b"), variant("akun-b")], due)
    with pytest.raises(IntegrityError):
        approval.enqueue_bulk(engine, Settings(), [*items, broken], by="petugas")
    assert len(audit.entries(engine)) == 4


def test_one_release_is_audited_with_its_posts_or_not_at_all(engine: Engine) -> None:
    from scheduler import approval, queries
    from scheduler.settings import Settings
    from tests.daemon.conftest import release, variant

    due = utcnow() + timedelta(hours=1)
    stored, _queued = approval.enqueue(engine, Settings(), release("Rakor"),
                                      [variant("akun-b"), variant("akun-a")], due,
                                      zone="Asia/Makassar", by="petugas")
    assert [(e.actor, e.action, e.release_id, e.accounts, e.detail)
            for e in audit.entries(engine)] == [
        ("petugas", "queue", stored.id, ["akun-a", "akun-b"],
         {"due_at": iso(due, "Asia/Makassar"), "title": "Rakor"})]

    # a release that cannot be stored (one account twice) leaves no audit row behind either
    with pytest.raises(IntegrityError):
        approval.enqueue(engine, Settings(), release("Rusak"),
                         [variant("akun-b"), variant("akun-b")], due, zone=None, by="petugas")
    assert len(audit.entries(engine)) == 1
    assert {post.release_id for post, _release in queries.posts(engine)} == {stored.id}

    # nor is a release stored whose audit row cannot be written
    with engine.begin() as c:
        c.execute(text("ALTER TABLE audit_log RENAME TO audit_log_elsewhere"))
    with pytest.raises(DatabaseError):
        approval.enqueue(engine, Settings(), release("Tanpa jejak"), [variant("akun-c")], due,
                         zone=None, by="petugas")
    assert {post.release_id for post, _release in queries.posts(engine)} == {stored.id}
