"""Posts of a paused account are blocked, not waiting: ``siar daemon --until-drained``
returns, and ``siar queue`` says what blocks them and how to lift it. Through the real
CLI, as processes, against a webhook receiver that refuses the account's signature."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.settings import AccountSettings
from tests.daemon.processes import ROOT
from tests.fakes.webhook import FakeWebhookReceiver


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret="rahasia-penerima") as server:
        yield server  # type: ignore[misc]


def siar(workdir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    wrong = AccountSettings(name="hook-humas", network="webhook").secret_variable("secret")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {wrong: "sandi-yang-salah", "COLUMNS": "250", "SIAR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config",
                           str(workdir / "siar.toml"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_until_drained_returns_when_only_a_paused_accounts_posts_are_left_and_queue_says_so(
        tmp_path: Path, db_url: str, receiver: FakeWebhookReceiver) -> None:
    (tmp_path / "siar.toml").write_text(f"""
database_url = "{db_url}"
timezone = "Asia/Jakarta"

[daemon]
poll_interval = 0.2
token_check_hours = 0

[[accounts]]
name = "hook-humas"
network = "webhook"
base_url = "{receiver.hook_url}"

[[accounts]]
name = "konsol"
network = "console"
""")
    for name in ("satu", "dua"):
        (tmp_path / f"{name}.md").write_text(
            f"---\ntitle: Rilis {name}\n---\nKegiatan pembinaan warga binaan ({name}).\n")
    added = siar(tmp_path, "add", str(tmp_path / "satu.md"), str(tmp_path / "dua.md"),
                 "--at", "now")
    assert added.returncode == 0, added.stderr

    # The first post of hook-humas is refused (401): the account is paused, its second
    # post is blocked. Before, the daemon waited for it forever.
    run = siar(tmp_path, "daemon", "--until-drained", "--json", timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) | {"published": 2, "paused": 1} == json.loads(run.stdout)

    listing = json.loads(siar(tmp_path, "queue", "--json").stdout)
    [blocked] = [p for p in listing if p["status"] == "scheduled"]
    assert blocked["account"] == "hook-humas"
    assert blocked["blocked"].startswith("account paused: HTTP 401")
    assert all(p["blocked"] is None for p in listing if p is not blocked)
    table = siar(tmp_path, "queue").stdout
    assert "paused account" in table and "siar accounts resume hook-humas" in table
