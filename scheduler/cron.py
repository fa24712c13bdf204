"""Posting slots and cron expressions: when, computed in the account's or release's own zone.

Slots are written the way PR staff plan a week: ``"Mon-Fri 08:00,12:00,19:00; Sat 09:00"``
(Indonesian day names work too: ``"Sen-Jum 08:00; Sab 09:00"``). Recurring releases
carry a standard five-field cron expression (``"0 9 * * 1"`` = Mondays 09:00). Both are
computed by APScheduler's ``CronTrigger`` in the local zone, so "08:00 WITA" stays
08:00 WITA whatever the server's zone is.

Pure calculation: no database (parsing a release file checks its cron expression here
without reaching the queue); :mod:`scheduler.recurrences` creates the occurrences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from scheduler.errors import ConfigError
from scheduler.i18n import _
from scheduler.timeparse import to_db, zone

if TYPE_CHECKING:
    from scheduler.settings import AccountSettings

#: standard cron numbering: 0 (and 7) is Sunday
DAY_NUMBERS: dict[str, int] = {
    "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
    "min": 0, "sen": 1, "sel": 2, "rab": 3, "kam": 4, "jum": 5, "sab": 6,
}
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")  # 08:00, or 08.00 as Indonesians write


@dataclass(frozen=True)
class Slot:
    """Days of the week (cron numbering, 0 = Sunday) and one local time of day."""

    days: frozenset[int]
    hour: int
    minute: int


# --- posting slots -----------------------------------------------------------------------------


def parse_slots(text: str) -> list[Slot]:
    """``"Mon-Fri 08:00,12:00; Sat 09:00"`` → one :class:`Slot` per day group and time."""
    slots: list[Slot] = []
    for group in filter(None, (g.strip() for g in text.split(";"))):
        days_text, _space, times_text = group.partition(" ")
        if not times_text.strip():
            raise _slot_error(text, _("{group} has no time").format(group=repr(group)))
        days = frozenset(_days(days_text, text))
        for raw in filter(None, (t.strip() for t in times_text.split(","))):
            match = _TIME.match(raw)
            if not match:
                raise _slot_error(text, _("{value} is not a time like 08.00").format(
                    value=repr(raw)))
            slots.append(Slot(days, int(match.group(1)), int(match.group(2))))
    if not slots:
        raise _slot_error(text, _("no slot given"))
    return slots


def _days(spec: str, whole: str) -> set[int]:
    days: set[int] = set()
    for item in spec.lower().split(","):
        first, _dash, last = item.partition("-")
        try:
            start = DAY_NUMBERS[first[:3]]
            end = DAY_NUMBERS[last[:3]] if last else start
        except KeyError:
            raise _slot_error(whole, _("{value} is not a day or day range").format(
                value=repr(item))) from None
        day = start
        days.add(day)
        while day != end:  # a range may wrap past Sunday: "Sat-Mon"
            day = (day + 1) % 7
            days.add(day)
    return days


def _slot_error(text: str, why: str) -> ConfigError:
    return ConfigError(_("posting slots {text}: {why}").format(text=repr(text), why=why),
                       hint=_('write e.g. "Mon-Fri 08:00,12:00,19:00; Sat 09:00" (times in '
                              "the account's zone)"))


@lru_cache(maxsize=256)
def _slot_triggers(text: str, zone_name: str) -> tuple[CronTrigger, ...]:
    return tuple(
        CronTrigger(day_of_week=",".join(_DAY_NAMES[d] for d in sorted(slot.days)),
                    hour=slot.hour, minute=slot.minute, timezone=zone(zone_name))
        for slot in parse_slots(text))


def next_slot_for(account: AccountSettings, after: datetime) -> datetime:
    """The account's first posting slot at or after ``after``, as aware UTC.

    An account without slots may post at any time: the answer is ``after`` itself.
    """
    after = to_db(after)
    if not account.slots:
        return after
    times = [t.get_next_fire_time(None, after.astimezone(zone(account.timezone)))
             for t in _slot_triggers(account.slots, account.timezone)]
    return to_db(min(t for t in times if t is not None))


# --- recurring releases ------------------------------------------------------------------------


def cron_trigger(expression: str, zone_name: str) -> CronTrigger:
    """A trigger for a standard five-field cron expression in ``zone_name``.

    APScheduler 3.x numbers weekdays from Monday = 0, unlike cron (Sunday = 0, its own
    documented pitfall); the weekday field is rewritten as names so "1" means Monday.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ConfigError(_("repeat {rule}: a repeat rule has 5 parts, not {count}").format(
            rule=repr(expression), count=len(fields)),
            hint=_('minute hour day month weekday, e.g. "0 9 * * 1" (Mondays 09.00)'))
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=cron_weekdays(weekday), timezone=zone(zone_name))
    except ValueError as exc:
        raise ConfigError(_("repeat {rule}: {reason}").format(rule=repr(expression), reason=exc),
                          hint=_('e.g. "0 9 * * 1-5" = weekdays 09.00')) from exc


def cron_weekdays(field: str) -> str:
    """A cron weekday field (0/7 = Sunday, names, ranges, steps) as APScheduler day names."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for item in field.lower().split(","):
        spec, _slash, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            first, last = 0, 6
        else:
            start, _dash, end = spec.partition("-")
            first = _weekday_number(start)
            last = _weekday_number(end) if end else (6 if step_text else first)
            if last < first:  # "5-7" (7 is Sunday again) or a wrap such as "fri-sun"
                last += 7
        if step < 1:
            raise ConfigError(_("weekday step {step} must be 1 or more").format(
                step=repr(step_text)))
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _weekday_number(token: str) -> int:
    token = token.strip()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token[:3] in DAY_NUMBERS:
        return DAY_NUMBERS[token[:3]]
    raise ConfigError(_("{value} is not a weekday (0-7 or a name)").format(value=repr(token)))


def occurrences(expression: str, zone_name: str, after: datetime,
                until: datetime) -> Iterable[datetime]:
    """Fire times of a cron expression strictly after ``after`` up to ``until`` (UTC)."""
    trigger = cron_trigger(expression, zone_name)
    local = zone(zone_name)
    current = to_db(after) + timedelta(seconds=1)
    while True:
        fire = trigger.get_next_fire_time(None, current.astimezone(local))
        if fire is None or to_db(fire) > to_db(until):
            return
        yield to_db(fire)
        current = to_db(fire) + timedelta(seconds=1)
