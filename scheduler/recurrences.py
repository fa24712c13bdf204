"""Recurring releases: each occurrence becomes a release row of its own.

An occurrence is a child of the template release, queued by
:func:`scheduler.queue.enqueue_occurrence`; the unique ``(parent_id, due_at)`` constraint
makes materialising exactly-once even when several daemons do it at the same moment. When
the occurrences fall is :func:`scheduler.cron.occurrences`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.cron import occurrences
from scheduler.errors import ConfigError
from scheduler.models import Post, Release, Status
from scheduler.timeparse import to_db, utcnow

log = logging.getLogger("siar.recurrences")


def materialise_recurrences(engine: Engine, *, horizon: timedelta = timedelta(hours=24),
                            grace: timedelta = timedelta(hours=1), limit: int = 500,
                            now: datetime | None = None) -> list[int]:
    """Create each occurrence of every recurring release due within ``horizon``.

    Occurrences are release rows with ``parent_id`` = the template and the template's
    posts copied (same composed text, a fresh publish key). Safe to run on several
    daemons at once: the unique ``(parent_id, due_at)`` lets exactly one insert win.
    Occurrences older than ``grace`` (the daemons were all down) are skipped rather
    than created only to be marked missed. A template whose posts were all cancelled
    stops recurring. Returns the ids of the releases this call created.
    """
    now = to_db(now or utcnow())
    created: list[int] = []
    with queue.transaction(engine) as s:
        templates = list(s.scalars(select(Release).where(Release.repeat.is_not(None),
                                                         Release.parent_id.is_(None))))
        latest = dict(s.execute(select(Release.parent_id, func.max(Release.due_at))
                                .where(Release.parent_id.is_not(None))
                                .group_by(Release.parent_id)).all())
    for template in templates:
        last = max(to_db(template.due_at), to_db(latest.get(template.id, template.due_at)))
        start = max(last, now - grace)
        try:
            due_times = list(occurrences(template.repeat or "", template.zone, start,
                                         now + horizon))[:limit]
        except ConfigError as exc:
            log.error("release %s: %s", template.id, exc)
            continue
        for due in due_times:
            release_id = queue.enqueue_occurrence(engine, template, due)
            if release_id is None and _all_cancelled(engine, template.id):  # type: ignore[arg-type]
                break  # staff stopped the series
            if release_id is not None:
                created.append(release_id)
    return created


def _all_cancelled(engine: Engine, release_id: int) -> bool:
    with queue.transaction(engine) as s:
        statuses = set(s.scalars(select(Post.status).where(Post.release_id == release_id)))
    return statuses == {Status.CANCELLED.value}
