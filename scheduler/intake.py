"""From a release file to queued posts: choose accounts, compose, check, then store.

Every check runs before the single database transaction in :func:`queue.enqueue`, so
bad input never leaves half a release behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from channels.variant import Media, Variant
from scheduler.errors import ConfigError, ReleaseError, UnknownChannel
from scheduler.i18n import _
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import TimeParseError, parse_when, show

if TYPE_CHECKING:
    from channels.base import Channel
    from scheduler.media_store import MediaStore, StoredFile

#: a time this far in the past still counts as "now" (the officer typed it a minute ago)
PAST_TOLERANCE = timedelta(minutes=2)


@dataclass
class Plan:
    """A release ready to queue: which accounts, what each gets, and when."""

    doc: ReleaseDoc
    accounts: list[AccountSettings]
    variants: list[Variant]
    due_at: datetime
    zone: str
    #: things the officer should know that do not stop queueing (e.g. an image resized)
    notes: list[str] = field(default_factory=list)


def select_accounts(settings: Settings, names: list[str] | None, *,
                    source: str = "<command line>") -> list[AccountSettings]:
    """Accounts named (by account or network name); all enabled accounts if none named."""
    return Intake(settings).select_accounts(names, source=source)


def plan(doc: ReleaseDoc, settings: Settings, *, at: str | None = None,
         channels: list[str] | None = None, next_slot: bool = False,
         now: datetime | None = None) -> Plan:
    """Compose and check a release for queueing; raises before anything is stored."""
    return Intake(settings).plan(doc, at=at, channels=channels, next_slot=next_slot, now=now)


class Intake:
    """Plans releases against one deployment's settings (one ``siar add``, however many
    files). What every release would look up again — accounts by name, each network's
    channel, each account's adapter for the preflight and its ``base_url`` check — is
    looked up once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._named: dict[str, list[AccountSettings]] | None = None
        self._enabled: list[AccountSettings] | None = None
        self._channels: dict[str, type[Channel]] = {}
        self._adapters: dict[str, Channel] = {}
        self._located: set[str] = set()  # accounts whose base_url was checked
        self._composer: Any = None

    def select_accounts(self, names: list[str] | None, *,
                        source: str = "<command line>") -> list[AccountSettings]:
        """Accounts named (by account or network name); all enabled accounts if none named."""
        if not names:
            if self._enabled is None:
                self._enabled = self.settings.enabled_accounts()
            if not self._enabled:
                raise UnknownChannel(
                    _("no channel accounts are configured"),
                    hint=_("add [[accounts]] tables to {file} (run 'siar init' for a starter "
                           "file)").format(file=self.settings.config_file or "siar.toml"))
            return list(self._enabled)
        if self._named is None:  # name or network → its accounts, in the settings' order
            self._named = {}
            for account in self.settings.accounts:
                for key in dict.fromkeys((account.name, account.network)):
                    self._named.setdefault(key, []).append(account)
        chosen: list[AccountSettings] = []
        for name in names:
            matches = self._named.get(name)
            if not matches:
                known = ", ".join(a.name for a in self.settings.accounts) or _("none")
                raise UnknownChannel(
                    _("{source}: channels: no account or network named {name}").format(
                        source=source, name=repr(name)),
                    hint=_("configured accounts: {names}").format(names=known))
            chosen.extend(a for a in matches if a not in chosen)
        return chosen

    def plan(self, doc: ReleaseDoc, *, at: str | None = None,
             channels: list[str] | None = None, next_slot: bool = False,
             now: datetime | None = None) -> Plan:
        """Compose and check a release for queueing; raises before anything is stored."""
        settings = self.settings
        now = now or datetime.now(UTC)
        accounts = self.select_accounts(channels or doc.channels,
                                        source=doc.source if not channels else "--channels")
        if doc.link_from:  # website first (imported here: it brings the queue's modules)
            from scheduler import website_first

            doc = website_first.resolve(doc, accounts)
        due, zone, field_source = _when(doc, settings, accounts, at=at, next_slot=next_slot,
                                        now=now)
        if due < now - PAST_TOLERANCE:
            raise ReleaseError(field_source, None,
                               _("{when} is in the past (now {now})").format(
                                   when=show(due, zone), now=show(now, zone)),
                               hint=_("give a future time, 'now', or use --next-slot"))
        self._check_base_urls(accounts)
        notes = self._check_images(doc, accounts) + _check_videos(doc, accounts)
        if doc.link_from:
            variants = website_first.compose_waiting(doc, accounts, settings, due)
        else:
            variants = self._compose_all()(doc, accounts, settings)
        self._preflight(doc, accounts, variants)
        return Plan(doc=doc, accounts=accounts, variants=variants, due_at=due, zone=zone,
                    notes=notes)

    def _compose_all(self) -> Any:
        """:func:`scheduler.compose.compose_all`, imported on first use (reading release
        files does without the composer) and then kept: an import statement costs a
        few microseconds on every one of a calendar's files."""
        if self._composer is None:
            from scheduler.compose import compose_all

            self._composer = compose_all
        return self._composer

    def _channel(self, network: str) -> type[Channel]:
        if (channel := self._channels.get(network)) is None:
            from channels import registry

            channel = self._channels[network] = registry.load(network)
        return channel

    def _preflight(self, doc: ReleaseDoc, accounts: list[AccountSettings],
                   variants: list[Variant]) -> None:
        """Ask each adapter whether its variant can ever be published (no network access)."""
        for account, variant in zip(accounts, variants, strict=True):
            if (adapter := self._adapters.get(account.name)) is None:
                adapter = self._adapters[account.name] = self._channel(account.network)(
                    account.channel_config(), {})
            if problem := adapter.preflight(variant):
                raise ReleaseError(doc.source, None,
                                   f"{account.name} ({account.network}): {problem}",
                                   hint=_("fix the release, or leave {account} out with "
                                          "'channels:' / --channels").format(
                                              account=account.name))

    def _check_base_urls(self, accounts: list[AccountSettings]) -> None:
        """Networks without one well-known host (Mastodon, WordPress …) need ``base_url``."""
        for account in accounts:
            if account.name in self._located:
                continue
            if account.base_url is None and self._channel(account.network).needs_base_url:
                raise ConfigError(
                    _("{file}: account {account} ({network}) has no base_url").format(
                        file=self.settings.config_file or "settings",
                        account=repr(account.name), network=account.network),
                    hint=_("set base_url for {account}, e.g. the instance or site address")
                    .format(account=account.name))
            self._located.add(account.name)

    def _check_images(self, doc: ReleaseDoc, accounts: list[AccountSettings]) -> list[str]:
        """Refuse at queue time an image that no amount of resizing makes acceptable;
        return what resizing will change, for the officer to know."""
        if not doc.images:
            return []
        from channels.images import Framing, ImageError, validate_image

        notes: list[str] = []
        for index, image in enumerate(doc.images):
            framing = Framing(image.focus, image.background)
            for account in accounts:
                try:
                    # every network gets the prepared file (keep_media), those that fetch
                    # images by URL too: what they would change is a note, not an error
                    notes += [f"{account.name}: {warning}" for warning in
                              validate_image(image.path, account.network, alt=image.alt,
                                             framing=framing)]
                except ImageError as exc:
                    raise ReleaseError(doc.source, f"images[{index}]",
                                       f"{account.name} ({account.network}): {exc}") from exc
        return notes


def _check_videos(doc: ReleaseDoc, accounts: list[AccountSettings]) -> list[str]:
    """Refuse at queue time a video some account's network cannot take however it is
    prepared (too long, too short, unreadable): probed and planned, nothing encoded yet.
    Returns what preparing will change, per account, for the officer."""
    if not doc.videos:
        return []
    from channels.video import VideoError, plan_all, probe

    video = doc.videos[0]
    notes: list[str] = []
    try:
        facts = probe(video.path)
    except VideoError as exc:
        raise ReleaseError(doc.source, "videos[0]", exc.message, hint=exc.hint) from exc
    for account in accounts:
        try:
            plans = plan_all(facts, [account.network], trim=video.trim)
        except VideoError as exc:
            raise ReleaseError(doc.source, "videos[0]",
                               f"{account.name} ({account.network}): {exc.message}",
                               hint=exc.hint) from exc
        notes += [f"{account.name}: {video.path.name}: {change}"
                  for plan in plans.values() if not plan.copied for change in plan.changes]
    return notes


def _when(doc: ReleaseDoc, settings: Settings, accounts: list[AccountSettings], *,
          at: str | None, next_slot: bool, now: datetime) -> tuple[datetime, str, str]:
    """When the release goes out: (instant, zone shown back, where the time came from).
    Never "now" unless someone asked for it: a file without a time was published at once."""
    if at is not None:
        try:
            due, zone = parse_when(at, default_zone=settings.timezone, now=now)
        except TimeParseError as exc:
            raise ReleaseError("--at", None, str(exc)) from exc
        return due, zone, "--at"
    if doc.at is not None and not next_slot:
        return doc.at, doc.zone, f"{doc.source}: at"
    if doc.repeat is not None and not next_slot:  # the series starts at its first occurrence
        from scheduler.cron import occurrences

        first = next(iter(occurrences(doc.repeat, doc.zone, now, now + timedelta(days=366))),
                     None)
        if first is None:
            raise ReleaseError(doc.source, "repeat", _("{rule} never falls within a year")
                               .format(rule=repr(doc.repeat)),
                               hint=_("check the day and month fields, or give 'at:'"))
        return first, doc.zone, f"{doc.source}: repeat"
    if next_slot or settings.default_when == "next-slot":
        source = "--next-slot" if next_slot else f"{settings.config_file or 'settings'}: " \
                                                  "default_when"
        return (*_next_slot(accounts, settings, now, source), source)
    if settings.default_when == "now":
        return now, settings.timezone, "now"
    raise ReleaseError(doc.source, "at", _("no time given, and Siar publishes nothing at once "
                                           "unless asked"),
                       hint=_("add a line 'at: besok 09.00' to the front matter, or give --at "
                              "TIME, --next-slot or --now"))


def _next_slot(accounts: list[AccountSettings], settings: Settings, now: datetime,
               source: str) -> tuple[datetime, str]:
    """The latest of the accounts' next posting slots, so all go out together."""
    from scheduler.cron import next_slot_for

    without = [a.name for a in accounts if not a.slots]
    if without:
        raise ConfigError(_("{source}: account(s) {accounts} have no posting slots").format(
            source=source, accounts=", ".join(without)),
            hint=_('add e.g. slots = "Mon-Fri 08:00,12:00" to each account, or give --at'))
    due = max(next_slot_for(a, now) for a in accounts)
    zones = {a.timezone for a in accounts}
    return due, zones.pop() if len(zones) == 1 else settings.timezone  # the slots' own zone


def missing_secrets(settings: Settings, accounts: list[AccountSettings]) -> dict[str, list[str]]:
    """Account name → environment variables it still needs (a warning at queue time:
    the daemon may run on another host with its own environment)."""
    from channels import registry
    from scheduler.errors import SiarError

    missing: dict[str, list[str]] = {}
    for account in accounts:
        try:
            fields = registry.load(account.network).secret_fields
        except SiarError as exc:
            missing[account.name] = [str(exc)]
            continue
        absent = [account.secret_variable(f) for f in fields
                  if not settings.secret(account, f, required=False)]
        if absent:
            missing[account.name] = absent
    return missing


def keep_media(plans: Sequence[Plan], store: MediaStore) -> list[Plan]:
    """The plans with every image copied into the media store, and prepared there for each
    account's network: the release names the copy of the original, each variant the file
    prepared for it, with its SHA-256 — so that the daemon publishes exactly what was
    previewed, wherever the original was and whatever becomes of it.

    Runs after every plan is checked and before the queue's transaction: the posts then
    never name a file that is not there. Each distinct file is copied once per call.
    """
    from channels.video import MAX_VIDEO_BYTES
    from scheduler.media_prep import Memo, prepare_variants
    from scheduler.video_prep import VideoMemo

    prepared: Memo = {}  # a photo many releases name is prepared once per network
    prepared_videos: VideoMemo = {}  # and a video too
    kept: list[Plan] = []
    for plan in plans:
        if not plan.doc.images and not plan.doc.videos:
            kept.append(plan)
            continue
        stored = {str(image.path): store.keep(image.path) for image in plan.doc.images}
        stored |= {str(video.path): store.keep(video.path, limit=MAX_VIDEO_BYTES)
                   for video in plan.doc.videos}
        doc = replace(plan.doc, images=[replace(image, path=stored[str(image.path)].path)
                                        for image in plan.doc.images],
                      videos=[replace(video, path=stored[str(video.path)].path)
                              for video in plan.doc.videos])
        variants = [_naming_copies(variant, stored) for variant in plan.variants]
        variants = prepare_variants(variants, doc.images, store, source=plan.doc.source,
                                    memo=prepared, videos=doc.videos,
                                    video_memo=prepared_videos).variants
        kept.append(replace(plan, doc=doc, variants=variants))
    return kept


def _naming_copies(variant: Variant, stored: dict[str, StoredFile]) -> Variant:
    if not variant.media:
        return variant

    def copy_of(media: Media) -> Media:
        copy = stored.get(media.path)
        return media if copy is None else replace(media, path=str(copy.path),
                                                  sha256=copy.sha256)

    return replace(variant, media=[copy_of(media) for media in variant.media])
