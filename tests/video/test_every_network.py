"""Video just works on every network that takes one (issue 16, first acceptance bullet):
a 60 s 1080×1920 H.264 phone clip and a 90 s 3840×2160 HEVC camera clip are prepared
for each such network, and every prepared file, probed again with FFmpeg, is an
H.264/AAC MP4 within that network's limits — length, sides, aspect ratio, frame rate
(highest and lowest), bytes —, upright, with its index in front and none of the source's
metadata."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from channels import registry
from channels.video import PreparedVideo, probe
from channels.video.planning import ASPECT_SLACK
from tests.video.conftest import video_networks


def within_the_rules(network: str, video: PreparedVideo) -> None:
    """The prepared file is one ``network`` takes, and the description says what it is."""
    rules = registry.load(network).video_rules
    assert rules is not None
    facts = probe(video.path)
    assert facts.container.startswith("mov,mp4") and video.path.suffix == ".mp4"
    assert facts.video_codec in rules.video_codecs and facts.video_codec == "h264"
    assert facts.audio_codec in rules.audio_codecs
    assert facts.pix_fmt in ("yuv420p", "yuvj420p") and facts.rotation == 0
    assert facts.size == video.bytes <= rules.max_bytes
    assert rules.min_seconds <= facts.duration <= rules.max_seconds
    assert facts.duration == pytest.approx(video.duration, abs=0.6)
    assert (facts.width, facts.height) == (video.width, video.height)
    assert max(facts.width, facts.height) <= rules.max_long_side
    assert min(facts.width, facts.height) <= rules.max_short_side
    assert facts.width % 2 == 0 and facts.height % 2 == 0
    if rules.aspect:
        low, high = rules.aspect
        assert low - ASPECT_SLACK <= facts.width / facts.height <= high + ASPECT_SLACK
    assert facts.fps <= rules.max_fps
    assert rules.min_fps is None or facts.fps >= rules.min_fps  # TikTok: 23 fps at least
    if rules.max_video_kbps:
        assert (facts.video_bit_rate or facts.bit_rate) <= rules.max_video_kbps * 1000
    assert (facts.audio_rate or 0) <= rules.max_audio_rate
    data = video.path.read_bytes()
    # +faststart: the index (moov) before the media data, for networks that stream it
    assert data.find(b"moov") < data.find(b"mdat")
    if rules.cover:
        assert video.cover is not None
        with Image.open(video.cover) as cover:
            assert cover.format == "JPEG" and not cover.getexif()
            assert cover.size == (video.width, video.height)


def test_the_phone_clip_goes_everywhere_as_it_is_where_it_fits(
        prepared_phone: dict[str, PreparedVideo], phone_clip: Path) -> None:
    assert set(prepared_phone) == set(video_networks())
    source = probe(phone_clip)
    assert (source.width, source.height, source.duration) == (1080, 1920, 60.0)
    for network, video in prepared_phone.items():
        within_the_rules(network, video)
    # a clip that fits is not re-encoded (its streams are copied into a clean MP4), and
    # every network taking it as it is shares that one file
    copied = {n for n, v in prepared_phone.items() if v.copied}
    assert {"x", "mastodon", "bluesky", "telegram", "instagram", "linkedin"} <= copied
    assert len({prepared_phone[n].path for n in copied}) == 1


def test_the_4k_hevc_clip_is_transcoded_once_per_distinct_output(
        prepared_camera: dict[str, PreparedVideo], camera_clip: Path) -> None:
    source = probe(camera_clip)
    assert (source.video_codec, source.width, source.height) == ("hevc", 3840, 2160)
    assert source.duration == pytest.approx(90, abs=0.5)
    for network, video in prepared_camera.items():
        within_the_rules(network, video)
        assert not video.copied
        assert any("HEVC" in change for change in video.changes)
    distinct = {video.path for video in prepared_camera.values()}
    assert len(distinct) < len(prepared_camera)  # networks with equal plans share a file
    # Reels are full screen 9:16: the landscape picture is padded (black bars above and
    # below), never cropped
    reel = prepared_camera["instagram"]
    assert (reel.width, reel.height) == (1080, 1920)
    assert any("padded" in change for change in reel.changes)
    from channels.video import frame_jpeg

    with Image.open(io.BytesIO(frame_jpeg(reel.path, 10))) as frame:
        grey = frame.convert("L")
        assert grey.getpixel((540, 20)) < 20 and grey.getpixel((540, 1900)) < 20
        middle = [grey.getpixel((x, 960)) for x in range(0, 1080, 8)]
        assert max(middle) - min(middle) > 100  # the picture itself: its gradient, edge to edge


def test_a_discord_webhook_gets_a_file_within_its_10_mib(
        prepared_camera: dict[str, PreparedVideo]) -> None:
    discord = prepared_camera["discord"]
    assert discord.bytes <= 10 * 1024 * 1024
