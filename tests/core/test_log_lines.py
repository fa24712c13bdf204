"""What the daemon's log says, for a person (text) or a log collector (one JSON object per
line): Siar's own lines with -v, the scheduler library's wake-ups only with -vv, and never
a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SECRET = "sk-live-4f1e9a7d-never-in-a-log"


@pytest.fixture
def queued(workspace: Path, siar, monkeypatch: pytest.MonkeyPatch) -> Path:
    # X refuses to start without its other secrets: a warning that names the account
    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_KEY", SECRET)
    assert siar("add", "rilis.md", "--now", "--channels", "console,x-lapas").code == 0
    return workspace


def test_json_lines_are_objects_a_collector_can_read(queued: Path, siar):
    run = siar("-v", "--log-format", "json", "daemon", "--until-drained")
    assert run.code == 0, run.err
    lines = [json.loads(line) for line in run.err.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(e) for e in lines)
    assert any(e["level"] == "warning" and "x-lapas" in e["message"] for e in lines)
    [published] = [e for e in lines if "published" in e["message"]]  # one line per post out
    assert published["account"] == "console" and published["url"].startswith("console://")
    assert SECRET not in run.err and SECRET not in run.out
    assert not any(e["logger"].startswith("apscheduler") for e in lines)


def test_the_scheduler_librarys_chatter_needs_vv(queued: Path, siar):
    quiet = siar("-v", "daemon", "--until-drained")
    assert quiet.code == 0 and "apscheduler" not in quiet.err
    assert siar("add", "rilis.md", "--now", "--channels", "console").code == 0
    chatty = siar("-vv", "daemon", "--until-drained")
    assert chatty.code == 0 and "apscheduler" in chatty.err
