"""Under ``approval = "required"`` the daemon never publishes a release nobody approved; one
approved while it runs goes out; one never approved is held, staff are alerted, and past
the grace it is missed — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler import approval, audit, queue
from scheduler.daemon.service import Daemon
from scheduler.db import session
from scheduler.models import Alert, Status
from scheduler.settings import Settings
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, release, variant
from tests.daemon.draining import run_until_drained
from tests.daemon.test_daemon import published, running, statuses, wait_for
from tests.fakes.counting import CountingChannel, CountingNetwork


def settings_with_approval(engine: Engine, network: CountingNetwork, **daemon: object
                           ) -> Settings:
    """akun-a needs an approver; akun-b (its own ``approval = "off"``) does not."""
    settings = make_settings(str(engine.url), ["akun-a", "akun-b"], network.url, **daemon)
    settings.approval = "required"
    settings.accounts[1].approval = "off"
    return settings


def queue_release(engine: Engine, settings: Settings, accounts: list[str],
                  minutes: float = 0) -> dict[str, int]:
    """Queue one release for ``accounts`` through the approval core; post id by account."""
    _, posts = approval.enqueue(engine, settings, release(), [variant(a) for a in accounts],
                                utcnow() + timedelta(minutes=minutes), zone=None, by="petugas")
    return {p.account: p.id for p in posts}  # type: ignore[misc]


def alerts(engine: Engine, kind: str) -> list[Alert]:
    with session(engine) as s:
        return list(s.scalars(select(Alert).where(Alert.kind == kind)))


def test_the_daemon_never_publishes_an_unapproved_release_and_staff_hear_it_is_held(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a", "akun-b"])
    settings = settings_with_approval(engine, network)
    posts = queue_release(engine, settings, ["akun-a", "akun-b"])
    assert statuses(engine) == {posts["akun-a"]: Status.AWAITING_APPROVAL,
                                posts["akun-b"]: Status.SCHEDULED}

    daemon = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
    run_until_drained(daemon)  # returns: a post awaiting approval is nothing to send

    assert statuses(engine)[posts["akun-a"]] == Status.AWAITING_APPROVAL
    assert statuses(engine)[posts["akun-b"]] == Status.PUBLISHED
    assert network.total() == 1
    [held] = alerts(engine, "approval")
    assert "siar approve" in held.message and "akun-a" in held.message


def test_a_release_approved_while_the_daemon_runs_is_then_published(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a", "akun-b"])
    settings = settings_with_approval(engine, network)
    posts = queue_release(engine, settings, ["akun-a", "akun-b"])
    with running(settings, engine):
        wait_for(published(engine, posts["akun-b"]))
        wait_for(lambda: bool(alerts(engine, "approval")))  # the daemon saw it and held it
        assert statuses(engine)[posts["akun-a"]] == Status.AWAITING_APPROVAL

        approval.approve(engine, 1, by="kasubag", comment="Silakan tayang")

        wait_for(published(engine, posts["akun-a"]))
    assert network.total() == 2 and network.duplicates() == {}
    actions = [(e.actor, e.action) for e in audit.entries(engine)]
    assert actions == [("petugas", "queue"), ("kasubag", "approve")]


def test_an_unapproved_release_past_the_grace_is_missed_never_published_late(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a"])
    settings = settings_with_approval(engine, network, grace_minutes=30.0)
    posts = queue_release(engine, settings, ["akun-a"], minutes=-45)
    daemon = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
    run_until_drained(daemon)

    assert statuses(engine)[posts["akun-a"]] == Status.MISSED
    assert network.total() == 0
    assert alerts(engine, "missed")
    # too late to approve now: nothing awaits approval any more
    assert queue.unapproved_due(engine) == []
