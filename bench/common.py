"""What both benchmarked designs share: the local fake network, databases, statistics."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from bench.deployment import wait_until
from bench.figures import Figures, percentile
from tests.fakes.counting import TOKEN, CountingNetwork

__all__ = ["TOKEN", "CountingNetwork", "Figures", "cpu_seconds", "lateness_ms", "percentile",
           "rss_mb", "wait_until"]


def lateness_ms(network: CountingNetwork, since: float = 0.0) -> dict[str, float]:
    """p50/p99/max of (request arrival − due time) over every post the network received
    that was due at ``since`` (epoch) or later: one due before the design was running
    was late before it could see it."""
    late = [(arrived - due) * 1000 for arrived, _, _, due in network.arrivals.values()
            if due >= since]
    return {"p50_ms": percentile(late, 50), "p99_ms": percentile(late, 99),
            "max_ms": max(late, default=float("nan")),
            "mean_ms": statistics.fmean(late) if late else float("nan"),
            "received": float(len(late))}


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far (Linux).

    The benchmark host is shared, so wall-clock rates are noisy; CPU per post is the
    steadier figure for comparing two versions of the daemon."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sqlite_url(folder: Path, name: str) -> str:
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    return f"sqlite:///{path}"


def print_medians(runs: list[dict[str, float]], fields: tuple[tuple[str, str], ...]) -> None:
    """One line per ``(key, unit)`` of ``fields``: the median over ``runs``, the best and
    the worst."""
    for key, unit in fields:
        values = [run[key] for run in runs]
        print(f"  {statistics.median(values):8.2f} {unit} median, {min(values):.2f} best, "
              f"{max(values):.2f} worst ({len(values)} runs)")
