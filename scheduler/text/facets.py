"""Bluesky rich text: facets with exact UTF-8 byte offsets into the post's text.

Without facets Bluesky shows links, tags and mentions as plain text. ``byteStart`` is
inclusive, ``byteEnd`` exclusive, both offsets into ``text.encode("utf-8")``
(lexicon ``app.bsky.richtext.facet``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from scheduler.text.hashtags import BLUESKY_TAG_MAX, INLINE_TAG
from scheduler.text.links import find_links
from scheduler.text.mentions import Mention

_FACET = "app.bsky.richtext.facet"


class _ByteOffsets:
    """UTF-8 byte offset of a code-point index, computed only for the indexes asked for."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()

    def __getitem__(self, index: int) -> int:
        return index if self.ascii else len(self.text[:index].encode("utf-8"))


def facets(text: str, mentions: tuple[Mention, ...] | list[Mention] = ()) -> list[dict[str, Any]]:
    """Link, tag and mention facets of ``text``, in order of position."""
    return [_facet(start, end, {"$type": f"{_FACET}#{kind}", key: value})
            for start, end, kind, key, value in _spans(text, tuple(mentions))]


def _facet(start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {"$type": _FACET, "index": {"byteStart": start, "byteEnd": end},
            "features": [feature]}


@lru_cache(maxsize=1024)
def _spans(text: str, mentions: tuple[Mention, ...]) -> tuple[tuple[int, int, str, str, str],
                                                              ...]:
    """(byteStart, byteEnd, kind, feature key, value) of each facet, by position."""
    offsets = _ByteOffsets(text)
    found: list[tuple[int, tuple[int, int, str, str, str]]] = []
    taken: list[tuple[int, int]] = []
    for start, end, uri in find_links(text):
        found.append((start, (offsets[start], offsets[end], "link", "uri", uri)))
        taken.append((start, end))
    for match in INLINE_TAG.finditer(text):
        tag = match.group(1)
        start, end = match.start(), match.end()
        if (tag.replace("_", "").isdigit() or len(tag) > BLUESKY_TAG_MAX
                or any(a <= start < b for a, b in taken)):
            continue
        found.append((start, (offsets[start], offsets[end], "tag", "tag", tag)))
    for mention in mentions:
        if not mention.did:
            continue
        position = text.find(mention.text)
        while position != -1:
            end = position + len(mention.text)
            boundary_ok = (position == 0 or text[position - 1].isspace() or
                           text[position - 1] in "(“\"") and (
                end == len(text) or not (text[end].isalnum() or text[end] in "._-"))
            if boundary_ok:
                found.append((position, (offsets[position], offsets[end], "mention", "did",
                                         mention.did)))
            position = text.find(mention.text, end)
    return tuple(span for _, span in sorted(found, key=lambda item: item[0]))
