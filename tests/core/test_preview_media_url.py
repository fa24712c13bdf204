"""`siar preview --json` says where a network that fetches images will find each one."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

INSTAGRAM = ('\n[[accounts]]\nname = "ig-lapas"\nnetwork = "instagram"\n'
             'options = { user_id = "1784", public_media_base_url = '
             '"https://lapas.example.go.id/foto" }\n')


def test_a_queued_image_reachable_without_a_store_shows_its_url(workspace: Path, siar) -> None:
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + INSTAGRAM)
    Image.new("RGB", (1080, 1350), (30, 90, 160)).save(workspace / "rakor.jpg", "JPEG")
    (workspace / "foto.md").write_text(
        "---\ntitle: Rakor\nat: besok 09.00\nchannels: [ig-lapas, mastodon-lapas]\n"
        "images: [{path: rakor.jpg, alt: Peserta rakor}]\n---\nIsi.\n", encoding="utf-8")
    assert siar("add", "foto.md").code == 0
    result = siar("preview", "1", "--json")
    assert result.code == 0, result.err
    media = {v["account"]: v["media"][0] for v in json.loads(result.out)["variants"]}
    assert media["ig-lapas"]["url"] == "https://lapas.example.go.id/foto/rakor.jpg"
    assert media["mastodon-lapas"]["url"] is None  # Mastodon takes the file itself
