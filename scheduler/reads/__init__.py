"""The read side: named SQL statements run through the database's DB-API driver.

Every read of releases, posts, the attempt log, the daemons' state, alerts and the audit
log is one named statement in ``statements.sql``, written once for both databases, and run
here: through stdlib :mod:`sqlite3` or psycopg directly when a read command opened the
database itself (:func:`connect`), or through a connection of the daemon's or the desk's
SQLAlchemy engine (``engine.raw_connection()``, public API). Either way the values come
back the same: times aware UTC, JSON columns decoded, booleans ``bool``
(:meth:`Reader.rows`). Writes stay on SQLAlchemy (:mod:`scheduler.queue`).

Why not SQLAlchemy here too: importing it (and SQLModel and the models) is about 600 ms of
each ``siar queue``/``status``/``history``/``report``, three quarters of their start; the
statements themselves take a millisecond. This module imports neither SQLAlchemy nor
psycopg until a PostgreSQL database is opened.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.reads.rows import columns
from scheduler.revision import HEAD_REVISION

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: columns (by name, also an alias in a statement) that hold a time: aware UTC when read
TIMES = frozenset({
    "due_at", "not_before", "lease_until", "created_at", "updated_at", "started_at",
    "finished_at", "rate_limited_until", "heartbeat_at", "stopped_at", "sent_at",
    "next_try_at", "at", "published_at"})
#: columns that hold JSON: Python values when read
JSON_COLUMNS = frozenset({"variant", "progress", "detail", "hashtags", "images", "mentions",
                          "deliveries", "accounts"})
#: columns that hold a boolean (SQLite keeps 0 and 1)
BOOLEANS = frozenset({"paused"})

_STATEMENTS_FILE = Path(__file__).with_name("statements.sql")


def _load(text: str) -> dict[str, str]:
    """name → statement, from the ``-- name:`` blocks of ``statements.sql`` (comments
    dropped, ``{table alias}`` expanded to the table's columns). String methods only: this
    runs at every read command's start."""
    found: dict[str, str] = {}
    for block in text.split("\n-- name: ")[1:]:
        name, _newline, body = block.partition("\n")
        lines = [line for line in body.splitlines()
                 if line.strip() and not line.lstrip().startswith("--")]
        sql = "\n".join(lines)
        while "{" in sql:  # {post p} → p.id AS post__id, p.release_id AS post__release_id, …
            head, _brace, rest = sql.partition("{")
            inside, _brace, tail = rest.partition("}")
            table, alias = inside.split()
            sql = head + ", ".join(f"{alias}.{c} AS {table}__{c}" for c in columns(table)) + tail
        found[name.strip()] = sql
    return found


STATEMENTS: dict[str, str] = _load(_STATEMENTS_FILE.read_text(encoding="utf-8"))


def sqlite_time(moment: datetime) -> str:
    """A time as SQLite holds it (SQLAlchemy's format for a ``DateTime`` column, UTC): the
    form a parameter needs for stored times to compare with it as text."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")


class Reader:
    """Runs the named statements on one DB-API connection (sqlite3 or psycopg)."""

    def __init__(self, connection: Any, backend: str) -> None:
        self.connection = connection
        #: ``sqlite`` or ``postgresql``
        self.backend = backend
        self._in_snapshot = False

    def rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """The rows of statement ``name``, each a dict by column name (or alias), with the
        values converted the same way for both databases."""
        sql, bound = self._prepare(STATEMENTS[name], params)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, bound)
            names = [d[0] for d in cursor.description]
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        return [{n: self._value(n, v) for n, v in zip(names, row, strict=True)}
                for row in fetched]

    def scalar(self, name: str, **params: Any) -> Any:
        """The first column of the first row (None without rows)."""
        found = self.rows(name, **params)
        return next(iter(found[0].values())) if found else None

    @contextmanager
    def snapshot(self) -> Iterator[Reader]:
        """The reads inside see one state of the database (one read transaction)."""
        if self._in_snapshot:
            yield self
            return
        self._in_snapshot = True
        try:
            if self._explicit:
                self._execute("BEGIN")  # SQLite: deferred, a read snapshot, no write lock
            yield self
        finally:
            self._in_snapshot = False
            self._end()

    def close(self) -> None:
        """End the read transaction and close the connection (one of an engine's goes
        back to its pool)."""
        try:
            self._end()
        finally:
            self.connection.close()

    @property
    def _explicit(self) -> bool:
        """Whether the connection runs each statement on its own (its transactions are
        begun here), or begins one implicitly (psycopg's default, a pooled connection)."""
        if self.backend == "sqlite":
            return self.connection.isolation_level is None
        return bool(self.connection.autocommit)

    def _end(self) -> None:
        if not self._explicit:
            self.connection.rollback()  # only read: nothing to keep, no lock held on
        elif self._in_transaction():
            self._execute("COMMIT")

    def _in_transaction(self) -> bool:
        if self.backend == "sqlite":
            return bool(self.connection.in_transaction)
        from psycopg.pq import TransactionStatus

        return self.connection.info.transaction_status != TransactionStatus.IDLE

    def _execute(self, sql: str) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _prepare(self, sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bound: dict[str, Any] = {}
        for key, value in params.items():
            if isinstance(value, list | tuple | set | frozenset):
                # written `IN (:key)`: one placeholder per item, NULL for none (matches none)
                items = list(value)
                names = [f"{key}_{i}" for i in range(len(items))]
                sql = sql.replace(f"(:{key})",
                                  "(" + (", ".join(f":{n}" for n in names) or "NULL") + ")")
                bound.update(zip(names, map(self._param, items), strict=True))
            else:
                bound[key] = self._param(value)
        if self.backend == "postgresql":  # psycopg's placeholders: %(name)s
            sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
        return sql, bound

    def _param(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if self.backend == "sqlite":
                return sqlite_time(value)
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value
        if isinstance(value, bool) and self.backend == "sqlite":
            return int(value)
        if isinstance(value, Enum):  # a Status: its value, as the column holds it
            return value.value
        return value

    def _value(self, name: str, value: Any) -> Any:
        column = name.rpartition("__")[2]
        if value is None:
            return None
        if column in TIMES:
            if isinstance(value, str):  # SQLite
                value = datetime.fromisoformat(value)
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if column in JSON_COLUMNS:
            return json.loads(value) if self.backend == "sqlite" else value
        if column in BOOLEANS:
            return bool(value)
        return value


@contextmanager
def reading(source: Reader | Engine) -> Iterator[Reader]:
    """A reader on ``source``: the reader itself, or one on a pooled connection of the
    engine, handed back afterwards."""
    if isinstance(source, Reader):
        yield source
        return
    from scheduler.db import ensure_not_replaced  # SQLAlchemy is loaded: it made the engine

    ensure_not_replaced(source)
    reader = Reader(source.raw_connection(), source.dialect.name)
    try:
        yield reader
    finally:
        reader.close()


def connect(url: str) -> Reader | None:
    """A reader on the database at ``url`` if it exists and is at :data:`HEAD_REVISION`;
    None when it must first be created or migrated (through :mod:`scheduler.db`), or
    cannot be opened here (the engine then reports why). A database migrated by a newer
    Siar (a revision this one does not know) is an error: migrating cannot help."""
    reader = _open(url)
    if reader is None:
        return None
    try:
        revision = reader.scalar("schema_revision")
    except Exception:  # no alembic_version table (each driver names it its own way)
        revision = None
    if revision == HEAD_REVISION:
        reader._end()
        return reader
    reader.close()
    if revision is not None and revision not in known_revisions():
        from scheduler.errors import ConfigError
        from scheduler.i18n import _

        raise ConfigError(
            _("the database at {url} was migrated by a newer Siar (schema revision "
              "{revision}; this one knows up to {head})").format(
                url=_without_password(url), revision=revision, head=HEAD_REVISION),
            hint=_("upgrade Siar to the version that wrote it, or restore a backup"))
    return None


def known_revisions() -> set[str]:
    """The migrations this Siar has (``scheduler/migrations/versions/NNNN_*.py``)."""
    versions = Path(__file__).parent.parent / "migrations" / "versions"
    return {name[:4] for name in os.listdir(versions) if name[:4].isdigit()}


def _open(url: str) -> Reader | None:
    scheme, _sep, rest = url.partition("://")
    backend = scheme.split("+")[0]
    if backend == "sqlite":
        path = rest.split("?")[0][1:]  # sqlite:///relative, sqlite:////absolute
        if not path or path == ":memory:":
            return None
        import sqlite3

        file = Path(path)  # as SQLAlchemy hands it to sqlite3: the same file as the writes
        try:
            # mode=rw: never creates the file (a new database is created by migrations)
            connection = sqlite3.connect(f"{file.absolute().as_uri()}?mode=rw", uri=True,
                                         timeout=30, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error:
            return None
        return Reader(connection, "sqlite")
    if backend in ("postgresql", "postgres"):
        import psycopg

        try:
            # autocommit: between reads the connection holds no snapshot and no lock (a
            # migration or a write in the same process would wait for it)
            connection = psycopg.connect(f"postgresql://{rest}", connect_timeout=10,
                                         autocommit=True)
        except psycopg.Error:
            return None
        return Reader(connection, "postgresql")
    return None


def open_or_migrate(url: str, migrate: Any) -> Reader:
    """A reader on the database at ``url``, after ``migrate()`` (which creates or upgrades
    it through SQLAlchemy and Alembic) when it is not at :data:`HEAD_REVISION`."""
    reader = connect(url)
    if reader is None:
        migrate()
        reader = connect(url)
    if reader is None:
        from scheduler.errors import ConfigError
        from scheduler.i18n import _

        raise ConfigError(_("the database at {url} is not at schema revision {head}").format(
            url=_without_password(url), head=HEAD_REVISION),
            hint=_("run 'siar db upgrade' (and 'siar db current' to see where it is)"))
    return reader


def _without_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


__all__ = ["HEAD_REVISION", "STATEMENTS", "Reader", "connect", "open_or_migrate", "reading",
           "sqlite_time"]
