"""The audit log: who queued, approved, declined, rescheduled, cancelled or resolved what,
and when. Append-only: rows are only ever added (the database refuses anything else, see
migration 0009), and nothing secret is written to it (names, times, comments)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from scheduler.db import connection
from scheduler.queries import audit_entries as entries  # a named read, like every other
from scheduler.reads.rows import AuditRow as Entry
from scheduler.tables import AUDIT_LOG
from scheduler.timeparse import utcnow

#: the actions recorded (``AuditEntry.action``)
ACTIONS = ("queue", "approve", "decline", "reschedule", "cancel", "resolve")
#: the model's table as a Core table (``AuditEntry``'s columns): writing a row needs no ORM
_TABLE = AUDIT_LOG


def os_user() -> str:
    """Who runs the CLI: the operating system's user name (``--as`` overrides it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container): the uid is still someone
        return f"uid-{os.getuid()}"


def record(target: Engine | Connection, actor: str, action: str, release_id: int | None,
           accounts: Iterable[str] = (), **detail: Any) -> None:
    """Add one row: ``actor`` did ``action`` to release ``release_id`` (its ``accounts``);
    ``detail`` says the rest (a comment, the new time …). Given a connection, the row is
    written in its transaction, with the change it records."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = {"at": utcnow(), "actor": actor, "action": action, "release_id": release_id,
           "accounts": sorted(set(accounts)),
           "detail": {k: v for k, v in detail.items() if v is not None}}
    if isinstance(target, Connection):
        target.execute(insert(_TABLE), row)
        return
    with connection(target) as s:
        s.execute(insert(_TABLE), row)


def record_queued(connection: Connection, actor: str,
                  releases: Iterable[tuple[int, Iterable[str], dict[str, Any]]]) -> None:
    """One ``queue`` row per (release id, accounts, detail), as :func:`record` writes it,
    in ``connection``'s transaction and the driver's bulk way (:func:`bulk.copy_rows`): a
    content calendar of 10,000 releases wrote and committed its rows one by one, four
    fifths of ``siar add``'s time."""
    from scheduler import bulk

    dialect = connection.dialect
    convert = _TABLE.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    at = convert(utcnow()) if convert else utcnow()
    # the JSON columns' text, as SQLAlchemy's JSON type writes it (json.dumps); a calendar's
    # releases go to the same few sets of accounts, each written once
    written: dict[tuple[str, ...], str] = {}

    def accounts_text(accounts: Iterable[str]) -> str:
        key = tuple(accounts)
        if (text := written.get(key)) is None:
            text = written[key] = bulk.json_text(sorted(set(key)))
        return text

    bulk.copy_rows(connection, _TABLE, _QUEUED_COLUMNS, (
        (at, actor, "queue", release_id, accounts_text(accounts),
         bulk.json_text({k: v for k, v in detail.items() if v is not None}))
        for release_id, accounts, detail in releases))


_QUEUED_COLUMNS = ("at", "actor", "action", "release_id", "accounts", "detail")


__all__ = ["ACTIONS", "Entry", "entries", "os_user", "record", "record_queued"]
