"""Issue 11 item 14 through the queue on both databases: two releases with the same title
within the hour, the second refused (wrong application password) and then retried once
the password is fixed, become two WordPress posts; the second is never recorded as
published with the first one's URL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from channels.base import AuthFailed, NotSent, Published
from channels.variant import Variant
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.db import session
from scheduler.models import Post, Status
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, DaemonSettings, Settings
from scheduler.timeparse import utcnow
from tests.fakes.wordpress import WordPressFake

PASSWORD = "abcd EFGH 1234 ijkl"
ACCOUNT = AccountSettings(name="web-lapas", network="wordpress")
TITLE = "Jadwal Kunjungan Lapas"


@pytest.fixture
def site() -> Iterator[WordPressFake]:
    with WordPressFake(username="humas", app_password=PASSWORD) as fake:
        yield fake  # type: ignore[misc]


def settings_for(db_url: str, site: WordPressFake) -> Settings:
    account = dataclasses.replace(ACCOUNT, base_url=site.url,
                                  options={"read_timeout": 0.5})
    return Settings(database_url=db_url, node_name="node-a", accounts=[account],
                    daemon=DaemonSettings(lease_seconds=5.0))


def queue_release(engine: Engine) -> int:
    """A release as the composer makes it for WordPress: the slug is the title's alone."""
    variant = Variant(account=ACCOUNT.name, channel="wordpress", parts=[f"{TITLE}\n\nIsi."],
                      length=[len(TITLE) + 6], limit=None, title=TITLE,
                      extra={"title": TITLE, "slug": "jadwal-kunjungan-lapas", "tags": [],
                             "html": "<p>Isi.</p>"})
    doc = ReleaseDoc(source="test", title=TITLE, body="Isi.")
    _, posts = queue.enqueue(engine, doc, [variant], utcnow())
    return posts[0].id  # type: ignore[return-value]


def publish_due(engine: Engine, settings: Settings, password: str,
                monkeypatch: pytest.MonkeyPatch, *, later: float = 0.0) -> list[object]:
    """One round of the daemon with the password as it is in the environment now, run as
    if ``later`` seconds had passed (past a retry's backoff)."""
    monkeypatch.setenv(ACCOUNT.secret_variable("username"), "humas")
    monkeypatch.setenv(ACCOUNT.secret_variable("app_password"), password)
    adapters = Adapters(settings)
    publisher = Publisher(engine, settings, adapters, "node-a")
    try:
        now = utcnow() + timedelta(seconds=later)
        return [publisher.publish(claim)
                for claim in queue.claim_due(engine, "node-a", now=now)]
    finally:
        adapters.close()


def stored(engine: Engine, post_id: int) -> Post:
    with session(engine) as s:
        return s.get(Post, post_id)  # type: ignore[return-value]


def test_a_release_refused_then_fixed_is_its_own_post_not_the_earlier_same_titled_one(
        engine: Engine, db_url: str, site: WordPressFake,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(db_url, site)
    first = queue_release(engine)
    assert [type(o) for o in publish_due(engine, settings, PASSWORD, monkeypatch)] == \
        [Published]

    second = queue_release(engine)
    [refused] = publish_due(engine, settings, "salah sandi", monkeypatch)
    assert isinstance(refused, AuthFailed)
    assert stored(engine, second).status == Status.PAUSED
    queue.resume_account(engine, ACCOUNT.name)  # staff fixed the password
    [fixed] = publish_due(engine, settings, PASSWORD, monkeypatch)

    post_one, post_two = site.posts
    assert isinstance(fixed, Published)
    assert stored(engine, first).remote_url == site.post_link(post_one)
    assert stored(engine, second).status == Status.PUBLISHED
    assert stored(engine, second).remote_url == site.post_link(post_two)
    assert post_one.slug != post_two.slug


def test_a_create_in_doubt_is_probed_by_its_own_slug_and_sent_again_as_its_own_post(
        engine: Engine, db_url: str, site: WordPressFake,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(db_url, site)
    queue_release(engine)
    publish_due(engine, settings, PASSWORD, monkeypatch)
    second = queue_release(engine)
    site.fail_next(status=502, body="Bad Gateway", path=".*/posts")  # never reached WordPress
    [doubt] = publish_due(engine, settings, PASSWORD, monkeypatch)
    assert stored(engine, second).status == Status.UNKNOWN, doubt

    adapters = Adapters(settings)
    [in_doubt] = queue.in_doubt(engine)
    verdict = Publisher(engine, settings, adapters, "node-a").probe(in_doubt)
    adapters.close()
    assert publish_due(engine, settings, PASSWORD, monkeypatch) == []  # backs off first
    [resent] = publish_due(engine, settings, PASSWORD, monkeypatch,
                           later=settings.daemon.backoff_max)

    assert isinstance(verdict, NotSent) and isinstance(resent, Published)
    _, post_two = site.posts
    assert stored(engine, second).remote_url == site.post_link(post_two)
