"""Properties of composing over generated releases (Indonesian text, emoji, URLs, Markdown)."""

from __future__ import annotations

import html

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.compose import compose
from scheduler.errors import ComposeError
from scheduler.settings import AccountSettings
from scheduler.text.counting import rules_for
from scheduler.text.facets import facets
from tests.composer.conftest import CAMPAIGN, make_release, make_settings
from tests.composer.strategies import TAGS, body, title

LINK = "https://lapas.kemenkumham.go.id/berita/rilis"
SETTINGS = make_settings()
_NETWORKS = st.sampled_from(["x", "mastodon", "bluesky", "threads", "telegram", "instagram",
                             "discord", "linkedin", "facebook", "slack"])
_CHECKS = settings(max_examples=100, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


def _compose(network: str, text: str, heading: str, long_text: str = "thread"):
    release = make_release(text, title=heading, link=LINK,
                           hashtags=[t.lstrip("#") for t in TAGS], mentions=["ditjenpas"])
    account = AccountSettings(name=f"{network}-a", network=network, long_text=long_text)
    return compose(release, account, SETTINGS)


@_CHECKS
@given(_NETWORKS, body, title, st.sampled_from(["thread", "truncate"]))
def test_no_part_ever_exceeds_its_limit_by_the_networks_counting(network, text, heading,
                                                                 long_text) -> None:
    try:
        variant = _compose(network, text, heading, long_text)
    except ComposeError as error:
        assert "longer than one post" in str(error)  # one unbreakable token, never silently
        return
    rules = rules_for(network)
    for part in variant.parts:
        assert rules.fits(part, variant.limit)


@_CHECKS
@given(_NETWORKS, body, title)
def test_title_link_and_campaign_hashtag_are_always_in_the_first_part(network, text,
                                                                      heading) -> None:
    try:
        variant = _compose(network, text, heading)
    except ComposeError:
        return
    first = variant.parts[0].replace("\\", "")
    shown_title = html.escape(heading, quote=False) if network == "telegram" else heading
    assert shown_title in first
    assert variant.link is not None and variant.link.split("?")[0] in first
    if network == "threads":
        assert variant.extra["topic_tag"] == CAMPAIGN
    else:
        assert CAMPAIGN in first


@_CHECKS
@given(_NETWORKS, body, title)
def test_composing_is_deterministic(network, text, heading) -> None:
    try:
        first = _compose(network, text, heading).to_json()
    except ComposeError:
        return
    assert _compose(network, text, heading).to_json() == first


@_CHECKS
@given(body, title)
def test_bluesky_facets_match_the_parts_exactly(text, heading) -> None:
    try:
        variant = _compose("bluesky", text, heading)
    except ComposeError:
        return
    assert len(variant.extra["facets"]) == len(variant.parts)
    for part, part_facets in zip(variant.parts, variant.extra["facets"], strict=True):
        assert part_facets == facets(part, []) or any(
            f["features"][0]["$type"].endswith("#mention") for f in part_facets)
        raw = part.encode()
        for facet in part_facets:
            index = facet["index"]
            covered = raw[index["byteStart"]:index["byteEnd"]].decode()
            feature = facet["features"][0]
            if feature["$type"].endswith("#tag"):
                assert covered == "#" + feature["tag"]
            elif feature["$type"].endswith("#link"):
                assert feature["uri"] in (covered, "https://" + covered)
            else:
                assert covered == "@ditjenpas.bsky.social"
