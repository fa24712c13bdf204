"""Approval, in the database: an approver's yes (``approve``) or no (``decline``) to posts
``awaiting_approval``; staff's new time under approval (``resubmit``), which goes back to
the approver; and posts never approved within the grace after their time (``missed``).

Each change is logged in the attempt log under its own mark (``approved``, ``declined``,
``resubmitted``, ``missed``) with the state the post came from, like staff's changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

import scheduler.queue.statements as sql
from scheduler.db import clock, connection, notify_queue
from scheduler.errors import InvalidTransition, NotFound
from scheduler.i18n import _
from scheduler.queue.log import log_changes
from scheduler.states import TRANSITIONS, label
from scheduler.timeparse import to_db

#: run inside the change's transaction with the ids changed (the audit row goes with it)
Then = Callable[[Connection, list[int]], None] | None


@dataclass(frozen=True)
class Unapproved:
    """A post still awaiting approval at (or after) its time."""

    post_id: int
    release_id: int
    account: str
    due_at: datetime


def approve(engine: Engine, post_ids: Sequence[int], *, by: str,
            now: datetime | None = None, then: Then = None) -> list[int]:
    """An approver's yes: the posts go out at their time (or wait for their website post
    first). All of ``post_ids`` or none. Returns the ids approved."""
    return _change(engine, post_ids, "approve", [sql.APPROVE, sql.APPROVE_WAITING], {},
                   mark="approved", by=by, now=now, then=then)


def decline(engine: Engine, post_ids: Sequence[int], comment: str, *, by: str,
            now: datetime | None = None, then: Then = None) -> list[int]:
    """An approver's no, with the reason (the posts' error, for staff)."""
    return _change(engine, post_ids, "decline", [sql.DECLINE],
                   {"b_error": _("declined by {who}: {comment}").format(who=by,
                                                                        comment=comment)},
                   mark="declined", by=by, now=now, then=then)


def resubmit(engine: Engine, post_ids: Sequence[int], when: datetime, *, by: str,
             now: datetime | None = None, then: Then = None) -> list[int]:
    """A new time under approval: the posts wait for the approver again."""
    return _change(engine, post_ids, "resubmit", [sql.RESUBMIT], {"b_due": to_db(when)},
                   mark="resubmitted", by=by, now=now, then=then)


def unapproved_due(engine: Engine, *, now: datetime | None = None) -> list[Unapproved]:
    """Posts awaiting approval whose time has come (they are held: staff are alerted)."""
    with connection(engine) as s:
        moment = clock(engine, now, s)
        rows = s.execute(sql.UNAPPROVED_DUE, {"b_clock": moment}).all()
    return [Unapproved(post_id=r.id, release_id=r.release_id, account=r.account,
                       due_at=r.due_at) for r in rows]


def miss_unapproved(engine: Engine, grace: timedelta, node: str, *,
                    now: datetime | None = None) -> list[tuple[int, int]]:
    """Posts never approved within ``grace`` after their time: missed, never published
    late. Returns (post id, release id) of each."""
    with connection(engine) as s:
        moment = clock(engine, now, s)
        rows = s.execute(sql.MISS_UNAPPROVED, {
            "b_late": moment - grace, "b_clock": moment,
            "b_error": _("not approved within the grace period after its time")}).all()
        log_changes(s, [{"post_id": r.id, "attempt": r.attempt, "outcome": "missed",
                         "detail": {"from": "awaiting_approval"}} for r in rows], node, moment)
    return [(r.id, r.release_id) for r in rows]


def _change(engine: Engine, post_ids: Sequence[int], operation: str, statements: list[Any],
            params: dict[str, Any], *, mark: str, by: str, now: datetime | None,
            then: Then) -> list[int]:
    """All of ``post_ids`` or none: every one must exist and be in a state ``operation``
    accepts (the person is told which post is not, and why)."""
    allowed = TRANSITIONS[operation].sources
    with connection(engine) as s:
        posts = s.execute(sql.STAFF_POSTS, {"b_ids": list(post_ids)}).all()
        if len(posts) != len(set(post_ids)):
            missing = sorted(set(post_ids) - {p.id for p in posts})
            raise NotFound(_("no post with id {ids}").format(ids=", ".join(map(str, missing))))
        blocked = [p for p in posts if p.status not in allowed]
        if blocked:
            p = blocked[0]
            raise InvalidTransition(
                _("post {id} ({account}) is {status}; only posts {allowed} can be changed "
                  "this way").format(id=p.id, account=p.account, status=label(p.status),
                                     allowed=", ".join(label(a) for a in allowed)),
                hint=_("'siar show ID' shows each post's status"))
        moment = clock(engine, now, s)
        changed: dict[int, int] = {}
        for statement in statements:
            changed.update(s.execute(statement, {"b_ids": [p.id for p in posts],
                                                 "b_clock": moment, **params}).all())
        log_changes(s, [{"post_id": p.id, "attempt": changed[p.id], "outcome": mark,
                         "detail": {"from": p.status, "by": by}}
                        for p in posts if p.id in changed], "staff", moment)
        done = [p.id for p in posts if p.id in changed]
        if then is not None:
            then(s, done)
        if operation == "approve":
            notify_queue(s)  # a daemon listening (PostgreSQL) claims them at once
    return done


__all__ = ["Unapproved", "approve", "decline", "miss_unapproved", "resubmit",
           "unapproved_due"]
