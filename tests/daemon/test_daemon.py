"""The running daemon: on time, after downtime, on SIGTERM, with NOTIFY, health and status."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.service import Daemon
from scheduler.db import session
from scheduler.health import HealthServer
from scheduler.models import Alert, Attempt, Post, Status
from scheduler.settings import Settings
from scheduler.status import snapshot
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, queue_post, token_env, write_config
from tests.daemon.processes import ROOT, Output, start_daemon
from tests.fakes.counting import CountingChannel, CountingNetwork
from tests.fakes.server import FakeRequest, Response

#: a safety net for waits on events: generous, never a measure of speed
PATIENCE = 30.0


@contextmanager
def running(settings: Settings, engine: Engine) -> Iterator[Daemon]:
    daemon = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the daemon did not stop"


def wait_for(condition: Callable[[], bool], timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def statuses(engine: Engine) -> dict[int, str]:
    with session(engine) as s:
        return dict(s.execute(select(Post.id, Post.status)).all())  # type: ignore[arg-type]


class HeldNetwork(CountingNetwork):
    """The counting network, holding each new post's answer until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def _create(self, request: FakeRequest) -> Response:
        self.entered.set()
        self.release.wait(PATIENCE)
        return super()._create(request)

    @contextmanager
    def answering_at_the_end(self) -> Iterator[None]:
        """Lets every answer go when the block ends (a failed test must not hold a
        daemon that is stopping)."""
        try:
            yield
        finally:
            self.release.set()


def lease_until(engine: Engine, post_id: int) -> datetime:
    with session(engine) as s:
        until = s.scalar(select(Post.lease_until).where(Post.id == post_id))
    assert until is not None, "the post lost its lease (taken back, not in flight)"
    return until


#: a poll interval no test outlives: a post found while it runs was not found by a poll
NEVER = 3600.0


def published(engine: Engine, post_id: int) -> Callable[[], bool]:
    return lambda: statuses(engine)[post_id] == Status.PUBLISHED


def listening(engine: Engine) -> bool:
    """A session of this database is idle after ``LISTEN``: the daemon's listener is in."""
    with engine.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle' AND query LIKE 'LISTEN %'")))


def test_on_sqlite_a_post_queued_meanwhile_is_noticed_by_a_later_poll(
        sqlite_engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a"])
    settings = make_settings(str(sqlite_engine.url), ["akun-a"], network.url,
                             poll_interval=0.5)
    first = queue_post(sqlite_engine, "akun-a", utcnow())  # found by the round at start
    with running(settings, sqlite_engine):
        wait_for(published(sqlite_engine, first))
        # SQLite has no NOTIFY and nothing else is due: only a poll can find this one
        meanwhile = queue_post(sqlite_engine, "akun-a", utcnow())
        wait_for(published(sqlite_engine, meanwhile))
    assert network.total() == 2


def test_the_daemon_wakes_for_the_due_time_it_knows_of_and_never_sends_before_it(
        sqlite_engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a"])
    settings = make_settings(str(sqlite_engine.url), ["akun-a"], network.url,
                             poll_interval=NEVER)
    due = utcnow() + timedelta(seconds=1.5)
    post_id = queue_post(sqlite_engine, "akun-a", due)
    # the round at start sees it (not yet due) and sets its own wake-up: no poll comes
    with running(settings, sqlite_engine):
        wait_for(published(sqlite_engine, post_id))
    [(arrived, *_)] = network.arrivals.values()
    assert arrived >= due.timestamp(), "sent before its time"


@pytest.mark.postgres
def test_a_post_queued_by_the_cli_is_noticed_through_notify_without_a_poll(
        pg_engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a"])
    url = pg_engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, ["akun-a"], network.url, poll_interval=NEVER)
    first = queue_post(pg_engine, "akun-a", utcnow())  # found by the round at start
    with running(settings, pg_engine):
        wait_for(published(pg_engine, first))
        wait_for(lambda: listening(pg_engine))
        # the next poll is an hour away: only the NOTIFY of the queueing can wake the daemon
        queued = queue_post(pg_engine, "akun-a", utcnow())
        wait_for(published(pg_engine, queued))
    assert network.total() == 2


def test_after_downtime_posts_within_grace_go_out_in_due_order_older_ones_are_missed(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a"])
    now = utcnow()
    stale = queue_post(engine, "akun-a", now - timedelta(hours=2))
    recent = [queue_post(engine, "akun-a", now - timedelta(minutes=m), text=f"m{m}")
              for m in (30, 50, 10)]
    settings = make_settings(str(engine.url), ["akun-a"], network.url, grace_minutes=60)
    with running(settings, engine):
        wait_for(lambda: network.total() == 3)
    result = statuses(engine)
    assert result[stale] == Status.MISSED
    assert all(result[p] == Status.PUBLISHED for p in recent)
    order = sorted(network.arrivals.values())
    assert [a[2] for a in order] == [recent[1], recent[0], recent[2]]  # 50, 30, 10 min late
    with session(engine) as s:
        [alert] = s.scalars(select(Alert).where(Alert.kind == "missed")).all()
    assert "siar reschedule" in alert.message and "akun-a" in alert.message


def test_a_post_in_doubt_is_settled_by_the_probe_without_resending(
        sqlite_engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    from tests.fakes.server import Fault

    tokens(["akun-a"])
    network.fail_next(Fault(delay=1.0, apply=True, status=201, body={}))
    post_id = queue_post(sqlite_engine, "akun-a", utcnow())
    settings = make_settings(str(sqlite_engine.url), ["akun-a"], network.url,
                             options={"read_timeout": 0.3})
    with running(settings, sqlite_engine):
        wait_for(lambda: statuses(sqlite_engine)[post_id] == Status.PUBLISHED)
    assert network.total() == 1 and len(network.calls("POST")) == 1


def test_the_watchdog_alerts_once_when_due_posts_are_not_picked_up(
        engine: Engine, network: CountingNetwork) -> None:
    settings = make_settings(str(engine.url), ["akun-a"], network.url,
                             watchdog_seconds=60)
    queue_post(engine, "akun-a", utcnow() - timedelta(minutes=5))
    daemon = Daemon(settings, engine=engine)
    assert snapshot(engine, settings.daemon).stuck
    daemon.jobs.watchdog()
    daemon.jobs.watchdog()
    with session(engine) as s:
        alerts = s.scalars(select(Alert).where(Alert.kind == "watchdog")).all()
    assert len(alerts) == 1 and "siar status" in alerts[0].message


def test_healthz_turns_red_when_due_posts_wait_and_metrics_show_the_queue(
        sqlite_engine: Engine) -> None:
    from scheduler.settings import DaemonSettings

    cfg = DaemonSettings(watchdog_seconds=60)
    server = HealthServer(0, node="n1", snapshot=lambda: snapshot(sqlite_engine, cfg),
                          counters=lambda: {"published": 3},
                          dispatcher_fresh=lambda: True).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert requests.get(f"{base}/healthz", timeout=2).status_code == 200
        queue_post(sqlite_engine, "akun-a", utcnow() - timedelta(minutes=5))
        answer = requests.get(f"{base}/healthz", timeout=2)
        assert answer.status_code == 503 and "not picked up" in answer.json()["problems"][0]
        metrics = requests.get(f"{base}/metrics", timeout=2).text
        assert 'siar_posts{status="scheduled"} 1' in metrics
        assert 'siar_outcomes_total{node="n1",outcome="published"} 3' in metrics
        assert "siar_oldest_overdue_seconds 3" in metrics  # ~300 s
    finally:
        server.stop()


# --- as real processes --------------------------------------------------------------------------


def test_sigterm_lets_the_post_in_flight_finish_then_stops(
        tmp_path: Path, sqlite_engine: Engine) -> None:
    with HeldNetwork() as held:
        url = str(sqlite_engine.url)
        config = write_config(tmp_path / "siar.toml", url, ["akun-a"], held.url,
                              poll_interval=0.2)
        post_id = queue_post(sqlite_engine, "akun-a", utcnow())
        daemon = start_daemon(config, token_env(["akun-a"]), "--verbose")
        output = Output(daemon)
        try:
            assert held.entered.wait(PATIENCE), "the post was never sent"
            daemon.send_signal(signal.SIGTERM)
            assert output.wait_for("finishing in-flight posts"), output.text(timeout=0)
            held.release.set()  # the network answers after the daemon began stopping
            assert daemon.wait(timeout=PATIENCE) == 0, output.text()
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    assert statuses(sqlite_engine)[post_id] == Status.PUBLISHED


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config", str(config),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "250"})


def test_status_resolve_and_resume_commands(tmp_path: Path, sqlite_engine: Engine,
                                            network: CountingNetwork) -> None:
    from channels.base import AuthFailed, InDoubt

    config = write_config(tmp_path / "siar.toml", str(sqlite_engine.url),
                          ["akun-a", "akun-b"], network.url)
    doubtful = queue_post(sqlite_engine, "akun-a", utcnow() - timedelta(seconds=1))
    paused = queue_post(sqlite_engine, "akun-b", utcnow() - timedelta(seconds=1))
    for claim in queue.claim_due(sqlite_engine, "n1", limit=5):
        queue.begin_publishing(sqlite_engine, claim, "n1")
        outcome = InDoubt("reset after send") if claim.post_id == doubtful else AuthFailed(
            "HTTP 401: invalid_token")
        queue.finalize(sqlite_engine, claim.post_id, claim.attempt, outcome)
    status = run_cli(config, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["queue"]["unknown"] == 1 and data["queue"]["paused"] == 1
    assert data["paused_accounts"] == {"akun-b": "HTTP 401: invalid_token"}
    with session(sqlite_engine) as s:
        release_id = s.get(Post, doubtful).release_id  # type: ignore[union-attr]
    text = run_cli(config, "status").stdout
    assert f"siar resolve {release_id}/akun-a" in text and "siar accounts resume akun-b" in text
    resolved = run_cli(config, "resolve", f"{release_id}/akun-a", "--published",
                       "https://example.org/p/1")
    assert resolved.returncode == 0, resolved.stderr
    assert statuses(sqlite_engine)[doubtful] == Status.PUBLISHED
    again = run_cli(config, "resolve", f"{release_id}/akun-a", "--resend")
    assert again.returncode == 1 and "only posts in doubt" in again.stderr
    resumed = run_cli(config, "accounts", "resume", "akun-b")
    assert resumed.returncode == 0, resumed.stderr
    assert statuses(sqlite_engine)[paused] == Status.RETRY


def test_resume_says_which_paused_posts_are_past_their_grace_and_will_be_missed(
        tmp_path: Path, engine: Engine, db_url: str, network: CountingNetwork) -> None:
    from channels.base import AuthFailed

    config = write_config(tmp_path / "siar.toml", db_url, ["akun-b"], network.url,
                          grace_minutes=10.0)
    on_time = queue_post(engine, "akun-b", utcnow() - timedelta(minutes=1))
    too_late = queue_post(engine, "akun-b", utcnow() - timedelta(minutes=30))
    for claim in queue.claim_due(engine, "n1", limit=5, default_concurrency=2):
        queue.begin_publishing(engine, claim, "n1")
        queue.finalize(engine, claim.post_id, claim.attempt, AuthFailed("HTTP 401"))
    with session(engine) as s:
        late_release = s.get(Post, too_late).release_id  # type: ignore[union-attr]

    resumed = run_cli(config, "accounts", "resume", "akun-b")

    assert resumed.returncode == 0, resumed.stderr
    assert "2 paused post(s) go back to the queue" in resumed.stdout
    assert f"1 post(s) are past their time plus the grace period and will be marked " \
        f"missed, not sent: {late_release}/akun-b" in " ".join(resumed.stdout.split())
    assert statuses(engine)[on_time] == Status.RETRY


def test_once_publishes_everything_due_now_then_returns(
        sqlite_engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    tokens(["akun-a", "akun-b"])
    due = utcnow() - timedelta(seconds=1)
    posts = [queue_post(sqlite_engine, account, due) for account in ("akun-a", "akun-a",
                                                                      "akun-a", "akun-b")]
    later = queue_post(sqlite_engine, "akun-b", utcnow() + timedelta(hours=1))
    settings = make_settings(str(sqlite_engine.url), ["akun-a", "akun-b"], network.url)
    summary = Daemon(settings, engine=sqlite_engine,
                     channel_classes={"counting": CountingChannel}).run(once=True)
    assert summary.published == 4
    result = statuses(sqlite_engine)
    assert all(result[p] == Status.PUBLISHED for p in posts)
    assert result[later] == Status.SCHEDULED


def test_a_slow_publish_keeps_its_lease_while_the_daemon_lives(
        sqlite_engine: Engine, tokens: Callable) -> None:
    tokens(["akun-a"])
    # thirteen beats a lease: a live daemon on a loaded host still renews within it
    lease = timedelta(seconds=2.0)
    with HeldNetwork() as held:
        post_id = queue_post(sqlite_engine, "akun-a", utcnow())
        settings = make_settings(str(sqlite_engine.url), ["akun-a"], held.url,
                                 lease_seconds=lease.total_seconds(), heartbeat_seconds=0.15)
        with running(settings, sqlite_engine), held.answering_at_the_end():
            assert held.entered.wait(PATIENCE)  # on the network, which holds the answer
            begun_until = lease_until(sqlite_engine, post_id)
            # the heartbeat renews it: the request has lasted more than two leases
            wait_for(lambda: lease_until(sqlite_engine, post_id) > begun_until + 2 * lease)
            held.release.set()
            wait_for(published(sqlite_engine, post_id))
    with session(sqlite_engine) as s:
        outcomes = list(s.scalars(select(Attempt.outcome).where(Attempt.post_id == post_id)))
    assert outcomes == ["published"]  # never reaped into "crashed"/unknown


def test_a_restarted_daemon_takes_over_a_dead_local_predecessor_at_once(
        sqlite_engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    from scheduler.models import Node

    tokens(["akun-a"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    post_id = queue_post(sqlite_engine, "akun-a", utcnow())
    [claim] = queue.claim_due(sqlite_engine, "ghost", lease=3600)
    queue.begin_publishing(sqlite_engine, claim, "ghost", lease=3600)
    with session(sqlite_engine) as s:
        s.add(Node(name="ghost", host=socket.gethostname(), pid=dead.pid))
    settings = make_settings(str(sqlite_engine.url), ["akun-a"], network.url)
    with running(settings, sqlite_engine):
        # the ghost never sent it: the probe finds nothing, so it is sent now, once
        wait_for(lambda: statuses(sqlite_engine)[post_id] == Status.PUBLISHED)
    assert network.total() == 1
    with session(sqlite_engine) as s:
        outcomes = list(s.scalars(select(Attempt.outcome).where(Attempt.post_id == post_id)
                                  .order_by(Attempt.id)))
    assert outcomes == ["crashed", "settled_retry", "published"]


def test_posts_in_doubt_are_probed_while_new_posts_go_out(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    # A restart after kill -9 with posts in doubt: their probes wait on the network, and
    # new due posts must not wait behind them.
    from scheduler.daemon.jobs import PROBES_PER_NETWORK
    from scheduler.models import Node

    names = [f"akun-{i}" for i in range(PROBES_PER_NETWORK + 2)]
    tokens(names)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    doubtful = [queue_post(engine, name, utcnow()) for name in names[:-1]]
    for claim in queue.claim_due(engine, "ghost", lease=3600):
        queue.begin_publishing(engine, claim, "ghost", lease=3600)
    with session(engine) as s:
        s.add(Node(name="ghost", host=socket.gethostname(), pid=dead.pid))
    network.lookups_answer.clear()  # every probe waits for its answer
    fresh = queue_post(engine, names[-1], utcnow())
    settings = make_settings(str(engine.url), names, network.url)
    try:
        with running(settings, engine):
            # probes under way, several at once, at most PROBES_PER_NETWORK on one network
            wait_for(lambda: network.lookups_received == PROBES_PER_NETWORK)
            wait_for(published(engine, fresh))  # and the new post went out meanwhile
            assert all(statuses(engine)[p] == Status.UNKNOWN for p in doubtful)
            network.lookups_answer.set()
            # the ghost sent nothing: each is found absent, sent again, once
            wait_for(lambda: all(statuses(engine)[p] == Status.PUBLISHED for p in doubtful))
    finally:
        network.lookups_answer.set()
    assert network.total() == len(names)


def test_a_daemon_restarted_under_its_fixed_name_says_it_is_the_live_process(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    # Otherwise its node row keeps the dead predecessor's pid, and the next daemon started
    # on this host takes the live one for dead and expires the leases it is sending under.
    from scheduler.models import Node

    tokens(["akun-a"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with session(engine) as s:  # "web1" was killed with -9: its row says it is running
        s.add(Node(name="web1", host=socket.gethostname(), pid=dead.pid,
                   heartbeat_at=utcnow() - timedelta(seconds=5)))
    settings = make_settings(str(engine.url), ["akun-a"], network.url, node="web1")
    with running(settings, engine):
        post_id = queue_post(engine, "akun-a", utcnow())
        wait_for(published(engine, post_id))  # well past its first heartbeat
        with session(engine) as s:
            node = s.get(Node, "web1")
            assert node is not None and node.pid == os.getpid() and node.stopped_at is None


def test_an_auth_failure_pauses_the_account_and_staff_get_one_alert(
        engine: Engine, network: CountingNetwork, tokens: Callable) -> None:
    from scheduler.settings import AccountSettings
    from tests.fakes.webhook import FakeWebhookReceiver

    tokens(["akun-a", "akun-b"])
    network.revoked.add("akun-a")
    due = utcnow() - timedelta(seconds=1)
    refused = [queue_post(engine, "akun-a", due) for _ in range(2)]
    other = queue_post(engine, "akun-b", due)
    with FakeWebhookReceiver() as receiver:
        staff = AccountSettings(name="staf", network="webhook", base_url=receiver.hook_url)
        settings = make_settings(str(engine.url), ["akun-a", "akun-b"], network.url,
                                 notify=[staff])
        with running(settings, engine):
            wait_for(lambda: statuses(engine)[other] == Status.PUBLISHED
                     and len(receiver.created) == 1)
            # a claim round after the pause: it would take akun-a's waiting post too, were
            # the account not paused
            after = queue_post(engine, "akun-b", utcnow())
            wait_for(published(engine, after))
        # stopped: every alert the daemon made was delivered before it returned
        [alert] = receiver.created.values()
    result = statuses(engine)
    assert sorted(result[p] for p in refused) == [Status.PAUSED, Status.SCHEDULED]
    assert "akun-a" in alert["parts"][0] and "siar accounts resume akun-a" in alert["parts"][0]
    assert network.total() == 2  # akun-b's two posts; akun-a's refused one created nothing
    assert len(receiver.calls("POST")) == 1
