"""Times as officers write them: every accepted form, read exactly; everything else refused
with what is accepted, never guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.timeparse import TimeParseError, parse_when

# Monday 7 December 2026, 09:00 WIB
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("written", "instant", "zone"), [
    ("2026-12-10 10:00 WIB", "2026-12-10 03:00", "Asia/Jakarta"),
    ("2026-12-10 10.00 WIB", "2026-12-10 03:00", "Asia/Jakarta"),
    ("10 Desember 2026 10:00 WIB", "2026-12-10 03:00", "Asia/Jakarta"),
    ("10 Des 2026 pukul 09.00 WIT", "2026-12-10 00:00", "Asia/Jayapura"),
    ("Kamis, 10 Desember 2026 pukul 10.00 WITA", "2026-12-10 02:00", "Asia/Makassar"),
    ("Selasa, 24 September 2024 pukul 10.00 WIB", "2024-09-24 03:00", "Asia/Jakarta"),
    ("10/12/2026 10:00", "2026-12-10 03:00", "Asia/Jakarta"),  # day first
    ("10-12-2026 10.00", "2026-12-10 03:00", "Asia/Jakarta"),
    ("hari ini 15.00", "2026-12-07 08:00", "Asia/Jakarta"),
    ("besok 10.00", "2026-12-08 03:00", "Asia/Jakarta"),
    ("lusa 09.00", "2026-12-09 02:00", "Asia/Jakarta"),
    ("Jumat 07.30", "2026-12-11 00:30", "Asia/Jakarta"),  # the coming Friday
    ("Senin 10.00", "2026-12-07 03:00", "Asia/Jakarta"),  # today, still ahead
    ("Senin 08.00", "2026-12-14 01:00", "Asia/Jakarta"),  # today's is past: next week's
    ("10.00", "2026-12-07 03:00", "Asia/Jakarta"),  # later today
    ("+30 menit", "2026-12-07 02:30", "Asia/Jakarta"),
    ("+2 jam", "2026-12-07 04:00", "Asia/Jakarta"),
    ("+1 hari", "2026-12-08 02:00", "Asia/Jakarta"),
    ("+2h", "2026-12-07 04:00", "Asia/Jakarta"),
    ("now", "2026-12-07 02:00", "Asia/Jakarta"),
    ("2026-12-10T10:00:00+07:00", "2026-12-10 03:00", "Asia/Jakarta"),
    ("2026-12-10T10:00:00.000+08:00", "2026-12-10 02:00", "Asia/Jakarta"),
    ("2026-12-10 10:00 +09:00", "2026-12-10 01:00", "Asia/Jayapura"),  # shown as WIT
    ("2026-12-10T10:00Z", "2026-12-10 10:00", "UTC"),
    ("2026-12-10 10:00 Asia/Makassar", "2026-12-10 02:00", "Asia/Makassar"),
    ("2026-12-10 10:00:30", "2026-12-10 03:00:30", "Asia/Jakarta"),
])
def test_a_time_written_the_officers_way_is_read_exactly(written, instant, zone):
    assert parse_when(written, "Asia/Jakarta", NOW) == (utc(instant), zone)


@pytest.mark.parametrize(("written", "says"), [
    ("2026-12-10", "no time of day"),  # a date alone is not midnight
    ("Jumat", "no time of day"),
    ("besok", "no time of day"),
    ("08.00", "already past"),  # today's 08.00 has gone: besok?
    ("Senin, 24 September 2024 pukul 10.00 WIB", "is a Selasa, not a Senin"),
    ("31/02/2026 10:00", "not a date on the calendar"),
    ("2026-12-10 25.00", "no such time of day"),
    ("10 Foo 2026 10:00", "unknown month"),
    ("2026-12-10 10:00 XYZ", "unknown time zone"),
    ("+2 tahun", "unknown unit"),
    ("kapan-kapan", "accepted:"),
])
def test_what_cannot_be_read_exactly_is_refused_with_the_reason(written, says):
    with pytest.raises(TimeParseError, match=says):
        parse_when(written, "Asia/Jakarta", NOW)


ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}
BULAN = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
         "September", "Oktober", "November", "Desember"]
HARI = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]


@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
       abbreviation=st.sampled_from(sorted(ZONES)), form=st.integers(0, 4),
       separator=st.sampled_from([".", ":"]))
def test_every_written_form_of_a_local_time_gives_the_same_instant(moment, abbreviation,
                                                                   form, separator):
    local = moment.replace(second=0, microsecond=0)
    clock = f"{local:%H}{separator}{local:%M}"
    written = [
        f"{local:%Y-%m-%d} {clock} {abbreviation}",
        f"{local.day} {BULAN[local.month - 1]} {local.year} {clock} {abbreviation}",
        f"{HARI[local.weekday()]}, {local.day} {BULAN[local.month - 1]} {local.year} "
        f"pukul {clock} {abbreviation}",
        f"{local:%d/%m/%Y} {clock} {abbreviation}",
        f"{local:%Y-%m-%d}T{local:%H:%M}:00+{ZONES[abbreviation]:02d}:00",
    ][form]
    instant, _ = parse_when(written, "Asia/Jakarta", NOW)
    assert instant == (local - timedelta(hours=ZONES[abbreviation])).replace(tzinfo=UTC)


@given(st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
       st.integers(0, 60), st.integers(0, 60), st.text("0123456789", min_size=1, max_size=6),
       st.sampled_from(["Z", "+07:00", "+08:00", "-05:30", "+00:00", "+24:00", "+07:99"]))
def test_machine_written_iso_times_read_as_the_grammar_reads_them(
        year: int, month: int, day: int, hour: int, minute: int, second: int, fraction: str,
        offset: str) -> None:
    from scheduler.timeparse import _parse_written

    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    raw = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{fraction}" \
          f"{offset}"

    def read(reader) -> object:  # the result, or the message of the error
        try:
            return reader()
        except TimeParseError as exc:
            return str(exc)

    assert read(lambda: parse_when(raw, "Asia/Makassar", now=now)) == \
        read(lambda: _parse_written(raw, "Asia/Makassar", now))
