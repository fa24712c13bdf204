"""How a video is planned for a network (channels/video/planning.py): sent as it is when
it fits, else one transcode within every limit — padded, never cropped —; refused only
for what no transcode fixes, with the limit and the fix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.rules import MB, VideoRules
from channels.video import VideoError, VideoFacts, plan_video
from channels.video.planning import ASPECT_SLACK, MIN_VIDEO_KBPS

REELS = VideoRules(max_bytes=300 * MB, max_seconds=900, min_seconds=3,
                   aspect=(9 / 16, 9 / 16), pad_to=9 / 16, max_video_kbps=25_000, cover=True)
X = VideoRules(max_bytes=512 * MB, max_seconds=140, min_seconds=0.5, max_short_side=1200,
               aspect=(1 / 3, 3.0), max_video_kbps=25_000)
SMALL = VideoRules(max_bytes=10 * 1024 * 1024, max_seconds=float("inf"))


def facts(**changes: object) -> VideoFacts:
    """A phone's upright clip: 1080×1920 H.264/AAC, 30 s, 30 fps, 8 Mbit/s."""
    base: dict[str, object] = dict(
        container="mov,mp4,m4a,3gp,3g2,mj2", duration=30.0, coded_width=1080,
        coded_height=1920, rotation=0, video_codec="h264", audio_codec="aac", fps=30.0,
        bit_rate=8_128_000, video_bit_rate=8_000_000, audio_bit_rate=128_000,
        audio_rate=48_000, audio_channels=2, pix_fmt="yuv420p", size=30_480_000,
        name="klip.mp4")
    base.update(changes)
    return VideoFacts(**base)  # type: ignore[arg-type]


def test_a_clip_within_every_limit_is_sent_as_it_is() -> None:
    plan = plan_video(facts(), REELS, "instagram")
    assert plan.copied and (plan.width, plan.height) == (1080, 1920)
    assert plan.changes == ("sent as it is (streams copied, metadata dropped)",)


def test_a_landscape_clip_is_padded_to_9_16_for_reels_never_cropped() -> None:
    plan = plan_video(facts(coded_width=1920, coded_height=1080), REELS, "instagram")
    assert plan.output is not None
    assert (plan.width, plan.height) == (1080, 1920)
    assert plan.output.picture == (1080, 606)  # the whole picture, full width
    assert any("padded" in change for change in plan.changes)


def test_a_phone_clip_stored_sideways_is_turned_upright() -> None:
    plan = plan_video(facts(coded_width=1920, coded_height=1080, rotation=90), X, "x")
    assert plan.output is not None and plan.output.rotation == 90
    assert (plan.width, plan.height) == (1080, 1920)
    assert "turned upright (90° in the file)" in plan.changes


def test_hevc_is_transcoded_and_aac_sound_copied() -> None:
    plan = plan_video(facts(video_codec="hevc"), X, "x")
    assert plan.output is not None and plan.output.audio_copy
    assert "HEVC (yuv420p) transcoded to H.264" in plan.changes


def test_a_clip_too_long_is_refused_with_the_limit_and_the_fix() -> None:
    with pytest.raises(VideoError) as caught:
        plan_video(facts(duration=200.0), X, "x")
    assert "200.0 s" in caught.value.message and "at most 140 s" in caught.value.message
    assert "trim: true" in (caught.value.hint or "")
    assert "leave x out" in (caught.value.hint or "")


def test_trim_true_keeps_the_beginning_within_the_limit() -> None:
    plan = plan_video(facts(duration=200.0), X, "x", trim=True)
    assert plan.output is not None and plan.output.seconds is not None
    assert plan.duration == plan.output.seconds < 140
    assert plan.changes[0].startswith("trimmed to the first")


def test_a_clip_too_short_is_refused() -> None:
    with pytest.raises(VideoError, match="at least 3 s"):
        plan_video(facts(duration=2.0), REELS, "instagram")


def test_a_clip_too_long_for_the_byte_limit_at_any_watchable_rate_is_refused() -> None:
    with pytest.raises(VideoError, match="cannot fit discord's 10,485,760 bytes"):
        plan_video(facts(duration=3600.0), SMALL, "discord")


def test_a_clip_too_large_in_bytes_gets_a_lower_bit_rate_and_a_smaller_picture() -> None:
    plan = plan_video(facts(duration=120.0, size=120_000_000), SMALL, "discord")
    assert plan.output is not None
    budget = SMALL.max_bytes * 8 / 120 / 1000
    assert plan.output.video_kbps + (plan.output.audio_kbps or 0) < budget
    assert max(plan.width, plan.height) < 1920  # fewer pixels rather than mush


sides = st.integers(min_value=16, max_value=7680)
rules = st.builds(
    VideoRules, max_bytes=st.sampled_from([10 * 1024 * 1024, 50 * MB, 300 * MB, 1000 * MB]),
    max_seconds=st.sampled_from([60.0, 140.0, 900.0, float("inf")]),
    min_seconds=st.sampled_from([0.5, 1.0, 3.0]),
    max_long_side=st.sampled_from([1280, 1920]), max_short_side=st.sampled_from([720, 1080,
                                                                                 1200]),
    aspect=st.sampled_from([None, (1 / 3, 3.0), (9 / 16, 9 / 16), (1 / 2.4, 2.4)]),
    max_fps=st.sampled_from([30.0, 60.0]),
    max_video_kbps=st.sampled_from([None, 25_000, 5_000]))


@settings(max_examples=300, deadline=None)
@given(width=sides, height=sides, rotation=st.sampled_from([0, 90, 180, 270]),
       duration=st.floats(min_value=3.0, max_value=60.0),
       fps=st.floats(min_value=1.0, max_value=120.0),
       codec=st.sampled_from(["h264", "hevc", "vp9"]), rules=rules)
def test_every_plan_is_within_the_rules(width: int, height: int, rotation: int,
                                        duration: float, fps: float, codec: str,
                                        rules: VideoRules) -> None:
    clip = facts(coded_width=width, coded_height=height, rotation=rotation,
                 duration=duration, fps=fps, video_codec=codec,
                 size=int(duration * 1_000_000))
    plan = plan_video(clip, rules, "net")
    if plan.copied:  # only what already fits goes as it is
        assert codec in rules.video_codecs and rotation == 0 and fps <= rules.max_fps
        assert (plan.width, plan.height) == (clip.width, clip.height)
        return
    out = plan.output
    assert out is not None
    assert out.width % 2 == 0 and out.height % 2 == 0
    assert max(out.width, out.height) <= rules.max_long_side
    assert min(out.width, out.height) <= rules.max_short_side
    assert out.picture[0] <= out.width and out.picture[1] <= out.height
    if rules.aspect:  # within the range, but for the rounding to even sizes (2 px)
        ratio = out.width / out.height
        rounding = 2 * ratio * (1 / out.width + 1 / out.height)
        assert rules.aspect[0] - ASPECT_SLACK - rounding <= ratio \
            <= rules.aspect[1] + ASPECT_SLACK + rounding
    # never cropped: the picture keeps its shape (within the rounding to even sizes)
    if min(out.picture) >= 64:
        assert out.picture[0] / out.picture[1] == pytest.approx(clip.width / clip.height,
                                                                rel=0.05)
    assert out.video_kbps >= MIN_VIDEO_KBPS
    if rules.max_video_kbps:
        assert out.video_kbps <= rules.max_video_kbps
    assert (out.fps or fps) <= rules.max_fps
