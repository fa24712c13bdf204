"""Public URLs for networks that fetch images themselves (Instagram, Threads).

Those networks take an ``image_url`` and download the file from it, so the file must sit
somewhere the internet can reach. The daemon gives each such adapter an
:class:`ImageHost` (Siar's configured media store, see ``[media]`` in siar.toml); an
adapter asks it for a URL per image while it publishes, and lets the URL go once the
network has fetched the file. ``channels/`` never imports ``scheduler/``: the host is
handed in, this module only says what it must do.

Without a host the URL is the media's own ``url`` (an image already on the web) or the
account option ``public_media_base_url`` + the file name (files an operator publishes
by other means).

Videos go the same way (an Instagram Reel, a Threads video, and a Reel's cover image):
the store hosts the prepared MP4 while the network processes its container, which takes
minutes; an attempt that ends while the container is still processing leaves it hosted
for the next attempt (or the probe, once it finds the post published) to let go.

A reader who fetches at a time of its own — a webhook's receiver, the recipient of an
e-mail linking to its video — gets :func:`lasting_urls`: put once per post (checkpointed,
so a retry sends the same URL) and never let go by Siar, so the store's own rules decide
how long it lasts (``[media] expires_seconds`` for ``siar`` and ``s3``; a WordPress
library keeps it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from channels.base import Delivery
from channels.variant import Media

__all__ = ["HostingError", "ImageHost", "ImagesOfAnAttempt", "hosted_urls", "lasting_urls",
           "media_key", "public_image_url"]

#: the account option naming the store that will host the images (set by the settings,
#: so that queue-time checks know a URL will be there when the post is published)
HOSTED_OPTION = "media_store"


class HostingError(Exception):
    """The image could not be put where the network can fetch it (the store refused it,
    or could not be reached): the post is not sent, and is tried again later."""


class ImageHost(ABC):
    """Where the images of one publishing attempt are put for the network to fetch."""

    #: the store's name as configured (``wordpress:wp-lapas``, ``s3``, ``siar``)
    name: str = "store"

    @abstractmethod
    def url_for(self, media: Media) -> str:
        """Put ``media``'s file in the store and return the public URL it has there.

        Raises :class:`HostingError` when the file could not be put there."""

    #: the store keeps what it hosted (``[media] keep``): URLs stay valid after publishing
    keep: bool = False

    @abstractmethod
    def let_go(self, url: str) -> None:
        """The network has fetched ``url`` (or will never): the store may delete it.

        Never raises: a file that cannot be deleted is left for the store's own clean-up."""


def public_image_url(media: Media, options: Mapping[str, Any]) -> str | None:
    """Where a network can fetch ``media`` without a store: its own ``url`` (an image
    already on the web), else the account option ``public_media_base_url`` + the file name."""
    if media.url:
        return media.url
    base = options.get("public_media_base_url")
    if base:
        return f"{str(base).rstrip('/')}/{quote(PurePath(media.path).name)}"
    return None


def will_have_url(media: Media, options: Mapping[str, Any]) -> bool:
    """Whether a URL will be known for ``media`` when it is published (a store is
    configured, or :func:`public_image_url` finds one): the check made at queue time."""
    return bool(options.get(HOSTED_OPTION)) or public_image_url(media, options) is not None


def media_key(media: Media) -> str:
    """How an image is known among a post's hosted URLs: its SHA-256, else its path."""
    return media.sha256 or media.path


def hosted_urls(media: list[Media], state: Mapping[str, Any],
                options: Mapping[str, Any]) -> list[Media]:
    """``media`` with ``url`` filled where it is known: hosted by a store now (the post's
    checkpointed state), or reachable without one (:func:`public_image_url`)."""
    from dataclasses import replace

    hosted = state.get(ImagesOfAnAttempt.URLS_KEY, {})
    return [item if item.url else replace(
        item, url=hosted.get(media_key(item)) or public_image_url(item, options))
        for item in media]


def lasting_urls(media: list[Media], host: ImageHost | None, delivery: Delivery | None,
                 options: Mapping[str, Any]) -> list[Media]:
    """``media`` with ``url`` filled for a reader who fetches it later: its own, one an
    earlier attempt of this post had the store make, ``public_media_base_url``'s, else
    one the store makes now (checkpointed at once). Without a host a file with none of
    these keeps ``url=None``. Raises :class:`HostingError` when the store refuses one."""
    from dataclasses import replace

    hosted = dict(delivery.state.get(ImagesOfAnAttempt.URLS_KEY, {})) if delivery else {}
    linked = []
    for item in media:
        url = item.url or hosted.get(media_key(item)) or public_image_url(item, options)
        if url is None and host is not None:
            url = hosted[media_key(item)] = host.url_for(item)
            if delivery is not None:  # before the post leaves: a retry sends the same URL
                delivery.checkpoint(**{ImagesOfAnAttempt.URLS_KEY: dict(hosted)})
        linked.append(replace(item, url=url))
    return linked


class ImagesOfAnAttempt:
    """The image URLs one publishing attempt hands to the network, put on first use.

    The URLs a store made are checkpointed (``hosted``) as soon as they exist, so an
    attempt that ends while the network may still be fetching (a container still
    processing) leaves them to the next attempt, which lets them go when it ends.
    """

    STATE_KEY = "hosted"
    #: the URL of each image (by SHA-256, else path) while it is hosted: what ``siar
    #: preview ID`` shows as ``media[].url``
    URLS_KEY = "hosted_at"

    def __init__(self, host: ImageHost | None, delivery: Delivery | None,
                 options: Mapping[str, Any]) -> None:
        self.host = host
        self.delivery = delivery
        self.options = options
        self._urls: dict[tuple[str, str | None], str] = {}

    def url(self, media: Media) -> str | None:
        """The public URL of ``media``: its own, or the store's (put now), or the one
        ``public_media_base_url`` gives; ``None`` when there is none."""
        if media.url or self.host is None:
            return public_image_url(media, self.options)
        key = (media.path, media.sha256)
        if key not in self._urls:
            url = self.host.url_for(media)
            self._urls[key] = url
            if self.delivery is not None:
                hosted_at = {**self.delivery.state.get(self.URLS_KEY, {}),
                             media_key(media): url}
                self.delivery.checkpoint(**{self.STATE_KEY: [*self.pending(), url],
                                            self.URLS_KEY: hosted_at})
        return self._urls[key]

    def pending(self) -> list[str]:
        """URLs handed out by this attempt or an earlier one and not let go yet."""
        if self.delivery is None:
            return list(self._urls.values())
        return list(self.delivery.state.get(self.STATE_KEY, []))

    def finish(self, *, network_may_still_fetch: bool) -> None:
        """Let every URL go, unless the network may still be fetching one of them."""
        if self.host is None or network_may_still_fetch:
            return
        urls = self.pending()
        for url in urls:
            self.host.let_go(url)
        if self.delivery is not None and urls:
            gone = {} if not self.host.keep else self.delivery.state.get(self.URLS_KEY, {})
            self.delivery.checkpoint(**{self.STATE_KEY: [], self.URLS_KEY: gone})
