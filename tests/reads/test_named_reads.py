"""The named reads (scheduler/reads/statements.sql) give the same Python values on SQLite
and PostgreSQL, whether run on a reader opened without SQLAlchemy (the read commands) or
on an engine (the daemon, the desk): times aware UTC, NULLs as None, JSON decoded, empty
results empty."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from scheduler import queries, report, status
from scheduler.errors import NotFound
from scheduler.reads import STATEMENTS, Reader
from scheduler.settings import DaemonSettings
from scheduler.states import CANCELLABLE
from tests.reads.conftest import NOW, WITA

FIRST_DUE = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
SECOND_DUE = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
Source = Reader | Engine


def ids(rows: list[Any]) -> list[int]:
    return [row[0].id if isinstance(row, tuple) and not hasattr(row, "_fields") else row.id
            for row in rows]


def times_in(value: Any) -> list[datetime]:
    """Every datetime inside a read's result."""
    if isinstance(value, datetime):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in times_in(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in times_in(v)]
    if hasattr(value, "__dict__"):
        return times_in(vars(value))
    return []


def test_a_release_comes_with_its_posts_every_column_as_written(source: Source) -> None:
    release, posts = queries.release_with_posts(source, 2)
    assert release.title == "Kunjungan “Kanwil”" and release.zone == "Asia/Jakarta"
    assert release.due_at == SECOND_DUE and release.due_at.tzinfo is UTC
    assert release.created_at == SECOND_DUE - timedelta(days=1)
    assert (release.hashtags, release.images, release.mentions) == (
        [], [{"path": "a.jpg"}], ["@ditjenpas"])
    assert (release.link, release.summary, release.repeat, release.parent_id) == (
        "https://lapas.example/berita", "Ringkas", "0 9 * * 1", None)
    assert [p.id for p in posts] == [3, 4, 5, 8]
    retry = posts[1]
    assert retry.variant == {"account": "telegram-lapas", "text": "Kegiatan ✓", "n": 3}
    assert retry.progress == {"parts": [3]}
    assert retry.not_before == SECOND_DUE + timedelta(minutes=3)
    assert (retry.link_from, retry.lease_until, retry.remote_url) == ("web-lapas", None, None)
    first, _posts = queries.release_with_posts(source, 1)
    assert first.due_at == datetime(2026, 11, 10, 10, 0, tzinfo=WITA)
    assert (first.link, first.summary, first.repeat) == (None, None, None)


def test_a_wrong_release_id_is_not_found(source: Source) -> None:
    with pytest.raises(NotFound):
        queries.release_with_posts(source, 99)
    with pytest.raises(NotFound):
        queries.post_ids_in(source, 99, None, CANCELLABLE)


def test_the_queue_lists_pending_posts_first_then_by_due_time(source: Source) -> None:
    assert ids(queries.posts(source)) == [2, 7, 3, 4, 8]
    assert ids(queries.posts(source, include_done=True)) == [2, 7, 3, 4, 8, 1, 6, 5]
    assert ids(queries.posts(source, statuses=["published"])) == [1, 6]
    assert ids(queries.posts(source, limit=2)) == [2, 7]
    assert queries.posts(source, statuses=["declined"]) == []
    post, release = queries.posts(source)[0]
    assert (post.account, release.title, release.zone) == (
        "mastodon-lapas", "Rakor: Kami Siap", "Asia/Makassar")


def test_posts_of_a_paused_account_are_blocked(source: Source) -> None:
    pauses = queries.blocked_by_pause(source)
    assert pauses == {"telegram-lapas": "account paused: 401 token"}
    waiting = {p.account: p for p, _r in queries.posts(source) if p.release_id == 2}
    assert queries.blocked(waiting["telegram-lapas"], pauses) == "account paused: 401 token"
    assert queries.blocked(waiting["x-lapas"], pauses) is None


def test_waiting_posts_past_their_grace(source: Source) -> None:
    minute = timedelta(minutes=1)
    assert [p.id for p in queries.past_grace(source, grace=minute)] == [3, 4, 8]
    assert [p.id for p in queries.past_grace(source, grace=minute, account="x-lapas")] == [3]
    assert [p.id for p in queries.past_grace(source, grace=minute, post_ids=[4, 2])] == [4]
    assert queries.past_grace(source, grace=timedelta(days=3650)) == []


def test_post_ids_of_a_release_in_some_states(source: Source) -> None:
    assert queries.post_ids_in(source, 2, None, CANCELLABLE) == [3, 4, 8]
    assert queries.post_ids_in(source, 2, "telegram-lapas", CANCELLABLE) == [4]
    assert queries.post_ids_in(source, 2, "nobody", CANCELLABLE) == []


def test_posts_in_doubt_oldest_first(source: Source) -> None:
    [post] = queries.in_doubt(source)
    assert (post.id, post.last_error, post.updated_at) == (
        2, "timeout: é", FIRST_DUE + timedelta(seconds=1))
    assert queries.in_doubt(source, limit=0) == []


def test_each_posts_attempt_log(source: Source) -> None:
    log = queries.attempts_for(source, [1, 2, 3])
    assert sorted(log) == [1, 2]
    [published] = log[1]
    assert published.finished_at == datetime(2026, 11, 10, 2, 0, 1, 500, tzinfo=UTC)
    assert (published.http_status, published.detail) == (200, {"ms": 12})
    [doubt] = log[2]
    assert (doubt.finished_at, doubt.http_status, doubt.detail, doubt.error) == (
        None, None, None, "timeout: é")
    assert queries.attempts_for(source, []) == {}
    assert queries.attempts_for(source, [3]) == {}


def test_history_newest_first_with_its_filters(source: Source) -> None:
    def attempt_ids(**filters: Any) -> list[int]:
        return [a.id for a, _p, _r in queries.history(source, **filters)]

    assert attempt_ids() == [3, 2, 1]
    assert attempt_ids(outcomes=["published", "dry_run"]) == [3, 1]
    assert attempt_ids(accounts=["web-lapas"]) == [3]
    assert attempt_ids(since=FIRST_DUE) == [3, 2, 1]
    assert attempt_ids(since=FIRST_DUE + timedelta(microseconds=1)) == []
    assert attempt_ids(until=FIRST_DUE) == []
    assert attempt_ids(until=datetime(2026, 11, 10, 10, 0, 1, tzinfo=WITA)) == [3, 2, 1]
    assert attempt_ids(limit=1) == [3]
    attempt, post, release = queries.history(source)[0]
    assert attempt.detail == {"dry_run_requests": [{"method": "POST", "url": "https://w"}]}
    assert (post.account, release.zone) == ("web-lapas", "Asia/Makassar")


def test_status_snapshot(source: Source) -> None:
    snap = status.snapshot(source, DaemonSettings(), now=NOW)
    assert [(n.name, n.alive) for n in snap.nodes] == [("n1", True), ("n2", False)]
    assert {k: v for k, v in snap.depth.items() if v} == {
        "published": 2, "unknown": 1, "scheduled": 1, "retry": 2, "cancelled": 1, "missed": 1}
    assert snap.overdue == status.Overdue(1, 8, 2, "console", SECOND_DUE + timedelta(minutes=7))
    assert snap.paused_accounts == {"telegram-lapas": "401 token"}
    assert snap.rate_limited == {"x-lapas": NOW + timedelta(hours=1)}
    assert snap.stuck and snap.alerts_undelivered == 1
    assert status.overdue_posts(source, now=FIRST_DUE) == status.Overdue(count=0)


def test_undelivered_alerts(source: Source) -> None:
    listed = status.undelivered_alerts(source, now=NOW)
    assert listed == status.Undelivered(1, [status.UndeliveredAlert(
        "unknown:2:1", "unknown", "Ragu", NOW - timedelta(hours=1), 2, "smtp: down",
        NOW + timedelta(minutes=5))])
    assert status.undelivered_alerts(source, now=NOW, limit=0) == status.Undelivered(1, [])
    later = status.undelivered_alerts(source, now=NOW + timedelta(days=8))
    assert later == status.Undelivered(0, [])


def test_the_monthly_recap(source: Source) -> None:
    november = report.period(month="2026-11", zone_name="Asia/Jakarta")
    recap = report.recap(source, november, "Asia/Jakarta")
    assert recap.publications == [report.Publication(
        datetime(2026, 11, 10, 2, 0, 1, 500, tzinfo=UTC), 1, "Rakor: Kami Siap", "x",
        "x-lapas", "https://x.example/1")]  # the dry run of post 6 is no publication
    assert [(f.due_at, f.account, f.status, f.error) for f in recap.failures] == [
        (FIRST_DUE, "mastodon-lapas", "unknown", "timeout: é"),
        (FIRST_DUE, "bsky-lapas", "missed", "daemon down"),
        (SECOND_DUE, "x-lapas", "scheduled", None),
        (SECOND_DUE, "telegram-lapas", "retry", "429"),
        (SECOND_DUE, "console", "retry", None)]
    october = report.recap(source, report.period(month="2026-10", zone_name="Asia/Jakarta"),
                           "Asia/Jakarta")
    assert (october.publications, october.failures) == ([], [])


def test_the_audit_log_oldest_first(source: Source) -> None:
    entries = queries.audit_entries(source)
    assert [(e.actor, e.action, e.release_id, e.accounts, e.detail) for e in entries] == [
        ("budi", "queue", 1, ["x-lapas"], {}),
        ("sari", "cancel", 2, ["mastodon-lapas"], {"komentar": "ganda ✓"})]
    assert entries[0].at == FIRST_DUE
    assert [e.actor for e in queries.audit_entries(source, release_id=2)] == ["sari"]
    assert [e.actor for e in queries.audit_entries(source, since=SECOND_DUE)] == ["sari"]
    assert queries.audit_entries(source, since=SECOND_DUE + timedelta(seconds=1)) == []
    assert [e.actor for e in queries.audit_entries(source, limit=1)] == ["sari"]


def test_the_desks_calendar_month(source: Source) -> None:
    from scheduler.web import calendar

    weeks = calendar.grid(source, "Asia/Jakarta", "month", date(2026, 11, 1))
    days = {cell.day: cell.entries for week in weeks for cell in week if cell.entries}
    assert sorted(days) == [date(2026, 11, 10), date(2026, 11, 20)]
    [first] = days[date(2026, 11, 10)]
    assert (first.release_id, first.title, first.local.isoformat()) == (
        1, "Rakor: Kami Siap", "2026-11-10T09:00:00+07:00")
    assert first.posts == [("bsky-lapas", "missed"), ("mastodon-lapas", "unknown"),
                           ("web-lapas", "published"), ("x-lapas", "published")]
    [second] = days[date(2026, 11, 20)]
    assert [account for account, _state in second.posts] == [
        "console", "mastodon-lapas", "telegram-lapas", "x-lapas"]
    assert calendar.grid(source, "Asia/Jakarta", "week", date(2026, 12, 7))[0][0].entries == []


def everything(source: Source) -> dict[str, Any]:
    """Every read's full result (every column of every row)."""
    from scheduler.web import calendar

    november = report.period(month="2026-11", zone_name="Asia/Jakarta")
    return {
        "release_with_posts": [queries.release_with_posts(source, i) for i in (1, 2)],
        "posts": queries.posts(source, include_done=True),
        "post_ids_in": queries.post_ids_in(source, 2, None, CANCELLABLE),
        "blocked_by_pause": queries.blocked_by_pause(source),
        "past_grace": queries.past_grace(source, grace=timedelta(minutes=1)),
        "in_doubt": queries.in_doubt(source),
        "attempts_for": queries.attempts_for(source, list(range(1, 9))),
        "history": queries.history(source),
        "audit_entries": queries.audit_entries(source),
        "snapshot": status.snapshot(source, DaemonSettings(), now=NOW),
        "undelivered": status.undelivered_alerts(source, now=NOW),
        "recap": report.recap(source, november, "Asia/Jakarta"),
        "calendar": calendar.grid(source, "Asia/Makassar", "month", date(2026, 11, 1)),
    }


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_equal_values_for_every_read(
        tmp_path: Path, pg_database_url: str) -> None:
    from scheduler.db import make_engine, open_database
    from scheduler.reads import connect
    from tests.reads.conftest import fill

    results = []
    for url in (f"sqlite:///{tmp_path / 'siar.db'}", pg_database_url):
        open_database(url).dispose()
        engine = make_engine(url)
        fill(engine)
        reader = connect(url)
        assert reader is not None
        results += [everything(reader), everything(engine)]
        reader.close()
        engine.dispose()
    on_sqlite = results[0]
    for result in results[1:]:
        assert {k: v for k, v in result.items() if v != on_sqlite[k]} == {}
    on_sqlite.pop("calendar")  # its times are local by design
    recap = on_sqlite.pop("recap")  # its period is in the unit's zone, as asked
    read = times_in(on_sqlite) + times_in([recap.publications, recap.failures])
    assert len(read) > 50 and all(t.tzinfo is UTC for t in read)


def test_every_named_statement_is_covered_here() -> None:
    """A new statement gets its case above (and its line in ``everything``)."""
    assert set(STATEMENTS) == {
        "schema_revision", "release", "posts_of_release", "post_ids_in", "queue",
        "paused_accounts", "waiting_past", "attempts_of_posts", "history", "posts_in_doubt",
        "nodes", "depth", "account_states", "overdue", "undelivered_count",
        "undelivered_alerts", "recap_published", "recap_failed", "audit_entries", "calendar"}
