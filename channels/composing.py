"""What the composer offers a channel's :meth:`~channels.base.Channel.compose_extra` hook.

The composer (``scheduler/compose.py``) turns a release into a post for each account with
the rules the channel declares. Whatever else a network needs besides the text — Bluesky's
facets and link card, Telegram's parse mode, WordPress's title, slug and HTML, an e-mail's
subject — the channel adds in ``compose_extra(draft, release)``. These two interfaces say
what it may read and ask for; the composer implements them (channels never import it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from channels.rules import PostRules

__all__ = ["Draft", "Release", "ReleaseImage", "ReleaseVideo"]


class ReleaseImage(Protocol):
    """One image of a release."""

    path: Path
    alt: str


class ReleaseVideo(Protocol):
    """The video of a release (``videos:``), before it is prepared for any network."""

    path: Path
    #: what it shows, for people who cannot see it
    caption: str
    #: its own title (``title:``); None: the release's title names it
    title: str | None


class Release(Protocol):
    """The press release being composed, as written (Markdown body)."""

    title: str
    body: str
    summary: str | None
    language: str
    link: str | None
    images: Sequence[ReleaseImage]
    #: at most one (a second is refused when the release is read)
    videos: Sequence[ReleaseVideo]


class Draft(Protocol):
    """The post being composed for one account: its fitted text and the composer's tools.

    Everything here is already written for the channel (its dialect, its counting, the
    account's template); the hook only adds fields of its own.
    """

    #: the account's name
    account: str
    #: the account's options (``options`` of its table in siar.toml), read-only
    options: Mapping[str, Any]
    #: the texts of the post's parts, fitted to the limit (several: a thread)
    parts: list[str]
    #: the release link with the account's UTM parameters, if the release has one
    link: str | None
    #: the hashtags chosen for this post (campaign first), without "#"
    tags: tuple[str, ...]
    #: the rules the post was fitted to (with the account's own limit, if it has one)
    rules: PostRules

    def warn(self, message: str) -> None:
        """Tell the officer something about this post (shown by ``siar preview`` / ``add``)."""

    def block(self, name: str) -> str | None:
        """The account template's block ``name`` rendered (e.g. ``subject``, ``html``), or
        None when the template has no such block."""

    def html(self) -> str:
        """The release body as ordinary HTML."""

    def excerpt(self) -> str:
        """The summary, or else the body's first paragraph in plain text, cut to 300
        characters."""

    def slug(self) -> str:
        """The title as a URL slug (ASCII, lower case, "-" between words)."""

    def links(self, part: str) -> tuple[str, ...]:
        """The links in ``part`` as a reader's app finds them (bare domains too)."""

    def rich_text(self, part: str) -> list[dict[str, Any]]:
        """AT Protocol rich-text facets of ``part`` (``app.bsky.richtext.facet``): links,
        tags and the mentions of organisations with a DID for this network, at UTF-8 byte
        offsets."""
