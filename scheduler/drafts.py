"""What a channel's ``compose_extra`` hook sees of a composition
(:class:`channels.composing.Draft`), and the pieces of a release it may ask for: its slug
and its excerpt."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from channels.rules import PostRules
from scheduler.releases import ReleaseDoc
from scheduler.text import fitting, markup
from scheduler.text.facets import facets
from scheduler.text.links import find_links
from scheduler.text.mentions import Mention


def slug(title: str) -> str:
    """The title as a URL slug (ASCII, hyphens, at most 80 characters)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:80].rstrip("-") or "rilis"


def excerpt(release: ReleaseDoc) -> str:
    """The summary, else the first paragraph of the body as plain text (at most 300)."""
    return _excerpt_of(release.summary, release.body)


@lru_cache(maxsize=256)
def _excerpt_of(summary: str | None, body: str, limit: int = 300) -> str:
    if summary:
        return summary.strip()
    plain = markup.convert(body, "plain")
    first = plain.split("\n\n", 1)[0].replace("\n", " ")
    if len(first) <= limit:
        return first
    text, _ = fitting.truncate(first, lambda body: body, lambda s: len(s) <= limit,
                               limit=limit)
    return text


class ComposerDraft:
    """What a channel's ``compose_extra`` hook gets (:class:`channels.composing.Draft`)."""

    __slots__ = ("_composer", "_did_mentions", "link", "parts")

    def __init__(self, composer: Any, parts: list[str]) -> None:
        self._composer = composer
        self.parts = parts
        self.link = composer.link
        self._did_mentions: tuple[Mention, ...] | None = None

    @property
    def account(self) -> str:
        # noted: a variant made with the name is not shared with other accounts
        self._composer.name_read = True
        return self._composer.account.name

    @property
    def options(self) -> Mapping[str, Any]:
        # noted as the name is: what the options change is not shared with other accounts
        self._composer.name_read = True
        return MappingProxyType(self._composer.account.options)

    @property
    def tags(self) -> tuple[str, ...]:
        return self._composer.tags.all

    @property
    def rules(self) -> PostRules:
        post, limit = self._composer.rules.post, self._composer.limit
        return post if limit == post.limit else replace(post, limit=limit)

    def warn(self, message: str) -> None:
        self._composer.warnings.append(message)

    def block(self, name: str) -> str | None:
        return self._composer.block(name)

    def html(self) -> str:
        return markup.convert(self._composer.release.body, "html")

    def excerpt(self) -> str:
        return excerpt(self._composer.release)

    def slug(self) -> str:
        return slug(self._composer.release.title)

    def links(self, part: str) -> tuple[str, ...]:
        return tuple(uri for _, _, uri in find_links(part))

    def rich_text(self, part: str) -> list[dict[str, Any]]:
        if self._did_mentions is None:
            self._did_mentions = self._composer.did_mentions()
        return facets(part, self._did_mentions)
