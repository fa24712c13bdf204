"""Mastodon adapter: statuses through the client REST API of the account's instance.

Endpoints (https://docs.joinmastodon.org/methods/): ``POST /api/v2/media`` (multipart
``file`` + ``description`` as alt text; 202 means still processing, then poll
``GET /api/v1/media/:id`` until it answers 200; a video always, its id checkpointed
first), ``POST /api/v1/statuses`` (``status``,
``media_ids[]``, ``in_reply_to_id``, ``visibility``, ``language``) with an
``Idempotency-Key`` header, ``GET /api/v1/accounts/verify_credentials``,
``GET /api/v1/accounts/:id/statuses`` and ``GET /api/v2/instance`` for the limits.

Each thread part gets its own ``Idempotency-Key`` derived from the post's publish key, so a
resend within the hour the instance remembers keys returns the original status instead of
a duplicate; that is also how :meth:`probe` settles an in-doubt post. After the hour the
probe compares the account's latest statuses with the text.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from channels import http
from channels.base import (
    AccountConfig,
    AuthFailed,
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
)
from channels.composing import Draft, Release
from channels.http import HttpChannel, answered
from channels.i18n import _
from channels.rules import (
    MIB,
    WEB_FORMATS,
    Counting,
    HashtagRules,
    ImageRules,
    PostRules,
    Unit,
    VideoRules,
)

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

#: the instance remembers an Idempotency-Key for one hour; stay clear of the edge
IDEMPOTENCY_WINDOW = timedelta(minutes=55)
#: how many of the account's latest statuses the probe compares
PROBE_PAGE = 40


@dataclass(frozen=True)
class InstanceLimits:
    """What ``GET /api/v2/instance`` says this instance accepts (for composer and CLI)."""

    max_characters: int
    characters_reserved_per_url: int
    max_media_attachments: int
    image_size_limit: int | None
    image_matrix_limit: int | None
    description_limit: int | None
    supported_mime_types: tuple[str, ...]


def status_plain_text(content_html: str) -> str:
    """The text of a status from its rendered HTML ``content``.

    Mastodon shortens displayed links with ``<span class="invisible">`` pieces; dropping
    the tags while keeping their text gives the full URL back.
    """
    text = re.sub(r"(?i)<br\s*/?>", "\n", content_html)
    text = re.sub(r"(?i)</p>\s*<p[^>]*>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _describe(outcome: Outcome) -> str:
    return outcome.detail if isinstance(outcome, InDoubt) else getattr(outcome, "reason", "")


class MastodonChannel(HttpChannel):
    """Posts to the instance at the account's ``base_url`` (e.g. https://mastodon.social)."""

    network = "mastodon"
    display_name = "Mastodon"
    accent_colour = "#6364ff"
    # graphemes; every URL is 23 and "@user@host" is "@user" (StatusLengthValidator)
    post_rules = PostRules(limit=500, counting=Counting(Unit.GRAPHEMES, url_length=23,
                                                        local_mentions=True),
                           threads=True, max_images=4, alt_limit=1500)
    # Mastodon also accepts "·", "・" and ZWNJ inside a tag
    hashtag_rules = HashtagRules(valid=r"[\p{L}\p{M}\p{N}_·・\u200c]+")
    # Mastodon 4.x: 16 MiB, at most 33,177,600 pixels (7680×4320); alt ≤ 1500.
    image_rules = ImageRules(max_bytes=16 * MIB, formats=WEB_FORMATS, max_pixels=33_177_600,
                             animated=True, max_alt=1500)
    #: the default instance limits (``configuration.media_attachments``): 99 MiB, 120 fps,
    #: 8,294,400 pixels; no length limit (the byte limit decides)
    video_rules = VideoRules(max_bytes=99 * MIB, max_seconds=float("inf"))
    docs = "docs/channels/mastodon.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The post's language (ISO 639-1), which Mastodon uses for filters and search."""
        return {"language": release.language}
    secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    default_base_url = None  # every account names its own instance
    needs_base_url = True
    can_probe = True

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)


    # --- plumbing -----------------------------------------------------------------------


    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets.get('access_token', '')}"}

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response | Outcome:
        headers = {**self._auth_headers(), **kwargs.pop("headers", {})}
        return http.request(self.session, method, f"{self.base_url}{path}",
                            secrets=self.secrets.values(), timeout=self.timeouts,
                            headers=headers, **kwargs)

    def _error(self, response: requests.Response, what: str) -> Outcome:
        """The outcome of a non-2xx answer, in Mastodon's terms."""
        secrets = self.secrets.values()
        try:
            message = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            message = response.text[:300]
        reason = f"{what}: HTTP {response.status_code} {http.redact(message, secrets)}"
        status = response.status_code
        if status == 429:
            return NotSent(reason, retry_after=http.rate_limit_wait(response.headers),
                           rate_limited=True, http_status=status)
        if status in (401, 403):
            # 403 is a suspended or limited account or a token without the write scope
            return AuthFailed(reason, http_status=status)
        if status >= 500 and response.request is not None and response.request.method == "POST":
            return InDoubt(reason, http_status=status)
        generic = http.classify_status(response, secrets=secrets)
        if isinstance(generic, Rejected):
            return Rejected(reason, http_status=status)
        return generic or InDoubt(reason, http_status=status)

    # --- instance -----------------------------------------------------------------------
    def instance_limits(self) -> InstanceLimits | Outcome:
        """The instance's posting limits (``configuration`` of ``GET /api/v2/instance``)."""
        response = self._request("GET", "/api/v2/instance")
        if not answered(response):
            return response
        if response.status_code != 200:
            return self._error(response, "instance")
        config = response.json().get("configuration", {})
        statuses = config.get("statuses", {})
        media = config.get("media_attachments", {})
        return InstanceLimits(
            max_characters=int(statuses.get("max_characters", 500)),
            characters_reserved_per_url=int(statuses.get("characters_reserved_per_url", 23)),
            max_media_attachments=int(statuses.get("max_media_attachments", 4)),
            image_size_limit=media.get("image_size_limit"),
            image_matrix_limit=media.get("image_matrix_limit"),
            description_limit=media.get("description_limit"),
            supported_mime_types=tuple(media.get("supported_mime_types", ())),
        )

    # --- publishing ---------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        media_ids = delivery.state.get("mastodon_media_ids")
        if media_ids is None and delivery.variant.media and not delivery.done_part(0):
            uploaded = self._upload_media(delivery)
            if not isinstance(uploaded, list):
                return uploaded
            media_ids = uploaded
            # Uploaded attachments stay attachable for a while: a retry reuses them
            # instead of uploading (and counting against the upload limit) again.
            delivery.checkpoint(mastodon_media_ids=media_ids)

        previous = None
        for index, text in enumerate(delivery.variant.parts):
            done = delivery.done_part(index)
            if done:
                previous = done.remote_id
                continue
            self._note_first_send(delivery, index)
            response = self._request(
                "POST", "/api/v1/statuses", create=True,
                json=self._status_payload(delivery, index, text, previous, media_ids),
                headers={"Idempotency-Key": self.idempotency_key(delivery, index)})
            if not answered(response):
                return response
            if response.status_code != 200:
                return self._error(response, _("status part {number}").format(number=index + 1))
            try:
                status = response.json()
                status_id = str(status["id"])
            except (ValueError, TypeError, KeyError):  # garbled: the status may exist
                return InDoubt(_("status part {number}: HTTP {status_code} with an unreadable "
                                 "answer: {text}").format(
                                   number=index + 1, status_code=response.status_code,
                                   text=http.redact(response.text[:200], self.secrets.values())),
                               http_status=response.status_code)
            delivery.part_published(index, status_id, status.get("url") or status.get("uri"))
            previous = status_id
        first = delivery.done_part(0)
        assert first is not None  # every part was published above
        return Published(first.remote_id, first.url)

    def idempotency_key(self, delivery: Delivery, index: int) -> str:
        return self.derive_key(delivery.publish_key, self.network, index)

    def _status_payload(self, delivery: Delivery, index: int, text: str,
                        in_reply_to: str | None, media_ids: list[str] | None) -> dict[str, Any]:
        variant = delivery.variant
        options = self.account.options
        payload: dict[str, Any] = {"status": text,
                                   "visibility": options.get("visibility", "public")}
        language = variant.extra.get("language") or options.get("language")
        if language:
            payload["language"] = language
        if index == 0 and variant.extra.get("spoiler_text"):
            payload["spoiler_text"] = variant.extra["spoiler_text"]
        if index == 0 and media_ids:
            payload["media_ids"] = list(media_ids)
        if in_reply_to:
            payload["in_reply_to_id"] = in_reply_to
        return payload

    @staticmethod
    def _note_first_send(delivery: Delivery, index: int) -> None:
        """Remember when a part was first sent: its key is only honoured for an hour."""
        if first_sent := _first_sent_with(delivery, index, datetime.now(UTC)):
            delivery.checkpoint(mastodon_first_sent=first_sent)

    def first_send_state(self, delivery: Delivery, now: datetime) -> dict[str, Any]:
        """The first pending part's first-send time, when nothing comes before its request
        (no media to upload first): stored with the begin, it spares a commit per post.
        ``now`` is earlier than the request, so the probe's idempotency window closes no
        later than Mastodon's."""
        media_first = (delivery.variant.media and "mastodon_media_ids" not in delivery.state
                       and not delivery.done_part(0))
        pending = next((i for i in range(len(delivery.variant.parts))
                        if not delivery.done_part(i)), None)
        if media_first or pending is None:
            return {}
        first_sent = _first_sent_with(delivery, pending, now)
        return {"mastodon_first_sent": first_sent} if first_sent else {}

    def _upload_media(self, delivery: Delivery) -> list[str] | Outcome:
        from channels.images import ImageError, prepare_image
        from channels.mastodon_video import upload_video
        from channels.uploads import video_of
        if video := video_of(delivery.variant):
            return upload_video(self, delivery, video)
        media_ids: list[str] = []
        for media in delivery.variant.media:
            try:
                image = prepare_image(media.path, self.network, alt=media.alt)
            except ImageError as exc:
                return Rejected(_("image cannot be sent to Mastodon: {reason}").format(reason=exc))
            response = self._request(
                "POST", "/api/v2/media",
                files={"file": (image.filename, image.data, image.mime)},
                data={"description": image.alt} if image.alt else None)
            outcome = self._media_outcome(response, _("media upload"))
            if outcome is not None:
                return outcome
            assert answered(response)
            attachment = response.json()
            if response.status_code == 202 or not attachment.get("url"):
                waited = self._wait_for_processing(str(attachment["id"]))
                if waited is not None:
                    return waited
            media_ids.append(str(attachment["id"]))
        return media_ids

    def _media_outcome(self, response: requests.Response | Outcome,
                       what: str) -> Outcome | None:
        """None when the media step succeeded; no post exists yet, so doubt is NotSent."""
        if answered(response):
            if response.status_code in (200, 202, 206):
                return None
            outcome = self._error(response, what)
        else:
            outcome = response
        if isinstance(outcome, InDoubt):
            return NotSent(_("{detail} (no status was posted)").format(detail=outcome.detail),
                           http_status=outcome.http_status)
        return outcome

    def _wait_for_processing(self, media_id: str) -> Outcome | None:
        options = self.account.options
        interval = float(options.get("media_poll_interval", 1.0))
        deadline = time.monotonic() + float(options.get("media_poll_timeout", 60.0))
        while True:
            response = self._request("GET", f"/api/v1/media/{media_id}")
            outcome = self._media_outcome(response, _("media processing"))
            if outcome is not None:
                return outcome
            assert answered(response)
            if response.status_code == 200 and response.json().get("url"):
                return None
            if time.monotonic() >= deadline:
                return NotSent(_("media {media_id} still processing; no status was posted").format(
                                   media_id=media_id))
            time.sleep(interval)

    # --- probe --------------------------------------------------------------------------
    def probe(self, delivery: Delivery) -> Outcome | None:
        pending = next((i for i in range(len(delivery.variant.parts))
                        if not delivery.done_part(i)), None)
        if pending is None:
            first = delivery.done_part(0)
            return Published(first.remote_id, first.url) if first else None
        first_sent = delivery.state.get("mastodon_first_sent", {}).get(str(pending))
        if first_sent is None:
            return NotSent(_("the pending part was never sent"))
        sent_at = datetime.fromisoformat(first_sent)
        if datetime.now(UTC) - sent_at < IDEMPOTENCY_WINDOW:
            # Within the window a resend with the same key returns the original status if
            # the first request was applied, or posts it now: either way it settles.
            outcome = self.publish(delivery)
            return None if isinstance(outcome, InDoubt) else outcome
        return self._probe_by_timeline(delivery, pending, sent_at)

    def _probe_by_timeline(self, delivery: Delivery, index: int,
                           sent_at: datetime) -> Outcome | None:
        me = self._request("GET", "/api/v1/accounts/verify_credentials")
        if not answered(me) or me.status_code != 200:
            return None
        account_id = me.json()["id"]
        listing = self._request("GET", f"/api/v1/accounts/{account_id}/statuses",
                                params={"limit": PROBE_PAGE, "exclude_reblogs": "true"})
        if not answered(listing) or listing.status_code != 200:
            return None
        statuses = listing.json()
        previous = delivery.done_part(index - 1) if index else None
        text = delivery.variant.parts[index]
        for status in statuses:
            if not same_text(status_plain_text(status.get("content", "")), text):
                continue
            if previous and status.get("in_reply_to_id") != previous.remote_id:
                continue
            delivery.part_published(index, str(status["id"]), status.get("url"))
            if index < len(delivery.variant.parts) - 1:
                return NotSent(_("part {number} was found; the remaining parts are "
                                 "safe to send").format(number=index + 1))
            first = delivery.done_part(0)
            assert first is not None
            return Published(first.remote_id, first.url)
        oldest = min((datetime.fromisoformat(s["created_at"].replace("Z", "+00:00"))
                      for s in statuses), default=None)
        if oldest is not None and oldest < sent_at:
            return NotSent(_("not among the account's statuses since it was sent"))
        return None

    # --- check and dry run --------------------------------------------------------------
    def check(self) -> CheckResult:
        response = self._request("GET", "/api/v1/accounts/verify_credentials")
        if not answered(response):
            return CheckResult(ok=False, detail=_describe(response))
        if response.status_code != 200:
            return CheckResult(ok=False, detail=_describe(self._error(response, "credentials")))
        account = response.json()
        host = self.base_url.split("://", 1)[-1]
        identity = f"@{account.get('username')}@{host}"
        return CheckResult(ok=True, detail=_("token valid for {identity}").format(
                                               identity=identity), identity=identity)

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.uploads import video_of
        planned: list[dict[str, Any]] = [
            {"method": "POST", "url": f"{self.base_url}/api/v2/media",
             "files": {"file": m.path, **({"thumbnail": m.cover} if m.cover else {})},
             "data": {"description": m.alt}}
            for m in delivery.variant.media
        ]
        if video := video_of(delivery.variant):
            planned.append({"method": "GET", "url": f"{self.base_url}/api/v1/media/<id>",
                            "until": "HTTP 200 with url (206 while processing)",
                            "file": video.path})
        placeholder_ids = [f"<media {i + 1}>" for i in range(len(delivery.variant.media))]
        for index, text in enumerate(delivery.variant.parts):
            reply_to = f"<id of part {index}>" if index else None
            planned.append({
                "method": "POST", "url": f"{self.base_url}/api/v1/statuses",
                "headers": {"Idempotency-Key": self.idempotency_key(delivery, index)},
                "json": self._status_payload(delivery, index, text, reply_to,
                                             placeholder_ids),
            })
        return planned


def _first_sent_with(delivery: Delivery, index: int, now: datetime) -> dict[str, str] | None:
    """The parts' first-send times with part ``index`` sent ``now``; None if it was sent
    before (the earliest time counts: Mastodon keeps a key an hour from its first use)."""
    first_sent = dict(delivery.state.get("mastodon_first_sent", {}))
    if str(index) in first_sent:
        return None
    first_sent[str(index)] = now.isoformat()
    return first_sent
