"""A release's photos prepared for each account's network, once per distinct output.

``siar add`` (through :func:`scheduler.intake.keep_media`) and ``siar preview`` call
:func:`prepare_variants`: every image of the release is decoded once and made into what
each network takes (``channels.images.prepare_many``); networks with the same image
rules share one output, accounts of the same network too. Each distinct prepared file is
kept in the media store by its SHA-256, and each variant's media then names the prepared
file — path, MIME type, size in pixels and bytes, hash — so what the preview showed is
what the daemon sends, byte for byte (adapters send a prepared file unchanged), and what a
media-hosting store gives Instagram or Threads to fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from channels.rules import PostRules
from channels.variant import Media, Variant
from scheduler.errors import ReleaseError

if TYPE_CHECKING:
    from channels.images import Target
    from scheduler.release_videos import VideoRef
    from scheduler.releases import ImageRef
    from scheduler.video_prep import VideoMemo

from scheduler.media_store import MediaStore, StoredFile


def alt_limit(network: str, rules: PostRules) -> int | None:
    """The longest alt text ``network`` keeps: the smaller of what its posts and its
    image uploads allow (Instagram declares only the latter)."""
    from channels.images import rules_for

    limits = [n for n in (rules.alt_limit, rules_for(network).max_alt) if n]
    return min(limits) if limits else None


@dataclass
class Prepared:
    """Variants whose media name their prepared files."""

    variants: list[Variant]
    #: SHA-256 → bytes of each prepared image, when none was stored (a preview copies
    #: nothing, and shows these); for a prepared video, its poster JPEG
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Kept:
    """One prepared file as the variants name it (its bytes are in the store)."""

    file: StoredFile
    mime: str
    width: int
    height: int
    size: int


#: (image path, target) → the prepared file: one ``siar add`` of a content calendar
#: prepares a photo that many releases name once per network, not once per release
Memo = dict[tuple[str, "Target"], Kept]


def prepare_variants(variants: Sequence[Variant], images: Sequence[ImageRef],
                     store: MediaStore | None, *, source: str,
                     memo: Memo | None = None, videos: Sequence[VideoRef] = (),
                     video_memo: VideoMemo | None = None) -> Prepared:
    """``variants`` with every image replaced by the file prepared for the variant's
    network and kept in ``store``. ``images`` are the release's (their ``focus`` and
    ``background`` say how to frame each); an image no network can take raises
    :class:`ReleaseError` naming ``source``, the image's field and the accounts. ``memo``
    carries what was prepared from one call to the next (keys name stored files, whose
    content their path fixes).

    Without a store (``siar preview`` of a file) nothing is written: each media item keeps
    the release's file as ``path`` and describes the prepared file — its hash is the one
    ``siar add`` will keep —, whose bytes come back in :attr:`Prepared.files`.

    ``videos`` (the release's) are prepared by :mod:`scheduler.video_prep`; for a video,
    :attr:`Prepared.files` holds its poster frame, not the video.
    """
    if not any(variant.media for variant in variants):
        return Prepared(list(variants))
    files: dict[str, bytes] = {}
    if any(media.kind == "video" for variant in variants for media in variant.media):
        from scheduler.video_prep import prepare_video_variants

        variants = prepare_video_variants(variants, videos, store, source=source,
                                          files=files, memo=video_memo)
    from channels.images import Framing, ImageError, Target, prepare_many

    kept: Memo = memo if memo is not None and store is not None else {}
    refs = {str(image.path): (index, image) for index, image in enumerate(images)}
    wanted: dict[str, dict[Target, list[str]]] = {}
    for variant in variants:
        for media in variant.media:
            if media.kind != "image":
                continue
            _, ref = refs[media.path]
            target = Target(variant.channel, Framing(ref.focus, ref.background))
            if (media.path, target) not in kept:
                wanted.setdefault(media.path, {}).setdefault(target, []).append(
                    variant.account)
    for path, targets in wanted.items():
        index, _ = refs[path]
        try:
            prepared = prepare_many(path, targets)
        except ImageError as exc:
            accounts = ", ".join(a for names in targets.values() for a in names)
            raise ReleaseError(source, f"images[{index}]", f"{accounts}: {exc.message}",
                               hint=exc.hint) from exc
        stored: dict[int, StoredFile] = {}  # one write per distinct output
        for target, image in prepared.items():
            if id(image.data) not in stored:
                if store is None:
                    files[image.sha256] = image.data
                    stored[id(image.data)] = StoredFile(Path(path), image.sha256)
                else:
                    stored[id(image.data)] = store.put(image.data, image.filename)
            kept[(path, target)] = Kept(stored[id(image.data)], image.mime, image.width,
                                        image.height, len(image.data))
    return Prepared([_naming_prepared(variant, refs, kept) for variant in variants], files)


def _naming_prepared(variant: Variant, refs: dict[str, tuple[int, ImageRef]],
                     kept: Memo) -> Variant:
    if not variant.media:
        return variant
    from channels.images import Framing, Target

    def prepared(media: Media) -> Media:
        if media.kind != "image":
            return media
        _, ref = refs[media.path]
        done = kept[(media.path, Target(variant.channel, Framing(ref.focus, ref.background)))]
        return replace(media, path=str(done.file.path), sha256=done.file.sha256,
                       mime=done.mime, width=done.width, height=done.height,
                       bytes=done.size, source=media.source or media.path)

    return replace(variant, media=[prepared(media) for media in variant.media])
