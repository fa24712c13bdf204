"""A release's video prepared for each account's network, once per distinct output.

The video counterpart of :mod:`scheduler.media_prep` (which calls it): ``siar add`` and
``siar preview`` hand the variants here, every network's share is made by
:func:`channels.video.prepare_videos` — one probe, one decode for every transcode, the
streams copied once for every network that takes them as they are — and each distinct
prepared file (and cover) is moved into the media store under its SHA-256. Each video
media item then names its prepared file: path, size in pixels and bytes, length, hash and
cover; ``video_changes`` in the variant says what preparing did, for the officer.

A preview stores nothing: it prepares in a temporary folder, describes the results and
hands back each video's poster frame (for the HTML page) by the video's SHA-256.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from channels.variant import Media, Variant
from scheduler.errors import ReleaseError

if TYPE_CHECKING:
    from channels.video import PreparedVideo
    from scheduler.media_store import MediaStore
    from scheduler.release_videos import VideoRef


@dataclass(frozen=True)
class KeptVideo:
    """One network's prepared video as the posts name it."""

    path: str
    sha256: str
    width: int
    height: int
    size: int
    duration: float
    cover: str | None
    changes: tuple[str, ...]


#: (video path, network, how the release frames it) → what was prepared: one ``siar add``
#: of many releases naming the same video prepares it once per network
VideoMemo = dict[tuple[str, str, str], KeptVideo]


def _key(path: str, network: str, ref: VideoRef) -> tuple[str, str, str]:
    return path, network, f"trim={ref.trim} cover={ref.cover}"


def prepare_video_variants(variants: Sequence[Variant], videos: Sequence[VideoRef],
                           store: MediaStore | None, *, source: str,
                           files: dict[str, bytes],
                           memo: VideoMemo | None = None) -> list[Variant]:
    """``variants`` with every video item naming the file prepared for its network, kept
    in ``store`` (without one, the release's file stays the ``path`` and ``files`` gets
    each prepared video's poster JPEG by the video's SHA-256). A video a network cannot
    take raises :class:`ReleaseError` naming ``source``, the field, the accounts and the
    fix."""
    refs = {str(video.path): (index, video) for index, video in enumerate(videos)}
    kept: VideoMemo = memo if memo is not None and store is not None else {}
    wanted: dict[str, dict[str, list[str]]] = {}
    for variant in variants:
        for media in variant.media:
            if media.kind == "video" and _key(media.path, variant.channel,
                                              refs[media.path][1]) not in kept:
                wanted.setdefault(media.path, {}).setdefault(variant.channel, []).append(
                    variant.account)
    for path, networks in wanted.items():
        index, ref = refs[path]
        kept.update(_prepare(path, ref, index, networks, store, source, files))
    return [_naming_prepared(variant, kept, refs) for variant in variants]


def _prepare(path: str, ref: VideoRef, index: int, networks: dict[str, list[str]],
             store: MediaStore | None, source: str,
             files: dict[str, bytes]) -> VideoMemo:
    from channels.video import VideoError, frame_jpeg, prepare_videos

    folder = store.work_folder() if store is not None else Path(
        tempfile.mkdtemp(prefix="siar-video-"))
    try:
        try:
            prepared = prepare_videos(path, networks, folder, trim=ref.trim, cover=ref.cover)
        except VideoError as exc:
            accounts = ", ".join(a for names in networks.values() for a in names)
            raise ReleaseError(source, f"videos[{index}]", f"{accounts}: {exc.message}",
                               hint=exc.hint) from exc
        stem = Path(path).stem
        moved: dict[Path, str] = {}  # each distinct file moved (or described) once
        kept: VideoMemo = {}
        for network, video in prepared.items():
            if video.path not in moved:
                moved[video.path] = _keep(video.path, f"{stem}.mp4", video.sha256, store,
                                          path)
                if store is None:
                    files[video.sha256] = (video.cover.read_bytes() if video.cover else
                                           frame_jpeg(video.path, min(1.0,
                                                                      video.duration / 2)))
            cover = None
            if video.cover is not None and store is not None:
                if video.cover not in moved:
                    moved[video.cover] = _keep(video.cover, f"{stem}-cover.jpg",
                                               video.cover_sha256 or "", store, path)
                cover = moved[video.cover]
            kept[_key(path, network, ref)] = _kept(video, moved[video.path], cover)
        return kept
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _keep(file: Path, name: str, sha256: str, store: MediaStore | None,
          source: str) -> str:
    """Where the post names the prepared file: in the store, or (a preview) the
    release's own file."""
    if store is None:
        return source
    return str(store.adopt(file, name, sha256).path)


def _kept(video: PreparedVideo, path: str, cover: str | None) -> KeptVideo:
    return KeptVideo(path=path, sha256=video.sha256, width=video.width, height=video.height,
                     size=video.bytes, duration=round(video.duration, 3), cover=cover,
                     changes=video.changes)


def _naming_prepared(variant: Variant, kept: VideoMemo,
                     refs: dict[str, tuple[int, VideoRef]]) -> Variant:
    if not any(media.kind == "video" for media in variant.media):
        return variant
    changes: list[str] = []

    def prepared(media: Media) -> Media | None:
        if media.kind != "video":
            return media
        done = kept.get(_key(media.path, variant.channel, refs[media.path][1]))
        if done is None:  # a network without video rules (composing leaves it out too)
            return None
        changes.extend(done.changes)
        return replace(media, path=done.path, sha256=done.sha256, mime="video/mp4",
                       width=done.width, height=done.height, bytes=done.size,
                       duration=done.duration, cover=done.cover,
                       source=media.source or media.path)

    media = [item for item in map(prepared, variant.media) if item is not None]
    return replace(variant, media=media, extra={**variant.extra, "video_changes": changes})
