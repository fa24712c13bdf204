"""A video's title, description and tags as the YouTube Data API takes them.

From the ``video`` resource reference (``snippet``):

* ``title``: at most 100 characters, any valid UTF-8 except ``<`` and ``>``;
* ``description``: at most 5,000 **bytes**, any valid UTF-8 except ``<`` and ``>``;
* ``tags``: at most 500 characters in all, where the commas between tags count, and a
  tag with a space counts as if wrapped in quotation marks (``Foo-Baz`` is 7, ``Foo Baz``
  is 9).

Pure functions, no network: the composer calls them at queue time (so the preview shows
what is sent) and the adapter again before sending (a post stored by an older version).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "DESCRIPTION_BYTES",
    "TAGS_LIMIT",
    "TITLE_LIMIT",
    "description_of",
    "fit_tags",
    "tags_length",
    "title_of",
]

TITLE_LIMIT = 100
DESCRIPTION_BYTES = 5000
TAGS_LIMIT = 500
#: what stands in for the characters YouTube refuses in a title or description
_ANGLES = str.maketrans({"<": "‹", ">": "›"})
ELLIPSIS = "…"


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_ANGLES)


def title_of(text: str, limit: int = TITLE_LIMIT) -> str:
    """``text`` as a title: one line, no angle brackets, at most ``limit`` characters,
    cut at a word with "…" when longer."""
    title = " ".join(_clean(text).split())
    if len(title) <= limit:
        return title
    cut = title[:limit - 1]
    if " " in cut and len(cut.rsplit(" ", 1)[0]) >= limit // 2:  # keep the last word whole
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


def description_of(text: str, limit: int = DESCRIPTION_BYTES) -> str:
    """``text`` without angle brackets and at most ``limit`` UTF-8 bytes, cut at a line
    or word boundary with "…" when longer (never inside a character)."""
    description = _clean(text).strip()
    data = description.encode()
    if len(data) <= limit:
        return description
    room = limit - len(ELLIPSIS.encode())
    cut = data[:room].decode("utf-8", errors="ignore")
    for boundary in ("\n", " "):
        head = cut.rsplit(boundary, 1)[0]
        if boundary in cut and len(head) >= len(cut) // 2:
            cut = head
            break
    return cut.rstrip() + ELLIPSIS


def _tag_cost(tag: str) -> int:
    return len(tag) + (2 if " " in tag else 0)


def tags_length(tags: Iterable[str]) -> int:
    """The tags' length as YouTube counts it: characters, a comma between two tags, and
    the quotation marks of a tag with a space."""
    items = list(tags)
    return sum(_tag_cost(t) for t in items) + max(0, len(items) - 1)


def fit_tags(tags: Iterable[str], limit: int = TAGS_LIMIT) -> tuple[list[str], list[str]]:
    """(kept, left out): the tags in order, without "#", blanks, angle brackets and
    repeats (ignoring case), as many as fit in ``limit`` by :func:`tags_length`; a tag
    that does not fit is left out and the later, shorter ones still tried."""
    kept: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    used = -1  # the first tag has no comma before it
    for raw in tags:
        tag = " ".join(re.sub(r"[<>,]", " ", unicodedata.normalize("NFC", raw))
                       .lstrip("#").split())
        if not tag or tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        cost = _tag_cost(tag) + 1
        if used + cost > limit:
            dropped.append(tag)
            continue
        kept.append(tag)
        used += cost
    return kept, dropped
