"""``siar daemon --until-drained``: "drained" means no post due, none in flight, and none in
doubt whose probe has not answered yet. A post in doubt whose probe could not tell is
parked for staff (alerted once): the daemon has nothing more to do for it and may end.
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler.daemon import jobs
from scheduler.daemon.service import Daemon
from scheduler.db import session
from scheduler.models import Alert, Attempt, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, queue_post
from tests.daemon.test_daemon import statuses, wait_for
from tests.fakes.counting import CountingChannel, CountingNetwork
from tests.fakes.server import FakeRequest, Fault, Response

#: a safety net for waits on events: generous, never a measure of speed
PATIENCE = 60.0


class CannotTell(CountingNetwork):
    """Its lookups answer 503: a probe can never tell whether a post is there."""

    def _lookup(self, request: FakeRequest) -> Response:
        with self._created_lock:
            self.lookups_received += 1
        return 503, {}, {"error": "unavailable"}


def in_doubt_on_create(network: CountingNetwork) -> None:
    """The next create is applied, but its answer comes after the adapter's read timeout
    (0.3 s): the daemon cannot know whether the post exists."""
    network.fail_next(Fault(delay=1.0, apply=True, status=201, body={}))


@contextmanager
def draining(daemon: Daemon) -> Iterator[threading.Thread]:
    """``daemon.run(until_drained=True)`` on a thread; the block waits for it to end."""
    thread = threading.Thread(target=daemon.run, kwargs={"until_drained": True}, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join(PATIENCE)
        if thread.is_alive():
            daemon.stop()
            thread.join(PATIENCE)
            raise AssertionError("--until-drained did not end")


def status_of(engine: Engine, post_id: int) -> str:
    return statuses(engine)[post_id]


def test_until_drained_waits_for_the_probe_of_a_post_in_doubt(
        engine: Engine, tokens: Callable[[list[str]], None]) -> None:
    with CountingNetwork() as network:
        tokens(["akun-a"])
        in_doubt_on_create(network)
        network.lookups_answer.clear()  # the probe waits at the network for its answer
        post_id = queue_post(engine, "akun-a", utcnow())
        settings = make_settings(str(engine.url), ["akun-a"], network.url,
                                 options={"read_timeout": 0.3})
        daemon = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
        try:
            with draining(daemon):
                wait_for(lambda: network.lookups_received == 1, PATIENCE)
                # the post is in doubt and its probe has not answered: not drained
                assert status_of(engine, post_id) == Status.UNKNOWN
                assert not daemon.drained()
                network.lookups_answer.set()
        finally:
            network.lookups_answer.set()
        # the probe found it: settled as published, never sent again
        assert status_of(engine, post_id) == Status.PUBLISHED
        assert network.total() == 1 and len(network.calls("POST")) == 1
        with session(engine) as s:
            outcomes = list(s.scalars(select(Attempt.outcome)
                                      .where(Attempt.post_id == post_id)
                                      .order_by(Attempt.id)))  # type: ignore[arg-type]
        assert outcomes == ["in_doubt", "settled_published"]


def test_until_drained_ends_once_a_post_in_doubt_is_parked_for_staff(
        engine: Engine, tokens: Callable[[list[str]], None],
        caplog: pytest.LogCaptureFixture) -> None:
    with CannotTell() as network:
        tokens(["akun-a"])
        in_doubt_on_create(network)
        post_id = queue_post(engine, "akun-a", utcnow())
        settings = make_settings(str(engine.url), ["akun-a"], network.url,
                                 options={"read_timeout": 0.3})
        daemon = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
        with caplog.at_level(logging.INFO, logger="siar.daemon"), draining(daemon):
            pass
        # probed once, the network could not tell: staff settle it (siar resolve)
        assert network.lookups_received >= 1
        assert status_of(engine, post_id) == Status.UNKNOWN
        # the probe's end is logged like a settlement, once
        held = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith(f"post {post_id} (akun-a) is in doubt and its "
                                             "network cannot tell: held for staff")]
        assert len(held) == 1, [r.getMessage() for r in caplog.records]
        with session(engine) as s:
            alerts = list(s.scalars(select(Alert.key)))  # type: ignore[arg-type]
        assert [key for key in alerts if key.startswith(f"unknown:{post_id}:")]
        assert daemon.drained()


def test_until_drained_probes_the_posts_in_doubt_behind_those_parked_for_staff(
        engine: Engine, tokens: Callable[[list[str]], None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # one probe a housekeeping run: the second post in doubt stands behind the first,
    # which its probe parks for staff; it must be probed all the same
    monkeypatch.setattr(jobs, "PROBES_PER_RUN", 1)
    names = ["akun-a", "akun-b"]
    with CannotTell() as network:
        tokens(names)
        network.fail_next(Fault(delay=1.0, apply=True, status=201, body={}), times=2)
        posts = [queue_post(engine, name, utcnow()) for name in names]
        settings = make_settings(str(engine.url), names, network.url,
                                 options={"read_timeout": 0.3})
        daemon = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
        with draining(daemon):
            pass
        assert {status_of(engine, p) for p in posts} == {Status.UNKNOWN}
        assert len({call.path for call in network.calls("GET")}) == len(posts)  # each probed
