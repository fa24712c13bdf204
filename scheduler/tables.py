"""The tables the daemon's own statements use, as SQLAlchemy Core tables: ``post``,
``attempt``, ``account_state`` and ``node``; and ``release`` and ``audit_log``, which
``siar add`` writes a content calendar into without the ORM.

:mod:`scheduler.models` declares every table as a SQLModel class, which imports
SQLAlchemy's ORM, SQLModel and pydantic's model machinery: a third of a daemon's CPU
before its first post after a restart. The queue's statements
(:mod:`scheduler.queue.statements`), the heartbeat and the take-over of a dead daemon need
only the columns, so they use these tables, and the ORM is imported when something first
uses it (staff actions, alerts, after the daemon's first posts went out).

The models stay the schema's declaration (migrations, the desk, the CLI's writes);
``tests/core/test_tables.py`` holds every column here equal to its model's: name, type as
the database sees it, nullability, primary key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, Text, types
from sqlalchemy.engine.interfaces import Dialect


class UTCDateTime(types.TypeDecorator[datetime]):
    """SQLModel's type for an aware ``datetime`` field, without importing SQLModel: aware
    times stored as UTC, naive ones refused (they hide zone bugs), read back as aware UTC.
    ``tests/core/test_tables.py`` checks that both convert every time alike."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        """A time compared with a ``timedelta`` is arithmetic on an interval."""
        if isinstance(value, timedelta):
            return types.Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware UTC for the database; a naive time is an error."""
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("a time for the database must be aware (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        """Aware UTC from the database (SQLite stores UTC without an offset)."""
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


METADATA = MetaData()

POST = Table(
    "post", METADATA,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, nullable=False),
    Column("account", String, nullable=False),
    Column("network", String, nullable=False),
    Column("variant", JSON, nullable=False),
    Column("status", String, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("not_before", UTCDateTime, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("lease_owner", String),
    Column("lease_until", UTCDateTime),
    Column("publish_key", String, nullable=False),
    Column("progress", JSON, nullable=False),
    Column("remote_id", String),
    Column("remote_url", String),
    Column("last_error", Text),
    Column("link_from", String),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

ATTEMPT = Table(
    "attempt", METADATA,
    Column("id", Integer, primary_key=True),
    Column("post_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("node", String, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("outcome", String),
    Column("http_status", Integer),
    Column("remote_id", String),
    Column("remote_url", String),
    Column("error", Text),
    Column("detail", JSON),
)

ACCOUNT_STATE = Table(
    "accountstate", METADATA,
    Column("account", String, primary_key=True),
    Column("rate_limited_until", UTCDateTime),
    Column("paused", Boolean, nullable=False),
    Column("paused_reason", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

NODE = Table(
    "node", METADATA,
    Column("name", String, primary_key=True),
    Column("host", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
)

#: ``siar add``'s bulk path writes releases and their audit rows through these: importing
#: the ORM and the models was a third of a second of the command's CPU
RELEASE = Table(
    "release", METADATA,
    Column("id", Integer, primary_key=True),
    Column("title", String, nullable=False),
    Column("body", Text, nullable=False),
    Column("source", String, nullable=False),
    Column("zone", String, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("hashtags", JSON, nullable=False),
    Column("link", String),
    Column("images", JSON, nullable=False),
    Column("mentions", JSON, nullable=False),
    Column("summary", String),
    Column("language", String, nullable=False),
    Column("repeat", String),
    Column("parent_id", Integer),
    Column("created_at", UTCDateTime, nullable=False),
)

AUDIT_LOG = Table(
    "audit_log", METADATA,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("release_id", Integer),
    Column("accounts", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
)
