"""X's weighted length, as twitter-text v3 counts it (``config/v3.json``).

Every code point weighs 100 inside the light ranges (Latin, Indonesian, general punctuation)
and 200 elsewhere; an emoji sequence weighs 200 as a whole; any URL weighs 23 × 100; the
text is NFC-normalised first; the total is divided by 100.

Why not simply call ``twitter_text.parse_tweet`` (PyPI ``twitter-text-parser``)? It passes
the conformance cases, but it scans the text with a 92,000-character emoji alternation
(about 2 ms for one tweet) and importing it costs about 240 ms (``pkg_resources``), which
would dominate composing and the CLI's start-up. Here emoji are found as grapheme clusters
with the ``regex`` module (fast, current Unicode) and URLs by :mod:`scheduler.text.urls`.
The conformance cases and property tests against the package keep them in step; see
docs/composer.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import regex

from scheduler.text.urls import url_spans

TRANSFORMED_URL_LENGTH = 23
MAX_WEIGHTED_LENGTH = 280
_SCALE = 100
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_LIGHT = "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in _LIGHT_RANGES)
_HEAVY = re.compile(f"[^{_LIGHT}]")
_LINE_ENDINGS = re.compile(r"\r\n|\r")
#: an emoji sequence (UTS #51): a flag, a keycap, or pictographic characters with an optional
#: skin tone or variation selector and tag characters, joined by ZWJ. "©" and "®" lie in the
#: light range but are emoji too. A variation selector after a character that is emoji by
#: default is not part of a sequence: twitter-text weighs it on its own, as here.
_ELEMENT = (r"(?:\p{Regional_Indicator}{2}|[#*0-9]\ufe0f?\u20e3"
            r"|\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|(?<!\p{Emoji_Presentation})\ufe0f)?"
            r"(?:[\U000e0020-\U000e007e]+\U000e007f)?)")
EMOJI_SEQUENCE = regex.compile(f"{_ELEMENT}(?:\u200d{_ELEMENT})*")
#: text made only of these characters (ASCII, Latin letters, general punctuation) holds no
#: emoji sequence: each needs a pictograph, a regional indicator or U+20E3. Checked with the
#: standard library's ``re`` in a fraction of the time a search for sequences takes.
NO_EMOJI = re.compile("[\x00-\xa8\xaa-\xad\xaf-\u02ff\u2010-\u203b\u203d-\u2048"
                      "\u204a-\u205e]*")


def _weight(code_point: int) -> int:
    for start, end in _LIGHT_RANGES:
        if start <= code_point <= end:
            return 100
    return 200


@lru_cache(maxsize=8192)
def _plain_weight(text: str) -> int:
    """Scaled weight of text that contains no URL.

    Each code point weighs 100 or 200; an emoji sequence replaces its code points' weights
    by 200 in all.
    """
    if text.isascii():  # no heavy character, no emoji: a keycap needs U+20E3
        return _SCALE * len(text)
    total = _SCALE * (len(text) + len(_HEAVY.findall(text)))
    if NO_EMOJI.fullmatch(text):
        return total
    for emoji in EMOJI_SEQUENCE.findall(text):
        total += 200 - sum(_weight(ord(c)) for c in emoji)
    return total


@lru_cache(maxsize=4096)
def weighted_length(text: str) -> int:
    """The length X gives ``text`` (its limit is :data:`MAX_WEIGHTED_LENGTH`)."""
    text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = _LINE_ENDINGS.sub("\n", text)
    total = 0
    position = 0
    for start, end in url_spans(text):
        total += _plain_weight(text[position:start]) + TRANSFORMED_URL_LENGTH * _SCALE
        position = end
    total += _plain_weight(text[position:])
    return total // _SCALE
