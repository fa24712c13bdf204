"""A variant's stored JSON (``post.variant``, the preview JSON contract)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from channels.variant import Media, Variant
from scheduler.queue.queueing import _variant_text


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
                              "width": None, "height": None, "bytes": None, "duration": None,
                              "cover": None, "title": None}]
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


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@given(st.builds(
    Variant, account=st.sampled_from(["a", "bsky-lapas"]), channel=st.just("bluesky"),
    parts=st.lists(st.text(max_size=8), max_size=3), length=st.lists(st.integers(), max_size=3),
    limit=st.none() | st.integers(), warnings=st.lists(st.text(max_size=5), max_size=2),
    media=st.lists(st.builds(Media, path=st.text(max_size=5), alt=st.text(max_size=5)),
                   max_size=2),
    link=st.none() | st.just("https://x.id"), title=st.text(max_size=5),
    # keys of its own, and ones that are field names too (the extra's value wins)
    extra=st.dictionaries(st.sampled_from(["facets", "card", "title", "link", "parse_mode"]),
                          _JSON, max_size=4)))
def test_bulk_queueing_stores_the_text_of_the_json(variant: Variant) -> None:
    assert _variant_text(variant) == json.dumps(variant.to_json())
