"""The engine-parts benchmark keeps working: at a tiny size, each adapter variant's burst
is published through the daemon's real parts in one process, and the figures name the
threads they measured. Speed is not checked here, only that the harness runs and counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_engine_parts as parts


@pytest.mark.parametrize("variant", ["instant", "sleep", "http"])
def test_a_tiny_burst_is_published_and_measured_by_thread(
        variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts.os, "environ", {**parts.os.environ})  # the tokens stay here
    with parts._network(0.0) as network_url:
        figures = parts.run(variant, posts=12, accounts=3, latency=0.01,
                            url=f"sqlite:///{tmp_path}/siar.db", count_sql=True,
                            network_url=network_url)
    assert figures["variant"] == variant
    assert figures["went_on"] + figures["claimed"] == 12  # every post: a claim or a go-on
    assert figures["workers threads"] >= 3
    assert figures["committer ms/post"] > 0
    assert figures["statements/post"] > 0

