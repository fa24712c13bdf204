"""YouTube's daily upload quota through the real path, on SQLite and on PostgreSQL: an
office queues more videos for one YouTube account than a Pacific day's quota allows;
``siar preview`` and ``siar add`` say so before anything goes out; ``siar daemon``
publishes up to the quota, and YouTube refuses the next upload session
(``quotaExceeded``) before a byte of it is sent. That post waits for the next quota day —
midnight Pacific Time — only where the office allows posts that late (``grace_minutes``):
by default a post is never sent more than an hour after its time, so it is ``missed``
at once, naming the wait, for staff to reschedule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_all_networks import toml_value
from tests.e2e.video_setup import (
    SECRETS,
    Output,
    database_url_for,
    environment,
    siar,
    write_release,
)
from tests.fakes.youtube import UPLOAD_PATH, FakeYouTube

ACCOUNT = "youtube-lapas"
#: uploads a day, as the account's option says and the fake's project allows
QUOTA = 1
RELEASES = 2
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass
class QuotaRun:
    previewed: dict[str, Any]
    added: list[Output]
    daemon: dict[str, Any]
    queue: list[dict[str, Any]]
    youtube: FakeYouTube


def write_config(folder: Path, youtube: FakeYouTube, database_url: str,
                 grace_minutes: float | None) -> None:
    options = {"token_url": f"{youtube.url}/token", "chunk_bytes": 256 * 1024,
               "chunk_backoff": 0, "processing_interval": 0.01, "processing_timeout": 5,
               "quota_uploads_per_day": QUOTA, "read_timeout": 5.0}
    (folder / "siar.toml").write_text("\n".join([
        'timezone = "Asia/Jakarta"', f"database_url = {toml_value(database_url)}", "",
        "[daemon]", "poll_interval = 0.2",
        *([f"grace_minutes = {grace_minutes}"] if grace_minutes else []), "",
        "[[accounts]]", f"name = {toml_value(ACCOUNT)}", 'network = "youtube"',
        f"base_url = {toml_value(youtube.url)}", f"options = {toml_value(options)}",
    ]) + "\n", encoding="utf-8")


@contextlib.contextmanager
def quota_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              grace_minutes: float | None = None) -> Iterator[QuotaRun]:
    """Queue ``RELEASES`` videos for today, previewing the last first; run the daemon
    once for what is due."""
    folder = tmp_path_factory.mktemp(f"quota-{request.param}")
    database_url = database_url_for(request, folder)
    env = environment(folder, {ACCOUNT: SECRETS[ACCOUNT]})
    with FakeYouTube(uploads_per_day=QUOTA, **SECRETS[ACCOUNT]) as youtube:
        write_config(folder, youtube, database_url, grace_minutes)
        names = [write_release(folder, f"rilis-{n}.md", title=f"Kegiatan Lapas hari ke-{n}").name
                 for n in range(1, RELEASES + 1)]
        added = [siar(folder, env, "add", name, "--at", "now", "--json")
                 for name in names[:QUOTA]]
        # the officer previews the one more release before queueing it
        previewed = siar(folder, env, "preview", names[-1], "--json").json()
        added.append(siar(folder, env, "add", names[-1], "--at", "now", "--json"))
        # what is due now, once: the refused upload must not keep the daemon busy
        daemon = siar(folder, env, "daemon", "--once", "--json").json()
        queue = siar(folder, env, "queue", "--all", "--json").json()
        yield QuotaRun(previewed, added, daemon, queue, youtube)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuotaRun]:
    """With the default grace: never sent more than an hour late."""
    with quota_run(request, tmp_path_factory) as done:
        yield done


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def patient_run(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuotaRun]:
    """An office that lets a post go out up to 25 hours after its time."""
    with quota_run(request, tmp_path_factory, grace_minutes=25 * 60) as done:
        yield done


def test_the_preview_warns_that_the_day_is_over_the_quota(run: QuotaRun) -> None:
    [card] = run.previewed["variants"]
    assert any(f"{QUOTA + 1} posts on" in w and f"more than {QUOTA}" in w
               for w in card["warnings"]), card["warnings"]


def test_the_warning_says_the_post_past_the_quota_will_be_missed(run: QuotaRun) -> None:
    [card] = run.previewed["variants"]
    [warned] = [w for w in card["warnings"] if f"more than {QUOTA}" in w]
    assert "the rest are missed (not sent)" in warned and "60 min" in warned
    assert "missed (not sent)" in " ".join(run.added[-1].err.split())


def test_where_the_office_allows_it_the_warning_says_the_post_waits(
        patient_run: QuotaRun) -> None:
    [card] = patient_run.previewed["variants"]
    assert any("wait until midnight (America/Los_Angeles)" in w for w in card["warnings"])


def test_add_warns_only_for_the_release_past_the_quota(run: QuotaRun) -> None:
    assert [result.code for result in run.added] == [0] * RELEASES
    assert [f"more than {QUOTA}" in result.err for result in run.added] == \
        [False] * QUOTA + [True]
    assert "America/Los_Angeles day" in run.added[-1].err
    assert f"{ACCOUNT}:" in run.added[-1].err


def test_the_daemon_publishes_up_to_the_quota_and_uploads_nothing_more(
        run: QuotaRun) -> None:
    published = [row for row in run.queue if row["status"] == "published"]
    assert len(published) == QUOTA == len(run.youtube.videos)
    assert sorted(row["remote_url"] for row in published) == \
        sorted(f"https://www.youtube.com/shorts/{v.id}" for v in run.youtube.videos)
    # YouTube refused the session of the one more: no byte of it was sent
    assert len(run.youtube.calls("POST", UPLOAD_PATH)) == QUOTA + 1
    assert run.daemon["published"] == QUOTA and run.daemon["failed"] == 0


def test_by_default_the_post_past_the_quota_is_missed_naming_the_wait(run: QuotaRun) -> None:
    [waiting] = [row for row in run.queue if row["status"] != "published"]
    assert (waiting["status"], waiting["remote_url"]) == ("missed", None), waiting
    assert "quotaExceeded" in waiting["error"] and "midnight Pacific Time" in waiting["error"]
    assert "not sent late" in waiting["error"]


def test_where_the_office_allows_it_the_post_waits_for_midnight_pacific_time(
        patient_run: QuotaRun) -> None:
    assert len(patient_run.youtube.videos) == QUOTA
    [waiting] = [row for row in patient_run.queue if row["status"] != "published"]
    assert waiting["status"] == "retry", waiting
    assert "quotaExceeded" in (waiting["error"] or "")
    next_try = datetime.fromisoformat(waiting["not_before"]).astimezone(PACIFIC)
    today = datetime.now(PACIFIC).date()
    assert (next_try.date() - today).days == 1
    assert (next_try.hour, next_try.minute) == (0, 0)
