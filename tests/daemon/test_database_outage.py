"""The database goes away while posts are published, and comes back: every post exactly
once, every outcome recorded (none in doubt for a post that went out), alerts delivered.

A real daemon process publishes 500 posts (SQLite: 200) through the counting network while
the database is taken away under it — the real PostgreSQL server stopped and started again
on the same port, or the kernel refusing every write to the SQLite files — for longer than
a lease. The outcomes that arrive meanwhile wait in the daemon's memory; nothing may be
sent twice, nothing may end ``unknown``, and the staff alerts for the posts the network
refuses still reach the staff's mailbox.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.db import make_engine, session
from scheduler.models import Attempt, Post, Status
from scheduler.settings import AccountSettings
from scheduler.timeparse import utcnow
from tests.conftest import PostgresServer, new_postgres_database, running_postgres
from tests.daemon.conftest import account_names, release, token_env, variant, write_config
from tests.daemon.processes import (
    Output,
    count_by_status,
    start_daemon,
    wait_for,
    wait_ready,
)
from tests.fakes.counting import CountingChannel, CountingNetwork
from tests.fakes.smtp import FakeSMTP

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

ACCOUNTS = 20
#: posts whose text the network refuses (422): each ends failed, with an alert
REFUSED = 5
FORBIDDEN = "TERLARANG"
STAFF = "surel-staf"
SENDER = "siar@lapas.example.go.id"
PASSWORD = "sandi-surel-42"
#: leases are shorter than the outage, so a daemon that let them run out would lose posts;
#: long enough that a live daemon renews its leases on a loaded host (at 2 s, a daemon
#: slowed down at its start lost posts to the other before any outage)
LEASE = 6.0
OUTAGE = 7.0

Daemons = list[subprocess.Popen[bytes]]
#: take the database away from the daemons (their processes given), and give it back
Fault = tuple[Callable[[Daemons], None], Callable[[Daemons], None]]


@pytest.fixture
def restartable_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own: restarting it disturbs no other test."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSMTP]:
    with FakeSMTP(tmp_path_factory.mktemp("smtp"), username=SENDER,
                  password=PASSWORD) as server:
        yield server


def staff_mail(config: Path, mailbox: FakeSMTP) -> dict[str, str]:
    """Alerts go to the staff's mailbox ([notify]); returns the secrets' environment."""
    with config.open("a") as toml:
        toml.write(f"""
[[accounts]]
name = "{STAFF}"
network = "email"
[accounts.options]
host = "127.0.0.1"
port = {mailbox.port}
security = "starttls"
ca_file = "{mailbox.cert_path}"
from = "{SENDER}"
to = ["humas@lapas.example.go.id"]

[notify]
accounts = ["{STAFF}"]
""")
    account = AccountSettings(name=STAFF, network="email")
    return {account.secret_variable("username"): SENDER,
            account.secret_variable("password"): PASSWORD}


def queue_posts(engine: Engine, count: int, names: list[str]) -> list[int]:
    """``count`` posts due over the next seconds, ``REFUSED`` of them with a text the
    network refuses; returns the ids of those."""
    start = utcnow() + timedelta(seconds=2)
    refused = set(range(7, count, count // REFUSED)[:REFUSED])
    items = [queue.BulkItem(release(f"Rilis {i}"), [variant(
        names[i % len(names)],
        text=f"Kegiatan {FORBIDDEN}" if i in refused else "Kegiatan #HumasBergerakBersama")],
        start + timedelta(milliseconds=12 * i)) for i in range(count)]
    queue.enqueue_bulk(engine, items)
    with session(engine) as s:
        return sorted(p.id for p in s.scalars(select(Post)) if FORBIDDEN in
                      p.variant["parts"][0])


def publish_through_an_outage(tmp_path: Path, db_url: str, engine: Engine, mailbox: FakeSMTP,
                              posts: int, fault: Fault, *, daemons: int = 1) -> None:
    names = account_names(ACCOUNTS)
    mailbox.reset()
    with CountingNetwork(latency=0.01, latency_after=0.02) as network:
        network.forbidden_words.add(FORBIDDEN)
        # leases are reaped far more often than renewed: when the database returns, a
        # reaper would find every lease run out before its daemon renewed it
        config = write_config(tmp_path / "siar.toml", db_url, names, network.url,
                              workers=24, poll_interval=0.2, lease_seconds=LEASE,
                              heartbeat_seconds=LEASE / 2, housekeeping_seconds=0.1,
                              probe_seconds=0.5)
        env = token_env(names) | staff_mail(config, mailbox)
        refused = queue_posts(engine, posts, names)
        processes = [start_daemon(config, env, node=f"daemon-{i}") for i in range(daemons)]
        outputs = [Output(process) for process in processes]
        try:
            for process in processes:
                wait_ready(engine, process)
            # in the middle of the posts, with requests in flight
            wait_for(lambda: network.total() >= posts // 3, timeout=60,
                     what="a third of the posts published")
            take_away, give_back = fault
            take_away(processes)
            time.sleep(OUTAGE)  # the fault itself: longer than a lease
            give_back(processes)
            wait_for(lambda: count_by_status(engine).get(Status.PUBLISHED.value)
                     == posts - REFUSED, timeout=90,
                     what=f"every post published; now {count_by_status(engine)}")
            wait_for(lambda: len(mailbox.messages) >= REFUSED, timeout=60,
                     what=f"the {REFUSED} alerts delivered; now {len(mailbox.messages)}")
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=30) for process in processes]
        texts = [output.text() for output in outputs]
        assert codes == [0] * daemons, [text[-3000:] for text in texts]
        assert network.duplicates() == {}
    with session(engine) as s:
        rows = list(s.scalars(select(Post)))
        outcomes = Counter(s.scalars(select(Attempt.outcome)))
    # every post created exactly once (the refused ones never)
    expected = {CountingChannel.derive_key(p.publish_key, "part", 0) for p in rows
                if p.id not in refused}
    assert Counter(network.created) == Counter(dict.fromkeys(expected, 1))
    # every outcome recorded by the daemon that had it: none in doubt, none settled by a
    # probe, no lease that ran out
    assert Counter(p.status for p in rows) == {"published": posts - REFUSED,
                                                "failed": REFUSED}
    assert all(p.remote_url for p in rows if p.status == "published")
    assert set(outcomes) <= {"published", "rejected", "given_back"}, outcomes
    assert outcomes["published"] == posts - REFUSED
    # the staff heard of every refused post
    subjects = [m.message.get("Subject", "") for m in mailbox.messages]
    for post_id in refused:
        with session(engine) as s:
            post = s.get(Post, post_id)
            assert post is not None
        assert any(f"refused release {post.release_id}" in subject for subject in subjects), \
            subjects
    # each daemon logged the outage once, and its end once
    for text in texts:
        assert text.count("the database does not answer") == 1, text[-3000:]
        assert text.count("the database answers again") == 1, text[-3000:]


@pytest.mark.slow
@pytest.mark.postgres
# two daemons: the leases of one's posts, their outcomes waiting in its memory, must not be
# taken back by the other when the server returns (both were cut off from it)
@pytest.mark.parametrize("daemons", [1, 2], ids=["one daemon", "two daemons"])
def test_restarting_postgresql_in_the_middle_of_500_posts_loses_no_outcome(
        tmp_path: Path, restartable_postgres: PostgresServer, mailbox: FakeSMTP,
        daemons: int) -> None:
    db_url = new_postgres_database(restartable_postgres.url)
    engine = make_engine(db_url, pool_pre_ping=True)  # the test's own connections survive too
    try:
        publish_through_an_outage(
            tmp_path, db_url, engine, mailbox, 500, daemons=daemons,
            fault=(lambda _: restartable_postgres.stop(), lambda _: restartable_postgres.start()))
    finally:
        engine.dispose()


def refuse_file_writes(daemons: Daemons) -> None:
    """The kernel refuses every write the daemon makes to a file from now on: its
    RLIMIT_FSIZE lowered to 0, each write(2) fails with EFBIG (SQLite: "disk I/O error"),
    as on a disk that is full or read-only, and reads still work. Sockets and pipes are
    not files, so the network and the daemon's log go on."""
    for daemon in daemons:
        _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (0, hard))


def allow_file_writes(daemons: Daemons) -> None:
    for daemon in daemons:
        _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (hard, hard))


@pytest.mark.slow
def test_an_sqlite_database_that_refuses_writes_for_a_while_loses_no_outcome(
        tmp_path: Path, sqlite_engine: Engine, mailbox: FakeSMTP) -> None:
    publish_through_an_outage(tmp_path, str(sqlite_engine.url), sqlite_engine, mailbox, 200,
                              fault=(refuse_file_writes, allow_file_writes))
