"""X's weighted length, as twitter-text v3 counts it (``config/v3.json``).

Every code point weighs 100 inside the light ranges (Latin, Indonesian, general punctuation)
and 200 elsewhere; an emoji sequence weighs 200 as a whole; any URL weighs 23 × 100; the
text is NFC-normalised first; the total is divided by 100.

Why not simply call ``twitter_text.parse_tweet`` (PyPI ``twitter-text-parser``)? It passes
the conformance cases, but it scans the text with a 92,000-character emoji alternation
(about 2 ms for one tweet) and importing it costs about 240 ms (``pkg_resources``), which
would dominate composing and the CLI's start-up. Here emoji are found as grapheme clusters
with the ``regex`` module, which is fast and follows current Unicode. URL detection is the
package's own (only the URL extractor is used, imported on first need). The conformance
cases and a property test against ``parse_tweet`` keep both in step; see docs/composer.md.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache

import regex

TRANSFORMED_URL_LENGTH = 23
MAX_WEIGHTED_LENGTH = 280
_SCALE = 100
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
# "©" and "®" lie in the light range but are emoji: twitter-text weighs them 200
_ALL_LIGHT = regex.compile(
    "(?:(?![\\xa9\\xae])["
    + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in _LIGHT_RANGES)
    + "])*"
)
_CLUSTER = regex.compile(r"\X")
_EMOJI_CLUSTER = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
_LINE_ENDINGS = regex.compile(r"\r\n|\r")


def _weight(code_point: int) -> int:
    for start, end in _LIGHT_RANGES:
        if start <= code_point <= end:
            return 100
    return 200


@lru_cache(maxsize=8192)
def _plain_weight(text: str) -> int:
    """Scaled weight of text that contains no URL."""
    if _ALL_LIGHT.fullmatch(text):
        return len(text) * _SCALE
    total = 0
    for cluster in _CLUSTER.findall(text):
        if _EMOJI_CLUSTER.search(cluster):
            total += 200
        else:  # incl. a base with combining marks: twitter-text weighs each code point
            total += sum(_weight(ord(c)) for c in cluster)
    return total


@cache
def _url_extractor() -> Callable[..., list[dict]]:
    from twitter_text.extract_urls import extract_urls_with_indices

    return extract_urls_with_indices


def url_spans(text: str, *, without_protocol: bool = True) -> list[tuple[int, int]]:
    """(start, end) code-point offsets of the URLs twitter-text finds in ``text``."""
    if "." not in text:
        return []
    return [tuple(u["indices"]) for u in _url_extractor()(text, without_protocol)]


@lru_cache(maxsize=4096)
def weighted_length(text: str) -> int:
    """The length X gives ``text`` (its limit is :data:`MAX_WEIGHTED_LENGTH`)."""
    text = _LINE_ENDINGS.sub("\n", unicodedata.normalize("NFC", text))
    total = 0
    position = 0
    for start, end in url_spans(text):
        total += _plain_weight(text[position:start]) + TRANSFORMED_URL_LENGTH * _SCALE
        position = end
    total += _plain_weight(text[position:])
    return total // _SCALE
