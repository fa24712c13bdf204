"""Run Siar and the naive design on the issue's workloads and print one table.

    python -m bench.run            # full workloads (about 10 minutes)
    python -m bench.run --quick    # smaller workloads, for a quick look

Every figure is absolute; "ratio" compares Siar with the naive design on the same
workload in the same run (> 1 means Siar is better, whatever the unit).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import bench_daemon, bench_naive
from bench.common import Figures, sqlite_url

#: for these figures lower is better; for the others higher is better
LOWER_IS_BETTER = ("_ms", "drain_s", "start_s", "rss_mb", "lost_silently", "duplicates")


@contextmanager
def database(backend: str) -> Iterator[tuple[Path, Callable[[], str]]]:
    """A scratch folder and a function giving a fresh database URL on ``backend``."""
    folder = Path(tempfile.mkdtemp(prefix="siar-bench-"))
    counter = iter(range(1_000_000))
    try:
        if backend == "sqlite":
            yield folder, lambda: sqlite_url(folder, f"siar-{next(counter)}")
        else:
            from tests.conftest import new_postgres_database, postgres_server

            with postgres_server(durable=True) as server:
                yield folder, lambda: new_postgres_database(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def print_table(rows: list[Figures], baseline: dict[tuple[str, str], dict[str, float]]
                | None = None) -> None:
    baseline = baseline or {}
    print(f"{'design':<7} {'db':<9} {'workload':<38} {'figure':<18} {'value':>12} {'ratio':>8}")
    for row in rows:
        naive = baseline.get((row.workload, row.design), {}) if row.design == "siar" else {}
        for name, value in row.values.items():
            ratio = ""
            if name in naive and naive[name] and value:
                better = (naive[name] / value if name.endswith(LOWER_IS_BETTER)
                          else value / naive[name])
                ratio = f"{better:.1f}x"
            print(f"{row.design:<7} {row.backend:<9} {row.workload:<38} {name:<18} "
                  f"{value:>12.1f} {ratio:>8}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    late = {"posts": 2000, "span": 12.0} if args.quick else {}
    burst = {"posts": 1000} if args.quick else {}
    scale = {"posts": 100_000} if args.quick else {}
    rows: list[Figures] = []
    with database("sqlite") as (folder, _):
        naive = [bench_naive.lateness(folder, **late), bench_naive.burst(folder, **burst),
                 bench_naive.crash_once(folder)]
    rows += naive
    for backend in args.backends.split(","):
        with database(backend) as (folder, new_url):
            rows.append(bench_daemon.lateness(folder, new_url(), backend, **late))
            rows.append(bench_daemon.burst(folder, new_url(), backend, **burst))
            rows.append(bench_daemon.crash_once(folder, new_url(), backend))
            if not args.skip_scale:
                rows.append(bench_daemon.scale(folder, new_url(), backend, **scale))
    baseline = {(n.workload, "siar"): n.values for n in naive}
    print_table(rows, baseline)


if __name__ == "__main__":
    main()
