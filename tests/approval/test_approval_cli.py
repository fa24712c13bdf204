"""The approval flow through the CLI alone (as processes, on SQLite and PostgreSQL): queue
under approval, approve, reschedule (back to the approver), decline with a reason, and the
audit log of who did what."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.processes import ROOT


@pytest.fixture
def workdir(tmp_path: Path, db_url: str) -> Path:
    (tmp_path / "siar.toml").write_text(f"""
database_url = "{db_url}"
timezone = "Asia/Jakarta"
approval = "required"

[[accounts]]
name = "konsol"
network = "console"

[[accounts]]
name = "konsol-bebas"
network = "console"
approval = "off"
""")
    (tmp_path / "rilis.md").write_text(
        "---\ntitle: Rakor Agen Informasi\n---\nLapas mengikuti rakor nasional.\n")
    return tmp_path


def siar(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"COLUMNS": "250", "SIAR_LANG": "en", "SIAR_HOME": str(workdir / "home")}
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config",
                           str(workdir / "siar.toml"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def states(workdir: Path) -> dict[str, str]:
    listing = json.loads(siar(workdir, "queue", "--json").stdout)
    return {p["account"]: p["status"] for p in listing}


def test_approval_through_the_cli_alone_with_its_audit_log(workdir: Path) -> None:
    added = siar(workdir, "add", str(workdir / "rilis.md"), "--at", "+2 jam", "--as", "petugas")
    assert added.returncode == 0, added.stderr
    assert "awaiting approval" in added.stdout
    assert states(workdir) == {"konsol": "awaiting_approval", "konsol-bebas": "scheduled"}

    approved = siar(workdir, "approve", "1", "--comment", "Silakan", "--as", "kasubag")
    assert approved.returncode == 0, approved.stderr
    assert states(workdir)["konsol"] == "scheduled"

    # a new time is not what was approved: back to the approver
    moved = siar(workdir, "reschedule", "1", "--at", "+3 jam", "--as", "petugas")
    assert moved.returncode == 0, moved.stderr
    assert "awaiting approval again: konsol" in moved.stdout
    assert states(workdir) == {"konsol": "awaiting_approval", "konsol-bebas": "scheduled"}

    declined = siar(workdir, "reject", "1", "--comment", "Foto kedua buram", "--as", "kasubag")
    assert declined.returncode == 0, declined.stderr
    assert states(workdir)["konsol"] == "declined"
    shown = json.loads(siar(workdir, "show", "1", "--json").stdout)
    [post] = [p for p in shown["posts"] if p["account"] == "konsol"]
    assert "Foto kedua buram" in post["error"]
    assert post["log"][-1]["outcome"] == "declined"

    log = json.loads(siar(workdir, "audit", "--json").stdout)
    assert [(e["actor"], e["action"]) for e in log] == [
        ("petugas", "queue"), ("kasubag", "approve"), ("petugas", "reschedule"),
        ("kasubag", "decline")]
    assert log[1]["detail"]["comment"] == "Silakan"
    assert log[3]["detail"]["comment"] == "Foto kedua buram"
    assert log[2]["accounts"] == ["konsol", "konsol-bebas"]
    table = siar(workdir, "audit", "--since", "-1 hari")
    assert table.returncode == 0 and "kasubag" in table.stdout


def test_the_os_user_is_recorded_without_as(workdir: Path) -> None:
    assert siar(workdir, "add", str(workdir / "rilis.md"), "--at", "+2 jam").returncode == 0
    [entry] = json.loads(siar(workdir, "audit", "--json").stdout)
    import getpass

    assert entry["actor"] == getpass.getuser()


def test_wrong_approvals_exit_1_with_the_fix(workdir: Path) -> None:
    assert siar(workdir, "add", str(workdir / "rilis.md"), "--at", "+2 jam").returncode == 0
    unknown = siar(workdir, "approve", "99")
    assert unknown.returncode == 1 and "no release with id 99" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    empty = siar(workdir, "reject", "1", "--comment", "  ")
    assert empty.returncode == 1 and "reason" in empty.stderr
    not_awaiting = siar(workdir, "approve", "1/konsol-bebas")
    assert not_awaiting.returncode == 1 and "awaiting approval" in not_awaiting.stderr
    assert siar(workdir, "reject", "1").returncode == 2  # --comment is required: usage
    # nothing changed by the refusals
    assert json.loads(siar(workdir, "audit", "--json").stdout)[-1]["action"] == "queue"
