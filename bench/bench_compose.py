"""Benchmark: compose the example release for every network (target ≥ 2,000 releases/s).

    .venv/bin/python bench/bench_compose.py [--seconds 5] [--release config/example-release.md]

Reports three figures, in releases per CPU second of one process (one core), best and median
of 20 short rounds:

* warm — the same release composed again and again (what ``siar preview`` / the daemon do
  when several accounts share a release: conversions and counts are memoised per text);
* cold — every iteration composes a release with a different body (its first sentence), so
  the body's conversions and fittings are not reused; its other sentences recur, as
  boilerplate recurs between one unit's releases, and their counts may be remembered;
* fresh — every sentence of every body is different (a number after each punctuation mark):
  only the title, link and template frame recur. The honest figure for new releases.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler.compose import compose_all  # noqa: E402
from scheduler.releases import ReleaseDoc, load, parse_text  # noqa: E402
from scheduler.settings import AccountSettings, Settings  # noqa: E402

NETWORKS = ["x", "mastodon", "bluesky", "threads", "telegram", "facebook", "instagram",
            "linkedin", "wordpress", "discord", "slack", "webhook", "email"]
_FALLBACK = ROOT / "tests" / "composer" / "data" / "bench-release.md"
_CLAUSE_END = re.compile(r"([.,;:!?]) ")


def _release(path: Path | None) -> ReleaseDoc:
    for candidate in (path, ROOT / "config" / "example-release.md", _FALLBACK):
        if candidate and candidate.is_file():
            return load(candidate)
    raise SystemExit("no release to benchmark: pass --release FILE")


def _settings() -> Settings:
    return Settings(
        campaign_hashtags=["HumasBergerakBersama"],
        mentions={"ditjenpas": {"x": "@ditjenpas", "bluesky": "@ditjenpas.bsky.social"}},
        utm={"x": {"utm_source": "x"}},
        accounts=[AccountSettings(name=f"{n}-bench", network=n) for n in NETWORKS],
    )


def _rate(releases: list[ReleaseDoc], settings: Settings, seconds: float) -> float:
    """Releases per CPU second of this process (other work on the machine does not count)."""
    done, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        compose_all(releases[done % len(releases)], settings.accounts, settings)
        done += 1
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--release", type=Path)
    args = parser.parse_args()
    release = _release(args.release)
    settings = _settings()
    compose_all(release, settings.accounts, settings)  # imports and template compilation
    rounds = 20  # short rounds: the best one is least disturbed by other processes (timeit)
    warm = [_rate([release], settings, args.seconds / rounds) for _ in range(rounds)]
    variants = [parse_text(f"---\ntitle: {release.title}\nlink: {release.link or ''}\n---\n"
                           f"Rilis nomor {n}. {release.body}", source="bench",
                           base_dir=ROOT) for n in range(5_000)]
    cold = [_rate(variants[n::rounds], settings, args.seconds / rounds) for n in range(rounds)]
    fresh_variants = [parse_text(
        f"---\ntitle: {release.title}\nlink: {release.link or ''}\n---\n"
        + _CLAUSE_END.sub(rf"\1 {n} ", release.body), source="bench", base_dir=ROOT)
        for n in range(5_000, 10_000)]
    fresh = [_rate(fresh_variants[n::rounds], settings, args.seconds / rounds)
             for n in range(rounds)]
    print(f"release: {release.source} ({len(release.body)} characters, {len(NETWORKS)} networks)")
    # best of the rounds: on a shared machine the slower rounds measure the neighbours
    print(f"warm: {max(warm):,.0f} releases/s best, {statistics.median(warm):,.0f} median "
          f"of {rounds} rounds")
    print(f"cold: {max(cold):,.0f} releases/s best, {statistics.median(cold):,.0f} median "
          f"(a different body every time)")
    print(f"fresh: {max(fresh):,.0f} releases/s best, {statistics.median(fresh):,.0f} median "
          f"(every sentence different)")


if __name__ == "__main__":
    main()
