"""Retries by error class, pauses, probes and alerts — through real HTTP to the counting network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine

from channels.base import InDoubt, NotSent, Published
from scheduler import notify, queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.daemon.retry import RetryPolicy
from scheduler.db import session
from scheduler.models import AccountState, Alert, Attempt, Post, Status
from scheduler.settings import AccountSettings, DaemonSettings, Settings
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, queue_post
from tests.fakes.counting import TOKEN, CountingChannel, CountingNetwork
from tests.fakes.server import Fault
from tests.fakes.webhook import FakeWebhookReceiver

NODE = "node-a"


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as server:
        yield server


def publisher_for(engine: Engine, settings: Settings) -> Publisher:
    adapters = Adapters(settings, channel_classes={"counting": CountingChannel})
    return Publisher(engine, settings, adapters, NODE)


def publish_due(engine: Engine, publisher: Publisher) -> list[object]:
    claims = queue.claim_due(engine, NODE, limit=50)
    return [publisher.publish(c) for c in claims]


def post(engine: Engine, post_id: int) -> Post:
    with session(engine) as s:
        return s.get(Post, post_id)  # type: ignore[return-value]


@pytest.fixture
def setup(sqlite_engine: Engine, network: CountingNetwork, tokens: object) -> tuple:
    tokens(["akun-a", "akun-b"])  # type: ignore[operator]
    settings = make_settings(str(sqlite_engine.url), ["akun-a", "akun-b"], network.url,
                             options={"read_timeout": 0.5})
    return sqlite_engine, network, settings, publisher_for(sqlite_engine, settings)


def test_a_due_post_is_published_once_and_its_url_kept(setup: tuple) -> None:
    engine, network, _, publisher = setup
    post_id = queue_post(engine, "akun-a", utcnow())
    [outcome] = publish_due(engine, publisher)
    assert isinstance(outcome, Published)
    stored = post(engine, post_id)
    assert stored.status == Status.PUBLISHED
    assert stored.remote_url and stored.remote_url.startswith(network.url)
    assert network.total() == 1


def test_a_429_waits_for_that_networks_reset_for_that_account_only(setup: tuple) -> None:
    engine, network, _, publisher = setup
    before = utcnow()
    network.rate_limited["akun-a"] = before.timestamp() + 120  # Retry-After: 120
    limited = queue_post(engine, "akun-a", utcnow())
    publish_due(engine, publisher)
    after = utcnow()
    stored = post(engine, limited)
    assert stored.status == Status.RETRY
    # the network's reset (Retry-After counts whole seconds), not our own backoff (≤ 1 s)
    assert before + timedelta(seconds=119) <= stored.not_before <= after + timedelta(seconds=120)
    with session(engine) as s:
        state = s.get(AccountState, "akun-a")
        assert state and state.rate_limited_until and state.rate_limited_until > utcnow()
    other = queue_post(engine, "akun-b", utcnow())
    queue_post(engine, "akun-a", utcnow())
    assert [c.post_id for c in queue.claim_due(engine, NODE, limit=10)] == [other]


def test_connection_refused_is_retried_later_with_backoff(sqlite_engine: Engine,
                                                          tokens: object) -> None:
    tokens(["akun-a"])  # type: ignore[operator]
    with CountingNetwork() as closed:
        url = closed.url
    # a backoff of a minute: still ahead when the test looks, however slow the host
    settings = make_settings(str(sqlite_engine.url), ["akun-a"], url, backoff_base=60.0,
                             backoff_max=120.0)
    post_id = queue_post(sqlite_engine, "akun-a", utcnow())
    [outcome] = publish_due(sqlite_engine, publisher_for(sqlite_engine, settings))
    assert isinstance(outcome, NotSent)
    stored = post(sqlite_engine, post_id)
    assert stored.status == Status.RETRY and stored.not_before > utcnow()


def test_rejected_content_fails_with_the_networks_message_and_alerts_staff(
        engine: Engine, network: CountingNetwork, tokens: object,
        receiver: FakeWebhookReceiver) -> None:
    tokens(["akun-a"])  # type: ignore[operator]
    staff = AccountSettings(name="staf", network="webhook", base_url=receiver.hook_url)
    settings = make_settings(str(engine.url), ["akun-a"], network.url, notify=[staff])
    network.forbidden_words.add("judi")
    post_id = queue_post(engine, "akun-a", utcnow(), text="promo judi")
    publisher = publisher_for(engine, settings)
    notifier = notify.Notifier(engine, settings, publisher.adapters)
    publish_due(engine, publisher)
    stored = post(engine, post_id)
    assert stored.status == Status.FAILED
    assert "forbidden word" in (stored.last_error or "")
    assert notifier.post_alert(post_id, notify.rejected, stored.last_error)
    assert not notifier.post_alert(post_id, notify.rejected, stored.last_error)  # deduplicated
    notifier.flush()
    [alert] = receiver.created.values()
    text = alert["parts"][0]
    assert f"release {stored.release_id}" in text and "akun-a" in text
    assert "forbidden word" in text and f"siar reschedule {stored.release_id}/akun-a" in text


def test_an_auth_failure_pauses_the_account_and_the_alert_never_shows_the_token(
        engine: Engine, network: CountingNetwork, tokens: object,
        receiver: FakeWebhookReceiver) -> None:
    tokens(["akun-a"])  # type: ignore[operator]
    network.revoked.add("akun-a")
    staff = AccountSettings(name="staf", network="webhook", base_url=receiver.hook_url)
    settings = make_settings(str(engine.url), ["akun-a"], network.url, notify=[staff])
    post_id = queue_post(engine, "akun-a", utcnow())
    publisher = publisher_for(engine, settings)
    publish_due(engine, publisher)
    stored = post(engine, post_id)
    assert stored.status == Status.PAUSED
    with session(engine) as s:
        assert s.get(AccountState, "akun-a").paused  # type: ignore[union-attr]
    notifier = notify.Notifier(engine, settings, publisher.adapters)
    notifier.post_alert(post_id, notify.auth_failed, stored.last_error or "")
    notifier.flush()
    [alert] = receiver.created.values()
    assert "siar accounts resume akun-a" in alert["parts"][0]
    with session(engine) as s:
        everything = " ".join(str(v) for a in s.scalars(select(Attempt)) for v in vars(a).values())
        everything += " ".join(a.message for a in s.scalars(select(Alert)))
    assert TOKEN not in everything + str(alert)


def test_a_missing_secret_pauses_the_account_instead_of_crashing(
        sqlite_engine: Engine, network: CountingNetwork) -> None:
    settings = make_settings(str(sqlite_engine.url), ["akun-a"], network.url)
    post_id = queue_post(sqlite_engine, "akun-a", utcnow())
    publish_due(sqlite_engine, publisher_for(sqlite_engine, settings))
    stored = post(sqlite_engine, post_id)
    assert stored.status == Status.PAUSED
    assert "SIAR_SECRET_AKUN_A_TOKEN" in (stored.last_error or "")
    assert network.total() == 0


def test_a_timeout_after_sending_is_in_doubt_and_the_probe_finds_it_published(
        setup: tuple) -> None:
    engine, network, _, publisher = setup
    network.fail_next(Fault(delay=1.0, apply=True, status=201, body={}))
    post_id = queue_post(engine, "akun-a", utcnow())
    [outcome] = publish_due(engine, publisher)
    assert isinstance(outcome, InDoubt)
    assert post(engine, post_id).status == Status.UNKNOWN
    verdict = publisher.probe(post(engine, post_id))
    assert isinstance(verdict, Published)
    assert post(engine, post_id).status == Status.PUBLISHED
    assert network.total() == 1


def test_a_timeout_before_the_network_applied_it_is_probed_back_to_retry(setup: tuple) -> None:
    engine, network, _, publisher = setup
    network.fail_next(Fault(delay=1.0, status=504, body={}))
    post_id = queue_post(engine, "akun-a", utcnow())
    publish_due(engine, publisher)
    assert post(engine, post_id).status == Status.UNKNOWN
    assert isinstance(publisher.probe(post(engine, post_id)), NotSent)
    assert post(engine, post_id).status == Status.RETRY
    assert network.total() == 0


def test_thread_parts_already_published_are_never_sent_again(setup: tuple) -> None:
    engine, network, _, publisher = setup
    post_id = queue_post(engine, "akun-a", utcnow(), parts=3)
    network.throttled_words.add("(2/3)")  # the limit runs out after part 1
    publish_due(engine, publisher)
    stored = post(engine, post_id)
    assert stored.status == Status.RETRY
    assert [p["index"] for p in stored.progress["parts"]] == [0]
    network.throttled_words.clear()
    later = utcnow() + timedelta(seconds=2)
    claims = queue.claim_due(engine, NODE, now=later)
    assert [publisher.publish(c) for c in claims]
    assert post(engine, post_id).status == Status.PUBLISHED
    sent = [r.json()["text"][-5:] for r in network.calls("POST")]
    assert sent == ["(1/3)", "(2/3)", "(2/3)", "(3/3)"]  # part 1 once; part 2 again after 429
    assert network.duplicates() == {} and network.total() == 3


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(1, 20), base=st.floats(0.1, 60), ceiling=st.floats(1, 7200))
def test_backoff_is_bounded_jittered_and_gives_up_after_max_attempts(
        attempt: int, base: float, ceiling: float) -> None:
    settings_ = Settings(database_url="sqlite://", daemon=DaemonSettings(
        backoff_base=base, backoff_max=ceiling, max_attempts=8))
    policy = RetryPolicy(settings_.daemon)
    now = utcnow()
    at, give_up = policy.retry_time(NotSent("refused"), attempt, now=now)
    if attempt >= 8:
        assert give_up and at is None
        return
    assert at is not None and not give_up
    upper = min(ceiling, base * 2 ** (attempt - 1))
    wait = (at - now).total_seconds()
    assert upper / 2 - 1e-6 <= wait <= upper + 1e-6  # to the microsecond of a datetime


def test_a_rate_limit_is_waited_out_whatever_the_attempt_number() -> None:
    settings_ = Settings(database_url="sqlite://", daemon=DaemonSettings(max_attempts=2))
    policy = RetryPolicy(settings_.daemon)
    now = utcnow()
    at, give_up = policy.retry_time(NotSent("429", retry_after=900, rate_limited=True), 5,
                                    now=now)
    assert not give_up and at == now + timedelta(seconds=900)
