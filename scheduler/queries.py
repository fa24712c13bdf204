"""Read-only questions about releases, posts and the attempt log (for the CLI and status)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.engine import Engine

from scheduler.db import session
from scheduler.errors import NotFound
from scheduler.i18n import _
from scheduler.models import AccountState, Attempt, Post, Release
from scheduler.states import CLAIMABLE, DONE, Status, values
from scheduler.timeparse import from_db, utcnow

_DONE = values(DONE)
_WAITING = values(CLAIMABLE)


def release_with_posts(engine: Engine, release_id: int) -> tuple[Release, list[Post]]:
    with session(engine) as s:
        release = s.get(Release, release_id)
        if release is None:
            raise NotFound(_("no release with id {id}").format(id=release_id),
                           hint=_("'siar queue --all' lists every release"))
        posts = list(s.scalars(select(Post).where(Post.release_id == release_id)
                               .order_by(Post.id)))
    return release, posts


def posts(engine: Engine, *, statuses: Sequence[str] | None = None, include_done: bool = False,
          limit: int = 200) -> list[tuple[Post, Release]]:
    """Posts with their releases: active first, then by due time."""
    query = select(Post, Release).join(Release, Release.id == Post.release_id)
    if statuses:
        query = query.where(Post.status.in_(list(statuses)))
    elif not include_done:
        query = query.where(Post.status.not_in(_DONE))
    active_first = case((Post.status.in_(_DONE), 1), else_=0)
    query = query.order_by(active_first, Post.due_at, Post.id).limit(limit)
    with session(engine) as s:
        return [(p, r) for p, r in s.execute(query).all()]


def blocked_by_pause(engine: Engine) -> dict[str, str]:
    """Paused accounts → what ``siar queue`` says blocks their waiting posts."""
    with session(engine) as s:
        paused = s.execute(select(AccountState.account, AccountState.paused_reason)
                           .where(AccountState.paused.is_(True))).all()
    return {account: f"account paused: {reason or 'no reason given'}"
            for account, reason in paused}


def blocked(post: Post, pauses: dict[str, str]) -> str | None:
    """Why a waiting post cannot go out until staff act (its account is paused), or None.
    Such posts keep their status (``scheduled`` or ``retry``) but are not waiting: no
    daemon claims them, and ``siar daemon --until-drained`` does not wait for them."""
    if post.status in _WAITING:
        return pauses.get(post.account)
    return None


def past_grace(engine: Engine, *, grace: timedelta, account: str | None = None,
               post_ids: Sequence[int] = ()) -> list[Post]:
    """Waiting posts (``scheduled``/``retry``) of ``account`` or among ``post_ids`` whose time
    plus the grace period has passed: the daemon marks them missed instead of sending them."""
    query = select(Post).where(Post.status.in_(_WAITING))
    if account is not None:
        query = query.where(Post.account == account)
    if post_ids:
        query = query.where(Post.id.in_(list(post_ids)))
    with session(engine) as s:
        waiting = list(s.scalars(query))
    late = utcnow() - grace
    return [p for p in waiting if from_db(p.due_at) < late]


def post_ids_in(engine: Engine, release_id: int, account: str | None,
                states: tuple[Status, ...]) -> list[int]:
    """The ids of the release's posts (of ``account`` only, if given) in ``states``: what a
    staff action may change (``scheduler.states.CANCELLABLE``, ``RESCHEDULABLE``)."""
    release_with_posts(engine, release_id)  # raises NotFound for a wrong id
    query = select(Post.id).where(Post.release_id == release_id,
                                  Post.status.in_(values(states)))
    if account:
        query = query.where(Post.account == account)
    with session(engine) as s:
        return list(s.scalars(query))


def attempts_for(engine: Engine, post_ids: Sequence[int]) -> dict[int, list[Attempt]]:
    grouped: dict[int, list[Attempt]] = defaultdict(list)
    if not post_ids:
        return grouped
    with session(engine) as s:
        for attempt in s.scalars(select(Attempt).where(Attempt.post_id.in_(list(post_ids)))
                                 .order_by(Attempt.id)):
            grouped[attempt.post_id].append(attempt)
    return grouped


def history(engine: Engine, *, limit: int = 50, since: datetime | None = None,
            until: datetime | None = None, outcomes: Sequence[str] = (),
            accounts: Sequence[str] = ()) -> list[tuple[Attempt, Post, Release]]:
    """The attempt log, newest first, optionally from ``since`` to before ``until`` (when
    each attempt started), for some outcomes or accounts only."""
    query = (select(Attempt, Post, Release)
             .join(Post, Post.id == Attempt.post_id)
             .join(Release, Release.id == Post.release_id)
             .order_by(Attempt.id.desc()).limit(limit))
    if since is not None:
        query = query.where(Attempt.started_at >= since)
    if until is not None:
        query = query.where(Attempt.started_at < until)
    if outcomes:
        query = query.where(Attempt.outcome.in_(list(outcomes)))
    if accounts:
        query = query.where(Post.account.in_(list(accounts)))
    with session(engine) as s:
        return [(a, p, r) for a, p, r in s.execute(query).all()]
