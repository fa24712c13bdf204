"""The YouTube API quota as a daily capacity: how many uploads an account's settings allow
a Pacific day, and the warnings ``siar preview`` / ``siar add`` give when the posts queued
for one such day exceed it (counted from the database, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from channels.youtube import YouTubeChannel
from scheduler import queue
from scheduler.capacity import over_capacity
from scheduler.compose import compose
from scheduler.db import make_engine, open_database
from scheduler.settings import AccountSettings, load_settings
from tests.composer.conftest import make_release, make_settings
from tests.core.conftest import siar, workspace  # noqa: F401  (the CLI fixtures)

#: 2099-09-24 is a Thursday; 17:00 UTC is 10:00 PDT the same day
THURSDAY = datetime(2099, 9, 24, 17, 0, tzinfo=UTC)


def youtube(**options: Any) -> AccountSettings:
    return AccountSettings(name="youtube-lapas", network="youtube", options=options)


@pytest.mark.parametrize(("options", "posts", "why"), [
    ({}, 100, "100 uploads a day"),
    ({"upload_cost_units": 1600}, 6, "10,000 units a day at 1,660 a post"),
    ({"quota_uploads_per_day": 20}, 20, "20 uploads a day"),
    ({"upload_cost_units": 1600, "quota_units_per_day": 1_000_000}, 100, "100 uploads"),
])
def test_the_daily_capacity_is_the_smaller_of_the_upload_bucket_and_the_units(
        options: dict[str, Any], posts: int, why: str) -> None:
    capacity = YouTubeChannel(youtube(**options).channel_config(), {}).daily_capacity()

    assert capacity is not None and capacity.posts == posts
    assert capacity.timezone == "America/Los_Angeles" and why in capacity.why


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'siar.db'}"
        open_database(url).dispose()
    else:
        url = request.getfixturevalue("pg_database_url")
    made = make_engine(url)
    yield made
    made.dispose()


def queue_posts(engine: Engine, account: AccountSettings, *dues: datetime) -> list[Any]:
    settings = make_settings(accounts=[account])
    posts = []
    for number, due in enumerate(dues):
        doc = make_release("Video kegiatan pembinaan.", title=f"Rilis {number}")
        posts += queue.enqueue(engine, doc, [compose(doc, account, settings)], due)[1]
    return posts


def test_a_day_over_the_quota_is_named_and_other_days_are_not(engine: Engine) -> None:
    account = youtube(quota_uploads_per_day=2)
    queue_posts(engine, account, THURSDAY, THURSDAY + timedelta(hours=3))

    warned = over_capacity(engine, [(account, THURSDAY + timedelta(hours=1)),
                                    (account, THURSDAY + timedelta(days=1))])

    assert list(warned) == ["youtube-lapas"]
    [line] = warned["youtube-lapas"]
    assert line.startswith("3 posts on 2099-09-24 (America/Los_Angeles day), more than 2")


@pytest.mark.parametrize(("grace_minutes", "fate"), [
    (60, "the rest are missed (not sent) unless midnight (America/Los_Angeles) comes within "
         "the grace period of 60 min after their time"),
    (25 * 60, "the rest wait until midnight (America/Los_Angeles) and go out then"),
])
def test_the_warning_says_whether_the_rest_are_missed_or_wait_for_the_grace_given(
        engine: Engine, grace_minutes: int, fate: str) -> None:
    account = youtube(quota_uploads_per_day=1)
    queue_posts(engine, account, THURSDAY)

    [line] = over_capacity(engine, [(account, THURSDAY)],
                           grace=timedelta(minutes=grace_minutes))["youtube-lapas"]

    assert fate in line and "next day" not in line


def test_without_a_grace_given_the_daemons_default_decides(engine: Engine) -> None:
    account = youtube(quota_uploads_per_day=1)
    queue_posts(engine, account, THURSDAY)

    [line] = over_capacity(engine, [(account, THURSDAY)])["youtube-lapas"]

    assert "missed (not sent)" in line and "60 min" in line


def test_the_day_is_the_pacific_one_not_jakartas(engine: Engine) -> None:
    account = youtube(quota_uploads_per_day=1)
    # Friday 14:00 WIB is still Thursday 00:00 PDT … 23:59 PDT: 07:00 UTC is 00:00 PDT
    friday_jakarta = datetime(2099, 9, 25, 6, 30, tzinfo=UTC)  # 13:30 WIB, 23:30 PDT Thu
    queue_posts(engine, account, THURSDAY)

    assert over_capacity(engine, [(account, friday_jakarta)])  # same Pacific day
    assert not over_capacity(engine, [(account, friday_jakarta + timedelta(hours=1))])


def test_cancelled_posts_do_not_count_and_queued_ones_are_not_counted_twice(
        engine: Engine) -> None:
    account = youtube(quota_uploads_per_day=1)
    [post] = queue_posts(engine, account, THURSDAY)
    queue.cancel(engine, [post.id])

    assert not over_capacity(engine, [(account, THURSDAY)])
    queue_posts(engine, account, THURSDAY)
    assert not over_capacity(engine, [(account, THURSDAY)], stored=True)


def test_accounts_without_a_capacity_are_never_counted(engine: Engine) -> None:
    x = AccountSettings(name="x-lapas", network="x")

    assert over_capacity(engine, [(x, THURSDAY)] * 500) == {}


YOUTUBE_ACCOUNT = """
[[accounts]]
name = "youtube-lapas"
network = "youtube"
options = { quota_uploads_per_day = 1 }
"""


def test_preview_warns_on_the_youtube_card_when_the_day_is_full(
        workspace: Path, siar: Any) -> None:  # noqa: F811
    config = workspace / "siar.toml"
    config.write_text(config.read_text(encoding="utf-8") + YOUTUBE_ACCOUNT, encoding="utf-8")
    settings = load_settings(config)
    account = next(a for a in settings.accounts if a.network == "youtube")
    assert siar("db", "upgrade").code == 0
    made = make_engine(settings.database_url)
    try:
        # the release file is due 2099-09-24 10:00 WIB: 20:00 PDT on the 23rd, whose
        # Pacific day this post shares
        queue_posts(made, account, datetime(2099, 9, 24, 5, 0, tzinfo=UTC))
    finally:
        made.dispose()

    shown = siar("preview", "rilis.md", "--json")
    queued = siar("preview", "1", "--json", "--channels", "youtube-lapas")

    assert shown.code == 0, shown.err
    cards = {v["account"]: v for v in json.loads(shown.out)["variants"]}
    assert any("more than 1" in w for w in cards["youtube-lapas"]["warnings"])
    assert not any("more than" in w for w in cards["x-lapas"]["warnings"])
    assert cards["youtube-lapas"]["title"] == "Rakor Humas Pemasyarakatan"
    [one] = json.loads(queued.out)["variants"]
    assert not any("more than" in w for w in one["warnings"])  # alone on its day


def test_queueing_a_release_without_a_video_for_youtube_names_the_fix(
        workspace: Path, siar: Any) -> None:  # noqa: F811
    config = workspace / "siar.toml"
    config.write_text(config.read_text(encoding="utf-8") + YOUTUBE_ACCOUNT, encoding="utf-8")

    result = siar("add", "rilis.md")

    assert result.code == 1
    assert "youtube-lapas (youtube): YouTube posts need a video" in result.err
    assert "Traceback" not in result.err


def test_add_warns_once_the_posts_are_stored_when_the_day_is_full(
        workspace: Path, siar: Any, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from dataclasses import replace

    from channels.variant import Media
    from scheduler import cli
    from scheduler.cli.added import print_added
    from scheduler.intake import Plan
    from scheduler.releases import parse_text

    config = workspace / "siar.toml"
    config.write_text(config.read_text(encoding="utf-8") + YOUTUBE_ACCOUNT, encoding="utf-8")
    assert siar("db", "upgrade").code == 0
    cli.state.__init__()
    cli.state.config = config
    account = cli.state.settings.account("youtube-lapas")
    queue_posts(cli.state.engine, account, THURSDAY)
    # a release with a video, as the video intake makes it (a Media of kind "video")
    doc = parse_text("---\ntitle: Video kegiatan\n---\nIsi.\n", source="video.md",
                     base_dir=workspace)
    video = Media(path=str(workspace / "klip.mp4"), kind="video", mime="video/mp4",
                  width=1080, height=1920, bytes=1, duration=30.0)
    variant = replace(compose(doc, account, cli.state.settings), media=[video])

    try:
        print_added([Plan(doc=doc, accounts=[account], variants=[variant], due_at=THURSDAY,
                          zone="Asia/Jakarta")], as_json=False, by="humas")
    finally:
        cli.state.engine.dispose()
        cli.state.__init__()

    err = " ".join(capsys.readouterr().err.split())
    assert "youtube-lapas: 2 posts on 2099-09-24 (America/Los_Angeles day), more than 1" in err
