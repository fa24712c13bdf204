"""Engines, schema and transactions: SQLite (embedded default) or PostgreSQL (several daemons).

SQLite is tuned for one writer and many readers: WAL, a busy timeout, foreign keys, and
every transaction opened with ``BEGIN IMMEDIATE`` so that a read-then-write (a claim)
takes the write lock up front instead of failing with "database is locked" halfway.
The schema is managed by Alembic and brought to head on first use. Inside the daemon every
transaction goes through :func:`transaction` (a session) or :func:`connection` (Core, the
queue's statements), which queue for SQLite's single writer on a Python lock; the clock
leases are measured by is :func:`clock`.

An SQLite engine remembers which file it opened (device and inode): a file deleted or
replaced under a running daemon would otherwise go on being used through the connections
already open, while ``siar add`` writes to the new file whose posts nobody publishes
(:func:`database_file_changed`). Once that is found, the engine opens no transaction any
more: the ``-wal`` and ``-shm`` files at the path may be shared with the new file (``rm
siar.db`` leaves them), and a write through the old connections would land in the new
database. A new connection to another file at the path is refused as well.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, func, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import ColumnElement

from scheduler.errors import ConfigError, SiarError
from scheduler.i18n import _
from scheduler.revision import HEAD_REVISION
from scheduler.tables import NODE, POST
from scheduler.timeparse import to_db, utcnow

if TYPE_CHECKING:  # the ORM is imported by the first session (see session)
    from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and transaction mode Siar relies on."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(_("cannot create the database folder for {database}: "
                                    "{reason}").format(database=database, reason=exc),
                                  hint=_("set SIAR_HOME or SIAR_DATABASE_URL to a writable place")
                                  ) from exc
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)
        _tune_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # No pre-ping: it costs a round trip per transaction on the hot path; a dropped
        # connection fails one transaction, which every caller already treats as retryable.
        kwargs.setdefault("pool_size", 16)
        kwargs.setdefault("max_overflow", 32)
        engine = create_engine(url, pool_recycle=1800, **kwargs)
        _tune_postgres(engine)
        return engine
    raise ConfigError(_("unsupported database {backend!r}").format(
                          backend=parsed.get_backend_name()),
                      hint=_("use sqlite:///path/to/siar.db or postgresql://user@host/db"))


def _tune_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # PostgreSQL's default, made sure of: a server set to synchronous_commit=off
        # acknowledges a commit before it is on disk, and after a server crash the
        # "publishing" of a post already sent could be gone (see docs/decisions.md).
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO on")
        dbapi_connection.commit()


class DatabaseReplaced(SiarError):
    """The SQLite file this engine opened was deleted or replaced by another file."""


#: engine → (path, (device, inode)) of the SQLite file its first connection opened
_FILES: weakref.WeakKeyDictionary[Engine, tuple[Path, tuple[int, int]]] = \
    weakref.WeakKeyDictionary()
#: engine → what happened to its file, once found (it then opens no transaction)
_GONE: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def database_file_changed(engine: Engine) -> str | None:
    """What happened to the SQLite file the engine works on, if it is no longer the file
    at its path (deleted, or replaced by another); None if it still is (or PostgreSQL).
    One ``stat``: cheap enough for every claim round. From then on the engine opens no
    transaction (each raises :class:`DatabaseReplaced`)."""
    if (gone := _GONE.get(engine)) is not None:
        return gone
    opened = _FILES.get(engine)
    if opened is None:
        return None
    path, identity = opened
    now = _identity(path)
    if now == identity:
        return None
    gone = (_("the database file {path} was deleted") if now is None
            else _("the database file {path} was replaced")).format(path=path)
    _GONE[engine] = gone
    return gone


def disown_file(engine: Engine, node: str, pid: int) -> None:
    """After :func:`database_file_changed`: if the file now at the path holds ``node``'s row
    with this ``pid`` (a copy of the old file put in its place), mark it stopped there, so
    that ``siar status`` on that file does not count a daemon that never worked on it.
    Creates nothing; a missing file or one that is not a Siar database is left alone."""
    opened = _FILES.get(engine)
    if opened is None:
        return
    import sqlite3  # here: a daemon on PostgreSQL never loads the SQLite driver

    uri = f"{opened[0].as_uri()}?mode=rw"  # mode=rw: never creates a file that is not there
    other = create_engine("sqlite://", poolclass=NullPool,
                          creator=lambda: sqlite3.connect(uri, uri=True, timeout=5))
    try:
        with other.begin() as connection:
            connection.execute(update(NODE).where(NODE.c.name == node, NODE.c.pid == pid)
                               .values(stopped_at=utcnow()))
    except Exception:  # no file, or not a Siar database: nothing to disown
        pass
    finally:
        other.dispose()


def _tune_sqlite(engine: Engine) -> None:
    database = engine.url.database
    path = Path(database).expanduser().absolute() if database and database != ":memory:" \
        else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if path is not None:
            _same_file(engine, path)
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _use_wal(cursor)
        # FULL, not WAL's usual NORMAL: a commit is on disk before it returns, so the
        # "publishing" committed before a request leaves survives a power loss or an OS
        # crash too, not only a crash of the daemon (NORMAL may roll the last commits
        # back, and the post would be sent again). See docs/decisions.md.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        ensure_not_replaced(engine)
        connection.exec_driver_sql("BEGIN IMMEDIATE")


#: how long a connection waits for another to let it switch a new file to WAL (as long as
#: the busy timeout every statement waits for a lock)
WAL_SWITCH_TIMEOUT_S = 30.0


def _use_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting while another connection holds the file.

    Switching a new file to WAL needs a lock SQLite does not wait for with the busy
    timeout: when a daemon and ``siar add`` open a new database at once, one of them got
    "database is locked" at once and stopped (exit 70). The switch is tried again until
    the other lets go; on a file already in WAL it is a read and never waits."""
    import sqlite3  # loaded already: this is the SQLite driver's connection
    import time

    deadline = time.monotonic() + WAL_SWITCH_TIMEOUT_S
    pause = 0.002
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def ensure_not_replaced(engine: Engine) -> None:
    """Raise :class:`DatabaseReplaced` once the engine's SQLite file is known to be gone
    (:func:`database_file_changed`): no transaction, and no read, goes to the old file."""
    if (gone := _GONE.get(engine)) is not None:
        raise DatabaseReplaced(_("{gone}; nothing more is written through the old one").format(
                                   gone=gone),
                               hint=_("restart Siar so that it works on the file now at that "
                                      "path"))


def _same_file(engine: Engine, path: Path) -> None:
    """Remember the file the first connection opened; refuse a later connection to another
    file at the same path (it would mix two databases in one pool)."""
    identity = _identity(path)
    if identity is None:
        return  # :memory:-like or not created yet (sqlite3 creates it on first write)
    opened = _FILES.setdefault(engine, (path, identity))
    if opened[1] != identity:
        raise DatabaseReplaced(
            _("the database file {path} was replaced while Siar had it open").format(path=path),
            hint=_("restart the daemon so that it works on the file now at that path"))


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error. SQLAlchemy's ORM
    and SQLModel are imported by the first session: the daemon's start and its statements
    need only the Core (:mod:`scheduler.tables`)."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


# --- transactions and the clock of the daemon's statements -----------------------------

_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(engine, threading.Lock())


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session for anything the daemon does in the database (use it, not
    :func:`session`, inside the daemon).

    On SQLite every transaction takes the single write lock (``BEGIN IMMEDIATE``); the
    threads of this process queue for it here, where a lock let go wakes the next at once,
    instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms: one
    heartbeat outside this lock stalled every publishing thread for that long.
    """
    if not is_sqlite(engine):
        with session(engine) as s:
            yield s
        return
    with _writer_lock(engine), session(engine) as s:
        yield s


@contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """A Core transaction for the queue's statements: no ORM unit of work, about three
    times less Python per statement; the same SQLite lock as :func:`transaction`."""
    if not is_sqlite(engine):
        with engine.begin() as connected:
            yield connected
        return
    with _writer_lock(engine), engine.begin() as connected:
        yield connected


#: a moment as a statement uses it: a value, or the database's own ``now()``
Clock = datetime | ColumnElement[datetime]


def statement_clock(engine: Engine, now: datetime | None) -> Clock:
    """:func:`clock` for statements on the hot path (begin, finalize): on PostgreSQL the
    statement reads ``now()`` itself, which is the transaction's start, exactly what
    :func:`clock` would have fetched, without the round trip of its own (a third of
    finalize's time, measured)."""
    if now is not None:
        return to_db(now)
    if is_sqlite(engine):
        return utcnow()
    return func.now()


def clock(engine: Engine, now: datetime | None, s: Session | Connection) -> datetime:
    """The time leases are measured by: the database's clock on PostgreSQL (several hosts
    share it), this host's clock on SQLite (one host by construction); ``now`` if given."""
    if now is not None:
        return to_db(now)
    if is_sqlite(engine):
        return utcnow()
    return to_db(s.execute(select(func.now())).scalar_one())


@dataclass(frozen=True)
class ClockSQL:
    """The statement clock as SQL text (for statements written as text): the database's
    ``now()``, or a given time bound as the column type stores it."""

    sql: str
    params: dict[str, Any]

    @classmethod
    def of(cls, s: Connection, moment: Clock) -> ClockSQL:
        if not isinstance(moment, datetime):
            return cls("now()", {})
        column = POST.c.updated_at
        process = column.type.dialect_impl(s.dialect).bind_processor(s.dialect)
        return cls(":clock", {"clock": process(moment) if process else moment})


def current_revision(engine: Engine) -> str | None:
    """The schema's revision (``alembic_version``); None for a database Siar never set up.

    One plain read, as every start of a database at head makes it: asking first whether
    the table exists cost a catalogue query (a round trip and ~4 ms of CPU on
    PostgreSQL, where the dialect's reflection statement is compiled on first use)."""
    read = text("SELECT version_num FROM alembic_version")
    with engine.connect() as connection:
        try:
            return connection.execute(read).scalar()
        except DBAPIError:
            connection.rollback()
            if not inspect(connection).has_table("alembic_version"):
                return None
        # the table is there: another process (``siar add`` beside a starting daemon) set
        # the database up meanwhile; a second failure has another reason and is raised
        connection.rollback()
        return connection.execute(read).scalar()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config  # imported lazily: costs ~100 ms at start-up

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    _migrate(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Revert migrations down to ``revision``."""
    _migrate(engine, "downgrade", revision)


def _migrate(engine: Engine, direction: str, revision: str) -> None:
    """Run Alembic; a revision it does not know becomes a clear error, not a traceback."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = _alembic_config(engine)
    try:
        getattr(command, direction)(config, revision)
    except CommandError as exc:
        known = [script.revision
                 for script in ScriptDirectory.from_config(config).walk_revisions()]
        found = current_revision(engine)
        if found is not None and found not in known:
            raise ConfigError(
                _("the database is at schema revision {found}, which this Siar does not "
                  "know (its newest is {head}): a newer Siar has used it").format(
                      found=found, head=HEAD_REVISION),
                hint=_("run the Siar version that upgraded it, or restore a backup made "
                       "with this version; nothing was changed")) from exc
        raise ConfigError(
            _("cannot move the database to revision {revision}: {reason}").format(
                revision=revision, reason=exc),
            hint=_("revisions this Siar knows: {known}, 'head' (the newest) and 'base' "
                   "(empty)").format(known=", ".join(sorted(known)))) from exc


def ensure_schema(engine: Engine) -> None:
    """Bring the schema to head if it is behind (cheap when it already is)."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)


def open_database(url: str) -> Engine:
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


# --- PostgreSQL LISTEN/NOTIFY: a hint that the queue changed, on top of polling ---------

#: the channel ``enqueue`` notifies and daemons listen on
QUEUE_CHANNEL = "siar_queue"


def notify_queue(connection: Any) -> None:
    """Tell listening daemons that posts were queued (sent when the transaction commits).

    Only a hint: a daemon that misses it still finds the posts on its next poll.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": QUEUE_CHANNEL})


class QueueListener:
    """A thread that calls ``on_notify`` whenever ``notify_queue`` fires (PostgreSQL only).

    It uses a connection of its own outside the pool (LISTEN needs autocommit and a
    connection that is never handed to anyone else) and reconnects after errors.
    """

    def __init__(self, engine: Engine, on_notify: Callable[[], None]) -> None:
        self.engine = engine
        self.on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siar-listen", daemon=True)

    def start(self) -> QueueListener:
        if not is_sqlite(self.engine):
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {QUEUE_CHANNEL}")
                    while not self._stop.is_set():
                        for _notice in connection.notifies(timeout=0.5, stop_after=1):
                            self.on_notify()
            except psycopg.Error:
                self._stop.wait(1.0)
