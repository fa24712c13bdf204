"""A prepared video as the queue hands it to an adapter (``Media(kind="video")``), made
once per session from a small generated clip, and a delivery that carries it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from channels.base import Delivery
from channels.variant import Media
from tests.channels.helpers import make_delivery
from tests.clips import make_clip


def as_prepared(path: Path, *, width: int, height: int, seconds: float,
                cover: Path | None = None, alt: str = "", url: str | None = None) -> Media:
    data = path.read_bytes()
    return Media(path=str(path), alt=alt, mime="video/mp4", kind="video", width=width,
                 height=height, bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                 duration=seconds, cover=str(cover) if cover else None, url=url)


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """A 3 s vertical H.264/AAC clip (tens of kilobytes) with a JPEG cover."""
    folder = tmp_path_factory.mktemp("video")
    path = make_clip(folder / "rakor.mp4", seconds=3, width=360, height=640, fps=5)
    cover = folder / "rakor-cover.jpg"
    Image.new("RGB", (360, 640), (20, 60, 120)).save(cover, "JPEG")
    return as_prepared(path, width=360, height=640, seconds=3.0, cover=cover,
                       alt="Rapat koordinasi agen informasi")


def video_delivery(video: Media, *parts: str, channel: str, **fields: Any) -> Delivery:
    """A one-part (or thread) delivery whose only media is ``video``."""
    return make_delivery(list(parts or ("Rakor Humas #HumasBergerakBersama",)),
                         channel=channel, media=[video], **fields)
