"""What video preparation tells staff comes out in the officer's language: Indonesian when
SIAR_LANG is unset, English with ``SIAR_LANG=en`` (the reason and the fix alike)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.core.conftest import row_counts

RELEASE = "---\ntitle: Rakor Humas\nvideos: [{path: klip.mp4, caption: Rakor}]\n---\nIsi rilis.\n"


@pytest.fixture
def instagram_takes_three_seconds(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One Instagram account whose Reels may last at most 3 s (the clip lasts 4 s)."""
    (workspace / "siar.toml").write_text(
        '[[accounts]]\nname = "ig"\nnetwork = "instagram"\n'
        'options = { user_id = "1", public_media_base_url = "https://humas.example/media" }\n',
        encoding="utf-8")
    from channels.instagram import InstagramChannel
    from channels.rules import VideoRules
    from channels.video import video_rules_for

    monkeypatch.setattr(InstagramChannel, "video_rules",
                        VideoRules(max_bytes=300_000_000, max_seconds=3))
    video_rules_for.cache_clear()
    yield
    video_rules_for.cache_clear()


@pytest.mark.parametrize(("lang", "says"), [
    (None, ["rilis.md: videos[0]", "ig (instagram)", "durasi klip.mp4 4.0 detik",
            "instagram menerima paling lama 3 detik", "potong klip menjadi 3 detik",
            "tambahkan 'trim: true'"]),
    ("en", ["rilis.md: videos[0]", "ig (instagram)", "klip.mp4 lasts 4.0 s",
            "instagram takes at most 3 s", "trim the clip to 3 s", "add 'trim: true'"]),
])
def test_a_video_too_long_for_a_network_is_explained_in_the_officers_language(
        workspace: Path, siar, short_clip: Path, instagram_takes_three_seconds: None,
        monkeypatch: pytest.MonkeyPatch, lang: str | None, says: list[str]) -> None:
    monkeypatch.setenv("SIAR_VIDEO_PRESET", "ultrafast")
    shutil.copy(short_clip, workspace / "klip.mp4")
    (workspace / "rilis.md").write_text(RELEASE, encoding="utf-8")
    if lang is None:
        monkeypatch.delenv("SIAR_LANG")
    else:
        monkeypatch.setenv("SIAR_LANG", lang)
    result = siar("add", "rilis.md", "--at", "besok 10.00")
    assert result.code == 1 and "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert all(text in message for text in says), message
    assert row_counts(workspace)["post"] == 0


def test_a_file_that_is_no_video_is_explained_in_indonesian(
        workspace: Path, siar, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace / "klip.mp4").write_bytes(b"bukan video, hanya teks")
    (workspace / "rilis.md").write_text(RELEASE, encoding="utf-8")
    (workspace / "siar.toml").write_text('[[accounts]]\nname = "x-lapas"\nnetwork = "x"\n',
                                         encoding="utf-8")
    monkeypatch.delenv("SIAR_LANG")
    result = siar("add", "rilis.md", "--at", "besok 10.00")
    assert result.code == 1 and "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "klip.mp4 bukan video yang bisa dibaca FFmpeg" in message, message
    assert "ekspor ulang sebagai MP4 (H.264/AAC)" in message, message
