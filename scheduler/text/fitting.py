"""Fitting long text: a numbered thread, or one post cut at a sentence or word boundary.

Text is only ever cut between whitespace-separated tokens (an HTML tag with its attributes
counts as part of its token), so a cut never falls inside a URL, hashtag, mention, HTML
entity or grapheme cluster. What must never be lost (title, link, required hashtags) is
not in the body: the caller's ``render`` puts it around whatever body part it is given,
and every candidate is checked with the network's own counting before it is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import regex

ELLIPSIS = "…"
#: a thread longer than this is a sign the release belongs on the website instead
MAX_THREAD_PARTS = 25


def marker(index: int, total: int) -> str:
    """What ends post ``index`` of a thread of ``total``."""
    return f"\n\n({index}/{total})"

_BOUNDARY = regex.compile(r"(?<=[.!?…][\"”’)\]]*)[ \t]+|\n[ \t\n]*")
_LAST_WORD = regex.compile(r"(?r)(\S+)$")  # searched from the end: one word, not the sentence
_TOKEN = regex.compile(r"(?:<[^>]*>|\S)+\s*")
# "Plt. Direktur", "Dr. Hidayat", "No. 5": a full stop that does not end the sentence
_ABBREVIATIONS = frozenset((
    "plt", "dr", "drs", "ir", "prof", "no", "jl", "tgl", "kol", "h", "hj", "sdr", "bpk", "yth",
    "st", "dkk", "kec", "kab", "kota", "prov", "rt", "rw", "mr", "mrs", "ms", "vs", "etc",
    "e.g", "i.e",
))


class DoesNotFit(Exception):
    """Even the required parts (or one unbreakable token) exceed the limit."""

    def __init__(self, what: str, word: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        #: the unbreakable token, when that is what does not fit
        self.word = word


class ThreadTooLong(DoesNotFit):
    """The text needs more than :data:`MAX_THREAD_PARTS` posts."""


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences, each keeping the whitespace that follows it."""
    return list(_sentences(text))


@lru_cache(maxsize=256)
def _sentences(text: str) -> tuple[str, ...]:
    units: list[str] = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        before = text[start:boundary.start()]
        following = text[boundary.end():boundary.end() + 1]
        if "\n" not in boundary.group():
            word = _LAST_WORD.search(before)
            stem = word.group(1).rstrip(".!?…\"”’)]").lower().lstrip("(") if word else ""
            if stem in _ABBREVIATIONS or len(stem) == 1 or following.islower():
                continue
        units.append(text[start:boundary.end()])
        start = boundary.end()
    if start < len(text):
        units.append(text[start:])
    return tuple(units)


def tokens(text: str) -> list[str]:
    """Whitespace-separated tokens, each keeping its trailing whitespace."""
    return _TOKEN.findall(text)


def _longest(count: int, fits: Callable[[int], bool]) -> int:
    """The largest k ≤ count with fits(k), assuming fits is monotone; 0 if none."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _window(units: list[str], limit: int | None) -> int:
    """How many units can possibly matter for one part (bounds the search)."""
    if limit is None:
        return len(units)
    budget, total = limit * 6, 0
    for index, unit in enumerate(units):
        total += len(unit)
        if total > budget:
            return index + 1
    return len(units)


def truncate(body: str, render: Callable[[str], str], fits: Callable[[str], bool], *,
             limit: int | None = None, ellipsis: str = ELLIPSIS,
             lead: str = "") -> tuple[str, bool]:
    """The post with as much of ``body`` as fits, cut with ``ellipsis``; (text, was_cut).

    When not even the first sentence fits, ``lead`` (the release's summary) stands in for
    the body if it fits whole: a complete sentence reads better than a cut one.
    Raises :class:`DoesNotFit` when even an empty body does not fit.
    """
    whole = render(body)
    if fits(whole):
        return whole, False
    units = sentences(body)
    span = _window(units, limit)

    def with_units(k: int) -> str:
        return render("".join(units[:k]).rstrip() + ellipsis)

    kept = _longest(span, lambda k: k > 0 and fits(with_units(k)))
    head = "".join(units[:kept])
    words = tokens(units[kept]) if kept < len(units) else []

    def with_words(j: int) -> str:
        return render((head + "".join(words[:j])).rstrip() + ellipsis)

    if not kept and lead and fits(render(lead)):
        return render(lead), True
    more = _longest(len(words), lambda j: j > 0 and fits(with_words(j)))
    if kept or more:
        return with_words(more), True
    bare = render("")
    if fits(bare):
        return bare, True
    raise DoesNotFit("the required parts alone")


def thread(body: str, render_first: Callable[[str], str], fits: Callable[[str], bool], *,
           limit: int | None = None, ellipsis: str = ELLIPSIS,
           marker: Callable[[int, int], str] = marker,
           lead: str = "") -> list[str]:
    """``body`` spread over a numbered thread; the first post is ``render_first(chunk)``.

    Posts break at sentence ends. When the first sentence has no room beside the title, link
    and tags but fits a post of its own, the first post carries ``lead`` (the release's
    summary, if it fits) or no body at all, and the body starts whole in the second post.
    Only a sentence longer than a whole post is cut at a word, the cut marked with
    ``ellipsis``. Every post ends with its ``(i/n)`` marker; the room for it is reserved at
    its widest.
    """
    whole = render_first(body)
    if fits(whole):
        return [whole]
    widest = marker(MAX_THREAD_PARTS, MAX_THREAD_PARTS)
    queue = sentences(body)
    chunks: list[str] = []
    while queue:
        wrap = render_first if not chunks else (lambda s: s)
        span = _window(queue, limit)

        def candidate(k: int, units: list[str] = queue, wrap=wrap) -> str:
            return wrap("".join(units[:k]).strip()) + widest

        kept = _longest(span, lambda k: k > 0 and fits(candidate(k)))
        if kept:
            chunks.append("".join(queue[:kept]).strip())
            queue = queue[kept:]
        elif not chunks and fits(queue[0].strip() + widest) and fits(render_first("") + widest):
            opening = lead.strip()
            chunks.append(opening if opening and fits(render_first(opening) + widest) else "")
        else:
            # a sentence too long for this post: cut at a word, marked with an ellipsis
            words = tokens(queue[0])

            def cut(j: int, words: list[str] = words, wrap=wrap) -> str:
                return wrap("".join(words[:j]).strip() + ellipsis) + widest

            more = _longest(len(words), lambda j: j > 0 and fits(cut(j)))
            if more:
                chunks.append("".join(words[:more]).strip() + ellipsis)
                queue = ["".join(words[more:]), *queue[1:]]
            elif not chunks and fits(wrap("") + widest):
                chunks.append("")  # the first post carries only title, link and tags
            else:
                word = words[0].strip()[:40]
                raise DoesNotFit("the required parts alone" if not chunks
                                 else f"the word {word!r}", None if not chunks else word)
        queue = [unit for unit in queue if unit.strip()]
        if len(chunks) > MAX_THREAD_PARTS:
            raise ThreadTooLong(f"more than {MAX_THREAD_PARTS} posts")
    total = len(chunks)
    return [(render_first(chunk) if index == 0 else chunk) + marker(index + 1, total)
            for index, chunk in enumerate(chunks)]
