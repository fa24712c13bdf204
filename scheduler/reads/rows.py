"""The rows the named reads return: each table's columns as plain, frozen values.

The field names are the tables' column names (:mod:`scheduler.models`), so code written
for the ORM objects (``post.release_id``, ``release.zone``) reads these the same way. A
statement selects a table's columns with ``{post p}`` (see :mod:`scheduler.reads`), which
expands to exactly these fields. Times are aware UTC, JSON columns Python values, on
both databases (:meth:`scheduler.reads.Reader.rows`). Named tuples, not dataclasses:
making seven dataclasses costs more of a read command's start than its statements.
Nor string annotations (``from __future__ import annotations``): typing.NamedTuple compiles
each one at import, about 1.5 ms of every read command.
"""

from datetime import datetime
from typing import Any, NamedTuple, TypeVar

Row = TypeVar("Row")


class ReleaseRow(NamedTuple):
    """A press release as staff wrote it (table ``release``)."""

    id: int
    title: str
    body: str
    source: str
    zone: str
    due_at: datetime
    hashtags: list[str]
    link: str | None
    images: list[dict[str, Any]]
    mentions: list[str]
    summary: str | None
    language: str
    repeat: str | None
    parent_id: int | None
    created_at: datetime


class PostRow(NamedTuple):
    """One release composed for one account (table ``post``)."""

    id: int
    release_id: int
    account: str
    network: str
    variant: dict[str, Any]
    status: str
    due_at: datetime
    not_before: datetime
    attempt: int
    lease_owner: str | None
    lease_until: datetime | None
    publish_key: str
    progress: dict[str, Any]
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    link_from: str | None
    created_at: datetime
    updated_at: datetime


class AttemptRow(NamedTuple):
    """One row of the attempt log (table ``attempt``)."""

    id: int
    post_id: int
    attempt: int
    node: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    http_status: int | None
    remote_id: str | None
    remote_url: str | None
    error: str | None
    detail: dict[str, Any] | None


class AccountStateRow(NamedTuple):
    """What the daemons know about an account between posts (table ``accountstate``)."""

    account: str
    rate_limited_until: datetime | None
    paused: bool
    paused_reason: str | None
    updated_at: datetime


class NodeRow(NamedTuple):
    """A daemon and its heartbeat (table ``node``)."""

    name: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None


class AlertRow(NamedTuple):
    """A staff alert (table ``alert``)."""

    key: str
    kind: str
    subject: str
    message: str
    created_at: datetime
    sent_at: datetime | None
    deliveries: dict[str, Any]
    attempts: int
    next_try_at: datetime | None
    last_error: str | None


class AuditRow(NamedTuple):
    """One row of the audit log (table ``audit_log``)."""

    id: int
    at: datetime
    actor: str
    action: str
    release_id: int | None
    accounts: list[str]
    detail: dict[str, Any]


#: the name a statement uses for a table's columns (``{post p}``) → its row type
TABLES: dict[str, type] = {
    "release": ReleaseRow, "post": PostRow, "attempt": AttemptRow,
    "accountstate": AccountStateRow, "node": NodeRow, "alert": AlertRow,
    "audit_log": AuditRow,
}


def columns(table: str) -> tuple[str, ...]:
    """The column names of ``table`` in the order of its row type."""
    return TABLES[table]._fields  # type: ignore[no-any-return]


def build(row_type: type[Row], record: dict[str, Any], table: str) -> Row:
    """The ``table``'s row out of a record whose columns are named ``table__column``."""
    prefix = f"{table}__"
    return row_type(**{name: record[prefix + name] for name in columns(table)})
