"""Recovery: leases that ran out, posts that could not go out in time, posts in doubt.

A claimed post whose daemon died was provably not sent and goes back to the queue; a
publishing one may be on the network and waits in ``unknown`` for the probe or staff
(:func:`settle_unknown`) — never a blind resend. Posts not sent within the grace period
after their time are ``missed``: staff see them and reschedule, rather than a press
release going out hours late.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

import scheduler.queue.statements as sql
from channels.base import NotSent, Outcome, Published, Rejected
from scheduler import bulk
from scheduler.db import ClockSQL, clock, connection
from scheduler.errors import InvalidTransition
from scheduler.i18n import _
from scheduler.queue.log import log_changes
from scheduler.queue.records import Missed
from scheduler.states import Status
from scheduler.timeparse import to_db

if TYPE_CHECKING:  # the named reads are imported by in_doubt: off a restart's first post
    from scheduler.reads.rows import PostRow


def reap_expired_leases(engine: Engine, *, node: str = "reaper",
                        now: datetime | None = None) -> tuple[int, int]:
    """Take back posts whose daemon died: (claimed → scheduled, publishing → unknown)."""
    with connection(engine) as s:
        moment = clock(engine, now, s)
        expired = s.execute(sql.EXPIRED, {"b_clock": moment}).all()
        if not expired:
            return 0, 0
        at = ClockSQL.of(s, moment)
        claimed = {row.id: row for row in expired if row.status == Status.CLAIMED.value}
        requeued = list(s.scalars(sql.REAP_CLAIMED, {"b_ids": list(claimed),
                                                     "b_clock": moment})) if claimed else []
        log_changes(s, [
            {"post_id": i, "attempt": claimed[i].attempt, "outcome": "lease_expired",
             "error": _("daemon {daemon} held the claim but never started; nothing was "
                        "sent").format(
                          daemon=claimed[i].lease_owner)} for i in requeued], node, moment)
        stranded = [{"id": row.id, "attempt": row.attempt,
                     "last_error": _("daemon {daemon} stopped while publishing; the post may or "
                                     "may not be on the network").format(daemon=row.lease_owner)}
                    for row in expired if row.status == Status.PUBLISHING.value]
        unknown = f"'{sql.target('reap_publishing', Status.UNKNOWN)}'"
        reaped = {tuple(row) for row in bulk.update_from_rows(
            s, sql.POST, stranded, match=("id", "attempt"),
            fixed={"status": unknown, "lease_owner": "NULL", "lease_until": "NULL",
                   "updated_at": at.sql},
            guard=sql.REAP_PUBLISHING_GUARD, returning=("id", "attempt"), params=at.params)}
        bulk.update_from_rows(  # close the attempt each had open
            s, sql.ATTEMPT, [{"post_id": row["id"], "attempt": row["attempt"],
                              "outcome": "crashed", "error": row["last_error"]}
                             for row in stranded if (row["id"], row["attempt"]) in reaped],
            match=("post_id", "attempt"), fixed={"finished_at": at.sql},
            guard={"finished_at": None}, params=at.params)
    return len(requeued), len(reaped)


def renew_leases(engine: Engine, node: str, post_ids: Sequence[int], *,
                 lease: float) -> int:
    """Extend the leases of posts ``node`` has in flight (called by its heartbeat)."""
    if not post_ids:
        return 0
    with connection(engine) as s:
        moment = clock(engine, None, s)
        return s.execute(sql.RENEW_LEASES, {
            "b_ids": list(post_ids), "b_node": node,
            "b_lease_until": moment + timedelta(seconds=lease)}).rowcount


def expire_leases_of(engine: Engine, node: str) -> int:
    """End every lease ``node`` holds now (it is known dead); the reaper then takes them."""
    with connection(engine) as s:
        moment = clock(engine, None, s)
        return s.execute(sql.EXPIRE_LEASES, {
            "b_node": node, "b_lease_until": moment - timedelta(microseconds=1)}).rowcount


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
    with connection(engine) as s:
        moment = clock(engine, now, s)
        stale = s.execute(sql.LATE if sweep else sql.LATE_AND_DUE,
                          {"b_late": moment - grace, "b_clock": moment}).all()
        if not stale:
            return []
        states = {state.account: state for state in s.execute(
            select(sql.STATE).where(sql.STATE.c.account.in_({p.account for p in stale})))}
        reasons = {p.id: _missed_reason(states.get(p.account), grace, moment) for p in stale}
        at = ClockSQL.of(s, moment)
        missed = f"'{sql.target('miss', Status.MISSED)}'"
        changed = {tuple(row) for row in bulk.update_from_rows(
            s, sql.POST, [{"id": p.id, "attempt": p.attempt, "last_error": reasons[p.id]}
                          for p in stale],
            match=("id", "attempt"), fixed={"status": missed, "updated_at": at.sql},
            guard=sql.MISS_GUARD, returning=("id", "attempt"), params=at.params)}
        stale = [p for p in stale if (p.id, p.attempt) in changed]
        log_changes(s, [
            {"post_id": p.id, "attempt": p.attempt, "outcome": "missed", "error": reasons[p.id]}
            for p in stale], node, moment)
    return [Missed(p.id, p.release_id, p.account, to_db(p.due_at)) for p in stale]


def _missed_reason(state: Any, grace: timedelta, moment: datetime) -> str:
    """Why a post was not sent within the grace period: what held its account, if
    anything did (staff must not have to guess)."""
    within = _("not sent within the grace period of {grace} after its time").format(
                 grace=_minutes(grace))
    if state is not None and state.paused:
        return _("{within}: its account is paused ({reason})").format(
                   within=within, reason=state.paused_reason or _("no reason given"))
    if state is not None and state.rate_limited_until is not None \
            and to_db(state.rate_limited_until) > moment:
        return (_("{within}: the network asked its account to wait until "
                  "{until:%Y-%m-%d %H:%M:%S} UTC (rate limit)").format(
                    within=within, until=to_db(state.rate_limited_until)))
    return _("{within} (daemon down, account paused or rate limited)").format(within=within)


def _minutes(delta: timedelta) -> str:
    return _("{minutes:g} min").format(minutes=delta.total_seconds() / 60)


def in_doubt(engine: Engine, *, limit: int = 100) -> list[PostRow]:
    """Posts in ``unknown``, oldest first (for the probe job and ``siar status``): the
    named read of :func:`scheduler.queries.in_doubt`."""
    from scheduler import queries

    return queries.in_doubt(engine, limit=limit)


def left_to_do(engine: Engine) -> tuple[int, list[tuple[int, int]]]:
    """What is left for daemons: the posts due or in flight (not those blocked by a paused
    account), and every post in doubt as (post, attempt)."""
    with connection(engine) as s:
        undone = s.scalar(sql.UNDONE) or 0
        in_doubt = [(row.id, row.attempt) for row in s.execute(sql.IN_DOUBT_KEYS)]
    return undone, in_doubt


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
    with connection(engine) as s:
        moment = clock(engine, None, s)
        params: dict[str, Any] = {
            "b_id": post_id, "b_attempt": attempt, "b_status": sql.target("settle", status),
            "b_clock": moment, "b_not_before": None, "b_remote_id": None, "b_remote_url": None}
        if isinstance(outcome, Published):
            params |= {"b_remote_id": outcome.remote_id, "b_remote_url": outcome.url,
                       "b_error": None}
        elif isinstance(outcome, NotSent):
            params |= {"b_not_before": to_db(retry_at or moment),
                       "b_error": missed or outcome.reason}
        else:
            params["b_error"] = outcome.reason
        settled = s.scalar(sql.SETTLE, params)
        if settled is None:
            return False
        s.execute(insert(sql.ATTEMPT).values(
            post_id=post_id, attempt=settled, node=by, started_at=moment, finished_at=moment,
            outcome=f"settled_{status.value}", remote_id=getattr(outcome, "remote_id", None),
            remote_url=getattr(outcome, "url", None), error=getattr(outcome, "reason", None)))
    return True
