"""The publication recap a Humas unit sends its regional office: what went out in a period,
where, with its link; counts per platform and per release; what failed or was missed.

A read path straight from the database: a post counts as published when its status is
``published`` (whoever settled it: the daemon, a probe, staff), at the time its last attempt
finished, and not when a dry run only rehearsed it (``dry-run://`` links). Failures are the
posts due in the period (and already past) that did not go out: failed, missed, in doubt,
paused, or still waiting (an account paused for its credentials holds its later posts).
The period is taken in the unit's zone: "November" in WITA starts at 00:00 WITA on 1
November.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from scheduler import states
from scheduler.errors import SiarError
from scheduler.i18n import N_, _
from scheduler.reads import Reader, reading
from scheduler.states import Status
from scheduler.timeparse import to_db, utcnow, zone

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: column names of the recap, in Indonesian: the office it goes to reads Indonesian
#: column names (English message ids; shown with :func:`columns`, Indonesian by default)
COLUMNS = (N_("No"), N_("Date"), N_("Time"), N_("Release title"), N_("Platform"),
           N_("Account"), N_("Link"))
FAILURE_COLUMNS = (N_("Due"), N_("Release title"), N_("Platform"), N_("Account"),
                   N_("Status"), N_("Note"))


def columns(names: tuple[str, ...]) -> tuple[str, ...]:
    """Column names in the interface language."""
    return tuple(_(name) for name in names)


@dataclass(frozen=True)
class Period:
    """[start, end) in the unit's zone, and how to name it."""

    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True)
class Publication:
    published_at: datetime
    release_id: int
    title: str
    network: str
    account: str
    url: str | None


@dataclass(frozen=True)
class Failure:
    due_at: datetime
    release_id: int
    title: str
    network: str
    account: str
    status: str
    error: str | None


@dataclass
class Recap:
    period: Period
    zone: str
    publications: list[Publication] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def per_platform(self) -> Counter[str]:
        return Counter(p.network for p in self.publications)

    def per_release(self) -> Counter[tuple[int, str]]:
        return Counter((p.release_id, p.title) for p in self.publications)


def period(*, month: str | None = None, week: str | None = None, since: str | None = None,
           until: str | None = None, zone_name: str) -> Period:
    """The period from ``--month 2026-11``, ``--week 2026-W48`` or ``--from/--to`` dates
    (both days included)."""
    tz = zone(zone_name)
    if sum(x is not None for x in (month, week, since or until)) != 1:
        raise SiarError(_("give one period: --month, --week, or --from/--to"),
                        hint=_("e.g. siar report --month 2026-11"))
    if month is not None:
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise SiarError(_("--month {value} is not a month").format(value=repr(month)),
                            hint=_("write it as 2026-11"))
        first = date(int(match.group(1)), int(match.group(2)), 1)
        after = (first + timedelta(days=32)).replace(day=1)
        label = f"{first:%Y-%m}"
    elif week is not None:
        match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", week.strip(), re.IGNORECASE)
        try:
            first = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1) \
                if match else None
        except ValueError:
            first = None
        if first is None:
            raise SiarError(_("--week {value} is not a week number").format(value=repr(week)),
                            hint=_("write it as 2026-W48"))
        after, label = first + timedelta(days=7), f"{week.strip().upper()}"
    else:
        first, after = _day(since, "--from"), _day(until, "--to") + timedelta(days=1)
        if after <= first:
            raise SiarError(_("--to is before --from"),
                            hint=_("give the first day, then the last"))
        label = f"{first:%Y-%m-%d} – {after - timedelta(days=1):%Y-%m-%d}"
    return Period(datetime.combine(first, datetime.min.time(), tzinfo=tz),
                  datetime.combine(after, datetime.min.time(), tzinfo=tz), label)


def _day(text: str | None, option: str) -> date:
    if text is None:
        raise SiarError(_("{option} is missing").format(option=option),
                        hint=_("give both --from and --to, e.g. --from 2026-11-01 --to "
                               "2026-11-15"))
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise SiarError(_("{option} {value} is not a date").format(
            option=option, value=repr(text)), hint=_("write it as 2026-11-01")) from exc


def recap(db: Reader | Engine, when: Period, zone_name: str) -> Recap:
    """What was published in ``when`` and what failed, oldest first."""
    start, end = to_db(when.start), to_db(when.end)
    result = Recap(when, zone_name)
    with reading(db) as r, r.snapshot():
        published = r.rows("recap_published", published=Status.PUBLISHED.value,
                           start=start, end=end)
        failed = r.rows("recap_failed", done=states.values(states.DONE), start=start,
                        end=min(end, utcnow()))
    for row in published:
        if (row["remote_url"] or "").startswith("dry-run://"):
            continue  # a rehearsal, not a publication
        result.publications.append(Publication(
            row["published_at"], row["release_id"], row["title"], row["network"],
            row["account"], row["remote_url"]))
    for row in failed:
        result.failures.append(Failure(
            row["due_at"], row["release_id"], row["title"], row["network"], row["account"],
            row["status"], row["last_error"]))
    return result
