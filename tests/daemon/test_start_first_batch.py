"""A restart's first batch of posts: the transaction that begins them builds only the
adapters that know a first-send state ahead (their class overrides
``Channel.first_send_state``); every other post's adapter is built by its own worker when
it sends. The starter begins a restart's first claim round in one transaction, so an
adapter built there (secrets read, an HTTP session made) held back every first request.
Both databases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy.engine import Engine

from channels.base import AccountConfig, Delivery
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_post
from tests.fakes.counting import CountingChannel

NODE = "node-a"


class BuiltCounting(CountingChannel):
    """The counting adapter, remembering the accounts it was built for."""

    built: ClassVar[list[str]] = []

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)
        type(self).built.append(account.name)


class KnowsAhead(BuiltCounting):
    """An adapter that checkpoints something before its first request, known ahead."""

    built: ClassVar[list[str]] = []

    def first_send_state(self, delivery: Delivery, now: datetime) -> dict[str, Any]:
        return {"first_sent": {"0": now.isoformat()}}


def publisher_for(engine: Engine, db_url: str, cls: type[BuiltCounting],
                  monkeypatch: Any, names: list[str]) -> Publisher:
    accounts = [AccountSettings(name=n, network="counting") for n in names]
    for account in accounts:
        monkeypatch.setenv(account.secret_variable("token"), "t0ken-for-tests")
    settings = Settings(database_url=db_url, node_name=NODE, accounts=accounts)
    cls.built = []
    return Publisher(engine, settings, Adapters(settings, channel_classes={"counting": cls}),
                     NODE)


def begin_all(engine: Engine, publisher: Publisher, names: list[str]
              ) -> dict[int, queue.StartedPost]:
    due = utcnow() - timedelta(seconds=1)
    for name in names:
        queue_post(engine, name, due)
    claims = queue.claim_due(engine, NODE, limit=len(names))
    assert len(claims) == len(names)
    return queue.begin_publishing_many(engine, list(claims), NODE,
                                       first_send=publisher.first_send_state)


def test_beginning_a_batch_builds_no_adapter_whose_class_knows_nothing_ahead(
        engine: Engine, db_url: str, monkeypatch: Any) -> None:
    names = ["akun-a", "akun-b", "akun-c"]
    publisher = publisher_for(engine, db_url, BuiltCounting, monkeypatch, names)

    begun = begin_all(engine, publisher, names)

    assert len(begun) == 3
    assert BuiltCounting.built == []  # each worker builds its own when it sends
    post = next(iter(begun.values()))
    assert publisher.send(post).outcome is not None
    assert BuiltCounting.built == [post.account]


def test_beginning_a_batch_stores_the_first_send_state_of_adapters_that_know_it(
        engine: Engine, db_url: str, monkeypatch: Any) -> None:
    names = ["akun-a", "akun-b"]
    publisher = publisher_for(engine, db_url, KnowsAhead, monkeypatch, names)

    begun = begin_all(engine, publisher, names)

    assert sorted(KnowsAhead.built) == names  # built once each, in the begin
    assert all("first_sent" in post.progress.get("state", {}) for post in begun.values())
