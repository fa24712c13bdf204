"""Where the daemon's CPU goes in a burst: the real daemon's parts in this process, the
adapter swapped for variants, CPU per post by thread.

The daemon (pump, starter, workers, committer, a real database) runs in this process with
the counting network's accounts served by one of three adapters:

``instant``  answers ``Published`` at once: the engine alone (claims, begins, hand-overs,
             the committer, the database)
``sleep``    the same after ``--latency`` seconds of ``time.sleep``: the hand-over pattern
             of the real burst (a hundred workers asleep on the network at once)
``http``     the counting adapter over HTTP (``channels.http``, libcurl) against the
             counting network in a process of its own, so its CPU is not counted here

For each it reports the process CPU per post from just before the burst is due until the
last outcome is recorded; the CPU per post of each kind of thread (``/proc/self/task/*/
schedstat``, exact to the nanosecond: workers, committer, starter, the job scheduler's
threads, the rest) and its context switches per post (a thread that waits and is woken
counts one: a proxy for hand-overs between threads and of the GIL); claim rounds and
posts gone on with. ``--count-sql`` adds statements and transactions per post and the
driver's CPU by statement (event listeners on the engine, which cost a little CPU of
their own); ``--profile N`` a yappi CPU profile (install yappi apart; it inflates
Python-heavy functions about threefold, C calls not); ``--pin CPU`` runs the daemon's
threads on one CPU, ``--switch-interval`` sets the GIL's::

    python -m bench.bench_engine_parts --variant instant,sleep,http --posts 5000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from channels.base import Delivery, Outcome, Published
from tests.fakes.counting import CountingChannel


class InstantChannel(CountingChannel):
    """Every post is created at once, without a request: the engine alone."""

    latency = 0.0

    def publish(self, delivery: Delivery) -> Outcome:
        if self.latency:
            time.sleep(self.latency)
        return Published(delivery.publish_key, None)


def _sleeping(latency: float) -> type[InstantChannel]:
    return type("SleepChannel", (InstantChannel,), {"latency": latency})


def _thread_kind(name: str) -> str:
    for prefix, kind in (("siar-worker", "workers"), ("siar-committer", "committer"),
                         ("siar-starter", "starter"), ("APScheduler", "job scheduler"),
                         ("ThreadPoolExecutor", "jobs")):
        if name.startswith(prefix):
            return kind
    return "other"


def _threads() -> dict[int, tuple[str, float, int, int]]:
    """tid → (kind, CPU seconds, voluntary and involuntary context switches)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    seen: dict[int, tuple[str, float, int, int]] = {}
    for task in Path("/proc/self/task").iterdir():
        tid = int(task.name)
        try:
            # nanoseconds on the CPU, exact (``stat``'s ticks miss threads that run briefly)
            ran_ns = int((task / "schedstat").read_text().split()[0])
            status = (task / "status").read_text()
        except OSError:
            continue
        switches = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
                    if "ctxt_switches" in line}
        seen[tid] = (_thread_kind(names.get(tid, "?")),
                     ran_ns / 1e9,
                     switches.get("voluntary_ctxt_switches", 0),
                     switches.get("nonvoluntary_ctxt_switches", 0))
    return seen


def _by_kind(before: dict[int, tuple[str, float, int, int]],
             after: dict[int, tuple[str, float, int, int]]) -> dict[str, list[float]]:
    """kind → [CPU s, voluntary, involuntary switches, threads] between two snapshots."""
    kinds: dict[str, list[float]] = {}
    for tid, (kind, cpu, vol, invol) in after.items():
        _k, cpu0, vol0, invol0 = before.get(tid, (kind, 0.0, 0, 0))
        row = kinds.setdefault(kind, [0.0, 0.0, 0.0, 0.0])
        row[0] += cpu - cpu0
        row[1] += vol - vol0
        row[2] += invol - invol0
        row[3] += 1
    return kinds


@contextmanager
def _network(latency: float) -> Iterator[str]:
    """The counting network in a process of its own; yields its URL."""
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_engine_parts", "--serve",
                               str(latency)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait()


def _serve(latency: float) -> None:
    from tests.fakes.counting import CountingNetwork

    with CountingNetwork(latency=latency, keep_request_log=False) as network:
        print(network.url, flush=True)
        threading.Event().wait()


def run(variant: str, *, posts: int, accounts: int, latency: float, url: str,
        count_sql: bool, network_url: str | None, profile: int = 0,
        switch_interval: float | None = None) -> dict[str, Any]:
    """One burst of ``posts`` due at once through the daemon with ``variant``'s adapter."""
    from sqlalchemy import event

    from bench.bench_daemon import DAEMON_SETTINGS, _queue
    from scheduler.daemon.service import Daemon
    from scheduler.db import open_database
    from tests.daemon.conftest import make_settings, token_env

    names = [f"akun-{i:03d}" for i in range(accounts)]
    os.environ.update(token_env(names))  # the accounts' tokens, as `siar daemon` reads them
    open_database(url).dispose()  # the schema
    channel = {"instant": InstantChannel, "sleep": _sleeping(latency),
               "http": CountingChannel}[variant]
    settings = make_settings(url, names, network_url or "http://127.0.0.1:9", **DAEMON_SETTINGS)
    daemon = Daemon(settings, channel_classes={"counting": channel})
    sql: Counter[str] = Counter()
    if count_sql:
        spent: Counter[str] = Counter()

        @event.listens_for(daemon.engine, "before_cursor_execute")
        def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            sql["statements"] += 1
            conn.info["parts_began"] = time.thread_time()

        @event.listens_for(daemon.engine, "after_cursor_execute")
        def _executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            began = conn.info.pop("parts_began", None)
            if began is not None:  # the driver's execution: thread CPU, by statement
                spent[" ".join(statement.split())[:70]] += time.thread_time() - began

        @event.listens_for(daemon.engine, "commit")
        def _commit(conn: Any) -> None:
            sql["commits"] += 1
    flow, undo = _count_flow()
    runner = threading.Thread(target=daemon.run, name="daemon-main")
    runner.start()
    try:
        lead = 3.0 + posts / 2000
        due = time.time() + lead
        _queue(url, [(names[i % accounts], due) for i in range(posts)])
        if switch_interval is not None:  # after the daemon's start, which sets its own
            sys.setswitchinterval(switch_interval)
        for name in names:  # each account's HTTP session once, as a long-running daemon has
            adapter = daemon.adapters.get(name)
            getattr(adapter, "session", None)
        while time.time() < due - 0.5:
            time.sleep(0.05)
        sql.clear()
        flow.clear()
        if count_sql:
            spent.clear()
        if profile:
            import yappi  # for measuring only: not a dependency of Siar

            yappi.set_clock_type("cpu")
            yappi.start()
        threads_before, cpu_before = _threads(), time.process_time()
        started = time.perf_counter()
        while daemon.summary.published < posts:
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {daemon.summary.published} of {posts} published")
            time.sleep(0.02)
        wall = time.perf_counter() - started - 0.5
        cpu = time.process_time() - cpu_before
        threads = _by_kind(threads_before, _threads())
        if profile:
            yappi.stop()
            _print_profile(yappi, profile, posts)
    finally:
        daemon.stop()
        runner.join()
        daemon.engine.dispose()
        undo()
    figures: dict[str, Any] = {"variant": variant, "posts_per_s": posts / max(wall, 1e-9),
                               "cpu_ms_per_post": cpu * 1000 / posts,
                               "went_on": daemon.summary.went_on}
    figures.update(flow)
    for kind, (cpu_s, vol, invol, count) in sorted(threads.items()):
        figures[f"{kind} ms/post"] = cpu_s * 1000 / posts
        figures[f"{kind} switches/post"] = (vol + invol) / posts
        figures[f"{kind} threads"] = count
    if count_sql:
        figures["statements/post"] = sql["statements"] / posts
        figures["commits/post"] = sql["commits"] / posts
        for text_, seconds in spent.most_common(8):
            print(f"   {seconds * 1e6 / posts:7.1f} us/post in the driver: {text_}")
    return figures


def _count_flow() -> tuple[Counter[str], Callable[[], None]]:
    """Counts, from now on in this process, claim rounds and the posts they claimed, and
    how often workers asked to go on and the committer began a following post: the
    hand-overs a burst takes (wrapping the daemon's own functions: a benchmark only).
    Returns the counts and what puts the functions back."""
    from scheduler.daemon import committer as committer_module
    from scheduler.daemon import pump as pump_module
    from scheduler.daemon import worker as worker_module

    flow: Counter[str] = Counter()
    may = worker_module.Worker._may_go_on
    begin_next = committer_module.queue.finalize_and_begin_next
    round_ = pump_module.Pump.round

    def _may(self: Any, account: str) -> bool:
        ok = may(self, account)
        flow["asked to go on" if ok else "not asked (turns/backlog)"] += 1
        return ok

    def _next(engine: Any, items: Any, line: Any, **kw: Any) -> Any:
        recorded, begun = begin_next(engine, items, line, **kw)
        flow["go-on begun"] += len(begun)
        return recorded, begun

    def _round(self: Any) -> int:
        claimed = round_(self)
        flow["claim rounds"] += 1
        flow["claimed"] += claimed
        return claimed

    def undo() -> None:
        worker_module.Worker._may_go_on = may  # type: ignore[method-assign]
        committer_module.queue.finalize_and_begin_next = begin_next  # type: ignore[attr-defined]
        pump_module.Pump.round = round_  # type: ignore[method-assign]

    worker_module.Worker._may_go_on = _may  # type: ignore[method-assign]
    committer_module.queue.finalize_and_begin_next = _next  # type: ignore[attr-defined]
    pump_module.Pump.round = _round  # type: ignore[method-assign]
    return flow, undo


def _print_profile(yappi: Any, top: int, posts: int) -> None:
    """The ``top`` functions by CPU including callees, and by their own CPU, per post."""
    stats = yappi.get_func_stats()
    for key, title in (("ttot", "including callees"), ("tsub", "own")):
        print(f"-- {title}, microseconds of CPU per post")
        for stat in sorted(stats, key=lambda s: getattr(s, key), reverse=True)[:top]:
            print(f"{getattr(stat, key) * 1e6 / posts:9.1f}  {stat.ncall / posts:7.2f}/post  "
                  f"{stat.module.rsplit('/', 2)[-1]}:{stat.lineno} {stat.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="instant,sleep,http",
                        help="comma-separated: instant, sleep, http")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--count-sql", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="TOP",
                        help="yappi (installed apart) CPU profile: the TOP functions")
    parser.add_argument("--pin", type=int, metavar="CPU",
                        help="run the daemon's threads on this one CPU (the network is "
                             "started before, on any)")
    parser.add_argument("--switch-interval", type=float, metavar="S",
                        help="the GIL's switch interval during the burst")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        _serve(args.serve)
        return
    from bench.run import database
    from scheduler.logs import configure

    configure(False)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}, "
          f"{args.backend}")
    every_cpu = os.sched_getaffinity(0)
    with database(args.backend) as (_folder, new_url):
        _runs(args, new_url, every_cpu)
    print(f"load {os.getloadavg()[0]:.2f}")


def _runs(args: argparse.Namespace, new_url: Callable[[], str], every_cpu: set[int]) -> None:
    """``--runs`` times each variant, each on a fresh database, the figures printed."""
    for _ in range(args.runs):
        for variant in args.variant.split(","):
            with _network(args.latency) as network_url:
                if args.pin is not None:  # this thread, and the daemon's threads made later
                    os.sched_setaffinity(0, {args.pin})
                figures = run(variant, posts=args.posts, accounts=args.accounts,
                              latency=args.latency, url=new_url(),
                              count_sql=args.count_sql, network_url=network_url,
                              profile=args.profile, switch_interval=args.switch_interval)
                os.sched_setaffinity(0, every_cpu)
            print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
