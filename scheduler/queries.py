"""Read-only questions about releases, posts, the attempt log and the audit log (for the
CLI, the desk, approval and the daemon's alerts).

Each is one named statement of :mod:`scheduler.reads`, run on a :class:`~scheduler.reads.
Reader` (the read commands open one without SQLAlchemy) or on an SQLAlchemy engine (the
daemon, the desk, the write commands); the rows are :mod:`scheduler.reads.rows`, whose
fields are the tables' columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.errors import NotFound
from scheduler.i18n import _
from scheduler.reads import Reader, reading
from scheduler.reads.rows import AttemptRow, AuditRow, PostRow, ReleaseRow, build
from scheduler.states import CLAIMABLE, DONE, Status, values
from scheduler.timeparse import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_DONE = values(DONE)
_WAITING = values(CLAIMABLE)
_EVERY_STATUS = tuple(s.value for s in Status)


def release_with_posts(db: Reader | Engine,
                       release_id: int) -> tuple[ReleaseRow, list[PostRow]]:
    """A release and its posts (by id); NotFound for a wrong id."""
    with reading(db) as r, r.snapshot():
        found = r.rows("release", release_id=release_id)
        if not found:
            raise NotFound(_("no release with id {id}").format(id=release_id),
                           hint=_("'siar queue --all' lists every release"))
        posts = [build(PostRow, row, "post")
                 for row in r.rows("posts_of_release", release_id=release_id)]
    return build(ReleaseRow, found[0], "release"), posts


def posts(db: Reader | Engine, *, statuses: Sequence[str] | None = None,
          include_done: bool = False, limit: int = 200) -> list[tuple[PostRow, ReleaseRow]]:
    """Posts with their releases: active first, then by due time."""
    shown = (tuple(statuses) if statuses else _EVERY_STATUS if include_done
             else tuple(s for s in _EVERY_STATUS if s not in _DONE))
    with reading(db) as r:
        found = r.rows("queue", shown=shown, done=_DONE, limit=limit)
    return [(build(PostRow, row, "post"), build(ReleaseRow, row, "release")) for row in found]


def blocked_by_pause(db: Reader | Engine) -> dict[str, str]:
    """Paused accounts → what ``siar queue`` says blocks their waiting posts."""
    with reading(db) as r:
        paused = r.rows("paused_accounts")
    return {row["account"]: f"account paused: {row['paused_reason'] or 'no reason given'}"
            for row in paused}


def blocked(post: Any, pauses: dict[str, str]) -> str | None:
    """Why a waiting post cannot go out until staff act (its account is paused), or None.
    Such posts keep their status (``scheduled`` or ``retry``) but are not waiting: no
    daemon claims them, and ``siar daemon --until-drained`` does not wait for them."""
    if post.status in _WAITING:
        return pauses.get(post.account)
    return None


def past_grace(db: Reader | Engine, *, grace: timedelta, account: str | None = None,
               post_ids: Sequence[int] = ()) -> list[PostRow]:
    """Waiting posts (``scheduled``/``retry``) of ``account`` or among ``post_ids`` whose time
    plus the grace period has passed: the daemon marks them missed instead of sending them."""
    with reading(db) as r:
        found = r.rows("waiting_past", waiting=_WAITING, late=utcnow() - grace,
                       every_account=account is None, account=account,
                       every_post=not post_ids, post_ids=tuple(post_ids))
    return [build(PostRow, row, "post") for row in found]


def post_ids_in(db: Reader | Engine, release_id: int, account: str | None,
                states: tuple[Status, ...]) -> list[int]:
    """The ids of the release's posts (of ``account`` only, if given) in ``states``: what a
    staff action may change (``scheduler.states.CANCELLABLE``, ``RESCHEDULABLE``)."""
    release_with_posts(db, release_id)  # raises NotFound for a wrong id
    with reading(db) as r:
        found = r.rows("post_ids_in", release_id=release_id, statuses=values(states),
                       every_account=not account, account=account or None)
    return [row["id"] for row in found]


def in_doubt(db: Reader | Engine, *, limit: int = 100) -> list[PostRow]:
    """Posts in ``unknown``, oldest first (for the probe job and ``siar status``)."""
    with reading(db) as r:
        found = r.rows("posts_in_doubt", unknown=Status.UNKNOWN.value, limit=limit)
    return [build(PostRow, row, "post") for row in found]


def attempts_for(db: Reader | Engine, post_ids: Sequence[int]) -> dict[int, list[AttemptRow]]:
    """Each post's attempt log, oldest first."""
    grouped: dict[int, list[AttemptRow]] = defaultdict(list)
    if not post_ids:
        return grouped
    with reading(db) as r:
        for row in r.rows("attempts_of_posts", post_ids=tuple(post_ids)):
            attempt = build(AttemptRow, row, "attempt")
            grouped[attempt.post_id].append(attempt)
    return grouped


def history(db: Reader | Engine, *, limit: int = 50, since: datetime | None = None,
            until: datetime | None = None, outcomes: Sequence[str] = (),
            accounts: Sequence[str] = ()) -> list[tuple[AttemptRow, PostRow, ReleaseRow]]:
    """The attempt log, newest first, optionally from ``since`` to before ``until`` (when
    each attempt started), for some outcomes or accounts only."""
    with reading(db) as r:
        found = r.rows("history", from_start=since is None, since=since,
                       to_end=until is None, until=until, every_outcome=not outcomes,
                       outcomes=tuple(outcomes), every_account=not accounts,
                       accounts=tuple(accounts), limit=limit)
    return [(build(AttemptRow, row, "attempt"), build(PostRow, row, "post"),
             build(ReleaseRow, row, "release")) for row in found]


def audit_entries(db: Reader | Engine, *, since: datetime | None = None,
                  release_id: int | None = None, limit: int = 500) -> list[AuditRow]:
    """The audit log's rows, oldest first (from ``since``; of one release; the newest
    ``limit``)."""
    with reading(db) as r:
        found = r.rows("audit_entries", from_start=since is None, since=since,
                       every_release=release_id is None, release_id=release_id, limit=limit)
    return [build(AuditRow, row, "audit_log") for row in reversed(found)]
