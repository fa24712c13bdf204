"""The attempt log's rows, written with the changes they record: an attempt's row opened
when its post is begun, and a row opened and closed at once for a change without a request
(``given_back``, ``lease_expired``, ``missed``, staff's marks)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

import scheduler.queue.statements as sql
from scheduler import bulk
from scheduler.db import Clock, ClockSQL
from scheduler.queue.records import StartedPost


def open_attempts(s: Connection, posts: Iterable[StartedPost], node: str,
                  moment: Clock) -> None:
    """The attempt rows of posts just begun, in one statement."""
    at = ClockSQL.of(s, moment)
    bulk.insert_rows(s, sql.ATTEMPT, [{"post_id": p.id, "attempt": p.attempt} for p in posts],
                     fixed={"node": ":node", "started_at": at.sql},
                     params={"node": node, **at.params})


def log_changes(s: Connection, rows: Sequence[Mapping[str, Any]], node: str,
                moment: Clock) -> None:
    """One finished row per change (``post_id``, ``attempt``, ``outcome`` and the same
    other columns in every row), started and finished at ``moment``, by ``node``."""
    at = ClockSQL.of(s, moment)
    bulk.insert_rows(s, sql.ATTEMPT, rows,
                     fixed={"node": ":node", "started_at": at.sql, "finished_at": at.sql},
                     params={"node": node, **at.params})
