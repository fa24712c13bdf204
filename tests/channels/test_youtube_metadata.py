"""A video's title, description and tags within YouTube's limits, whatever the release says:
title ≤ 100 characters, description ≤ 5,000 UTF-8 bytes, neither with < or >; tags ≤ 500
characters counted YouTube's way (commas, and the quotes of a tag with a space)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from channels.youtube import MARKER_LENGTH, YouTubeChannel, marker_of
from channels.youtube.metadata import (
    DESCRIPTION_BYTES,
    TAGS_LIMIT,
    TITLE_LIMIT,
    description_of,
    fit_tags,
    tags_length,
    title_of,
)
from scheduler.compose import compose
from scheduler.settings import AccountSettings
from tests.channels.helpers import make_delivery
from tests.composer.conftest import make_release, make_settings

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=7000)
TAG = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


@given(ANY_TEXT)
def test_a_title_is_at_most_100_characters_without_angle_brackets(text: str) -> None:
    title = title_of(text)

    assert len(title) <= TITLE_LIMIT
    assert "<" not in title and ">" not in title and "\n" not in title


@given(ANY_TEXT)
def test_a_description_is_at_most_5000_bytes_without_angle_brackets(text: str) -> None:
    description = description_of(text)

    assert len(description.encode()) <= DESCRIPTION_BYTES
    assert "<" not in description and ">" not in description


@given(st.text(st.characters(whitelist_categories=("L", "Zs")), max_size=90))
def test_a_title_that_fits_is_kept_as_written(text: str) -> None:
    assert title_of(text) == " ".join(unicodedata.normalize("NFC", text).split())


@given(st.lists(TAG, max_size=80), st.integers(min_value=0, max_value=TAGS_LIMIT))
def test_tags_fit_in_their_limit_as_youtube_counts_them(tags: list[str], limit: int) -> None:
    kept, dropped = fit_tags(tags, limit)

    assert tags_length(kept) <= limit
    assert all("#" not in t[:1] and "<" not in t and ">" not in t and "," not in t
               for t in kept)
    assert len({t.casefold() for t in kept}) == len(kept)
    # a tag is left out only when it did not fit after those kept before it (and so
    # does not fit after all of them)
    assert all(tags_length([*kept, tag]) > limit for tag in dropped)


def test_a_tag_with_a_space_counts_its_quotation_marks() -> None:
    assert tags_length(["Foo-Baz"]) == 7
    assert tags_length(["Foo Baz"]) == 9
    assert tags_length(["Foo Baz", "Lapas"]) == 9 + 1 + 5


def test_the_marker_always_fits_beside_the_tags() -> None:
    delivery = make_delivery("x", channel="youtube", title="Rilis",
                             tags=[f"Tag{i:03d}Panjang" for i in range(60)])
    channel = YouTubeChannel.__new__(YouTubeChannel)
    channel.account = AccountSettings(name="yt", network="youtube").channel_config()

    tags = channel.resource(delivery)["snippet"]["tags"]

    assert tags[-1] == marker_of(delivery.publish_key) and len(tags[-1]) == MARKER_LENGTH
    assert tags_length(tags) <= TAGS_LIMIT


def test_the_composer_writes_the_title_description_and_tags_for_youtube() -> None:
    account = AccountSettings(name="youtube-lapas", network="youtube")
    release = make_release("Kalapas <b>hadir</b> dalam rakor. " * 400,
                           title="Rakor " + "Agen Informasi dan Publikasi " * 6,
                           hashtags=["Pemasyarakatan", "LapasPangkalpinang"])

    variant = compose(release, account, make_settings(accounts=[account]))

    assert len(variant.extra["title"]) <= TITLE_LIMIT and variant.extra["title"].endswith("…")
    assert len(variant.extra["description"].encode()) <= DESCRIPTION_BYTES
    assert "<" not in variant.extra["description"]
    assert variant.extra["tags"] == ["HumasBergerakBersama", "Pemasyarakatan",
                                     "LapasPangkalpinang"]
    assert variant.limit == DESCRIPTION_BYTES
    assert any("title is cut" in w for w in variant.warnings)
