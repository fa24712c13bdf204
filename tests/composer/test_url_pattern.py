"""The quick URL pattern finds exactly what twitter-text's full pattern finds.

The full pattern spells out 1,500 top-level domains; the quick one matches any ASCII run
where an ASCII domain stands and looks it up afterwards, leaving every run with an unknown
one to the full pattern. Both must give the same matches on every text.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.text import urls
from tests.composer.strategies import URLS, WORDS

_GENERIC, _COUNTRY = urls._tld_lists()
_ALL = _GENERIC + _COUNTRY
_ASCII_ALNUM_LIKE = [chr(c) for c in range(0x110000) if re.fullmatch("[a-z0-9]", chr(c), re.I)]


def _full(text: str) -> list[tuple]:
    return [(m.group(1), m.group(2), m.group(3), m.group(4), m.group(6), m.end())
            for m in urls._url_pattern().finditer(text)]


def _ascii_prefix(tld: str) -> str:
    """The leading characters of ``tld`` that case-insensitively are ASCII letters or digits."""
    end = 0
    while end < len(tld) and tld[end] in _ASCII_ALNUM_LIKE:
        end += 1
    return tld[:end]


def test_an_ascii_run_is_never_a_prefix_the_other_domains_could_also_match() -> None:
    # the quick pattern tries the ASCII run first: where another domain (e.g.
    # "vermögensberatung") could match at the same place, the run must not be a known domain
    ascii_tlds = urls._ascii_tlds()
    assert len(ascii_tlds) > 1300
    others = [tld for tld in _ALL if tld not in ascii_tlds]
    assert [tld for tld in others if _ascii_prefix(tld).lower() in ascii_tlds] == []
    assert all(re.fullmatch("[a-z0-9]+", tld) for tld in ascii_tlds)


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_every_known_domain_is_found_the_same_way(case) -> None:
    for tld in _ALL:
        for text in (f"lihat lapas.{case(tld)} ya", f"https://a.b.{case(tld)}/x?y=1",
                     f"x.{case(tld)}x", f"x.{case(tld)}-", f"x.{case(tld)}é", f"x.{tld}.com"):
            assert list(urls._matches(text)) == _full(text), text


def test_a_text_with_known_domains_only_is_decided_without_the_full_pattern() -> None:
    urls._url_pattern.cache_clear()
    assert [m[1] for m in urls._matches(" ditjenpas.go.id dan https://bit.ly/3xYz")] == [
        "ditjenpas.go.id", "https://bit.ly/3xYz"]
    assert urls._url_pattern.cache_info().misses == 0


_PIECES = WORDS + URLS + [
    " ", ".", "..", "/", "-", "_", "@", "#", "+", ":", "?", "(", ")", "\n", "://", "https://",
    "www", "go", "id", "com", "co", "comx", "jpg", "txt", "Go.Id", "COM", "xn--p1ai", "xn",
    "vermögensberatung", "vermö", "verm", "嘉里", "嘉里大酒店", "भारत", "भारतम्", "日本", "jp", "рф",
    "РФ", "\u212a", "ſ", "İ", "ı", "é", "ö", "1", "80", "t.co/abc"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20).map("".join))
def test_the_quick_pattern_gives_the_full_patterns_matches(text) -> None:
    assert list(urls._matches(text)) == _full(text)


# --- text of ASCII characters only: the same pattern, with its ASCII members only --------

_ASCII_CLASSES = [
    (urls._PRECEDING, urls._ASCII_PRECEDING), (urls._DOMAIN_CHAR, urls._ASCII_DOMAIN_CHAR),
    (urls._PATH_CHAR, urls._ASCII_PATH_CHAR), (urls._PATH_END_CHAR, urls._ASCII_PATH_END_CHAR),
    (urls._QUERY, urls._ASCII_QUERY), (urls._QUERY_END, urls._ASCII_QUERY_END)]


@pytest.mark.parametrize(("full", "ascii_only"), _ASCII_CLASSES)
def test_each_ascii_class_takes_the_ascii_characters_the_full_class_takes(full, ascii_only):
    # the full classes are used with IGNORECASE, the ASCII ones spell out both cases
    for code in range(128):
        char = chr(code)
        assert bool(re.fullmatch(full, char, re.I)) == bool(re.fullmatch(ascii_only, char)), \
            repr(char)


def test_no_other_domain_matches_ascii_text() -> None:
    # each non-ASCII domain has a character that no ASCII character matches, whatever its case
    others = [tld for tld in _ALL if tld not in urls._ascii_tlds()]
    assert others
    for tld in others:
        assert any(not any(re.fullmatch(re.escape(char), chr(code), re.I) for code in range(128))
                   for char in tld), tld


def test_an_ascii_domain_splits_into_labels_as_the_full_pattern_splits_it() -> None:
    for domain in ("lapas.go.id", "A-b.Example.COM", "x.y", "-.-", "a..b", "a.b.", ".a"):
        assert bool(urls._ASCII_ONLY_LABELS.fullmatch(domain)) == \
            bool(urls._ascii_labels().fullmatch(domain)), domain


def _groups(pattern: re.Pattern[str], text: str) -> list[tuple]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


_ASCII_PIECES = [piece for piece in _PIECES if piece.isascii()] + [
    "HTTPS://", "Http://", "XN--P1AI", "WWW.", "(", ")", "(x)", "'", "!", "*", "~", "|", "&",
    "=", "%20", ",", ";", "$", "\t", "[", "]", "Rp5.000", "1.2.3.4", "a_b", "a-", "-a"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_ASCII_PIECES), max_size=20).map("".join))
def test_on_ascii_text_the_ascii_pattern_is_the_quick_pattern(text) -> None:
    assert _groups(urls._ascii_url_pattern(), text) == _groups(urls._quick_url_pattern(), text)
    assert list(urls._matches(text)) == _full(text)
