"""Counting a text's length the way a network does, from the rules its channel declares.

Each channel declares its limit and way of counting as data (:class:`channels.rules.PostRules`
with a :class:`channels.rules.Counting`); this module holds the algorithms and
:func:`measure_for` turns a ``Counting`` into the function that applies it. A limit an
account overrides (e.g. a Mastodon instance allowing 1000) replaces ``limit`` only; the
way of counting stays the network's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import regex

from channels import registry
from channels.rules import Counting, PostRules, Unit
from scheduler.text import twitter
from scheduler.text.twitter import EMOJI_SEQUENCE, NO_EMOJI
from scheduler.text.urls import url_spans

_GRAPHEME = regex.compile(r"\X")
_TAG = re.compile(r"<[^>]*>")
# "@user@host" as "@user" (Mastodon's StatusLengthValidator)
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@[A-Za-z0-9_]+)@[A-Za-z0-9.\-]+[A-Za-z0-9]")


def code_points(text: str) -> int:
    return len(text)


# Only these characters ever join a grapheme cluster with a neighbour (UAX #29: extenders,
# ZWJ, spacing marks, prepend, flags, Hangul jamo, CR LF); without them every code point
# is its own cluster.
_JOINING = regex.compile(
    r"[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}"
    r"\p{Grapheme_Cluster_Break=SpacingMark}\p{Grapheme_Cluster_Break=Prepend}"
    r"\p{Regional_Indicator}\p{Hangul_Syllable_Type=L}\p{Hangul_Syllable_Type=V}"
    r"\p{Hangul_Syllable_Type=T}\p{Hangul_Syllable_Type=LV}\p{Hangul_Syllable_Type=LVT}\r]"
)


# Characters that are none of the above (ASCII but CR, Latin letters, general punctuation),
# checked with the standard library's ``re``, much faster than a search for \p{…} classes.
_NEVER_JOINING = re.compile("[\x00-\x0c\x0e-\u02ff\u2010-\u2027\u2030-\u205e]*")


@lru_cache(maxsize=4096)
def graphemes(text: str) -> int:
    if _NEVER_JOINING.fullmatch(text) or not _JOINING.search(text):
        return len(text)
    return len(_GRAPHEME.findall(text))


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _links_as(length: int) -> Callable[[str], str]:
    """Every http(s) URL replaced by ``length`` placeholder characters."""
    placeholder = "x" * length

    def replace(text: str) -> str:
        if "://" not in text:
            return text
        pieces: list[str] = []
        position = 0
        for start, end in url_spans(text, without_protocol=False):
            pieces.append(text[position:start])
            pieces.append(placeholder)
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    return replace


def _local_mentions(text: str) -> str:
    return _REMOTE_MENTION.sub(r"\1", text) if "@" in text else text


def _parsed_html(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


@lru_cache(maxsize=4096)
def emoji_as_bytes_length(text: str) -> int:
    """Characters, except that an emoji counts as many as its UTF-8 bytes (Meta's doc)."""
    total = len(text)
    if text.isascii() or NO_EMOJI.fullmatch(text):
        return total
    for emoji in EMOJI_SEQUENCE.findall(text):
        total += utf8_bytes(emoji) - len(emoji)
    return total


_UNITS: dict[Unit, Callable[[str], int]] = {
    Unit.CODE_POINTS: code_points, Unit.GRAPHEMES: graphemes, Unit.UTF16_UNITS: utf16_units,
    Unit.UTF8_BYTES: utf8_bytes, Unit.TWITTER_WEIGHTED: twitter.weighted_length,
}


@lru_cache(maxsize=64)
def measure_for(counting: Counting) -> Callable[[str], int]:
    """The function that counts a text as ``counting`` says (memoised per text when it
    does more than count)."""
    count = emoji_as_bytes_length if counting.emoji_as_bytes else _UNITS[counting.unit]
    steps: list[Callable[[str], str]] = []
    if counting.after_html:
        steps.append(_parsed_html)
    if counting.url_length is not None:
        steps.append(_links_as(counting.url_length))
    if counting.local_mentions:
        steps.append(_local_mentions)
    if not steps:
        return count

    @lru_cache(maxsize=4096)
    def measure(text: str) -> int:
        for step in steps:
            text = step(text)
        return count(text)

    return measure


@dataclass(frozen=True)
class NetworkRules:
    """A channel's post rules with the function that measures a text its way (the fields
    the composer reads on every candidate post are copied out of ``post``)."""

    network: str
    post: PostRules
    #: how the network counts a text's length
    measure: Callable[[str], int]
    limit: int | None
    #: the unit ``measure`` counts, for people
    unit: str
    threads: bool
    byte_limit: int | None

    @classmethod
    def of(cls, network: str, post: PostRules) -> NetworkRules:
        return cls(network, post, measure_for(post.counting), post.limit, post.unit_name,
                   post.threads, post.byte_limit)

    def fits(self, text: str, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        if limit is not None and self.measure(text) > limit:
            return False
        return self.byte_limit is None or utf8_bytes(text) <= self.byte_limit


@lru_cache(maxsize=128)
def rules_for(network: str) -> NetworkRules:
    """The rules the channel of ``network`` declares; a network without an installed
    adapter gets the permissive defaults of :class:`channels.base.Channel`."""
    return NetworkRules.of(network, registry.lookup(network).post_rules)


def measure(text: str, network: str) -> int:
    return rules_for(network).measure(text)
