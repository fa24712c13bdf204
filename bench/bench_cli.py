"""Benchmark: cold start of the ``siar`` command (targets: ``--help`` and ``preview``
median ≤ 300 ms, ``queue``/``status``/``history``/``report`` ≤ 400 ms).

    .venv/bin/python bench/bench_cli.py [--runs 20] [--warmup 3] [--against TREE]
                                        [--only COMMAND …]

Like hyperfine: every run is a fresh process of ``python -m scheduler.cli`` with this
checkout first on ``PYTHONPATH`` (so the bench measures the tree it lives in, not whatever
``siar`` is installed), timed from spawn to exit with ``time.perf_counter``; output is
discarded. Prints median, p90, min and max in milliseconds for each command, and the median
and minimum CPU time (user + system) of the process, which other load on the machine
disturbs less than wall-clock time. ``SIAR_HOME`` points at a scratch folder so no real
state is read or written; the untimed warm-up runs fill its template cache
(``$SIAR_HOME/cache``), as a user's first ``siar`` run does.

Before measuring, ``scheduler`` and ``channels`` are byte-compiled (``compileall``), as an
installed package is: with ``PYTHONDONTWRITEBYTECODE=1`` nothing would be cached, and every
run would recompile the sources (about 300 ms) instead of measuring start-up.

``--against TREE`` (another checkout, e.g. ``git worktree add /tmp/before main``) runs
each command in that tree and in this one alternately, run by run, so that both see the
same minutes of a shared host; each tree has its own scratch ``SIAR_HOME``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIAR = [sys.executable, "-m", "scheduler.cli"]

#: a release without a photo: what most of an officer's previews are (the example release
#: has one, which the preview prepares for every network)
TEXT_RELEASE = "bench/text-release.md"
_DEMO = ["--config", "config/demo.toml"]
COMMANDS: dict[str, list[str]] = {
    "preview --json": [*_DEMO, "preview", TEXT_RELEASE, "--json"],
    "preview (photo)": [*_DEMO, "preview", "config/example-release.md", "--json"],
    "--help": ["--help"],
    # the officer's read commands (issue 15's ≤ 400 ms), on the demo's scratch database
    "queue": [*_DEMO, "queue"],
    "status": [*_DEMO, "status"],
    "history": [*_DEMO, "history"],
    "report": [*_DEMO, "report", "--month", "2026-11"],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], root: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall-clock, CPU) milliseconds of one fresh process."""
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    completed = subprocess.run(argv, cwd=root, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if completed.returncode != 0:
        raise SystemExit(f"{argv} failed ({completed.returncode}):\n"
                         f"{completed.stderr.decode(errors='replace')}")
    return elapsed, (_children_cpu_seconds() - cpu_before) * 1000


def time_runs(argv: list[str], runs: int, warmup: int,
              trees: dict[Path, dict[str, str]]) -> dict[Path, tuple[list[float], list[float]]]:
    """Per tree, (wall-clock, CPU) milliseconds of ``runs`` fresh processes after
    ``warmup`` untimed ones; the trees take turns run by run."""
    timings: dict[Path, tuple[list[float], list[float]]] = {root: ([], []) for root in trees}
    for index in range(warmup + runs):
        for root, env in trees.items():
            wall, cpu = _run(argv, root, env)
            if index >= warmup:
                timings[root][0].append(wall)
                timings[root][1].append(cpu)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately")
    parser.add_argument("--only", action="append", choices=COMMANDS, metavar="COMMAND",
                        help="measure only this command (repeatable), e.g. 'queue'")
    args = parser.parse_args()
    roots = [ROOT, *([args.against.resolve()] if args.against else [])]
    homes = [tempfile.mkdtemp(prefix="siar-bench-cli-") for _ in roots]
    trees: dict[Path, dict[str, str]] = {}
    for root, home in zip(roots, homes, strict=True):
        subprocess.run([sys.executable, "-m", "compileall", "-q", "scheduler", "channels"],
                       cwd=root, check=True)
        python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
        trees[root] = {**os.environ, "SIAR_HOME": home, "PYTHONPATH": python_path}
    print(f"load average {os.getloadavg()[0]:.2f}")
    try:
        for label, command in COMMANDS.items():
            if args.only and label not in args.only:
                continue
            for root, (timings, cpu) in time_runs([*SIAR, *command], args.runs, args.warmup,
                                                  trees).items():
                tree = "" if root == ROOT else f"  [{root}]"
                print(f"siar {label:<16} median {statistics.median(timings):4.0f} ms  "
                      f"p90 {percentile(timings, 90):4.0f} ms  min {min(timings):4.0f} ms  "
                      f"max {max(timings):4.0f} ms  cpu median "
                      f"{statistics.median(cpu):4.0f} ms  min {min(cpu):4.0f} ms  "
                      f"({args.runs} runs){tree}")
        print(f"load average {os.getloadavg()[0]:.2f}")
    finally:
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
