"""The queue state machine. The ONLY code that changes a post's status.

::

    scheduled ──claim──> claimed ──begin──> publishing ──> published
        ^                   │                    ├──> failed        (rejected for good)
        │    lease expired  │                    ├──> retry ──(not_before)──> claimed …
        └───────────────────┘                    ├──> paused        (account auth failed)
                                                 └──> unknown       (in doubt; lease expired)
    scheduled | retry ──go on (claim and begin at once, already due)──> publishing
    publishing ──given back unsent (daemon stopping before the request)──> scheduled
    unknown ──probe/staff──> published | retry (provably not sent) | failed
    scheduled | retry | paused | unknown ──staff──> cancelled
    scheduled | retry (not sent within grace after due_at) ──> missed
    publishing ──not sent, the network's wait beyond the grace──> missed
    unknown ──probe: not sent, too many failed tries──> failed (or missed past the grace)

Every claim increments ``attempt``, the fencing token: a finalize must present the
attempt it was given, so a stalled worker's late answer can never overwrite a newer
attempt. ``publishing`` is committed before any request leaves the machine, and an
expired ``publishing`` lease becomes ``unknown`` — never ``scheduled`` — so a crash can
never lead to a blind resend.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Interval,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from channels.base import AuthFailed, InDoubt, NotSent, Outcome, PartResult, Published, Rejected
from channels.variant import Variant
from scheduler import bulk
from scheduler.db import is_sqlite, notify_queue, session
from scheduler.errors import CommitUncertain, InvalidTransition, NotFound
from scheduler.models import (
    CLAIMABLE,
    CLAIMABLE_SQL,
    AccountState,
    Attempt,
    Post,
    Release,
    Status,
)
from scheduler.releases import ReleaseDoc
from scheduler.timeparse import to_db, utcnow


@dataclass(frozen=True)
class Claim:
    """A post this node may now publish, with the fencing token it must present."""

    post_id: int
    attempt: int
    account: str
    network: str
    #: when it may be sent (claims made ahead of time wait for it)
    not_before: datetime | None = None


class StartedPost(NamedTuple):
    """A post committed as ``publishing``: what its worker needs to send it.

    A plain tuple rather than the ORM entity: building a ``Post`` for every post begun
    cost a tenth of the daemon's CPU in a burst. It has the entity's attribute names,
    so the dispatcher reads either."""

    id: int
    release_id: int
    account: str
    network: str
    attempt: int
    variant: dict[str, Any]
    publish_key: str
    due_at: datetime
    progress: dict[str, Any]


class ClaimBatch(list[Claim]):
    """The claims of one round, and which accounts still had due posts left behind."""

    #: accounts with due posts this round could not take (their concurrency was used up
    #: or the round was full): a post of theirs finishing should trigger another round
    held_back: frozenset[str] = frozenset()
    #: True when the round looked at only some of the accounts with due posts (its
    #: window of accounts was full), so ``held_back`` may miss some
    truncated: bool = False
    #: the round looked at posts due up to this moment (its clock plus the look-ahead):
    #: the next round is needed for the first post due after it
    horizon: datetime | None = None
    #: True when accounts with room and due posts got nothing because ``limit`` (the
    #: free workers) ran out: workers must then take turns between accounts
    starved: bool = False


# --- queueing -----------------------------------------------------------------------------


def enqueue(engine: Engine, doc: ReleaseDoc, variants: Sequence[Variant], due_at: datetime,
            *, zone: str | None = None,
            parent_id: int | None = None) -> tuple[Release, list[Post]]:
    """Store a release and one scheduled post per variant, all or nothing."""
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
                 publish_key=uuid.uuid4().hex, status=Status.SCHEDULED.value)
            for v in variants
        ]
        s.add_all(posts)
        s.flush()
        _ensure_account_rows(s, {v.account for v in variants})
        notify_queue(s.connection())
    return release, posts


@dataclass(frozen=True)
class BulkItem:
    """One release to queue through :func:`enqueue_bulk`."""

    doc: ReleaseDoc
    variants: Sequence[Variant]
    due_at: datetime
    zone: str | None = None


def enqueue_bulk(engine: Engine, items: Sequence[BulkItem]) -> list[int]:
    """Queue many releases in one transaction; returns their ids in the order of ``items``.

    The path for imports and recurring calendars: all or nothing like :func:`enqueue`,
    and the same rows, written the driver's fastest way. Release ids are reserved first,
    so posts can name theirs without ``RETURNING``; rows go in as plain values — one
    prepared statement run for every row on SQLite, binary ``COPY … FROM STDIN`` on
    PostgreSQL — with each time and each variant's JSON converted once, not once per
    column per row by SQLAlchemy's types (a variant object shared by several posts is
    serialised once). Rows are made while they are written, so PostgreSQL stores the
    first posts while later ones are still being made.
    """
    if not items:
        return []
    with transaction(engine) as s:
        connection = s.connection()
        stored_time = _bulk_time_converter(connection)
        now = stored_time(utcnow())
        ids = _reserve_release_ids(connection, len(items))
        dues = [stored_time(item.due_at) for item in items]
        _insert_rows(connection, Release, _BULK_RELEASE_COLUMNS, (
            (release_id, item.doc.title, item.doc.body, item.doc.source,
             item.zone or item.doc.zone, due, _json_list(item.doc.hashtags), item.doc.link,
             _json_list(item.doc.mentions),
             _json_list([{"path": str(m.path), "alt": m.alt} for m in item.doc.images]),
             item.doc.summary, item.doc.language, item.doc.repeat, None, now)
            for release_id, item, due in zip(ids, items, dues, strict=True)))
        _insert_rows(connection, Post, _BULK_POST_COLUMNS, _bulk_post_rows(ids, items, dues, now))
        _ensure_account_rows(s, {v.account for item in items for v in item.variants})
        notify_queue(connection)
    return ids


#: the columns of :func:`enqueue_bulk`'s rows, in order; the rest take their defaults
#: (NULL), and ``post.id`` is the database's to choose
_BULK_RELEASE_COLUMNS = ("id", "title", "body", "source", "zone", "due_at", "hashtags", "link",
                         "mentions", "images", "summary", "language", "repeat", "parent_id",
                         "created_at")
_BULK_POST_COLUMNS = ("release_id", "account", "network", "variant", "status", "due_at",
                      "not_before", "attempt", "publish_key", "progress", "created_at",
                      "updated_at")


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
                stored = variant_json[id(v)] = json.dumps(v.to_json())
            yield (release_id, v.account, v.channel, stored, scheduled, due, due, 0, next(keys),
                   "{}", now, now)


def _bulk_time_converter(connection: Connection) -> Callable[[datetime], Any]:
    """A time as the driver takes it for ``post.due_at`` and the other time columns: the
    column type's own conversion (SQLite: the text SQLAlchemy stores), so bulk rows are
    the same as the ORM's."""
    dialect = connection.dialect
    convert = Post.__table__.c.due_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert convert is not None  # UTCDateTime always converts (it refuses naive times)
    return lambda instant: convert(to_db(instant))


def _json_list(values: Sequence[Any]) -> str:
    """A list column's JSON, as SQLAlchemy's JSON type writes it (``json.dumps``; Siar's
    engines set no other serialiser)."""
    return json.dumps(list(values)) if values else "[]"


def _reserve_release_ids(connection: Connection, count: int) -> list[int]:
    """Ids for ``count`` new releases, ascending."""
    if connection.dialect.name == "postgresql":
        return sorted(connection.scalars(
            select(func.nextval(func.pg_get_serial_sequence("release", "id")))
            .select_from(func.generate_series(1, count))))
    # The transaction began with BEGIN IMMEDIATE: no one else can insert a release before
    # this one commits, and max + 1 is the id SQLite would have chosen itself.
    first = connection.scalar(select(func.coalesce(func.max(Release.id), 0))) + 1
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


def _insert_rows(connection: Connection, model: type[SQLModel], columns: Sequence[str],
                 rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert ``rows`` of driver-ready values the driver's fastest way, in the connection's
    transaction; a failure raises SQLAlchemy's exception classes, as any statement does."""
    table = model.__table__
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    names = ", ".join(quote.format_column(table.c[name]) for name in columns)
    driver = connection.connection
    if dialect.name == "postgresql":
        statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN (FORMAT BINARY)"
        # Binary: a third of the client's CPU per row of text COPY, and the server parses
        # no times. JSON columns get their text (json's binary form is its text).
        types = ["text" if isinstance(table.c[name].type, JSON)
                 else table.c[name].type.compile(dialect=dialect).lower() for name in columns]
    else:
        statement = (f"INSERT INTO {quote.format_table(table)} ({names}) "
                     f"VALUES ({', '.join('?' * len(columns))})")
    try:
        if dialect.name == "postgresql":
            with driver.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        else:
            with closing(driver.cursor()) as cursor:
                cursor.executemany(statement, rows)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from exc


def enqueue_occurrence(engine: Engine, template: Release, due_at: datetime) -> int | None:
    """Queue one occurrence of a recurring release: a child release with the template's
    posts (same composed text, fresh publish keys), all or nothing.

    Returns its id, or ``None`` if the occurrence exists already — the unique
    ``(parent_id, due_at)`` lets exactly one of several racing daemons create it — or if
    staff cancelled every post of the template (the series stopped).
    """
    due = to_db(due_at)
    try:
        with transaction(engine) as s:
            posts = [p for p in s.scalars(select(Post).where(Post.release_id == template.id))
                     if p.status != Status.CANCELLED.value]
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
                           status=Status.SCHEDULED.value) for p in posts)
            notify_queue(s.connection())
            return child.id
    except IntegrityError:
        return None  # another daemon created this occurrence first


def ensure_accounts(engine: Engine, accounts: Iterable[str]) -> None:
    """Create the per-account state rows claims lock (idempotent)."""
    with transaction(engine) as s:
        _ensure_account_rows(s, set(accounts))


def _ensure_account_rows(s: Any, accounts: set[str]) -> None:
    if not accounts:
        return
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    s.execute(dialect.insert(AccountState)
              .values([{"account": a, "paused": False, "updated_at": utcnow()}
                       for a in sorted(accounts)])
              .on_conflict_do_nothing(index_elements=["account"]))


# --- claiming and publishing --------------------------------------------------------------


def claim_due(engine: Engine, node: str, *, limit: int = 64, lease: float = 120.0,
              concurrency: Mapping[str, int] | None = None, default_concurrency: int = 1,
              lookahead: float = 0.0, now: datetime | None = None) -> ClaimBatch:
    """Atomically lease up to ``limit`` due posts, in due order, fair between accounts.

    ``lookahead`` seconds lets a daemon claim posts shortly *before* their time, so the
    request can leave at the exact moment (the claim is the expensive part); nothing is
    sent before ``Claim.not_before``, and a claim that dies unsent simply expires back.

    An account takes part only if it is neither paused nor waiting for a rate-limit
    reset, and gets at most its ``concurrency`` (default ``default_concurrency``) posts
    in flight across *all* daemons. On PostgreSQL claims lock the state rows of the
    accounts with room first (``FOR UPDATE SKIP LOCKED``), so two daemons never claim for
    the same account at once and each daemon takes different accounts; the in-flight
    count is read again after the lock, in a fresh snapshot. SQLite: the transaction
    began with ``BEGIN IMMEDIATE``, so the single writer makes all of it atomic.
    """
    concurrency = dict(concurrency or {})
    window = max(limit, 1) * 4
    with _connection(engine) as s:
        clock = _now(engine, now, s)
        horizon = clock + timedelta(seconds=lookahead)
        due = s.execute(_DUE_ACCOUNTS, {"b_horizon": horizon, "b_clock": clock,
                                        "b_window": window}).all()
        if not due:
            return _batch([], held_back=set(), truncated=False, horizon=horizon)
        truncated = len(due) == window
        # Accounts already full are held back without being locked: a lock would only
        # make their own workers, going on with them meanwhile, skip them (and each such
        # worker then needed a claim round of its own: measured, 200 of a 5,000-post burst).
        busy = {a for a, n in due if n >= concurrency.get(a, default_concurrency)}
        roomy = [a for a, _ in due if a not in busy]
        in_flight: dict[str, int] = {}
        if roomy and not is_sqlite(engine):
            roomy = list(s.scalars(_LOCK_ACCOUNTS, {"b_accounts": roomy, "b_clock": clock}))
            # read after the lock: a claim another daemon just committed counts
            in_flight = dict(s.execute(_IN_FLIGHT, {"b_accounts": roomy}).all()) if roomy else {}
        elif roomy:  # SQLite: the write lock was taken first, so the counts read are current
            in_flight = {a: n for a, n in due if a in roomy}
        quota = {a: concurrency.get(a, default_concurrency) - in_flight.get(a, 0)
                 for a in roomy}
        busy |= {a for a, q in quota.items() if q <= 0}
        quota = {a: q for a, q in quota.items() if q > 0}
        if not quota:
            return _batch([], held_back=busy, truncated=truncated, horizon=horizon)
        candidates = s.execute(_CANDIDATES, {
            "b_horizon": horizon, "b_accounts": list(quota),
            # one more than any quota: shows which accounts this round holds back
            "b_rank": max(quota.values()) + 1}).all()
        fitting = [row for row in candidates if row.rank <= quota[row.account]]
        ids = [row.id for row in fitting[:limit]]
        busy |= {row.account for row in candidates if row.rank > quota[row.account]}
        busy |= {row.account for row in fitting[limit:]}
        starved = bool(fitting[limit:]) or (truncated and 0 < limit == len(ids))
        if not ids:
            return _batch([], held_back=busy, truncated=truncated, horizon=horizon,
                          starved=starved)
        rows = s.execute(_CLAIM, {"b_ids": ids, "b_horizon": horizon, "b_node": node,
                                  "b_lease_until": clock + timedelta(seconds=lease),
                                  "b_clock": clock}).all()
    order = {post_id: i for i, post_id in enumerate(ids)}
    claims = [Claim(post_id=r[0], attempt=r[1], account=r[2], network=r[3],
                    not_before=to_db(r[4])) for r in rows]
    return _batch(sorted(claims, key=lambda c: order[c.post_id]), held_back=busy,
                  truncated=truncated, horizon=horizon, starved=starved)


def _claim_statements() -> tuple[Any, Any, Any, Any, Any]:
    """The statements of a claim round, built once: building them on every round
    (through the ORM entities) cost two thirds of a round's CPU, more than running them.
    Everything that varies is a parameter: ``b_horizon`` (claimable up to), ``b_clock``,
    ``b_window``, ``b_accounts``, ``b_rank``,
    ``b_ids``, ``b_node``, ``b_lease_until``."""
    post, state = _POST, AccountState.__table__  # type: ignore[attr-defined]
    in_flight = post.c.status.in_([Status.CLAIMED.value, Status.PUBLISHING.value])
    due = and_(post.c.status.in_([c.value for c in CLAIMABLE]),
               post.c.not_before <= bindparam("b_horizon"))
    first_due = (select(post.c.account, func.min(post.c.not_before).label("first"))
                 .where(due).group_by(post.c.account).subquery())
    # Accounts with fewer posts in flight come first: in a burst the accounts with posts
    # in flight are also the ones due first, and a window full of them left nothing to
    # claim for the free workers (and, with no worker free, hid an account waiting for
    # one: see ClaimBatch.starved). Ordering by "at the highest concurrency any account
    # has" did that only while every account had the same concurrency. On PostgreSQL
    # this count only sorts, and spares full accounts the lock: the count that decides
    # is read again after the lock.
    flying = (select(post.c.account, func.count().label("n")).where(in_flight)
              .group_by(post.c.account).subquery())
    usable = and_(state.c.paused.is_(False),
                  or_(state.c.rate_limited_until.is_(None),
                      state.c.rate_limited_until <= bindparam("b_clock")))
    due_accounts = (
        select(state.c.account, func.coalesce(flying.c.n, 0))
        .join(first_due, first_due.c.account == state.c.account)
        .outerjoin(flying, flying.c.account == state.c.account)
        .where(usable)
        .order_by(func.coalesce(flying.c.n, 0), first_due.c.first, state.c.account)
        .limit(bindparam("b_window")))
    # in the order the committer locks them too (see _next_in_line_statements)
    lock_accounts = (select(state.c.account)
                     .where(state.c.account.in_(bindparam("b_accounts", expanding=True)),
                            usable)
                     .order_by(state.c.account)
                     .with_for_update(of=state, skip_locked=True))
    # A fresh statement after the lock, so a claim another daemon just committed counts.
    counted = (select(post.c.account, func.count())
               .where(post.c.account.in_(bindparam("b_accounts", expanding=True)), in_flight)
               .group_by(post.c.account))
    ranked = (
        select(post.c.id, post.c.account, post.c.not_before, func.row_number().over(
            partition_by=post.c.account, order_by=(post.c.not_before, post.c.id)).label("rank"))
        .where(due, post.c.account.in_(bindparam("b_accounts", expanding=True)))
        .subquery())
    candidates = (select(ranked.c.id, ranked.c.account, ranked.c.rank)
                  .where(ranked.c.rank <= bindparam("b_rank"))
                  # Round robin: every account's oldest post before any account's second.
                  .order_by(ranked.c.rank, ranked.c.not_before, ranked.c.id))
    claim = (update(post).where(post.c.id.in_(bindparam("b_ids", expanding=True)), due)
             .values(status=Status.CLAIMED.value, lease_owner=bindparam("b_node"),
                     lease_until=bindparam("b_lease_until"), attempt=post.c.attempt + 1,
                     updated_at=bindparam("b_clock"))
             .returning(post.c.id, post.c.attempt, post.c.account, post.c.network,
                        post.c.not_before))
    return due_accounts, lock_accounts, counted, candidates, claim


def _next_in_line_statements(*, at_now: bool) -> tuple[Any, Any, Any]:
    """The accounts that may go on (locked on PostgreSQL, skipping those another daemon
    is claiming for), each one's earliest post due by the clock (the first entry of
    ``ix_post_account_due``), and the claim-and-begin of those posts. The clock is
    ``b_clock``, or with ``at_now`` the database's ``now()`` (PostgreSQL: no round trip
    to read it first). PostgreSQL uses only the first, and does the rest in one
    statement (:func:`_go_on_statement`)."""
    post, state = _POST, AccountState.__table__  # type: ignore[attr-defined]
    clock: Any = func.now() if at_now else bindparam("b_clock")
    lease_until: Any = (func.now() + bindparam("b_lease", type_=Interval()) if at_now
                        else bindparam("b_lease_until"))
    open_accounts = (
        select(state.c.account)
        .where(state.c.account.in_(bindparam("b_accounts", expanding=True)),
               state.c.paused.is_(False),
               or_(state.c.rate_limited_until.is_(None),
                   state.c.rate_limited_until <= clock))
        .order_by(state.c.account)
        .with_for_update(of=state, skip_locked=True))
    claimable = [c.value for c in CLAIMABLE]
    candidate = post.alias("candidate")
    # the first entry of the partial index ix_post_account_due (its literal predicate)
    earliest = (select(candidate.c.id)
                .where(candidate.c.account == state.c.account,
                       text(f"candidate.{CLAIMABLE_SQL}"),
                       candidate.c.not_before <= clock)
                .order_by(candidate.c.not_before, candidate.c.id)
                .limit(1).scalar_subquery())
    # Chosen in a statement of their own, then updated by id: inside the UPDATE,
    # PostgreSQL joined the chosen ids to a scan of every claimable post.
    chosen = select(earliest).where(state.c.account.in_(bindparam("b_accounts",
                                                                  expanding=True)))
    begin = (update(post)
             .where(post.c.id.in_(bindparam("b_ids", expanding=True)),
                    post.c.status.in_(claimable), post.c.not_before <= clock)
             .values(status=Status.PUBLISHING.value, lease_owner=bindparam("b_node"),
                     lease_until=lease_until, attempt=post.c.attempt + 1, updated_at=clock)
             .returning(*_STARTED_COLUMNS))
    return open_accounts, chosen, begin


def _batch(claims: list[Claim], *, held_back: set[str], truncated: bool,
           horizon: datetime, starved: bool = False) -> ClaimBatch:
    batch = ClaimBatch(claims)
    batch.held_back = frozenset(held_back)
    batch.truncated = truncated
    batch.horizon = horizon
    batch.starved = starved
    return batch


def next_due(engine: Engine, *, now: datetime | None = None) -> datetime | None:
    """The next future moment a post may become claimable: the earliest ``not_before``
    still ahead, or an account's rate-limit reset; ``None`` when nothing is ahead.

    Posts already due but held back (their account busy, paused or rate limited) are not
    considered: a worker finishing, the reset time or the poll brings them. Each part is
    an index seek, so this stays cheap with a million posts queued.
    """
    with _connection(engine) as s:
        clock = _now(engine, now, s)
        candidates = [s.scalar(select(Post.not_before)
                               .where(Post.status == status.value, Post.not_before > clock)
                               .order_by(Post.not_before).limit(1))
                      for status in CLAIMABLE]
        candidates.append(s.scalar(select(func.min(AccountState.rate_limited_until))
                                   .where(AccountState.rate_limited_until > clock)))
    times = [to_db(t) for t in candidates if t is not None]
    return min(times) if times else None


def begin_publishing(engine: Engine, claim: Claim, node: str, *, lease: float = 120.0,
                     now: datetime | None = None) -> StartedPost | None:
    """claimed → publishing, committed before the request leaves; opens the attempt row.

    Returns the post, or ``None`` if the claim is no longer ours (lease lost).
    """
    return begin_publishing_many(engine, [claim], node, lease=lease, now=now).get(claim.post_id)


def begin_publishing_many(engine: Engine, claims: Sequence[Claim], node: str, *,
                          lease: float = 120.0, now: datetime | None = None
                          ) -> dict[int, StartedPost]:
    """:func:`begin_publishing` for many claims in one transaction.

    Returns post id → post for the claims still ours; their ``publishing`` status and
    attempt rows are committed before this returns, so before any request leaves.
    """
    if not claims:
        return {}
    tokens = {c.post_id: c.attempt for c in claims}
    with _connection(engine) as s:
        clock = _statement_clock(engine, now)
        params: dict[str, Any] = {"b_tokens": list(tokens.items()), "b_node": node}
        if isinstance(clock, datetime):
            statement = _BEGIN
            params |= {"b_clock": clock, "b_lease_until": clock + timedelta(seconds=lease)}
        else:  # the database's now(), read inside the statements
            statement = _BEGIN_AT_NOW
            params["b_lease"] = timedelta(seconds=lease)
        posts = {row[0]: StartedPost._make(row) for row in s.execute(statement, params)}
        _open_attempts(s, posts.values(), node, clock)
    return posts


def release_claim(engine: Engine, claim: Claim, node: str) -> bool:
    """claimed → scheduled (graceful stop before anything was sent); logged as ``released``."""
    with transaction(engine) as s:
        clock = utcnow()
        released = s.execute(
            update(Post)
            .where(Post.id == claim.post_id, Post.attempt == claim.attempt,
                   Post.status == Status.CLAIMED.value)
            .values(status=Status.SCHEDULED.value, lease_owner=None, lease_until=None,
                    updated_at=clock)
        ).rowcount == 1
        if released:
            s.add(Attempt(post_id=claim.post_id, attempt=claim.attempt, node=node,
                          started_at=clock, finished_at=clock, outcome="released",
                          error="daemon stopping: claim given back before sending"))
        return released


def release_unsent(engine: Engine, post: StartedPost, node: str) -> bool:
    """publishing → scheduled for a post begun for a worker that then never sent it (the
    daemon began stopping in between): its attempt is closed as ``released``. Only this
    node's own attempt, and only while it is still in flight."""
    return give_back_unsent(engine, [(post.id, post.attempt)], node,
                            why="daemon stopping: begun, then given back before sending") == 1


def outcome_recorded(engine: Engine, item: Finalization) -> bool:
    """Whether this very outcome is recorded already: its attempt row is closed with it.
    After a COMMIT reported as failed, recording the outcome again finds the attempt
    stale; this tells "it went through after all" from "a newer attempt or staff"."""
    label = item.outcome_label or outcome_name(item.outcome)
    with _connection(engine) as s:
        rows = s.execute(select(_ATTEMPT.c.outcome).where(
            _ATTEMPT.c.post_id == item.post_id, _ATTEMPT.c.attempt == item.attempt,
            _ATTEMPT.c.finished_at.is_not(None))).all()
    return any(outcome == label for (outcome,) in rows)


def give_back_unsent(engine: Engine, tokens: Sequence[tuple[int, int]], node: str, *,
                     why: str) -> int:
    """claimed or publishing → scheduled for posts (id, attempt) that this node took and
    certainly never sent: each attempt row is closed (or, for a claim, logged) as
    ``released`` with ``why``. Fenced by the attempt and the lease owner, so a post another
    daemon, staff or the reaper took meanwhile is left alone. Returns how many were given
    back.

    Also for a transaction whose COMMIT failed: it may have committed all the same, and
    the posts it began were never handed to a worker. Given back, they go out in the next
    claim round instead of waiting for their lease to run out and then, where the network
    has no lookup, for staff."""
    if not tokens:
        return 0
    with _connection(engine) as s:
        clock = _now(engine, None, s)
        released = [tuple(row) for row in s.execute(
            update(_POST)
            .where(tuple_(_POST.c.id, _POST.c.attempt).in_(
                       bindparam("b_tokens", expanding=True)),
                   _POST.c.status.in_([Status.CLAIMED.value, Status.PUBLISHING.value]),
                   _POST.c.lease_owner == node)
            .values(status=Status.SCHEDULED.value, lease_owner=None, lease_until=None,
                    updated_at=clock)
            .returning(_POST.c.id, _POST.c.attempt), {"b_tokens": list(tokens)})]
        moment = _ClockSQL.of(s, clock)
        closed = {tuple(row) for row in bulk.update_from_rows(
            s, _ATTEMPT, [{"post_id": i, "attempt": a, "outcome": "released", "error": why}
                          for i, a in released],
            match=("post_id", "attempt"), fixed={"finished_at": moment.sql},
            guard={"finished_at": None}, returning=("post_id", "attempt"),
            params=moment.params)}
        bulk.insert_rows(  # claims have no attempt row yet: log one
            s, _ATTEMPT, [{"post_id": i, "attempt": a, "outcome": "released", "error": why}
                          for i, a in released if (i, a) not in closed],
            fixed={"node": ":node", "started_at": moment.sql, "finished_at": moment.sql},
            params={"node": node, **moment.params})
    return len(released)


def record_part(engine: Engine, post_id: int, attempt: int, part: PartResult) -> None:
    """Persist a published thread part at once, so no later attempt sends it again."""
    with _connection(engine) as s:
        progress = _locked_progress(engine, s, post_id, attempt)
        if progress is None:
            return
        parts = [p for p in progress.get("parts", []) if p["index"] != part.index]
        parts.append({"index": part.index, "remote_id": part.remote_id, "url": part.url,
                      "extra": dict(part.extra)})
        progress["parts"] = sorted(parts, key=lambda p: p["index"])
        s.execute(update(Post).where(Post.id == post_id, Post.attempt == attempt)
                  .values(progress=progress, updated_at=utcnow()))


def record_checkpoint(engine: Engine, post_id: int, attempt: int, state: dict[str, Any]) -> None:
    """Persist adapter state (e.g. a container id) before a risky step."""
    with _connection(engine) as s:
        progress = _locked_progress(engine, s, post_id, attempt)
        if progress is None:
            return
        progress["state"] = {**progress.get("state", {}), **state}
        s.execute(update(Post).where(Post.id == post_id, Post.attempt == attempt)
                  .values(progress=progress, updated_at=utcnow()))


def _locked_progress(engine: Engine, s: Connection, post_id: int,
                     attempt: int) -> dict[str, Any] | None:
    query = select(Post.progress).where(Post.id == post_id, Post.attempt == attempt)
    if not is_sqlite(engine):
        query = query.with_for_update()
    progress = s.scalar(query)
    return None if progress is None else dict(progress)


@dataclass(frozen=True)
class Finalization:
    """One attempt's outcome to record; the arguments of :func:`finalize`."""

    post_id: int
    attempt: int
    outcome: Outcome
    retry_at: datetime | None = None
    give_up: bool = False
    #: a not-sent post that cannot go out within the grace period: missed, for this reason
    missed: str | None = None
    outcome_label: str | None = None
    detail: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None


def finalize(engine: Engine, post_id: int, attempt: int, outcome: Outcome, *,
             retry_at: datetime | None = None, give_up: bool = False,
             missed: str | None = None,
             outcome_label: str | None = None, detail: dict[str, Any] | None = None,
             progress: dict[str, Any] | None = None, now: datetime | None = None) -> bool:
    """Record an attempt's outcome, fenced by ``attempt``. False if the attempt is stale.

    ``NotSent`` becomes ``retry`` at ``retry_at``, ``failed`` with ``give_up``, ``missed``
    with ``missed`` (the reason, kept as the post's error); ``AuthFailed``
    pauses the post and its account; ``InDoubt`` becomes ``unknown``. ``progress``, when
    given, replaces the post's whole progress (the dispatcher passes every part known,
    which saves a transaction for the last part of each post).
    """
    return finalize_many(engine, [Finalization(
        post_id, attempt, outcome, retry_at=retry_at, give_up=give_up, missed=missed,
        outcome_label=outcome_label, detail=detail, progress=progress)], now=now)[0]


def finalize_many(engine: Engine, items: Sequence[Finalization], *,
                  now: datetime | None = None) -> list[bool]:
    """:func:`finalize` for several attempts in one transaction (one commit, and on
    SQLite one turn of the write lock, instead of one per post); each is fenced by its
    own attempt. Returns, per item, whether it was recorded (False: the attempt is stale).

    Outcomes that change the same columns (in a burst: every ``Published``) are written
    by one statement for their posts and one for their attempt rows
    (:mod:`scheduler.bulk`), each post still fenced by its own attempt.
    """
    if not items:
        return []
    with _connection(engine) as s:
        return _finalize_in(s, items, _statement_clock(engine, now))


@dataclass(frozen=True)
class NextInLine:
    """Accounts whose worker, its post finished, goes straight on with the account's
    next due post (see :func:`finalize_and_begin_next`)."""

    #: one entry per finished post whose worker is free to go on (an account may repeat)
    accounts: Sequence[str]
    node: str
    lease: float = 120.0
    concurrency: Mapping[str, int] = field(default_factory=dict)
    default_concurrency: int = 1


def finalize_and_begin_next(engine: Engine, items: Sequence[Finalization],
                            next_in_line: NextInLine, *, now: datetime | None = None
                            ) -> tuple[list[bool], list[StartedPost]]:
    """:func:`finalize_many`, then, in the same transaction, begin (``publishing``,
    attempt + 1, attempt row opened) the earliest post due by now of each account in
    ``next_in_line`` — at most one per account and round, and only where the account is
    neither paused (an ``AuthFailed`` just recorded pauses it) nor rate limited and has
    room under its concurrency across all daemons.

    This is a claim and a begin in one, for a post that is already due: the worker that
    sent the last post sends it next, with no claim round, starter and hand-over between
    (in a burst, those cost more CPU than sending). It is still committed before anything
    is sent, and fenced like any claim. On PostgreSQL the accounts' state rows are locked
    first, skipping any another daemon is claiming for, exactly like :func:`claim_due`.
    Returns what :func:`finalize_many` returns, and the posts begun. Raises
    :class:`~scheduler.errors.CommitUncertain` if the COMMIT fails after posts were begun.
    """
    if not items and not next_in_line.accounts:
        return [], []
    begun: list[StartedPost] = []
    try:
        with _connection(engine) as s:
            clock = _statement_clock(engine, now)
            recorded = _finalize_in(s, items, clock) if items else []
            begun = _begin_next(s, clock, next_in_line) if next_in_line.accounts else []
    except Exception as exc:
        if begun:  # only the COMMIT is left after the begin
            raise CommitUncertain([(p.id, p.attempt) for p in begun]) from exc
        raise
    return recorded, begun


def _begin_next(s: Connection, clock: Clock, line: NextInLine) -> list[StartedPost]:
    if s.dialect.name == "postgresql":
        return _begin_next_in_one(s, clock, line)
    # SQLite: the write lock is held already, and the clock is this host's (a value)
    assert isinstance(clock, datetime)
    accounts_statement, next_posts, begin = _NEXT_ACCOUNTS, _NEXT_POSTS, _BEGIN_NEXT
    times: dict[str, Any] = {"b_clock": clock,
                             "b_lease_until": clock + timedelta(seconds=line.lease)}
    wanted = sorted(set(line.accounts))
    open_accounts = list(s.scalars(accounts_statement,
                                   {"b_accounts": wanted, **times}))
    if not open_accounts:
        return []
    # read after the lock (and after this transaction's outcomes): the posts just
    # finished no longer count, a claim another daemon committed meanwhile does
    in_flight = dict(s.execute(_IN_FLIGHT, {"b_accounts": open_accounts}).all())
    roomy = [a for a in open_accounts
             if line.concurrency.get(a, line.default_concurrency) > in_flight.get(a, 0)]
    if not roomy:
        return []
    ids = [i for i in s.scalars(next_posts, {"b_accounts": roomy, "b_clock": clock})
           if i is not None]
    if not ids:
        return []
    posts = [StartedPost._make(row) for row in s.execute(begin, {
        "b_ids": ids, "b_node": line.node, **times})]
    _open_attempts(s, posts, line.node, clock)
    return posts


def _begin_next_in_one(s: Connection, clock: Clock, line: NextInLine) -> list[StartedPost]:
    """PostgreSQL: lock the accounts, then everything else in one statement (its snapshot
    is taken after the lock, so a claim another daemon just committed counts)."""
    moment = _ClockSQL.of(s, clock)
    times: dict[str, Any] = {"b_clock": clock} if isinstance(clock, datetime) else {}
    open_accounts = list(s.scalars(
        _NEXT_ACCOUNTS if isinstance(clock, datetime) else _NEXT_ACCOUNTS_AT_NOW,
        {"b_accounts": sorted(set(line.accounts)), **times}))
    if not open_accounts:
        return []
    room = json.dumps([{"account": a,
                        "concurrency": line.concurrency.get(a, line.default_concurrency)}
                       for a in open_accounts])
    return [StartedPost._make(row) for row in s.execute(_go_on_statement(moment.sql), {
        "room": room, "node": line.node, "lease": timedelta(seconds=line.lease),
        **moment.params})]


@functools.lru_cache(maxsize=2)
def _go_on_statement(clock: str) -> Any:
    """In-flight counts, each roomy account's earliest due post (the first entry of
    ``ix_post_account_due``), its claim-and-begin and its attempt row, as one statement.
    The ids are chosen first (``ARRAY(…)``): joined inside the ``UPDATE``, PostgreSQL
    scanned every claimable post for them."""
    in_flight = ", ".join(f"'{s.value}'" for s in (Status.CLAIMED, Status.PUBLISHING))
    columns = ", ".join(StartedPost._fields)
    return text(f"""
        WITH room AS (
            SELECT account, concurrency
            FROM json_to_recordset(CAST(:room AS json)) AS r(account varchar, concurrency int)
        ), flying AS (
            SELECT account, count(*) AS n FROM post
            WHERE account IN (SELECT account FROM room) AND status IN ({in_flight})
            GROUP BY account
        ), begun AS (
            UPDATE post SET status = '{Status.PUBLISHING.value}', lease_owner = :node,
                lease_until = {clock} + :lease, attempt = attempt + 1, updated_at = {clock}
            WHERE id = ANY(ARRAY(
                SELECT (SELECT candidate.id FROM post AS candidate
                        WHERE candidate.account = room.account
                          AND candidate.{CLAIMABLE_SQL} AND candidate.not_before <= {clock}
                        ORDER BY candidate.not_before, candidate.id LIMIT 1)
                FROM room LEFT JOIN flying ON flying.account = room.account
                WHERE coalesce(flying.n, 0) < room.concurrency))
              AND {CLAIMABLE_SQL} AND not_before <= {clock}
            RETURNING {columns}
        ), opened AS (
            INSERT INTO attempt (post_id, attempt, node, started_at)
            SELECT id, attempt, :node, {clock} FROM begun
        )
        SELECT {columns} FROM begun""").columns(*_STARTED_COLUMNS)


def _open_attempts(s: Connection, posts: Iterable[StartedPost], node: str,
                   clock: Clock) -> None:
    """The attempt rows of posts just begun, in one statement."""
    moment = _ClockSQL.of(s, clock)
    bulk.insert_rows(s, _ATTEMPT, [{"post_id": p.id, "attempt": p.attempt} for p in posts],
                     fixed={"node": ":node", "started_at": moment.sql},
                     params={"node": node, **moment.params})


def _finalize_in(s: Connection, items: Sequence[Finalization], clock: Clock) -> list[bool]:
    plans = [_plan(item, clock) for item in items]
    recorded: dict[int, bool] = {}
    alike: dict[tuple[Any, ...], list[int]] = {}
    for index, plan in enumerate(plans):
        if isinstance(plan.item.outcome, AuthFailed):  # pauses the account too: alone
            recorded[index] = _record_one(s, plan, clock)
        else:
            alike.setdefault(plan.shape, []).append(index)
    for indexes in alike.values():
        if len(indexes) == 1:
            recorded[indexes[0]] = _record_one(s, plans[indexes[0]], clock)
            continue
        together = _record_together(s, [plans[i] for i in indexes], clock)
        recorded.update(zip(indexes, together, strict=True))
    return [recorded[index] for index in range(len(plans))]


@dataclass(frozen=True)
class _Plan:
    """What records one outcome: the post's new values, and its attempt row's."""

    item: Finalization
    post_params: dict[str, Any]
    attempt_params: dict[str, Any]
    #: the post's columns set to the statement's clock
    post_at_clock: tuple[str, ...] = ("updated_at",)

    @property
    def shape(self) -> tuple[Any, ...]:
        """Plans that set the same columns are recorded by one statement per table."""
        return tuple(self.post_params), tuple(self.attempt_params), self.post_at_clock


def _plan(item: Finalization, clock: Clock) -> _Plan:
    outcome = item.outcome
    status, error, remote_id, url = _status_for(outcome, give_up=item.give_up,
                                                missed=item.missed)
    values: dict[str, Any] = {"id": item.post_id, "attempt": item.attempt,
                              "status": status.value, "last_error": error}
    at_clock: tuple[str, ...] = ("updated_at",)
    if remote_id is not None:
        values |= {"remote_id": remote_id, "remote_url": url}
    if status is Status.RETRY:
        if item.retry_at is None:
            at_clock += ("not_before",)
        else:
            values["not_before"] = to_db(item.retry_at)
    if item.progress is not None:
        values["progress"] = item.progress
    closing: dict[str, Any] = {
        "post_id": item.post_id, "attempt": item.attempt,
        "outcome": item.outcome_label or outcome_name(outcome),
        "http_status": getattr(outcome, "http_status", None),
        "error": getattr(outcome, "reason", None) or getattr(outcome, "detail", None)}
    if isinstance(outcome, Published):
        closing |= {"remote_id": outcome.remote_id, "remote_url": outcome.url}
    if item.detail is not None:
        closing["detail"] = item.detail
    return _Plan(item, values, closing, at_clock)


def _record_together(s: Connection, plans: list[_Plan], clock: Clock) -> list[bool]:
    """Record outcomes of one shape with one statement for their posts and one for their
    attempt rows. Each post is fenced by its attempt: one no longer in that attempt (a
    newer attempt or a staff decision owns it) is left alone, its attempt row too, and
    reads False."""
    moment = _ClockSQL.of(s, clock)
    fixed = {"lease_owner": "NULL", "lease_until": "NULL",
             **dict.fromkeys(plans[0].post_at_clock, moment.sql)}
    done = {tuple(row) for row in bulk.update_from_rows(
        s, _POST, [p.post_params for p in plans], match=("id", "attempt"), fixed=fixed,
        guard={"status": f"'{Status.PUBLISHING.value}'"}, returning=("id", "attempt"),
        params=moment.params)}
    recorded = [(p.item.post_id, p.item.attempt) in done for p in plans]
    finished = [p for p, ok in zip(plans, recorded, strict=True) if ok]
    closed = {tuple(row) for row in bulk.update_from_rows(
        s, _ATTEMPT, [p.attempt_params for p in finished], match=("post_id", "attempt"),
        fixed={"finished_at": moment.sql}, guard={"finished_at": None},
        returning=("post_id", "attempt"), params=moment.params)}
    for plan in finished:
        if (plan.item.post_id, plan.item.attempt) not in closed:
            # begun outside begin_publishing (should not happen): log it anyway
            values = {k: v for k, v in plan.attempt_params.items()
                      if k not in ("post_id", "attempt")}
            s.execute(insert(Attempt).values(
                post_id=plan.item.post_id, attempt=plan.item.attempt, node="?",
                started_at=clock, finished_at=clock, **values))
    return recorded


def _record_one(s: Connection, plan: _Plan, clock: Clock) -> bool:
    if not _record_together(s, [plan], clock)[0]:
        return False
    item = plan.item
    if isinstance(item.outcome, AuthFailed):
        account = s.scalar(select(Post.account).where(Post.id == item.post_id))
        _set_account_state(s, account, paused=True, reason=item.outcome.reason, now=clock)
    return True


@dataclass(frozen=True)
class _ClockSQL:
    """The statement clock as SQL text: the database's ``now()``, or a given time bound
    as the column type stores it."""

    sql: str
    params: dict[str, Any]

    @classmethod
    def of(cls, s: Connection, clock: Clock) -> _ClockSQL:
        if not isinstance(clock, datetime):
            return cls("now()", {})
        process = _POST.c.updated_at.type.dialect_impl(s.dialect).bind_processor(s.dialect)
        return cls(":clock", {"clock": process(clock) if process else clock})


def _status_for(outcome: Outcome, *, give_up: bool, missed: str | None = None
                ) -> tuple[Status, str | None, str | None, str | None]:
    match outcome:
        case Published(remote_id=rid, url=url):
            return Status.PUBLISHED, None, rid, url
        case Rejected(reason=reason):
            return Status.FAILED, reason, None, None
        case NotSent(reason=reason):
            if missed:
                return Status.MISSED, missed, None, None
            return (Status.FAILED if give_up else Status.RETRY), reason, None, None
        case AuthFailed(reason=reason):
            return Status.PAUSED, reason, None, None
        case InDoubt(detail=detail):
            return Status.UNKNOWN, detail, None, None
    raise TypeError(f"not an outcome: {outcome!r}")


def outcome_name(outcome: Outcome) -> str:
    if isinstance(outcome, NotSent) and outcome.rate_limited:
        return "rate_limited"
    return {Published: "published", Rejected: "rejected", NotSent: "not_sent",
            AuthFailed: "auth_failed", InDoubt: "in_doubt"}[type(outcome)]


# Built once: the statements of the hot path. Building them per call (and through the ORM
# entity) cost about a third of the daemon's CPU per post. Outcomes are recorded through
# scheduler.bulk instead: one statement per batch, not per post.
_POST = Post.__table__  # type: ignore[attr-defined]
_ATTEMPT = Attempt.__table__  # type: ignore[attr-defined]
_STARTED_COLUMNS = [_POST.c[name] for name in StartedPost._fields]
_DUE_ACCOUNTS, _LOCK_ACCOUNTS, _IN_FLIGHT, _CANDIDATES, _CLAIM = _claim_statements()
# claimed → publishing, fenced by (id, attempt), and the attempt rows it opens; with a
# given time (SQLite) or the database's now() (PostgreSQL: no round trip to read it)
_BEGIN_WHERE = update(_POST).where(
    tuple_(_POST.c.id, _POST.c.attempt).in_(bindparam("b_tokens", expanding=True)),
    _POST.c.status == Status.CLAIMED.value, _POST.c.lease_owner == bindparam("b_node"))
_BEGIN = (_BEGIN_WHERE.values(status=Status.PUBLISHING.value, updated_at=bindparam("b_clock"),
                              lease_until=bindparam("b_lease_until"))
          .returning(*_STARTED_COLUMNS))
_BEGIN_AT_NOW = (_BEGIN_WHERE.values(status=Status.PUBLISHING.value, updated_at=func.now(),
                                     lease_until=func.now() + bindparam("b_lease",
                                                                        type_=Interval()))
                 .returning(*_STARTED_COLUMNS))
_NEXT_ACCOUNTS, _NEXT_POSTS, _BEGIN_NEXT = _next_in_line_statements(at_now=False)
_NEXT_ACCOUNTS_AT_NOW = _next_in_line_statements(at_now=True)[0]


# --- recovery -----------------------------------------------------------------------------


def reap_expired_leases(engine: Engine, *, node: str = "reaper",
                        now: datetime | None = None) -> tuple[int, int]:
    """Take back posts whose daemon died: (claimed → scheduled, publishing → unknown).

    A claimed post was provably not sent, so it simply goes back to the queue; a
    publishing one may be on the network, so it waits in ``unknown`` for a probe or staff.
    """
    with transaction(engine) as s:
        clock = _now(engine, now, s)
        expired = list(s.scalars(
            select(Post).where(Post.status.in_([Status.CLAIMED.value,
                                                Status.PUBLISHING.value]),
                               Post.lease_until < clock)
            .with_for_update(skip_locked=True)))
        requeued = stranded = 0
        for post in expired:
            owner = post.lease_owner
            if post.status == Status.CLAIMED.value:
                post.status = Status.SCHEDULED.value
                requeued += 1
                s.add(Attempt(post_id=post.id, attempt=post.attempt, node=node,
                              started_at=clock, finished_at=clock, outcome="lease_expired",
                              error=f"daemon {owner} held the claim but never started; "
                                    "nothing was sent"))
            else:
                post.status = Status.UNKNOWN.value
                post.last_error = (f"daemon {owner} stopped while publishing; "
                                   "the post may or may not be on the network")
                stranded += 1
                _close_open_attempt(s, post, clock, "crashed", post.last_error)
            post.lease_owner = None
            post.lease_until = None
            post.updated_at = clock
    return requeued, stranded


def renew_leases(engine: Engine, node: str, post_ids: Sequence[int], *,
                 lease: float) -> int:
    """Extend the leases of posts ``node`` has in flight (called by its heartbeat)."""
    if not post_ids:
        return 0
    with _connection(engine) as s:
        clock = _now(engine, None, s)
        return s.execute(
            update(Post).where(Post.id.in_(list(post_ids)), Post.lease_owner == node,
                               Post.status.in_([Status.CLAIMED.value,
                                                Status.PUBLISHING.value]))
            .values(lease_until=clock + timedelta(seconds=lease))).rowcount


def expire_leases_of(engine: Engine, node: str) -> int:
    """End every lease ``node`` holds now (it is known dead); the reaper then takes them."""
    with transaction(engine) as s:
        clock = _now(engine, None, s)
        return s.execute(
            update(Post).where(Post.lease_owner == node,
                               Post.status.in_([Status.CLAIMED.value, Status.PUBLISHING.value]))
            .values(lease_until=clock - timedelta(microseconds=1))).rowcount


@dataclass(frozen=True)
class Missed:
    post_id: int
    release_id: int
    account: str
    due_at: datetime


def mark_missed(engine: Engine, grace: timedelta, *, node: str = "daemon",
                now: datetime | None = None, sweep: bool = False) -> list[Missed]:
    """Waiting posts that could not go out within ``grace`` of their time → ``missed``.

    Sending a press release hours late (after downtime, a long pause or rate limit) is
    worse than not sending it unasked: staff see it in the report and reschedule it.
    Decided on ``due_at`` (the time staff chose), never on ``not_before`` (the next try):
    a retry is never a reason to be late. Every retry the dispatcher sets lies within
    the grace period (or the post is missed at once), and staff set ``not_before`` to
    the moment they act, so every post this finds is already past ``not_before``: the
    claim index (``status, not_before``) bounds the search to due posts. ``sweep`` looks
    at every waiting post instead (a scan: the daemon does it once, at start), for retries
    set beyond the grace period before that held.
    """
    with transaction(engine) as s:
        clock = _now(engine, now, s)
        late = [Post.status.in_([c.value for c in CLAIMABLE]), Post.due_at < clock - grace]
        if not sweep:
            late.append(Post.not_before <= clock)
        stale = list(s.scalars(
            select(Post).where(*late).order_by(Post.due_at, Post.id)
            .with_for_update(skip_locked=True)))
        states = {state.account: state for state in s.scalars(
            select(AccountState).where(AccountState.account.in_({p.account for p in stale})))
        } if stale else {}
        for post in stale:
            post.status = Status.MISSED.value
            post.last_error = _missed_reason(states.get(post.account), grace, clock)
            post.updated_at = clock
            s.add(Attempt(post_id=post.id, attempt=post.attempt, node=node, started_at=clock,
                          finished_at=clock, outcome="missed", error=post.last_error))
        return [Missed(p.id, p.release_id, p.account, p.due_at)  # type: ignore[arg-type]
                for p in stale]


def _missed_reason(state: AccountState | None, grace: timedelta, clock: datetime) -> str:
    """Why a post was not sent within the grace period: what held its account, if
    anything did (staff must not have to guess)."""
    within = f"not sent within the grace period of {_minutes(grace)} after its time"
    if state is not None and state.paused:
        return f"{within}: its account is paused ({state.paused_reason or 'no reason given'})"
    if state is not None and state.rate_limited_until is not None \
            and to_db(state.rate_limited_until) > clock:
        return (f"{within}: the network asked its account to wait until "
                f"{to_db(state.rate_limited_until):%Y-%m-%d %H:%M:%S} UTC (rate limit)")
    return f"{within} (daemon down, account paused or rate limited)"


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g} min"


def in_doubt(engine: Engine, *, limit: int = 100) -> list[Post]:
    """Posts in ``unknown``, oldest first (for the probe job and ``siar status``)."""
    with transaction(engine) as s:
        return list(s.scalars(select(Post).where(Post.status == Status.UNKNOWN.value)
                              .order_by(Post.updated_at, Post.id).limit(limit)))


def _close_open_attempt(s: Any, post: Post, clock: datetime, outcome: str, error: str) -> None:
    row = s.scalars(select(Attempt).where(Attempt.post_id == post.id,
                                          Attempt.attempt == post.attempt,
                                          Attempt.finished_at.is_(None))).first()
    if row is not None:
        row.finished_at, row.outcome, row.error = clock, outcome, error


def settle_unknown(engine: Engine, post_id: int, outcome: Outcome, *, by: str,
                   retry_at: datetime | None = None, give_up: bool = False,
                   missed: str | None = None, attempt: int | None = None) -> bool:
    """Apply a probe's (or staff's) verdict to an ``unknown`` post.

    ``Published`` → published; ``NotSent`` → retry at ``retry_at`` (provably absent, safe
    to send; ``None``: at once, as staff ask), or failed with ``give_up`` (too many failed
    tries), or missed with ``missed`` (the reason: its grace period is over);
    ``Rejected`` → failed (staff abandoned it). With ``attempt``, only while the post is
    still in that attempt (a probe's verdict is about the attempt it looked at).
    """
    if isinstance(outcome, Published):
        status = Status.PUBLISHED
    elif isinstance(outcome, NotSent):
        status = Status.MISSED if missed else Status.FAILED if give_up else Status.RETRY
    elif isinstance(outcome, Rejected):
        status = Status.FAILED
    else:
        raise InvalidTransition(f"cannot settle an unknown post with {type(outcome).__name__}")
    with transaction(engine) as s:
        clock = _now(engine, None, s)
        values: dict[str, Any] = {"status": status.value, "updated_at": clock}
        if isinstance(outcome, Published):
            values |= {"remote_id": outcome.remote_id, "remote_url": outcome.url,
                       "last_error": None}
        elif isinstance(outcome, NotSent):
            values |= {"not_before": to_db(retry_at or clock),
                       "last_error": missed or outcome.reason}
        else:
            values["last_error"] = outcome.reason  # type: ignore[union-attr]
        fence = [Post.id == post_id, Post.status == Status.UNKNOWN.value]
        if attempt is not None:
            fence.append(Post.attempt == attempt)
        changed = s.execute(update(Post).where(*fence).values(**values)).rowcount
        if changed != 1:
            return False
        post = s.get(Post, post_id)
        s.add(Attempt(post_id=post_id, attempt=post.attempt, node=by,  # type: ignore[union-attr]
                      started_at=clock, finished_at=clock, outcome=f"settled_{status.value}",
                      remote_id=getattr(outcome, "remote_id", None),
                      remote_url=getattr(outcome, "url", None),
                      error=getattr(outcome, "reason", None)))
    return True


#: attempt-log outcomes of a try that provably sent nothing (a probe's "not sent" settles
#: a try that ended in doubt); a rate limit is the network's pace, not a failed try
_FAILED_TRY = ("not_sent", "settled_retry", "settled_failed", "settled_missed")
#: the attempt-log marks of staff sending a post again: the count of failed tries restarts
_STAFF_AGAIN = ("rescheduled", "resumed")


def failed_tries(engine: Engine, post_id: int) -> int:
    """How many tries of the post failed without sending, since staff last sent it again
    (``siar reschedule``, ``accounts resume``, ``resolve --resend``): what
    ``daemon.max_attempts`` limits. Counted in the attempt log rather than by ``attempt``
    (the fencing token), which also counts rate limits, leases given back and tries before
    staff stepped in."""
    log = _ATTEMPT
    probe = log.c.node.like("probe@%")
    staff_again = or_(log.c.outcome.in_(_STAFF_AGAIN),
                      and_(log.c.outcome == "settled_retry", ~probe))
    since = (select(func.coalesce(func.max(log.c.id), 0))
             .where(log.c.post_id == post_id, staff_again).scalar_subquery())
    counted = or_(log.c.outcome == "not_sent",
                  and_(log.c.outcome.in_(_FAILED_TRY[1:]), probe))
    with _connection(engine) as s:
        return s.scalar(select(func.count()).select_from(log)
                        .where(log.c.post_id == post_id, counted, log.c.id > since)) or 0


# --- staff actions ------------------------------------------------------------------------

def resolve(engine: Engine, post_id: int, *, published_url: str | None = None,
            resend: bool = False, abandon: bool = False, by: str = "staff") -> Status:
    """Staff settle an ``unknown`` post: it is on the network (URL), or send it again,
    or give it up. Exactly one choice; returns the post's new status."""
    if [published_url is not None, resend, abandon].count(True) != 1:
        raise InvalidTransition("choose exactly one of --published URL, --resend, --abandon")
    with transaction(engine) as s:
        post = s.get(Post, post_id)
    if post is None:
        raise NotFound(f"no post with id {post_id}")
    if post.status != Status.UNKNOWN.value:
        raise InvalidTransition(
            f"post {post.release_id}/{post.account} is {post.status}; only posts in doubt "
            "(unknown) can be resolved", hint="'siar status' lists the posts in doubt")
    outcome: Outcome
    if published_url is not None:
        remote_id = published_url.rstrip("/").rsplit("/", 1)[-1] or published_url
        outcome = Published(remote_id=remote_id, url=published_url)
    elif resend:
        outcome = NotSent(f"{by}: checked the network, not there; send again")
    else:
        outcome = Rejected(f"{by}: abandoned")
    if not settle_unknown(engine, post_id, outcome, by=by):
        raise InvalidTransition(f"post {post.release_id}/{post.account} changed meanwhile; "
                                "look again with 'siar status'")
    return {Published: Status.PUBLISHED, NotSent: Status.RETRY,
            Rejected: Status.FAILED}[type(outcome)]


_CANCELLABLE = {Status.SCHEDULED, Status.RETRY, Status.PAUSED, Status.UNKNOWN}
_RESCHEDULABLE = {Status.SCHEDULED, Status.RETRY, Status.PAUSED, Status.MISSED, Status.FAILED}


def cancel(engine: Engine, post_ids: Sequence[int]) -> list[int]:
    """Withdraw posts that have not gone out. Returns the ids actually cancelled."""
    return _staff_change(engine, post_ids, _CANCELLABLE, {"status": Status.CANCELLED.value},
                         label="cancelled")


def reschedule(engine: Engine, post_ids: Sequence[int], when: datetime) -> list[int]:
    """Move posts that have not gone out to a new time (also revives missed/failed ones)."""
    due = to_db(when)
    return _staff_change(engine, post_ids, _RESCHEDULABLE,
                         {"status": Status.SCHEDULED.value, "due_at": due, "not_before": due,
                          "last_error": None}, label="rescheduled")


def _staff_change(engine: Engine, post_ids: Sequence[int], allowed: set[Status],
                  values: dict[str, Any], *, label: str) -> list[int]:
    with transaction(engine) as s:
        posts = list(s.scalars(select(Post).where(Post.id.in_(post_ids))))
        if len(posts) != len(set(post_ids)):
            missing = sorted(set(post_ids) - {p.id for p in posts})  # type: ignore[misc]
            raise NotFound(f"no post with id {', '.join(map(str, missing))}")
        blocked = [p for p in posts if Status(p.status) not in allowed]
        if blocked:
            p = blocked[0]
            raise InvalidTransition(
                f"post {p.id} ({p.account}) is {p.status}; only "
                f"{', '.join(sorted(a.value for a in allowed))} posts can be changed")
        clock = utcnow()
        for post in posts:
            before = post.status
            for key, value in values.items():
                setattr(post, key, value)
            post.updated_at = clock
            s.add(Attempt(post_id=post.id, attempt=post.attempt, node="staff", started_at=clock,
                          finished_at=clock, outcome=label, detail={"from": before}))
        return [p.id for p in posts]  # type: ignore[misc]


def resume_account(engine: Engine, account: str) -> int:
    """Lift an auth pause after staff fixed the credentials; paused posts go back."""
    with transaction(engine) as s:
        clock = utcnow()
        _set_account_state(s, account, paused=False, reason=None, now=clock)
        paused = list(s.scalars(select(Post).where(Post.account == account,
                                                   Post.status == Status.PAUSED.value)))
        for post in paused:
            post.status, post.not_before, post.updated_at = Status.RETRY.value, clock, clock
            s.add(Attempt(post_id=post.id, attempt=post.attempt, node="staff",
                          started_at=clock, finished_at=clock, outcome="resumed"))
        return len(paused)


def account_states(engine: Engine) -> list[AccountState]:
    with transaction(engine) as s:
        return list(s.scalars(select(AccountState).order_by(AccountState.account)))


def set_rate_limited(engine: Engine, account: str, until: datetime) -> None:
    """Claims skip ``account`` until ``until`` (the network's reset); others go on."""
    with transaction(engine) as s:
        state = s.get(AccountState, account) or AccountState(account=account)
        state.rate_limited_until = to_db(until)
        state.updated_at = utcnow()
        s.add(state)


def _set_account_state(s: Any, account: str, *, paused: bool, reason: str | None,
                       now: Clock) -> None:
    values = {"paused": paused, "paused_reason": reason, "updated_at": now}
    if not s.execute(update(AccountState).where(AccountState.account == account)
                     .values(**values)).rowcount:
        s.execute(insert(AccountState).values(account=account, **values))


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextmanager
def transaction(engine: Engine) -> Iterator[Any]:
    """A session for anything the daemon does in the database (use it, not
    :func:`scheduler.db.session`, inside the daemon).

    On SQLite every transaction takes the single write lock (``BEGIN IMMEDIATE``); the
    threads of this process queue for it here, where a release wakes the next at once,
    instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms: one
    heartbeat outside this lock stalled every publishing thread for that long.
    """
    if not is_sqlite(engine):
        with session(engine) as s:
            yield s
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(engine, threading.Lock())
    with lock, session(engine) as s:
        yield s


@contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    """A Core transaction for the hot path (claim, begin, finalize): no ORM unit of work,
    about three times less Python per statement; same SQLite lock as :func:`_session`."""
    if not is_sqlite(engine):
        with engine.begin() as connection:
            yield connection
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(engine, threading.Lock())
    with lock, engine.begin() as connection:
        yield connection


#: a moment as a statement uses it: a value, or the database's own ``now()``
Clock = datetime | ColumnElement[datetime]


def _statement_clock(engine: Engine, now: datetime | None) -> Clock:
    """:func:`_now` for statements on the hot path (begin, finalize): on PostgreSQL the
    statement reads ``now()`` itself, which is the transaction's start, exactly what
    ``_now`` would have fetched, without the round trip of its own (a third of
    finalize's time, measured)."""
    if now is not None:
        return to_db(now)
    if is_sqlite(engine):
        return utcnow()
    return func.now()


def _now(engine: Engine, now: datetime | None, s: Any) -> datetime:
    """The time leases are measured by: the database's clock on PostgreSQL (several hosts
    share it), this host's clock on SQLite (one host by construction)."""
    if now is not None:
        return to_db(now)
    if is_sqlite(engine):
        return utcnow()
    return to_db(s.execute(select(func.now())).scalar_one())
