"""Posting slots and recurring releases: local times in the account's zone, each occurrence once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.cron import cron_trigger, cron_weekdays, next_slot_for, occurrences, parse_slots
from scheduler.db import session
from scheduler.errors import ConfigError
from scheduler.models import Post, Release, Status
from scheduler.recurrences import materialise_recurrences
from scheduler.settings import AccountSettings
from tests.daemon.conftest import release, variant

WEEKDAY_SLOTS = "Mon-Fri 08:00,12:00,19:00; Sat 09:00"


def account(slots: str | None = WEEKDAY_SLOTS, zone: str = "Asia/Makassar") -> AccountSettings:
    return AccountSettings(name="x-lapas", network="x", timezone=zone, slots=slots)


def test_next_slot_is_the_next_local_slot_time_in_the_accounts_zone() -> None:
    friday_evening_wita = datetime(2026, 11, 27, 19, 30, tzinfo=ZoneInfo("Asia/Makassar"))
    slot = next_slot_for(account(), friday_evening_wita)
    assert slot.tzinfo is not None and slot.utcoffset() == timedelta(0)
    assert slot.astimezone(ZoneInfo("Asia/Makassar")) == datetime(
        2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Makassar"))  # Saturday 09:00 WITA


def test_a_time_exactly_on_a_slot_is_that_slot() -> None:
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo("Asia/Makassar"))
    assert next_slot_for(account(), monday_noon) == monday_noon.astimezone(UTC)


def test_an_account_without_slots_may_post_at_once() -> None:
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert next_slot_for(account(slots=None), now) == now


def test_indonesian_day_names_and_ranges_across_the_weekend_are_understood() -> None:
    assert parse_slots("Sen-Jum 08:00")[0].days == frozenset({1, 2, 3, 4, 5})
    assert parse_slots("Sat-Mon 10:30")[0].days == frozenset({6, 0, 1})


def test_slot_times_may_be_written_with_the_indonesian_dot() -> None:
    slots = parse_slots("Senin-Jumat 08.00,12.30; Sabtu 09.00")
    assert [(sorted(s.days), s.hour, s.minute) for s in slots] == [
        ([1, 2, 3, 4, 5], 8, 0), ([1, 2, 3, 4, 5], 12, 30), ([6], 9, 0)]


@pytest.mark.parametrize("text", ["Mon-Fri", "Funday 08:00", "Mon 25:00", "Mon 8", ""])
def test_bad_slot_text_is_a_config_error_with_an_example(text: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_slots(text)
    assert "Mon-Fri 08:00" in (error.value.hint or "")


slot_texts = st.sampled_from([WEEKDAY_SLOTS, "Sat 09:00", "Mon,Wed 07:15,21:45",
                              "Sun-Sat 00:00", "Jum 13:30; Min 06:00"])
zones = st.sampled_from(["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Europe/Berlin"])
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(slots=slot_texts, zone=zones, after=instants)
def test_next_slot_is_a_slot_and_no_slot_lies_between(slots: str, zone: str,
                                                      after: datetime) -> None:
    found = next_slot_for(account(slots, zone), after)
    assert found >= after
    local = found.astimezone(ZoneInfo(zone))
    parsed = parse_slots(slots)
    assert any(local.isoweekday() % 7 in s.days and (local.hour, local.minute)
               == (s.hour, s.minute) for s in parsed)
    # every slot instant in [after, found) would contradict "next"
    day = after.astimezone(ZoneInfo(zone)).date()
    while day <= local.date():
        for s in parsed:
            candidate = datetime(day.year, day.month, day.day, s.hour, s.minute,
                                 tzinfo=ZoneInfo(zone))
            if day.isoweekday() % 7 in s.days:
                assert not (after <= candidate < found)
        day += timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(days=st.sets(st.integers(0, 7), min_size=1, max_size=7),
       start=instants)
def test_cron_weekday_numbers_follow_cron_not_apscheduler(days: set[int],
                                                          start: datetime) -> None:
    """Cron's 0 and 7 are Sunday; APScheduler 3.x would read 0 as Monday."""
    expression = f"0 9 * * {','.join(map(str, sorted(days)))}"
    wanted = {d % 7 for d in days}
    fires = list(occurrences(expression, "Asia/Jakarta", start, start + timedelta(days=15)))
    assert fires
    assert {f.astimezone(ZoneInfo("Asia/Jakarta")).isoweekday() % 7 for f in fires} == wanted


def test_cron_weekday_ranges_steps_and_names() -> None:
    assert cron_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert cron_weekdays("5-7") == "sun,fri,sat"
    assert cron_weekdays("*/2") == "sun,tue,thu,sat"
    assert cron_weekdays("sat,sun") == "sun,sat"
    with pytest.raises(ConfigError):
        cron_trigger("0 9 * *", "Asia/Jakarta")


def _template(engine: Engine, repeat: str, first: datetime, accounts: list[str]) -> int:
    doc = release("Apel pagi")
    doc.repeat = repeat
    rel, _ = queue.enqueue(engine, doc, [variant(a) for a in accounts], first)
    return rel.id  # type: ignore[return-value]


def test_a_recurring_release_materialises_each_occurrence_for_every_account(
        engine: Engine) -> None:
    now = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 07:00 WIB
    template = _template(engine, "0 8 * * 1-5", now - timedelta(days=3), ["akun-a", "akun-b"])
    created = materialise_recurrences(engine, horizon=timedelta(days=2), now=now)
    assert len(created) == 2  # Monday and Tuesday 08:00 WIB
    again = materialise_recurrences(engine, horizon=timedelta(days=2), now=now)
    assert again == []
    with session(engine) as s:
        children = list(s.scalars(select(Release).where(Release.parent_id == template)
                                  .order_by(Release.due_at)))
        posts = list(s.scalars(select(Post).where(Post.release_id.in_([c.id for c in children]))))
    assert [c.due_at.astimezone(ZoneInfo("Asia/Jakarta")).hour for c in children] == [8, 8]
    assert len(posts) == 4 and {p.status for p in posts} == {Status.SCHEDULED.value}
    assert len({p.publish_key for p in posts}) == 4


def test_several_daemons_materialising_at_once_create_each_occurrence_once(
        engine: Engine) -> None:
    now = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    template = _template(engine, "*/30 * * * *", now - timedelta(minutes=1), ["akun-a"])
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        materialise_recurrences(engine, horizon=timedelta(hours=3), now=now)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session(engine) as s:
        due = list(s.scalars(select(Release.due_at).where(Release.parent_id == template)))
    assert len(due) == len(set(due)) == 7  # 00:00 … 03:00, both ends included


def test_a_cancelled_series_stops_recurring(sqlite_engine: Engine) -> None:
    now = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    template = _template(sqlite_engine, "0 * * * *", now, ["akun-a"])
    with session(sqlite_engine) as s:
        ids = list(s.scalars(select(Post.id).where(Post.release_id == template)))
    queue.cancel(sqlite_engine, ids)
    assert materialise_recurrences(sqlite_engine, horizon=timedelta(hours=5), now=now) == []
