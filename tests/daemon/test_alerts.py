"""Staff alerts reach staff: stored once, sent once, tried again until every notify account
has taken them — on SQLite and on PostgreSQL, through real receivers (a webhook, SMTP)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler import notify
from scheduler.adapters import Adapters
from scheduler.db import session
from scheduler.health import render_metrics
from scheduler.models import Alert, Post, Release, Status
from scheduler.settings import AccountSettings, Settings
from scheduler.status import snapshot, undelivered_alerts
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, queue_post, token_env, write_config
from tests.daemon.processes import start_daemon
from tests.daemon.test_daemon import run_cli, running, statuses, wait_for
from tests.fakes.counting import CountingNetwork
from tests.fakes.smtp import FakeSMTP
from tests.fakes.webhook import FakeWebhookReceiver

MAILBOX = "humas@lapas.example.go.id"
MAIL_PASSWORD = "sandi-rahasia-42"
#: far enough ahead that every backoff has run out, short of the day after which it gives up
LATER = timedelta(hours=2)


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as server:
        yield server


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[FakeSMTP]:
    with FakeSMTP(tmp_path, username=MAILBOX, password=MAIL_PASSWORD) as server:
        yield server


def webhook_account(receiver: FakeWebhookReceiver) -> AccountSettings:
    return AccountSettings(name="staf", network="webhook", base_url=receiver.hook_url)


def mail_account(smtp: FakeSMTP, monkeypatch: pytest.MonkeyPatch) -> AccountSettings:
    account = AccountSettings(name="surel", network="email", options={
        "host": "127.0.0.1", "port": smtp.port, "security": "starttls",
        "ca_file": str(smtp.cert_path), "from": MAILBOX, "to": ["piket@lapas.example.go.id"],
        "connect_timeout": 2.0, "read_timeout": 2.0})
    monkeypatch.setenv(account.secret_variable("username"), MAILBOX)
    monkeypatch.setenv(account.secret_variable("password"), MAIL_PASSWORD)
    return account


@pytest.fixture
def notifiers() -> Iterator[Callable[..., notify.Notifier]]:
    """Notifiers as separate daemons would have them (each its own adapters), closed after."""
    made: list[notify.Notifier] = []

    def make(engine: Engine, accounts: list[AccountSettings], **kwargs: Any
             ) -> notify.Notifier:
        settings = make_settings(str(engine.url), [], None, notify=accounts,
                                 backoff_base=60.0, backoff_max=600.0)
        notifier = notify.Notifier(engine, settings, Adapters(settings), **kwargs)
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.close()


def all_alerts(engine: Engine) -> list[Alert]:
    with session(engine) as s:
        return list(s.scalars(select(Alert)))


def stored(engine: Engine, key: str) -> Alert:
    with session(engine) as s:
        row = s.get(Alert, key)
        assert row is not None
        return row


def a_post(engine: Engine) -> tuple[Post, Release]:
    post_id = queue_post(engine, "akun-a", utcnow() - timedelta(minutes=1))
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post, s.get(Release, post.release_id)  # type: ignore[return-value]


def every_kind(post: Post, release: Release) -> list[notify.Message]:
    now = utcnow()
    return [notify.auth_failed(post, release, "HTTP 401: invalid token"),
            notify.rejected(post, release, "HTTP 422: text too long"),
            notify.gave_up(post, release, "connection refused"),
            notify.in_doubt(post, release),
            notify.missed([(post, release)]),
            notify.token_expiring("akun-a", "threads", now + timedelta(days=3),
                                  "Asia/Jakarta", ["SIAR_SECRET_AKUN_A_ACCESS_TOKEN"]),
            notify.watchdog(3, now - timedelta(minutes=10), "Asia/Jakarta")]


def refused_once(receiver: FakeWebhookReceiver, notifier: notify.Notifier,
                 message: notify.Message) -> None:
    """Raise ``message`` while the receiver answers 503, then let it accept again."""
    receiver.fail_next(status=503, body={"error": "maintenance"})
    assert notifier.alert(message)
    notifier.flush()


# --- stored once, sent once ---------------------------------------------------------------------


def test_every_kind_of_alert_is_stored_once_and_sent_once(
        engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    notifier = notifiers(engine, [webhook_account(receiver)])
    messages = every_kind(*a_post(engine))
    for message in messages:
        assert notifier.alert(message), message.kind
        assert not notifier.alert(message), f"{message.kind} raised twice"
    notifier.flush()
    assert sorted(body["title"] for body in receiver.created.values()) == sorted(
        m.subject for m in messages)
    for message in messages:
        row = stored(engine, message.key)
        assert row.sent_at is not None and row.deliveries == {"staf": "Published"}
        assert (row.attempts, row.next_try_at, row.last_error) == (1, None, None)


def test_without_notify_accounts_an_alert_is_stored_and_nothing_is_tried(
        engine: Engine, notifiers: Callable[..., notify.Notifier]) -> None:
    notifier = notifiers(engine, [])
    message = notify.watchdog(1, utcnow(), "Asia/Jakarta")
    assert notifier.alert(message) and not notifier.alert(message)
    row = stored(engine, message.key)
    assert (row.attempts, row.next_try_at, row.sent_at) == (0, None, None)
    assert notifier.claim_due(now=utcnow() + LATER) is None
    assert undelivered_alerts(engine).count == 0


# --- tried again until taken --------------------------------------------------------------------


def test_an_alert_refused_at_first_is_sent_again_with_backoff_until_taken(
        engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    notifier = notifiers(engine, [webhook_account(receiver)])  # backoff: 60 s doubling
    message = notify.watchdog(2, utcnow(), "Asia/Jakarta")
    tries = []  # (ceiling of the backoff, a time before the try, a time after it)
    before = utcnow()
    refused_once(receiver, notifier, message)
    tries.append((60, before, utcnow()))
    receiver.fail_next(status=503, body={"error": "maintenance"})
    first = stored(engine, message.key)
    assert first.sent_at is None and "503" in (first.last_error or "")
    next_tries = [first.next_try_at]
    assert notifier.claim_due() is None  # not before its backoff
    for attempt in (2, 3):
        claim = notifier.claim_due(now=utcnow() + LATER)
        assert claim == notify.Claim(message.key, attempt)
        before = utcnow()
        notifier.deliver(claim)
        tries.append((120, before, utcnow()))
        next_tries.append(stored(engine, message.key).next_try_at)
    assert receiver.created and len(receiver.calls("POST")) == 3
    row = stored(engine, message.key)
    assert row.sent_at is not None and (row.attempts, row.last_error) == (3, None)
    # each wait is jittered within the upper half of its ceiling, counted from the try
    for (ceiling, before, after), next_try in zip(tries[:2], next_tries[:2], strict=True):
        assert before + timedelta(seconds=ceiling / 2) <= next_try
        assert next_try <= after + timedelta(seconds=ceiling)
    assert next_tries[2] is None  # delivered: nothing left to try


def test_only_the_accounts_that_have_not_taken_it_get_it_again(
        engine: Engine, receiver: FakeWebhookReceiver, smtp: FakeSMTP,
        monkeypatch: pytest.MonkeyPatch, notifiers: Callable[..., notify.Notifier]) -> None:
    notifier = notifiers(engine, [webhook_account(receiver), mail_account(smtp, monkeypatch)])
    smtp.answer_data_with("451 4.3.0 Mailbox busy, try again later")
    message = notify.rejected(*a_post(engine), "HTTP 422: text too long")
    assert notifier.alert(message)
    notifier.flush()
    row = stored(engine, message.key)
    assert row.deliveries["staf"] == "Published" and row.deliveries["surel"] != "Published"
    assert row.last_error and row.last_error.startswith("surel: ") and "451" in row.last_error
    assert (len(receiver.calls("POST")), len(smtp.messages)) == (1, 0)

    notifier.deliver(notifier.claim_due(now=utcnow() + LATER))  # type: ignore[arg-type]
    assert (len(receiver.calls("POST")), len(smtp.messages)) == (1, 1)
    assert smtp.messages[0].message["Subject"] == message.subject
    row = stored(engine, message.key)
    assert row.sent_at is not None and row.deliveries == {"staf": "Published",
                                                          "surel": "Published"}


def test_after_a_day_it_is_given_up_and_stays_listed_with_its_error(
        engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    notifier = notifiers(engine, [webhook_account(receiver)], give_up_after=timedelta(0))
    message = notify.watchdog(4, utcnow(), "Asia/Jakarta")
    refused_once(receiver, notifier, message)
    assert stored(engine, message.key).next_try_at is None
    assert notifier.claim_due(now=utcnow() + timedelta(days=3)) is None
    listed = undelivered_alerts(engine)
    [alert] = listed.alerts
    assert listed.count == 1 and alert.next_try_at is None and alert.attempts == 1
    assert alert.subject == message.subject and "503" in alert.last_error
    assert "siar_alerts_undelivered 1" in render_metrics(
        snapshot(engine, make_settings(str(engine.url), [], None).daemon), {}, node="n")
    assert undelivered_alerts(engine, now=utcnow() + timedelta(days=8)).count == 0


# --- one daemon at a time -----------------------------------------------------------------------


def test_of_daemons_racing_for_a_due_alert_exactly_one_claims_it(
        engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    daemons = [notifiers(engine, [webhook_account(receiver)]) for _ in range(6)]
    message = notify.watchdog(5, utcnow(), "Asia/Jakarta")
    refused_once(receiver, daemons[0], message)
    later = utcnow() + LATER
    start = threading.Barrier(len(daemons))
    claims: list[notify.Claim | None] = []

    def race(notifier: notify.Notifier) -> None:
        start.wait()
        claims.append(notifier.claim_due(now=later))

    threads = [threading.Thread(target=race, args=(d,)) for d in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [c for c in claims if c is not None] == [notify.Claim(message.key, 2)]


def test_a_claim_whose_lease_ran_out_is_taken_over_and_its_late_sender_does_nothing(
        engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    first, second = (notifiers(engine, [webhook_account(receiver)]) for _ in range(2))
    message = notify.watchdog(6, utcnow(), "Asia/Jakarta")
    refused_once(receiver, first, message)
    stalled = first.claim_due(now=utcnow() + LATER)
    assert stalled is not None
    assert second.claim_due(now=utcnow() + LATER) is None  # its lease holds
    beyond_lease = utcnow() + LATER + first.lease + timedelta(seconds=1)
    taken = second.claim_due(now=beyond_lease)
    assert taken == notify.Claim(message.key, stalled.attempt + 1)
    first.deliver(stalled)
    assert len(receiver.calls("POST")) == 1  # only the refused first try
    second.deliver(taken)
    assert len(receiver.created) == 1 and stored(engine, message.key).sent_at is not None


class HeldReceiver(FakeWebhookReceiver):
    """A webhook receiver that holds each request until the test lets it through."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def _receive(self, request: Any) -> Any:
        self.entered.set()
        self.release.wait(30)
        return super()._receive(request)


def test_the_heartbeat_renews_the_lease_of_the_alert_being_delivered_and_only_that(
        engine: Engine, notifiers: Callable[..., notify.Notifier]) -> None:
    with HeldReceiver() as held:
        notifier = notifiers(engine, [webhook_account(held)])  # type: ignore[arg-type]
        message = notify.watchdog(9, utcnow(), "Asia/Jakarta")
        assert notifier.alert(message)
        assert held.entered.wait(30)  # the first attempt is being delivered
        claimed_until = stored(engine, message.key).next_try_at
        notifier.renew_lease()
        renewed_until = stored(engine, message.key).next_try_at
        assert renewed_until > claimed_until  # type: ignore[operator]
        held.release.set()
        notifier.flush()
    notifier.renew_lease()  # nothing being delivered: nothing renewed
    row = stored(engine, message.key)
    assert row.sent_at is not None and row.next_try_at is None


# --- the daemon ---------------------------------------------------------------------------------


def test_an_alert_not_taken_before_a_restart_goes_out_from_the_next_daemon(
        engine: Engine, network: CountingNetwork, tokens: Callable,
        receiver: FakeWebhookReceiver) -> None:
    tokens(["akun-a"])
    network.forbidden_words.add("judi")
    post_id = queue_post(engine, "akun-a", utcnow(), text="promo judi")
    receiver.fail_next(status=503, body={"error": "maintenance"}, times=1000)

    def settings(node: str) -> Settings:
        return make_settings(str(engine.url), ["akun-a"], network.url, node=node,
                             notify=[webhook_account(receiver)])

    with running(settings("daemon-1"), engine):
        wait_for(lambda: len(receiver.calls("POST")) >= 2)  # the first try and a retry
    assert statuses(engine)[post_id] == Status.FAILED
    [alert] = undelivered_alerts(engine).alerts
    assert alert.kind == "failed" and "503" in alert.last_error and alert.next_try_at

    receiver.reset()  # the receiver is back
    with running(settings("daemon-2"), engine):
        wait_for(lambda: stored(engine, alert.key).sent_at is not None)
    [body] = receiver.created.values()
    assert "siar reschedule" in body["parts"][0]
    assert undelivered_alerts(engine).count == 0
    assert network.total() == 0  # the rejected post itself was never sent again


def test_a_closed_notifier_leaves_undelivered_alerts_to_the_next_daemon(
        engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    notifier = notifiers(engine, [webhook_account(receiver)])
    message = notify.watchdog(7, utcnow(), "Asia/Jakarta")
    refused_once(receiver, notifier, message)
    notifier.close()
    notifier.retry_due()  # a job run that comes after the daemon stopped: nothing, no error
    row = stored(engine, message.key)
    assert row.sent_at is None and row.next_try_at is not None
    assert len(receiver.calls("POST")) == 1


def test_an_alert_whose_daemon_was_killed_mid_delivery_is_taken_over_after_its_lease(
        tmp_path: Path, engine: Engine, network: CountingNetwork) -> None:
    """kill -9 while the receiver holds the alert: the next daemon sends it again once the
    lease has run out, with the same idempotency key, so the receiver keeps one."""
    network.forbidden_words.add("judi")
    url = engine.url.render_as_string(hide_password=False)
    with HeldReceiver() as held:
        config = write_config(tmp_path / "siar.toml", url, ["akun-a"], network.url,
                              lease_seconds=2.0, heartbeat_seconds=0.5, poll_interval=0.2)
        with config.open("a") as toml:
            toml.write(f'\n[[accounts]]\nname = "staf"\nnetwork = "webhook"\n'
                       f'base_url = "{held.hook_url}"\n\n[notify]\naccounts = ["staf"]\n')
        queue_post(engine, "akun-a", utcnow(), text="promo judi")
        first = start_daemon(config, token_env(["akun-a"]), node="daemon-1")
        try:
            assert held.entered.wait(30)
        finally:
            first.kill()
            first.wait(30)
        held.release.set()  # the dead daemon's request still reaches the receiver
        wait_for(lambda: len(held.created) == 1)
        second = start_daemon(config, token_env(["akun-a"]), node="daemon-2")
        try:
            wait_for(lambda: len(held.calls("POST")) == 2, timeout=30)
            [key] = [row.key for row in all_alerts(engine)]
            wait_for(lambda: stored(engine, key).sent_at is not None)
        finally:
            second.terminate()
            second.wait(30)
    row = stored(engine, key)
    assert row.attempts == 2 and row.deliveries == {"staf": "Published"}
    assert len(held.created) == 1  # the repeat carried the same Idempotency-Key


# --- siar status --------------------------------------------------------------------------------


def test_status_lists_undelivered_alerts_with_error_and_next_try_and_exit_code_stays_0(
        tmp_path: Path, engine: Engine, receiver: FakeWebhookReceiver,
        notifiers: Callable[..., notify.Notifier]) -> None:
    retrying = notifiers(engine, [webhook_account(receiver)])
    gave_up = notifiers(engine, [webhook_account(receiver)], give_up_after=timedelta(0))
    refused_once(receiver, retrying, notify.watchdog(8, utcnow(), "Asia/Jakarta"))
    refused_once(receiver, gave_up, notify.rejected(*a_post(engine), "HTTP 422: too long"))
    url = engine.url.render_as_string(hide_password=False)
    config = write_config(tmp_path / "siar.toml", url, ["akun-a"], receiver.url)

    answer = run_cli(config, "status", "--json")
    assert answer.returncode == 0, answer.stderr
    listed = json.loads(answer.stdout)["alerts_undelivered"]
    assert listed["count"] == 2
    by_kind = {a["kind"]: a for a in listed["newest"]}
    assert by_kind["watchdog"]["next_try_at"] and not by_kind["watchdog"]["gave_up"]
    assert by_kind["failed"]["next_try_at"] is None and by_kind["failed"]["gave_up"]
    assert all("staf: " in a["error"] and "503" in a["error"] for a in listed["newest"])

    text = run_cli(config, "status")
    assert text.returncode == 0, text.stderr
    lines = [line for line in text.stdout.splitlines() if "alert not delivered" in line]
    assert len(lines) == 2 and all("503" in line for line in lines)
    assert any("next try" in line for line in lines)
    assert any("gave up after 1 attempt(s)" in line for line in lines)
    assert "fix: make the notify account(s) work again" in text.stdout
