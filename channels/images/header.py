"""A photo file's header facts: may it be sent as it is?

:func:`header` answers from the bytes alone for the plainest files — a baseline or
progressive 8-bit JPEG with only a JFIF segment, a PNG with only pixel, palette,
transparency, gamma, density and background chunks — and asks Pillow about anything else.
A preview of a release whose photo needs no change then never imports Pillow (about 20 ms
of a ``siar preview``). The byte reader never decides alone that a file is *not* clean or
cannot be read: for every file it is unsure of it answers None, and Pillow decides; so it
may only say what Pillow would say (``tests/channels/test_image_header.py`` holds them
equal over generated files).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from channels.images.geometry import MAX_SENT_SIDE

#: what a file sent as it is may carry in Pillow's ``info``: no EXIF, XMP, IPTC, comment
#: or colour profile (everything else there is how the file is encoded)
HARMLESS_INFO = frozenset({"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi",
                           "progressive", "progression", "adobe", "adobe_transform",
                           "transparency", "gamma", "aspect", "loop", "duration",
                           "background", "version", "interlace", "compression"})

#: colour modes every network shows as they are (a CMYK JPEG is converted to RGB first)
PLAIN_MODES = frozenset({"RGB", "L", "RGBA", "LA", "P", "1"})


@dataclass(frozen=True)
class Header:
    """What deciding whether a file may be sent as it is needs."""

    format: str
    width: int
    height: int
    #: RGB or grey; no EXIF, XMP, IPTC, comment, text chunk or colour profile; a still
    clean: bool


def header(data: bytes) -> Header | None:
    """The file's header facts, or None for anything Pillow does not open plainly (and
    for a file too large to be sent as it is)."""
    return from_bytes(data) or from_pillow(data)


def from_pillow(data: bytes) -> Header | None:
    import io

    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # see source.py
            opened = Image.open(io.BytesIO(data))
        with opened as image:
            if max(image.size) > MAX_SENT_SIDE:
                return None  # never sent as it is: no need to read further
            if image.format == "PNG":
                image.load()  # text chunks after the pixels are read only then
            clean = (image.mode in PLAIN_MODES
                     and not image.getexif() and set(image.info) <= HARMLESS_INFO
                     and not getattr(image, "text", None)
                     and not getattr(image, "is_animated", False))
            return Header(image.format or "", image.width, image.height, clean)
    except Exception:  # not ours to judge here: preparing says what is wrong
        return None


def from_bytes(data: bytes) -> Header | None:
    """A clean file's header read from its bytes, or None when unsure."""
    if data.startswith(b"\xff\xd8\xff"):
        found = _jpeg(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        found = _png(data)
    else:
        return None
    if found is None or not 0 < max(found.width, found.height) <= MAX_SENT_SIDE \
            or min(found.width, found.height) < 1:
        return None
    return found


# --- JPEG -------------------------------------------------------------------------------

#: start-of-frame markers Pillow decodes: baseline, extended sequential, progressive
_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
#: segments that only say how the pixels are coded (quantisation, Huffman tables,
#: restart interval)
_CODING = frozenset({0xDB, 0xC4, 0xDD})
#: colour components → Pillow's mode (4 would be CMYK: not plain)
_JPEG_MODES = {1: "L", 3: "RGB"}


def _jpeg(data: bytes) -> Header | None:
    """Segments up to the scan: JFIF, coding tables and one frame, nothing else."""
    at, size, frame = 2, len(data), None
    while at + 4 <= size:
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        length = int.from_bytes(data[at + 2:at + 4], "big")
        body = data[at + 4:at + 2 + length]
        if length < 2 or at + 2 + length > size:
            return None
        if marker == 0xDA:  # start of scan: every header segment has been seen
            if frame is None:
                return None
            return Header("JPEG", *frame, clean=True)
        if marker in _FRAMES:
            if frame is not None or len(body) < 6 or body[0] != 8:
                return None
            height = int.from_bytes(body[1:3], "big")
            width = int.from_bytes(body[3:5], "big")
            if body[5] not in _JPEG_MODES or height == 0:
                return None
            frame = (width, height)
        elif marker == 0xE0:
            if not body.startswith(b"JFIF\x00"):
                return None
        elif marker not in _CODING:
            return None  # EXIF, XMP, ICC, comments, Adobe, MPF, … : Pillow decides
        at += 2 + length
    return None


# --- PNG --------------------------------------------------------------------------------

#: chunks that only carry the pixels or what Pillow keeps as harmless ``info``
_PNG_PLAIN = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"pHYs",
                        b"bKGD"})
#: (colour type, bit depth) → Pillow's mode, for the plain modes
_PNG_MODES = {(0, 1): "1", (0, 8): "L", (2, 8): "RGB", (3, 1): "P", (3, 2): "P",
              (3, 4): "P", (3, 8): "P", (4, 8): "LA", (6, 8): "RGBA"}


def _png(data: bytes) -> Header | None:
    """Every chunk, to the end: only plain ones, one IHDR first, IEND last."""
    at, size, dimensions = 8, len(data), None
    while at + 8 <= size:
        length = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        end = at + 12 + length  # length, type, data, CRC
        if end > size or kind not in _PNG_PLAIN:
            return None
        if kind == b"IHDR":
            if dimensions is not None or at != 8 or length != 13:
                return None
            body = data[at + 8:end - 4]
            width = int.from_bytes(body[0:4], "big")
            height = int.from_bytes(body[4:8], "big")
            if (body[9], body[8]) not in _PNG_MODES or body[10:12] != b"\x00\x00" \
                    or body[12] not in (0, 1):
                return None
            dimensions = (width, height)
        elif dimensions is None:
            return None
        if kind == b"IEND":
            return Header("PNG", *dimensions, clean=True) if end == size else None
        at = end
    return None
