"""kill -9 at random moments while publishing: never twice, none lost — SQLite and PostgreSQL."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler.db import session
from scheduler.models import Attempt, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import account_names, queue_many, token_env, write_config
from tests.daemon.processes import count_by_status, start_daemon, wait_for, wait_ready
from tests.fakes.counting import CountingChannel, CountingNetwork

KILLS = 20
POSTS = 240
ACCOUNTS = 12


@pytest.mark.slow
# 8 workers for 12 accounts take turns between accounts (claim rounds); 16 go on with
# their own account's next post, begun in the committer's transaction
@pytest.mark.parametrize("workers", [8, 16], ids=["taking-turns", "going-on"])
def test_killing_the_daemon_never_publishes_twice_and_loses_nothing(
        tmp_path: Path, db_url: str, engine: Engine, workers: int) -> None:
    rng = random.Random(4)
    names = account_names(ACCOUNTS)
    # The network takes 25 ms before and after creating a post, so kills land on both sides.
    with CountingNetwork(latency=0.025, latency_after=0.025) as network:
        config = write_config(tmp_path / "siar.toml", db_url, names, network.url,
                              # a killed daemon's leases are taken over by the next
                              # one at its start: their length costs no wait, and a live
                              # daemon slowed by a loaded host must not lose its posts
                              workers=workers, poll_interval=0.2, lease_seconds=5.0,
                              heartbeat_seconds=0.25,
                              # a post the probe finds never created is retried after a
                              # backoff: short here, so that the test waits seconds, not
                              # the default 15-30 s
                              backoff_base=0.5, backoff_max=2.0)
        start = utcnow() + timedelta(seconds=1)
        single = [(names[i % ACCOUNTS], start + timedelta(milliseconds=40 * i))
                  for i in range(0, POSTS, 2)]
        threads = [(names[i % ACCOUNTS], start + timedelta(milliseconds=40 * i))
                   for i in range(1, POSTS, 2)]
        queue_many(engine, single)
        queue_many(engine, threads, parts=2)
        env = token_env(names)
        for _ in range(KILLS):
            daemon = start_daemon(config, env)
            # counted from its first heartbeat, not from the process start: on a loaded
            # machine the imports alone can take longer than a fixed pause, and the kill
            # would land before the daemon sent anything
            wait_ready(engine, daemon)
            time.sleep(rng.uniform(0.0, 0.6))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
        final = start_daemon(config, env)
        wait_ready(engine, final)
        try:
            wait_for(lambda: count_by_status(engine).get(Status.PUBLISHED.value) == POSTS,
                     timeout=60, what=f"all posts published; now {count_by_status(engine)}")
        finally:
            final.send_signal(signal.SIGTERM)
            assert final.wait(timeout=20) == 0
        assert network.duplicates() == {}
    with session(engine) as s:
        posts = list(s.scalars(select(Post)))
        outcomes = Counter(s.scalars(select(Attempt.outcome)))
    expected = Counter({CountingChannel.derive_key(p.publish_key, "part", i): 1
                        for p in posts for i in range(len(p.variant["parts"]))})
    assert Counter(network.created) == expected  # every part of every post exactly once
    # the kills really interrupted work in flight, and the probe settled it
    assert outcomes["crashed"] + outcomes["lease_expired"] > 0, outcomes
