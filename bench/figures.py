"""Measured figures and the statistics over them; imports nothing of Siar's, so the
real-path harness can use it while Siar's modules move."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figures:
    """One measured workload of one design on one database."""

    design: str
    backend: str
    workload: str
    values: dict[str, float]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
