"""Reading a photo: its bytes (checked against the media store's hash), Pillow's decoding,
the facts the checks need, EXIF orientation, colour profile → sRGB, HEIC.

Every way Pillow can fail on a file becomes :class:`ImageError`, which adapters turn into
``Rejected`` (retrying cannot help) and intake into a message naming the file.
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
from channels.i18n import _
from channels.rules import ImageRules
from channels.stored_media import MAX_IMAGE_BYTES, digest, expected_digest

if TYPE_CHECKING:
    from PIL import Image

#: The most pixels Siar decodes. 120 megapixels takes the largest phone and camera photos
#: staff are likely to have (108 MP phones, 100–102 MP medium format) — they are scaled
#: down for each network as any photo is — while a 200 MP image (600 MB decoded, more with
#: every copy resizing makes) is refused at queue time with this limit in the message.
MAX_PIXELS = 120_000_000

#: EXIF orientation → the turn that shows the picture upright (EXIF 2.32, tag 0x0112)
_TURNS = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
          6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


class ImageError(SiarError):
    """An image that cannot be made acceptable for a network."""


@dataclass(frozen=True)
class Facts:
    """What the checks need to know about an image file."""

    format: str
    animated: bool
    #: as shown: EXIF orientation applied
    width: int
    height: int
    #: bytes
    size: int


def read(path: Path) -> bytes:
    """The file's bytes, checked against the SHA-256 its name promises when it is a copy in
    the media store: an image changed after queueing is refused, never published."""
    if not path.is_file():
        raise ImageError(_("image not found: {path}").format(path=path),
                         hint=_("check the path in the release"))
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ImageError(_("cannot read {path}: {reason}").format(
            path=path, reason=exc.strerror or exc),
            hint=_("check that the file exists and that Siar may read it")) from exc
    if (expected := expected_digest(path)) is not None and digest(data) != expected:
        raise ImageError(_("the image changed after it was queued: {file} ({path}) no longer "
                           "has the content that was queued").format(file=path.name, path=path),
                         hint=_("re-queue the release (siar cancel, then siar add) with the "
                                "photo as it should be"))
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(_("{file} is larger than {limit} bytes").format(
            file=path.name, limit=f"{MAX_IMAGE_BYTES:,}"),
            hint=_("export a smaller JPEG: a few MB is plenty for every network"))
    return data


def file_facts(path: Path) -> Facts:
    """The facts of the file at ``path``, decoded once per process and version of the file:
    queue time checks the same photo for every account (and a content calendar names the
    same logo many times)."""
    try:
        stat = path.stat()
    except OSError:
        read(path)  # raises the error that says what is wrong
        raise
    return _cached_facts(str(path), (stat.st_dev, stat.st_ino, stat.st_size,
                                     stat.st_mtime_ns))


@lru_cache(maxsize=256)
def _cached_facts(path: str, _version: tuple[int, int, int, int]) -> Facts:
    # decoded at the smallest scale (a JPEG at 1/8): whether it decodes is all that is asked
    image, facts = open_image(Path(path), read(Path(path)), decode_at=lambda w, h: (1, 1))
    image.close()
    return facts


def _register_heif() -> None:
    """Let Pillow open HEIC/HEIF (iPhone photos) when pillow-heif is installed; without
    it such a file is "not a readable image" with a hint to export a JPEG."""
    try:
        import pillow_heif  # optional: pip install 'siar[heic]'
    except ImportError:
        return
    pillow_heif.register_heif_opener()


_heif_ready: list[bool] = []


def open_image(path: Path, data: bytes, *,
               decode_at: Callable[[int, int], tuple[int, int]] | None = None
               ) -> tuple[Image.Image, Facts]:
    """The decoded image and its facts; every way Pillow can fail on a file becomes
    :class:`ImageError`. ``decode_at``: (width, height) → the least size a JPEG must be
    decoded at (Pillow's draft mode), the facts being those of the full image."""
    from PIL import Image
    if not _heif_ready:
        _register_heif()
        _heif_ready.append(True)
    try:
        with warnings.catch_warnings():
            # Siar checks MAX_PIXELS itself, with a message for staff: Pillow's warning
            # (printed raw above 89 megapixels) would only repeat it. Its error above
            # 179 MP is caught below. (The filters are process-wide: should two workers
            # interleave here, the worst left behind is this same "ignore".)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise too_many_pixels(path, None) from exc
    except Exception as exc:  # Pillow's decoders raise many unrelated types for bad files
        raise unreadable(path, exc) from exc
    try:
        if image.width * image.height > MAX_PIXELS:  # before decoding: the header says it
            raise too_many_pixels(path, image.size)
        facts = Facts(image.format or "", _is_animated(image), *_upright_size(image, path),
                      size=len(data))
        if decode_at is not None and image.format == "JPEG":
            image.draft(image.mode, decode_at(image.width, image.height))
        image.load()
    except ImageError:
        image.close()
        raise
    except Exception as exc:
        image.close()
        raise unreadable(path, exc) from exc
    return image, facts


def orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 = as stored)."""
    from PIL import ExifTags
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) else 1


def _upright_size(image: Image.Image, path: Path) -> tuple[int, int]:
    """(width, height) as shown: EXIF orientations 5 to 8 turn the picture a quarter."""
    try:
        turned = orientation(image) in (5, 6, 7, 8)
    except Exception as exc:
        raise unreadable(path, exc) from exc
    return (image.height, image.width) if turned else image.size


def upright(image: Image.Image, path: Path) -> Image.Image:
    """The pixels turned as the EXIF orientation says, with no metadata left (a damaged
    EXIF block is an error); ``image`` itself when it needs no turn. The colour profile
    stays in ``info`` for :func:`to_srgb`, the transparency of a palette image too."""
    from PIL import Image
    try:
        turn = _TURNS.get(orientation(image))
        kept = {k: image.info[k] for k in ("icc_profile", "transparency") if k in image.info}
        shown = image.transpose(getattr(Image.Transpose, turn)) if turn else image
    except Exception as exc:
        raise unreadable(path, exc) from exc
    shown.info = kept  # EXIF, XMP, IPTC, comments: none of it is sent on
    return shown


def to_srgb(image: Image.Image) -> Image.Image:
    """The pixels in sRGB, with no profile attached: every network shows untagged images
    as sRGB, so a photo in Adobe RGB or Display P3 would look dull there unconverted. A
    profile LittleCMS cannot read stays attached (the colours then stay right where the
    viewer honours it)."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    from PIL import ImageCms
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            converted = image  # already sRGB: the profile adds only bytes
        else:
            alpha = image.mode in ("RGBA", "LA", "PA") or (
                image.mode == "P" and "transparency" in image.info)
            mode = "RGBA" if alpha else "RGB"
            source = image if image.mode in ("RGB", "RGBA", "CMYK", "L") else image.convert(mode)
            result = ImageCms.profileToProfile(source, profile, ImageCms.createProfile("sRGB"),
                                               outputMode=mode if source.mode != "CMYK"
                                               else "RGB")
            converted = result if result is not None else source
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    converted.info = {k: v for k, v in converted.info.items() if k != "icc_profile"}
    return converted


def unreadable(path: Path, exc: Exception) -> ImageError:
    hint = _("export it again as JPEG or PNG")
    if path.suffix.lower() in (".heic", ".heif"):
        import importlib.util

        if importlib.util.find_spec("pillow_heif") is None:
            hint = _("install HEIC support (pip install 'siar[heic]', i.e. pillow-heif), "
                     "or export the photo as JPEG")
    return ImageError(_("{file} is not a readable image ({reason})").format(
        file=path.name, reason=exc.__class__.__name__), hint=hint)


def too_many_pixels(path: Path, size: tuple[int, int] | None) -> ImageError:
    measured = (_("{file} is {width}×{height} px ({megapixels} megapixels)").format(
        file=path.name, width=size[0], height=size[1],
        megapixels=f"{size[0] * size[1] / 1e6:.1f}") if size
        else _("{file} has too many pixels").format(file=path.name))
    return ImageError(_("{measured}; Siar takes images up to {most} megapixels").format(
        measured=measured, most=MAX_PIXELS // 1_000_000),
        hint=_("scale it down (e.g. to 8000 px on the long side) and add it again"))


def refuse_unfixable(facts: Facts, path: Path, rules: ImageRules) -> None:
    """Raise :class:`ImageError` for what no preparation fixes for ``rules``."""
    if facts.animated:
        if not rules.animated:
            raise ImageError(_("{file} is animated; this network takes still images only")
                             .format(file=path.name), hint=_("use a still JPEG or PNG"))
        if facts.size > rules.max_bytes or facts.format not in rules.formats:
            raise ImageError(_("{file}: animated {format} of {size} bytes cannot be sent (limit "
                               "{limit} bytes, re-encoding an animation is not supported)")
                             .format(file=path.name, format=facts.format,
                                     size=f"{facts.size:,}", limit=f"{rules.max_bytes:,}"),
                             hint=_("shorten the animation or use a still image"))
    if max(facts.width, facts.height) < rules.min_side:
        raise ImageError(_("{file} is {width}×{height} px, too small (at least {side} px on "
                           "the long side)").format(file=path.name, width=facts.width,
                                                    height=facts.height, side=rules.min_side),
                         hint=_("use the original photo, not a thumbnail"))


def _is_animated(image: Image.Image) -> bool:
    return bool(getattr(image, "is_animated", False)) and getattr(image, "n_frames", 1) > 1
