"""The real-path benchmark harness keeps working: at tiny sizes, posts queued with
``siar add`` are published by a ``siar daemon`` process through the real Mastodon, Bluesky,
Telegram and webhook adapters to the fake networks (each in its own process), and the
harness sees every post exactly once. Speed is not checked here, only that the harness
runs and counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bench import real_path
from bench.deployment import accounts
from bench.figures import Figures
from bench.real_path import Scale
from bench.run import markdown

#: every network gets one account; a few posts each; a quick network; a lead that a
#: ``siar add`` of a few files meets on a loaded host (with 0.5 s it overran the due time at
#: load 10, the burst went out before the CPU meter started, and the daemon's CPU read 0;
#: 4 s overran once at load 12)
TINY = Scale(accounts=4, latency=0.01, burst=20, late_posts=8, late_span=1.0, crash=40,
             add=20, lead=6.0)


#: the PostgreSQL run starts a server and three more processes: the slow lane
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, URL) of an empty database on each backend."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path}/siar.db"
        return
    from tests.conftest import new_postgres_database

    yield "postgres", new_postgres_database(request.getfixturevalue("postgres_url"))


def test_the_accounts_cover_every_fake_network() -> None:
    assert {network for _, network in accounts(TINY.accounts)} == {
        "mastodon", "bluesky", "telegram", "webhook"}


def test_a_burst_on_the_real_path_reaches_each_network_once_per_post(
        tmp_path: Path, database: tuple[str, str]) -> None:
    backend, url = database
    figures = real_path.burst(tmp_path / "site", url, backend, TINY)

    assert figures.values["complete"] == 1
    assert figures.values["duplicates"] == 0
    assert figures.values["lost"] == 0
    assert figures.values["queue_overran_s"] == 0
    assert figures.values["sent_early"] == 0
    assert figures.values["unpublished"] == 0
    assert figures.values["posts_per_s"] > 0
    assert figures.values["cpu_ms_per_post_daemon"] > 0
    assert "cpu_ms_per_post_fakes" in figures.values  # 20 posts: under a clock tick
    assert ("cpu_ms_per_post_postgres" in figures.values) == (backend == "postgres")


def test_two_daemons_on_one_sqlite_file_share_a_burst_and_send_each_post_once(
        tmp_path: Path) -> None:
    figures = real_path.burst(tmp_path / "site", f"sqlite:///{tmp_path}/siar.db", "sqlite",
                              TINY, daemons=2)

    assert figures.backend == "sqlite ×2"
    assert figures.values["complete"] == 1
    assert figures.values["duplicates"] == 0
    assert figures.values["lost"] == 0
    assert figures.values["unpublished"] == 0
    assert 0 <= figures.values["share_min_pct"] <= 50 <= figures.values["share_max_pct"] <= 100


def test_the_fake_networks_can_run_one_process_each(tmp_path: Path) -> None:
    scale = replace(TINY, fakes_per_network=True)

    figures = real_path.burst(tmp_path / "site", f"sqlite:///{tmp_path}/siar.db", "sqlite",
                              scale)

    assert figures.values["complete"] == 1
    assert figures.values["duplicates"] == 0
    assert figures.values["lost"] == 0


@pytest.mark.slow
def test_after_a_kill_during_a_burst_nothing_is_lost_or_sent_twice(tmp_path: Path) -> None:
    # a slower network: at TINY's 10 ms the burst was out before the kill, and the
    # restart had nothing to publish
    figures = real_path.crash(tmp_path / "site", f"sqlite:///{tmp_path}/siar.db", "sqlite",
                              replace(TINY, latency=0.2))

    assert figures.values["in_doubt_at_kill"] >= 1
    assert figures.values["complete"] == 1
    assert figures.values["duplicates"] == 0
    assert figures.values["lost"] == 0


def test_the_table_gives_the_median_of_the_runs_and_their_spread() -> None:
    rows = [Figures("siar", "sqlite", "burst 20 at once", {"posts_per_s": rate, "lost": 0.0})
            for rate in (120.0, 310.0, 205.0)]

    table = markdown(rows)

    assert "### burst 20 at once (3 runs)" in table
    assert "| design | database | posts_per_s | lost |" in table
    assert "| siar | sqlite | 205 (120–310) | 0.00 |" in table


def test_a_figure_not_measured_in_a_run_is_said_so() -> None:
    rows = [Figures("naive", "sqlite", "lateness", {"p99_ms": value})
            for value in (float("nan"), 12.0)]

    assert "| naive | sqlite | 12.0 (1 not measured) |" in markdown(rows)
