"""What staff do to posts: settle one in doubt, cancel, reschedule, resume an account.

Every change is logged in the attempt log under the staff's own mark (``cancelled``,
``rescheduled``, ``resumed``, ``settled_<status>``), with the state the post came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

import scheduler.queue.statements as sql
from channels.base import NotSent, Outcome, Published, Rejected
from scheduler.db import connection, transaction
from scheduler.errors import InvalidTransition, NotFound
from scheduler.i18n import _
from scheduler.models import Post
from scheduler.queue.accounts import set_paused
from scheduler.queue.log import log_changes
from scheduler.queue.recovery import settle_unknown
from scheduler.states import TRANSITIONS, Status, label
from scheduler.timeparse import to_db, utcnow


def resolve(engine: Engine, post_id: int, *, published_url: str | None = None,
            resend: bool = False, abandon: bool = False, by: str = "staff") -> Status:
    """Staff settle an ``unknown`` post: it is on the network (URL), or send it again,
    or give it up. Exactly one choice; returns the post's new status."""
    if [published_url is not None, resend, abandon].count(True) != 1:
        raise InvalidTransition(_("choose exactly one of --published URL, --resend, --abandon"))
    with transaction(engine) as s:
        post = s.get(Post, post_id)
    if post is None:
        raise NotFound(_("no post with id {post_id}").format(post_id=post_id))
    if post.status != Status.UNKNOWN.value:
        raise InvalidTransition(
            _("post {post} is {status}; only posts in doubt can be resolved").format(
                post=f"{post.release_id}/{post.account}", status=label(post.status)),
            hint=_("'siar status' lists the posts in doubt"))
    outcome: Outcome
    if published_url is not None:
        remote_id = published_url.rstrip("/").rsplit("/", 1)[-1] or published_url
        outcome = Published(remote_id=remote_id, url=published_url)
    elif resend:
        outcome = NotSent(_("{by}: checked the network, not there; send again").format(by=by))
    else:
        outcome = Rejected(_("{by}: abandoned").format(by=by))
    if not settle_unknown(engine, post_id, outcome, by=by):
        raise InvalidTransition(_("post {release}/{account} changed meanwhile; look again with "
                                  "'siar status'").format(
                                    release=post.release_id, account=post.account))
    return {Published: Status.PUBLISHED, NotSent: Status.RETRY,
            Rejected: Status.FAILED}[type(outcome)]


def cancel(engine: Engine, post_ids: Sequence[int]) -> list[int]:
    """Withdraw posts that have not gone out. Returns the ids actually cancelled."""
    return _staff_change(engine, post_ids, "cancel", sql.CANCEL, {}, label="cancelled")


def reschedule(engine: Engine, post_ids: Sequence[int], when: datetime) -> list[int]:
    """Move posts that have not gone out to a new time (also revives missed/failed ones)."""
    return _staff_change(engine, post_ids, "reschedule", sql.RESCHEDULE,
                         {"b_due": to_db(when)}, label="rescheduled")


def _staff_change(engine: Engine, post_ids: Sequence[int], operation: str, statement: Any,
                  params: dict[str, Any], *, label: str) -> list[int]:
    """All of ``post_ids`` or none: every one must exist and be in a state ``operation``
    accepts (staff are told which post is not, and why)."""
    allowed = TRANSITIONS[operation].sources
    with connection(engine) as s:
        posts = s.execute(sql.STAFF_POSTS, {"b_ids": list(post_ids)}).all()
        if len(posts) != len(set(post_ids)):
            missing = sorted(set(post_ids) - {p.id for p in posts})
            raise NotFound(_("no post with id {ids}").format(ids=', '.join(map(str, missing))))
        blocked = [p for p in posts if p.status not in allowed]
        if blocked:
            p = blocked[0]
            raise InvalidTransition(
                _("post {post} ({account}) is {status}; only {allowed} posts can be "
                  "changed").format(
                    post=p.id, account=p.account, status=p.status,
                    allowed=', '.join(sorted(a.value for a in allowed))))
        moment = utcnow()
        changed = dict(s.execute(statement, {"b_ids": [p.id for p in posts],
                                             "b_clock": moment, **params}).all())
        log_changes(s, [{"post_id": p.id, "attempt": changed[p.id], "outcome": label,
                         "detail": {"from": p.status}} for p in posts if p.id in changed],
                    "staff", moment)
    return [p.id for p in posts if p.id in changed]


def resume_account(engine: Engine, account: str) -> int:
    """Lift an auth pause after staff fixed the credentials; paused posts go back."""
    with connection(engine) as s:
        moment = utcnow()
        set_paused(s, account, paused=False, reason=None, now=moment)
        resumed = s.execute(sql.RESUME, {"b_account": account, "b_clock": moment}).all()
        log_changes(s, [{"post_id": post_id, "attempt": attempt, "outcome": "resumed"}
                        for post_id, attempt in resumed], "staff", moment)
    return len(resumed)
