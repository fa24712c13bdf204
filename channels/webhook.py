"""Generic webhook: one signed JSON POST per post, for anything Siar has no adapter for.

The receiver (an intranet portal, a chat bridge, a no-code automation) gets the whole
composed variant in one request::

    POST <base_url>
    Content-Type: application/json
    Idempotency-Key: <stable per post>          same on every attempt: dedupe on it
    X-Siar-Timestamp: <unix seconds>            also inside the body as "sent_at"
    X-Siar-Signature: sha256=<hex>              HMAC-SHA256(secret, raw body), if a secret is set

The signature covers the raw body, which contains ``sent_at``, so a receiver can refuse
replays by comparing ``sent_at`` with its clock after checking the signature. A 2xx
answer means published; a JSON answer may name ``id`` and ``url`` of what it created.

Media go as URLs: an item's own, else — where ``[media] store`` is set — one the store
makes for this post (:func:`channels.image_host.lasting_urls`: the receiver fetches when
it likes, so Siar never deletes it; the store's expiry does). A video also names its
length, size, title and its cover (a JPEG, hosted the same way).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channels.base import (
    AccountConfig,
    CheckResult,
    Delivery,
    NotSent,
    Outcome,
    Published,
    Rejected,
    Variant,
)
from channels.http import HttpChannel, answered, classify_status, redact, request
from channels.i18n import _
from channels.image_host import HostingError, ImageHost, hosted_urls, lasting_urls
from channels.rules import MB, WEB_FORMATS, ImageRules, VideoRules
from channels.variant import Media

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

SIGNATURE_HEADER = "X-Siar-Signature"
TIMESTAMP_HEADER = "X-Siar-Timestamp"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Siar-Signature`` value of ``body``; receivers compute the same."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel(HttpChannel):
    """POSTs the composed variant as JSON to the account's ``base_url``."""

    network = "webhook"
    display_name = "Webhook"
    image_rules = ImageRules(max_bytes=10 * MB, formats=WEB_FORMATS, animated=True)
    #: the receiver gets the video's description, its URL and its cover's where a store
    #: hosts them
    video_rules = VideoRules(max_bytes=1000 * MB, max_seconds=float("inf"), cover=True,
                             with_images=True)
    docs = "docs/channels/webhook.md"
    optional_secret_fields = ("secret",)
    #: the receiver fetches the media from their URLs (``[media] store`` hosts them)
    links_media = True
    image_host: ImageHost | None = None

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)

    def publish(self, delivery: Delivery) -> Outcome:
        from channels.video.checks import refused_video
        if not delivery.variant.parts:
            return Rejected(_("nothing to send: the variant has no parts"))
        remaining = [i for i in range(len(delivery.variant.parts)) if not delivery.done_part(i)]
        first = delivery.done_part(0)
        if not remaining and first is not None:
            return Published(first.remote_id, first.url)
        if first is None and (refused := refused_video(delivery.variant)):
            return refused  # changed or removed since it was queued: nothing sent
        try:
            media = self._linked(delivery, hosting=True)
        except HostingError as exc:
            return NotSent(_("the media store could not host the post's media: {reason}").format(
                reason=exc))
        sent_at = int(time.time())
        body = self._body(delivery, sent_at=sent_at, media=media)
        answer = request(self.session, "POST", self.base_url, secrets=self.secrets.values(),
                         timeout=self.timeouts, data=body, create=True,
                         headers=self._headers(delivery, body, sent_at=sent_at))
        if not answered(answer):
            return answer
        failure = classify_status(answer, secrets=self.secrets.values())
        if failure is not None:
            return failure
        remote_id, url = self._created(answer, delivery)
        # The receiver got every part in one request: all of them exist now.
        for index in remaining:
            delivery.part_published(index, remote_id, url)
        return Published(remote_id, url, http_status=answer.status_code)

    def check(self) -> CheckResult:
        # A receiver has no "who am I" call and a test POST would be a post; say so.
        if not self.account.base_url:
            return CheckResult(ok=False, detail=_("no base_url: where should posts go?"))
        signed = _("signed with HMAC-SHA256") if self.secrets.get("secret") else _("unsigned")
        return CheckResult(ok=True, detail=_("webhook configured ({signed}); receivers offer no "
                                             "credential check").format(signed=signed))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        sent_at = int(time.time())
        body = self._body(delivery, sent_at=sent_at, media=self._linked(delivery, hosting=False))
        headers = self._headers(delivery, body, sent_at=sent_at, sign_body=False)
        if "secret" in self.secrets or self.account.options.get("signed"):
            headers[SIGNATURE_HEADER] = "sha256=<HMAC-SHA256 of the body>"
        return [{"method": "POST", "url": self.account.base_url or "<webhook url>",
                 "headers": headers, "json": json.loads(body)}]


    # --- request shape ---------------------------------------------------------------

    def _linked(self, delivery: Delivery, *, hosting: bool) -> list[Media]:
        """The post's media, and after them each video's cover (a JPEG), with the URLs the
        receiver fetches them from: hosted now (``hosting``: the store puts what has none
        yet), or as far as they are known (the dry run)."""
        media = delivery.variant.media
        items = [*media, *(Media(m.cover, mime="image/jpeg") for m in media
                           if m.kind == "video" and m.cover)]
        if hosting:
            return lasting_urls(items, self.image_host, delivery, self.account.options)
        known = hosted_urls(items, delivery.state, self.account.options)
        placeholder = "{hosted-url}" if self.image_host is not None else None
        return [m if m.url else replace(m, url=placeholder) for m in known]

    def _body(self, delivery: Delivery, *, sent_at: int, media: list[Media]) -> bytes:
        """The JSON payload; ``media``: :meth:`_linked`'s (the covers after the post's)."""
        variant: Variant = delivery.variant
        covers = {m.path: m.url for m in media[len(variant.media):]}
        payload = {
            "event": "post.publish",
            "post_id": delivery.post_id,
            "attempt": delivery.attempt,
            "publish_key": delivery.publish_key,
            "account": self.account.name,
            "due_at": delivery.due_at.isoformat(),
            "sent_at": sent_at,
            "title": variant.title,
            "parts": variant.parts,
            "link": variant.link,
            "media": [_described(m, covers) for m in media[:len(variant.media)]],
            "extra": variant.extra,
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                          default=str).encode()

    def _headers(self, delivery: Delivery, body: bytes, *, sent_at: int,
                 sign_body: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": self.derive_key(delivery.publish_key, "webhook"),
                   TIMESTAMP_HEADER: str(sent_at)}
        secret = self.secrets.get("secret")
        if sign_body and secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        return headers

    def _created(self, answer: requests.Response, delivery: Delivery) -> tuple[str, str | None]:
        fallback = self.derive_key(delivery.publish_key, "webhook")
        try:
            data = answer.json()
        except ValueError:
            return fallback, None
        if not isinstance(data, dict):
            return fallback, None
        url = data.get("url")
        remote_id = data.get("id")
        return (redact(str(remote_id), self.secrets.values()) if remote_id else fallback,
                str(url) if url else None)


def _described(media: Media, covers: Mapping[str, str | None]) -> dict[str, Any]:
    """One item of the payload's ``media``: its URL, alt text, type and file name; a video
    also its length, sides, size, title and cover (``covers``: each cover's URL)."""
    item: dict[str, Any] = {"url": media.url, "alt": media.alt, "mime": media.mime,
                            "filename": Path(media.path).name}
    if media.kind == "video":
        item.update(kind="video", duration=media.duration, width=media.width,
                    height=media.height, bytes=media.bytes, title=media.title,
                    cover=None if media.cover is None else {
                        "url": covers.get(media.cover), "mime": "image/jpeg",
                        "filename": Path(media.cover).name})
    return item
