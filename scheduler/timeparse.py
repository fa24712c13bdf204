"""Times as PR staff write them, and as the database keeps them.

Officers write times the Indonesian way: "Selasa, 24 September 2024 pukul 10.00 WIB",
"10/12/2026 10.00" (day first, a dot between hours and minutes), "besok 09.00",
"Jumat 07.30", "+30 menit"; ISO 8601 works too. The grammar is closed and strict: a date
without a time of day, a time already past today, a weekday that does not match its date,
or anything else it cannot read exactly is an error that says what is accepted, never a
guess. The database keeps aware UTC (SQLModel's ``UTCDateTime`` refuses naive values,
which catches zone bugs early); every time shown to a person is converted back to the
author's zone with its abbreviation, because Indonesia has three zones and no daylight
saving.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.i18n import _, language

DEFAULT_ZONE = "Asia/Jakarta"

#: Indonesian zone abbreviations → IANA zones (none observes daylight saving).
ZONE_ABBREVIATIONS: dict[str, str] = {
    "WIB": "Asia/Jakarta",
    "WITA": "Asia/Makassar",
    "WIT": "Asia/Jayapura",
    "UTC": "UTC",
    "Z": "UTC",
}
#: UTC offsets of the three Indonesian zones, so "+08:00" is shown back as WITA.
_OFFSET_ZONES = {timedelta(hours=7): "Asia/Jakarta", timedelta(hours=8): "Asia/Makassar",
                 timedelta(hours=9): "Asia/Jayapura", timedelta(0): "UTC"}

MONTHS: dict[str, int] = {}
for _number, _names in enumerate((
        "januari jan january", "februari feb pebruari february", "maret mar march",
        "april apr", "mei may", "juni jun june", "juli jul july",
        "agustus agu agt ags aug august", "september sep sept",
        "oktober okt oct october", "november nov nop", "desember des dec december"), 1):
    MONTHS.update(dict.fromkeys(_names.split(), _number))
WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate((
        "senin monday mon", "selasa tuesday tue", "rabu wednesday wed",
        "kamis thursday thu", "jumat jum'at friday fri", "sabtu saturday sat",
        "minggu ahad sunday sun"), 0):
    WEEKDAYS.update(dict.fromkeys(_names.split(), _number))
_DAY_WORDS = {"hari ini": 0, "today": 0, "besok": 1, "tomorrow": 1, "lusa": 2}
_UNITS = {"m": "minutes", "min": "minutes", "menit": "minutes", "h": "hours", "j": "hours",
          "jam": "hours", "d": "days", "hari": "days", "w": "weeks", "minggu": "weeks",
          "pekan": "weeks"}


class _Pattern:
    """A pattern compiled when first used: the commands that only read import this module
    (the settings check their zones) and parse no written time."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    @functools.cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(*self._source)

    def match(self, text: str) -> re.Match[str] | None:
        return self._compiled.match(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._compiled.fullmatch(text)


_RELATIVE = _Pattern(r"([+-])\s*(\d{1,4})\s*([a-z]+)", re.IGNORECASE)
_WEEKDAY = _Pattern(r"([a-z']+)\s*(?:,\s*|\s+)", re.IGNORECASE)
_DATE = _Pattern(
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))(?=[\sT,]|$)"
    r"|(?P<dd>\d{1,2})[/.-](?P<dm>\d{1,2})[/.-](?P<dy>\d{4})(?=[\s,]|$)"
    r"|(?P<nd>\d{1,2})\s+(?P<nm>[a-z]+)\.?\s+(?P<ny>\d{4})(?=[\s,]|$)"
    r"|(?P<word>hari ini|today|besok|tomorrow|lusa)(?=[\s,]|$)", re.IGNORECASE)
_BEFORE_TIME = _Pattern(r"(?:\s*,)?(?:\s*(?:pukul|pkl\.?|jam|at)\s+|\s+|T)",
                        re.IGNORECASE)
_TIME = _Pattern(r"(?P<h>\d{1,2})[.:](?P<m>\d{2})(?:[.:](?P<s>\d{2}))?(?=\s|$|[+-]|Z)")
_ZONE = _Pattern(r"\s*(?P<zone>[A-Za-z][A-Za-z_/+-]*|[+-]\d{2}:?\d{2})$")
#: what machines write (a content calendar's export): ISO 8601 with fractional seconds and an
#: offset, which the grammar below hands to ``datetime.fromisoformat`` unchanged anyway
_MACHINE_ISO = _Pattern(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,6}(?:Z|[+-]\d\d:\d\d)",
                        re.ASCII)


class TimeParseError(ValueError):
    """The text is not a time Siar understands; the message says what is accepted."""


def accepted_formats() -> str:
    """The written forms a time may take, for error messages (in the interface language)."""
    return _("'2026-12-10 10.00 WIB', '10 Desember 2026 10.00 WITA', 'Kamis, 10 Desember "
             "2026 pukul 10.00 WIB', '10/12/2026 10:00' (day first), 'besok 09.00', 'lusa "
             "09.00', 'Jumat 07.30' (the coming Friday), '+30 menit' / '+2 jam' / '+1 hari', "
             "ISO 8601 '2026-12-10T10:00:00+07:00', or 'now' (WIB, WITA, WIT, an offset or an "
             "IANA zone such as Asia/Makassar; without one, the account's zone)")


def zone(name: str) -> ZoneInfo:
    """The zone for an IANA name or an Indonesian abbreviation."""
    key = ZONE_ABBREVIATIONS.get(name.upper(), name)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeParseError(_("unknown time zone {name}; use WIB, WITA, WIT or an IANA "
                               "name").format(name=repr(name))) from exc


def parse_when(text: str | datetime, default_zone: str = DEFAULT_ZONE,
               now: datetime | None = None) -> tuple[datetime, str]:
    """Parse a time written by staff.

    Returns the instant as an aware UTC datetime and the zone name the author meant,
    so the time can be shown back to them the way they wrote it.
    """
    now = now or datetime.now(UTC)
    if isinstance(text, datetime):
        if text.tzinfo is None:
            return text.replace(tzinfo=zone(default_zone)).astimezone(UTC), default_zone
        return text.astimezone(UTC), default_zone
    raw = " ".join(str(text).split())
    if _MACHINE_ISO.fullmatch(raw):
        try:
            return datetime.fromisoformat(raw).astimezone(UTC), default_zone
        except (ValueError, OverflowError):  # no such day or hour: the grammar says which
            pass
    if not raw:
        raise TimeParseError(_("empty time; accepted: {formats}").format(
            formats=accepted_formats()))
    if raw.lower() in ("now", "sekarang"):
        return now, default_zone
    if match := _RELATIVE.fullmatch(raw):
        sign, unit = (1 if match.group(1) == "+" else -1), _UNITS.get(match.group(3).lower())
        amount = sign * int(match.group(2))  # "-7 hari": a week ago (siar history --since)
        if unit is None:
            raise TimeParseError(_("unknown unit {unit} in {text}; use menit, jam, hari or "
                                   "minggu (m, h, d, w)").format(unit=repr(match.group(3)),
                                                                 text=repr(raw)))
        return now + timedelta(**{unit: amount}), default_zone
    return _parse_written(raw, default_zone, now)


def _parse_written(raw: str, default_zone: str, now: datetime) -> tuple[datetime, str]:
    """``[weekday,] [date | hari ini | besok | lusa] [pukul] HH.MM[:SS] [zone]``."""
    rest, weekday = raw, None
    if (match := _WEEKDAY.match(rest)) and match.group(1).lower() in WEEKDAYS:
        weekday, rest = WEEKDAYS[match.group(1).lower()], rest[match.end():]
    elif rest.lower() in WEEKDAYS or rest.lower().split(" ")[0] in WEEKDAYS:
        weekday, rest = WEEKDAYS[rest.lower().split(" ")[0]], rest.partition(" ")[2]
    day, day_offset = None, None
    if match := _DATE.match(rest):
        day, day_offset = _date_of(match, raw), None
        if match.group("word"):
            day, day_offset = None, _DAY_WORDS[match.group("word").lower()]
        rest = rest[match.end():]
        if match := _BEFORE_TIME.match(rest):
            rest = rest[match.end():]
    elif match := re.match(r"(?:pukul|pkl\.?|jam|at)\s+", rest, re.IGNORECASE):
        rest = rest[match.end():]
    clock = _TIME.match(rest)
    if clock is None:
        if day is not None and (":" in rest or rest.startswith("T")):
            return _iso(raw, default_zone)  # e.g. fractional seconds
        if day is not None or day_offset is not None or weekday is not None:
            raise TimeParseError(_("{text} has no time of day; write the hour too, e.g. "
                                   "'2026-12-10 09.00 WIB' or 'besok 09.00'").format(
                                       text=repr(raw)))
        return _iso(raw, default_zone)
    rest = rest[clock.end():]
    zone_key, tz = _zone_of(rest, raw, default_zone)
    try:
        at_time = time(int(clock["h"]), int(clock["m"]), int(clock["s"] or 0))
    except ValueError as exc:
        raise TimeParseError(_("{text}: no such time of day ({clock}); hours 00–23, minutes "
                               "00–59").format(text=repr(raw), clock=clock.group(0))) from exc
    today = now.astimezone(tz).date()
    if day is None:
        day = _coming_day(today, at_time, tz, now, weekday, day_offset, raw)
    elif weekday is not None and day.weekday() != weekday:
        raise TimeParseError(_("{text}: {date} is a {day}, not a {written}; correct the date "
                               "or the day name").format(
                                   text=repr(raw), date=f"{day:%Y-%m-%d}",
                                   day=_day_name(day.weekday()), written=_day_name(weekday)))
    return datetime.combine(day, at_time, tzinfo=tz).astimezone(UTC), zone_key


def _day_name(weekday: int) -> str:
    return next(name for name, number in WEEKDAYS.items() if number == weekday).capitalize()


def _date_of(match: re.Match[str], raw: str) -> date | None:
    if match.group("word"):
        return None
    if match.group("iso"):
        y, m, d = match.group("iy", "im", "id")
    elif match.group("dd"):
        d, m, y = match.group("dd", "dm", "dy")
    else:
        d, y = match.group("nd", "ny")
        month = MONTHS.get(match.group("nm").lower())
        if month is None:
            raise TimeParseError(_("{text}: unknown month {month}; write it in full, e.g. "
                                   "'Desember' (or 'Des')").format(
                                       text=repr(raw), month=repr(match.group("nm"))))
        m = str(month)
    try:
        return date(int(y), int(m), int(d))
    except ValueError as exc:
        raise TimeParseError(_("{text} is not a date on the calendar: {why}").format(
            text=repr(raw), why=exc)) from exc


def _coming_day(today: date, at_time: time, tz: tzinfo, now: datetime, weekday: int | None,
                day_offset: int | None, raw: str) -> date:
    """The day of a time written without a date: today, besok, lusa or a day name."""
    if day_offset is not None:
        return today + timedelta(days=day_offset)
    if weekday is not None:  # the coming one: today if its time is still ahead
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and datetime.combine(today, at_time, tzinfo=tz) <= now:
            ahead = 7
        return today + timedelta(days=ahead)
    if datetime.combine(today, at_time, tzinfo=tz) <= now:
        raise TimeParseError(_("{text} today is already past; write 'besok {time}' or a "
                               "date").format(text=repr(raw), time=raw))
    return today


def _zone_of(rest: str, raw: str, default_zone: str) -> tuple[str, tzinfo]:
    """The zone written after the time (or the default), as (name shown back, tzinfo)."""
    if not rest.strip():
        return default_zone, zone(default_zone)
    match = _ZONE.fullmatch(rest)
    if match is None:
        raise TimeParseError(_("cannot read {text} as a time; accepted: {formats}").format(
            text=repr(raw), formats=accepted_formats()))
    name = match.group("zone")
    if name[0] in "+-":
        sign = 1 if name[0] == "+" else -1
        digits = name[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if key := _OFFSET_ZONES.get(offset):
            return key, zone(key)
        return default_zone, timezone(offset)
    if name.upper() not in ZONE_ABBREVIATIONS and "/" not in name:
        raise TimeParseError(_("unknown time zone {name} in {text}; use WIB, WITA, WIT or "
                               "an IANA name").format(name=repr(name), text=repr(raw)))
    key = ZONE_ABBREVIATIONS.get(name.upper(), name)
    return key, zone(key)


def _iso(raw: str, default_zone: str) -> tuple[datetime, str]:
    """Anything else must be a full ISO 8601 time (a bare date is not: it has no hour)."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise TimeParseError(_("cannot read {text} as a time; accepted: {formats}").format(
            text=repr(raw), formats=accepted_formats())) from exc
    if "T" not in raw.upper() and " " not in raw:
        raise TimeParseError(_("{text} has no time of day; write the hour too, e.g. "
                               "'2026-12-10 09.00 WIB' or 'besok 09.00'").format(
                                   text=repr(raw)))
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=zone(default_zone)).astimezone(UTC), default_zone
        return parsed.astimezone(UTC), default_zone
    except OverflowError as exc:  # year 1 east of Greenwich, 9999 west of it
        raise TimeParseError(_("cannot read {text} as a time; accepted: {formats}").format(
            text=repr(raw), formats=accepted_formats())) from exc


def to_db(instant: datetime) -> datetime:
    """Aware UTC, the one form the database stores; a naive value is taken as UTC."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def from_db(stored: datetime) -> datetime:
    """An aware UTC datetime from a stored one (naive values are UTC)."""
    return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


def utcnow() -> datetime:
    """Now, as the database stores it (aware UTC)."""
    return datetime.now(UTC)


def show(stored: datetime | None, zone_name: str = DEFAULT_ZONE) -> str:
    """A stored time in the author's zone with its abbreviation: '2026-12-10 10:00 WIB'."""
    if stored is None:
        return "-"
    local = from_db(stored).astimezone(zone(zone_name))
    if language() == "id":  # as officers write it: "Senin, 7 Des 2026 09.00 WIB"
        return (f"{_DAY_NAMES[local.weekday()]}, {local.day} {_MONTH_ABBR[local.month - 1]} "
                f"{local.year} {local:%H.%M} {local.tzname()}")
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


_DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov",
               "Des")


def iso(stored: datetime | None, zone_name: str = DEFAULT_ZONE) -> str | None:
    """A stored time as ISO 8601 with the author's offset, for --json output."""
    if stored is None:
        return None
    return from_db(stored).astimezone(zone(zone_name)).isoformat()
