"""Whether a photo may be sent as it is is read from the file's bytes for the plainest
files, and from Pillow for every other: the byte reader answers only what Pillow would, and
for a file it is unsure of it leaves the answer to Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from channels.images.geometry import MAX_SENT_SIDE
from channels.images.header import Header, from_bytes, from_pillow, header

#: (format, mode) pairs Pillow writes
_KINDS = [("JPEG", "L"), ("JPEG", "RGB"), ("JPEG", "CMYK"), ("PNG", "1"), ("PNG", "L"),
          ("PNG", "LA"), ("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "I;16"),
          ("PNG", "I;16B")]


@st.composite
def photo_files(draw: st.DrawFn) -> bytes:
    """Small files as cameras, editors and Pillow write them: with or without EXIF (and
    its orientation), a colour profile, a comment, text chunks, transparency, density,
    progressive coding, an appended trailer."""
    fmt, mode = draw(st.sampled_from(_KINDS))
    size = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    image = Image.new(mode, size, draw(st.integers(0, 255)) if mode != "CMYK" else 0)
    options: dict[str, object] = {}
    if draw(st.booleans()):
        exif = Image.Exif()
        exif[0x0112] = draw(st.integers(1, 8))  # orientation
        if draw(st.booleans()):
            exif[0x010F] = "Kamera Humas"  # make
        options["exif"] = exif.tobytes()
    if draw(st.booleans()) and mode in ("RGB", "RGBA"):
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        options["icc_profile"] = profile.tobytes()
    if draw(st.booleans()):
        options["dpi"] = (draw(st.integers(1, 600)),) * 2
    if fmt == "JPEG":
        options["progressive"] = draw(st.booleans())
        if draw(st.booleans()):
            options["comment"] = b"dipotret oleh humas"
    else:
        if draw(st.booleans()):
            info = PngImagePlugin.PngInfo()
            info.add_text("Author", "Humas Lapas", zip=draw(st.booleans()))
            options["pnginfo"] = info
        if draw(st.booleans()) and mode in ("L", "RGB", "P"):
            options["transparency"] = 0 if mode != "RGB" else (0, 0, 0)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    data = out.getvalue()
    if draw(st.booleans()):
        data += draw(st.binary(min_size=1, max_size=16))  # a trailer after the image
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=photo_files())
def test_the_byte_reader_says_only_what_pillow_says(data: bytes) -> None:
    plain = from_bytes(data)
    if plain is not None:
        assert plain == from_pillow(data)
    assert header(data) == from_pillow(data)


@pytest.mark.parametrize("mode", ["L", "RGB"])
@pytest.mark.parametrize("progressive", [False, True])
def test_a_plain_jpeg_is_read_without_pillow(mode: str, progressive: bool) -> None:
    out = io.BytesIO()
    Image.new(mode, (64, 48)).save(out, "JPEG", progressive=progressive)
    assert from_bytes(out.getvalue()) == Header("JPEG", 64, 48, clean=True)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA"])
def test_a_plain_png_is_read_without_pillow(mode: str) -> None:
    out = io.BytesIO()
    Image.new(mode, (30, 20)).save(out, "PNG")
    assert from_bytes(out.getvalue()) == Header("PNG", 30, 20, clean=True)


def test_metadata_is_left_to_pillow_which_calls_the_file_not_clean() -> None:
    exif = Image.Exif()
    exif[0x8825] = {2: (6.0, 7.0, 8.0)}  # a GPS position must not leave the office as is
    out = io.BytesIO()
    Image.new("RGB", (64, 48)).save(out, "JPEG", exif=exif.tobytes())
    assert from_bytes(out.getvalue()) is None
    assert header(out.getvalue()) == Header("JPEG", 64, 48, clean=False)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8,
                                                              0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_a_file_larger_than_any_network_takes_as_it_is_has_no_header_either_way() -> None:
    data = _png(MAX_SENT_SIDE + 1, 10)
    assert from_bytes(data) is None and header(data) is None


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a",
                                  _png(10, 10)[:-5]])
def test_a_cut_or_unknown_file_is_left_to_pillow(data: bytes) -> None:
    assert from_bytes(data) is None
    assert header(data) == from_pillow(data)
