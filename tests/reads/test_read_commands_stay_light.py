"""The officer's read commands read without SQLAlchemy: in a fresh process, ``siar queue``,
``status``, ``history``, ``report``, ``show`` and ``audit`` never import it (nor SQLModel,
the models, Alembic or adapter code), on SQLite and on PostgreSQL. What makes them start
fast is tested as imports, not as time; ``bench/bench_cli.py`` measures the time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import drop_postgres_database, new_postgres_database

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
timezone = "Asia/Jakarta"

[[accounts]]
name = "console"
network = "console"

[mentions.ditjenpas]
name = "Ditjen Pemasyarakatan"
x = "@ditjenpas"
"""
RELEASE = "---\ntitle: 'Kalapas: Kami Siap'\n---\nIsi rilis.\n"
#: what a read command must not have imported when it ends
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "scheduler.models", "scheduler.db",
         "scheduler.queue", "channels.base")
#: runs ``siar ARGS`` as the console script does, then names the heavy modules it imported
PROBE = f"""
import atexit, sys
atexit.register(lambda: sys.stderr.write(
    "\\nheavy:" + ",".join(m for m in {HEAVY!r} if m in sys.modules) + "\\n"))
sys.argv = ["siar", *sys.argv[1:]]
from scheduler.cli import main
main()
"""
READS = [["queue"], ["status", "--json"], ["history", "--since", "2026-01-01 00.00"],
         ["report", "--month", "2026-11"], ["show", "1"], ["audit", "--json"]]


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def workspace(folder: Path, database_url: str | None) -> dict[str, str]:
    """The environment of a workspace in ``folder`` with a config and a database (SQLite in
    its home unless ``database_url``); one release queued."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_HOME": str(folder / "home"), "SIAR_LANG": "en", "PYTHONPATH": str(ROOT),
            "SIAR_CONFIG": str(folder / "siar.toml"), "COLUMNS": "200"}
    if database_url:
        env["SIAR_DATABASE_URL"] = database_url
    (folder / "siar.toml").write_text(CONFIG, encoding="utf-8")
    (folder / "rilis.md").write_text(RELEASE, encoding="utf-8")
    added = siar(env, "add", str(folder / "rilis.md"), "--at", "+2 jam")
    assert added.returncode == 0, added.stderr
    return env


@pytest.fixture(params=BACKENDS)
def home(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A workspace of this test's own (for a command that writes)."""
    pg = request.getfixturevalue("pg_database_url") if request.param == "postgres" else None
    return workspace(tmp_path, pg)


# Module-scoped: read commands leave the workspace as it was, so they share one per
# backend (queueing its release is a process start of its own).
@pytest.fixture(scope="module", params=BACKENDS)
def read_home(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A workspace that the read commands share."""
    pg = None
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_url")
        pg = new_postgres_database(server)
        request.addfinalizer(lambda: drop_postgres_database(server, pg))
    return workspace(tmp_path_factory.mktemp("reads"), pg)


def siar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def heavy_modules(completed: subprocess.CompletedProcess[str]) -> list[str]:
    line = completed.stderr.rsplit("heavy:", 1)[1].splitlines()[0]
    return [name for name in line.split(",") if name]


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_command_imports_no_sqlalchemy(read_home: dict[str, str],
                                             args: list[str]) -> None:
    completed = siar(read_home, *args)
    assert completed.returncode == 0, completed.stderr
    assert heavy_modules(completed) == []


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_command_on_sqlite_imports_no_logging(read_home: dict[str, str],
                                                     args: list[str]) -> None:
    # the CLI sets logging up when a module first imports it; on SQLite none does (psycopg
    # does on PostgreSQL)
    if "SIAR_DATABASE_URL" in read_home:
        pytest.skip("psycopg imports logging")
    probe = PROBE.replace(repr(HEAVY), repr(("logging",)))
    completed = subprocess.run([sys.executable, "-c", probe, *args], env=read_home, cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert heavy_modules(completed) == []


def test_writes_still_go_through_sqlalchemy(home: dict[str, str]) -> None:
    """The probe itself sees SQLAlchemy when a command does use it."""
    completed = siar(home, "cancel", "1")
    assert completed.returncode == 0, completed.stderr
    assert "sqlalchemy" in heavy_modules(completed)


def test_a_new_database_is_created_by_the_first_read(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_HOME": str(tmp_path / "home"), "SIAR_LANG": "en", "PYTHONPATH": str(ROOT)}
    (tmp_path / "siar.toml").write_text(CONFIG, encoding="utf-8")
    env["SIAR_CONFIG"] = str(tmp_path / "siar.toml")
    first = siar(env, "queue")
    assert (first.returncode, first.stdout.strip()) == (0, "the queue is empty")
    assert "sqlalchemy" in heavy_modules(first)  # created and migrated by Alembic
    again = siar(env, "queue")
    assert (again.returncode, again.stdout.strip(), heavy_modules(again)) == (
        0, "the queue is empty", [])


def test_an_older_database_is_upgraded_and_a_newer_one_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_HOME": str(tmp_path / "home"), "SIAR_LANG": "en", "PYTHONPATH": str(ROOT),
            "SIAR_CONFIG": str(tmp_path / "siar.toml"), "COLUMNS": "200"}
    (tmp_path / "siar.toml").write_text(CONFIG, encoding="utf-8")
    assert siar(env, "db", "upgrade", "0008").returncode == 0
    upgraded = siar(env, "history")
    assert upgraded.returncode == 0, upgraded.stderr
    database = tmp_path / "home" / "siar.db"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0009",)
        connection.execute("UPDATE alembic_version SET version_num = '0042'")
    refused = siar(env, "status")
    assert refused.returncode == 1
    assert "migrated by a newer Siar (schema revision 0042; this one knows up to 0009)" \
        in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_title_is_shown_as_written_even_where_it_looks_like_an_emoji_code(
        tmp_path: Path) -> None:
    # the consoles render no emoji codes: nothing Siar prints uses them, and loading Rich's
    # table of them was a cost of every command that prints
    env = workspace(tmp_path, None)
    (tmp_path / "kode.md").write_text("---\ntitle: 'Siaga :rocket: dan :+1:'\n---\nIsi.\n",
                                      encoding="utf-8")
    assert siar(env, "add", str(tmp_path / "kode.md"), "--at", "+3 jam").returncode == 0
    listed = siar(env, "queue")
    assert listed.returncode == 0, listed.stderr
    assert "Siaga :rocket: dan :+1:" in listed.stdout
