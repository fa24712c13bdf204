"""A variant's stored JSON (``post.variant``, the preview JSON contract)."""

from __future__ import annotations

import json

from channels.variant import Media, Variant


def a_variant() -> Variant:
    return Variant(account="bsky-lapas", channel="bluesky", parts=["Bagian 1", "Bagian 2"],
                   length=[8, 8], limit=300, warnings=["dipotong"],
                   media=[Media(path="foto.jpg", alt="Peserta rakor", mime="image/jpeg")],
                   link="https://lapas.example.go.id/berita/rakor", title="Rakor",
                   extra={"facets": [[{"index": {"byteStart": 0, "byteEnd": 6}}], []],
                          "card": {"uri": "https://lapas.example.go.id/berita/rakor"}})


def test_the_json_is_the_fields_in_order_then_the_network_extras() -> None:
    data = a_variant().to_json()
    assert list(data) == ["account", "channel", "parts", "length", "limit", "warnings", "media",
                          "link", "title", "facets", "card"]
    # the prepared file's facts (issue 14) come after the keys outside tools already read
    assert data["media"] == [{"path": "foto.jpg", "alt": "Peserta rakor", "mime": "image/jpeg",
                              "url": None, "sha256": None, "kind": "image", "source": None,
                              "width": None, "height": None, "bytes": None}]
    assert json.loads(json.dumps(data)) == data
    assert Variant.from_json(data) == a_variant()


def test_the_json_is_a_copy_the_caller_may_change() -> None:
    variant = a_variant()
    data = variant.to_json()
    data["parts"].append("Bagian 3")
    data["media"][0]["alt"] = ""
    data["facets"][0].clear()
    data["card"]["uri"] = "https://lain.example"
    assert variant.to_json() == a_variant().to_json()
