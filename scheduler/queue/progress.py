"""A post's progress: thread parts published and adapter checkpoints, each stored before
the step it protects.

Most are stored at once, in a transaction of their own, while the adapter works
(:func:`record_part`, :func:`record_checkpoint`). What an adapter would checkpoint before
its first request, when it is known before the attempt begins (Mastodon: when the first
pending part was first sent), is stored with the begin instead, in the transaction that
commits ``publishing`` (:func:`store_first_sends`): one statement per batch of posts
begun, rather than a transaction per post just before its request leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Connection, Engine

import scheduler.queue.statements as sql
from channels.base import PartResult
from scheduler import bulk
from scheduler.db import connection
from scheduler.queue.records import FirstSend, StartedPost
from scheduler.timeparse import utcnow


def record_part(engine: Engine, post_id: int, attempt: int, part: PartResult) -> None:
    """Persist a published thread part at once, so no later attempt sends it again.
    Fenced by the attempt only: a part published by a worker whose post meanwhile went
    ``unknown`` must still be known to the next attempt."""
    with connection(engine) as s:
        progress = _locked_progress(s, post_id, attempt)
        if progress is None:
            return
        parts = [p for p in progress.get("parts", []) if p["index"] != part.index]
        parts.append({"index": part.index, "remote_id": part.remote_id, "url": part.url,
                      "extra": dict(part.extra)})
        progress["parts"] = sorted(parts, key=lambda p: p["index"])
        s.execute(sql.RECORD_PROGRESS, {"b_id": post_id, "b_attempt": attempt,
                                        "b_progress": progress, "b_clock": utcnow()})


def record_checkpoint(engine: Engine, post_id: int, attempt: int, state: dict[str, Any]) -> None:
    """Persist adapter state (e.g. a container id) before a risky step."""
    with connection(engine) as s:
        progress = _locked_progress(s, post_id, attempt)
        if progress is None:
            return
        progress["state"] = {**progress.get("state", {}), **state}
        s.execute(sql.RECORD_PROGRESS, {"b_id": post_id, "b_attempt": attempt,
                                        "b_progress": progress, "b_clock": utcnow()})


def store_first_sends(s: Connection, posts: Iterable[StartedPost],
                      first_send: FirstSend | None) -> list[StartedPost]:
    """In the transaction that began ``posts``: add to each post's progress the state its
    adapter would checkpoint before its first request (``first_send``), in one statement
    for all of them, fenced by the attempt like a checkpoint. Returns the posts with
    their progress as stored, for the workers to send from."""
    posts = list(posts)
    if first_send is None:
        return posts
    rows: list[dict[str, Any]] = []
    for index, post in enumerate(posts):
        ahead = first_send(post)
        if not ahead:
            continue
        progress = {**post.progress, "state": {**post.progress.get("state", {}), **ahead}}
        rows.append({"id": post.id, "attempt": post.attempt, "progress": progress})
        posts[index] = post._replace(progress=progress)
    bulk.update_from_rows(s, sql.POST, rows, match=("id", "attempt"))
    return posts


def _locked_progress(s: Connection, post_id: int, attempt: int) -> dict[str, Any] | None:
    progress = s.scalar(sql.PROGRESS, {"b_id": post_id, "b_attempt": attempt})
    return None if progress is None else dict(progress)
