"""Fixtures for the daemon tests: a database on each backend, the counting network, settings.

``db_url`` is parametrized over SQLite and a real PostgreSQL server, so every test that
asks for it runs on both — the contract-test pattern APScheduler uses for its stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from channels.variant import Variant
from scheduler import queue
from scheduler.db import make_engine
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, DaemonSettings, NotifySettings, Settings
from tests.conftest import new_sqlite_database
from tests.fakes.counting import TOKEN, CountingNetwork


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database with the schema at head, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return new_sqlite_database(request.getfixturevalue("sqlite_template"),
                                   tmp_path / "siar.db")
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    engine = make_engine(new_sqlite_database(sqlite_template, tmp_path / "siar.db"))
    yield engine
    engine.dispose()


@pytest.fixture
def network() -> Iterator[CountingNetwork]:
    with CountingNetwork() as server:
        yield server


def account_names(count: int) -> list[str]:
    return [f"akun-{i:02d}" for i in range(count)]


def token_env(names: list[str]) -> dict[str, str]:
    """The environment that gives every counting account its token."""
    return {AccountSettings(name=n, network="counting").secret_variable("token"): TOKEN
            for n in names}


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> Any:
    def give(names: list[str]) -> None:
        for variable, value in token_env(names).items():
            monkeypatch.setenv(variable, value)
    return give


def make_settings(db_url: str, names: list[str], network_url: str | None, *,
                  notify: list[AccountSettings] | None = None, node: str = "test-node",
                  options: dict[str, Any] | None = None, **daemon: Any) -> Settings:
    accounts = [AccountSettings(name=n, network="counting", base_url=network_url,
                                options=dict(options or {})) for n in names]
    accounts += notify or []
    defaults: dict[str, Any] = {"poll_interval": 0.2, "lease_seconds": 5.0,
                                "backoff_base": 0.2, "backoff_max": 1.0,
                                "heartbeat_seconds": 0.5}
    return Settings(database_url=db_url, node_name=node, accounts=accounts,
                    daemon=DaemonSettings(**(defaults | daemon)),
                    notify=NotifySettings(accounts=[a.name for a in notify or []]))


def variant(account: str, parts: int = 1, text: str = "Kegiatan #HumasBergerakBersama"
            ) -> Variant:
    texts = [f"{text} ({i + 1}/{parts})" if parts > 1 else text for i in range(parts)]
    return Variant(account=account, channel="counting", parts=texts,
                   length=[len(t) for t in texts], limit=500)


def release(title: str = "Siaran pers") -> ReleaseDoc:
    return ReleaseDoc(source="test", title=title, body="Isi siaran pers.")


def queue_post(engine: Engine, account: str, due: datetime, *, parts: int = 1,
               text: str = "Kegiatan #HumasBergerakBersama") -> int:
    """Queue one release for one account; returns the post id."""
    _, posts = queue.enqueue(engine, release(), [variant(account, parts, text)], due)
    return posts[0].id  # type: ignore[return-value]


def queue_many(engine: Engine, items: list[tuple[str, datetime]], *, parts: int = 1) -> None:
    """Queue one single-account release per (account, due) pair through the bulk path."""
    queue.enqueue_bulk(engine, [queue.BulkItem(release(f"Rilis {i}"), [variant(a, parts)], due)
                                for i, (a, due) in enumerate(items)])


def write_config(path: Path, db_url: str, names: list[str], network_url: str, *,
                 options: dict[str, Any] | None = None, **daemon: Any) -> Path:
    """A siar.toml for daemons run as subprocesses (secrets go in the environment)."""
    lines = [f'database_url = "{db_url}"', 'timezone = "Asia/Jakarta"', "", "[daemon]"]
    lines += [f"{key} = {value!r}" for key, value in daemon.items()]
    for name in names:
        lines += ["", "[[accounts]]", f'name = "{name}"', 'network = "counting"',
                  f'base_url = "{network_url}"']
        if options:
            lines += ["[accounts.options]", *(f"{k} = {v!r}" for k, v in options.items())]
    path.write_text("\n".join(lines) + "\n")
    return path
