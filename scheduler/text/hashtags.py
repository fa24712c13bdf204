"""Hashtags: which are valid, how duplicates merge, how many a post takes.

What a network accepts is its channel's :class:`channels.rules.HashtagRules`: by default a
tag is letters, digits and ``_`` (Mastodon's also accepts ``·``, ``・`` and ZWNJ inside),
and never all digits/underscores (``#2026`` is not a tag on X, Mastodon or Bluesky).
Duplicates are found case-insensitively; the spelling kept is the first one written in
CamelCase (``HumasBergerakBersama`` beats ``humasbergerakbersama``) because screen readers
and people read CamelCase tags word by word.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

from channels.rules import WORD_TAG

#: a tag written in running text: after the start or whitespace, as Bluesky and Mastodon
#: require; trailing punctuation is not part of it
INLINE_TAG = regex.compile(r"(?:(?<=\s)|^)[#＃]([\p{L}\p{M}\p{N}_]+)", regex.MULTILINE)
#: Bluesky's tag facet: at most 64 graphemes (640 bytes)
BLUESKY_TAG_MAX = 64


@lru_cache(maxsize=32)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def is_valid(tag: str, valid: str = WORD_TAG) -> bool:
    """Whether ``tag`` (without ``#``) is a hashtag where ``valid`` (a pattern, see
    :attr:`channels.rules.HashtagRules.valid`) says what a tag is made of."""
    if not tag or not _compiled(valid).fullmatch(tag):
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


def merge(campaign: list[str], release: list[str], *, valid: str = WORD_TAG,
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
            if not is_valid(tag, valid):
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
