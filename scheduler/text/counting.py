"""Every network's text limit and its own way of counting a text's length.

The numbers come from ../shared/channels.md (each network's documentation). A limit an
account overrides (e.g. a Mastodon instance allowing 1000) replaces ``limit`` only; the
way of counting stays the network's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from typing import NamedTuple

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
    #: the lengths of two texts add up when they meet at plain whitespace (see :class:`Meter`);
    #: not so in Telegram, where an HTML tag may hold spaces
    additive: bool = True
    #: measuring a text costs more than adding up the lengths of its sentences (X and Mastodon
    #: look for URLs), so fitting measures candidate posts with a :class:`Meter`
    measured_in_pieces: bool = False

    def fits(self, text: str, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        if limit is not None and self.measure(text) > limit:
            return False
        return self.byte_limit is None or utf8_bytes(text) <= self.byte_limit


RULES: dict[str, NetworkRules] = {
    rules.network: rules
    for rules in (
        NetworkRules("x", 280, twitter.weighted_length, "weighted characters", threads=True,
                     alt_limit=1000, measured_in_pieces=True),
        NetworkRules("mastodon", 500, mastodon_length, "characters", threads=True,
                     alt_limit=1500, measured_in_pieces=True),
        NetworkRules("bluesky", 300, graphemes, "graphemes", threads=True, byte_limit=3000,
                     alt_limit=2000),
        NetworkRules("threads", 500, threads_length, "characters (emoji = UTF-8 bytes)",
                     threads=True, max_hashtags=1, max_links=5, max_images=20),
        NetworkRules("telegram", 4096, telegram_length, "UTF-16 units", max_images=None,
                     caption_limit=1024, additive=False),
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


# How a piece begins or ends, for deciding whether two pieces meet cleanly: with whitespace
# (space, tab, line feed), other text, or a character that joins its neighbour (a combining
# mark, ZWJ, a prepended mark, CR …).
_SPACE, _TEXT, _JOINING_CHARACTER = 0, 1, 2


@cache
def _edge(character: str) -> int:
    if character in " \t\n":
        return _SPACE
    if _NEVER_JOINING.fullmatch(character) or not _JOINING.match(character):
        return _TEXT
    return _JOINING_CHARACTER


class _Piece(NamedTuple):
    #: the length inside running text, after whitespace
    length: int
    #: UTF-8 bytes, counted only for a network with a byte limit
    size: int
    start: int
    end: int


class Meter:
    """Whether texts fit one post, for texts put together from recurring pieces.

    Fitting a release tries many candidate posts made of the same sentences, the template's
    frame and a thread marker. :meth:`joined` answers ``fits("".join(pieces))`` by measuring
    each distinct piece once (for the life of the meter: one release on one network) and
    adding the lengths up. That is exact where two pieces meet cleanly: whitespace on one
    side and no joining character on the other. Whitespace ends every URL, mention, tag and
    emoji sequence, no normalisation composes across it, and a grapheme cluster breaks there
    unless a combining mark, ZWJ, prepended mark or CR joins it. Pieces that do not meet
    cleanly are measured together. Networks whose lengths do not add up so
    (``NetworkRules.additive``) have the whole text measured.

    One thing whitespace does not end: twitter-text reads the first word of a text with
    different eyes than a word after a space (a URL's preceding-character rule: ``❤️.go.id``
    holds no URL at the start of a text, ``go.id`` after a space). So a piece is measured as
    running text, after a space, and the piece that opens a text again on its own.
    """

    def __init__(self, rules: NetworkRules, limit: int | None = None) -> None:
        self.rules = rules
        self.limit = rules.limit if limit is None else limit
        self._known: dict[str, _Piece] = {}
        self._opening: dict[str, int] = {}
        self._space = rules.measure(" ")

    def __call__(self, text: str) -> bool:
        return self.rules.fits(text, self.limit)

    def length(self, pieces: Iterable[str]) -> int:
        """``rules.measure("".join(pieces))``."""
        return self._count(pieces)[0]

    def joined(self, pieces: Iterable[str]) -> bool:
        """``self("".join(pieces))``: whether the text made of ``pieces`` fits."""
        return self._within(*self._count(pieces))

    def stretch(self, units: list[str]) -> Stretch | None:
        """The texts made of the first units of ``units`` (see :class:`Stretch`); None when
        the network's lengths do not add up or a unit is empty."""
        if not self.rules.additive or not all(units):
            return None
        return Stretch(self, units)

    def _within(self, length: int, size: int) -> bool:
        if self.limit is not None and length > self.limit:
            return False
        return self.rules.byte_limit is None or size <= self.rules.byte_limit

    def _piece(self, text: str) -> _Piece:
        known = self._known.get(text)
        return known if known is not None else self._learn(text)

    def _learn(self, text: str) -> _Piece:
        piece = self._known[text] = _Piece(
            self.rules.measure(" " + text) - self._space,
            utf8_bytes(text) if self.rules.byte_limit is not None else 0,
            _edge(text[0]), _edge(text[-1]))
        return piece

    def _opening_difference(self, text: str) -> int:
        """How much longer ``text`` is at the start of a text than in running text."""
        if text not in self._opening:
            self._opening[text] = self.rules.measure(text) - self._piece(text).length
        return self._opening[text]

    def _count(self, pieces: Iterable[str]) -> tuple[int, int]:
        if not self.rules.additive:
            text = "".join(pieces)
            return self.rules.measure(text), utf8_bytes(text)
        # pieces that do not meet cleanly are joined into one group, measured together
        groups: list[tuple[str, _Piece]] = []
        for text in pieces:
            if not text:
                continue
            piece = self._piece(text)
            if groups and groups[-1][1].end + piece.start > _TEXT:
                text = groups[-1][0] + text
                groups[-1] = (text, self._piece(text))
            else:
                groups.append((text, piece))
        if not groups:
            return 0, 0
        return (sum(piece.length for _, piece in groups) + self._opening_difference(groups[0][0]),
                sum(piece.size for _, piece in groups))


class Stretch:
    """Texts made of the first ``k`` units of a row (the sentences fitting tries for one post)
    between some other pieces, each answered in constant time.

    ``stretch.joined(before, k, last, after)`` is ``meter.joined([*before, *units[:k - 1],
    last, *after])``: the lengths of ``units[:k - 1]`` are added up once, in advance, and so
    are those of ``before`` and ``after``, which stay the same while one post is fitted.
    Where pieces do not meet cleanly the meter measures them together, as always.
    """

    def __init__(self, meter: Meter, units: list[str]) -> None:
        self._meter = meter
        self._units = units
        self._pieces = [meter._piece(unit) for unit in units]
        # sums over units[:i]: lengths, sizes, and places where two units do not meet cleanly
        self._lengths, self._sizes, self._unclean = [0], [0], [0]
        length = size = unclean = 0
        end = _SPACE
        for piece in self._pieces:
            length += piece.length
            size += piece.size
            unclean += end + piece.start > _TEXT
            end = piece.end
            self._lengths.append(length)
            self._sizes.append(size)
            self._unclean.append(unclean)
        self._sides: dict[tuple[str, ...], tuple[_Piece, str] | None] = {}

    def joined(self, before: tuple[str, ...], k: int, last: str,
               after: tuple[str, ...]) -> bool:
        meter = self._meter
        head, tail = self._side(before), self._side(after)
        if head is not None and tail is not None and last and not self._unclean[k - 1]:
            piece = meter._piece(last)
            start = self._pieces[0].start if k > 1 else piece.start
            middle_end = self._pieces[k - 2].end if k > 1 else _SPACE
            if (head[0].end + start <= _TEXT and middle_end + piece.start <= _TEXT
                    and piece.end + tail[0].start <= _TEXT):
                opening = head[1] or (self._units[0] if k > 1 else last)
                return meter._within(
                    head[0].length + self._lengths[k - 1] + piece.length + tail[0].length
                    + meter._opening_difference(opening),
                    head[0].size + self._sizes[k - 1] + piece.size + tail[0].size)
        return meter.joined([*before, *self._units[:k - 1], last, *after])

    def _side(self, texts: tuple[str, ...]) -> tuple[_Piece, str] | None:
        """``texts`` as one piece and the first of them, if they meet cleanly; none at all is
        whitespace of length 0 (a joining character next to it has the text measured whole).
        """
        if texts not in self._sides:
            texts_ = [text for text in texts if text]
            pieces = [self._meter._piece(text) for text in texts_]
            side: tuple[_Piece, str] | None = (_Piece(0, 0, _SPACE, _SPACE), "")
            if pieces:
                side = (_Piece(sum(p.length for p in pieces), sum(p.size for p in pieces),
                               pieces[0].start, pieces[-1].end), texts_[0])
                if any(a.end + b.start > _TEXT for a, b in pairwise(pieces)):
                    side = None
            self._sides[texts] = side
        return self._sides[texts]
