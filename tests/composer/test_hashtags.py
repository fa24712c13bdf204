"""Hashtag policy: validity, case-insensitive dedupe keeping CamelCase, caps per network."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.mastodon import MastodonChannel
from channels.threads import threads_topic
from scheduler.text.hashtags import inline_tags, is_valid, merge


def test_letters_digits_and_underscore_make_a_tag() -> None:
    assert is_valid("HumasBergerakBersama") and is_valid("Lapas_2024") and is_valid("ашок")


def test_all_digit_tags_are_not_tags() -> None:
    assert not is_valid("2024") and not is_valid("12_34") and not is_valid("_")


def test_punctuation_is_not_part_of_a_tag() -> None:
    assert not is_valid("Humas-Bergerak") and not is_valid("a.b") and not is_valid("")


def test_mastodon_accepts_its_extra_tag_characters() -> None:
    assert is_valid("a·b", MastodonChannel.hashtag_rules.valid) and not is_valid("a·b")


def test_duplicates_merge_case_insensitively_keeping_camel_case() -> None:
    tags = merge(["humasbergerakbersama"], ["HumasBergerakBersama", "Lapas", "LAPAS"])
    assert tags.all == ("HumasBergerakBersama", "Lapas")
    assert tags.required == ("HumasBergerakBersama",)


def test_campaign_tags_come_first_and_win_over_a_cap() -> None:
    release = [f"Tag{n}" for n in range(40)]
    tags = merge(["HumasBergerakBersama"], release, cap=30)
    assert len(tags.all) == 30 and tags.all[0] == "HumasBergerakBersama"
    assert len(tags.dropped) == 11


def test_invalid_tags_are_dropped_and_reported() -> None:
    tags = merge([], ["2024", "Lapas"])
    assert tags.all == ("Lapas",) and tags.dropped == ("2024",)


def test_threads_gets_one_topic_tag_without_dots_or_ampersands() -> None:
    assert threads_topic(("A" * 51, "HumasBergerakBersama")) == "HumasBergerakBersama"


def test_inline_tags_need_whitespace_before_them() -> None:
    assert inline_tags("#Satu dua#tiga #2024 (#empat) #Lima.") == ["Satu", "Lima"]


_TAG = st.text(st.sampled_from("abcABC_1é"), min_size=1, max_size=6)


@given(st.lists(_TAG, max_size=8), st.lists(_TAG, max_size=30),
       st.none() | st.integers(1, 30))
def test_merged_tags_are_valid_unique_and_keep_campaign_tags(campaign, release, cap) -> None:
    tags = merge(campaign, release, cap=cap)
    keys = [t.casefold() for t in tags.all]
    assert len(keys) == len(set(keys))
    assert all(is_valid(t) for t in tags.all)
    if cap is not None:
        assert len(tags.all) <= cap
    valid_campaign = {t.casefold() for t in campaign if is_valid(t)}
    if cap is None or len(valid_campaign) <= cap:
        assert valid_campaign <= {t.casefold() for t in tags.required}
