"""A network's lowest frame rate (TikTok: 23 fps): a slower clip is re-encoded by
showing each frame a whole number of times, never refused; the file sent, probed again,
has the rate the network takes. Networks without a lowest rate keep the clip's own."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from channels import registry
from channels.rules import VideoRules
from channels.video import prepare_videos, probe
from channels.video.planning import HIGHEST_RAISED_FPS, RAISED_FPS_MARGIN, frame_rate
from tests.clips import make_clip


def frames_in(path: Path) -> int:
    with av.open(str(path)) as reading:
        return sum(1 for _ in reading.decode(reading.streams.video[0]))


def test_tiktok_declares_the_lowest_rate_its_rules_name() -> None:
    rules = registry.load("tiktok").video_rules
    assert rules is not None and rules.min_fps == 23
    # the others keep a clip's own rate, however low
    assert registry.load("x").video_rules.min_fps is None  # type: ignore[union-attr]


@example(fps=0.2520228476313391, lowest=15.0, highest=30.0)  # 64 × rounded to 3 places
@given(fps=st.floats(min_value=0.2, max_value=120.0),
       lowest=st.sampled_from([None, 15.0, 23.0, 24.0]),
       highest=st.sampled_from([30.0, 60.0]))
def test_the_rate_made_is_within_the_networks_range(fps: float, lowest: float | None,
                                                      highest: float) -> None:
    rules = VideoRules(max_bytes=10**9, max_seconds=600, min_fps=lowest, max_fps=highest)
    made = frame_rate(fps, rules)
    if made is None:  # the source's own timing is kept: it was already within the range
        assert (lowest is None or fps >= lowest) and fps <= highest + 0.01
        return
    assert made <= highest
    if lowest is not None and fps < lowest:
        assert made >= lowest + min(RAISED_FPS_MARGIN, highest - lowest)
        if made <= HIGHEST_RAISED_FPS and made != lowest + RAISED_FPS_MARGIN:
            # each frame shown the same number of times: no judder (the rate is that
            # whole multiple rounded to a thousandth of a frame per second)
            assert made == pytest.approx(round(made / fps) * fps, abs=5e-4 + 1e-9)


def test_a_clip_below_tiktoks_rate_is_sent_at_24_fps_each_frame_shown_twice(
        tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "lambat.mp4", seconds=4, width=360, height=640, fps=12)

    prepared = prepare_videos(clip, ["tiktok", "x"], tmp_path / "out")

    tiktok, x = prepared["tiktok"], prepared["x"]
    assert not tiktok.copied
    assert any("frame rate raised from 12 to 24" in change for change in tiktok.changes)
    facts = probe(tiktok.path)
    assert facts.fps == 24 and facts.video_codec == "h264"
    assert facts.duration == pytest.approx(4, abs=0.1)
    assert frames_in(tiktok.path) == 2 * frames_in(clip) == 96
    # X takes any rate: the same clip goes there as it is
    assert x.copied and probe(x.path).fps == 12


def test_a_clip_just_below_the_rate_is_raised_past_it_not_to_a_multiple(
        tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "hampir.mp4", seconds=3.5, width=360, height=640, fps=20)

    facts = probe(prepare_videos(clip, ["tiktok"], tmp_path / "out")["tiktok"].path)

    # 40 fps would double the encoding for nothing: 24 fps, a frame in five repeated
    assert facts.fps == 24 and facts.duration == pytest.approx(3.5, abs=0.1)
    assert Fraction(facts.fps).limit_denominator(1001) == 24
