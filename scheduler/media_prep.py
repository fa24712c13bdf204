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
    from channels.images import PreparedImage, Target
    from scheduler.releases import ImageRef

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
    #: SHA-256 → bytes of each prepared file, when none was stored (a preview copies
    #: nothing, and shows these)
    files: dict[str, bytes] = field(default_factory=dict)


def prepare_variants(variants: Sequence[Variant], images: Sequence[ImageRef],
                     store: MediaStore | None, *, source: str) -> Prepared:
    """``variants`` with every image replaced by the file prepared for the variant's
    network and kept in ``store``. ``images`` are the release's (their ``focus`` and
    ``background`` say how to frame each); an image no network can take raises
    :class:`ReleaseError` naming ``source``, the image's field and the accounts.

    Without a store (``siar preview`` of a file) nothing is written: each media item keeps
    the release's file as ``path`` and describes the prepared file — its hash is the one
    ``siar add`` will keep —, whose bytes come back in :attr:`Prepared.files`.
    """
    if not any(variant.media for variant in variants):
        return Prepared(list(variants))
    from channels.images import Framing, ImageError, Target, prepare_many

    refs = {str(image.path): (index, image) for index, image in enumerate(images)}
    wanted: dict[str, dict[Target, list[str]]] = {}
    for variant in variants:
        for media in variant.media:
            _, ref = refs[media.path]
            target = Target(variant.channel, Framing(ref.focus, ref.background))
            wanted.setdefault(media.path, {}).setdefault(target, []).append(variant.account)
    kept: dict[tuple[str, Target], tuple[PreparedImage, StoredFile]] = {}
    files: dict[str, bytes] = {}
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
            kept[(path, target)] = (image, stored[id(image.data)])
    return Prepared([_naming_prepared(variant, refs, kept) for variant in variants], files)


def _naming_prepared(variant: Variant, refs: dict[str, tuple[int, ImageRef]],
                     kept: dict[tuple[str, Target], tuple[PreparedImage, StoredFile]]
                     ) -> Variant:
    if not variant.media:
        return variant
    from channels.images import Framing, Target

    def prepared(media: Media) -> Media:
        _, ref = refs[media.path]
        image, file = kept[(media.path, Target(variant.channel,
                                               Framing(ref.focus, ref.background)))]
        return replace(media, path=str(file.path), sha256=file.sha256, mime=image.mime,
                       width=image.width, height=image.height, bytes=len(image.data),
                       source=media.source or media.path)

    return replace(variant, media=[prepared(media) for media in variant.media])
