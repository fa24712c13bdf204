"""Listings an officer reads and types from: the log filtered by time, outcome and account;
IDs, due times and links never cut, even in an 80-column terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def published(workspace: Path, siar, database) -> Path:
    """Release 1 went out on the console account; X has no token, so its post was paused."""
    assert siar("add", "rilis.md", "--now", "--channels", "console,x-lapas").code == 0
    assert siar("daemon", "--until-drained").code == 0
    return workspace


def test_history_filters_by_outcome_account_and_time(published: Path, siar):
    def posts(*args: str) -> list[tuple[str, str]]:
        return [(h["post"], h["outcome"]) for h in json.loads(siar("history", "--json",
                                                                    *args).out)]

    assert posts("--status", "published") == [("1/console", "published")]
    assert posts("--account", "x-lapas") == [("1/x-lapas", "auth_failed")]
    assert len(posts("--since", "-1 jam")) == 2
    assert posts("--until", "-1 jam") == []
    assert posts("--since", "+1 jam") == []
    refused = siar("history", "--since", "kemarin sore")
    assert refused.code == 1 and "--since" in refused.err


def test_an_80_column_terminal_never_cuts_an_id_or_a_link(published: Path, siar,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "80")
    listing = siar("queue", "--all").out
    assert "1/x-lapas" in listing and "1/console" in listing and "…" not in listing.split()[0]
    assert all(len(line) <= 80 for line in listing.splitlines())
    log = siar("history").out
    url = json.loads(siar("history", "--json", "--status", "published").out)[0]["remote_url"]
    assert url.replace("/", "") in "".join(log.split()).replace("/", "")  # folded, whole
    assert "1/console" in log
