"""A PR officer's day through the real ``siar`` command, in Bahasa Indonesia by default:
``siar init``, an edit, ``siar add`` with every way officers write a time, ``siar queue``,
the daemon, and the monthly recap as a spreadsheet read back with openpyxl. The same
commands with ``SIAR_LANG=en`` speak English."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

WIB, WITA, WIT = (timezone(timedelta(hours=h)) for h in (7, 8, 9))
JAKARTA = ZoneInfo("Asia/Jakarta")
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def office(tmp_path: Path) -> tuple[Path, Run]:
    """A folder where the officer works, and ``siar`` run there as a separate process with
    no language chosen (``lang=`` sets ``SIAR_LANG``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_HOME": str(tmp_path / "data"), "COLUMNS": "200"}

    def siar(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
        run_env = env | ({"SIAR_LANG": lang} if lang else {})
        return subprocess.run([sys.executable, "-m", "scheduler.cli", *args], cwd=tmp_path,
                              env=run_env, capture_output=True, text=True, timeout=120)

    return tmp_path, siar


def _ahead(days: int) -> date:
    return datetime.now(JAKARTA).date() + timedelta(days=days)


def _written_times() -> list[tuple[str, Callable[[], datetime]]]:
    """(what the officer types, the instant it means) for each accepted way of writing."""
    day = _ahead(40)
    long_date = f"{day.day} {MONTHS[day.month - 1]} {day.year}"

    def at(when: date, hour: int, minute: int, zone: timezone = WIB) -> Callable[[], datetime]:
        return lambda: datetime(when.year, when.month, when.day, hour, minute, tzinfo=zone)

    def later(delta: timedelta) -> Callable[[], datetime]:
        return lambda: datetime.now(UTC) + delta

    def next_friday() -> datetime:
        today = datetime.now(JAKARTA)
        ahead = (4 - today.weekday()) % 7 or 7  # "Jumat" is the next Friday, never today
        friday = (today + timedelta(days=ahead)).date()
        return datetime(friday.year, friday.month, friday.day, 7, 30, tzinfo=WIB)

    return [
        (f"{DAYS[day.weekday()]}, {long_date} pukul 10.00 WIB", at(day, 10, 0)),
        (f"{long_date} 10:00 WIB", at(day, 10, 0)),
        (f"{day:%Y-%m-%d} 10.00 WIB", at(day, 10, 0)),
        (f"{day:%d/%m/%Y} 10:00", at(day, 10, 0)),
        (f"{day:%Y-%m-%d} 10.00 WITA", at(day, 10, 0, WITA)),
        (f"{day:%Y-%m-%d} 10.00 WIT", at(day, 10, 0, WIT)),
        (f"{day:%Y-%m-%d}T10:00+08:00", at(day, 10, 0, WITA)),
        ("besok 10.00", lambda: at(_ahead(1), 10, 0)()),
        ("lusa 09.00", lambda: at(_ahead(2), 9, 0)()),
        ("Jumat 07.30", next_friday),
        ("+30 menit", later(timedelta(minutes=30))),
        ("+2 jam", later(timedelta(hours=2))),
        ("+1 hari", later(timedelta(days=1))),
    ]


def test_an_officers_day_in_indonesian_and_in_english(office: tuple[Path, Run]) -> None:
    folder, siar = office
    started = siar("init")
    assert started.returncode == 0, started.stderr
    assert "siar.toml ditulis" in started.stdout and "berikutnya:" in started.stdout

    # the officer's edit: a console account to see what goes out, and no time in the file
    with (folder / "siar.toml").open("a", encoding="utf-8") as config:
        config.write('\n[[accounts]]\nname = "konsol"\nnetwork = "console"\n')
    release = folder / "rilis-contoh.md"
    release.write_text(release.read_text(encoding="utf-8").replace("at: besok 09.00 WIB\n", ""),
                       encoding="utf-8")

    refused = siar("add", "rilis-contoh.md")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "galat" in refused.stderr and "rilis-contoh.md" in refused.stderr
    assert "tidak ada jadwal" in refused.stderr and "perbaikan" in refused.stderr

    # every way of writing a time, in the files' 'at:' (one call queues them all) …
    written = _written_times()
    names = []
    for number, (typed, _meant) in enumerate(written):
        names.append(f"waktu-{number}.md")
        (folder / names[-1]).write_text(f'---\ntitle: "Uji waktu: {typed}"\nat: {typed}\n---\n'
                                        "Isi rilis.\n", encoding="utf-8")
    before = [meant() for _typed, meant in written]
    queued = siar("add", *names, "--channels", "konsol", "--json")
    after = [meant() for _typed, meant in written]
    assert queued.returncode == 0, queued.stderr
    releases = json.loads(queued.stdout)["releases"]
    for (typed, _meant), early, late, queued_release in zip(written, before, after, releases,
                                                            strict=True):
        due = datetime.fromisoformat(queued_release["due_at"])
        assert early - timedelta(seconds=1) <= due <= late + timedelta(seconds=1), typed
    # … and in --at
    for typed, meant in (written[0], written[3], written[8]):
        early = meant()
        given = siar("add", "rilis-contoh.md", "--at", typed, "--channels", "konsol", "--json")
        assert given.returncode == 0, (typed, given.stderr)
        due = datetime.fromisoformat(json.loads(given.stdout)["due_at"])
        assert early - timedelta(seconds=1) <= due <= meant() + timedelta(seconds=1), typed

    table = siar("queue")
    assert table.returncode == 0 and "terjadwal" in table.stdout
    assert "scheduled" in siar("queue", lang="en").stdout

    now_release = siar("add", "rilis-contoh.md", "--now", "--channels", "konsol")
    assert now_release.returncode == 0 and "masuk antrean" in now_release.stdout
    assert siar("daemon", "--once").returncode == 0  # the one due now goes out

    month = f"{datetime.now(JAKARTA):%Y-%m}"
    for lang, sheet, header, total in (
            (None, "Publikasi", ("No", "Tanggal", "Jam", "Judul rilis", "Platform", "Akun",
                                 "Tautan"), "Total"),
            ("en", "Publications", ("No", "Date", "Time", "Release title", "Platform",
                                    "Account", "Link"), "Total")):
        target = folder / f"rekap-{lang or 'id'}.xlsx"
        recap = siar("report", "--month", month, "--format", "xlsx", "--output", str(target),
                     lang=lang)
        assert recap.returncode == 0, recap.stderr
        book = load_workbook(target)
        rows = list(book[sheet].iter_rows(values_only=True))
        assert rows[0] == header
        assert [row[3:6] for row in rows[1:]] == [(
            "Lapas Pangkalpinang Ikuti Rakor Nasional Agen Informasi dan Publikasi "
            "Pemasyarakatan", "Console", "konsol")]
        assert str(rows[1][6]).startswith("console://")
        summary = book[book.sheetnames[1]]
        assert (total, 1) in [row[:2] for row in summary.iter_rows(values_only=True)]

    assert "Antrekan rilis" in siar("add", "--help").stdout
    assert "Queue releases" in siar("add", "--help", lang="en").stdout
    english = siar("add", "rilis-contoh.md", "--channels", "konsol", lang="en")
    assert english.returncode == 1 and "no time given" in english.stderr
