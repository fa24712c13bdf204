"""Recording what the network answered: publishing → the outcome's state, fenced by attempt.

The committer records every outcome gathered meanwhile in one transaction
(:func:`finalize_many`); outcomes that set the same columns (in a burst: every
``Published``) are written by one statement for their posts and one for their attempt rows
(:mod:`scheduler.bulk`), each post still fenced by its own attempt. A worker may go on with
its account's next due post in the same transaction (:func:`finalize_and_begin_next`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

import scheduler.queue.statements as sql
from channels.base import AuthFailed, InDoubt, NotSent, Outcome, Published, Rejected
from scheduler import bulk
from scheduler.db import Clock, ClockSQL, connection, statement_clock
from scheduler.errors import CommitUncertain
from scheduler.queue.accounts import set_paused
from scheduler.queue.claims import begin_next_in_line
from scheduler.queue.records import Finalization, NextInLine, StartedPost
from scheduler.states import Status
from scheduler.timeparse import to_db


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
    """
    if not items:
        return []
    with connection(engine) as s:
        return _finalize_in(s, items, statement_clock(engine, now))


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
    first, skipping any another daemon is claiming for, exactly like a claim round.
    Returns what :func:`finalize_many` returns, and the posts begun. Raises
    :class:`~scheduler.errors.CommitUncertain` if the COMMIT fails after posts were begun.
    """
    if not items and not next_in_line.accounts:
        return [], []
    begun: list[StartedPost] = []
    try:
        with connection(engine) as s:
            moment = statement_clock(engine, now)
            recorded = _finalize_in(s, items, moment) if items else []
            begun = begin_next_in_line(s, moment, next_in_line) if next_in_line.accounts else []
    except Exception as exc:
        if begun:  # only the COMMIT is left after the begin
            raise CommitUncertain([(p.id, p.attempt) for p in begun]) from exc
        raise
    return recorded, begun


def outcome_recorded(engine: Engine, item: Finalization) -> bool:
    """Whether this very outcome is recorded already: its attempt row is closed with it.
    After a COMMIT reported as failed, recording the outcome again finds the attempt
    stale; this tells "it went through after all" from "a newer attempt or staff"."""
    label = item.outcome_label or outcome_name(item.outcome)
    with connection(engine) as s:
        rows = s.execute(sql.ATTEMPT_OUTCOMES, {"b_id": item.post_id,
                                                "b_attempt": item.attempt}).all()
    return any(outcome == label for (outcome,) in rows)


def outcome_name(outcome: Outcome) -> str:
    """The attempt log's name for an outcome."""
    if isinstance(outcome, NotSent) and outcome.rate_limited:
        return "rate_limited"
    return {Published: "published", Rejected: "rejected", NotSent: "not_sent",
            AuthFailed: "auth_failed", InDoubt: "in_doubt"}[type(outcome)]


def failed_tries(engine: Engine, post_id: int) -> int:
    """How many tries of the post failed without sending, since staff last sent it again
    (``siar reschedule``, ``accounts resume``, ``resolve --resend``): what
    ``daemon.max_attempts`` limits. Counted in the attempt log rather than by ``attempt``
    (the fencing token), which also counts rate limits, leases given back and tries before
    staff stepped in."""
    with connection(engine) as s:
        return s.scalar(sql.FAILED_TRIES, {"b_id": post_id}) or 0


def _finalize_in(s: Connection, items: Sequence[Finalization], moment: Clock) -> list[bool]:
    writes = [_write_for(item) for item in items]
    recorded: dict[int, bool] = {}
    alike: dict[tuple[Any, ...], list[int]] = {}
    for index, write in enumerate(writes):
        if isinstance(write.item.outcome, AuthFailed):  # pauses the account too: alone
            recorded[index] = _record_one(s, write, moment)
        else:
            alike.setdefault(write.shape, []).append(index)
    for indexes in alike.values():
        if len(indexes) == 1:
            recorded[indexes[0]] = _record_one(s, writes[indexes[0]], moment)
            continue
        together = _record_together(s, [writes[i] for i in indexes], moment)
        recorded.update(zip(indexes, together, strict=True))
    return [recorded[index] for index in range(len(writes))]


@dataclass(frozen=True)
class _OutcomeWrite:
    """What records one outcome: the post's new values, and its attempt row's."""

    item: Finalization
    post_params: dict[str, Any]
    attempt_params: dict[str, Any]
    #: the post's columns set to the statement's clock
    post_at_clock: tuple[str, ...] = ("updated_at",)

    @property
    def shape(self) -> tuple[Any, ...]:
        """Writes that set the same columns are recorded by one statement per table."""
        return tuple(self.post_params), tuple(self.attempt_params), self.post_at_clock


def _write_for(item: Finalization) -> _OutcomeWrite:
    outcome = item.outcome
    status, error, remote_id, url = _status_for(outcome, give_up=item.give_up,
                                                missed=item.missed)
    values: dict[str, Any] = {"id": item.post_id, "attempt": item.attempt,
                              "status": sql.target("record", status), "last_error": error}
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
    return _OutcomeWrite(item, values, closing, at_clock)


def _record_together(s: Connection, writes: list[_OutcomeWrite], moment: Clock) -> list[bool]:
    """Record outcomes of one shape with one statement for their posts and one for their
    attempt rows. Each post is fenced by its attempt: one no longer in that attempt (a
    newer attempt or a staff decision owns it) is left alone, its attempt row too, and
    reads False."""
    at = ClockSQL.of(s, moment)
    fixed = {"lease_owner": "NULL", "lease_until": "NULL",
             **dict.fromkeys(writes[0].post_at_clock, at.sql)}
    done = {tuple(row) for row in bulk.update_from_rows(
        s, sql.POST, [w.post_params for w in writes], match=("id", "attempt"), fixed=fixed,
        guard=sql.RECORD_GUARD, returning=("id", "attempt"), params=at.params)}
    recorded = [(w.item.post_id, w.item.attempt) in done for w in writes]
    finished = [w for w, ok in zip(writes, recorded, strict=True) if ok]
    closed = {tuple(row) for row in bulk.update_from_rows(
        s, sql.ATTEMPT, [w.attempt_params for w in finished], match=("post_id", "attempt"),
        fixed={"finished_at": at.sql}, guard={"finished_at": None},
        returning=("post_id", "attempt"), params=at.params)}
    for write in finished:
        if (write.item.post_id, write.item.attempt) not in closed:
            # begun outside begin_publishing (should not happen): log it anyway
            values = {k: v for k, v in write.attempt_params.items()
                      if k not in ("post_id", "attempt")}
            s.execute(insert(sql.ATTEMPT).values(
                post_id=write.item.post_id, attempt=write.item.attempt, node="?",
                started_at=moment, finished_at=moment, **values))
    return recorded


def _record_one(s: Connection, write: _OutcomeWrite, moment: Clock) -> bool:
    if not _record_together(s, [write], moment)[0]:
        return False
    item = write.item
    if isinstance(item.outcome, AuthFailed):
        account = s.scalar(sql.ACCOUNT_OF, {"b_id": item.post_id})
        set_paused(s, account, paused=True, reason=item.outcome.reason, now=moment)
    return True


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
