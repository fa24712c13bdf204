"""The monthly recap for the regional office: every publication of the period with its
link, counts per platform and per release, failures apart; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from scheduler.db import make_engine
from scheduler.models import Attempt, Post

WIB = timedelta(hours=7)


def published_through_the_daemon(workspace: Path, siar, titles: list[str]) -> None:
    """Queue one release per title for the console account and X (no X token: paused),
    then let the real daemon publish what it can."""
    for index, title in enumerate(titles):
        (workspace / f"r{index}.md").write_text(
            f"---\ntitle: {title}\nchannels: [console, x-lapas]\n---\nIsi rilis {index}.\n",
            encoding="utf-8")
        assert siar("add", f"r{index}.md", "--now").code == 0
    assert siar("daemon", "--until-drained").code == 0


def move_release(release_id: int, local: datetime) -> None:
    """Put a release's publication (and due time) at ``local`` WIB, as if it had happened
    then: the recap reads times from the database."""
    engine = make_engine(os.environ.get("SIAR_DATABASE_URL")
                         or f"sqlite:///{Path(os.environ['SIAR_HOME']) / 'siar.db'}")
    at = (local - WIB).replace(tzinfo=UTC)
    posts = select(Post.id).where(Post.release_id == release_id)
    with engine.begin() as c:  # through the models, so each database stores it its own way
        c.execute(update(Post).where(Post.release_id == release_id).values(due_at=at))
        c.execute(update(Attempt).where(Attempt.post_id.in_(posts))
                  .values(started_at=at, finished_at=at))
    engine.dispose()


@pytest.fixture
def november(workspace: Path, siar, database) -> Path:
    published_through_the_daemon(workspace, siar, ["Rakor Humas", "Pembinaan Kemandirian",
                                                   "Kunjungan Kakanwil"])
    move_release(1, datetime(2026, 10, 31, 23, 59))  # October in WIB (16:59 UTC)
    move_release(2, datetime(2026, 11, 1, 0, 0))  # the first minute of November in WIB
    move_release(3, datetime(2026, 11, 30, 23, 59))
    return workspace


def test_the_month_is_taken_in_the_units_zone(november: Path, siar):
    data = json.loads(siar("report", "--month", "2026-11", "--format", "json").out)
    assert [p["title"] for p in data["publications"]] == ["Pembinaan Kemandirian",
                                                           "Kunjungan Kakanwil"]
    assert data["publications"][0]["published_at"] == "2026-11-01T00:00:00+07:00"
    assert data["per_network"] == {"console": 2}
    assert [r["posts"] for r in data["per_release"]] == [1, 1]
    # X had no token: its posts are not publications, they are listed apart
    # (the first was paused for it; the account's later posts wait behind it)
    assert [(f["account"], f["status"]) for f in data["failures"]] == [
        ("x-lapas", "scheduled"), ("x-lapas", "scheduled")]


def test_the_recap_as_a_spreadsheet_the_office_opens(november: Path, siar, monkeypatch):
    monkeypatch.setenv("SIAR_LANG", "id")  # the regional office reads Indonesian
    done = siar("report", "--month", "2026-11", "--output", "rekap.xlsx")
    assert done.code == 0, done.err
    book = load_workbook(november / "rekap.xlsx")
    sheet = book["Publikasi"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("No", "Tanggal", "Jam", "Judul rilis", "Platform", "Akun", "Tautan")
    assert rows[1][:6] == (1, "2026-11-01", "00.00 WIB", "Pembinaan Kemandirian", "Console",
                           "console")
    link = sheet.cell(row=2, column=7)
    assert link.value.startswith("console://") and link.hyperlink.target == link.value
    summary = [row[:2] for row in book["Ringkasan"].iter_rows(values_only=True)]
    assert ("Console", 2) in summary and ("Total", 2) in summary
    assert len(list(book["Gagal"].iter_rows(values_only=True))) == 1 + 2
    assert [p.name for p in november.glob(".rekap*")] == []  # nothing half-written


def test_csv_week_and_day_ranges(november: Path, siar):
    text_out = siar("report", "--from", "2026-11-30", "--to", "2026-11-30", "--format",
                    "csv").out
    rows = list(csv.reader(io.StringIO(text_out)))
    assert rows[0][1] == "Date" and [r[3] for r in rows[1:]] == ["Kunjungan Kakanwil"]
    week = json.loads(siar("report", "--week", "2026-W44", "--format", "json").out)
    # ISO week 44 runs from Monday 26 October to Sunday 1 November
    assert [p["title"] for p in week["publications"]] == ["Rakor Humas", "Pembinaan Kemandirian"]
    table = siar("report", "--month", "2026-10")
    assert "Rakor Humas" in table.out and "console://" in table.out


def test_a_dry_run_is_a_rehearsal_not_a_publication(workspace: Path, siar, database):
    assert siar("add", "rilis.md", "--now", "--channels", "console").code == 0
    assert siar("daemon", "--dry-run", "--until-drained").code == 0
    month = f"{datetime.now(UTC) + WIB:%Y-%m}"
    data = json.loads(siar("report", "--month", month, "--format", "json").out)
    assert data["publications"] == []


@pytest.mark.parametrize(("args", "says"), [
    (["--month", "2026-13"], "not a month"),
    (["--week", "2026-W60"], "not a week number"),
    (["--from", "2026-11-01"], "--to is missing"),
    (["--from", "2026-11-09", "--to", "2026-11-01"], "before --from"),
    (["--month", "2026-11", "--week", "2026-W48"], "one period"),
    (["--month", "2026-11", "--format", "xlsx"], "--output"),
])
def test_a_period_that_cannot_be_read_is_refused(workspace: Path, siar, args, says):
    result = siar("report", *args)
    assert result.code == 1 and says in result.err and "Traceback" not in result.err
