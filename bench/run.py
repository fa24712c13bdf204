"""Run Siar and the naive design on the issue's workloads and print markdown tables.

    python -m bench.run                     # real path + engine only + naive, 3 runs
    python -m bench.run --quick --runs 1    # small sizes, a smoke run (a minute or two)
    python -m bench.run --path real --backends postgres --daemons 1,2,3

``--path real`` drives Siar as deployed (:mod:`bench.real_path`: ``siar add``, ``siar
daemon`` processes, the real adapters against fake networks in their own processes);
``--path engine`` runs the daemon with the counting fake adapter (:mod:`bench.bench_daemon`,
labelled "engine only": it skips what a real adapter does); ``both`` runs both. The naive
design (:mod:`bench.bench_naive`) runs in every run unless ``--no-naive``. Each cell is the
median over ``--runs`` runs with the spread (min–max) in brackets; the load average is
printed before and after, since the host is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import real_path
from bench.figures import Figures
from bench.real_path import Scale

#: for these figures lower is better; for the others higher is better
LOWER_IS_BETTER = ("_ms", "drain_s", "start_s", "rss_mb", "lost_silently", "duplicates")
ENGINE = "siar, engine only (counting fake)"


@contextmanager
def database(backend: str) -> Iterator[tuple[Path, Callable[[], str]]]:
    """A scratch folder and a function giving a fresh database URL on ``backend``."""
    from bench.common import sqlite_url

    folder = Path(tempfile.mkdtemp(prefix="siar-bench-"))
    counter = iter(range(1_000_000))
    try:
        if backend == "sqlite":
            yield folder, lambda: sqlite_url(folder, f"siar-{next(counter)}")
        else:
            from tests.conftest import new_postgres_database, running_postgres

            with running_postgres(durable=True) as server:
                count_statements(server)
                yield folder, lambda: new_postgres_database(server.url)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def count_statements(server: Any) -> None:
    """Load ``pg_stat_statements`` (a restart: it is a preloaded library) and install it in
    the template every benchmark database is made from, so that each run can count the
    statements the database ran per post. Without the extension (no ``contrib``), the
    figure is simply not reported."""
    import psycopg

    from tests.conftest import PG_BIN, TEMPLATE_DB

    if not (PG_BIN.parent / "lib" / "pg_stat_statements.so").exists():
        print("pg_stat_statements is not installed; statements are not counted")
        return
    try:
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute("ALTER SYSTEM SET shared_preload_libraries = "
                               "'pg_stat_statements'")
        server.stop()
        server.start()
        template = server.url.rsplit("/", 1)[0] + "/" + TEMPLATE_DB
        with psycopg.connect(template, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.Error as exc:
        print(f"pg_stat_statements unavailable ({exc}); statements are not counted")


def print_table(rows: list[Figures], baseline: dict[tuple[str, str], dict[str, float]]
                | None = None) -> None:
    """One run's figures, one line each (``bench.bench_daemon``'s own output)."""
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


def _number(value: float) -> str:
    if value != value:  # NaN
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def cell(values: list[float]) -> str:
    """The median, and the spread when there is more than one run."""
    if not values:
        return ""
    if any(v != v for v in values):  # NaN: not measured in some run
        measured = [v for v in values if v == v]
        return f"{cell(measured) or '–'} ({len(values) - len(measured)} not measured)"
    middle = _number(statistics.median(values))
    if len(values) == 1 or min(values) == max(values):
        return middle
    return f"{middle} ({_number(min(values))}–{_number(max(values))})"


def markdown(rows: list[Figures]) -> str:
    """Markdown tables, one per workload: a line per design and database, a column per
    figure, each cell the median over the runs with its spread."""
    workloads: dict[str, dict[tuple[str, str], dict[str, list[float]]]] = {}
    for row in rows:
        lines = workloads.setdefault(row.workload, {})
        figures = lines.setdefault((row.design, row.backend), {})
        for name, value in row.values.items():
            figures.setdefault(name, []).append(value)
    out: list[str] = []
    for workload, lines in workloads.items():
        names: list[str] = []
        for figures in lines.values():
            names += [n for n in figures if n not in names]
        runs = max(len(v) for figures in lines.values() for v in figures.values())
        out += [f"### {workload} ({runs} run{'s' if runs > 1 else ''})", "",
                "| design | database | " + " | ".join(names) + " |",
                "|---|---|" + "---|" * len(names)]
        for (design, backend), figures in lines.items():
            out.append(f"| {design} | {backend} | "
                       + " | ".join(cell(figures.get(n, [])) for n in names) + " |")
        out.append("")
    return "\n".join(out)


def _uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{datetime.now(UTC):%H:%M:%S} UTC, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def one_run(args: argparse.Namespace, urls: dict[str, Callable[[], str]],
            folder: Path) -> list[Figures]:
    """Every selected workload once (naive, real path, engine only)."""
    scale: Scale = args.scale
    wanted = args.workloads
    rows: list[Figures] = []
    folder.mkdir(parents=True, exist_ok=True)
    if args.naive:
        from bench import bench_naive

        if "burst" in wanted:
            rows.append(bench_naive.burst(folder, posts=scale.burst, accounts=scale.accounts,
                                          latency=scale.latency))
        if "lateness" in wanted:
            rows.append(bench_naive.lateness(folder, posts=scale.late_posts,
                                             span=scale.late_span, accounts=scale.accounts))
        if "crash" in wanted:
            rows.append(bench_naive.crash_once(folder, posts=scale.crash,
                                               accounts=scale.accounts, latency=scale.latency))
    for backend in args.backends:
        new_url, here = urls[backend], folder / backend
        if args.path in ("real", "both"):
            if "burst" in wanted:
                rows += [real_path.burst(here / f"burst-{n}", new_url(), backend, scale,
                                         daemons=n) for n in args.daemons]
            if "lateness" in wanted:
                rows.append(real_path.lateness(here / "late", new_url(), backend, scale))
            if "crash" in wanted:
                rows.append(real_path.crash(here / "crash", new_url(), backend, scale))
            if "add" in wanted:
                rows.append(real_path.add(here / "add", new_url(), backend, scale))
            if "scale" in wanted:
                rows.append(real_path.scale(here / "scale", new_url(), backend, scale))
        if args.path in ("engine", "both") and "burst" in wanted:
            from bench import bench_daemon

            (here / "engine").mkdir(parents=True, exist_ok=True)
            engine = bench_daemon.burst(here / "engine", new_url(), backend,
                                        posts=scale.burst, accounts=scale.accounts,
                                        latency=scale.latency)
            rows.append(replace(engine, design=ENGINE))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=["real", "engine", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--daemons", default="1,2,3",
                        help="daemon processes for the burst, each count a run of its own "
                             "on each database (comma-separated)")
    parser.add_argument("--workloads", default="burst,lateness,crash,add,scale")
    parser.add_argument("--no-naive", dest="naive", action="store_false")
    parser.add_argument("--latency", type=float, help="fake network latency in seconds")
    parser.add_argument("--fakes", choices=["one", "per-network"], default="one",
                        help="fake networks in one process (default) or one per network")
    args = parser.parse_args(argv)
    args.backends = args.backends.split(",")
    args.daemons = [int(n) for n in args.daemons.split(",")]
    args.workloads = set(args.workloads.split(","))
    args.scale = Scale.quick() if args.quick else Scale()
    if args.latency is not None:
        args.scale = replace(args.scale, latency=args.latency)
    args.scale = replace(args.scale, fakes_per_network=args.fakes == "per-network")
    print(f"start: {_uptime()}, {os.cpu_count()} cores", flush=True)
    rows: list[Figures] = []
    with ExitStack() as stack:
        urls = {backend: stack.enter_context(database(backend))[1]
                for backend in args.backends}
        folder = Path(stack.enter_context(real_path.scratch()))
        for run in range(args.runs):
            rows += one_run(args, urls, folder / f"run-{run}")
            # the tables so far after every run: a long bench interrupted still tells
            print(f"\nafter run {run + 1} of {args.runs}: {_uptime()}\n", flush=True)
            print(markdown(rows), flush=True)
    print(f"end: {_uptime()}")


if __name__ == "__main__":
    main()
