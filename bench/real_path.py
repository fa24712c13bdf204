"""Siar on the real path: the CLI, the daemon process(es) and the real adapters.

Posts are queued with ``siar add`` (several files in one call: the bulk path), published by
``siar daemon`` processes through the Mastodon, Bluesky, Telegram and webhook adapters, to
fake networks in processes of their own (:mod:`bench.fakenet`) that answer after
``latency`` seconds. Figures come from what the fake networks received, the database read
with plain SQL, and ``/proc``:

* ``posts_per_s``: posts over the time from the first to the last post answered as created;
* ``p50_ms``/``p99_ms``: when the create request reached the network, minus its due time;
* ``cpu_ms_per_post_daemon`` / ``_postgres`` / ``_fakes``: CPU (user + system) of the
  daemon processes, of the PostgreSQL server with its backends, and of the fake networks,
  from just before the first post is due until the last was answered, per post;
* ``transactions_per_post`` (PostgreSQL): transactions the database counted over the window
  (``pg_stat_database``), per post; ``statements_per_post``: statements it ran, BEGIN and
  COMMIT included (``pg_stat_statements``, loaded by :func:`bench.run.count_statements`),
  the most frequent of them printed with their calls and execution time per post;
* ``share_min_pct`` / ``share_max_pct`` (several daemons): the smallest and largest part
  of the posts one daemon published, from the attempt log;
* ``first_new_post_s`` (kill -9): from the restart to the first post answered that was not
  in flight at the kill; ``restart_ready_s``: to the restarted daemon's first heartbeat;
  ``restart_cpu_s``: the daemon's CPU by the first new post (imports and start included);
* ``start_s`` / ``start_cpu_s`` / ``rss_mb`` (scale): with ``scale.queued`` posts queued
  for next week, from ``siar daemon``'s launch to its first post (a release queued with
  ``siar add``, due at once) answered by its network, the daemon's CPU by then, and its
  resident memory after ``scale.steady`` seconds of steady state (polls, heartbeats,
  housekeeping over every row); the queued posts are written through the bulk queueing
  API, which is set-up here, not measured;
* ``duplicates``: posts created more than once; ``lost``: posts not on their network whose
  row is not ``unknown`` (a post in doubt is held for staff, not lost); both from what the
  fakes themselves hold, not from what they answered; in a burst, ``posts_per_s`` is NaN
  unless every post is on its network exactly once, ``sent_early`` counts posts whose
  create request reached the network before their due time, ``unpublished`` posts whose
  row is not ``published``, ``requests_per_post`` create requests (retries included) and
  ``connections`` the connections the daemons opened to the networks;
* ``load``: the 1-minute load average at the end (the host is shared).
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import rss_mb
from bench.deployment import (
    Daemons,
    FakeNetworks,
    NetworkStats,
    Site,
    StatementCounts,
    accounts,
    cpu_seconds,
    launched,
    load_average,
    post_states,
    postmaster_pid,
    query,
    statement_counts,
    statuses,
    transactions,
    tree_cpu_seconds,
    wait_until,
    write_releases,
    write_site,
)
from bench.figures import Figures, percentile

#: statuses that are still on their way (the run is not over while a post is in one)
PENDING = ("scheduled", "claimed", "publishing", "retry")


@dataclass
class Scale:
    """Sizes of one run's workloads (the issue's by default; ``quick`` for a smoke run)."""

    accounts: int = 100
    latency: float = 0.05
    burst: int = 5_000
    late_posts: int = 10_000
    late_span: float = 60.0
    crash: int = 2_000
    add: int = 10_000
    queued: int = 1_000_000
    steady: float = 10.0
    #: seconds from queueing to the first due time, plus one per ``add_rate`` posts
    #: queued: ``siar add`` must be over by then (600-1,200 posts/s in the issue, 100-200
    #: on this host at load 10); ``queue_overran_s`` shows when it was not
    lead: float = 4.0
    add_rate: float = 150.0
    #: one fake network process per network instead of one for them all
    fakes_per_network: bool = False

    @classmethod
    def quick(cls) -> Scale:
        return cls(accounts=20, burst=400, late_posts=400, late_span=8.0, crash=200, add=1_000,
                   queued=20_000, steady=2.0)

    def lead_for(self, posts: int) -> float:
        return self.lead + posts / self.add_rate


class _Meter:
    """CPU of the daemons, the PostgreSQL server and the fake networks over one window."""

    def __init__(self, daemons: list[int], postmaster: int | None, fakes: list[int]) -> None:
        self.groups: dict[str, Callable[[], float]] = {
            "daemon": lambda: sum(cpu_seconds(p) for p in daemons),
            "fakes": lambda: sum(cpu_seconds(p) for p in fakes)}
        if postmaster is not None:
            self.groups["postgres"] = lambda: tree_cpu_seconds(postmaster)
        self.before = {name: read() for name, read in self.groups.items()}

    def per_post(self, posts: int) -> dict[str, float]:
        return {f"cpu_ms_per_post_{name}": (read() - self.before[name]) * 1000 / max(posts, 1)
                for name, read in self.groups.items()}


@contextmanager
def _deployment(folder: Path, url: str, scale: Scale) -> Iterator[tuple[Site, FakeNetworks]]:
    pairs = accounts(scale.accounts)
    with FakeNetworks(pairs, scale.latency, per_network=scale.fakes_per_network) as networks:
        yield write_site(folder, url, pairs, networks), networks


def _queue(site: Site, releases: list[tuple[int, float, list[str] | None]]) -> float:
    """``siar add`` of every release file in one call; returns the seconds it took."""
    files = write_releases(site.folder / "releases", releases)
    started = time.perf_counter()
    site.siar("add", *map(str, files))
    return time.perf_counter() - started


def _wait_published(networks: FakeNetworks, expected: int, timeout: float) -> bool:
    return wait_until(lambda: networks.answered() >= expected, timeout, poll=0.5)


def _check(stats: NetworkStats, expected: set[str]) -> dict[str, float]:
    return {"duplicates": float(stats.duplicates()),
            "lost": float(len(stats.missing(expected)))}


def burst(folder: Path, url: str, backend: str, scale: Scale, *, daemons: int = 1) -> Figures:
    """``scale.burst`` posts due at the same moment, spread over every account."""
    names = [n for n, _ in accounts(scale.accounts)]
    per_account = max(1, scale.burst // scale.accounts)
    posts = per_account * scale.accounts
    with _deployment(folder, url, scale) as (site, networks), launched(site, daemons) as run:
        # the daemons are up before the due time is chosen: on a loaded host their start
        # took longer than the lead, and the burst began before the CPU meter
        run.wait_ready()
        due = time.time() + scale.lead_for(posts)
        _queue(site, [(i, due, None) for i in range(per_account)])
        overran = max(0.0, time.time() - due)
        wait_until(lambda: time.time() >= due - 0.5, scale.lead_for(posts) + 5)
        meter = _Meter(run.pids, postmaster_pid(url), networks.pids)
        before = transactions(url), statement_counts(url)
        complete = _wait_published(networks, posts, 120 + posts / 20)
        cpu = meter.per_post(posts)
        stats = networks.stats()
    cpu |= _database_work_per_post(url, before, posts, f"burst, {_label(backend, daemons)}")
    if daemons > 1:
        cpu |= _shares(url, daemons)
    expected = {f"{n}/{i:06d}" for n in names for i in range(per_account)}
    rate, first, last = _rate(stats, expected)
    published = statuses(url)["published"]
    return Figures("siar", _label(backend, daemons), f"burst {posts} at once, "
                   f"{scale.latency * 1000:g} ms network",
                   {"posts_per_s": rate, "drain_s": last - due, "first_ms": (first - due) * 1000,
                    **cpu, "queue_overran_s": overran,
                    "requests_per_post": stats.create_requests / max(posts, 1),
                    "connections": float(stats.connections),
                    "sent_early": float(sum(1 for key in expected
                                            if stats.received.get(key, due) < due)),
                    "unpublished": float(posts - published),
                    **_check(stats, expected), "complete": float(complete),
                    "load": load_average()})


def _rate(stats: NetworkStats, expected: set[str]) -> tuple[float, float, float]:
    """Posts per second from the first to the last expected post the networks answered as
    created, with those two moments; the rate is NaN unless every expected post was
    answered and is held by its network exactly once (a run that lost or doubled posts has
    no rate to report), and only expected posts count (not a stray one)."""
    done = sorted(stats.answered[key][1] for key in expected if key in stats.answered)
    if not done:
        return float("nan"), float("nan"), float("nan")
    first, last = done[0], done[-1]
    whole = len(done) == len(expected) and all(stats.created.get(key) == 1 for key in expected)
    return (len(done) / max(last - first, 1e-9) if whole else float("nan")), first, last


def lateness(folder: Path, url: str, backend: str, scale: Scale, *,
             daemons: int = 1) -> Figures:
    """``scale.late_posts`` posts due evenly over ``scale.late_span`` seconds, one release
    file each, accounts in turn: how late does each create request reach its network?"""
    names = [n for n, _ in accounts(scale.accounts)]
    posts, span = scale.late_posts, scale.late_span
    with _deployment(folder, url, scale) as (site, networks), launched(site, daemons) as run:
        start = time.time() + scale.lead_for(posts)
        plan = [(i, start + span * i / posts, [names[i % len(names)]]) for i in range(posts)]
        _queue(site, plan)
        queued_at = time.time()
        run.wait_ready()
        overran = max(0.0, queued_at - start)
        wait_until(lambda: time.time() >= start - 0.5, scale.lead_for(posts) + 5)
        meter = _Meter(run.pids, postmaster_pid(url), networks.pids)
        before = transactions(url), statement_counts(url)
        complete = _wait_published(networks, posts, span + 120)
        cpu = meter.per_post(posts)
        stats = networks.stats()
    cpu |= _database_work_per_post(url, before, posts, f"lateness, {_label(backend, daemons)}")
    due = {f"{channels[0]}/{i:06d}": at for i, at, channels in plan if channels}
    # a post due before ``siar add`` returned was late before Siar could see it: only
    # those due after count (``measured``), and ``queue_overran_s`` says how many not
    late = [(stats.received[key] - at) * 1000 for key, at in due.items()
            if key in stats.received and at >= queued_at]
    return Figures("siar", _label(backend, daemons), f"lateness {posts} over {span:g}s",
                   {"p50_ms": percentile(late, 50), "p99_ms": percentile(late, 99),
                    "max_ms": max(late, default=float("nan")), **cpu,
                    "queue_overran_s": overran, "measured": float(len(late)),
                    **_check(stats, set(due)),
                    "complete": float(complete), "load": load_average()})


def crash(folder: Path, url: str, backend: str, scale: Scale, *, daemons: int = 1) -> Figures:
    """A burst of ``scale.crash`` posts; kill -9 once a quarter is out (every account has a
    post in flight: those are in doubt), restart, and time the first post that was not in
    flight at the kill; then wait until every post is settled and count."""
    names = [n for n, _ in accounts(scale.accounts)]
    per_account = max(1, scale.crash // scale.accounts)
    posts = per_account * scale.accounts
    with _deployment(folder, url, scale) as (site, networks):
        run = Daemons(site, daemons)
        run.launch()
        try:
            due = time.time() + scale.lead_for(posts)
            _queue(site, [(i, due, None) for i in range(per_account)])
            run.wait_ready()
            # polled often: at the test's sizes the whole burst takes a second or two
            wait_until(lambda: networks.answered() >= posts // 4, 120 + posts / 20, poll=0.02)
            run.kill()
            killed_at = time.time()
            in_doubt = statuses(url)["publishing"]
            # the requests in flight at the kill are answered meanwhile: not new posts
            time.sleep(2 * scale.latency + 0.2)
            restarted_at = run.launch()
            def settled() -> bool:
                return not any(statuses(url)[s] for s in PENDING)

            ready_s, restart_cpu_s = _restart(run, networks, networks.answered(), restarted_at,
                                              settled)

            # posts in doubt on networks that can be asked are settled by the probe; one it
            # finds missing is scheduled again, so both must hold at once (waiting for one,
            # then the other, stopped the daemons before such a post was sent: "lost")
            complete = wait_until(lambda: settled() and _unsettled_probeable(url) == 0,
                                  180 + posts / 20, poll=0.5)
        finally:
            run.stop()
        stats = networks.stats()
    states = post_states(url)
    new = [answer for key, (_, answer) in stats.answered.items()
           if stats.received.get(key, 0.0) > killed_at]
    expected = {f"{n}/{i:06d}" for n in names for i in range(per_account)}
    missing = stats.missing(expected)
    lost = sorted(k for k in missing if states.get(k) != "unknown")
    if lost:  # say which, and in what state Siar left them: a lost post is a bug to chase
        print(f"lost after kill -9 ({_label(backend, daemons)}): "
              + ", ".join(f"{k} {states.get(k)}" for k in lost), file=sys.stderr)
    return Figures("siar", _label(backend, daemons), f"kill -9 during a burst of {posts}",
                   {"in_doubt_at_kill": float(in_doubt),
                    "first_new_post_s": (min(new) - restarted_at) if new else float("nan"),
                    "restart_ready_s": ready_s, "restart_cpu_s": restart_cpu_s,
                    "duplicates": float(stats.duplicates()),
                    "lost": float(len(lost)),
                    "held_for_staff": float(sum(1 for s in states.values() if s == "unknown")),
                    "complete": float(complete), "load": load_average()})


def _restart(run: Daemons, networks: FakeNetworks, answered: int, started: float,
             settled: Callable[[], bool], timeout: float = 120) -> tuple[float, float]:
    """Watch restarted daemons: seconds until they wrote their heartbeat, and their CPU
    (imports included) when the first post answered after the restart was seen (polled
    every 50 ms, as ``wait_ready`` does: each poll opens a database connection, and on
    PostgreSQL a backend; so the CPU is read a little late, the time itself comes from
    the fake network). If every post was settled before the kill there is no new post:
    once the daemons are up and nothing is pending (asked every second) the CPU is not
    measured, instead of waiting out the timeout."""
    ready_s = float("nan")
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if ready_s != ready_s and run.ready():
            ready_s = time.time() - started
        if networks.answered() > answered:
            return ready_s, sum(cpu_seconds(p) for p in run.pids)
        if ready_s == ready_s and time.monotonic() >= next_check:
            if settled():
                break
            next_check = time.monotonic() + 1.0
        time.sleep(0.05)
    return ready_s, float("nan")


def _database_work_per_post(url: str, before: tuple[int | None, StatementCounts | None],
                            posts: int, what: str) -> dict[str, float]:
    """PostgreSQL transactions and statements per post over the window (read once the
    daemons stopped, so every backend has reported; the harness's own few queries are in
    it), and the most frequent statements printed (what a change of the hot path saves)."""
    transactions_before, statements_before = before
    figures: dict[str, float] = {}
    after = transactions(url)
    if transactions_before is not None and after is not None:
        figures["transactions_per_post"] = (after - transactions_before) / max(posts, 1)
    statements_after = statement_counts(url)
    if statements_before is not None and statements_after is not None:
        ran = statements_after.since(statements_before)
        figures["statements_per_post"] = ran.calls / max(posts, 1)
        print(f"statements per post ({what}, {posts} posts), most frequent first:",
              *ran.top(posts), sep="\n  ", flush=True)
    return figures


def _shares(url: str, daemons: int) -> dict[str, float]:
    """The smallest and largest part of the posts one daemon published (%), from the
    attempt log (a daemon that published nothing counts as 0 %)."""
    rows = query(url, "SELECT node, count(*) FROM attempt WHERE outcome = 'published' "
                      "GROUP BY node")
    counts = [int(n) for _, n in rows] + [0] * max(0, daemons - len(rows))
    total = max(sum(counts), 1)
    return {"share_min_pct": 100 * min(counts) / total, "share_max_pct": 100 * max(counts) / total}


def _unsettled_probeable(url: str) -> int:
    """Posts in doubt on networks whose adapter can look (Mastodon, Bluesky)."""
    rows = query(url, "SELECT count(*) FROM post WHERE status = 'unknown' "
                      "AND network IN ('mastodon', 'bluesky')")
    return int(rows[0][0])


def add(folder: Path, url: str, backend: str, scale: Scale) -> Figures:
    """``siar add`` of ``scale.add`` release files in one call, one account each, due next
    week, no daemon running: posts queued per second, and CPU per post of the command and
    of the PostgreSQL server."""
    names = [n for n, _ in accounts(scale.accounts)]
    due = time.time() + 7 * 86400
    with _deployment(folder, url, scale) as (site, _networks):
        site.siar("db", "upgrade")  # the schema exists before the clock starts, as deployed
        plan = [(i, due + i, [names[i % len(names)]]) for i in range(scale.add)]
        files = write_releases(site.folder / "releases", plan)
        postmaster = postmaster_pid(url)
        server_before = tree_cpu_seconds(postmaster) if postmaster else 0.0
        command_before = _children_cpu_seconds()
        started = time.perf_counter()
        done = site.siar("add", *map(str, files))
        elapsed = time.perf_counter() - started
        command = _children_cpu_seconds() - command_before
        server = (tree_cpu_seconds(postmaster) - server_before) if postmaster else None
    queued = sum(statuses(url).values())
    values = {"add_posts_per_s": scale.add / elapsed,
              "cpu_ms_per_post_command": command * 1000 / scale.add,
              "queued": float(queued), "output_lines": float(done.stdout.count("\n")),
              "load": load_average()}
    if server is not None:
        values["cpu_ms_per_post_postgres"] = server * 1000 / scale.add
    return Figures("siar", backend, f"siar add of {scale.add} files", values)


def scale(folder: Path, url: str, backend: str, scale: Scale) -> Figures:
    """``scale.queued`` posts queued for next week, then one release due at once: how long
    until the daemon, launched afterwards, publishes it, and how much memory it keeps."""
    from datetime import UTC, datetime, timedelta

    from channels.variant import Variant
    from scheduler import queue
    from scheduler.db import open_database
    from scheduler.releases import ReleaseDoc

    pairs = accounts(scale.accounts)
    with _deployment(folder, url, scale) as (site, networks):
        site.siar("db", "upgrade")
        engine = open_database(url)
        later = datetime.now(UTC) + timedelta(days=7)
        shapes = [Variant(account=name, channel=network, parts=["Kegiatan Lapas"],
                          length=[14], limit=500) for name, network in pairs]
        try:
            for offset in range(0, scale.queued, 20_000):
                queue.enqueue_bulk(engine, [
                    queue.BulkItem(ReleaseDoc(source="bench", title=f"Rilis {offset + i}",
                                              body="Isi siaran pers."),
                                   [shapes[(offset + i) % len(shapes)]],
                                   later + timedelta(seconds=offset + i))
                    for i in range(min(20_000, scale.queued - offset))])
        finally:
            engine.dispose()
        _queue(site, [(0, time.time(), [pairs[0][0]])])
        with launched(site) as run:
            started = run.started_at
            if not wait_until(lambda: networks.answered() >= 1, 120, poll=0.01):
                raise RuntimeError("the daemon published nothing in 120 s")
            start_s = time.time() - started
            start_cpu_s = sum(cpu_seconds(p) for p in run.pids)
            time.sleep(scale.steady)  # steady state over every queued row
            memory = max(rss_mb(p) for p in run.pids)
    return Figures("siar", backend, f"scale: {scale.queued:,} queued, then one due",
                   {"start_s": start_s, "start_cpu_s": start_cpu_s, "rss_mb": memory,
                    "load": load_average()})


def _children_cpu_seconds() -> float:
    """CPU of this process's children that ended (the ``siar add`` just run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _label(backend: str, daemons: int) -> str:
    return backend if daemons == 1 else f"{backend} ×{daemons}"


@contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="siar-bench-real-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
