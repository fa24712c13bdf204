"""A dry run on a live database is a rehearsal: what each due post would send goes to its
attempt log, and every post stays as it was, to be published once by the real daemon."""

from __future__ import annotations

import json
from pathlib import Path

SECRET = "token-asli-123"


def _posts(siar) -> dict[str, dict]:
    return {p["id"]: p for p in json.loads(siar("queue", "--json").out)}


def test_a_dry_run_on_a_live_database_leaves_every_post_as_it_was(workspace: Path, siar,
                                                                   database, monkeypatch):
    monkeypatch.setenv("SIAR_SECRET_MASTODON_LAPAS_ACCESS_TOKEN", SECRET)
    assert siar("add", "rilis.md", "--now").code == 0
    before = _posts(siar)
    run = siar("daemon", "--dry-run", "--until-drained", "--json")
    assert run.code == 0, run.err
    summary = json.loads(run.out)
    assert summary["rehearsal"] is True and summary["rehearsed"] == len(before) == 4
    assert summary["published"] == 0
    assert _posts(siar) == before  # same status, same due time, same attempt count
    assert SECRET not in run.out + run.err


def test_the_rehearsal_is_in_each_posts_attempt_log(workspace: Path, siar, database):
    assert siar("add", "rilis.md", "--now").code == 0
    assert siar("daemon", "--dry-run", "--once").code == 0
    shown = json.loads(siar("show", "1", "--json").out)
    for post in shown["posts"]:
        [entry] = post["log"]
        assert entry["outcome"] == "rehearsed" and entry["attempt"] == 0
    listing = json.loads(siar("history", "--json").out)
    mastodon = next(e for e in listing if e["account"] == "mastodon-lapas")
    assert mastodon["outcome"] == "rehearsed"
    assert "Humas Lapas mengikuti rapat" in json.dumps(mastodon["requests"])
    table = siar("show", "1")
    assert "rehearsed" in table.out and "would send POST" in table.out


def test_a_dry_run_then_a_real_run_publishes_each_post_once(workspace: Path, siar, database):
    assert siar("add", "rilis.md", "--now", "--channels", "console").code == 0
    assert json.loads(siar("daemon", "--dry-run", "--until-drained", "--json").out
                      )["rehearsed"] == 1
    real = siar("daemon", "--until-drained", "--json")
    assert real.code == 0 and json.loads(real.out)["published"] == 1
    [post] = json.loads(siar("show", "1", "--json").out)["posts"]
    assert post["status"] == "published"
    assert [(e["attempt"], e["outcome"]) for e in post["log"]] == [(0, "rehearsed"),
                                                                   (1, "published")]


def test_each_run_rehearses_each_due_post_once_and_nothing_not_yet_due(workspace: Path, siar):
    assert siar("add", "rilis.md", "--now", "--channels", "console").code == 0
    assert siar("add", "rilis.md", "--at", "besok 09.00", "--channels", "console").code == 0
    for _ in range(2):
        run = json.loads(siar("daemon", "--dry-run", "--until-drained", "--json").out)
        assert run["rehearsed"] == 1
    later = json.loads(siar("show", "2", "--json").out)["posts"][0]
    assert later["status"] == "scheduled" and later["log"] == []
