"""Preparing stays within a memory budget: one decode feeds only as many x264 encoders
as fit ``SIAR_VIDEO_MEMORY_MB`` together (an encoder holds its lookahead frames: about
165 MiB at 1080×1920 with ``veryfast``); the other outputs are made from another decode
of the same file, byte for byte what one decode feeding them all makes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from channels.video import prepare_videos
from channels.video.encoding import encoder_budget, encoder_bytes, passes
from channels.video.planning import Output
from tests.clips import make_clip

MIB = 1024 * 1024
FULL_HD = Output(width=1080, height=1920, picture=(1080, 1920), rotation=0, fps=None,
                 video_kbps=6000, audio_kbps=128, audio_copy=True, audio_rate=44_100,
                 audio_channels=1, seconds=None)
DISCORD = replace(FULL_HD, width=606, height=1080, picture=(606, 1080), video_kbps=1000)
HD = replace(FULL_HD, width=720, height=1280, picture=(720, 1280), video_kbps=3000)


@pytest.fixture
def veryfast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIAR_VIDEO_PRESET", "veryfast")
    monkeypatch.delenv("SIAR_VIDEO_MEMORY_MB", raising=False)


def test_a_full_hd_encoder_has_a_decode_of_its_own_at_the_default_budget(veryfast: None
                                                                         ) -> None:
    assert encoder_budget() == 160 * MIB
    assert 150 * MIB < encoder_bytes(FULL_HD) < 180 * MIB

    assert passes([DISCORD, FULL_HD]) == [[FULL_HD], [DISCORD]]
    # smaller ones share a decode while they fit together
    assert passes([HD, DISCORD]) == [[HD, DISCORD]]


def test_the_budget_is_the_hosts_to_set(veryfast: None,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIAR_VIDEO_MEMORY_MB", "1024")
    assert passes([DISCORD, FULL_HD, HD]) == [[FULL_HD, HD, DISCORD]]
    monkeypatch.setenv("SIAR_VIDEO_MEMORY_MB", "0")  # one encoder at a time
    assert passes([DISCORD, FULL_HD, HD]) == [[FULL_HD], [HD], [DISCORD]]
    monkeypatch.setenv("SIAR_VIDEO_MEMORY_MB", "lots")  # not a number: the default
    assert encoder_budget() == 160 * MIB


def test_a_faster_preset_holds_less(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = {}
    for name in ("ultrafast", "veryfast", "medium", "veryslow"):
        monkeypatch.setenv("SIAR_VIDEO_PRESET", name)
        sizes[name] = encoder_bytes(FULL_HD)
    assert sizes["ultrafast"] < sizes["veryfast"] < sizes["medium"] < sizes["veryslow"]


def test_outputs_made_from_separate_decodes_are_the_same_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # MPEG-4 Part 2, wide: X gets it transcoded as it is shaped, Reels padded to 9:16,
    # TikTok padded too and at 25 fps: three outputs
    clip = make_clip(tmp_path / "lebar.mp4", seconds=3.5, width=1280, height=720, fps=5,
                     codec="mpeg4")
    networks = ["x", "instagram", "tiktok"]

    monkeypatch.setenv("SIAR_VIDEO_MEMORY_MB", "4096")
    together = prepare_videos(clip, networks, tmp_path / "together")
    monkeypatch.setenv("SIAR_VIDEO_MEMORY_MB", "0")
    apart = prepare_videos(clip, networks, tmp_path / "apart")

    assert {n: v.sha256 for n, v in together.items()} == \
        {n: v.sha256 for n, v in apart.items()}
    assert len({v.path for v in apart.values()}) == 3
