"""Fixtures for the composer tests: settings, one account per network, release builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler.errors import SiarError
from scheduler.releases import ReleaseDoc, parse_text
from scheduler.settings import AccountSettings, Settings

NETWORKS = ["x", "mastodon", "bluesky", "threads", "telegram", "facebook", "instagram",
            "linkedin", "wordpress", "discord", "slack", "webhook", "email"]
CAMPAIGN = "HumasBergerakBersama"


def make_settings(**overrides) -> Settings:
    values = {
        "campaign_hashtags": [CAMPAIGN],
        "mentions": {
            "ditjenpas": {"name": "Ditjen Pemasyarakatan", "x": "@ditjenpas",
                          "mastodon": "@ditjenpas@mastodon.social",
                          "bluesky": "@ditjenpas.bsky.social",
                          "bluesky_did": "did:plc:ditjenpas123",
                          "linkedin": "urn:li:organization:42"},
        },
        "utm": {"x": {"utm_source": "x", "utm_medium": "social"}},
        "accounts": [AccountSettings(name=f"{n}-lapas", network=n) for n in NETWORKS],
    }
    values.update(overrides)
    return Settings(**values)


def make_release(body: str, base_dir: Path | None = None, **front) -> ReleaseDoc:
    front.setdefault("title", "Lapas Pangkalpinang Ikuti Rakor Humas")
    text = f"---\n{yaml.safe_dump(front, allow_unicode=True)}---\n{body}"
    return parse_text(text, source="test.md", base_dir=base_dir or Path("."))


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def release_factory() -> Callable[..., ReleaseDoc]:
    return make_release


LINKS = ["https://lapaspangkalpinang.kemenkumham.go.id/berita/rakor-humas",
         "https://ditjenpas.go.id/agen-informasi", "kemenkumham.go.id",
         "https://www.youtube.com/watch?v=abc123", "https://bit.ly/3xYzAbc"]
EMOJI = ["🇮🇩", "👍🏽", "👨‍👩‍👧‍👦", "🎉", "❤️", "🙏🏾"]

_PARAGRAPH = (
    "Kepala Lembaga Pemasyarakatan Kelas IIA Pangkalpinang, Hidayat, bersama Humas Lapas "
    "turut berpartisipasi dalam Rapat Koordinasi Pembentukan Agen Informasi dan Publikasi "
    "Pemasyarakatan {emoji}. Kegiatan ini bertujuan memperkuat sinergi antar lembaga dalam "
    "membangun citra positif Pemasyarakatan di mata publik, lihat {link} untuk rinciannya. "
    "“Dengan adanya pembentukan agen informasi ini, kami berharap komunikasi publik makin "
    "baik,” ujar **Hidayat**. Plt. Direktur Jenderal menegaskan pentingnya _sinergi_.\n\n"
)


def big_release_text() -> tuple[str, list[str]]:
    """A 6,000-character release with 40 hashtags, emoji and 5 links (Acceptance)."""
    body = ""
    index = 0
    while len(body) < 6000:
        body += _PARAGRAPH.format(emoji=EMOJI[index % len(EMOJI)], link=LINKS[index % 5])
        index += 1
    body = body[:6000].rsplit(" ", 1)[0] + "."
    tags = [f"Tagar{word}{n}" for n, word in enumerate(["Humas", "Lapas", "Rakor", "Agen"] * 10)]
    return body, tags


@pytest.fixture
def big_release() -> ReleaseDoc:
    body, tags = big_release_text()
    return make_release(body, hashtags=tags, link=LINKS[0], mentions=["ditjenpas"],
                        summary="Lapas Pangkalpinang ikut membentuk agen informasi.")


def write_templates(folder: Path, texts: dict[str, str]) -> Path:
    """``folder`` holding each template of ``texts`` (name → source)."""
    for name, text in texts.items():
        (folder / name).write_text(text)
    return folder


def composed_or_error(composing: Callable[[], list[Any]]) -> list[str] | tuple[type, str]:
    """What the queue would store for each variant, or the error that stops queueing (a
    release that cannot fit: the same error either way)."""
    try:
        return [json.dumps(v.to_json(), ensure_ascii=False) for v in composing()]
    except SiarError as exc:
        return type(exc), str(exc)
