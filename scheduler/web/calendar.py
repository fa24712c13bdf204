"""The calendar's month and week: which posts fall on which day, in the unit's zone, with
the day and month names of the interface language."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from scheduler.i18n import language
from scheduler.reads import Reader, reading
from scheduler.states import label
from scheduler.timeparse import zone

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DAYS = {"id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
MONTHS = {"id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
                 "September", "Oktober", "November", "Desember"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December")}


def day_names() -> tuple[str, ...]:
    """Monday first, in the interface language."""
    return DAYS.get(language(), DAYS["id"])


def month_name(month: int) -> str:
    """The month's name in the interface language."""
    return MONTHS.get(language(), MONTHS["id"])[month - 1]


#: a release's colour on the calendar: the state of its posts that most needs someone,
#: first in this order
_ATTENTION = ("declined", "failed", "missed", "paused", "unknown", "awaiting_approval",
              "retry", "waiting", "publishing", "claimed", "scheduled", "published",
              "cancelled")


@dataclass
class Entry:
    """One release on one day of the calendar, with each account's post and its state."""

    release_id: int
    title: str
    local: datetime
    posts: list[tuple[str, str]] = field(default_factory=list)
    #: the state that colours it (:meth:`settle`)
    status: str = ""
    #: each account and the state of its post, as people read them
    hint: str = ""

    def settle(self, labels: dict[str, str]) -> None:
        """Fix the colour and the hint once every post is in (computed here, not in the
        template: a month of 10,000 posts spent most of its time in template calls)."""
        states = {state for _account, state in self.posts}
        self.status = next((s for s in _ATTENTION if s in states), self.posts[0][1])
        self.hint = ", ".join(f"{account}: {labels.get(state) or label(state)}"
                              for account, state in self.posts)


@dataclass
class Day:
    """One day of the grid and its posts, by time."""

    day: date
    in_period: bool
    entries: list[Entry] = field(default_factory=list)


def period(view: str, anchor: date) -> tuple[date, date]:
    """The days shown: the weeks (Monday to Sunday) covering ``anchor``'s month, or the
    week of ``anchor``; end exclusive."""
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7)
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = following + timedelta(days=(7 - following.weekday()) % 7)
    return start, end


def grid(db: Reader | Engine, zone_name: str, view: str, anchor: date) -> list[list[Day]]:
    """The weeks of the view, each seven days, with their posts in ``zone_name``."""
    tz = zone(zone_name)
    start, end = period(view, anchor)
    since = datetime.combine(start, time(), tzinfo=tz)
    until = datetime.combine(end, time(), tzinfo=tz)
    by_day: defaultdict[date, dict[int, Entry]] = defaultdict(dict)
    with reading(db) as r:
        found = r.rows("calendar", since=since, until=until)
    for row in found:
        local = row["due_at"].astimezone(tz)
        entry = by_day[local.date()].get(row["release_id"])
        if entry is None:
            entry = by_day[local.date()][row["release_id"]] = Entry(row["release_id"],
                                                                    row["title"], local)
        entry.posts.append((row["account"], row["status"]))
    labels: dict[str, str] = {}
    for entries in by_day.values():
        for entry in entries.values():
            entry.settle(labels)
            labels.update((state, label(state)) for _a, state in entry.posts
                          if state not in labels)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    cells = [Day(d, view == "week" or d.month == anchor.month,
                 list(by_day[d].values()) if d in by_day else []) for d in days]
    return [cells[i:i + 7] for i in range(0, len(cells), 7)]
