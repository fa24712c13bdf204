"""Preview: JSON contract, Rich panels, the HTML page (also in headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from scheduler.compose import compose_all
from scheduler.preview import count_text, render_console, render_html, variants_json
from tests.composer.conftest import make_settings


@pytest.fixture
def variants(big_release, tmp_path):
    settings = make_settings()
    return compose_all(big_release, settings.accounts, settings)


def test_json_follows_the_preview_contract(variants) -> None:
    data = json.loads(json.dumps(variants_json(variants)))
    assert len(data["variants"]) == len(variants)
    for item in data["variants"]:
        assert {"account", "channel", "parts", "length", "limit", "warnings"} <= set(item)
        assert len(item["parts"]) == len(item["length"])
    bluesky = next(v for v in data["variants"] if v["channel"] == "bluesky")
    assert len(bluesky["facets"]) == len(bluesky["parts"])


def test_console_shows_each_part_with_length_over_limit_and_warnings(variants) -> None:
    console = Console(record=True, width=120, color_system=None)
    render_console(variants, console)
    output = console.export_text()
    assert "x-lapas" in output and "part 1/" in output
    x = next(v for v in variants if v.channel == "x")
    assert f"{x.length[0]}/280" in output
    assert "⚠" in output and "∞" in output


def test_count_text_uses_the_composers_counting() -> None:
    [row] = count_text("https://ditjenpas.go.id/berita/panjang", ["x"])
    assert row == {"channel": "x", "length": 23, "limit": 280, "fits": True}


def test_html_page_is_self_contained_with_a_card_per_account(variants) -> None:
    page = render_html(variants, title="Rakor <Humas>")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) is None
    assert "<script" not in page and "<link" not in page
    assert page.count('<section class="card') == len(variants)
    assert "Rakor &lt;Humas&gt;" in page
    assert '<span class="tag">#HumasBergerakBersama</span>' in page
    assert "<b>Lapas Pangkalpinang Ikuti Rakor Humas</b>" in page  # Telegram's bold title


def test_html_escapes_what_a_release_writes(release_factory) -> None:
    settings = make_settings()
    release = release_factory("<script>alert(1)</script> & <img src=x>")
    page = render_html(compose_all(release, settings.accounts, settings), title="t")
    assert "<script>" not in page and "<img" not in page


@pytest.mark.browser
def test_html_page_renders_in_headless_chromium(variants, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: run scripts/test-setup"
    page = tmp_path / "preview.html"
    page.write_text(render_html(variants, title="Rakor Humas"), encoding="utf-8")
    screenshot = tmp_path / "preview.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={screenshot}", "--window-size=1200,2000", page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )
    from PIL import Image

    assert screenshot.stat().st_size > 20_000
    with Image.open(screenshot) as image:
        assert image.size == (1200, 2000)
        colours = image.convert("RGB").resize((120, 200)).getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 50  # cards, text and accents, not blank
