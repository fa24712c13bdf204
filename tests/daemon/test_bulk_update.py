"""Many rows changed by one statement (scheduler.bulk), on SQLite and on PostgreSQL: what it
writes reads back exactly as if the ORM had written it, and only the rows it is meant for
change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from scheduler import bulk
from scheduler.db import session
from scheduler.models import Attempt, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_many

POST = Post.__table__  # type: ignore[attr-defined]


def posts(engine: Engine, count: int) -> list[int]:
    base = utcnow() + timedelta(hours=1)
    accounts = [f"bulk-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    queue_many(engine, [(account, base) for account in accounts])
    with session(engine) as s:
        by_account = dict(s.execute(select(Post.account, Post.id)
                                    .where(Post.account.in_(accounts))).all())
    return [by_account[account] for account in accounts]


def update(engine: Engine, rows: list[dict[str, Any]], **kwargs: Any) -> list[tuple[Any, ...]]:
    with engine.begin() as connection:
        return [tuple(row) for row in bulk.update_from_rows(
            connection, POST, rows, match=("id",), returning=("id",), **kwargs)]


def stored(engine: Engine, post_id: int) -> Post:
    with session(engine) as s:
        found = s.get(Post, post_id)
        assert found is not None
        return found


def test_every_row_is_set_to_its_own_values_and_returned(engine: Engine) -> None:
    ids = posts(engine, 3)
    when = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
    rows = [{"id": post_id, "status": Status.RETRY.value, "last_error": f"error {n}",
             "not_before": when + timedelta(minutes=n), "progress": {"parts": [n]}}
            for n, post_id in enumerate(ids)]
    assert sorted(update(engine, rows)) == [(i,) for i in sorted(ids)]
    for n, post_id in enumerate(ids):
        post = stored(engine, post_id)
        assert (post.status, post.last_error, post.progress) == (
            "retry", f"error {n}", {"parts": [n]})
        assert post.not_before == when + timedelta(minutes=n)


def test_a_row_the_guard_refuses_is_left_alone_and_not_returned(engine: Engine) -> None:
    publishing, scheduled = posts(engine, 2)
    with engine.begin() as connection:
        connection.execute(POST.update().where(POST.c.id == publishing)
                           .values(status=Status.PUBLISHING.value))
    changed = update(engine, [{"id": i, "last_error": "x"} for i in (publishing, scheduled)],
                     guard={"status": "'publishing'"})
    assert changed == [(publishing,)]
    assert stored(engine, scheduled).last_error is None


def test_fixed_columns_take_the_same_sql_for_every_row(engine: Engine) -> None:
    ids = posts(engine, 2)
    update(engine, [{"id": i, "status": "failed"} for i in ids],
           fixed={"lease_owner": "NULL", "last_error": ":why"}, params={"why": "same"})
    assert {stored(engine, i).last_error for i in ids} == {"same"}


def test_no_rows_is_no_statement(engine: Engine) -> None:
    with engine.begin() as connection:
        assert bulk.update_from_rows(connection, POST, [], match=("id",)) == []


def test_a_time_is_stored_in_the_very_form_the_orm_stores_it(engine: Engine) -> None:
    """SQLite compares times as text: one written in another form would sort wrongly
    against every time the ORM wrote (a retry due too early or never)."""
    by_orm, by_bulk = posts(engine, 2)
    when = datetime(2026, 12, 1, 1, 2, 3, 4, tzinfo=UTC)
    with session(engine) as s:
        post = s.get(Post, by_orm)
        assert post is not None
        post.not_before = when
        s.commit()
    update(engine, [{"id": by_bulk, "not_before": when}])
    with engine.connect() as connection:
        raw = dict(connection.execute(
            text("SELECT id, CAST(not_before AS TEXT) FROM post WHERE id IN (:a, :b)"),
            {"a": by_orm, "b": by_bulk}).all())
    assert raw[by_orm] == raw[by_bulk]


# any text but NUL, which PostgreSQL's text type cannot hold
texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                max_size=200)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | texts,
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts, inner, max_size=4), max_leaves=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(error=texts, progress=st.dictionaries(texts, json_values, max_size=4))
def test_any_text_and_json_round_trip(engine: Engine, error: str,
                                      progress: dict[str, Any]) -> None:
    [post_id] = posts(engine, 1)
    update(engine, [{"id": post_id, "last_error": error, "progress": progress}])
    with session(engine) as s:
        assert s.execute(select(Post.last_error, Post.progress)
                         .where(Post.id == post_id)).one() == (error, progress)



def test_inserted_rows_read_back_as_the_orm_wrote_them(engine: Engine) -> None:
    ids = posts(engine, 2)
    when = datetime(2026, 12, 1, 1, 2, 3, 4, tzinfo=UTC)
    with engine.begin() as connection:
        bulk.insert_rows(connection, Attempt.__table__,  # type: ignore[attr-defined]
                         [{"post_id": i, "attempt": n + 1, "started_at": when,
                           "detail": {"n": n, "teks": "Humas ✓"}} for n, i in enumerate(ids)],
                         fixed={"node": ":node"}, params={"node": "node-é"})
    with session(engine) as s:
        rows = s.scalars(select(Attempt).where(Attempt.post_id.in_(ids))
                         .order_by(Attempt.attempt)).all()
        assert [(a.post_id, a.attempt, a.node, a.started_at, a.detail, a.finished_at)
                for a in rows] == [
            (i, n + 1, "node-é", when, {"n": n, "teks": "Humas ✓"}, None)
            for n, i in enumerate(ids)]
