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
from typing import TYPE_CHECKING

import regex

if TYPE_CHECKING:
    from scheduler.text.counting import Stretch

ELLIPSIS = "…"
#: a thread longer than this is a sign the release belongs on the website instead
MAX_THREAD_PARTS = 25

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

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


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


# Fitting measures many candidate posts made of the same sentences. When ``fits`` can take a
# text in pieces (``counting.Meter.joined``) and ``render`` can say where a body goes in its
# frame (``templating.Renderer.frame``), each candidate is handed over as pieces, so that
# every sentence is measured once instead of once per candidate. Either way the answer is
# ``fits`` of exactly the text the plain functions would build.


def _joined(fits: Callable[[str], bool]) -> Callable[[list[str]], bool]:
    joined = getattr(fits, "joined", None)
    return joined if joined is not None else lambda pieces: fits("".join(pieces))


def _stretch(fits: Callable[[str], bool], units: list[str]) -> Stretch | None:
    stretch = getattr(fits, "stretch", None)
    return stretch(units) if stretch is not None and units else None


def _ends(render: Callable[[str], str], body: str) -> tuple[str, str] | None:
    """(head, tail) with ``render(body) == head + body + tail``, if ``render`` can tell."""
    frame = getattr(render, "frame", None)
    return frame(body) if frame is not None else None


def _post(render: Callable[[str], str] | None, body: list[str], suffix: str = "") -> list[str]:
    """``render("".join(body)) + suffix`` as pieces (``render`` None: the body as it is)."""
    if render is None:
        return [*body, suffix]
    text = "".join(body)
    ends = _ends(render, text)
    if ends is None:
        return [render(text), suffix]
    return [ends[0], *body, ends[1], suffix]


def _stripped(units: list[str]) -> list[str]:
    """``"".join(units).strip()`` as pieces."""
    if len(units) > 1 and (first := units[0].lstrip()) and (last := units[-1].rstrip()):
        return [first, *units[1:-1], last]
    return ["".join(units).strip()]


def _cut(units: list[str], ellipsis: str) -> list[str]:
    """``"".join(units).rstrip() + ellipsis`` as pieces."""
    if units and (last := units[-1].rstrip()):
        return [*units[:-1], last + ellipsis]
    return ["".join(units).rstrip() + ellipsis]


def truncate(body: str, render: Callable[[str], str], fits: Callable[[str], bool], *,
             limit: int | None = None, ellipsis: str = ELLIPSIS) -> tuple[str, bool]:
    """The post with as much of ``body`` as fits, cut with ``ellipsis``; (text, was_cut).

    Raises :class:`DoesNotFit` when even an empty body does not fit.
    """
    whole = render(body)
    if fits(whole):
        return whole, False
    joined = _joined(fits)
    units = sentences(body)
    span = _window(units, limit)
    stretch = _stretch(fits, units[:span])

    def with_units_fits(k: int) -> bool:
        if stretch is not None and (last := units[k - 1].rstrip()):
            body = "".join(units[:k - 1]) + last + ellipsis
            ends = _ends(render, body)
            if ends is not None:
                return stretch.joined((ends[0],), k, last + ellipsis, (ends[1],))
        return joined(_post(render, _cut(units[:k], ellipsis)))

    kept = _longest(span, lambda k: k > 0 and with_units_fits(k))
    head = "".join(units[:kept])
    words = tokens(units[kept]) if kept < len(units) else []

    def with_words(j: int) -> str:
        return render((head + "".join(words[:j])).rstrip() + ellipsis)

    more = _longest(len(words), lambda j: j > 0 and joined(
        _post(render, _cut([*units[:kept], *words[:j]], ellipsis))))
    if kept or more:
        return with_words(more), True
    bare = render("")
    if fits(bare):
        return bare, True
    raise DoesNotFit("the required parts alone")


def thread(body: str, render_first: Callable[[str], str], fits: Callable[[str], bool], *,
           limit: int | None = None, ellipsis: str = ELLIPSIS,
           marker: Callable[[int, int], str] = lambda i, n: f"\n\n({i}/{n})") -> list[str]:
    """``body`` spread over a numbered thread; the first post is ``render_first(chunk)``.

    Posts break at sentence ends; a sentence longer than the room left is cut at a word and
    the cut marked with ``ellipsis``. Every post ends with its ``(i/n)`` marker; the room for
    it is reserved at its widest.
    """
    whole = render_first(body)
    if fits(whole):
        return [whole]
    widest = marker(MAX_THREAD_PARTS, MAX_THREAD_PARTS)
    queue = sentences(body)
    chunks: list[str] = []
    joined = _joined(fits)
    while queue:
        wrap = render_first if not chunks else None
        span = _window(queue, limit)
        # the chunk "".join(queue[:k]).strip() is [*units[:k - 1], units[k - 1].rstrip()]
        units = [queue[0].lstrip(), *queue[1:span]]
        stretch = _stretch(fits, units)

        def candidate_fits(k: int, units: list[str] = units, wrap=wrap, stretch=stretch) -> bool:
            if k == 0:
                return False
            if stretch is not None and (last := units[k - 1].rstrip()):
                ends = ("", "") if wrap is None else _ends(wrap, "".join(units[:k - 1]) + last)
                if ends is not None:
                    return stretch.joined((ends[0],), k, last, (ends[1], widest))
            return joined(_post(wrap, _stripped(units[:k]), widest))

        kept = _longest(span, candidate_fits)
        if kept:
            chunks.append("".join(queue[:kept]).strip())
            queue = queue[kept:]
        else:
            # a sentence too long for this post: cut at a word, marked with an ellipsis
            words = tokens(queue[0])

            def cut_fits(j: int, words: list[str] = words, wrap=wrap) -> bool:
                return j > 0 and joined(_post(wrap, _cut(_stripped(words[:j]), ellipsis),
                                              widest))

            more = _longest(len(words), cut_fits)
            if more:
                chunks.append("".join(words[:more]).strip() + ellipsis)
                queue = ["".join(words[more:]), *queue[1:]]
            elif not chunks and fits((wrap or str)("") + widest):
                chunks.append("")  # the first post carries only title, link and tags
            else:
                raise DoesNotFit("the required parts alone" if not chunks
                                 else f"the word {words[0].strip()[:40]!r}")
        queue = [unit for unit in queue if unit.strip()]
        if len(chunks) > MAX_THREAD_PARTS:
            raise ThreadTooLong(f"more than {MAX_THREAD_PARTS} posts")
    total = len(chunks)
    return [(render_first(chunk) if index == 0 else chunk) + marker(index + 1, total)
            for index, chunk in enumerate(chunks)]
