"""Photos just work on every network (issue 14): a release with a PNG screenshot, a 24 MP
portrait camera JPEG (EXIF orientation, GPS position) and a 3:1 panorama queues for all
the networks; each account's post names files prepared for its network — format,
bytes, pixels and aspect ratio within that network's rules, no metadata left — and those
are the files the preview described, byte for byte.

Queued on SQLite and on the real PostgreSQL the tests start.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageDraw

from channels import registry
from channels.images import MAX_SENT_SIDE, rules_for
from tests.core.conftest import row_counts

#: one account per network; those fetching images by URL are told where files are served
CONFIG = """
timezone = "Asia/Jakarta"
""" + "".join(f'\n[[accounts]]\nname = "{network}-lapas"\nnetwork = "{network}"\n{extra}\n'
              for network, extra in [
                  ("x", ""), ("mastodon", 'base_url = "https://mastodon.example"'),
                  ("bluesky", ""), ("telegram", 'options = { chat_id = "@lapas" }'),
                  ("facebook", 'options = { page_id = "1000123" }'),
                  ("instagram", 'options = { user_id = "1789", public_media_base_url = '
                                '"https://lapas.example.go.id/media" }'),
                  ("threads", 'options = { public_media_base_url = '
                              '"https://lapas.example.go.id/media" }'),
                  ("tiktok", 'options = { public_media_base_url = '
                             '"https://lapas.example.go.id/media" }'),
                  ("linkedin", 'options = { organization = "123" }'),
                  ("wordpress", 'base_url = "https://lapas.example.go.id"'),
                  ("discord", ""), ("slack", ""), ("webhook", ""),
                  ("email", 'options = { host = "smtp.example.go.id", from = '
                            '"humas@example.go.id", to = ["redaksi@example.go.id"] }'),
                  ("console", "")])

GPS_LATITUDE = (2.0, 7.0, 48.0)  # Pangkalpinang: a prison's position must not leave


def screenshot(path: Path) -> Path:
    """A 1920×1080 PNG screenshot: flat colours, a window, lines of "text"."""
    image = Image.new("RGB", (1920, 1080), (236, 239, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 90, 1800, 1000), fill="white", outline=(180, 186, 194), width=3)
    for row in range(40):
        draw.rectangle((180, 140 + row * 21, 180 + (row * 97) % 1400 + 200, 152 + row * 21),
                       fill=(40, 40, 60))
    image.save(path)
    return path


def camera_photo(path: Path) -> Path:
    """A 24 MP camera JPEG stored 6000×4000 with EXIF orientation 6 (shown as a 4000×6000
    portrait), a camera serial and a GPS position, detailed enough to weigh megabytes."""
    grain = Image.effect_noise((750, 500), 60).resize((6000, 4000), Image.Resampling.BICUBIC)
    light = Image.linear_gradient("L").rotate(90).resize((6000, 4000))
    pixels = Image.merge("RGB", (grain, light, Image.blend(grain, light, 0.5)))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "KameraHumas"
    exif[ExifTags.Base.BodySerialNumber] = "SN-lapas-0042"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (106.0, 6.0, 36.0)
    pixels.save(path, quality=95, exif=exif.tobytes())
    return path


def panorama(path: Path) -> Path:
    """A 3:1 panorama, 6000×2000."""
    sky = Image.linear_gradient("L").resize((6000, 2000))
    Image.merge("RGB", (sky, sky.transpose(Image.Transpose.FLIP_LEFT_RIGHT), sky)).save(
        path, quality=90)
    return path


@pytest.fixture
def release(workspace: Path) -> Path:
    (workspace / "siar.toml").write_text(CONFIG, encoding="utf-8")
    camera = camera_photo(workspace / "kamera.jpg")
    with Image.open(camera) as check:  # the test's own premise: GPS is really in there
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    screenshot(workspace / "layar.png")
    panorama(workspace / "panorama.jpg")
    path = workspace / "rilis.md"
    path.write_text("---\ntitle: Rakor Humas\nimages:\n"
                    "  - {path: layar.png, alt: Tangkapan layar aplikasi}\n"
                    "  - {path: kamera.jpg, alt: Kalapas membuka rakor}\n"
                    "  - {path: panorama.jpg, alt: Halaman lapas}\n---\nIsi rilis.\n",
                    encoding="utf-8")
    return path


def preview(siar, target: str) -> dict[str, list[dict]]:
    result = siar("preview", target, "--json")
    assert result.code == 0, result.err
    return {v["account"]: v["media"] for v in json.loads(result.out)["variants"]}


def within_the_rules(network: str, item: dict, data: bytes) -> None:
    """The prepared file is one ``network`` takes, and the JSON says what it is."""
    rules = rules_for(network)
    assert hashlib.sha256(data).hexdigest() == item["sha256"]
    assert len(data) == item["bytes"] <= rules.max_bytes
    with Image.open(io.BytesIO(data)) as image:
        assert image.format in rules.formats
        assert Image.MIME[image.format] == item["mime"]
        assert image.size == (item["width"], item["height"])
        width, height = image.size
        assert max(width, height) <= min(rules.max_side or MAX_SENT_SIDE, MAX_SENT_SIDE)
        assert max(width, height) >= rules.min_side
        if rules.max_dimension_sum:
            assert width + height <= rules.max_dimension_sum
        if rules.max_pixels:
            assert width * height <= rules.max_pixels
        if rules.aspect:
            assert rules.aspect[0] - 0.005 <= width / height <= rules.aspect[1] + 0.005
        # nothing of the camera's metadata: no EXIF at all, so no GPS, no serial
        assert not image.getexif()
        assert "exif" not in image.info and "xmp" not in image.info
    assert b"SN-lapas-0042" not in data and b"KameraHumas" not in data


def test_a_release_with_a_screenshot_a_camera_photo_and_a_panorama_queues_everywhere(
        workspace: Path, siar, database: str, release: Path) -> None:
    previewed = preview(siar, "rilis.md")
    # every network that takes photos (a YouTube post is a video: it takes none)
    assert set(previewed) == {f"{n}-lapas" for n in registry.networks()
                              if registry.load(n).post_rules.max_images != 0}

    added = siar("add", "rilis.md", "--at", "besok 10.00", "--json")
    assert added.code == 0, added.err
    queued = preview(siar, str(json.loads(added.out)["release"]))

    sources = [str(workspace / name) for name in ("layar.png", "kamera.jpg", "panorama.jpg")]
    for account, media in queued.items():
        network = account.removesuffix("-lapas")
        assert [item["source"] for item in media] == sources, account
        for item, described in zip(media, previewed[account], strict=True):
            assert item["kind"] == "image" and item["alt"]
            within_the_rules(network, item, Path(item["path"]).read_bytes())
            # what the preview described is what was kept to be published
            assert {k: item[k] for k in ("sha256", "bytes", "width", "height", "mime")} == \
                {k: described[k] for k in ("sha256", "bytes", "width", "height", "mime")}
            # where a network that fetches images finds the prepared file
            fetches = registry.load(network).fetches_media_by_url
            assert item["url"] == (f"https://lapas.example.go.id/media/"
                                   f"{Path(item['path']).name}" if fetches else None)

    # the portrait stands upright everywhere, and fits Instagram's 4:5 by padding
    instagram = queued["instagram-lapas"][1]
    assert (instagram["width"], instagram["height"]) == (1152, 1440)
    assert queued["x-lapas"][1]["height"] > queued["x-lapas"][1]["width"]
    # the screenshot: PNG kept where PNG is taken, JPEG where it is not
    assert queued["mastodon-lapas"][0]["mime"] == "image/png"
    assert queued["instagram-lapas"][0]["mime"] == "image/jpeg"


def test_each_distinct_prepared_file_is_kept_once(workspace: Path, siar,
                                                  release: Path) -> None:
    added = siar("add", "rilis.md", "--at", "besok 10.00", "--json")
    assert added.code == 0, added.err
    queued = preview(siar, str(json.loads(added.out)["release"]))
    named = {item["path"] for media in queued.values() for item in media}
    store = workspace / "home" / "media"
    kept = {str(p) for p in store.glob("*/*")}
    originals = {hashlib.sha256((workspace / n).read_bytes()).hexdigest()
                 for n in ("layar.png", "kamera.jpg", "panorama.jpg")}
    # the prepared files named by the posts, plus the originals kept for the record
    assert kept == named | {str(p) for p in store.glob("*/*") if p.parent.name in originals}
    assert len(named) < 3 * len(queued)  # networks with the same rules share a file


def small_release(workspace: Path, image: str) -> None:
    Image.new("RGB", (2000, 800), (30, 110, 60)).save(workspace / "foto.jpg")  # 2.5:1
    (workspace / "foto.md").write_text(f"---\ntitle: Rakor\nchannels: [console]\n"
                                       f"images: [{image}]\n---\nIsi rilis.\n",
                                       encoding="utf-8")


def test_an_account_requiring_alt_text_refuses_the_release_and_writes_nothing(
        workspace: Path, siar) -> None:
    (workspace / "siar.toml").write_text(
        '[[accounts]]\nname = "console"\nnetwork = "console"\nalt_text = "require"\n',
        encoding="utf-8")
    small_release(workspace, "foto.jpg")
    result = siar("add", "foto.md", "--at", "now")
    assert result.code == 1 and "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "'console'" in message and "requires alt text" in message and "foto.jpg" in message
    assert row_counts(workspace)["post"] == 0
    assert not (workspace / "home" / "media").exists()


@pytest.mark.parametrize(("image", "field", "says"), [
    ("{path: foto.jpg, alt: Foto, focus: atas}", "images[0].focus", "not a focus point"),
    ("{path: foto.jpg, alt: Foto, background: ungu}", "images[0].background",
     "not a background")])
def test_a_focus_or_background_that_means_nothing_names_the_field(
        workspace: Path, siar, image: str, field: str, says: str) -> None:
    small_release(workspace, image)
    result = siar("preview", "foto.md")
    assert result.code == 1 and "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert f"foto.md: {field}" in message and says in message


def test_the_html_preview_of_a_file_shows_the_prepared_photo_and_writes_no_media(
        workspace: Path, siar) -> None:
    (workspace / "siar.toml").write_text(CONFIG, encoding="utf-8")
    small_release(workspace, "{path: foto.jpg, alt: Foto, background: blur}")
    page = workspace / "pratinjau.html"
    result = siar("preview", "foto.md", "--channels", "instagram-lapas", "--html", str(page))
    assert result.code == 0, result.err
    assert "foto.jpg → JPEG 1440×754" in " ".join(result.out.split())
    assert page.read_text(encoding="utf-8").count("data:image/jpeg;base64,") == 1
    assert not (workspace / "home" / "media").exists()
