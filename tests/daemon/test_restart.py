"""A restart after kill -9: new posts go out while the posts left in doubt are still being
looked up — SQLite and PostgreSQL, real daemon processes."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler.db import session
from scheduler.models import Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import account_names, queue_post, token_env, write_config
from tests.daemon.processes import Output, start_daemon, wait_for, wait_ready
from tests.fakes.counting import CountingChannel, CountingNetwork
from tests.fakes.server import FakeRequest, Response

#: a safety net for waits on events: generous, never a measure of speed
PATIENCE = 60.0


class SlowToAnswer(CountingNetwork):
    """Creates each post at once but holds its answer until ``answer`` is set (the daemon
    is killed meanwhile: its posts are on the network, in doubt in the database); and,
    once ``hold_lookups_for`` names a post key, holds every lookup until that post has
    been created."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.hold_lookups_for: str | None = None
        self.awaited_created = threading.Event()

    def _create(self, request: FakeRequest) -> Response:
        response = super()._create(request)
        if request.json().get("key") == self.hold_lookups_for:
            self.awaited_created.set()
            return response
        self.answer.wait(PATIENCE)
        return response

    def _lookup(self, request: FakeRequest) -> Response:
        if self.hold_lookups_for is not None:
            # a probe held here must not hold the new post back: the test's point
            self.awaited_created.wait(PATIENCE)
        return super()._lookup(request)

    def release_everything(self) -> None:
        self.answer.set()
        self.awaited_created.set()


def statuses(engine: Engine, ids: list[int]) -> dict[int, str]:
    with session(engine) as s:
        return dict(s.execute(select(Post.id, Post.status)  # type: ignore[arg-type]
                              .where(Post.id.in_(ids))).all())  # type: ignore[union-attr]


def key_of(engine: Engine, post_id: int) -> str:
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return CountingChannel.derive_key(post.publish_key, "part", 0)


def test_after_a_kill_a_new_post_goes_out_while_the_posts_in_doubt_are_being_probed(
        tmp_path: Path, db_url: str, engine: Engine) -> None:
    names = account_names(4)
    *busy, fresh_account = names
    env = token_env(names)
    with SlowToAnswer() as network:
        config = write_config(tmp_path / "siar.toml", db_url, names, network.url,
                              poll_interval=0.2, lease_seconds=30.0, heartbeat_seconds=0.5,
                              probe_seconds=1.0, backoff_base=0.2, backoff_max=1.0)
        doubtful = [queue_post(engine, name, utcnow()) for name in busy]
        first = start_daemon(config, env)
        try:
            # every post is on its network, every answer held: then the daemon dies
            wait_for(lambda: network.total() == len(busy), PATIENCE, "the posts sent")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            first.kill()
        assert set(statuses(engine, doubtful).values()) == {Status.PUBLISHING.value}
        fresh = queue_post(engine, fresh_account, utcnow())
        network.hold_lookups_for = key_of(engine, fresh)
        network.answer.set()
        second = start_daemon(config, env, "--verbose")
        log = Output(second)
        try:
            wait_ready(engine, second)
            # the probes ask the network, which answers none of them before the new post
            # arrived: had the new post waited for them, this would never come
            assert network.awaited_created.wait(PATIENCE)
            wait_for(lambda: statuses(engine, [fresh])[fresh] == Status.PUBLISHED.value,
                     PATIENCE, "the new post recorded")
            wait_for(lambda: set(statuses(engine, doubtful).values())
                     == {Status.PUBLISHED.value}, PATIENCE, "the posts in doubt settled")
            assert network.lookups_received >= len(busy)
        finally:
            network.release_everything()
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        # found on the network by the probe, never sent again; each settlement logged
        assert network.duplicates() == {}
        assert network.total() == len(names)
        text = log.text()
        for post_id, account in zip(doubtful, busy, strict=True):
            assert (f"post {post_id} ({account}) was in doubt: the network says it is there"
                    in text), text[-3000:]
