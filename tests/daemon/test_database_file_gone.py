"""The SQLite file deleted or replaced under a running daemon: the daemon stops with a clear
error and exit code 1 (a supervisor starts it again, on the file now at the path), and
``siar status`` on the new file does not count it as alive.

It used to go on working on the deleted file through its open connections, while
``siar add`` queued posts in a new file that no daemon ever published.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from scheduler.db import make_engine
from tests.daemon.processes import ROOT, wait_ready

RELEASE = """---
title: Lapas Pangkalpinang Gelar Bakti Sosial
---
Warga binaan dan petugas membersihkan lingkungan sekitar lapas.
"""


def siar(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config", str(config),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "250"})


def start_siar_daemon(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--config", str(config),
                             "daemon", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "COLUMNS": "250"})


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A configuration with one console account, its SQLite file, and a release file."""
    database = tmp_path / "data" / "siar.db"
    config = tmp_path / "siar.toml"
    config.write_text(f'database_url = "sqlite:///{database}"\ntimezone = "Asia/Jakarta"\n\n'
                      # a heartbeat this slow keeps a copied node row "alive" for 30 s
                      "[daemon]\npoll_interval = 0.2\nheartbeat_seconds = 10\n\n"
                      '[[accounts]]\nname = "konsol"\nnetwork = "console"\n')
    (tmp_path / "rilis.md").write_text(RELEASE)
    return config, database


def alive_daemons(config: Path) -> list[dict[str, object]]:
    status = siar(config, "status", "--json")
    assert status.returncode in (0, 1), status.stderr
    return [d for d in json.loads(status.stdout)["daemons"] if d["alive"]]


def delete(database: Path) -> None:
    """What `rm siar.db*` does: the file and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def replace_with_a_copy(database: Path) -> None:
    """A copy of the file put in its place (a restored backup): another inode, with this
    daemon's own node row and a fresh heartbeat in it."""
    copy = database.with_name("copy.db")
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)  # what `sqlite3 siar.db .backup copy.db` does: WAL included
    os.replace(copy, database)


@pytest.mark.slow
@pytest.mark.parametrize("change", [delete, replace_with_a_copy], ids=["deleted", "replaced"])
def test_a_daemon_whose_database_file_is_deleted_or_replaced_stops_with_an_error(
        workspace: tuple[Path, Path], change: object) -> None:
    config, database = workspace
    assert siar(config, "db", "upgrade").returncode == 0
    daemon = start_siar_daemon(config)
    try:
        engine = make_engine(f"sqlite:///{database}")
        wait_ready(engine, daemon)  # type: ignore[arg-type]
        engine.dispose()
        change(database)  # type: ignore[operator]
        # a post queued now goes to the file at the path
        added = siar(config, "add", str(config.parent / "rilis.md"), "--at", "now")
        assert added.returncode == 0, added.stderr
        code = daemon.wait(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    _, stderr = daemon.communicate()
    assert code == 1, stderr[-2000:]
    assert f"the database file {database}" in stderr
    assert ("was deleted" if change is delete else "was replaced") in stderr
    assert "start 'siar daemon' again" in stderr
    assert "Traceback" not in stderr
    # the new file knows of no daemon working on it
    assert alive_daemons(config) == []
    # started again (as a supervisor does), a daemon publishes what was queued in it
    again = siar(config, "daemon", "--until-drained", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["published"] == 1
