"""Framing, colour, formats and sharing: a photo outside a network's aspect range is
padded (white, black, a colour or a blurred copy of itself) or cropped around the
release's focus point; colours come out in sRGB; HEIC and WebP become JPEG where needed;
a photo prepared for many networks is decoded once and each distinct output made once;
a prepared file is sent byte for byte."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageCms

from channels import registry
from channels.images import (
    MAX_SENT_SIDE,
    Framing,
    Target,
    parse_background,
    parse_focus,
    prepare_image,
    prepare_many,
    rules_for,
)
from channels.images.geometry import FOCUS_POINTS, aspect_ok, layout
from channels.rules import ImageRules

INSTAGRAM = ImageRules(max_bytes=8 * 1024 * 1024, formats=frozenset({"JPEG"}), max_side=1440,
                       aspect=(4 / 5, 1.91), min_side=320)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def three_bands(path: Path, size: tuple[int, int]) -> Path:
    """A tall photo in three horizontal bands: red on top, green, blue at the bottom."""
    width, height = size
    image = Image.new("RGB", size, (0, 160, 0))
    image.paste((200, 0, 0), (0, 0, width, height // 3))
    image.paste((0, 0, 200), (0, 2 * height // 3, width, height))
    image.save(path, quality=95)
    return path


# --- geometry, for any size ------------------------------------------------------------


@given(width=st.integers(1, 20_000), height=st.integers(1, 20_000),
       focus=st.none() | st.sampled_from(sorted(set(FOCUS_POINTS.values()))),
       network=st.sampled_from(registry.networks()))
def test_every_layout_keeps_every_pixel_rule_and_never_enlarges(width, height, focus,
                                                                 network) -> None:
    rules = rules_for(network)
    plan = layout(width, height, rules, Framing(focus))
    canvas_w, canvas_h = plan.canvas
    assert max(plan.canvas) <= min(rules.max_side or MAX_SENT_SIDE, MAX_SENT_SIDE)
    if rules.max_dimension_sum:
        assert canvas_w + canvas_h <= rules.max_dimension_sum
    if rules.max_pixels:
        assert canvas_w * canvas_h <= rules.max_pixels
    box_w, box_h = plan.box[2] - plan.box[0], plan.box[3] - plan.box[1]
    left, top, right, bottom = plan.box
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    assert plan.photo[0] <= box_w and plan.photo[1] <= box_h  # scaled down, never up
    assert plan.photo[0] <= canvas_w and plan.photo[1] <= canvas_h
    if rules.aspect and min(canvas_w, canvas_h) >= 100:  # whole pixels blur tiny ratios
        assert rules.aspect[0] - 0.01 <= canvas_w / canvas_h <= rules.aspect[1] + 0.01
    if focus is None:
        assert plan.box == (0, 0, width, height)  # padding loses nothing


@given(width=st.integers(300, 9000), height=st.integers(300, 9000),
       x=st.floats(0, 1), y=st.floats(0, 1))
def test_a_crop_is_as_large_as_the_ratio_allows_and_holds_the_focus_point(width, height, x,
                                                                          y) -> None:
    plan = layout(width, height, INSTAGRAM, Framing((x, y)))
    left, top, right, bottom = plan.box
    assert aspect_ok(right - left, bottom - top, (0.795, 1.915))
    assert right - left == width or bottom - top == height  # one side kept whole
    # the focus point is inside the crop (a point at an edge stays at that edge)
    assert left <= x * width <= right and top <= y * height <= bottom


def test_focus_and_background_are_read_as_officers_write_them() -> None:
    assert parse_focus("top") == (0.5, 0.0)
    assert parse_focus("Bottom Left") == (0.0, 1.0)
    assert parse_focus("0.25, 0.4") == (0.25, 0.4)
    assert parse_background("Blur") == "blur" and parse_background("#1D3557") == "#1d3557"
    for wrong, parse in (("atas", parse_focus), ("1.5,0", parse_focus),
                         ("purple", parse_background)):
        with pytest.raises(ValueError, match="use"):
            parse(wrong)


# --- pixels ------------------------------------------------------------------------------


def test_a_tall_photo_cropped_with_focus_top_keeps_the_top(tmp_path: Path) -> None:
    path = three_bands(tmp_path / "tinggi.jpg", (600, 1800))
    top = opened(prepare_image(path, "instagram", framing=Framing(parse_focus("top"))).data)
    assert abs(top.width / top.height - 0.8) < 0.01
    assert top.getpixel((top.width // 2, 5))[0] > 150  # red at the top …
    assert top.getpixel((top.width // 2, top.height - 5))[1] > 100  # … green at the bottom
    bottom = opened(prepare_image(path, "instagram",
                                  framing=Framing(parse_focus("bottom"))).data)
    assert bottom.getpixel((bottom.width // 2, bottom.height - 5))[2] > 150  # blue


def test_padding_shows_the_background_asked_for(tmp_path: Path) -> None:
    path = three_bands(tmp_path / "tinggi.jpg", (600, 1800))
    for background, edge in (("black", (0, 0, 0)), ("#1d3557", (29, 53, 87))):
        image = opened(prepare_image(path, "instagram", framing=Framing(None, background)).data)
        assert image.getpixel((2, image.height // 2)) == pytest.approx(edge, abs=8)
        assert image.getpixel((image.width // 2, 3))[0] > 150  # the whole photo, red top
    blurred = opened(prepare_image(path, "instagram", framing=Framing(None, "blur")).data)
    # the border is the photo's own colours, softened: reddish up top, bluish below
    assert blurred.getpixel((2, 5))[0] > blurred.getpixel((2, 5))[2]
    assert blurred.getpixel((2, blurred.height - 5))[2] > blurred.getpixel(
        (2, blurred.height - 5))[0]


def icc_profile(primaries: tuple[tuple[float, float, float], ...], gamma: float) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma), as cameras embed Adobe RGB."""
    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: tuple[float, float, float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15(v) for v in values)

    name = b"Wide gamut test\0"
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + b"\0" * 8 + b"\0" * 3
            + b"\0" * 67)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
            (b"rXYZ", xyz(primaries[0])), (b"gXYZ", xyz(primaries[1])),
            (b"bXYZ", xyz(primaries[2])), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + b"\x02\x10\0\0" + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249)
              + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


ADOBE_RGB = icc_profile(((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087),
                         (0.14919, 0.06322, 0.74457)), 2.2)


def test_a_photo_in_a_wide_gamut_profile_comes_out_in_srgb_without_a_profile(
        tmp_path: Path) -> None:
    colour = (60, 170, 90)
    path = tmp_path / "adobe.jpg"
    Image.new("RGB", (800, 600), colour).save(path, quality=100, icc_profile=ADOBE_RGB)
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), colour), ImageCms.ImageCmsProfile(io.BytesIO(ADOBE_RGB)),
        ImageCms.createProfile("sRGB")).getpixel((0, 0))
    assert expected != pytest.approx(colour, abs=3)  # the premise: the profile matters
    for network in ("x", "instagram", "bluesky"):
        image = opened(prepare_image(path, network).data)
        assert "icc_profile" not in image.info  # untagged: every network reads it as sRGB
        assert image.getpixel((400, 300)) == pytest.approx(expected, abs=3)


def test_an_srgb_photo_loses_only_its_profile(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "srgb.jpg"
    Image.new("RGB", (800, 600), (60, 170, 90)).save(path, quality=100, icc_profile=srgb)
    image = opened(prepare_image(path, "x").data)
    assert "icc_profile" not in image.info
    assert image.getpixel((400, 300)) == pytest.approx((60, 170, 90), abs=3)


def test_heic_from_a_phone_becomes_jpeg(tmp_path: Path) -> None:
    heif = pytest.importorskip("pillow_heif")
    heif.register_heif_opener()
    path = tmp_path / "iphone.heic"
    Image.new("RGB", (1200, 900), (30, 110, 60)).save(path, format="HEIF")
    for network in ("instagram", "x", "bluesky"):
        prepared = prepare_image(path, network)
        assert prepared.mime == "image/jpeg" and prepared.filename == "iphone.jpg"
        assert opened(prepared.data).getpixel((600, 450)) == pytest.approx((30, 110, 60), abs=6)


def test_webp_becomes_jpeg_for_instagram_and_stays_webp_where_taken(tmp_path: Path) -> None:
    path = tmp_path / "foto.webp"
    Image.new("RGB", (1000, 800), (200, 100, 50)).save(path, quality=90)
    assert prepare_image(path, "instagram").mime == "image/jpeg"
    assert prepare_image(path, "x").mime == "image/webp"


# --- once per distinct output; sent as it is once prepared --------------------------------


@pytest.fixture(scope="module")
def camera_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grainy 2000×1500 JPEG turned by EXIF orientation 6: every network changes it."""
    path = tmp_path_factory.mktemp("framing") / "kamera.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.effect_noise((2000, 1500), 40).convert("RGB").save(path, quality=92,
                                                             exif=exif.tobytes())
    return path


def test_networks_with_the_same_rules_share_one_prepared_file(camera_jpeg: Path) -> None:
    path = camera_jpeg
    every = [Target(network) for network in registry.networks()]
    prepared = prepare_many(path, every + every)  # twice: the same targets count once
    assert set(prepared) == set(every)
    by_rules: dict[tuple, set[int]] = {}
    for target, image in prepared.items():
        by_rules.setdefault((rules_for(target.network), target.framing), set()).add(
            id(image.data))
    assert all(len(ids) == 1 for ids in by_rules.values())
    assert len({id(image.data) for image in prepared.values()}) < len(every)


@pytest.mark.parametrize("network", registry.networks())
def test_a_prepared_file_is_sent_byte_for_byte(tmp_path: Path, camera_jpeg: Path,
                                               network: str) -> None:
    first = prepare_image(camera_jpeg, network)
    assert first.data != camera_jpeg.read_bytes()
    again = tmp_path / first.filename
    again.write_bytes(first.data)
    assert prepare_image(again, network).data == first.data


def test_a_clean_photo_within_the_rules_is_not_recompressed(photo_jpeg: Path) -> None:
    assert prepare_image(photo_jpeg, "mastodon").data == photo_jpeg.read_bytes()


def test_a_cmyk_jpeg_is_converted_to_rgb_even_when_it_fits(tmp_path: Path) -> None:
    path = tmp_path / "cetak.jpg"
    Image.new("CMYK", (800, 600), (0, 200, 200, 0)).save(path, quality=95)
    prepared = prepare_image(path, "mastodon")
    assert prepared.data != path.read_bytes() and opened(prepared.data).mode == "RGB"
