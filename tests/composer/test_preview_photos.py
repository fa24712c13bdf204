"""The preview shows the photos as each network gets them (issue 14 item 3): the terminal
lists each image's prepared format, size and bytes per account, ``--json`` describes the
prepared file, and the HTML page shows a thumbnail of it — padding and cropping visible —
in cards that fit a phone (headless Chromium at 390×844, and a desktop at 1280×800)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from scheduler.compose import compose_all
from scheduler.preview import render_console, render_html, variants_json, with_prepared_media
from scheduler.settings import AccountSettings
from tests.chromium import headless_chromium
from tests.composer.conftest import make_release, make_settings

NETWORKS = ["instagram", "x", "bluesky", "telegram", "mastodon", "facebook", "threads"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory):
    """A release with a tall photo, a panorama and a PNG screenshot, composed for several
    networks and prepared: (variants, files by SHA-256)."""
    folder = tmp_path_factory.mktemp("preview-photos")
    tall = Image.new("RGB", (600, 1800), (200, 30, 30))
    tall.paste((30, 30, 200), (0, 1200, 600, 1800))
    tall.save(folder / "tinggi.jpg", quality=92)
    Image.new("RGB", (3000, 1000), (20, 140, 60)).save(folder / "panorama.jpg", quality=92)
    Image.new("RGB", (1280, 800), (240, 240, 240)).save(folder / "layar.png")
    release = make_release(
        "Rakor berlangsung di Jakarta.", base_dir=folder,
        images=[{"path": "tinggi.jpg", "alt": "Kalapas <utama> membuka rakor"},
                {"path": "panorama.jpg", "alt": "Halaman lapas", "focus": "left"},
                {"path": "layar.png", "alt": "Tangkapan layar"}])
    settings = make_settings(accounts=[AccountSettings(name=f"{n}-lapas", network=n)
                                       for n in NETWORKS])
    variants, files = with_prepared_media(release, compose_all(release, settings.accounts,
                                                               settings))
    return variants, files


def test_json_media_items_describe_the_prepared_files(prepared) -> None:
    variants, files = prepared
    data = json.loads(json.dumps(variants_json(variants)))
    instagram = next(v for v in data["variants"] if v["channel"] == "instagram")
    tall, panorama, screenshot = instagram["media"]
    assert {"kind", "source", "path", "mime", "width", "height", "bytes", "sha256", "alt",
            "url"} <= set(tall)
    assert tall["kind"] == "image" and tall["url"] is None
    assert (tall["width"], tall["height"]) == (1152, 1440)  # padded to 4:5, scaled
    assert panorama["width"] / panorama["height"] == pytest.approx(1.91, abs=0.01)  # cropped
    assert screenshot["mime"] == "image/jpeg" and tall["source"].endswith("tinggi.jpg")
    for item in instagram["media"]:
        assert len(files[item["sha256"]]) == item["bytes"]
    # nothing copied by a preview: the path is still the release's own file
    assert tall["path"] == tall["source"]


def test_the_terminal_lists_each_image_as_each_network_gets_it(prepared) -> None:
    variants, _ = prepared
    console = Console(record=True, width=160, color_system=None)
    render_console(variants, console)
    output = console.export_text()
    assert re.search(r"tinggi\.jpg → JPEG 1152×1440, [\d,]+ bytes", output)  # Instagram
    assert re.search(r"layar\.png → PNG 1280×800, [\d,]+ bytes", output)  # X keeps PNG
    assert "alt: Kalapas <utama> membuka rakor" in output


def thumbnails(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)]


def test_the_html_page_shows_each_prepared_photo_not_a_placeholder(prepared) -> None:
    variants, files = prepared
    page = render_html(variants, title="Rakor", files=files)
    assert 'class="placeholder"' not in page
    shown = thumbnails(page)
    assert len(shown) == sum(len(v.media) for v in variants)
    first = shown[0]  # Instagram's tall photo: padded, the white border visible
    assert first.width / first.height == pytest.approx(0.8, abs=0.02)
    assert first.getpixel((2, first.height // 2)) == pytest.approx((255, 255, 255), abs=10)
    assert first.getpixel((first.width // 2, 5))[0] > 150
    assert 'alt="Kalapas &lt;utama&gt; membuka rakor"' in page
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) is None  # self-contained


def test_a_queued_release_shows_the_files_in_the_media_store(prepared, tmp_path: Path) -> None:
    variants, files = prepared
    # as queued: each media item names its prepared file on disk
    from dataclasses import replace

    queued = []
    for variant in variants:
        media = []
        for item in variant.media:
            path = tmp_path / item.sha256
            path.write_bytes(files[item.sha256])
            media.append(replace(item, path=str(path)))
        queued.append(replace(variant, media=media))
    page = render_html(queued, title="Rakor")
    assert len(thumbnails(page)) == sum(len(v.media) for v in variants)


@pytest.mark.browser
def test_cards_fit_a_phone_and_a_desktop_in_headless_chromium(prepared, tmp_path: Path) -> None:
    variants, files = prepared
    page = tmp_path / "preview.html"
    page.write_text(render_html(variants, title="Rakor Humas", files=files), encoding="utf-8")
    browser = headless_chromium(tmp_path / "profile")
    try:
        for width, height, mobile in ((390, 844, True), (1280, 800, False)):
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
            browser.get(page.as_uri())
            layout = browser.execute_script("""
                const cards = [...document.querySelectorAll('section.card')];
                const images = [...document.querySelectorAll('figure img')];
                return {viewport: window.innerWidth,
                        scroll: document.documentElement.scrollWidth,
                        cards: cards.map(c => c.getBoundingClientRect().right),
                        widths: cards.map(c => c.getBoundingClientRect().width),
                        loaded: images.map(i => i.complete && i.naturalWidth > 0),
                        inside: images.map(i => i.getBoundingClientRect().right <=
                            i.closest('section').getBoundingClientRect().right + 0.5)};
            """)
            shot = Path(tmp_path / f"preview-{width}x{height}.png")
            browser.save_screenshot(str(shot))
            print(f"screenshot: {shot}")
            assert layout["viewport"] == width
            assert layout["scroll"] <= width, "the page scrolls sideways"
            assert all(right <= width for right in layout["cards"])
            if mobile:  # one column: a card is the phone's width less the margins
                assert all(card <= 370 for card in layout["widths"])
            assert layout["loaded"] and all(layout["loaded"]) and all(layout["inside"])
            with Image.open(shot) as image:
                assert image.size[0] == width
                colours = image.convert("RGB").resize((60, 120)).getcolors(maxcolors=100_000)
            assert colours is not None and len(colours) > 30  # photos and cards, not blank
    finally:
        browser.quit()
