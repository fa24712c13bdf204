"""Images are made to fit each network, keep their alt text, and lose their metadata."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from channels import registry
from channels.images import (
    ImageError,
    ImageRules,
    PreparedImage,
    prepare_image,
    rules_for,
    validate_image,
)


def opened(prepared: PreparedImage) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.data))
    image.load()
    return image


def within_rules(prepared: PreparedImage, rules: ImageRules) -> None:
    image = opened(prepared)
    assert image.size == (prepared.width, prepared.height)
    assert len(prepared.data) <= rules.max_bytes
    if rules.max_side:
        assert max(image.size) <= rules.max_side
    if rules.max_dimension_sum:
        assert sum(image.size) <= rules.max_dimension_sum
    if rules.max_pixels:
        assert image.width * image.height <= rules.max_pixels
    if rules.aspect:
        assert rules.aspect[0] - 0.01 <= image.width / image.height <= rules.aspect[1] + 0.01
    assert image.format in rules.formats or image.format == rules.convert_to


def test_bluesky_images_never_exceed_one_million_bytes(large_jpeg: Path) -> None:
    assert large_jpeg.stat().st_size > 1_000_000
    prepared = prepare_image(large_jpeg, "bluesky", alt="Kegiatan pembinaan")
    within_rules(prepared, rules_for("bluesky"))
    assert prepared.mime == "image/jpeg" and prepared.filename == "besar.jpg"


def test_x_images_fit_five_megabytes(large_jpeg: Path) -> None:
    prepared = prepare_image(large_jpeg, "x")
    assert len(prepared.data) <= 5_000_000
    within_rules(prepared, rules_for("x"))


def test_alt_text_is_kept_unchanged(photo_jpeg: Path) -> None:
    alt = "Kepala Lapas menyerahkan sertifikat kepada warga binaan 🎓"
    assert prepare_image(photo_jpeg, "mastodon", alt=alt).alt == alt


def test_a_small_photo_keeps_its_size(photo_jpeg: Path) -> None:
    prepared = prepare_image(photo_jpeg, "telegram")
    assert (prepared.width, prepared.height) == (800, 600)


def test_exif_orientation_is_applied_then_all_exif_is_stripped(exif_rotated: Path) -> None:
    prepared = prepare_image(exif_rotated, "mastodon")
    image = opened(prepared)
    assert image.size == (200, 400)  # displayed upright
    assert not image.getexif()
    assert b"secret-serial-123" not in prepared.data and b"KameraHumas" not in prepared.data
    # orientation 6 turns the white left quarter to the top
    assert image.getpixel((100, 20))[0] > 200 and image.getpixel((100, 380))[0] < 60


def test_png_with_alpha_becomes_a_jpeg_on_white_where_the_network_needs_jpeg(
        png_with_alpha: Path) -> None:
    prepared = prepare_image(png_with_alpha, "instagram")
    image = opened(prepared)
    assert prepared.mime == "image/jpeg" and image.format == "JPEG"
    assert prepared.filename == "logo.jpg"
    corner = image.getpixel((5, 5))
    assert all(channel > 240 for channel in corner)  # transparent → white, not black


def test_png_stays_png_where_the_network_takes_png(png_with_alpha: Path) -> None:
    prepared = prepare_image(png_with_alpha, "mastodon")
    assert prepared.mime == "image/png"
    assert opened(prepared).mode == "RGBA"


def test_instagram_pads_a_tall_portrait_to_four_by_five_keeping_the_whole_photo(
        tall_portrait: Path) -> None:
    prepared = prepare_image(tall_portrait, "instagram")
    image = opened(prepared)
    assert abs(image.width / image.height - 4 / 5) < 0.01
    assert image.getpixel((2, image.height // 2)) == pytest.approx((255, 255, 255), abs=8)
    # the photo itself is centred and complete, not cropped
    centre = image.getpixel((image.width // 2, image.height // 2))
    assert centre == pytest.approx((90, 90, 160), abs=12)
    assert image.getpixel((image.width // 2, 3)) == pytest.approx((90, 90, 160), abs=12)


def test_instagram_pads_a_panorama_to_one_point_nine_one(image_dir: Path) -> None:
    path = image_dir / "panorama.jpg"
    Image.new("RGB", (1200, 300), (10, 120, 10)).save(path)
    image = opened(prepare_image(path, "instagram"))
    assert abs(image.width / image.height - 1.91) < 0.01


def test_telegram_keeps_width_plus_height_within_ten_thousand(image_dir: Path) -> None:
    path = image_dir / "spanduk.jpg"
    Image.new("RGB", (9400, 940), (1, 2, 3)).save(path)
    prepared = prepare_image(path, "telegram")
    assert prepared.width + prepared.height <= 10_000
    assert prepared.width / prepared.height == pytest.approx(10, rel=0.01)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=st.sampled_from(registry.networks()), width=st.integers(320, 2400),
       height=st.integers(320, 2400))
def test_every_prepared_image_meets_every_rule_of_its_network(
        tmp_path_factory: pytest.TempPathFactory, network: str, width: int,
        height: int) -> None:
    assume(max(width, height) >= rules_for(network).min_side)  # smaller: a refused thumbnail
    path = tmp_path_factory.mktemp("prop") / "foto.png"
    Image.new("RGB", (width, height), (width % 256, height % 256, 77)).save(path)
    within_rules(prepare_image(path, network), rules_for(network))


@settings(max_examples=15, deadline=None)
@given(width=st.integers(320, 2000), height=st.integers(320, 2000))
def test_instagram_aspect_ratio_is_always_between_four_five_and_one_nine_one(
        tmp_path_factory: pytest.TempPathFactory, width: int, height: int) -> None:
    path = tmp_path_factory.mktemp("ig") / "foto.jpg"
    Image.new("RGB", (width, height), (120, 120, 120)).save(path)
    prepared = prepare_image(path, "instagram")
    assert 0.8 - 0.005 <= prepared.width / prepared.height <= 1.91 + 0.005


def test_a_file_that_is_not_an_image_is_refused_at_queue_time(image_dir: Path) -> None:
    path = image_dir / "siaran.jpg"
    path.write_text("bukan gambar")
    with pytest.raises(ImageError, match="not a readable image"):
        validate_image(path, "x")


def test_a_missing_file_is_refused_at_queue_time(image_dir: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        validate_image(image_dir / "hilang.jpg", "mastodon")


def test_a_thumbnail_is_too_small(image_dir: Path) -> None:
    path = image_dir / "kecil.jpg"
    Image.new("RGB", (200, 150)).save(path)
    with pytest.raises(ImageError, match="too small"):
        validate_image(path, "instagram")
    assert validate_image(path, "mastodon") == []


def test_animated_gif_is_refused_where_only_stills_are_allowed(animated_gif: Path) -> None:
    with pytest.raises(ImageError, match="animated"):
        validate_image(animated_gif, "bluesky")
    with pytest.raises(ImageError, match="animated"):
        prepare_image(animated_gif, "instagram")


def test_animated_gif_is_sent_untouched_where_animation_is_allowed(animated_gif: Path) -> None:
    prepared = prepare_image(animated_gif, "x", alt="animasi")
    assert prepared.data == animated_gif.read_bytes()
    assert prepared.mime == "image/gif" and getattr(opened(prepared), "n_frames", 1) == 3


def test_validate_warns_about_what_preparation_will_change(
        large_jpeg: Path, tall_portrait: Path, png_with_alpha: Path) -> None:
    warnings = validate_image(large_jpeg, "bluesky")
    assert any("scaled down" in w for w in warnings)
    assert any("recompressed" in w for w in warnings)
    assert any("padded" in w for w in validate_image(tall_portrait, "instagram"))
    assert any("converted to JPEG" in w for w in validate_image(png_with_alpha, "instagram"))


def test_validate_warns_when_alt_text_is_longer_than_the_network_keeps(
        photo_jpeg: Path) -> None:
    assert any("alt text" in w for w in validate_image(photo_jpeg, "x", alt="a" * 1001))
    assert validate_image(photo_jpeg, "x", alt="a" * 1000) == []


def test_unknown_networks_get_conservative_defaults(photo_jpeg: Path) -> None:
    prepared = prepare_image(photo_jpeg, "example-third-party")
    assert prepared.mime == "image/jpeg"


@pytest.mark.parametrize(("suffix", "network"), [(".png", "mastodon"), (".webp", "x"),
                                                 (".webp", "bluesky")])
def test_png_and_webp_also_lose_their_exif_after_being_turned_upright(
        image_dir: Path, suffix: str, network: str) -> None:
    path = image_dir / f"exif{suffix}"
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0131] = "secret-serial-123"
    Image.new("RGB", (300, 200), (1, 2, 3)).save(path, exif=exif.tobytes())
    prepared = prepare_image(path, network)
    assert (prepared.width, prepared.height) == (200, 300)
    assert b"secret-serial-123" not in prepared.data
    assert not opened(prepared).getexif()


# --- hostile and changed files ----------------------------------------------------------


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width``×``height`` one-bit pixels and holds almost none: what
    Pillow reads when it opens a file (the header) is all these tests need."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("check", [prepare_image, validate_image])
def test_a_200_megapixel_image_is_an_image_error_naming_the_limit(tmp_path: Path,
                                                                   check) -> None:
    huge = png_header_only(tmp_path / "raksasa.png", 16_330, 12_250)  # 200 MP
    with pytest.raises(ImageError) as info:
        check(huge, "mastodon")
    assert "raksasa.png" in str(info.value) and "120 megapixels" in str(info.value)


def test_an_image_just_above_the_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    big = png_header_only(tmp_path / "besar.png", 13_000, 10_000)  # 130 MP
    with pytest.raises(ImageError, match=r"besar\.png is 13000×10000 px \(130\.0 megapixels\); "
                                         r"Siar takes images up to 120 megapixels"):
        validate_image(big, "x")


def test_a_108_megapixel_photo_is_taken_and_scaled_without_pillows_warning(
        tmp_path: Path) -> None:
    import warnings

    path = tmp_path / "hp.png"
    Image.new("1", (12_000, 9_000), 1).save(path)  # one bit per pixel: cheap to make
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        notes = validate_image(path, "x")
    assert any("scaled down from 12000×9000" in note for note in notes)


def test_a_file_pillow_cannot_decode_is_an_image_error(tmp_path: Path,
                                                       photo_jpeg: Path) -> None:
    broken = tmp_path / "terpotong.jpg"
    broken.write_bytes(photo_jpeg.read_bytes()[: 400])  # the header and a little more
    with pytest.raises(ImageError, match=r"terpotong\.jpg is not a readable image"):
        prepare_image(broken, "x")


def test_a_stored_copy_changed_after_queueing_is_refused_before_it_is_sent(
        tmp_path: Path, photo_jpeg: Path) -> None:
    from scheduler.media_store import MediaStore

    stored = MediaStore(root=tmp_path / "media").keep(photo_jpeg)
    assert prepare_image(stored.path, "x").data  # as queued: fine

    stored.path.chmod(0o644)
    Image.new("RGB", (800, 600), "blue").save(stored.path, "JPEG")
    for check in (prepare_image, validate_image):
        with pytest.raises(ImageError) as info:
            check(stored.path, "x")
        message = str(info.value)
        assert "the image changed after it was queued" in message
        assert photo_jpeg.name in message and "re-queue the release" in message


def test_a_truncated_file_is_refused_at_queue_time_too(tmp_path: Path, photo_jpeg: Path) -> None:
    broken = tmp_path / "terpotong.jpg"
    broken.write_bytes(photo_jpeg.read_bytes()[: len(photo_jpeg.read_bytes()) // 2])
    with pytest.raises(ImageError, match=r"terpotong\.jpg is not a readable image"):
        validate_image(broken, "x")


def test_a_photo_edited_between_two_checks_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "foto.jpg"
    Image.new("RGB", (800, 600), "red").save(path)
    assert validate_image(path, "x") == []
    Image.new("RGB", (20, 10), "red").save(path)  # replaced by a thumbnail
    with pytest.raises(ImageError, match="too small"):
        validate_image(path, "x")
