"""Warnings when a day's queue for an account would exceed its network's daily capacity.

Some networks let an account publish only so many posts a day of their own calendar (the
YouTube API's upload quota resets at midnight Pacific Time). A channel says so through
:meth:`channels.base.Channel.daily_capacity`, from the account's options; here the posts
of that account already queued (or published) for each such day are counted from the
database, and ``siar preview`` and ``siar add`` warn when the new ones would go over.
Nothing is refused: the network answers the excess with a quota error, and those posts
wait for the network's next day only where the daemon's grace period (``grace_minutes``)
reaches it — otherwise they are missed, for staff to reschedule; the warning says which,
so that staff hear about it when they queue them, not when they fail.

Nothing here names a network: any channel that declares a capacity is counted the same.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from scheduler.i18n import _
from scheduler.states import Status, values
from scheduler.timeparse import from_db, to_db

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from channels.rules import DailyCapacity
    from channels.variant import Variant
    from scheduler.settings import AccountSettings

__all__ = ["COUNTED", "capacities", "over_capacity", "with_warnings"]

#: posts that used, or will use, a day's quota (failed ones may have used it too, but
#: a failure is rare and staff re-sending it see it anew)
COUNTED = (Status.SCHEDULED, Status.RETRY, Status.CLAIMED, Status.PUBLISHING,
           Status.UNKNOWN, Status.PAUSED, Status.WAITING, Status.PUBLISHED)


def capacities(accounts: Sequence[AccountSettings]) -> dict[str, DailyCapacity]:
    """Account name → its daily capacity, for the accounts whose channel declares one
    (built without secrets, as the queue-time checks are; a bad option is the preflight's
    to report, so it is left out here)."""
    from channels import registry

    found: dict[str, DailyCapacity] = {}
    for account in {account.name: account for account in accounts}.values():
        if not registry.is_installed(account.network):  # composed with the defaults: no cap
            continue
        adapter = registry.load(account.network)(account.channel_config(), {})
        try:
            capacity = adapter.daily_capacity()
        except ValueError:
            continue
        if capacity is not None:
            found[account.name] = capacity
    return found


def default_grace() -> timedelta:
    """``[daemon] grace_minutes`` when the caller has no settings at hand (its default)."""
    from scheduler.settings import DaemonSettings

    return timedelta(minutes=DaemonSettings().grace_minutes)


def what_happens(capacity: DailyCapacity, grace: timedelta) -> str:
    """What becomes of the posts past a day's capacity: the network refuses them until
    midnight of its zone, and the daemon waits that long only within the grace period."""
    if grace >= timedelta(days=1):  # midnight is always less than a day after a post
        return _("the rest wait until midnight ({timezone}) and go out then").format(
            timezone=capacity.timezone)
    return _("the rest are missed (not sent) unless midnight ({timezone}) comes within the "
             "grace period of {minutes:g} min after their time ([daemon] grace_minutes)").format(
                 timezone=capacity.timezone, minutes=grace.total_seconds() / 60)


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    return to_db(start), to_db(datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))


def over_capacity(engine: Engine, planned: Sequence[tuple[AccountSettings, datetime]], *,
                  stored: bool = False, grace: timedelta | None = None) -> dict[str, list[str]]:
    """Account name → a warning for each day of its network's calendar on which the posts
    queued for it, with ``planned`` (account, due time) pairs, exceed its capacity.
    ``stored``: the planned posts are already in the database (a queued release);
    ``grace``: the daemon's grace period (default: its default), which decides whether
    the excess waits for the next day or is missed."""
    limits = capacities([account for account, _due in planned])
    if not limits:
        return {}
    days: dict[str, Counter[date]] = defaultdict(Counter)
    for account, due in planned:
        if (capacity := limits.get(account.name)) is not None:
            days[account.name][due.astimezone(ZoneInfo(capacity.timezone)).date()] += 1
    warnings: dict[str, list[str]] = {}
    for name, new in days.items():
        capacity = limits[name]
        zone = ZoneInfo(capacity.timezone)
        queued = _queued(engine, name, zone, min(new), max(new))
        for day in sorted(new):
            total = queued[day] + (0 if stored else new[day])
            if total > capacity.posts:
                warnings.setdefault(name, []).append(_(
                    "{total} posts on {day} ({timezone} day), more than {most}: {why}; "
                    "{fate}, so spread them over more days").format(
                        total=total, day=day.isoformat(), timezone=capacity.timezone,
                        most=capacity.posts, why=capacity.why or _("the network's daily limit"),
                        fate=what_happens(capacity, default_grace() if grace is None else grace)))
    return warnings


def _queued(engine: Engine, account: str, zone: ZoneInfo, first: date,
            last: date) -> Counter[date]:
    """The account's counted posts per day of ``zone`` from ``first`` to ``last``."""
    from sqlalchemy import select

    from scheduler.db import session
    from scheduler.models import Post

    low = _day_bounds(first, zone)[0]
    high = _day_bounds(last, zone)[1]
    query = select(Post.due_at).where(Post.account == account,
                                      Post.status.in_(values(COUNTED)),
                                      Post.due_at >= low, Post.due_at < high)
    with session(engine) as s:
        return Counter(from_db(due).astimezone(zone).date() for due in s.scalars(query))


def with_warnings(variants: list[Variant], accounts: Sequence[AccountSettings],
                  planned: Sequence[tuple[str, datetime]], engine: Callable[[], Engine], *,
                  stored: bool = False, grace: timedelta | None = None) -> list[Variant]:
    """``variants`` with :func:`over_capacity`'s warnings added to their accounts' posts,
    as ``siar preview`` shows them (terminal, JSON, HTML); ``planned`` names each post's
    account among ``accounts``. The database is opened only when an account has a
    capacity."""
    named = {account.name: account for account in accounts}
    pairs = [(named[name], due) for name, due in planned if name in named]
    if not capacities([account for account, _due in pairs]):
        return variants
    warned = over_capacity(engine(), pairs, stored=stored, grace=grace)
    return [replace(v, warnings=[*v.warnings, *warned[v.account]]) if v.account in warned
            else v for v in variants]
