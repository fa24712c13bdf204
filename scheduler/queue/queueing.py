"""Queueing: a release and one ``scheduled`` post per variant, all or nothing.

:func:`enqueue` is the CLI's path for one release; :func:`enqueue_bulk` stores many (an
import, a content calendar) in one transaction the driver's fastest way;
:func:`enqueue_occurrence` materialises one occurrence of a recurring release exactly
once, however many daemons race for it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from channels.variant import Variant
from scheduler import bulk
from scheduler.db import connection, notify_queue, transaction
from scheduler.queue.accounts import ensure_account_rows
from scheduler.queue.records import BulkItem
from scheduler.states import Status
from scheduler.tables import POST, RELEASE
from scheduler.timeparse import to_db, utcnow

if TYPE_CHECKING:  # scheduler.releases: YAML and pydantic models the daemon's start skips
    from scheduler.models import Post, Release
    from scheduler.releases import ReleaseDoc


def enqueue(engine: Engine, doc: ReleaseDoc, variants: Sequence[Variant], due_at: datetime,
            *, zone: str | None = None, parent_id: int | None = None,
            awaiting: Collection[str] = (),
            then: Callable[[Connection, Release, list[Post]], None] | None = None
            ) -> tuple[Release, list[Post]]:
    """Store a release and one scheduled post per variant, all or nothing; the posts of
    the accounts in ``awaiting`` wait for an approver (``awaiting_approval``).
    ``then(connection, release, posts)`` runs in that transaction once the rows are written
    (the audit row of who queued it: stored with the posts or not at all)."""
    from scheduler.models import Post, Release  # the ORM: not for the bulk path

    due = to_db(due_at)
    with transaction(engine) as s:
        release = Release(
            title=doc.title, body=doc.body, source=doc.source, zone=zone or doc.zone, due_at=due,
            hashtags=list(doc.hashtags), link=doc.link, mentions=list(doc.mentions),
            images=[{"path": str(i.path), "alt": i.alt} for i in doc.images],
            summary=doc.summary, language=doc.language, repeat=doc.repeat, parent_id=parent_id,
        )
        s.add(release)
        s.flush()
        posts = [
            Post(release_id=release.id, account=v.account, network=v.channel,
                 variant=v.to_json(), due_at=due, not_before=due,
                 publish_key=uuid.uuid4().hex, status=_status(doc, v, awaiting),
                 link_from=_link_from(doc, v))
            for v in variants
        ]
        s.add_all(posts)
        s.flush()
        ensure_account_rows(s, {v.account for v in variants})
        if then is not None:
            then(s.connection(), release, posts)
        notify_queue(s.connection())
    return release, posts


def enqueue_bulk(engine: Engine, items: Sequence[BulkItem], *,
                 then: Callable[[Connection, list[int]], None] | None = None) -> list[int]:
    """Queue many releases in one transaction; returns their ids in the order of ``items``.
    ``then(connection, ids)`` runs in that transaction once the rows are written (the
    audit rows of who queued them: stored with the posts or not at all).

    The path for imports and recurring calendars: all or nothing like :func:`enqueue`,
    and the same rows, written the driver's fastest way (:class:`BulkWriter`).
    """
    if not items:
        return []
    with bulk_writer(engine) as writer:
        ids = writer.add(items)
        if then is not None:
            then(writer.connection, ids)
    return ids


@contextmanager
def bulk_writer(engine: Engine) -> Iterator[BulkWriter]:
    """One transaction that stores releases batch after batch (:meth:`BulkWriter.add`) and
    commits them together when the block ends, or none of them if it raises: a caller
    may store the first releases of a calendar while it still reads the last ones.
    Core statements only: importing the ORM and the models cost a third of a second."""
    with connection(engine) as connected:
        writer = BulkWriter(connected)
        yield writer
        ensure_account_rows(connected, writer.accounts)
        notify_queue(connected)


class BulkWriter:
    """Releases and their posts stored in batches, in the transaction of :func:`bulk_writer`.

    Release ids are reserved per batch, so posts can name theirs without ``RETURNING``;
    rows go in as plain values (:func:`scheduler.bulk.copy_rows`), each time and each
    variant's JSON converted once, not once per column per row by SQLAlchemy's types (a
    variant object shared by several posts is serialised once). Rows are made while they
    are written, so PostgreSQL stores the first posts while later ones are still being
    made.
    """

    def __init__(self, connected: Connection) -> None:
        self.connection: Connection = connected
        #: every account a stored post is for (their ``account_state`` rows: at the end)
        self.accounts: set[str] = set()
        self._stored_time = _bulk_time_converter(self.connection)
        self._now = self._stored_time(utcnow())

    def add(self, items: Sequence[BulkItem]) -> list[int]:
        """Store ``items`` (releases after those stored before); their ids, in order."""
        if not items:
            return []
        connection, now, stored_time = self.connection, self._now, self._stored_time
        ids = _reserve_release_ids(connection, len(items))
        dues = [stored_time(item.due_at) for item in items]
        bulk.copy_rows(connection, RELEASE, _BULK_RELEASE_COLUMNS, (
            (release_id, item.doc.title, item.doc.body, item.doc.source,
             item.zone or item.doc.zone, due, _json_list(item.doc.hashtags), item.doc.link,
             _json_list(item.doc.mentions),
             _json_list([{"path": str(m.path), "alt": m.alt} for m in item.doc.images]),
             item.doc.summary, item.doc.language, item.doc.repeat, None, now)
            for release_id, item, due in zip(ids, items, dues, strict=True)))
        bulk.copy_rows(connection, POST, _BULK_POST_COLUMNS,
                       _bulk_post_rows(ids, items, dues, now))
        self.accounts.update(v.account for item in items for v in item.variants)
        return ids


#: the columns of :func:`enqueue_bulk`'s rows, in order; the rest take their defaults
#: (NULL), and ``post.id`` is the database's to choose
_BULK_RELEASE_COLUMNS = ("id", "title", "body", "source", "zone", "due_at", "hashtags", "link",
                         "mentions", "images", "summary", "language", "repeat", "parent_id",
                         "created_at")
_BULK_POST_COLUMNS = ("release_id", "account", "network", "variant", "status", "due_at",
                      "not_before", "attempt", "publish_key", "progress", "created_at",
                      "updated_at", "link_from")


def _bulk_post_rows(ids: Sequence[int], items: Sequence[BulkItem], dues: Sequence[Any],
                    now: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``_BULK_POST_COLUMNS`` for every variant of every item."""
    keys = _publish_keys(sum(len(item.variants) for item in items))
    scheduled = Status.SCHEDULED.value
    variant_json: dict[int, str] = {}  # by id(): the items keep every variant alive
    for release_id, item, due in zip(ids, items, dues, strict=True):
        for v in item.variants:
            stored = variant_json.get(id(v))
            if stored is None:
                stored = variant_json[id(v)] = _variant_text(v)
            status = (scheduled if item.doc.link_from is None and not item.awaiting
                      else _status(item.doc, v, item.awaiting))
            yield (release_id, v.account, v.channel, stored, status, due, due, 0, next(keys),
                   "{}", now, now, _link_from(item.doc, v))


def _link_from(doc: ReleaseDoc, variant: Variant) -> str | None:
    """Website first: the account whose post gives this one its link (not its own)."""
    return doc.link_from if doc.link_from not in (None, variant.account) else None


def _status(doc: ReleaseDoc, variant: Variant, awaiting: Collection[str] = ()) -> str:
    """A post under approval waits for the approver; one whose link is another post's
    address waits for it; others are scheduled."""
    if variant.account in awaiting:
        return Status.AWAITING_APPROVAL.value
    return (Status.WAITING if _link_from(doc, variant) else Status.SCHEDULED).value


def _variant_text(variant: Variant) -> str:
    """``json.dumps(variant.to_json())`` without the copies ``to_json`` makes for a caller
    that keeps the dict (its deep copy of ``extra`` was a fifth of writing a post): the
    same keys in the same order, ``extra``'s last, overriding as ``dict.update`` does."""
    return bulk.json_text({
        "account": variant.account, "channel": variant.channel, "parts": variant.parts,
        "length": variant.length, "limit": variant.limit, "warnings": variant.warnings,
        "media": [asdict(m) for m in variant.media], "link": variant.link,
        "title": variant.title, **variant.extra})


def _bulk_time_converter(connection: Connection) -> Callable[[datetime], Any]:
    """A time as the driver takes it for ``post.due_at`` and the other time columns: the
    column type's own conversion (SQLite: the text SQLAlchemy stores), so bulk rows are
    the same as the ORM's."""
    dialect = connection.dialect
    convert = POST.c.due_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert convert is not None  # UTCDateTime always converts (it refuses naive times)
    return lambda instant: convert(to_db(instant))


def _json_list(values: Sequence[Any]) -> str:
    """A list column's JSON, as SQLAlchemy's JSON type writes it (``json.dumps``; Siar's
    engines set no other serialiser)."""
    return bulk.json_text(list(values)) if values else "[]"


def _reserve_release_ids(connection: Connection, count: int) -> list[int]:
    """Ids for ``count`` new releases, ascending."""
    if connection.dialect.name == "postgresql":
        return sorted(connection.scalars(
            select(func.nextval(func.pg_get_serial_sequence("release", "id")))
            .select_from(func.generate_series(1, count))))
    # The transaction began with BEGIN IMMEDIATE: no one else can insert a release before
    # this one commits, and max + 1 is the id SQLite would have chosen itself.
    first = connection.scalar(select(func.coalesce(func.max(RELEASE.c.id), 0))) + 1
    return list(range(first, first + count))


def _publish_keys(count: int) -> Iterator[str]:
    """``count`` random UUIDs (version 4) in hex, the form ``Post.publish_key`` takes.

    All the randomness in one call: ``uuid.uuid4().hex`` per post cost 5 µs, a tenth of
    bulk queueing's CPU; this is 0.8 µs.
    """
    random = bytearray(os.urandom(16 * count))
    # RFC 4122: version 4 in the high nibble of byte 6, the variant bits 10 in byte 8
    random[6::16] = bytes(b & 0x0F | 0x40 for b in random[6::16])
    random[8::16] = bytes(b & 0x3F | 0x80 for b in random[8::16])
    hexed = random.hex()
    return (hexed[i:i + 32] for i in range(0, 32 * count, 32))


def enqueue_occurrence(engine: Engine, template: Release, due_at: datetime) -> int | None:
    """Queue one occurrence of a recurring release: a child release with the template's
    posts (same composed text, fresh publish keys), all or nothing.

    Returns its id, or ``None`` if the occurrence exists already — the unique
    ``(parent_id, due_at)`` lets exactly one of several racing daemons create it — or if
    staff cancelled every post of the template (the series stopped).
    """
    from scheduler.models import Post, Release

    due = to_db(due_at)
    try:
        with transaction(engine) as s:
            posts = [p for p in s.scalars(select(Post).where(Post.release_id == template.id))
                     if p.status not in _SERIES_STOPPED]
            if not posts:
                return None
            child = Release(
                title=template.title, body=template.body, source=template.source,
                zone=template.zone, due_at=due, hashtags=list(template.hashtags),
                link=template.link, images=list(template.images),
                mentions=list(template.mentions), summary=template.summary,
                language=template.language, repeat=None, parent_id=template.id)
            s.add(child)
            s.flush()
            s.add_all(Post(release_id=child.id, account=p.account,  # type: ignore[arg-type]
                           network=p.network, variant=dict(p.variant), due_at=due,
                           not_before=due, publish_key=uuid.uuid4().hex,
                           status=_occurrence_status(p.status)) for p in posts)
            notify_queue(s.connection())
            return child.id
    except IntegrityError:
        return None  # another daemon created this occurrence first



#: a template post in these states stops its series for that account
_SERIES_STOPPED = (Status.CANCELLED.value, Status.DECLINED.value)


def _occurrence_status(template_status: str) -> str:
    """An occurrence of a series still awaiting approval awaits it too (approving the
    series approves its occurrences); otherwise it is scheduled."""
    awaiting = Status.AWAITING_APPROVAL.value
    return awaiting if template_status == awaiting else Status.SCHEDULED.value
