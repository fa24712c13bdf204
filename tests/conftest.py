"""Shared fixtures. Per-topic fixtures live beside their tests (tests/<topic>/conftest.py).

``postgres_url`` starts a real PostgreSQL 15 server once per test session (initdb into a
temporary folder, a random port on 127.0.0.1, fsync off) and stops it at the end;
``pg_engine`` hands each test a database of its own, created from a template that
already holds the schema, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.engine import Engine

# Hypothesis fails an example that takes over 200 ms: a speed assertion, and on a busy
# machine a flaky one. Speed is measured in bench/; here every property just has to hold.
settings.register_profile("siar", deadline=None)
settings.load_profile("siar")

# Tests are written against the English messages (the message ids); the Indonesian ones
# have tests of their own that set SIAR_LANG=id. Set here, so daemons the tests start see it.
os.environ["SIAR_LANG"] = "en"

PG_BIN = Path(os.environ.get("SIAR_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: initdb refuses to run as root; the server then runs as this unprivileged user
PG_OS_USER = "siar-pg"
TEMPLATE_DB = "siar_template"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled templates go to a scratch cache, never the developer's ~/.cache/siar (the
    variable is inherited by every CLI and daemon process the tests start)."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(PG_OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                        PG_OS_USER], check=True)
    return ["runuser", "-u", PG_OS_USER, "--", *command]


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://`` URL of a real PostgreSQL server running for this test session."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries not found in {PG_BIN} (run scripts/test-setup "
                    "or set SIAR_PG_BIN)")
    with postgres_server() as url:
        yield url


class SpareDatabases:
    """Fresh databases cloned from the template ahead of need, by a thread of their own.

    A clone costs about half a second of the server's work; made while the previous test
    runs (mostly waiting on daemons, sockets or subprocesses), it costs a test no wait. Each
    database is still handed out once, as fresh as one made on demand."""

    def __init__(self, server_url: str, ahead: int = 2) -> None:
        self.server_url = server_url
        self._ready: queue.Queue[str] = queue.Queue(maxsize=ahead)
        self._failed: BaseException | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._make, daemon=True, name="spare-dbs")
        self._thread.start()

    def _make(self) -> None:
        while not self._stopping.is_set():
            try:
                made = new_postgres_database(self.server_url)
            except BaseException as exc:  # told to every test that asks from now on
                self._failed = exc
                return
            while not self._stopping.is_set():
                try:
                    self._ready.put(made, timeout=0.5)
                    break
                except queue.Full:
                    continue

    def take(self) -> str:
        """The URL of a fresh database at head, for one test."""
        deadline = time.monotonic() + 120
        while True:
            try:
                return self._ready.get(timeout=0.2)
            except queue.Empty:
                if self._failed is not None:
                    raise self._failed from None
                if time.monotonic() > deadline:
                    raise

    def stop(self) -> None:
        """Stop cloning (the server's removal takes the spares with it)."""
        self._stopping.set()
        self._thread.join(30)


@pytest.fixture(scope="session")
def _spare_databases(postgres_url: str) -> Iterator[SpareDatabases]:
    spares = SpareDatabases(postgres_url)
    yield spares
    spares.stop()


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """Start a throw-away PostgreSQL server (also used by the benchmarks). Tests run it
    without syncing to disk; ``durable`` keeps PostgreSQL's own defaults (``fsync``,
    ``synchronous_commit``, ``full_page_writes`` on), as a deployment runs it: the
    benchmarks measure that."""
    with running_postgres(durable=durable) as server:
        yield server.url


class PostgresServer:
    """A throw-away PostgreSQL server that a test may stop and start again: same data
    folder, same port, so clients reconnect to the same URL as after a real restart."""

    def __init__(self, *, durable: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="siar-pg-"))
        self.root.chmod(0o755)
        self.data, sockets = self.root / "data", self.root / "run"
        _as_server_user(["true"])  # creates the user when running as root
        for folder in (self.data, sockets):
            folder.mkdir()
            _chown_to_server_user(folder)
        subprocess.run(_as_server_user([str(PG_BIN / "initdb"), "-D", str(self.data), "-U",
                                        "postgres", "--auth=trust", "--encoding=UTF8",
                                        "--no-sync"]),
                       check=True, capture_output=True)
        self.port = _free_port()
        self.options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 "
                        f"-c unix_socket_directories={sockets} -c max_connections=300")
        if not durable:
            self.options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.log = self.root / "server.log"
        self.log.touch()
        _chown_to_server_user(self.log)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start (again) and wait until it accepts connections."""
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                        str(self.log), "-o", self.options, "-w", "start"]),
                       check=True, capture_output=True)
        _wait_until_accepting(self.url)

    def stop(self, mode: str = "fast") -> None:
        """Stop and wait until it is down: ``fast`` ends every session (a restart as an
        operator does it), ``immediate`` is a crash."""
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                                        mode, "-w", "stop"]), check=True, capture_output=True)

    def remove(self) -> None:
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                                        "immediate", "stop"]), capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_postgres(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A :class:`PostgresServer`, started, with the schema template; removed afterwards."""
    server = PostgresServer(durable=durable)
    try:
        server.start()
        _make_template(server.url)
        yield server
    finally:
        server.remove()


def _wait_until_accepting(url: str) -> None:
    import psycopg

    deadline = time.monotonic() + 20
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


def _make_template(url: str) -> None:
    from scheduler.db import make_engine, upgrade

    _admin(url, f"CREATE DATABASE {TEMPLATE_DB}")
    engine = make_engine(_database_url(url, TEMPLATE_DB))
    upgrade(engine)
    engine.dispose()


def _database_url(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def new_postgres_database(postgres_url: str) -> str:
    """A fresh database with the schema at head; returns its URL (for subprocesses too)."""
    name = f"siar_{uuid.uuid4().hex[:12]}"
    _admin(postgres_url, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    return _database_url(postgres_url, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema at head, made once per test process: a test's fresh
    database is a copy of it (:func:`new_sqlite_database`), as a PostgreSQL test's is a
    clone of ``siar_template``; migrating a new file costs about 0.3 s a test, copying 1 ms."""
    from scheduler.db import open_database

    path = tmp_path_factory.mktemp("sqlite-template") / "siar.db"
    open_database(f"sqlite:///{path}").dispose()
    # closing the last connection checkpointed the WAL: the one file holds everything
    assert not path.with_name("siar.db-wal").exists()
    return path


def new_sqlite_database(template: Path, path: Path) -> str:
    """A fresh SQLite database at ``path`` with the schema at head (a copy of
    ``template``, the :func:`sqlite_template` fixture); returns its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def drop_postgres_database(postgres_url: str, url: str) -> None:
    """Drop the database at ``url`` (made by :func:`new_postgres_database`)."""
    _admin(postgres_url, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@pytest.fixture
def pg_database_url(postgres_url: str, _spare_databases: SpareDatabases) -> Iterator[str]:
    """URL of a database of this test's own (dropped afterwards)."""
    url = _spare_databases.take()
    yield url
    drop_postgres_database(postgres_url, url)


@pytest.fixture
def pg_engine(pg_database_url: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database with the schema at head."""
    from scheduler.db import make_engine

    engine = make_engine(pg_database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    yield engine
    engine.dispose()
