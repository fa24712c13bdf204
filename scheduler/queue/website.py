"""Website first, in the database: posts ``waiting`` for the address of their release's
website post (``post.link_from`` names that account), and the two ways out of waiting.

A waiting post is not claimable: claims never look at it. Once the website post is
``published``, :func:`arrivals` lists the waiting posts with its address, and
:func:`link_arrived` stores each one's variant composed anew with it (``scheduled``, at its
time, or at once if that has passed); :func:`link_unusable` fails one that cannot take it.
While the website post is not out for good, its dependants wait; :func:`stuck` lists those
whose website post will not come out by itself (staff are alerted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

import scheduler.queue.statements as sql
from scheduler.db import clock, connection, transaction
from scheduler.models import Post, Release
from scheduler.queue.log import log_changes
from scheduler.states import ACTIVE, Status, values

_site = aliased(Post)
_depends = and_(_site.release_id == Post.release_id, _site.account == Post.link_from)
_WAITING = Post.status == Status.WAITING.value
#: the website post will not come out by itself: staff must act
_STUCK = tuple(s.value for s in (Status.FAILED, Status.UNKNOWN, Status.MISSED, Status.PAUSED,
                                  Status.CANCELLED))


@dataclass(frozen=True)
class Arrival:
    """A waiting post whose website post is out, with that post's address."""

    post_id: int
    release: Release
    account: str
    due_at: datetime
    variant: dict[str, Any]
    url: str


@dataclass(frozen=True)
class Stuck:
    """A website post that will not come out by itself, and how many posts wait for it."""

    website: Post
    waiting: int


def arrivals(engine: Engine, *, limit: int = 200) -> list[Arrival]:
    """Waiting posts whose website post is published (oldest due first)."""
    query = (select(Post.id, Post.account, Post.due_at, Post.variant, _site.remote_url, Release)
             .join(_site, _depends).join(Release, Release.id == Post.release_id)
             .where(_WAITING, _site.status == Status.PUBLISHED.value)
             .order_by(Post.due_at, Post.id).limit(limit))
    with transaction(engine) as s:  # a session: the release comes back as an object
        rows = s.execute(query).all()
    return [Arrival(post_id=r[0], account=r[1], due_at=r[2], variant=r[3], url=r[4] or "",
                    release=r[5]) for r in rows]


def link_arrived(engine: Engine, arrival: Arrival, variant: dict[str, Any], node: str,
                 *, now: datetime | None = None) -> bool:
    """Store the variant composed with the address; the post goes out at its time (or at
    once, if that has passed). False if it was no longer waiting (cancelled meanwhile)."""
    with connection(engine) as s:
        moment = clock(engine, now, s)
        row = s.execute(sql.LINK_ARRIVED, {
            "b_id": arrival.post_id, "b_variant": variant, "b_clock": moment,
            "b_not_before": max(arrival.due_at, moment)}).first()
        if row is not None:
            log_changes(s, [{"post_id": row.id, "attempt": row.attempt,
                             "outcome": "link_arrived", "remote_url": arrival.url}],
                        node, moment)
    return row is not None


def link_unusable(engine: Engine, post_id: int, error: str, node: str,
                  *, now: datetime | None = None) -> bool:
    """The post cannot take the address (``error`` says why): failed, for staff."""
    with connection(engine) as s:
        moment = clock(engine, now, s)
        row = s.execute(sql.LINK_UNUSABLE, {"b_id": post_id, "b_error": error,
                                            "b_clock": moment}).first()
        if row is not None:
            log_changes(s, [{"post_id": row.id, "attempt": row.attempt,
                             "outcome": "link_unusable", "error": error}], node, moment)
    return row is not None


def stuck(engine: Engine) -> list[Stuck]:
    """Website posts failed, in doubt, missed, paused or cancelled, with posts waiting."""
    counts = (select(_site.id, func.count(Post.id)).join(Post, _depends)
              .where(_WAITING, _site.status.in_(_STUCK)).group_by(_site.id))
    with transaction(engine) as s:
        waiting = dict(s.execute(counts).all())
        if not waiting:
            return []
        sites = s.scalars(select(Post).where(Post.id.in_(waiting)).order_by(Post.id))
        return [Stuck(website=site, waiting=waiting[site.id]) for site in sites]


def still_coming(engine: Engine) -> int:
    """Waiting posts whose website post is on its way or out: a daemon run ``until
    drained`` waits for them too."""
    coming = (*values(ACTIVE), Status.PUBLISHED.value)
    query = (select(func.count(Post.id)).join(_site, _depends)
             .where(_WAITING, _site.status.in_(coming)))
    with connection(engine) as s:
        return int(s.execute(query).scalar_one())


def link_sources(engine: Engine) -> frozenset[str]:
    """The accounts posts are waiting for now (whose publications the daemon watches)."""
    query = select(Post.link_from).where(_WAITING).distinct()
    with connection(engine) as s:
        return frozenset(a for a in s.scalars(query) if a)


def waiting_for(engine: Engine, post_ids: Sequence[int]) -> dict[int, str]:
    """The account each of these waiting posts waits for."""
    if not post_ids:
        return {}
    query = select(Post.id, Post.link_from).where(Post.id.in_(post_ids), _WAITING)
    with connection(engine) as s:
        return {i: a for i, a in s.execute(query).all()}


__all__ = ["Arrival", "Stuck", "arrivals", "link_arrived", "link_sources", "link_unusable",
           "still_coming", "stuck", "waiting_for"]
