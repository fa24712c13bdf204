"""Times as PR staff write them, and as the database keeps them.

Staff write local times ("2024-09-24 10:00 WIB", "besok 09:00" is *not* supported on
purpose: an ambiguous time is worse than an error). The database keeps aware UTC
(SQLModel's ``UTCDateTime`` refuses naive values, which catches zone bugs early);
every time shown to a person is converted back to the author's zone with its
abbreviation, because Indonesia has three zones and no daylight saving.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Jakarta"

#: Indonesian zone abbreviations → IANA zones (none observes daylight saving).
ZONE_ABBREVIATIONS: dict[str, str] = {
    "WIB": "Asia/Jakarta",
    "WITA": "Asia/Makassar",
    "WIT": "Asia/Jayapura",
    "UTC": "UTC",
    "Z": "UTC",
}

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*(m|min|h|d)$", re.IGNORECASE)
_LOCAL = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2})?)(?:\s*([A-Za-z][A-Za-z_/+-]*))?$"
)


class TimeParseError(ValueError):
    """The text is not a time Siar understands; the message says what is accepted."""


ACCEPTED_FORMATS = (
    "'2024-09-24 10:00 WIB' (WIB, WITA, WIT or an IANA zone such as Asia/Makassar), "
    "ISO 8601 with offset '2024-09-24T10:00:00+07:00', 'now', or '+30m' / '+2h' / '+1d'"
)


def zone(name: str) -> ZoneInfo:
    """The zone for an IANA name or an Indonesian abbreviation."""
    key = ZONE_ABBREVIATIONS.get(name.upper(), name)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeParseError(
            f"unknown time zone {name!r}; use WIB, WITA, WIT or an IANA name"
        ) from exc


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
    raw = str(text).strip()
    if not raw:
        raise TimeParseError(f"empty time; accepted: {ACCEPTED_FORMATS}")
    if raw.lower() == "now":
        return now, default_zone
    if match := _RELATIVE.match(raw):
        amount, unit = int(match.group(1)), match.group(2).lower()
        delta = {"m": timedelta(minutes=amount), "min": timedelta(minutes=amount),
                 "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]
        return now + delta, default_zone
    if match := _LOCAL.match(raw):
        day, clock, zone_name = match.groups()
        if zone_name and zone_name.upper() not in ZONE_ABBREVIATIONS and "/" not in zone_name:
            raise TimeParseError(
                f"unknown time zone {zone_name!r} in {raw!r}; use WIB, WITA, WIT or an IANA name"
            )
        zone_key = ZONE_ABBREVIATIONS.get((zone_name or "").upper(), zone_name or default_zone)
        tz = zone(zone_key)
        seconds = "" if clock.count(":") == 2 else ":00"
        try:
            local = datetime.fromisoformat(f"{day}T{clock}{seconds}")
        except ValueError as exc:
            raise TimeParseError(f"{raw!r} is not a valid date and time: {exc}") from exc
        return local.replace(tzinfo=tz).astimezone(UTC), zone_key
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise TimeParseError(
            f"cannot read {raw!r} as a time; accepted: {ACCEPTED_FORMATS}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone(default_zone)).astimezone(UTC), default_zone
    return parsed.astimezone(UTC), default_zone


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
    """A stored time in the author's zone with its abbreviation: '2024-09-24 10:00 WIB'."""
    if stored is None:
        return "-"
    local = from_db(stored).astimezone(zone(zone_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def iso(stored: datetime | None, zone_name: str = DEFAULT_ZONE) -> str | None:
    """A stored time as ISO 8601 with the author's offset, for --json output."""
    if stored is None:
        return None
    return from_db(stored).astimezone(zone(zone_name)).isoformat()
