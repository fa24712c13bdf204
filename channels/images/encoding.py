"""Turning pixels into the bytes a network takes: format, quality steps, no metadata.

One :class:`Encoder` serves one photo prepared for several networks: an encoding of the
same pixels at the same format and quality is made once and measured against each
network's byte limit (a 5 MB and a 10 MB network with the same pixel limits share it).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from channels.rules import ImageRules

if TYPE_CHECKING:
    from PIL import Image

#: the background of padding and of flattened transparency
PAD_COLOUR = (255, 255, 255)
#: JPEG quality steps tried in order before the picture is made smaller
QUALITY_STEPS = (90, 85, 80, 75, 70, 60)

MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


def target_format(source_format: str, rules: ImageRules) -> str:
    """The format sent: the file's own where the network takes it, else its conversion."""
    return source_format if source_format in rules.formats else rules.convert_to


def flatten(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no transparency, and black (Pillow's default) looks broken."""
    from PIL import Image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, PAD_COLOUR)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def save(image: Image.Image, fmt: str, quality: int | None = None) -> bytes:
    """``image`` encoded as ``fmt`` with no EXIF, XMP or comment (Pillow writes none unless
    asked); a colour profile only where :func:`source.to_srgb` could not convert it."""
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        flatten(image).save(out, "JPEG", quality=quality or 90, optimize=True,
                            progressive=True, **extra)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=quality or 90, **extra)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True, **extra)
    else:
        image.save(out, fmt)
    return out.getvalue()


class Encoder:
    """Encodings of pixels, each made once however many networks ask for it."""

    def __init__(self) -> None:
        self._made: dict[tuple[object, str, int | None], bytes] = {}

    def _save(self, key: object, image: Image.Image, fmt: str,
              quality: int | None) -> bytes:
        made_key = (key, fmt, quality)
        if made_key not in self._made:
            self._made[made_key] = save(image, fmt, quality)
        return self._made[made_key]

    def within(self, key: object, image: Image.Image, target: str,
               rules: ImageRules) -> tuple[bytes, str] | None:
        """Bytes within ``rules.max_bytes`` at this size, with their format, or None if no
        step fits. ``key`` names these pixels (equal keys: equal pixels).

        Lossless formats are tried once; when they do not fit and JPEG is allowed (or is
        the conversion target) the JPEG quality steps follow.
        """
        if target in ("PNG", "GIF"):
            data = self._save(key, image, target, None)
            if len(data) <= rules.max_bytes:
                return data, target
            target = "JPEG" if "JPEG" in rules.formats or rules.convert_to == "JPEG" else target
            if target != "JPEG":
                return None
        for quality in QUALITY_STEPS:
            data = self._save(key, image, target, quality)
            if len(data) <= rules.max_bytes:
                return data, target
        return None
