"""Late is never silently late: ``missed`` is decided on the post's time plus the grace
period, and a wait the network asks for is followed only within that grace."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine

from channels.base import NotSent
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.daemon.retry import RetryPolicy
from scheduler.daemon.service import Daemon
from scheduler.db import session
from scheduler.models import AccountState, Alert, Post, Status
from scheduler.settings import DaemonSettings, Settings
from scheduler.timeparse import to_db, utcnow
from tests.daemon.conftest import make_settings, queue_post
from tests.daemon.draining import run_until_drained
from tests.fakes.counting import CountingChannel, CountingNetwork

NODE = "node-a"
TEN_YEARS = 10 * 365 * 86400


def stored(engine: Engine, post_id: int) -> Post:
    with session(engine) as s:
        return s.get(Post, post_id)  # type: ignore[return-value]


def fail_once(engine: Engine, post_id: int, *, retry_at: Any, now: Any = None) -> None:
    """One attempt of the post ends "not sent", to be tried again at ``retry_at``."""
    [claim] = queue.claim_due(engine, NODE, now=now)
    assert claim.post_id == post_id
    queue.begin_publishing(engine, claim, NODE)
    assert queue.finalize(engine, post_id, claim.attempt, NotSent("connection refused"),
                          retry_at=retry_at)


# --- mark_missed ------------------------------------------------------------------------------


def test_missed_is_decided_on_the_time_staff_chose_not_on_the_next_try(engine: Engine) -> None:
    now = utcnow()
    recent = queue_post(engine, "akun-b", now - timedelta(minutes=30))
    fail_once(engine, recent, retry_at=now + timedelta(minutes=5))
    overdue = queue_post(engine, "akun-a", now - timedelta(hours=2))
    fail_once(engine, overdue, retry_at=now - timedelta(minutes=1))  # a retry a minute ago

    missed = queue.mark_missed(engine, timedelta(hours=1), now=now)

    assert [m.post_id for m in missed] == [overdue]
    assert stored(engine, overdue).status == Status.MISSED
    assert stored(engine, recent).status == Status.RETRY  # 30 min late: still within grace


def test_a_post_held_past_its_grace_by_its_accounts_rate_limit_is_missed_naming_the_wait(
        engine: Engine) -> None:
    now = utcnow()
    held = queue_post(engine, "akun-a", now - timedelta(hours=2))
    queue.set_rate_limited(engine, "akun-a", now + timedelta(hours=3))
    queue.mark_missed(engine, timedelta(hours=1), now=now)
    post = stored(engine, held)
    assert post.status == Status.MISSED
    assert "the network asked its account to wait until" in (post.last_error or "")


# --- the publisher: a network's wait beyond the grace ---------------------------------------


def test_a_retry_after_beyond_the_grace_misses_the_post_at_once_with_an_alert_naming_it(
        db_url: str, engine: Engine, network: CountingNetwork, tokens: Any) -> None:
    tokens(["akun-a"])
    network.rate_limited["akun-a"] = time.time() + 30  # Retry-After: 30
    settings_ = make_settings(db_url, ["akun-a"], network.url, grace_minutes=0.2)  # 12 s
    post_id = queue_post(engine, "akun-a", utcnow())

    run_until_drained(Daemon(settings_, engine=engine,
                             channel_classes={"counting": CountingChannel}))

    post = stored(engine, post_id)
    assert post.status == Status.MISSED  # not published 30 s late
    asked = f"asked to wait {network.retry_after_sent['akun-a']} s"  # 30, less a slow start
    assert network.retry_after_sent["akun-a"] > 12 and asked in (post.last_error or "")
    assert network.total() == 0
    with session(engine) as s:
        [alert] = s.scalars(select(Alert).where(Alert.kind == "missed")).all()
    assert asked in alert.message and "siar reschedule" in alert.message


def test_a_retry_after_of_ten_years_neither_keeps_the_post_nor_its_account_waiting(
        db_url: str, engine: Engine, network: CountingNetwork, tokens: Any) -> None:
    tokens(["akun-a"])
    network.rate_limited["akun-a"] = time.time() + TEN_YEARS
    settings_ = make_settings(db_url, ["akun-a"], network.url, grace_minutes=60)
    publisher = Publisher(engine, settings_, Adapters(
        settings_, channel_classes={"counting": CountingChannel}), NODE)
    post_id = queue_post(engine, "akun-a", utcnow())
    [claim] = queue.claim_due(engine, NODE)
    before = utcnow()
    publisher.publish(claim)

    post = stored(engine, post_id)
    assert post.status == Status.MISSED
    assert "3,650 days" in (post.last_error or "")
    with session(engine) as s:
        account = s.get(AccountState, "akun-a")
        assert account is not None and account.rate_limited_until is not None
    # claims skip the account for the grace period at most, not until 2036
    assert to_db(account.rate_limited_until) <= utcnow() + timedelta(minutes=60)
    assert to_db(account.rate_limited_until) >= before + timedelta(minutes=59)


@settings(max_examples=300, deadline=None)
@given(tries=st.integers(1, 12), late=st.floats(0, 7200), grace=st.floats(0.1, 120),
       retry_after=st.none() | st.floats(0, 1e10), rate_limited=st.booleans())
def test_no_try_is_ever_planned_beyond_the_grace_period(
        tries: int, late: float, grace: float, retry_after: float | None,
        rate_limited: bool) -> None:
    config = Settings(database_url="sqlite://", daemon=DaemonSettings(
        grace_minutes=grace, max_attempts=8, backoff_base=30, backoff_max=3600))
    policy = RetryPolicy(config.daemon)
    now = utcnow()
    due = now - timedelta(seconds=late)
    deadline = due + timedelta(minutes=grace)
    outcome = NotSent("refused", retry_after=retry_after, rate_limited=rate_limited)

    plan = policy.next_try(outcome, tries, due, now=now)

    assert [plan.retry_at is not None, plan.give_up, plan.missed is not None].count(True) == 1
    if plan.retry_at is not None:
        assert now <= plan.retry_at <= deadline
    if plan.give_up:
        assert tries >= 8 and not rate_limited
    if retry_after is not None and not plan.give_up:
        beyond = now + timedelta(seconds=min(retry_after, 1e9)) > deadline
        assert (plan.missed is not None) == beyond  # followed within the grace, else missed


def test_a_thread_cut_short_by_a_long_wait_says_which_parts_are_already_out(
        db_url: str, engine: Engine, network: CountingNetwork, tokens: Any) -> None:
    tokens(["akun-a"])
    network.throttled_words.add("(2/2)")  # Retry-After: 1, beyond a grace of 0.6 s
    settings_ = make_settings(db_url, ["akun-a"], network.url, grace_minutes=0.01)
    publisher = Publisher(engine, settings_, Adapters(
        settings_, channel_classes={"counting": CountingChannel}), NODE)
    post_id = queue_post(engine, "akun-a", utcnow(), parts=2)
    [claim] = queue.claim_due(engine, NODE)
    publisher.publish(claim)
    post = stored(engine, post_id)
    assert post.status == Status.MISSED
    assert "1 of 2 thread parts were already published" in (post.last_error or "")
    assert network.total() == 1


def test_a_retry_an_older_version_set_years_ahead_is_missed_when_the_daemon_starts(
        db_url: str, engine: Engine, network: CountingNetwork) -> None:
    now = utcnow()
    post_id = queue_post(engine, "akun-a", now - timedelta(hours=2))
    fail_once(engine, post_id, retry_at=now + timedelta(days=3650))  # as main once did
    daemon = Daemon(make_settings(db_url, ["akun-a"], network.url), engine=engine)
    daemon.jobs.housekeeping()  # the first round, at start
    assert stored(engine, post_id).status == Status.MISSED
