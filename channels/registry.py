"""Finding adapters: built-ins and third-party ones alike, through entry points.

Siar's own networks are also listed here (:data:`BUILT_IN`, kept equal to the entry points
in pyproject.toml by a test), so that finding one of them imports its module directly:
reading the entry points of every installed distribution costs about 12 ms of each
``siar preview``, and is only needed for a network Siar does not ship.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from channels.errors import UnknownChannel
from channels.i18n import _

if TYPE_CHECKING:  # imported by load(): checking a config's network names needs no adapter
    from channels.base import Channel

GROUP = "siar.channels"

#: network → ``module:Class`` of the adapters Siar ships, as its entry points declare them
BUILT_IN: dict[str, str] = {
    "console": "channels.console:ConsoleChannel",
    "x": "channels.x:XChannel",
    "mastodon": "channels.mastodon:MastodonChannel",
    "bluesky": "channels.bluesky:BlueskyChannel",
    "telegram": "channels.telegram:TelegramChannel",
    "facebook": "channels.facebook:FacebookChannel",
    "instagram": "channels.instagram:InstagramChannel",
    "threads": "channels.threads:ThreadsChannel",
    "tiktok": "channels.tiktok:TikTokChannel",
    "linkedin": "channels.linkedin:LinkedInChannel",
    "wordpress": "channels.wordpress:WordPressChannel",
    "webhook": "channels.webhook:WebhookChannel",
    "discord": "channels.discord:DiscordChannel",
    "slack": "channels.slack:SlackChannel",
    "email": "channels.email:EmailChannel",
    "youtube": "channels.youtube:YouTubeChannel",
}


@cache
def available() -> dict[str, object]:
    """Network name → entry point, for every installed adapter (not yet imported)."""
    # importlib.metadata (with email, zipfile, csv …) is ~15 ms of imports that finding a
    # built-in network never needs
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def networks() -> list[str]:
    return sorted(available())


def is_installed(network: str) -> bool:
    """Whether an adapter is installed for ``network`` (Siar's own are, without reading
    any entry point)."""
    return network in BUILT_IN or network in available()


@cache
def own_networks() -> frozenset[str]:
    """The networks Siar itself ships: its own distribution's entry points, one file read
    where :func:`available` reads every installed distribution's (most of a config
    check's time). Third-party networks are only in :func:`networks`."""
    from importlib.metadata import PackageNotFoundError, distribution  # see available()

    try:
        return frozenset(ep.name for ep in distribution("siar").entry_points
                         if ep.group == GROUP)
    except PackageNotFoundError:  # run from a checkout that is not installed
        return frozenset()


def load(network: str) -> type[Channel]:
    """The adapter class for ``network``; imported only when first needed."""
    from channels.base import Channel

    try:
        if network in BUILT_IN:
            module, _colon, name = BUILT_IN[network].partition(":")
            cls = getattr(importlib.import_module(module), name)
        else:
            eps = available()
            if network not in eps:
                raise UnknownChannel(
                    _("no adapter for network {network}").format(network=repr(network)),
                    hint=_("known networks: {networks}; a third-party adapter registers under "
                           "the entry-point group {group}").format(
                               networks=", ".join(sorted(eps)), group=repr(GROUP)),
                )
            cls = eps[network].load()  # type: ignore[attr-defined]
    except ImportError as exc:
        raise UnknownChannel(_("the adapter for network {network} cannot be loaded: {reason}")
                             .format(network=repr(network), reason=exc),
                             hint=_("reinstall Siar or the package that provides it")) from exc
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise UnknownChannel(_("entry point {network!r} in {group!r} is not a Channel "
                               "subclass").format(network=network, group=GROUP))
    return cls


def lookup(network: str) -> type[Channel]:
    """Like :func:`load`, but :class:`Channel` itself for a network no adapter is installed
    for: its defaults (no limit, plain text, every tag) describe such a network, so a
    release can still be composed and previewed for it."""
    if is_installed(network):
        return load(network)
    from channels.base import Channel

    return Channel
