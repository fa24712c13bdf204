"""The PR officer's tour: init, add, queue, show, reschedule, cancel, dry-run, history."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.conftest import row_counts


def test_init_writes_a_starter_config_and_release(tmp_path: Path, siar):
    target = tmp_path / "baru"
    result = siar("init", str(target))
    assert result.code == 0, result.err
    assert (target / "siar.toml").read_text().count("[[accounts]]") >= 3
    assert "#" not in (target / "rilis-contoh.md").read_text().split("---")[1].split("title")[0]
    again = siar("init", str(target))
    assert again.code == 1 and "already exists" in again.err and "--force" in again.err


def test_add_then_queue_and_show_in_the_authors_zone(workspace: Path, siar):
    added = siar("add", "rilis.md", "--json")
    assert added.code == 0, added.err
    data = json.loads(added.out)
    assert data["due_at"] == "2099-09-24T10:00:00+07:00"
    assert [p["id"] for p in data["posts"]] == ["1/console", "1/x-lapas", "1/mastodon-lapas",
                                                "1/telegram-lapas"]

    listing = json.loads(siar("queue", "--json").out)
    assert {p["status"] for p in listing} == {"scheduled"}
    assert listing[0]["due_at"] == "2099-09-24T10:00:00+07:00"

    shown = siar("show", "1")
    assert "2099-09-24 10:00 WIB" in shown.out and "1/telegram-lapas" in shown.out


def test_a_title_with_square_brackets_is_shown_as_written(workspace: Path, siar):
    # Rich reads "[...]" as markup: an officer's "[FOTO]" tag must not vanish from the tables
    release = (workspace / "rilis.md").read_text(encoding="utf-8")
    title = next(line for line in release.splitlines() if line.startswith("title:"))
    (workspace / "rilis.md").write_text(
        release.replace(title, 'title: "[FOTO] Kunjungan [bold]Kakanwil[/bold]"'),
        encoding="utf-8")
    assert siar("add", "rilis.md").code == 0

    assert "“[FOTO] Kunjungan [bold]Kakanwil[/bold]”" in siar("show", "1").out
    assert "[FOTO] Kunjungan" in siar("queue").out


def test_channels_flag_picks_accounts_by_name_or_network(workspace: Path, siar):
    data = json.loads(siar("add", "rilis.md", "--channels", "mastodon,x-lapas", "--json").out)
    assert sorted(p["account"] for p in data["posts"]) == ["mastodon-lapas", "x-lapas"]


def test_reschedule_accepts_another_zone_and_cancel_withdraws(workspace: Path, siar):
    siar("add", "rilis.md")
    moved = siar("reschedule", "1", "--at", "2099-10-01 09:00 WITA")
    assert moved.code == 0, moved.err
    assert "2099-10-01 09:00 WITA" in moved.out
    post = json.loads(siar("show", "1/x-lapas", "--json").out)["posts"][0]
    assert post["status"] == "scheduled"
    shown = json.loads(siar("show", "1", "--json").out)  # the new time, not the queued one
    assert shown["due_at"] == post["due_at"] == "2099-10-01T08:00:00+07:00"  # 09:00 WITA
    assert "due 2099-10-01 08:00 WIB" in siar("show", "1").out
    assert siar("reschedule", "1/console", "--at", "2099-09-30 09:00 WIB").code == 0
    assert json.loads(siar("show", "1", "--json").out)["due_at"] == "2099-09-30T09:00:00+07:00"

    one = siar("cancel", "1/x-lapas")
    assert one.code == 0 and "cancelled 1 post" in one.out
    rest = siar("cancel", "1")
    assert "cancelled 3 post" in rest.out
    again = siar("cancel", "1")
    assert again.code == 1 and "nothing left to cancel" in again.err


def test_unknown_ids_are_user_errors(workspace: Path, siar):
    assert siar("show", "42").code == 1
    assert "no release with id 42" in siar("show", "42").err
    assert siar("show", "abc").code == 1


def test_a_rehearsal_deployments_dry_run_publishes_everything_and_history_shows_requests(
        workspace, siar):
    config = workspace / "siar.toml"  # dry_run = true: the whole pipeline, posts end dry-run://
    config.write_text("dry_run = true\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    siar("add", "rilis.md", "--at", "now")
    run = siar("daemon", "--dry-run", "--until-drained", "--json")
    assert run.code == 0, run.err
    summary = json.loads(run.out)
    assert summary == {**summary, "dry_run": True, "published": 4, "failed": 0}

    posts = json.loads(siar("queue", "--all", "--json").out)
    assert {p["status"] for p in posts} == {"published"}
    assert all(p["remote_url"].startswith("dry-run://") for p in posts)

    history = json.loads(siar("history", "--json").out)
    assert len(history) == 4
    assert {h["outcome"] for h in history} == {"dry_run"}
    assert all(h["requests"] for h in history), "each would-be request is recorded"
    assert row_counts(workspace)["attempt"] == 4


def test_add_reads_stdin(workspace: Path, siar):
    result = siar("add", "-", "--channels", "console", "--json",
                  stdin="---\ntitle: Dari stdin\nat: 2099-01-01 08:00 WIT\n---\nIsi.\n")
    assert result.code == 0, result.err
    assert json.loads(result.out)["due_at"] == "2099-01-01T08:00:00+09:00"


def test_accounts_lists_missing_secrets_without_values(workspace: Path, siar, monkeypatch):
    monkeypatch.setenv("SIAR_SECRET_MASTODON_LAPAS_ACCESS_TOKEN", "sangat-rahasia-123")
    listing = siar("accounts", "--json")
    assert listing.code == 0, listing.err
    rows = {a["name"]: a for a in json.loads(listing.out)}
    assert rows["mastodon-lapas"]["missing_secrets"] == []
    assert "sangat-rahasia-123" not in listing.out


def test_next_slot_queues_for_the_accounts_next_posting_slot(workspace: Path, siar):
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + '\n[[accounts]]\nname = "x-pagi"\nnetwork = "x"\n'
                      'timezone = "Asia/Makassar"\nslots = "Mon-Sun 09:30"\n')
    data = json.loads(siar("add", "rilis.md", "--channels", "x-pagi", "--next-slot",
                           "--json").out)
    assert data["due_at"].endswith("09:30:00+08:00"), data["due_at"]


def test_next_slot_for_an_account_without_slots_is_an_error(workspace: Path, siar):
    result = siar("add", "rilis.md", "--channels", "x-lapas", "--next-slot")
    assert result.code == 1
    assert "x-lapas" in result.err and "slots" in result.err
    assert row_counts(workspace)["post"] == 0


def _calendar(workspace: Path, days: int) -> list[str]:
    names = []
    for day in range(1, days + 1):
        name = f"rilis-{day:02d}.md"
        (workspace / name).write_text(
            f"---\ntitle: Kegiatan hari {day}\nat: 2099-10-{day:02d} 09:00 WITA\n---\n"
            f"Humas Lapas melaporkan kegiatan hari ke-{day}.\n", encoding="utf-8")
        names.append(name)
    return names


def test_several_files_are_queued_together_each_at_its_own_time(workspace: Path, siar):
    files = _calendar(workspace, 3)
    result = siar("add", *files, "--channels", "console,x-lapas", "--json")
    assert result.code == 0, result.err
    releases = json.loads(result.out)["releases"]
    assert [r["title"] for r in releases] == ["Kegiatan hari 1", "Kegiatan hari 2",
                                              "Kegiatan hari 3"]
    assert [r["due_at"] for r in releases] == [f"2099-10-0{d}T09:00:00+08:00" for d in (1, 2, 3)]
    assert [p["id"] for p in releases[1]["posts"]] == [f"{releases[1]['release']}/console",
                                                       f"{releases[1]['release']}/x-lapas"]
    listing = json.loads(siar("queue", "--json").out)
    assert len(listing) == 6 and {p["status"] for p in listing} == {"scheduled"}
    summary = siar("add", *_calendar(workspace, 2), "--channels", "console")
    assert summary.code == 0 and "queued 2 releases, 2 posts" in summary.out


def test_a_long_calendar_is_summed_up_not_listed_line_by_line(workspace: Path, siar):
    files = _calendar(workspace, 25)
    result = siar("add", *files, "--channels", "console,x-lapas")
    assert result.code == 0, result.err
    assert "queued 25 releases, 50 posts (releases 1–25)" in result.out
    assert "2099-10-01 09:00 WITA … 2099-10-25 09:00 WITA" in result.out
    assert "console 25, x-lapas 25" in result.out
    assert "Kegiatan hari 7" not in result.out  # no line per release
    # the missing X secrets are said once, not once per release
    assert result.err.count("x-lapas cannot publish until") == 1
    listed = siar("add", *_calendar(workspace, 25), "--channels", "console", "--json")
    assert len(json.loads(listed.out)["releases"]) == 25  # --json still lists every release


def test_one_bad_file_among_several_queues_none_and_names_it(workspace: Path, siar):
    files = _calendar(workspace, 3)
    (workspace / files[1]).write_text("---\ntitle: Rusak\nat: kemarin sore\n---\nIsi.\n",
                                      encoding="utf-8")
    before = row_counts(workspace)
    result = siar("add", *files)
    assert result.code == 1 and files[1] in result.err and "at" in result.err
    assert row_counts(workspace) == before


def test_standard_input_can_be_named_only_once(workspace: Path, siar):
    result = siar("add", "-", "-", stdin="---\ntitle: A\n---\nIsi.\n")
    assert result.code == 1 and "only once" in result.err


def test_a_rehearsal_deployment_may_dry_run_with_its_secrets_set(workspace: Path, siar,
                                                                  monkeypatch):
    config = workspace / "siar.toml"
    config.write_text("dry_run = true\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("SIAR_SECRET_MASTODON_LAPAS_ACCESS_TOKEN", "token-asli-123")
    assert siar("add", "rilis.md", "--at", "now").code == 0
    run = siar("daemon", "--dry-run", "--until-drained", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["published"] == 4


def test_reschedule_leaves_a_post_in_doubt_alone_and_says_how_to_settle_it(
        workspace: Path, siar):
    from datetime import timedelta

    from channels.base import InDoubt
    from scheduler import queue
    from scheduler.db import make_engine
    from scheduler.timeparse import utcnow

    siar("add", "rilis.md")
    engine = make_engine(f"sqlite:///{workspace / 'home' / 'siar.db'}")
    later = utcnow() + timedelta(days=365 * 80)  # past the release's time in 2099
    claims = {c.account: c for c in queue.claim_due(engine, "node", now=later)}
    doubtful = claims.pop("x-lapas")
    assert queue.begin_publishing(engine, doubtful, "node", now=later) is not None
    assert queue.finalize(engine, doubtful.post_id, doubtful.attempt, InDoubt("timeout"),
                          now=later)
    assert queue.give_back_unsent(engine, [(c.post_id, c.attempt) for c in claims.values()],
                                  "node") == 3
    engine.dispose()

    # a new time would send it again, though it may be on the network already
    moved = siar("reschedule", "1", "--at", "2099-10-01 09:00 WIB")
    assert moved.code == 0, moved.err
    assert "rescheduled 3 post(s)" in moved.out and "siar resolve" in moved.err
    post = json.loads(siar("show", "1/x-lapas", "--json").out)["posts"][0]
    assert post["status"] == "unknown"
    alone = siar("reschedule", "1/x-lapas", "--at", "2099-10-01 09:00 WIB")
    assert alone.code == 1 and "siar resolve" in alone.err


def test_every_state_has_its_colour_in_queue_and_show():
    from scheduler.cli.releases import STATUS_STYLE
    from scheduler.states import Status

    assert set(STATUS_STYLE) == {state.value for state in Status}
