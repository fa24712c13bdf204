"""The one small interface every network adapter implements.

An adapter turns a composed :class:`~channels.variant.Variant` into requests to its
network and maps whatever the network answers onto exactly one outcome:

    Outcome
    ├── Published(remote_id, url)     the post exists on the network
    ├── Rejected(reason)              the network refused this content for good (no retry)
    ├── NotSent(reason, retry_after)  provably nothing was created: safe to retry later
    │                                 (rate_limited=True: wait for the account's reset)
    ├── AuthFailed(reason)            credentials refused: pause the account, alert staff
    └── InDoubt(detail)               the request may have been applied: never resend blindly

Adapters never raise for network trouble and never retry by themselves; the
dispatcher decides what happens next from the outcome. Third-party adapters register a
:class:`Channel` subclass under the entry-point group ``siar.channels``.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from channels.composing import Draft, Release
from channels.i18n import _
from channels.rules import (
    DEFAULT_IMAGE_RULES,
    DailyCapacity,
    HashtagRules,
    ImageRules,
    MentionRules,
    PostRules,
    VideoRules,
)
from channels.variant import Media, Variant

__all__ = [
    "AccountConfig",
    "AuthFailed",
    "Channel",
    "CheckResult",
    "Delivery",
    "InDoubt",
    "Media",
    "NotSent",
    "Outcome",
    "PartResult",
    "Published",
    "Rejected",
    "SendWatch",
    "Variant",
    "describe",
    "note_create_sent",
    "watch_sends",
]


# --- outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """The post exists on the network; ``remote_id`` of its first part, ``url`` to show."""

    remote_id: str
    url: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Rejected:
    """The network refused the content for good (validation, duplicate, spam block)."""

    reason: str
    http_status: int | None = None


@dataclass(frozen=True)
class NotSent:
    """Nothing was created. ``retry_after`` in seconds when the network said when."""

    reason: str
    retry_after: float | None = None
    rate_limited: bool = False
    http_status: int | None = None


@dataclass(frozen=True)
class AuthFailed:
    """The network refused the credentials (401, expired or revoked token)."""

    reason: str
    http_status: int | None = None


@dataclass(frozen=True)
class InDoubt:
    """The request may or may not have been applied (timeout after send, 5xx, reset)."""

    detail: str
    http_status: int | None = None


Outcome = Published | Rejected | NotSent | AuthFailed | InDoubt


def describe(outcome: Outcome) -> str:
    """The human-readable part of any outcome (its reason, detail or URL)."""
    if isinstance(outcome, Published):
        return outcome.url or outcome.remote_id
    if isinstance(outcome, InDoubt):
        return outcome.detail
    return outcome.reason


# --- was anything created? -----------------------------------------------------------------
#
# An adapter that raises instead of returning an outcome (a bug, a garbled answer, a file it
# cannot read) leaves the dispatcher to decide whether the post may exist. It may only if a
# *create* request (one that makes the post, not a media upload or a lookup) left without a
# recorded answer. The HTTP layer notes every create request it sends
# (``http.request(..., create=True)``); adapters that speak another protocol (SMTP) call
# :func:`note_create_sent` themselves right before the message leaves.


@dataclass
class SendWatch:
    """What one attempt sent, as far as telling "in doubt" from "not sent" needs."""

    #: a create request left and no part was recorded since (its answer is not known)
    create_unsettled: bool = False
    #: create requests sent in this attempt
    creates: int = 0


_watch = threading.local()


@contextmanager
def watch_sends() -> Iterator[SendWatch]:
    """Watch one attempt on this thread: ``create_unsettled`` tells afterwards whether an
    exception may have left a post behind on the network."""
    outer = getattr(_watch, "current", None)
    _watch.current = watch = SendWatch()
    try:
        yield watch
    finally:
        _watch.current = outer


def note_create_sent() -> None:
    """Record that a request which may create the post is leaving now."""
    watch: SendWatch | None = getattr(_watch, "current", None)
    if watch is not None:
        watch.create_unsettled = True
        watch.creates += 1


def _note_part_recorded() -> None:
    watch: SendWatch | None = getattr(_watch, "current", None)
    if watch is not None:
        watch.create_unsettled = False


# --- what an adapter is given ----------------------------------------------------------


@dataclass(frozen=True)
class AccountConfig:
    """One configured account (from the TOML account table). Secrets are not in here."""

    name: str
    network: str
    base_url: str | None = None
    enabled: bool = True
    timezone: str = "Asia/Jakarta"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartResult:
    """A thread part already published in an earlier attempt (so it is not sent again)."""

    index: int
    remote_id: str
    url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Delivery:
    """One attempt at publishing one post.

    ``publish_key`` is fixed when the post is queued and is the same on every attempt:
    adapters derive idempotency keys, record keys (Bluesky rkey), slugs and Message-IDs
    from it. ``progress`` lists thread parts published by earlier attempts; call
    :meth:`part_published` as soon as a part exists and :meth:`checkpoint` to persist
    adapter state (e.g. an Instagram container id) before a risky step — both are
    committed to the database before they return.
    """

    post_id: int
    attempt: int
    variant: Variant
    publish_key: str
    due_at: datetime
    progress: list[PartResult] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    on_part: Callable[[PartResult], None] | None = None
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None

    def part_published(self, index: int, remote_id: str, url: str | None = None,
                       **extra: Any) -> PartResult:
        part = PartResult(index=index, remote_id=remote_id, url=url, extra=extra)
        self.progress.append(part)
        _note_part_recorded()
        if self.on_part:
            self.on_part(part)
        return part

    def checkpoint(self, **state: Any) -> None:
        self.state.update(state)
        if self.on_checkpoint:
            self.on_checkpoint(dict(self.state))

    def done_part(self, index: int) -> PartResult | None:
        """The result of part ``index`` if an earlier attempt already published it."""
        return next((p for p in self.progress if p.index == index), None)


@dataclass(frozen=True)
class CheckResult:
    """Answer of :meth:`Channel.check`: are the credentials good, and until when."""

    ok: bool
    detail: str
    identity: str | None = None
    expires_at: datetime | None = None


# --- the interface ---------------------------------------------------------------------


class Channel(ABC):
    """Base class of every network adapter, and the one place a network is described.

    Subclasses set :attr:`network`, list the secrets they need in :attr:`secret_fields`
    (read from ``SIAR_SECRET_<ACCOUNT>_<FIELD>``), and implement :meth:`publish`.

    What the composer needs to write a post for the network is declared here too, as
    class attributes (data the composer applies) and the class-level hook
    :meth:`compose_extra`: :attr:`post_rules` (limit and counting), :attr:`dialect`,
    :attr:`hashtag_rules`, :attr:`mention_rules`, :attr:`image_rules`, :attr:`template`
    and :attr:`docs`. The defaults suit a network without limits that takes plain text,
    so a third-party adapter works before it declares anything.
    """

    #: network name used in config and in the preview JSON (``x``, ``mastodon`` …)
    network: ClassVar[str]
    #: the network's name for people (``siar preview``), and its colour there
    display_name: ClassVar[str | None] = None
    accent_colour: ClassVar[str] = "#555555"

    #: secrets this adapter cannot work without
    secret_fields: ClassVar[tuple[str, ...]] = ()
    #: secrets it uses when present
    optional_secret_fields: ClassVar[tuple[str, ...]] = ()
    #: where the real API lives; accounts may override it with ``base_url``
    default_base_url: ClassVar[str | None] = None
    #: True when :meth:`probe` can settle an in-doubt post
    can_probe: ClassVar[bool] = False
    #: True when the network fetches images itself from a public URL (Instagram,
    #: Threads): the file is served as it is, so it cannot be resized for it
    fetches_media_by_url: ClassVar[bool] = False
    #: True when the post's readers fetch its media from URLs at a time of their own (a
    #: webhook's receiver, an e-mail's video link): the adapter is handed the media store
    #: too (``image_host``), and the URLs are never let go by Siar
    links_media: ClassVar[bool] = False
    #: True when an account must say where the API is (no single well-known host:
    #: Mastodon instances, WordPress sites, self-hosted services)
    needs_base_url: ClassVar[bool] = False
    #: True when the network rotates tokens that must outlive the process: the adapter's
    #: ``token_store`` is set to the account's :class:`channels.tokens.TokenStore`
    keeps_tokens: ClassVar[bool] = False

    # --- what the composer applies ---------------------------------------------------

    #: text limit, the network's way of counting, threads, links and images per post
    post_rules: ClassVar[PostRules] = PostRules()
    #: the format posts are written in (``scheduler/text/markup.py``): ``plain``,
    #: ``telegram`` (Telegram's HTML), ``mrkdwn`` (Slack), ``discord``, ``little``
    #: (LinkedIn's little text format)
    dialect: ClassVar[str] = "plain"
    #: the template also gets the release body as HTML (``body_html``)
    html_body: ClassVar[bool] = False
    #: valid tags, how many, and whether they are written into the text
    hashtag_rules: ClassVar[HashtagRules] = HashtagRules()
    #: how an organisation of the ``[mentions]`` table is named in a post
    mention_rules: ClassVar[MentionRules] = MentionRules()
    #: what images :func:`channels.images.prepare_image` makes for this network
    image_rules: ClassVar[ImageRules] = DEFAULT_IMAGE_RULES
    #: what videos ``channels/video/`` makes for this network; None: it takes no video
    video_rules: ClassVar[VideoRules | None] = None
    #: the built-in template's file name; None: ``<network>.j2``, and ``webhook.j2``
    #: when there is no such file (accounts may name their own with ``template``)
    template: ClassVar[str | None] = None
    #: where people read about the network's set-up and limits (a path in the
    #: repository for built-ins, a URL for third-party adapters)
    docs: ClassVar[str | None] = None

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        self.account = account
        self.secrets = dict(secrets)

    @property
    def base_url(self) -> str:
        """Where the API is: the account's ``base_url``, else :attr:`default_base_url`."""
        url = self.account.base_url or self.default_base_url
        if not url:
            raise ValueError(_("account {account!r} needs base_url").format(
                                 account=self.account.name))
        return url.rstrip("/")

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds; accounts may set ``connect_timeout``/``read_timeout``."""
        options = self.account.options
        return (float(options.get("connect_timeout", 5.0)),
                float(options.get("read_timeout", 30.0)))

    @abstractmethod
    def publish(self, delivery: Delivery) -> Outcome:
        """Publish every part of ``delivery.variant`` not yet in ``delivery.progress``.

        Must not retry on its own and must not raise for network errors: map every
        answer onto one outcome. Thread parts go out in order, each reply to the last.
        """

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The network-specific fields of a composed post (its ``Variant.extra``).

        Called by the composer once the text is fitted (``draft.parts``), without
        secrets or network access; may add warnings with ``draft.warn``. What is returned
        is stored with the post and given back to :meth:`publish` as
        ``delivery.variant.extra``, and shown by ``siar preview --json``. JSON values
        only. The default adds nothing.
        """
        return {}

    def preflight(self, variant: Variant) -> str | None:
        """Why ``variant`` can never be published here, or ``None`` if it can.

        Called when a release is queued (without secrets or network access), so staff
        hear about e.g. an Instagram post without an image before it is due.
        """
        return None

    def daily_capacity(self) -> DailyCapacity | None:
        """How many posts this account can publish per day of the network's calendar
        (a daily API quota), or ``None`` when the network sets no such number.

        Read at queue and preview time, without secrets or network access, from the
        account's options: the scheduler counts the posts queued for each such day and
        warns staff before the quota turns them away.
        """
        return None

    def probe(self, delivery: Delivery) -> Outcome | None:
        """Settle a post whose last attempt ended in doubt.

        Return ``Published`` if the post exists on the network, ``NotSent`` if it
        provably does not, or ``None`` when the network offers no way to tell (staff
        then decide with ``siar resolve``).
        """
        return None

    def first_send_state(self, delivery: Delivery, now: datetime) -> dict[str, Any]:
        """What :meth:`publish` would :meth:`~Delivery.checkpoint` before its first request
        of this attempt, when that is known before the attempt begins (e.g. when a part
        was first sent, for a probe to reason about): the daemon then stores it in the
        transaction that begins the attempt — committed before any request leaves — and
        hands it to :meth:`publish` in ``delivery.state``, instead of a commit of its own
        per post. ``now`` stands for the moment of that first request (it comes just
        before it). Whatever is returned must be what publish would store, so that
        publish, finding it there, stores nothing more. The default: nothing known ahead.
        """
        return {}

    def check(self) -> CheckResult:
        """Verify the credentials against the network without posting anything."""
        return CheckResult(ok=True, detail=_("this network offers no credential check"))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        """The requests :meth:`publish` would send, for dry-run and preview output.

        Secrets must not appear. The default describes each part generically;
        adapters override it to show their real endpoints and payloads.
        """
        return [
            {"method": "POST", "url": f"{self.account.base_url or self.network}",
             "part": i, "text": text}
            for i, text in enumerate(delivery.variant.parts)
        ]

    def close(self) -> None:  # noqa: B027  (optional hook, empty by default)
        """Release sessions and sockets; called when the daemon stops."""

    @staticmethod
    def derive_key(publish_key: str, *parts: object, length: int = 32) -> str:
        """A stable sub-key of the post's publish key (e.g. per thread part)."""
        text = ":".join([publish_key, *map(str, parts)])
        return hashlib.sha256(text.encode()).hexdigest()[:length]
