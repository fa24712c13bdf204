"""Hashtag policy: which tags are valid, how duplicates merge, how many a network takes.

A tag is letters, digits and ``_`` (Mastodon also accepts ``·``, ``・`` and ZWNJ inside),
and never all digits/underscores (``#2026`` is not a tag on X, Mastodon or Bluesky).
Duplicates are found case-insensitively; the spelling kept is the first one written in
CamelCase (``HumasBergerakBersama`` beats ``humasbergerakbersama``) because screen readers
and people read CamelCase tags word by word.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

_VALID = regex.compile(r"[\p{L}\p{M}\p{N}_]+")
_MASTODON_VALID = regex.compile(r"[\p{L}\p{M}\p{N}_·・\u200c]+")
#: a tag written in running text: after the start or whitespace, as Bluesky and Mastodon
#: require; trailing punctuation is not part of it
INLINE_TAG = regex.compile(r"(?:(?<=\s)|^)[#＃]([\p{L}\p{M}\p{N}_]+)", regex.MULTILINE)
#: Threads' topic tag: 1–50 characters, no "." or "&"
THREADS_TOPIC_MAX = 50
#: Bluesky's tag facet: at most 64 graphemes (640 bytes)
BLUESKY_TAG_MAX = 64


def is_valid(tag: str, network: str = "") -> bool:
    """Whether ``tag`` (without ``#``) becomes a hashtag on ``network``."""
    pattern = _MASTODON_VALID if network == "mastodon" else _VALID
    if not tag or not pattern.fullmatch(tag):
        return False
    return not tag.replace("_", "").isdigit() and tag.strip("_") != ""


def _is_camel(tag: str) -> bool:
    return tag != tag.lower() and tag != tag.upper()


@dataclass(frozen=True)
class TagSet:
    """The tags of one variant: ``required`` (campaign) first, then the release's own."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


def merge(campaign: list[str], release: list[str], *, network: str = "",
          cap: int | None = None) -> TagSet:
    """Campaign tags (always kept) merged with the release's, deduplicated, capped.

    Invalid tags are dropped (reported in ``dropped``); when ``cap`` is smaller than the
    number of campaign tags, the campaign tags still win over the release's.
    """
    chosen: dict[str, str] = {}
    required_keys: list[str] = []
    dropped: list[str] = []
    for source, tags in (("campaign", campaign), ("release", release)):
        for raw in tags:
            tag = raw.strip().lstrip("#＃")
            if not is_valid(tag, network):
                dropped.append(raw)
                continue
            key = tag.casefold()
            if key not in chosen:
                chosen[key] = tag
                if source == "campaign":
                    required_keys.append(key)
            elif _is_camel(tag) and not _is_camel(chosen[key]):
                chosen[key] = tag
    required = [chosen[k] for k in required_keys]
    optional = [tag for key, tag in chosen.items() if key not in required_keys]
    if cap is not None:
        room = max(cap - len(required), 0)
        dropped += optional[room:]
        optional = optional[:room]
        if len(required) > cap:
            dropped += required[cap:]
            required = required[:cap]
    return TagSet(tuple(required), tuple(optional), tuple(dropped))


def inline_tags(text: str) -> list[str]:
    """Tags written in the text itself (``#Tag`` after whitespace), trailing ``_`` kept."""
    return [m.group(1) for m in INLINE_TAG.finditer(text)
            if not m.group(1).replace("_", "").isdigit()]


def threads_topic(tags: tuple[str, ...]) -> str | None:
    """Threads takes one topic tag per post: the first that fits its rules."""
    for tag in tags:
        if 1 <= len(tag) <= THREADS_TOPIC_MAX and "." not in tag and "&" not in tag:
            return tag
    return None
