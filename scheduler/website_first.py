"""Website first: ``link: website`` (or ``link: ACCOUNT``) makes a release's other posts link
to its website post, which is counted first and read in full there.

At queue time those posts are composed with the address the website post is expected to
get (:func:`expected_address`: its length is what the networks that count a URL's real
length must leave room for) and stored ``waiting``. Once the website post is published,
each is composed anew with the real address (UTM per network, fitted again by the
network's own counting) and goes out at its time (:func:`deliver_links`). A website post
that fails, stays in doubt, is missed or cancelled keeps them waiting, never published
without their link, and staff are alerted (:func:`stuck_alerts`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from channels.variant import Variant
from scheduler import notify
from scheduler.errors import ReleaseError, SiarError
from scheduler.i18n import _
from scheduler.queue import website
from scheduler.settings import AccountSettings, Settings

if TYPE_CHECKING:  # imported where used: YAML and the composer, not for the daemon's start
    from scheduler.releases import ReleaseDoc

log = logging.getLogger("siar.daemon")

#: ``link: website``: the release's own WordPress account
WEBSITE = "website"


@dataclass(frozen=True)
class Delivered:
    """A waiting post given its link (or failed because it could not take it)."""

    post_id: int
    account: str
    url: str
    error: str | None = None


def expected_address(account: AccountSettings, title: str, due_at: datetime) -> str:
    """The address a WordPress post of ``title`` most likely gets (the date-and-name
    permalink, the longest of WordPress's usual ones): what the other posts are fitted
    with until the real one is known."""
    from scheduler.drafts import slug

    base = (account.base_url or f"https://{account.name}.example").rstrip("/")
    return f"{base}/{due_at:%Y/%m/%d}/{slug(title)}/"


def resolve(doc: ReleaseDoc, accounts: list[AccountSettings]) -> ReleaseDoc:
    """``doc`` with ``link_from`` the name of the account whose post gives the link
    (``website``: the release's one WordPress account); a clear error otherwise."""
    wanted = doc.link_from
    if wanted is None:
        return doc
    names = ", ".join(a.name for a in accounts)
    if wanted == WEBSITE:
        sites = [a for a in accounts if a.network == "wordpress"]
        if len(sites) != 1:
            raise ReleaseError(
                doc.source, "link",
                _("'website' needs exactly one WordPress account among the release's "
                  "accounts; it has {count} ({names})").format(count=len(sites), names=names),
                hint=_("name the account whose post gives the link, e.g. 'link: {example}', "
                       "or add the website account to 'channels:'").format(
                           example=sites[0].name if sites else "wordpress-lapas"))
        wanted = sites[0].name
    if wanted not in {a.name for a in accounts}:
        raise ReleaseError(doc.source, "link",
                           _("{name} is not one of the release's accounts ({names})").format(
                               name=repr(wanted), names=names),
                           hint=_("write 'link: website', the name of one of those accounts, "
                                  "or the full address starting with https://"))
    if doc.repeat:
        raise ReleaseError(doc.source, "link",
                           _("a recurring release cannot wait for a website post"),
                           hint=_("give the full address starting with https://"))
    if len(accounts) < 2:
        raise ReleaseError(doc.source, "link",
                           _("only {name} publishes this release: no post waits for it").format(
                               name=wanted),
                           hint=_("remove 'link:', or add the accounts that should link to it"))
    return replace(doc, link_from=wanted)


def compose_waiting(doc: ReleaseDoc, accounts: list[AccountSettings], settings: Settings,
                    due_at: datetime, *, each: bool = False) -> list[Any]:
    """Variants for ``accounts`` when ``doc.link_from`` gives the link: that account's
    without one, every other one fitted with the address it is expected to get.
    ``each``: an account that cannot be composed gives its ComposeError in its place
    (:func:`scheduler.compose.compose_each`) instead of raising it."""
    from scheduler.compose import compose_all, compose_each

    composer = compose_each if each else compose_all
    site = settings.account(doc.link_from or "")
    expected = expected_address(site, doc.title, due_at)
    note = _("waits for {account}: the link will be that post's address once it is published "
             "(fitted here with {address})").format(account=site.name, address=expected)
    others = [a for a in accounts if a.name != site.name]
    made = dict(zip([a.name for a in others],
                    composer(replace(doc, link=expected), others, settings), strict=True))
    made[site.name] = composer(doc, [site], settings)[0]
    return [replace(made[a.name], warnings=[*made[a.name].warnings, note])
            if a.name != site.name and isinstance(made[a.name], Variant) else made[a.name]
            for a in accounts]


def deliver_links(engine: Engine, settings: Settings, node: str) -> list[Delivered]:
    """Every waiting post whose website post is out: composed with its address and
    scheduled, or failed (for staff) if it cannot take it."""
    arrivals = website.arrivals(engine)
    if not arrivals:  # the common case: the composer (~0.1 s to import) is not needed
        return []
    from scheduler.compose import compose
    from scheduler.releases import ReleaseDoc

    done = []
    for arrival in arrivals:
        release = arrival.release
        doc = ReleaseDoc(
            source=release.source or f"release {release.id}", title=release.title,
            body=release.body, zone=release.zone, hashtags=list(release.hashtags),
            link=arrival.url, mentions=list(release.mentions), summary=release.summary,
            language=release.language)
        queued = Variant.from_json(arrival.variant)
        try:
            variant = compose(doc, settings.account(arrival.account), settings)
        except SiarError as exc:  # the address no longer fits, or the account is gone
            error = _("the website post's address could not be added: {reason}").format(reason=exc)
            if website.link_unusable(engine, arrival.post_id, error, node):
                done.append(Delivered(arrival.post_id, arrival.account, arrival.url, error))
            continue
        # the photos prepared at queue time go out, as the preview showed them
        variant = replace(variant, media=queued.media)
        if website.link_arrived(engine, arrival, variant.to_json(), node):
            log.info("post %s/%s has its link %s", release.id, arrival.account, arrival.url,
                     extra={"post": arrival.post_id, "account": arrival.account,
                            "url": arrival.url})
            done.append(Delivered(arrival.post_id, arrival.account, arrival.url))
    return done


def stuck_alerts(engine: Engine) -> list[notify.Message]:
    """One alert per website post that will not come out by itself while posts wait."""
    from sqlalchemy import select

    from scheduler.db import transaction
    from scheduler.models import Release

    messages = []
    for item in website.stuck(engine):
        with transaction(engine) as s:
            release = s.scalar(select(Release).where(Release.id == item.website.release_id))
        messages.append(notify.website_stuck(item.website, release, item.waiting))
    return messages
