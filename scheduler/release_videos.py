"""The ``videos:`` of a release's front matter: one video, its caption, cover and title.

Checked like the photos (:mod:`scheduler.releases`): the file, the field and the fix on
every error, before anything is stored. A photo named under ``videos:`` (or a video under
``images:``) is an error that says where it belongs: the two are prepared differently,
and each network decides whether a post carries the video or the photos.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from scheduler.errors import ReleaseError
from scheduler.i18n import _

#: the photo file suffixes a release may name in ``images:`` (here, beside the videos':
#: each key's check names the other key for a file of the other kind)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif"}


@dataclass(frozen=True)
class VideoRef:
    """A video named by a release (``videos:``), resolved against the release's folder."""

    path: Path
    #: what the video shows, for people who cannot see it (sent where the network keeps a
    #: description, like a photo's alt text)
    caption: str = ""
    #: the cover: an image file, or the second of the video to take it from; None: a
    #: frame at one second, made only for networks that want a cover
    cover: Path | float | None = None
    #: the video's own title (YouTube, Facebook, WordPress); None: the release's title
    title: str | None = None
    #: cut the video to a network's longest length instead of refusing it
    trim: bool = False


@cache
def video_spec() -> Any:
    """The pydantic model of one entry of ``videos:`` as written (built on first use: most
    releases have no video)."""
    from pydantic import BaseModel, ConfigDict

    class VideoSpec(BaseModel):
        """One entry of ``videos:`` as written."""

        model_config = ConfigDict(extra="forbid")
        path: str
        caption: str = ""
        #: an image file, or the second of the video to take the cover from
        cover: str | float | None = None
        title: str | None = None
        trim: bool = False

    return VideoSpec


def read_videos(specs: list[Any], source: str, base_dir: Path) -> list[VideoRef]:
    """The release's videos, checked: a video file that is there and not too large, and a
    cover that is an image file or a second (how long the video is, preparing checks)."""
    if len(specs) > 1:
        raise ReleaseError(source, "videos", _("{count} videos named; a post carries one video "
                                               "on every network Siar serves").format(
                                                 count=len(specs)),
                           hint=_("keep one video here and put the others in releases of their "
                                  "own"))
    if not specs:
        return []
    from channels.video import MAX_VIDEO_BYTES, VIDEO_SUFFIXES  # for releases with a video

    videos = []
    for index, spec in enumerate(specs):
        spec = video_spec()(path=spec) if isinstance(spec, str) else spec
        where = f"videos[{index}]"
        path = (base_dir / spec.path).resolve()
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            raise ReleaseError(source, f"{where}.path", _("{path!r} is a photo, and 'videos:' "
                                                          "takes videos only").format(
                                                            path=spec.path),
                               hint=_("name it under 'images:' instead: images: [{path}]").format(
                                        path=spec.path))
        if suffix not in VIDEO_SUFFIXES:
            raise ReleaseError(source, f"{where}.path", _("{path!r} is not a video file").format(
                                                            path=spec.path),
                               hint=_("use one of {suffixes}").format(
                                        suffixes=', '.join(sorted(VIDEO_SUFFIXES))))
        if not path.is_file():
            raise ReleaseError(source, f"{where}.path", _("video file {path!r} not found").format(
                                                            path=spec.path),
                               hint=_("paths are relative to {base_dir}").format(base_dir=base_dir))
        if (size := path.stat().st_size) > MAX_VIDEO_BYTES:
            raise ReleaseError(source, f"{where}.path", _("{path!r} has {size:,} bytes; Siar "
                                                          "takes videos up to {most} GB").format(
                                                            path=spec.path, size=size,
                                                            most=MAX_VIDEO_BYTES // 1024 ** 3),
                               hint=_("export a shorter or smaller MP4"))
        videos.append(VideoRef(path=path, caption=spec.caption.strip(),
                               cover=_cover(spec.cover, source, f"{where}.cover", base_dir),
                               title=(spec.title or "").strip() or None, trim=spec.trim))
    return videos


def _cover(cover: str | float | None, source: str, where: str,
           base_dir: Path) -> Path | float | None:
    """A video's ``cover:``: a second (a number, or "12.5 s"), or an image file."""
    if cover is None or isinstance(cover, (int, float)):
        if cover is not None and cover < 0:
            raise ReleaseError(source, where, _("{cover} is before the video starts").format(
                                                  cover=cover),
                               hint=_("give the second of the frame to show, e.g. cover: 3"))
        return None if cover is None else float(cover)
    text = cover.strip()
    number = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*(?:s|detik)?", text)
    if number:
        return float(number.group(1).replace(",", "."))
    path = (base_dir / text).resolve()
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ReleaseError(source, where, _("{text!r} is neither a second of the video nor an "
                                            "image file").format(text=text),
                           hint=_("give a second (cover: 3) or a photo (cover: sampul.jpg)"))
    if not path.is_file():
        raise ReleaseError(source, where, _("cover image {text!r} not found").format(text=text),
                           hint=_("paths are relative to {base_dir}").format(base_dir=base_dir))
    return path
