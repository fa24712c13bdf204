"""The queue state machine. The ONLY code that changes a post's status.

::

    scheduled ──claim──> claimed ──begin──> publishing ──> published
        ^                   │                    ├──> failed        (rejected for good)
        │    lease expired  │                    ├──> retry ──(not_before)──> claimed …
        └───────────────────┘                    ├──> paused        (account auth failed)
                                                 └──> unknown       (in doubt; lease expired)
    unknown ──probe/staff──> published | retry (provably not sent) | failed
    scheduled | retry | paused | unknown ──staff──> cancelled
    scheduled (overdue beyond grace after downtime) ──> missed

Every claim increments ``attempt``, the fencing token: a finalize must present the
attempt it was given, so a stalled worker's late answer can never overwrite a newer
attempt. ``publishing`` is committed before any request leaves the machine, and an
expired ``publishing`` lease becomes ``unknown`` — never ``scheduled`` — so a crash can
never lead to a blind resend.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Engine

from channels.base import AuthFailed, InDoubt, NotSent, Outcome, PartResult, Published, Rejected
from scheduler.db import is_sqlite, session
from scheduler.errors import InvalidTransition, NotFound
from scheduler.models import CLAIMABLE, AccountState, Attempt, Post, Release, Status
from scheduler.releases import ReleaseDoc
from scheduler.timeparse import to_db, utcnow
from scheduler.variant import Variant


@dataclass(frozen=True)
class Claim:
    """A post this node may now publish, with the fencing token it must present."""

    post_id: int
    attempt: int
    account: str
    network: str


# --- queueing -----------------------------------------------------------------------------


def enqueue(engine: Engine, doc: ReleaseDoc, variants: Sequence[Variant], due_at: datetime,
            *, zone: str | None = None,
            parent_id: int | None = None) -> tuple[Release, list[Post]]:
    """Store a release and one scheduled post per variant, all or nothing."""
    due = to_db(due_at)
    with session(engine) as s:
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
    return release, posts


# --- claiming and publishing --------------------------------------------------------------


def claim_due(engine: Engine, node: str, *, limit: int = 64, lease: float = 120.0,
              per_account: int = 1, exclude_accounts: Iterable[str] = (),
              now: datetime | None = None) -> list[Claim]:
    """Atomically lease up to ``limit`` due posts, at most ``per_account`` per account.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets several daemons claim side by side; the
    status condition sits in the locking query so a row another daemon just claimed is
    re-checked and skipped. SQLite: the transaction began with ``BEGIN IMMEDIATE``, so
    the single writer makes select-then-update atomic.
    """
    excluded = list(exclude_accounts)
    with session(engine) as s:
        clock = _now(engine, now, s)
        due = and_(Post.status.in_([c.value for c in CLAIMABLE]), Post.not_before <= clock)
        if excluded:
            due = and_(due, Post.account.not_in(excluded))
        ranked = (
            select(Post.id, func.row_number().over(
                partition_by=Post.account, order_by=(Post.not_before, Post.id)).label("rank"))
            .where(due)
            .subquery()
        )
        fair = select(ranked.c.id).where(ranked.c.rank <= per_account)
        locked = (
            select(Post.id).where(due, Post.id.in_(fair))
            .order_by(Post.not_before, Post.id).limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(s.scalars(locked))
        if not ids:
            return []
        rows = s.execute(
            update(Post).where(Post.id.in_(ids), due)
            .values(status=Status.CLAIMED.value, lease_owner=node,
                    lease_until=clock + timedelta(seconds=lease),
                    attempt=Post.attempt + 1, updated_at=clock)
            .returning(Post.id, Post.attempt, Post.account, Post.network)
        ).all()
    claims = [Claim(post_id=r[0], attempt=r[1], account=r[2], network=r[3]) for r in rows]
    return sorted(claims, key=lambda c: ids.index(c.post_id))


def begin_publishing(engine: Engine, claim: Claim, node: str, *, lease: float = 120.0,
                     now: datetime | None = None) -> Post | None:
    """claimed → publishing, committed before the request leaves; opens the attempt row.

    Returns the post, or ``None`` if the claim is no longer ours (lease lost).
    """
    with session(engine) as s:
        clock = _now(engine, now, s)
        changed = s.execute(
            update(Post)
            .where(Post.id == claim.post_id, Post.attempt == claim.attempt,
                   Post.status == Status.CLAIMED.value, Post.lease_owner == node)
            .values(status=Status.PUBLISHING.value, updated_at=clock,
                    lease_until=clock + timedelta(seconds=lease))
        ).rowcount
        if changed != 1:
            return None
        s.add(Attempt(post_id=claim.post_id, attempt=claim.attempt, node=node,
                      started_at=clock))
        return s.get(Post, claim.post_id)


def release_claim(engine: Engine, claim: Claim) -> bool:
    """claimed → scheduled without an attempt (graceful stop before anything was sent)."""
    with session(engine) as s:
        return s.execute(
            update(Post)
            .where(Post.id == claim.post_id, Post.attempt == claim.attempt,
                   Post.status == Status.CLAIMED.value)
            .values(status=Status.SCHEDULED.value, lease_owner=None, lease_until=None,
                    updated_at=utcnow())
        ).rowcount == 1


def record_part(engine: Engine, post_id: int, attempt: int, part: PartResult) -> None:
    """Persist a published thread part at once, so no later attempt sends it again."""
    with session(engine) as s:
        post = s.get(Post, post_id, with_for_update=not is_sqlite(engine))
        if post is None or post.attempt != attempt:
            return
        progress = dict(post.progress)
        parts = [p for p in progress.get("parts", []) if p["index"] != part.index]
        parts.append({"index": part.index, "remote_id": part.remote_id, "url": part.url,
                      "extra": dict(part.extra)})
        progress["parts"] = sorted(parts, key=lambda p: p["index"])
        post.progress = progress
        post.updated_at = utcnow()


def record_checkpoint(engine: Engine, post_id: int, attempt: int, state: dict[str, Any]) -> None:
    """Persist adapter state (e.g. a container id) before a risky step."""
    with session(engine) as s:
        post = s.get(Post, post_id, with_for_update=not is_sqlite(engine))
        if post is None or post.attempt != attempt:
            return
        post.progress = {**post.progress, "state": {**post.progress.get("state", {}), **state}}
        post.updated_at = utcnow()


def finalize(engine: Engine, post_id: int, attempt: int, outcome: Outcome, *,
             retry_at: datetime | None = None, give_up: bool = False,
             outcome_label: str | None = None, detail: dict[str, Any] | None = None,
             now: datetime | None = None) -> bool:
    """Record an attempt's outcome, fenced by ``attempt``. False if the attempt is stale.

    ``NotSent`` becomes ``retry`` at ``retry_at`` unless ``give_up``; ``AuthFailed``
    pauses the post and its account; ``InDoubt`` becomes ``unknown``.
    """
    status, error, remote_id, url = _status_for(outcome, give_up=give_up)
    with session(engine) as s:
        clock = _now(engine, now, s)
        values: dict[str, Any] = {"status": status.value, "lease_owner": None,
                                  "lease_until": None, "updated_at": clock,
                                  "last_error": error}
        if remote_id is not None:
            values |= {"remote_id": remote_id, "remote_url": url}
        if status is Status.RETRY:
            values["not_before"] = to_db(retry_at or clock)
        changed = s.execute(
            update(Post)
            .where(Post.id == post_id, Post.attempt == attempt,
                   Post.status == Status.PUBLISHING.value)
            .values(**values)
        ).rowcount
        if changed != 1:
            return False
        _close_attempt(s, post_id, attempt, outcome, clock, label=outcome_label, detail=detail)
        if isinstance(outcome, AuthFailed):
            account = s.get(Post, post_id).account  # type: ignore[union-attr]
            _set_account_state(s, account, paused=True, reason=outcome.reason, now=clock)
    return True


def _status_for(outcome: Outcome, *, give_up: bool) -> tuple[Status, str | None, str | None,
                                                             str | None]:
    match outcome:
        case Published(remote_id=rid, url=url):
            return Status.PUBLISHED, None, rid, url
        case Rejected(reason=reason):
            return Status.FAILED, reason, None, None
        case NotSent(reason=reason):
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


def _close_attempt(s: Any, post_id: int, attempt: int, outcome: Outcome, clock: datetime, *,
                   label: str | None, detail: dict[str, Any] | None) -> None:
    row = s.scalars(select(Attempt).where(Attempt.post_id == post_id,
                                          Attempt.attempt == attempt)
                    .order_by(Attempt.id.desc())).first()
    if row is None:
        row = Attempt(post_id=post_id, attempt=attempt, node="?", started_at=clock)
        s.add(row)
    row.finished_at = clock
    row.outcome = label or outcome_name(outcome)
    row.http_status = getattr(outcome, "http_status", None)
    row.error = getattr(outcome, "reason", None) or getattr(outcome, "detail", None)
    if isinstance(outcome, Published):
        row.remote_id, row.remote_url = outcome.remote_id, outcome.url
    if detail is not None:
        row.detail = detail


# --- recovery -----------------------------------------------------------------------------


def reap_expired_leases(engine: Engine, *, now: datetime | None = None) -> tuple[int, int]:
    """Take back posts whose daemon died: (claimed → scheduled, publishing → unknown)."""
    with session(engine) as s:
        clock = _now(engine, now, s)
        requeued = s.execute(
            update(Post).where(Post.status == Status.CLAIMED.value, Post.lease_until < clock)
            .values(status=Status.SCHEDULED.value, lease_owner=None, lease_until=None,
                    updated_at=clock)
        ).rowcount
        stranded = list(s.scalars(
            select(Post).where(Post.status == Status.PUBLISHING.value, Post.lease_until < clock)
            .with_for_update(skip_locked=True)))
        for post in stranded:
            post.status = Status.UNKNOWN.value
            post.last_error = (f"daemon {post.lease_owner} stopped while publishing; "
                               "the post may or may not be on the network")
            post.lease_owner = None
            post.lease_until = None
            post.updated_at = clock
            _close_open_attempt(s, post, clock, "crashed", post.last_error)
    return requeued, len(stranded)


def _close_open_attempt(s: Any, post: Post, clock: datetime, outcome: str, error: str) -> None:
    row = s.scalars(select(Attempt).where(Attempt.post_id == post.id,
                                          Attempt.attempt == post.attempt,
                                          Attempt.finished_at.is_(None))).first()
    if row is not None:
        row.finished_at, row.outcome, row.error = clock, outcome, error


def settle_unknown(engine: Engine, post_id: int, outcome: Outcome, *, by: str,
                   retry_at: datetime | None = None) -> bool:
    """Apply a probe's (or staff's) verdict to an ``unknown`` post.

    ``Published`` → published; ``NotSent`` → retry (provably absent, safe to send);
    ``Rejected`` → failed (staff abandoned it).
    """
    if isinstance(outcome, Published):
        status = Status.PUBLISHED
    elif isinstance(outcome, NotSent):
        status = Status.RETRY
    elif isinstance(outcome, Rejected):
        status = Status.FAILED
    else:
        raise InvalidTransition(f"cannot settle an unknown post with {type(outcome).__name__}")
    with session(engine) as s:
        clock = _now(engine, None, s)
        values: dict[str, Any] = {"status": status.value, "updated_at": clock}
        if isinstance(outcome, Published):
            values |= {"remote_id": outcome.remote_id, "remote_url": outcome.url,
                       "last_error": None}
        elif isinstance(outcome, NotSent):
            values |= {"not_before": to_db(retry_at or clock), "last_error": outcome.reason}
        else:
            values["last_error"] = outcome.reason  # type: ignore[union-attr]
        changed = s.execute(update(Post).where(Post.id == post_id,
                                               Post.status == Status.UNKNOWN.value)
                            .values(**values)).rowcount
        if changed != 1:
            return False
        post = s.get(Post, post_id)
        s.add(Attempt(post_id=post_id, attempt=post.attempt, node=by,  # type: ignore[union-attr]
                      started_at=clock, finished_at=clock, outcome=f"settled_{status.value}",
                      remote_id=getattr(outcome, "remote_id", None),
                      remote_url=getattr(outcome, "url", None),
                      error=getattr(outcome, "reason", None)))
    return True


# --- staff actions ------------------------------------------------------------------------

_CANCELLABLE = {Status.SCHEDULED, Status.RETRY, Status.PAUSED, Status.UNKNOWN}
_RESCHEDULABLE = {Status.SCHEDULED, Status.RETRY, Status.PAUSED, Status.MISSED, Status.FAILED}


def cancel(engine: Engine, post_ids: Sequence[int]) -> list[int]:
    """Withdraw posts that have not gone out. Returns the ids actually cancelled."""
    return _staff_change(engine, post_ids, _CANCELLABLE, {"status": Status.CANCELLED.value})


def reschedule(engine: Engine, post_ids: Sequence[int], when: datetime) -> list[int]:
    """Move posts that have not gone out to a new time (also revives missed/failed ones)."""
    due = to_db(when)
    return _staff_change(engine, post_ids, _RESCHEDULABLE,
                         {"status": Status.SCHEDULED.value, "due_at": due, "not_before": due,
                          "last_error": None})


def _staff_change(engine: Engine, post_ids: Sequence[int], allowed: set[Status],
                  values: dict[str, Any]) -> list[int]:
    with session(engine) as s:
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
            for key, value in values.items():
                setattr(post, key, value)
            post.updated_at = clock
        return [p.id for p in posts]  # type: ignore[misc]


def resume_account(engine: Engine, account: str) -> int:
    """Lift an auth pause after staff fixed the credentials; paused posts go back."""
    with session(engine) as s:
        _set_account_state(s, account, paused=False, reason=None, now=utcnow())
        return s.execute(
            update(Post).where(Post.account == account, Post.status == Status.PAUSED.value)
            .values(status=Status.RETRY.value, not_before=utcnow(), updated_at=utcnow())
        ).rowcount


def set_rate_limited(engine: Engine, account: str, until: datetime) -> None:
    with session(engine) as s:
        state = s.get(AccountState, account) or AccountState(account=account)
        state.rate_limited_until = to_db(until)
        state.updated_at = utcnow()
        s.add(state)


def _set_account_state(s: Any, account: str, *, paused: bool, reason: str | None,
                       now: datetime) -> None:
    state = s.get(AccountState, account) or AccountState(account=account)
    state.paused, state.paused_reason, state.updated_at = paused, reason, now
    s.add(state)


def _now(engine: Engine, now: datetime | None, s: Any) -> datetime:
    """The time leases are measured by: the database's clock on PostgreSQL (several hosts
    share it), this host's clock on SQLite (one host by construction)."""
    if now is not None:
        return to_db(now)
    if is_sqlite(engine):
        return utcnow()
    return to_db(s.execute(select(func.now())).scalar_one())
