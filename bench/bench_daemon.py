"""Siar's daemon under the issue's workloads, as a real process against the local fake network.

Run through ``python -m bench.run`` (which also runs the naive design and prints ratios),
or alone: ``python -m bench.bench_daemon --backend sqlite --quick``.

The daemon is started (and ready) before the posts are queued, as in a deployment. Besides
lateness and rates it reports ``cpu_ms_per_post``: the daemon process's CPU time (user +
system, all threads, from ``/proc``) from just before the first post is due until the last
one arrived, divided by the posts. On a shared host that is the steadier figure for
comparing two versions; wall-clock rates moved by ±20 % between identical runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import CountingNetwork, Figures, cpu_seconds, lateness_ms, rss_mb, wait_until
from scheduler import queue
from scheduler.db import make_engine, open_database, session
from scheduler.models import Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import release, token_env, variant, write_config
from tests.daemon.processes import start_daemon, wait_ready
from tests.fakes.counting import CountingChannel

#: ``workers`` is left to its default, a worker for every account (concurrency 1): in a
#: burst workers then go on with their own account's backlog (docs/architecture.md,
#: "Going on with the same account"); with fewer, they take turns through claim rounds.
DAEMON_SETTINGS = {"batch": 64, "poll_interval": 1.0, "lease_seconds": 60.0,
                   "heartbeat_seconds": 5.0}


def _accounts(count: int) -> list[str]:
    return [f"akun-{i:03d}" for i in range(count)]


def _queue(url: str, schedule: list[tuple[str, float]]) -> float:
    """Queue one post per (account, due epoch) in bulk; returns posts per second."""
    engine = open_database(url)
    started = time.perf_counter()
    batch: list[queue.BulkItem] = []
    for i, (account, due) in enumerate(schedule):
        batch.append(queue.BulkItem(release(f"Rilis {i}"), [variant(account)],
                                    datetime.fromtimestamp(due, UTC)))
        if len(batch) == 2000:
            queue.enqueue_bulk(engine, batch)
            batch = []
    queue.enqueue_bulk(engine, batch)
    rate = len(schedule) / (time.perf_counter() - started)
    engine.dispose()
    return rate


def _secrets(folder: Path, names: list[str]) -> dict[str, str]:
    """Tokens in a .env file (as a deployment would keep them), not in the environment:
    ``requests`` scans the whole environment for proxy settings on every request, which
    with one variable per account cost more than half a millisecond per post."""
    path = folder / "bench.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in token_env(names).items()))
    return {"SIAR_ENV_FILE": str(path)}


def _lead(posts: int) -> float:
    """Seconds from now to the first post's time: queueing must be over by then. A fixed
    5 s was not enough for 10,000 posts on PostgreSQL on a busy host (5.1 s measured), so
    the first posts were late before the daemon ever saw them, and the daemon, then at
    ~5 ms CPU a post, caught up slowly: the "191 ms p50" once reported for PostgreSQL.
    ``queue_overran_s`` shows if it happens anyway."""
    return 5.0 + posts / 1000


@dataclass
class DaemonRun:
    """What one daemon process did over a workload."""

    complete: bool
    rss_mb: float
    #: CPU (user + system) the daemon used from the first post due until the last answered
    cpu_s: float


@contextmanager
def _daemon(folder: Path, url: str, names: list[str],
            network: CountingNetwork) -> Iterator[subprocess.Popen[bytes]]:
    """A daemon process, started and ready (heartbeat written) before anything is queued:
    as deployed, it is running when staff queue posts, and its start-up (a second or two
    on a busy host) does not count as lateness."""
    config = write_config(folder / "bench.toml", url, names, network.url, **DAEMON_SETTINGS)
    engine = open_database(url)  # the schema exists before the daemon's heartbeat is looked for
    daemon = start_daemon(config, _secrets(folder, names))
    try:
        try:
            wait_ready(engine, daemon, timeout=60)
        finally:
            engine.dispose()
        yield daemon
    finally:
        _stop(daemon)


def _measure(daemon: subprocess.Popen[bytes], network: CountingNetwork, expected: int,
             timeout: float, *, first_due: float) -> DaemonRun:
    """Wait until the network received ``expected`` posts; CPU counts from just before
    ``first_due`` (the queueing and the idle daemon's polling before it do not)."""
    wait_until(lambda: time.time() >= first_due - 0.5, timeout)
    cpu_before = cpu_seconds(daemon.pid)
    done = wait_until(lambda: network.total() >= expected, timeout)
    return DaemonRun(done, rss_mb(daemon.pid), cpu_seconds(daemon.pid) - cpu_before)


def _stop(daemon: subprocess.Popen[bytes]) -> None:
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()


def lateness(folder: Path, url: str, backend: str, *, posts: int = 10_000,
             span: float = 60.0, accounts: int = 100) -> Figures:
    """a. ``posts`` due evenly over ``span`` seconds: how late does each request arrive?"""
    names = _accounts(accounts)
    with CountingNetwork(keep_request_log=False) as network, \
            _daemon(folder, url, names, network) as daemon:
        start = time.time() + _lead(posts)
        _queue(url, [(names[i % accounts], start + span * i / posts) for i in range(posts)])
        overran = max(0.0, time.time() - start)
        run = _measure(daemon, network, posts, span + 65, first_due=start)
        figures = lateness_ms(network)
    figures["cpu_ms_per_post"] = run.cpu_s * 1000 / posts
    figures["queue_overran_s"] = overran
    figures["complete"] = float(run.complete)
    return Figures("siar", backend, f"lateness {posts} over {span:g}s", figures)


def burst(folder: Path, url: str, backend: str, *, posts: int = 5_000,
          accounts: int = 100, latency: float = 0.05) -> Figures:
    """b. ``posts`` due at the same moment across ``accounts``; the network answers slowly."""
    names = _accounts(accounts)
    with CountingNetwork(latency=latency, keep_request_log=False) as network, \
            _daemon(folder, url, names, network) as daemon:
        due = time.time() + _lead(posts)
        _queue(url, [(names[i % accounts], due) for i in range(posts)])
        overran = max(0.0, time.time() - due)
        run = _measure(daemon, network, posts, 300, first_due=due)
        last = max(a[0] for a in network.arrivals.values())
        first = min(a[0] for a in network.arrivals.values())
    return Figures("siar", backend, f"burst {posts} at once, {latency * 1000:g} ms network",
                   {"posts_per_s": posts / max(last - due, 1e-9),
                    "drain_s": last - due, "first_ms": (first - due) * 1000,
                    "cpu_ms_per_post": run.cpu_s * 1000 / posts,
                    "queue_overran_s": overran, "complete": float(run.complete)})


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux): unlike wall time, it
    barely changes when the host is busy."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scale(folder: Path, url: str, backend: str, *, posts: int = 1_000_000,
          accounts: int = 100) -> Figures:
    """c. ``posts`` queued for the coming weeks: bulk queueing rate, start time, memory.

    Queueing goes through ``queue.enqueue_bulk`` in batches of 20,000 posts, 10 per
    release, and its time includes making the items (as an import would). Besides wall
    time, which a busy host stretches, it reports CPU: this process's per post queued
    (PostgreSQL's own work is not in it), and the daemon's until its first post went out.
    """
    names = _accounts(accounts)
    engine = open_database(url)
    future = utcnow() + timedelta(days=7)
    started, cpu_started = time.perf_counter(), time.process_time()
    per_release = 10
    for offset in range(0, posts, 20_000):
        queue.enqueue_bulk(engine, [
            queue.BulkItem(release(f"Rilis {offset + r}"),
                           [variant(names[(offset + r + k) % accounts])
                            for k in range(per_release)],
                           future + timedelta(seconds=offset + r))
            for r in range(0, min(20_000, posts - offset), per_release)])
    queue_rate = posts / (time.perf_counter() - started)
    queue_cpu_rate = posts / (time.process_time() - cpu_started)
    canary = "akun-canary"
    queue.enqueue(engine, release("Canary"), [variant(canary)], utcnow())
    engine.dispose()
    with CountingNetwork() as network:
        config = write_config(folder / "bench.toml", url, [*names, canary], network.url,
                              **DAEMON_SETTINGS)
        spawned = time.perf_counter()
        daemon = start_daemon(config, _secrets(folder, [*names, canary]))
        try:
            wait_until(lambda: network.total() >= 1, 60, poll=0.005)
            start_s = time.perf_counter() - spawned
            start_cpu_s = _cpu_s(daemon.pid)
            time.sleep(10)  # steady state: polling, heartbeats, housekeeping over 1M rows
            memory = rss_mb(daemon.pid)
        finally:
            _stop(daemon)
    return Figures("siar", backend, f"scale {posts:,} queued",
                   {"queue_posts_per_s": queue_rate, "queue_posts_per_cpu_s": queue_cpu_rate,
                    "start_s": start_s, "start_cpu_s": start_cpu_s, "rss_mb": memory})


def _in_doubt(url: str) -> int:
    engine = make_engine(url)
    try:
        with session(engine) as s:
            return len(s.scalars(select(Post.id).where(
                Post.status == Status.UNKNOWN.value)).all())
    finally:
        engine.dispose()


def crash_once(folder: Path, url: str, backend: str, *, posts: int = 1_000,
               accounts: int = 100, latency: float = 0.05) -> Figures:
    """kill -9 once while ``posts`` are due, restart: what was lost or sent twice?"""
    names = _accounts(accounts)
    due = time.time() + 5.0
    _queue(url, [(names[i % accounts], due + 2.0 * i / posts) for i in range(posts)])
    with CountingNetwork(latency=latency, latency_after=latency / 2,
                         keep_request_log=False) as network:
        config = write_config(folder / "bench.toml", url, names, network.url,
                              **DAEMON_SETTINGS)
        daemon = start_daemon(config, _secrets(folder, names))
        wait_until(lambda: network.total() >= posts // 3, 120)
        daemon.kill()
        daemon.wait()
        daemon = start_daemon(config, _secrets(folder, names))
        try:
            wait_until(lambda: network.total() >= posts, 60)
            # posts in flight at the kill are in doubt until the probe settles them
            wait_until(lambda: _in_doubt(url) == 0, 30, poll=0.5)
        finally:
            _stop(daemon)
        arrived = set(network.created)
        duplicates = len(network.duplicates())
    engine = make_engine(url)
    with session(engine) as s:
        rows = s.execute(select(Post.publish_key, Post.status, Post.variant)).all()
    engine.dispose()

    def on_network(key: str, variant: dict[str, Any]) -> bool:
        return all(CountingChannel.derive_key(key, "part", i) in arrived
                   for i in range(len(variant["parts"])))

    # in doubt (``unknown``) is reported to staff and settled by the probe: not lost
    held = sum(1 for _, status, _ in rows if status == Status.UNKNOWN.value)
    lost = sum(1 for key, status, variant in rows
               if not on_network(key, variant) and status != Status.UNKNOWN.value)
    return Figures("siar", backend, f"kill -9 once, {posts} due",
                   {"lost_silently": float(lost), "duplicates": float(duplicates),
                    "held_for_staff": float(held)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workload", choices=["lateness", "burst", "scale", "crash"],
                        default="burst")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from bench.run import database, print_table

    with database(args.backend) as (folder, new_url):
        run = {"lateness": lateness, "burst": burst, "scale": scale,
               "crash": crash_once}[args.workload]
        kwargs = {"lateness": {"posts": 1000, "span": 10.0}, "burst": {"posts": 1000},
                  "scale": {"posts": 50_000}, "crash": {}}[args.workload] if args.quick else {}
        print_table([run(folder, new_url(), args.backend, **kwargs)])


if __name__ == "__main__":
    main()
