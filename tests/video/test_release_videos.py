"""``videos:`` in a release's front matter (scheduler/release_videos.py): one video with
its caption, cover and title; every mistake names the file, the field and the fix, and
a photo and a video never stand in for each other."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scheduler.errors import ReleaseError
from scheduler.releases import parse_text
from tests.core.conftest import row_counts


def release(folder: Path, front: str) -> Path:
    path = folder / "rilis.md"
    path.write_text(f"---\ntitle: Rakor Humas\n{front}\n---\nIsi rilis.\n", encoding="utf-8")
    return path


def parse(folder: Path, front: str):  # type: ignore[no-untyped-def]
    path = release(folder, front)
    return parse_text(path.read_text(encoding="utf-8"), source="rilis.md", base_dir=folder)


@pytest.fixture
def folder(tmp_path: Path, short_clip: Path) -> Path:
    shutil.copy(short_clip, tmp_path / "klip.mp4")
    (tmp_path / "sampul.jpg").write_bytes(b"\xff\xd8 not checked here")
    (tmp_path / "foto.jpg").write_bytes(b"\xff\xd8")
    return tmp_path


def test_a_video_with_caption_cover_second_and_title(folder: Path) -> None:
    doc = parse(folder, "videos:\n  - {path: klip.mp4, caption: Kalapas membuka rakor, "
                        "cover: '2,5 s', title: Rakor Humas 2026, trim: true}")
    (video,) = doc.videos
    assert video.path == folder / "klip.mp4" and video.caption == "Kalapas membuka rakor"
    assert video.cover == 2.5 and video.title == "Rakor Humas 2026" and video.trim


def test_a_bare_path_and_a_cover_image(folder: Path) -> None:
    doc = parse(folder, "videos: [{path: klip.mp4, cover: sampul.jpg}]")
    assert doc.videos[0].cover == folder / "sampul.jpg"
    assert parse(folder, "videos: [klip.mp4]").videos[0].cover is None


@pytest.mark.parametrize(("front", "field", "message", "fix"), [
    ("videos: [foto.jpg]", "videos[0].path", "is a photo", "under 'images:'"),
    ("images: [klip.mp4]", "images[0].path", "is a video", "under 'videos:'"),
    ("videos: [klip.txt]", "videos[0].path", "is not a video file", ".mp4"),
    ("videos: [hilang.mp4]", "videos[0].path", "not found", "relative to"),
    ("videos: [klip.mp4, klip.mp4]", "videos", "2 videos named", "releases of their own"),
    ("videos: [{path: klip.mp4, cover: -1}]", "videos[0].cover", "before the video starts",
     "cover: 3"),
    ("videos: [{path: klip.mp4, cover: sampul.pdf}]", "videos[0].cover",
     "neither a second", "cover: sampul.jpg"),
    ("videos: [{path: klip.mp4, cover: tiada.jpg}]", "videos[0].cover", "not found",
     "relative to"),
    ("videos: [{path: klip.mp4, judul: x}]", "videos[0].judul", "unknown key",
     "path, caption, cover, title, trim"),
])
def test_mistakes_name_the_file_the_field_and_the_fix(folder: Path, front: str, field: str,
                                                      message: str, fix: str) -> None:
    with pytest.raises(ReleaseError) as caught:
        parse(folder, front)
    error = caught.value
    assert error.source == "rilis.md"
    assert error.field == field and message in error.message and fix in (error.hint or "")


def test_a_video_too_long_for_a_network_is_refused_by_siar_add_and_nothing_is_written(
        workspace: Path, siar, short_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIAR_VIDEO_PRESET", "ultrafast")
    (workspace / "siar.toml").write_text(
        '[[accounts]]\nname = "ig"\nnetwork = "instagram"\n'
        'options = { user_id = "1", public_media_base_url = "https://humas.example/media" }\n'
        '[[accounts]]\nname = "x-lapas"\nnetwork = "x"\n', encoding="utf-8")
    shutil.copy(short_clip, workspace / "klip.mp4")  # 4 s; Reels take at least 3 s
    from channels.instagram import InstagramChannel
    from channels.rules import VideoRules

    monkeypatch.setattr(InstagramChannel, "video_rules",
                        VideoRules(max_bytes=300_000_000, max_seconds=3))
    from channels.video import video_rules_for

    video_rules_for.cache_clear()
    try:
        release(workspace, "videos: [{path: klip.mp4, caption: Rakor}]")
        result = siar("add", "rilis.md", "--at", "besok 10.00")
    finally:
        video_rules_for.cache_clear()
    assert result.code == 1 and "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "rilis.md: videos[0]" in message and "ig (instagram)" in message
    assert "at most 3 s" in message and "trim: true" in message
    assert row_counts(workspace)["post"] == 0
    assert not (workspace / "home" / "media").exists()
