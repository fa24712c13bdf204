"""Every network's text limit and its own way of counting a text's length.

The numbers come from ../shared/channels.md (each network's documentation). A limit an
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

from scheduler.text import twitter
from scheduler.text.twitter import EMOJI_SEQUENCE, NO_EMOJI
from scheduler.text.urls import url_spans

_GRAPHEME = regex.compile(r"\X")
_TAG = re.compile(r"<[^>]*>")
# Mastodon counts a remote mention "@user@host" as "@user" (StatusLengthValidator)
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


@lru_cache(maxsize=4096)
def mastodon_length(text: str) -> int:
    """Graphemes, with each http(s) URL as 23 and ``@user@host`` as ``@user``."""
    spans = url_spans(text, without_protocol=False) if "://" in text else []
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append("x" * twitter.TRANSFORMED_URL_LENGTH)
        position = end
    pieces.append(text[position:])
    countable = "".join(pieces)
    if "@" in countable:
        countable = _REMOTE_MENTION.sub(r"\1", countable)
    return graphemes(countable)


@lru_cache(maxsize=4096)
def threads_length(text: str) -> int:
    """Characters, except that an emoji counts as many as its UTF-8 bytes (Meta's doc)."""
    total = len(text)
    if text.isascii() or NO_EMOJI.fullmatch(text):
        return total
    for emoji in EMOJI_SEQUENCE.findall(text):
        total += utf8_bytes(emoji) - len(emoji)
    return total


@lru_cache(maxsize=4096)
def telegram_length(text: str) -> int:
    """UTF-16 units of an HTML message after Telegram has parsed its entities."""
    return utf16_units(html.unescape(_TAG.sub("", text)))


@dataclass(frozen=True)
class NetworkRules:
    """What one network allows in one post."""

    network: str
    #: text limit; None = no practical limit
    limit: int | None
    #: how the network counts a text's length
    measure: Callable[[str], int]
    #: the unit ``measure`` counts, for people ("weighted characters", "graphemes" …)
    unit: str
    #: replies to oneself make a thread (x, mastodon, bluesky, threads)
    threads: bool = False
    #: a second limit in UTF-8 bytes (Bluesky)
    byte_limit: int | None = None
    #: at most this many hashtags (Instagram 30, Threads 1 topic tag)
    max_hashtags: int | None = None
    #: at most this many links in one post (Threads 5)
    max_links: int | None = None
    #: at most this many images per post (None: the adapter sends any number)
    max_images: int | None = 4
    #: a caption's limit when the text goes with a photo (Telegram)
    caption_limit: int | None = None
    #: image alt text limit
    alt_limit: int | None = None

    def fits(self, text: str, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        if limit is not None and self.measure(text) > limit:
            return False
        return self.byte_limit is None or utf8_bytes(text) <= self.byte_limit


RULES: dict[str, NetworkRules] = {
    rules.network: rules
    for rules in (
        NetworkRules("x", 280, twitter.weighted_length, "weighted characters", threads=True,
                     alt_limit=1000),
        NetworkRules("mastodon", 500, mastodon_length, "characters", threads=True,
                     alt_limit=1500),
        NetworkRules("bluesky", 300, graphemes, "graphemes", threads=True, byte_limit=3000,
                     alt_limit=2000),
        NetworkRules("threads", 500, threads_length, "characters (emoji = UTF-8 bytes)",
                     threads=True, max_hashtags=1, max_links=5, max_images=20),
        NetworkRules("telegram", 4096, telegram_length, "UTF-16 units", max_images=None,
                     caption_limit=1024),
        NetworkRules("facebook", 63206, code_points, "characters", max_images=None),
        NetworkRules("instagram", 2200, code_points, "characters", max_hashtags=30,
                     max_images=10),
        NetworkRules("linkedin", 3000, code_points, "characters", max_images=20),
        NetworkRules("discord", 2000, code_points, "characters", max_images=10),
        NetworkRules("slack", 4000, code_points, "characters", max_images=None),
        NetworkRules("wordpress", None, code_points, "characters", max_images=None),
        NetworkRules("webhook", None, code_points, "characters", max_images=None),
        NetworkRules("email", None, code_points, "characters", max_images=None),
        NetworkRules("console", None, code_points, "characters", max_images=None),
    )
}


def rules_for(network: str) -> NetworkRules:
    """The rules of ``network``; a third-party network gets the permissive defaults."""
    return RULES.get(network) or NetworkRules(network, None, code_points, "characters",
                                              max_images=None)


def measure(text: str, network: str) -> int:
    return rules_for(network).measure(text)
