"""Composer: one release becomes one :class:`Variant` per account.

STAND-IN: a simple per-network formatter until the composer issue lands (see README).
The public functions and their signatures are the contract the rest of Siar uses.
"""

from __future__ import annotations

from scheduler.errors import ComposeError
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, Settings
from scheduler.variant import Media, Variant

LIMITS: dict[str, int | None] = {
    "x": 280, "mastodon": 500, "bluesky": 300, "threads": 500, "telegram": 4096,
    "facebook": 63206, "instagram": 2200, "linkedin": 3000, "wordpress": None,
    "discord": 2000, "slack": 4000, "webhook": None, "email": None, "console": None,
}


def compose(release: ReleaseDoc, account: AccountSettings, settings: Settings) -> Variant:
    """The variant of ``release`` for ``account``; raises ComposeError if it cannot fit."""
    limit = account.limit or LIMITS.get(account.network)
    tags = list(dict.fromkeys([*settings.campaign_hashtags, *release.hashtags]))
    tail = " ".join(f"#{t}" for t in tags)
    link = f"\n{release.link}" if release.link else ""
    text = f"{release.title}\n\n{release.body}".strip()
    full = f"{text}{link}\n\n{tail}".strip()
    if limit is not None and len(full) > limit:
        room = limit - len(link) - len(tail) - 3
        if room < len(release.title):
            raise ComposeError(f"{account.name}: the title, link and hashtags do not fit "
                               f"in {limit} characters")
        full = f"{text[:room - 1].rstrip()}…{link}\n\n{tail}".strip()
    return Variant(
        account=account.name, channel=account.network, parts=[full], length=[len(full)],
        limit=limit, media=[Media(path=str(i.path), alt=i.alt) for i in release.images],
        link=release.link, title=release.title,
    )


def compose_all(release: ReleaseDoc, accounts: list[AccountSettings],
                settings: Settings) -> list[Variant]:
    """Variants for every account, in the given order."""
    return [compose(release, account, settings) for account in accounts]
