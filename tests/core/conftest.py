"""Fixtures for the foundation tests: an isolated workspace and an in-process CLI runner."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from tests.fakes.mastodon import FakeMastodon
from tests.fakes.wordpress import WordPressFake

CONFIG = """
timezone = "Asia/Jakarta"
campaign_hashtags = ["HumasBergerakBersama"]

[[accounts]]
name = "console"
network = "console"

[[accounts]]
name = "x-lapas"
network = "x"

[[accounts]]
name = "mastodon-lapas"
network = "mastodon"
base_url = "https://mastodon.example"

[[accounts]]
name = "telegram-lapas"
network = "telegram"
options = { chat_id = "@lapas" }
"""

RELEASE = """---
title: Rakor Humas Pemasyarakatan
at: 2099-09-24 10:00 WIB
hashtags: [Pemasyarakatan]
link: https://lapas.example.go.id/berita/rakor
---
Humas Lapas mengikuti rapat koordinasi nasional di Jakarta.

Kegiatan berlangsung tiga hari.
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with siar.toml and a release; SIAR_HOME and the env isolated in it."""
    for key in list(__import__("os").environ):
        if key.startswith("SIAR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIAR_LANG", "en")  # the English messages; Indonesian tests set "id"
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "siar.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "rilis.md").write_text(RELEASE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def siar(workspace: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``siar ARGS`` in this process, as the console script would."""
    import io

    from scheduler import cli

    def run(*args: str, stdin: str | None = None) -> Result:
        cli.state.__init__()  # each invocation starts from scratch, like a new process
        cli.console.__init__()  # (its width read from COLUMNS again)
        cli.err_console.__init__(stderr=True)
        monkeypatch.setattr(sys, "argv", ["siar", *args])
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def row_counts(workspace: Path) -> dict[str, int]:
    """Rows per table in the workspace's database (all zero if it does not exist yet)."""
    db = workspace / "home" / "siar.db"
    if not db.exists():
        return {"release": 0, "post": 0, "attempt": 0}
    engine = create_engine(f"sqlite:///{db}")
    from scheduler.models import Attempt, Post, Release

    with engine.connect() as connection:
        counts = {name: connection.execute(select(func.count()).select_from(model)).scalar_one()
                  for name, model in (("release", Release), ("post", Post),
                                      ("attempt", Attempt))}
    engine.dispose()
    return counts


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, workspace: Path,
             monkeypatch: pytest.MonkeyPatch) -> str:
    """The database the CLI uses: the workspace's SQLite file, or a fresh PostgreSQL one."""
    if request.param == "postgresql":
        monkeypatch.setenv("SIAR_DATABASE_URL", request.getfixturevalue("pg_database_url"))
    return str(request.param)


WORDPRESS_PASSWORD = "abcd EFGH 1234 ijkl"


@pytest.fixture
def wordpress(workspace: Path) -> Iterator[WordPressFake]:
    """A WordPress site (its fake) and the workspace's account for it, ``web-lapas``
    (no secrets set)."""
    with WordPressFake(username="humas", app_password=WORDPRESS_PASSWORD) as fake:
        config = workspace / "siar.toml"
        config.write_text(config.read_text() + '\n[[accounts]]\nname = "web-lapas"\n'
                          f'network = "wordpress"\nbase_url = "{fake.url}"\n')
        yield fake  # type: ignore[misc]


MASTODON_TOKEN = "mstdn-media-store-token-4f1e"


@pytest.fixture
def mastodon(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMastodon]:
    """A Mastodon instance (its fake) behind the workspace's mastodon-lapas account, whose
    access token is set."""
    with FakeMastodon(token=MASTODON_TOKEN) as fake:
        config = workspace / "siar.toml"
        config.write_text(config.read_text(encoding="utf-8").replace(
            'base_url = "https://mastodon.example"', f'base_url = "{fake.url}"'),
            encoding="utf-8")
        monkeypatch.setenv("SIAR_SECRET_MASTODON_LAPAS_ACCESS_TOKEN", MASTODON_TOKEN)
        yield fake  # type: ignore[misc]
