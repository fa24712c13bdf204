"""Bluesky facets: exact UTF-8 byte offsets for links, tags and configured mentions."""

from __future__ import annotations

from hypothesis import given, settings

from scheduler.text.facets import facets
from scheduler.text.mentions import Mention
from tests.composer.strategies import sentence


def _covered(text: str, facet: dict) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"]:index["byteEnd"]].decode()


def test_offsets_are_utf8_bytes_after_emoji() -> None:
    text = "🇮🇩 Halo #HumasBergerakBersama"
    [tag] = facets(text)
    assert tag["index"] == {"byteStart": 14, "byteEnd": 35}
    assert tag["features"] == [{"$type": "app.bsky.richtext.facet#tag",
                                "tag": "HumasBergerakBersama"}]


def test_bare_domains_link_to_https_and_trailing_punctuation_is_left_out() -> None:
    text = "Kunjungi kemenkumham.go.id/profil, atau (https://ditjenpas.go.id)."
    links = facets(text)
    assert [_covered(text, f) for f in links] == ["kemenkumham.go.id/profil",
                                                  "https://ditjenpas.go.id"]
    assert links[0]["features"][0]["uri"] == "https://kemenkumham.go.id/profil"


def test_all_digit_and_glued_hashtags_get_no_facet() -> None:
    assert facets("Tahun #2024 dan a#b") == []


def test_mentions_get_a_facet_only_with_a_configured_did() -> None:
    text = "Bersama @ditjenpas.bsky.social dan @lain.bsky.social"
    result = facets(text, [Mention("ditjenpas", "@ditjenpas.bsky.social", "h", "did:plc:x"),
                           Mention("lain", "@lain.bsky.social", "h", None)])
    assert [(_covered(text, f), f["features"][0]["did"]) for f in result] == [
        ("@ditjenpas.bsky.social", "did:plc:x")]


@settings(max_examples=150, deadline=None)
@given(sentence)
def test_facets_cover_exactly_the_tagged_text(text: str) -> None:
    for facet in facets(text):
        feature = facet["features"][0]
        covered = _covered(text, facet)
        if feature["$type"].endswith("#tag"):
            assert covered == "#" + feature["tag"]
        else:
            assert feature["uri"] in (covered, "https://" + covered)
