"""Images made to fit each network: size, format, aspect ratio, metadata.

Every adapter hands a release's photo to :func:`prepare_image` right before uploading
it and gets bytes the network accepts: EXIF orientation applied and then all EXIF
stripped (camera serials and GPS positions must not leave the office), scaled down to
the network's pixel limits, converted to JPEG where the network wants JPEG (alpha is
flattened onto white), and recompressed in quality steps until it fits the byte limit.

Instagram only takes aspect ratios between 4:5 and 1.91:1. A photo outside that range
is **padded** with a neutral background instead of cropped: a PR office wants the whole
picture (the minister at the edge of a group photo stays in it).

:func:`validate_image` runs at queue time and raises :class:`ImageError` for what no
amount of resizing fixes (missing file, not an image, far too small, more than
:data:`MAX_PIXELS`, animated where the network wants a still), so staff learn it days
before the post is due, not at 03:00. Every way Pillow can fail on a file is an
:class:`ImageError` too, which the adapters turn into ``Rejected``: retrying cannot help.

A file in the media store (``…/media/<sha256>/<name>``, see :mod:`scheduler.media_store`)
is checked against its SHA-256 before it is used: one changed after queueing is refused.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from channels.errors import SiarError
from channels.rules import ImageRules
from channels.stored_media import MAX_IMAGE_BYTES, digest, expected_digest

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported where an image is first opened, not here: every adapter imports this
# module, and the composer imports the adapters for the rules they declare (siar preview
# must not pay ~20 ms for a library it does not use).

__all__ = [
    "ImageError",
    "ImageRules",
    "PreparedImage",
    "prepare_image",
    "rules_for",
    "validate_image",
]

#: the neutral background of Instagram padding and of flattened transparency
PAD_COLOUR = (255, 255, 255)
#: JPEG quality steps tried in order before the picture is made smaller
QUALITY_STEPS = (90, 85, 80, 75, 70, 60)
#: each further round shrinks both sides by this factor
SHRINK_FACTOR = 0.8

#: The most pixels Siar decodes. 120 megapixels takes the largest phone and camera photos
#: staff are likely to have (108 MP phones, 100–102 MP medium format) — they are scaled
#: down for each network as any photo is — while a 200 MP image (600 MB decoded, more with
#: every copy resizing makes) is refused at queue time with this limit in the message.
MAX_PIXELS = 120_000_000

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


class ImageError(SiarError):
    """An image that cannot be made acceptable for a network."""


@dataclass(frozen=True)
class PreparedImage:
    """Bytes ready to upload, with what the upload request needs to say about them."""

    data: bytes
    mime: str
    width: int
    height: int
    alt: str
    filename: str


@lru_cache(maxsize=64)
def rules_for(network: str) -> ImageRules:
    """The image rules the channel of ``network`` declares (:attr:`Channel.image_rules`);
    the defaults for a network no adapter is installed for."""
    from channels import registry  # the registry imports the adapters, which import us

    return registry.lookup(network).image_rules


def prepare_image(path: str | Path, network: str, alt: str = "") -> PreparedImage:
    """The image at ``path`` made acceptable for ``network``; raises :class:`ImageError`."""
    rules = rules_for(network)
    path = Path(path)
    data = _read(path)
    # a JPEG is decoded at the smallest scale (1/2, 1/4, 1/8) still at least as large as the
    # network gets it: the limits are the same turned either way, and padding only adds
    # canvas. A 108 MP phone photo for Bluesky then takes 20 MB of memory, not 324.
    image, facts = _open(path, data, decode_at=lambda w, h: _fitted_size(w, h, rules))
    with image:
        _refuse_unfixable(facts, path, rules)
        if facts.animated:
            return _animated_as_is(path, data, image, alt)
        still = _upright(image, path)
    target = facts.format if facts.format in rules.formats else rules.convert_to
    try:
        return _fit(still, target, rules, path, network, alt)
    except ImageError:
        raise
    except Exception as exc:  # Pillow refusing to convert or encode this file's pixels
        raise ImageError(f"{path.name} cannot be converted for {network} "
                         f"({exc.__class__.__name__}: {exc})",
                         hint="export it again as JPEG or PNG") from exc


def _fit(still: Image.Image, target: str, rules: ImageRules, path: Path, network: str,
         alt: str) -> PreparedImage:
    """Pad, scale and encode until the bytes fit ``rules``."""
    from PIL import Image
    still = _pad_to_aspect(still, rules)
    still = _scale_into(still, rules)
    while True:
        encoded = _encode_within(still, target, rules)
        if encoded is not None:
            data, used_format = encoded
            return PreparedImage(data=data, mime=_MIME[used_format], width=still.width,
                                 height=still.height, alt=alt,
                                 filename=path.stem + _SUFFIX[used_format])
        smaller = (round(still.width * SHRINK_FACTOR), round(still.height * SHRINK_FACTOR))
        if max(smaller) < rules.min_side or min(smaller) < 1:
            raise ImageError(
                f"{path.name}: cannot fit {network}'s {rules.max_bytes:,} bytes limit "
                f"without shrinking it below {rules.min_side} px",
                hint="use a smaller or less detailed photo")
        still = still.resize(smaller, Image.Resampling.LANCZOS)


def validate_image(path: str | Path, network: str, alt: str = "", *,
                   as_is: bool = False) -> list[str]:
    """Queue-time check: raises :class:`ImageError` for what cannot be fixed, and returns
    warnings for what :func:`prepare_image` will change.

    ``as_is``: the network fetches the file itself from a public URL (Instagram,
    Threads), so nothing can be changed for it and any needed change is an error.
    """
    rules = rules_for(network)
    path = Path(path)
    facts = _file_facts(path)
    _refuse_unfixable(facts, path, rules)
    animated, source_format, width, height = (facts.animated, facts.format, facts.width,
                                              facts.height)
    notes: list[str] = []
    if rules.max_alt is not None and len(alt) > rules.max_alt:
        notes.append(f"{path.name}: alt text has {len(alt)} characters, "
                     f"{network} keeps at most {rules.max_alt}")
    if animated:
        return notes
    changes: list[str] = []
    if rules.aspect and not _aspect_ok(width, height, rules.aspect):
        changes.append(f"{path.name}: aspect ratio {width}×{height} is outside what "
                       f"{network} accepts; it will be padded with a white border")
    padded = _padded_size(width, height, rules)
    scaled = _fitted_size(*padded, rules)
    if scaled != padded and not as_is:  # a network that fetches the file scales it itself
        changes.append(f"{path.name}: will be scaled down from {padded[0]}×{padded[1]} "
                       f"to {scaled[0]}×{scaled[1]} for {network}")
    if source_format not in rules.formats:
        changes.append(f"{path.name}: {source_format} will be converted to "
                       f"{rules.convert_to} for {network}")
    if facts.size > rules.max_bytes:
        changes.append(f"{path.name}: {facts.size:,} bytes will be recompressed "
                       f"to fit {network}'s {rules.max_bytes:,} bytes")
    if as_is and changes:
        raise ImageError("; ".join(changes).replace(" will be ", " would have to be ")
                         + f" — {network} fetches the file as it is: save a copy that "
                           "needs no change")
    return notes + changes


# --- steps ---------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    """The file's bytes, checked against the SHA-256 its name promises when it is a copy in
    the media store: an image changed after queueing is refused, never published."""
    if not path.is_file():
        raise ImageError(f"image not found: {path}", hint="check the path in the release")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}",
                         hint="check that the file exists and that Siar may read it") from exc
    if (expected := expected_digest(path)) is not None and digest(data) != expected:
        raise ImageError(f"the image changed after it was queued: {path.name} ({path}) no "
                         "longer has the content that was queued",
                         hint="re-queue the release (siar cancel, then siar add) with the "
                              "photo as it should be")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{path.name} is larger than {MAX_IMAGE_BYTES:,} bytes",
                         hint="export a smaller JPEG: a few MB is plenty for every network")
    return data


@dataclass(frozen=True)
class _Facts:
    """What the checks need to know about an image file."""

    format: str
    animated: bool
    #: as shown: EXIF orientation applied
    width: int
    height: int
    #: bytes
    size: int


def _file_facts(path: Path) -> _Facts:
    """The facts of the file at ``path``, decoded once per process and version of the file:
    queue time checks the same photo for every account (and a content calendar names the
    same logo many times)."""
    try:
        stat = path.stat()
    except OSError:
        _read(path)  # raises the error that says what is wrong
        raise
    return _cached_facts(str(path), (stat.st_dev, stat.st_ino, stat.st_size,
                                     stat.st_mtime_ns))


@lru_cache(maxsize=256)
def _cached_facts(path: str, _version: tuple[int, int, int, int]) -> _Facts:
    # decoded at the smallest scale (a JPEG at 1/8): whether it decodes is all that is asked
    image, facts = _open(Path(path), _read(Path(path)), decode_at=lambda w, h: (1, 1))
    image.close()
    return facts


def _open(path: Path, data: bytes, *,
          decode_at: Callable[[int, int], tuple[int, int]] | None = None
          ) -> tuple[Image.Image, _Facts]:
    """The decoded image and its facts; every way Pillow can fail on a file becomes
    :class:`ImageError`. ``decode_at``: (width, height) → the least size a JPEG must be
    decoded at (Pillow's draft mode), the facts being those of the full image."""
    from PIL import Image
    try:
        with warnings.catch_warnings():
            # Siar checks MAX_PIXELS itself, with a message for staff: Pillow's warning
            # (printed raw above 89 megapixels) would only repeat it. Its error above
            # 179 MP is caught below. (The filters are process-wide: should two workers
            # interleave here, the worst left behind is this same "ignore".)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(path, None) from exc
    except Exception as exc:  # Pillow's decoders raise many unrelated types for bad files
        raise _unreadable(path, exc) from exc
    try:
        if image.width * image.height > MAX_PIXELS:  # before decoding: the header says it
            raise _too_many_pixels(path, image.size)
        facts = _Facts(image.format or "", _is_animated(image), *_upright_size(image, path),
                       size=len(data))
        if decode_at is not None and image.format == "JPEG":
            image.draft(image.mode, decode_at(image.width, image.height))
        image.load()
    except ImageError:
        image.close()
        raise
    except Exception as exc:
        image.close()
        raise _unreadable(path, exc) from exc
    return image, facts


def _upright_size(image: Image.Image, path: Path) -> tuple[int, int]:
    """(width, height) as shown: EXIF orientations 5 to 8 turn the picture a quarter."""
    from PIL import ExifTags
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as exc:
        raise _unreadable(path, exc) from exc
    return (image.height, image.width) if orientation in (5, 6, 7, 8) else image.size


def _upright(image: Image.Image, path: Path) -> Image.Image:
    """The image turned as its EXIF orientation says (a damaged EXIF block is an error)."""
    from PIL import ImageOps
    try:
        return ImageOps.exif_transpose(image)
    except Exception as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: Exception) -> ImageError:
    return ImageError(f"{path.name} is not a readable image ({exc.__class__.__name__})",
                      hint="export it again as JPEG or PNG")


def _too_many_pixels(path: Path, size: tuple[int, int] | None) -> ImageError:
    measured = (f"is {size[0]}×{size[1]} px ({size[0] * size[1] / 1e6:.1f} megapixels)"
                if size else "has too many pixels")
    return ImageError(f"{path.name} {measured}; Siar takes images up to "
                      f"{MAX_PIXELS // 1_000_000} megapixels",
                      hint="scale it down (e.g. to 8000 px on the long side) and add it again")


def _refuse_unfixable(facts: _Facts, path: Path, rules: ImageRules) -> None:
    if facts.animated:
        if not rules.animated:
            raise ImageError(f"{path.name} is animated; this network takes still images only",
                             hint="use a still JPEG or PNG")
        if facts.size > rules.max_bytes or facts.format not in rules.formats:
            raise ImageError(f"{path.name}: animated {facts.format} of {facts.size:,} bytes "
                             f"cannot be sent (limit {rules.max_bytes:,} bytes, re-encoding "
                             "an animation is not supported)",
                             hint="shorten the animation or use a still image")
    if max(facts.width, facts.height) < rules.min_side:
        raise ImageError(f"{path.name} is {facts.width}×{facts.height} px, too small "
                         f"(at least {rules.min_side} px on the long side)",
                         hint="use the original photo, not a thumbnail")


def _is_animated(image: Image.Image) -> bool:
    return bool(getattr(image, "is_animated", False)) and getattr(image, "n_frames", 1) > 1


def _animated_as_is(path: Path, data: bytes, image: Image.Image, alt: str) -> PreparedImage:
    # Re-encoding frame by frame would lose timing and palette tricks; it is sent untouched
    # (the bytes already read and checked, not the file read again).
    fmt = image.format or ""
    return PreparedImage(data=data, mime=_MIME[fmt], width=image.width,
                         height=image.height, alt=alt, filename=path.stem + _SUFFIX[fmt])


def _aspect_ok(width: int, height: int, aspect: tuple[float, float]) -> bool:
    ratio = width / height
    return aspect[0] - 1e-3 <= ratio <= aspect[1] + 1e-3


def _padded_size(width: int, height: int, rules: ImageRules) -> tuple[int, int]:
    if not rules.aspect or _aspect_ok(width, height, rules.aspect):
        return width, height
    narrowest, widest = rules.aspect
    if width / height < narrowest:
        return int(-(-height * narrowest // 1)), height
    return width, int(-(-width / widest // 1))


def _pad_to_aspect(image: Image.Image, rules: ImageRules) -> Image.Image:
    from PIL import Image
    width, height = _padded_size(image.width, image.height, rules)
    if (width, height) == image.size:
        return image
    canvas = Image.new("RGB", (width, height), PAD_COLOUR)
    canvas.paste(_flatten(image), ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def _fitted_size(width: int, height: int, rules: ImageRules) -> tuple[int, int]:
    scale = 1.0
    if rules.max_side:
        scale = min(scale, rules.max_side / max(width, height))
    if rules.max_dimension_sum:
        scale = min(scale, rules.max_dimension_sum / (width + height))
    if rules.max_pixels:
        scale = min(scale, (rules.max_pixels / (width * height)) ** 0.5)
    if scale >= 1.0:
        return width, height
    # floor, so that rounding never lands one pixel above the limit
    return max(1, int(width * scale)), max(1, int(height * scale))


def _scale_into(image: Image.Image, rules: ImageRules) -> Image.Image:
    from PIL import Image
    size = _fitted_size(image.width, image.height, rules)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency, and black (Pillow's default) looks broken."""
    from PIL import Image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, PAD_COLOUR)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _encode_within(image: Image.Image, target: str,
                   rules: ImageRules) -> tuple[bytes, str] | None:
    """Encoded bytes within ``rules.max_bytes`` at this size, or None if none fit.

    Lossless formats are tried once; when they do not fit and JPEG is allowed (or is
    the conversion target) the JPEG quality steps follow.
    """
    if target in ("PNG", "GIF"):
        data = _save(image, target)
        if len(data) <= rules.max_bytes:
            return data, target
        target = "JPEG" if "JPEG" in rules.formats or rules.convert_to == "JPEG" else target
        if target != "JPEG":
            return None
    for quality in QUALITY_STEPS:
        data = _save(image, target, quality=quality)
        if len(data) <= rules.max_bytes:
            return data, target
    return None


def _save(image: Image.Image, fmt: str, quality: int | None = None) -> bytes:
    # No exif= argument: Pillow then writes no EXIF at all (orientation is already applied).
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        _flatten(image).save(out, "JPEG", quality=quality or 90, optimize=True,
                             progressive=True, **extra)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=quality or 90, **extra)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True, **extra)
    else:
        image.save(out, fmt)
    return out.getvalue()
