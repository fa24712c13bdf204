"""What the daemon's log says, for a person (text) or a log collector (one JSON object per
line): Siar's own lines with -v, the scheduler library's wake-ups only with -vv, and never
a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

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


def test_a_fresh_process_logs_the_same_though_logging_is_set_up_when_first_imported(
        queued: Path):
    # most commands never import logging, so the CLI sets it up when a module first does:
    # the daemon, which imports it after that, still writes its JSON lines, redacted
    run = subprocess.run([sys.executable, "-m", "scheduler.cli", "-v", "--log-format", "json",
                          "daemon", "--until-drained"], cwd=queued, capture_output=True,
                         text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert any(e["level"] == "warning" and "x-lapas" in e["message"] for e in lines)
    assert any("published" in e["message"] for e in lines)
    assert SECRET not in run.stderr and SECRET not in run.stdout


def test_logging_imported_after_the_set_up_is_set_up_before_anything_logs() -> None:
    probe = f"""
import sys
from scheduler.cli import configure_logging
configure_logging(2, "json")
configure_logging(0, "text")  # the last set-up is the one that counts
assert "logging" not in sys.modules
import logging
logging.getLogger("probe").info("not shown: warnings only")
logging.getLogger("probe").warning("the key is {SECRET}")
finders = [type(f).__name__ for f in sys.meta_path]
print(finders.count("_AfterImport"), type(logging.__spec__.loader).__name__,
      logging.__loader__ is logging.__spec__.loader)
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                       "SIAR_SECRET_PROBE_KEY": SECRET})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "SourceFileLoader", "True"]
    [line] = run.stderr.splitlines()
    assert line.endswith(" WARNING probe: the key is ***")


def test_log_lines_go_to_standard_error_as_it_is_when_they_are_written(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import logging

    from scheduler.logs import configure

    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure(0)
    first.close()  # a captured command's standard error, released
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("mail.log").warning("TLS handshake failed")
    assert "TLS handshake failed" in second.getvalue()
