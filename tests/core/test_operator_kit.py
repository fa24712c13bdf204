"""What the operator who runs Siar needs: the version, a downgrade that asks first, and a
rehearsal deployment that does not nag about secrets it never uses."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from tests.core.conftest import row_counts


def test_version_is_the_installed_package_version(workspace: Path, siar):
    result = siar("--version")
    assert result.code == 0 and result.out.strip() == f"siar {version('siar')}"


def test_a_downgrade_without_yes_and_without_a_terminal_changes_nothing(workspace: Path, siar):
    assert siar("add", "rilis.md").code == 0
    before = row_counts(workspace)
    refused = siar("db", "downgrade", "base", stdin="")
    assert refused.code == 1 and "not confirmed" in refused.err and "--yes" in refused.err
    assert row_counts(workspace) == before
    said_no = siar("db", "downgrade", "base", stdin="n\n")
    assert said_no.code == 1 and row_counts(workspace) == before


def test_a_downgrade_goes_ahead_when_confirmed(workspace: Path, siar):
    assert siar("db", "upgrade").code == 0
    done = siar("db", "downgrade", "base", "--yes")
    assert done.code == 0 and "revision base" in done.out


def test_a_rehearsal_deployment_is_not_warned_about_missing_secrets(workspace: Path, siar):
    assert "cannot publish until" in siar("add", "rilis.md").err  # x-lapas has no token
    config = workspace / "siar.toml"
    config.write_text("dry_run = true\n" + config.read_text(), encoding="utf-8")
    rehearsed = siar("add", "rilis.md")
    assert rehearsed.code == 0 and "cannot publish until" not in rehearsed.err


def test_a_backup_is_a_consistent_copy_taken_while_the_database_is_open(workspace: Path,
                                                                        siar):
    import sqlite3

    assert siar("add", "rilis.md").code == 0
    live = sqlite3.connect(workspace / "home" / "siar.db")  # a daemon holding it open
    live.execute("BEGIN IMMEDIATE")  # and in the middle of writing
    try:
        done = siar("db", "backup", "cadangan.db")
    finally:
        live.rollback()
        live.close()
    assert done.code == 0, done.err
    copy = sqlite3.connect(workspace / "cadangan.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM post").fetchone() == (4,)
    assert (workspace / "cadangan.db").stat().st_mode & 0o077 == 0
    again = siar("db", "backup", "cadangan.db")
    assert again.code == 1 and "already exists" in again.err and "--force" in again.err
    assert [p.name for p in workspace.glob(".cadangan.db.*")] == []  # nothing half-written
