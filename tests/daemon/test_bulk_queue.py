"""Bulk queueing (``queue.enqueue_bulk``), specified once and run against SQLite and PostgreSQL.

The bulk path writes rows the driver's fastest way, past SQLAlchemy's types; these tests
pin down that it stores exactly what :func:`queue.enqueue` stores, keeps the order of
its input, and is all or nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from channels.variant import Media, Variant
from scheduler import queue
from scheduler.db import QUEUE_CHANNEL, session
from scheduler.models import AccountState, Post, Release, Status
from scheduler.releases import ImageRef, ReleaseDoc
from scheduler.timeparse import utcnow
from tests.daemon.conftest import release, variant

#: what differs between two rows queued for the same thing at different moments
VARYING = {"id", "release_id", "publish_key", "created_at", "updated_at"}


def stored(engine: Engine, table: str, row_id: int) -> dict[str, Any]:
    """A row as the database holds it: every column as text, past SQLAlchemy's types."""
    with engine.connect() as connection:
        columns = [c["name"] for c in connection.dialect.get_columns(connection, table)]
        cast = ", ".join(f"CAST({c} AS TEXT) AS {c}" for c in columns)
        row = connection.execute(text(f"SELECT {cast} FROM {table} WHERE id = :id"),
                                 {"id": row_id}).mappings().one()
    return dict(row)


def shape(stamp: str) -> str:
    """A stored time with its numbers blanked: the form, not the moment."""
    return re.sub(r"\d+", "0", stamp)


def post_ids_of(engine: Engine, release_id: int) -> list[int]:
    with session(engine) as s:
        return list(s.scalars(select(Post.id).where(Post.release_id == release_id)
                              .order_by(Post.account)))


def a_full_release() -> ReleaseDoc:
    """A release using every column the bulk path writes."""
    return ReleaseDoc(source="rilis.md", title="Rakor Nasional", body="Isi **siaran** pers.",
                      hashtags=["HumasBergerakBersama", "Pemasyarakatan"],
                      link="https://lapas.example.go.id/berita/rakor", mentions=["ditjenpas"],
                      images=[ImageRef(path=Path("foto.jpg"), alt="Peserta rakor")],
                      summary="Satu kalimat.", zone="Asia/Makassar")


def a_full_variant(account: str) -> Variant:
    """A variant using every field its JSON has, non-ASCII text included."""
    return Variant(account=account, channel="bluesky", parts=["Rakor — bagian 1", "bagian 2"],
                   length=[16, 8], limit=300, warnings=["dipotong"],
                   media=[Media(path="foto.jpg", alt="Peserta", mime="image/jpeg")],
                   link="https://lapas.example.go.id/berita/rakor", title="Rakor",
                   extra={"facets": [[{"index": {"byteStart": 0, "byteEnd": 5}}], []],
                          "langs": ["id"]})


def test_bulk_rows_are_the_rows_enqueue_stores(engine: Engine) -> None:
    due = utcnow() + timedelta(days=1, microseconds=7)
    doc, variants = a_full_release(), [a_full_variant("akun-a"), variant("akun-b")]
    one, _ = queue.enqueue(engine, doc, variants, due, zone="Asia/Jayapura")
    [bulk] = queue.enqueue_bulk(engine, [queue.BulkItem(doc, variants, due, "Asia/Jayapura")])

    single, many = stored(engine, "release", one.id), stored(engine, "release", bulk)  # type: ignore[arg-type]
    assert {k: v for k, v in many.items() if k not in VARYING} == \
           {k: v for k, v in single.items() if k not in VARYING}
    assert shape(many["created_at"]) == shape(single["created_at"])
    for single_id, bulk_id in zip(post_ids_of(engine, one.id), post_ids_of(engine, bulk),  # type: ignore[arg-type]
                                  strict=True):
        single, many = stored(engine, "post", single_id), stored(engine, "post", bulk_id)
        assert {k: v for k, v in many.items() if k not in VARYING} == \
               {k: v for k, v in single.items() if k not in VARYING}
        assert shape(many["created_at"]) == shape(single["created_at"])
        assert shape(many["updated_at"]) == shape(single["updated_at"])


def test_ids_come_back_in_the_order_of_the_items(engine: Engine) -> None:
    due = utcnow() + timedelta(hours=1)
    titles = [f"Rilis {i}" for i in range(30)]
    ids = queue.enqueue_bulk(engine, [
        queue.BulkItem(release(title), [variant("akun-a"), variant("akun-b")],
                       due - timedelta(minutes=i))  # later items due earlier
        for i, title in enumerate(titles)])
    with session(engine) as s:
        stored_titles = {r.id: r.title for r in s.scalars(select(Release))}
        posts = list(s.scalars(select(Post)))
    assert [stored_titles[i] for i in ids] == titles
    assert len(set(ids)) == len(ids)
    assert sorted((p.release_id, p.account) for p in posts) == \
           sorted((i, a) for i in ids for a in ("akun-a", "akun-b"))


def test_posts_sharing_one_variant_each_get_a_row_and_a_key_of_their_own(engine: Engine) -> None:
    shared = a_full_variant("akun-a")  # a calendar: the same text every week
    start = utcnow() + timedelta(days=1)
    ids = queue.enqueue_bulk(engine, [queue.BulkItem(release(f"Pekan {week}"), [shared],
                                                     start + timedelta(weeks=week))
                                      for week in range(4)])
    with session(engine) as s:
        posts = sorted(s.scalars(select(Post)), key=lambda p: ids.index(p.release_id))
    assert [Variant.from_json(p.variant) for p in posts] == [shared] * 4
    assert [p.due_at for p in posts] == [start + timedelta(weeks=w) for w in range(4)]
    assert {p.status for p in posts} == {Status.SCHEDULED.value}
    keys = [p.publish_key for p in posts]
    assert len(set(keys)) == 4
    assert all(uuid.UUID(hex=k).version == 4 and uuid.UUID(hex=k).hex == k for k in keys)


def test_a_failure_mid_batch_queues_nothing(engine: Engine) -> None:
    due = utcnow() + timedelta(hours=1)
    good = [queue.BulkItem(release(f"Rilis {i}"), [variant("akun-a")], due) for i in range(5)]
    # the same account twice in one release breaks uq_post_release_account
    broken = queue.BulkItem(release("Rusak"), [variant("akun-b"), variant("akun-b")], due)
    with pytest.raises(IntegrityError):
        queue.enqueue_bulk(engine, [*good[:3], broken, *good[3:]])
    with session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 0
        assert s.scalar(select(func.count()).select_from(Post)) == 0
        assert s.scalar(select(func.count()).select_from(AccountState)) == 0
    # and the queue goes on as if nothing had been tried
    ids = queue.enqueue_bulk(engine, good)
    assert len(ids) == 5
    [claim] = queue.claim_due(engine, "node-a", now=due)
    assert claim.account == "akun-a"


def test_a_variant_that_cannot_be_stored_mid_batch_queues_nothing(engine: Engine) -> None:
    due = utcnow() + timedelta(hours=1)
    unstorable = Variant(account="akun-b", channel="counting", parts=["x"], length=[1],
                         limit=500, extra={"card": object()})  # not JSON
    items = [queue.BulkItem(release(f"Rilis {i}"), [variant("akun-a")], due) for i in range(3)]
    with pytest.raises(TypeError):
        queue.enqueue_bulk(engine, [*items, queue.BulkItem(release("Rusak"), [unstorable], due),
                                    *items])
    with session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 0
        assert s.scalar(select(func.count()).select_from(Post)) == 0


def test_bulk_queued_posts_are_claimable_by_every_account(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue.enqueue_bulk(engine, [queue.BulkItem(release(f"Rilis {i}"),
                                               [variant("akun-a"), variant("akun-b")], due)
                                for i in range(3)])
    claims = queue.claim_due(engine, "node-a", limit=10)
    assert sorted(c.account for c in claims) == ["akun-a", "akun-b"]


@pytest.mark.postgres
def test_bulk_queueing_wakes_listening_daemons(pg_engine: Engine) -> None:
    import psycopg

    url = pg_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {QUEUE_CHANNEL}")
        queue.enqueue_bulk(pg_engine, [queue.BulkItem(release(), [variant("akun-a")],
                                                      utcnow() + timedelta(hours=1))])
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == \
               [QUEUE_CHANNEL]
