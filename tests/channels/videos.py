"""A prepared video as the adapters receive it (``Media(kind="video")``), for the upload
tests: a short H.264/AAC MP4 made with PyAV and a JPEG cover, as the preparation step
leaves them in the media store."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from PIL import Image

from channels.variant import Media
from tests.clips import make_clip

__all__ = ["prepared_video", "without_cover"]


def prepared_video(folder: Path, *, seconds: float = 3.0, width: int = 360,
                   height: int = 640) -> Media:
    """A vertical clip of ``seconds`` (a few dozen KB) with its cover, described as the
    preparation step describes it."""
    path = make_clip(folder / "rilis-kunjungan.mp4", seconds=seconds, width=width,
                     height=height, fps=2)
    cover = folder / "rilis-kunjungan-sampul.jpg"
    Image.new("RGB", (width, height), (30, 90, 160)).save(cover, "JPEG")
    data = path.read_bytes()
    return Media(path=str(path), alt="Kunjungan kerja Kakanwil", mime="video/mp4",
                 kind="video", width=width, height=height, bytes=len(data),
                 sha256=hashlib.sha256(data).hexdigest(), duration=seconds,
                 cover=str(cover))


def without_cover(video: Media) -> Media:
    return replace(video, cover=None)
