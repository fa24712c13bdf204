"""Benchmark: Siar Desk's server time per page with 10,000 queued posts (target: median
and p95 ≤ 100 ms per page).

    .venv/bin/python bench/bench_web.py [--posts 10000] [--runs 50] [--database-url URL]

The pages are asked of the ASGI application directly, in this process (no socket, no
HTTP client): what is timed is the server's own work for one request, from the request to
the last byte of the answer — routing, session lookup, the queries and the template. Each
page is asked ``--runs`` times after two untimed warm-ups; printed: median and p95 wall
time, and the median CPU time of the thread (``time.thread_time``), which other load on
the machine disturbs less. The queue is 2,000 releases of 5 accounts each (10,000 posts)
spread over the next 120 days, on a scratch SQLite database (or ``--database-url``, an
empty database).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def fill(engine: Any, settings: Any, posts: int) -> int:
    """Queue ``posts`` posts (5 accounts per release); returns a release's id."""
    from channels.variant import Variant
    from scheduler import queue
    from scheduler.releases import ReleaseDoc

    accounts = [a.name for a in settings.accounts]
    start = datetime.now(UTC) + timedelta(hours=1)
    items = []
    for i in range(posts // len(accounts)):
        doc = ReleaseDoc(source="bench", title=f"Kegiatan pembinaan warga binaan {i}",
                         body="Isi siaran pers.")
        variants = [Variant(account=a, channel="console", parts=[f"Kegiatan {i} #Humas"],
                            length=[20], limit=500) for a in accounts]
        due = start + timedelta(minutes=(i * 120 * 24 * 60) // (posts // len(accounts)))
        items.append(queue.BulkItem(doc, variants, due, None,
                                    awaiting=frozenset(accounts[:1]) if i % 3 else frozenset()))
    ids = queue.enqueue_bulk(engine, items)
    return ids[len(ids) // 50]


async def ask(app: Any, path: str, cookie: str) -> tuple[int, int]:
    """One GET through the ASGI interface; the status and the body's length."""
    raw_path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8470)}
    answer: dict[str, Any] = {"status": 0, "size": 0}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["size"] += len(message.get("body", b""))

    await app(scope, receive, send)
    return answer["status"], answer["size"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    os.environ.setdefault("SIAR_HOME", tempfile.mkdtemp(prefix="siar-bench-web-"))

    from scheduler.db import open_database
    from scheduler.settings import AccountSettings, Settings
    from scheduler.web import sessions, users
    from scheduler.web.app import build

    url = args.database_url or f"sqlite:///{os.environ['SIAR_HOME']}/siar.db"
    settings = Settings(database_url=url, approval="required", accounts=[
        AccountSettings(name=f"akun-{n}", network="console") for n in range(5)])
    engine = open_database(url)
    release_id = fill(engine, settings, args.posts)
    user = users.add_user(engine, "kasubag", "penyetuju", "sandi-bench-panjang")
    cookie = f"{sessions.COOKIE}={sessions.start(engine, user)}"
    app = build(settings, engine)
    # as `siar web` does before serving: start-up frozen, the collector on
    gc.freeze()
    gc.enable()
    first = datetime.now(UTC) + timedelta(days=30)
    pages = {
        "calendar (month)": f"/kalender?tampilan=bulan&tanggal={first.date()}",
        "calendar (week)": f"/kalender?tampilan=minggu&tanggal={first.date()}",
        "release": f"/rilis/{release_id}",
        "status": "/status",
        "login": "/masuk",
    }
    loop = asyncio.new_event_loop()
    print(f"{args.posts} posts queued; {args.runs} runs per page; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'page':<18} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'bytes':>8}")
    for name, path in pages.items():
        for _ in range(2):
            loop.run_until_complete(ask(app, path, cookie))
        walls, cpus = [], []
        for _ in range(args.runs):
            wall, cpu = time.perf_counter(), time.thread_time()
            status, size = loop.run_until_complete(ask(app, path, cookie))
            cpus.append((time.thread_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
            assert status == 200, (name, status)
        print(f"{name:<18} {statistics.median(walls):>10.1f} {percentile(walls, 95):>8.1f} "
              f"{statistics.median(cpus):>8.1f} {size:>8}")
    engine.dispose()


if __name__ == "__main__":
    main()
