"""The design a user would otherwise write, measured on the same workloads as Siar.

One APScheduler 3.x date job per post in its ``SQLAlchemyJobStore`` on SQLite, a
20-thread pool, ``requests.post`` in the job. ``misfire_grace_time=None`` so late jobs
still run (with the default of 1 s a burst would silently skip most of them).
APScheduler deletes a date job from its store when it hands it to the pool, so a
``kill -9`` loses every job that was handed over but not finished.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.common import TOKEN, CountingNetwork, Figures, lateness_ms, wait_until

ROOT = Path(__file__).resolve().parents[1]


def post_it(network_url: str, account: str, key: str, due: float) -> None:
    """The job: publish one post (what the naive design's jobs do)."""
    requests.post(f"{network_url}/accounts/{account}/posts", timeout=30,
                  headers={"Authorization": f"Bearer {TOKEN}"},
                  json={"key": key, "text": f"post {key}", "due": due})


def _scheduler(jobs_db: Path, *, paused: bool) -> object:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{jobs_db}")},
        executors={"default": ThreadPoolExecutor(20)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone=UTC)
    scheduler.start(paused=paused)
    return scheduler


def add_jobs(jobs_db: Path, network_url: str, schedule: list[tuple[str, float]]) -> float:
    """Store one date job per post; returns jobs added per second."""
    scheduler = _scheduler(jobs_db, paused=True)
    started = time.perf_counter()
    for i, (account, due) in enumerate(schedule):
        scheduler.add_job(post_it, "date",  # type: ignore[attr-defined]
                          run_date=datetime.fromtimestamp(due, UTC), id=f"post-{i}",
                          args=[network_url, account, f"post-{i}", due])
    rate = len(schedule) / (time.perf_counter() - started)
    scheduler.shutdown(wait=False)  # type: ignore[attr-defined]
    return rate


def serve(jobs_db: Path) -> None:
    """Run the stored jobs until SIGTERM (the naive daemon process)."""
    scheduler = _scheduler(jobs_db, paused=False)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    while not stop:
        time.sleep(0.2)
    scheduler.shutdown(wait=True)  # type: ignore[attr-defined]


def _start(jobs_db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.bench_naive", "serve",
                             str(jobs_db)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def _fresh(folder: Path) -> Path:
    path = folder / "naive-jobs.db"
    path.unlink(missing_ok=True)
    return path


def _lead(posts: int) -> float:
    """Seconds from now to the first job's time: adding the jobs must be over by then.
    It ran at 800 jobs/s on a quiet host and at 270/s on a busy one, when the first jobs
    came due before they were stored (p50 lateness 30 s); ``queue_overran_s`` shows it."""
    return 5.0 + posts / 250


def _accounts(count: int) -> list[str]:
    return [f"akun-{i:03d}" for i in range(count)]


def lateness(folder: Path, *, posts: int = 10_000, span: float = 60.0,
             accounts: int = 100) -> Figures:
    names = _accounts(accounts)
    jobs = _fresh(folder)
    with CountingNetwork(keep_request_log=False) as network:
        start = time.time() + _lead(posts)
        rate = add_jobs(jobs, network.url,
                        [(names[i % accounts], start + span * i / posts) for i in range(posts)])
        overran = max(0.0, time.time() - start)
        process = _start(jobs)
        started = time.time()
        try:
            # adding the jobs may have overrun the whole span: still let the backlog drain
            done = wait_until(lambda: network.total() >= posts,
                              max(0.0, start - time.time() + span) + 60)
        finally:
            _stop(process)
        # as for Siar's real path: only jobs due once the process ran count
        figures = lateness_ms(network, since=started) | {
            "add_jobs_per_s": rate, "queue_overran_s": overran, "complete": float(done),
            "arrived": float(network.total())}
    return Figures("naive", "sqlite", f"lateness {posts} over {span:g}s", figures)


def burst(folder: Path, *, posts: int = 5_000, accounts: int = 100,
          latency: float = 0.05) -> Figures:
    names = _accounts(accounts)
    jobs = _fresh(folder)
    with CountingNetwork(latency=latency, keep_request_log=False) as network:
        due = time.time() + _lead(posts)
        add_jobs(jobs, network.url, [(names[i % accounts], due) for i in range(posts)])
        overran = max(0.0, time.time() - due)
        process = _start(jobs)
        try:
            done = wait_until(lambda: network.total() >= posts, 600)
        finally:
            _stop(process)
        last = max(a[0] for a in network.arrivals.values())
    return Figures("naive", "sqlite", f"burst {posts} at once, {latency * 1000:g} ms network",
                   {"posts_per_s": posts / max(last - due, 1e-9), "drain_s": last - due,
                    "queue_overran_s": overran, "complete": float(done)})


def crash_once(folder: Path, *, posts: int = 1_000, accounts: int = 100,
               latency: float = 0.05) -> Figures:
    """kill -9 once while ``posts`` are due, restart, count what never arrived."""
    names = _accounts(accounts)
    jobs = _fresh(folder)
    with CountingNetwork(latency=latency, keep_request_log=False) as network:
        due = time.time() + 5.0 + posts / 800
        add_jobs(jobs, network.url, [(names[i % accounts], due + 2.0 * i / posts)
                                     for i in range(posts)])
        process = _start(jobs)
        wait_until(lambda: network.total() >= posts // 3, 120)
        process.kill()
        process.wait()
        process = _start(jobs)
        try:
            wait_until(lambda: network.total() >= posts, 20)
        finally:
            _stop(process)
        received = len(network.created)
        duplicates = len(network.duplicates())
    return Figures("naive", "sqlite", f"kill -9 once, {posts} due",
                   {"lost_silently": float(posts - received), "duplicates": float(duplicates)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("jobs_db", type=Path)
    args = parser.parse_args()
    serve(args.jobs_db)


if __name__ == "__main__":
    main()
