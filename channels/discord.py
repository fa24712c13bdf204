"""Discord through a channel webhook: ``POST /webhooks/{id}/{token}?wait=true``.

The webhook URL is the credential (its last segment is the token), so it is the secret
``webhook_url`` (``SIAR_SECRET_<ACCOUNT>_WEBHOOK_URL``); the account's ``base_url`` only
replaces its host part, e.g. to point at a test server. ``wait=true`` makes Discord
answer with the created message, which gives the message id for the history.

Each part is one message of at most 2000 characters, sent in order; images go with the
first message as multipart ``files[n]`` with an ``attachments`` entry whose
``description`` is the alt text. Mentions are never parsed (``allowed_mentions`` empty):
a release quoting ``@everyone`` must not ping a whole server.

Errors (Discord API v10, Discord's published OpenAPI document): 429 carries
``retry_after`` (float seconds) and ``global`` in the body plus ``X-RateLimit-*``
headers; 401 and "Unknown Webhook" (404, code 10015) mean the webhook was revoked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from channels.http import HttpChannel, answered, classify_status, rate_limit_wait, redact, request
from channels.i18n import _
from channels.rules import MIB, WEB_FORMATS, ImageRules, PostRules, VideoRules

if TYPE_CHECKING:
    from channels.images import PreparedImage

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

    from channels.variant import Media

CONTENT_LIMIT = 2000
ATTACHMENT_LIMIT = 10
#: JSON error codes meaning the webhook itself is gone or its token is wrong
REVOKED_CODES = {10015: "Unknown Webhook", 50027: "Invalid Webhook Token"}


class DiscordChannel(HttpChannel):
    network = "discord"
    display_name = "Discord"
    accent_colour = "#5865f2"
    post_rules = PostRules(limit=CONTENT_LIMIT, max_images=ATTACHMENT_LIMIT)
    dialect = "discord"
    # Discord webhooks: 10 MiB per request without boosts; description (alt) ≤ 1024.
    image_rules = ImageRules(max_bytes=10 * MIB, formats=WEB_FORMATS, animated=True,
                             max_alt=1024)
    #: a webhook attachment on a server without boosts: 10 MiB; the byte limit decides the
    #: length (a clip that cannot fit at a watchable rate is refused)
    video_rules = VideoRules(max_bytes=10 * MIB, max_seconds=float("inf"))
    docs = "docs/channels/discord.md"
    secret_fields = ("webhook_url",)
    default_base_url = "https://discord.com/api"

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)

        self._guild_id: str | None = account.options.get("guild_id")


    @property
    def _secret_values(self) -> list[str]:
        """Secret values plus the token alone: transport errors quote just the path."""
        url = self.secrets.get("webhook_url", "")
        return [*self.secrets.values(), url.rstrip("/").rsplit("/", 1)[-1]]

    @property
    def webhook_endpoint(self) -> str:
        """``{base_url}/webhooks/{id}/{token}``: the secret URL's path on our base URL."""
        path = urlsplit(self.secrets["webhook_url"]).path
        start = path.find("/webhooks/")
        if start < 0:
            raise ValueError(_("webhook_url must look like "
                               "https://discord.com/api/webhooks/ID/TOKEN"))
        return self.base_url + path[start:].rstrip("/")

    # --- publishing ------------------------------------------------------------------

    def publish(self, delivery: Delivery) -> Outcome:
        from channels.images import ImageError, prepare_image
        from channels.video.checks import refused_video
        variant = delivery.variant
        if not delivery.done_part(0) and (refused := refused_video(variant)):
            return refused  # changed or removed since it was queued: nothing sent
        media = [] if delivery.done_part(0) else variant.media[:ATTACHMENT_LIMIT]
        try:
            images = [_video_file(m) if m.kind == "video"
                      else prepare_image(m.path, self.network, alt=m.alt) for m in media]
        except ImageError as exc:
            return Rejected(_("image refused: {reason}").format(reason=exc))
        for index, text in enumerate(variant.parts):
            if delivery.done_part(index):
                continue
            outcome = self._send(text, images if index == 0 else [])
            if not isinstance(outcome, Published):
                return outcome
            delivery.part_published(index, outcome.remote_id, outcome.url)
        first = delivery.done_part(0)
        if first is None:
            return Rejected(_("nothing to send: the variant has no parts"))
        return Published(first.remote_id, first.url)

    def _send(self, text: str, images: list[PreparedImage]) -> Outcome:
        if len(text) > CONTENT_LIMIT:
            return Rejected(_("message has {count} characters, Discord allows "
                              "{limit}").format(
                                count=len(text), limit=CONTENT_LIMIT))
        payload = self._payload(text, images)
        url = self.webhook_endpoint
        common: dict[str, Any] = {"params": {"wait": "true"}, "timeout": self.timeouts,
                                  "secrets": self._secret_values, "create": True}
        if images:
            files = {f"files[{n}]": (image.filename, image.data, image.mime)
                     for n, image in enumerate(images)}
            answer = request(self.session, "POST", url, data={"payload_json": json.dumps(payload)},
                             files=files, **common)
        else:
            answer = request(self.session, "POST", url, json=payload, **common)
        if not answered(answer):
            return answer
        failure = self._failure(answer)
        if failure is not None:
            return failure
        try:
            message = answer.json()
            remote_id = str(message["id"])
        except (ValueError, TypeError, KeyError):
            # Something was accepted, but without the message we cannot tell what.
            return InDoubt(_("HTTP {status_code} without the created message: {text}").format(
                               status_code=answer.status_code,
                               text=redact(answer.text[:200], self._secret_values)),
                           http_status=answer.status_code)
        return Published(remote_id, self._message_url(message), http_status=answer.status_code)

    @staticmethod
    def _payload(text: str, images: list[PreparedImage]) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": text, "allowed_mentions": {"parse": []}}
        if images:
            payload["attachments"] = [
                {"id": n, "filename": image.filename, "description": image.alt[:1024]}
                for n, image in enumerate(images)]
        return payload

    def _failure(self, answer: requests.Response) -> Outcome | None:
        if answer.status_code < 400:
            return None
        secrets = self._secret_values
        try:
            body = answer.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        text = redact(answer.text[:500], secrets)
        if answer.status_code == 429:
            scope = "global" if body.get("global") else answer.headers.get(
                "X-RateLimit-Scope", "webhook")
            wait = rate_limit_wait(answer.headers, stated=body.get("retry_after"))
            return NotSent(_("rate limited by Discord ({scope}): {text}").format(
                               scope=scope, text=text), retry_after=wait,
                           rate_limited=True, http_status=429)
        code = body.get("code")
        if answer.status_code in (401, 404) and (answer.status_code == 401
                                                 or code in REVOKED_CODES):
            why = REVOKED_CODES.get(code, "Unauthorized")
            return AuthFailed(_("webhook refused ({why}): create a new webhook and update the "
                                "secret webhook_url: {text}").format(
                                  why=why, text=text), http_status=answer.status_code)
        return classify_status(answer, secrets=secrets)

    def _message_url(self, message: Mapping[str, Any]) -> str | None:
        guild = message.get("guild_id") or self._guild_id or self._webhook_guild()
        if not guild:
            return None
        return f"https://discord.com/channels/{guild}/{message['channel_id']}/{message['id']}"

    def _webhook_guild(self) -> str | None:
        # The execute answer may lack guild_id; the webhook object has it. Asked once.
        answer = request(self.session, "GET", self.webhook_endpoint, timeout=self.timeouts,
                         secrets=self._secret_values)
        if answered(answer) and answer.status_code == 200:
            try:
                self._guild_id = answer.json().get("guild_id")
            except (ValueError, AttributeError):
                return None
        return self._guild_id

    # --- the rest of the interface ---------------------------------------------------

    def check(self) -> CheckResult:
        if not self.secrets.get("webhook_url"):
            return CheckResult(ok=False, detail=_("secret webhook_url is not set"))
        answer = request(self.session, "GET", self.webhook_endpoint, timeout=self.timeouts,
                         secrets=self._secret_values)
        if not answered(answer):
            return CheckResult(ok=False, detail=_reason(answer))
        if answer.status_code != 200:
            failure = self._failure(answer)
            return CheckResult(ok=False, detail=_reason(failure) if failure else "unexpected")
        webhook = answer.json()
        self._guild_id = webhook.get("guild_id") or self._guild_id
        return CheckResult(ok=True, detail=_("webhook for channel {channel_id}").format(
                                               channel_id=webhook.get('channel_id')),
                           identity=webhook.get("name"))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        endpoint = self.base_url + "/webhooks/<id>/<token>"
        described = []
        for index, text in enumerate(delivery.variant.parts):
            media = delivery.variant.media if index == 0 else []
            payload: dict[str, Any] = {"content": text, "allowed_mentions": {"parse": []}}
            if media:
                payload["attachments"] = [
                    {"id": n, "filename": m.path.rsplit("/", 1)[-1], "description": m.alt}
                    for n, m in enumerate(media[:ATTACHMENT_LIMIT])]
            described.append({
                "method": "POST", "url": endpoint + "?wait=true", "part": index,
                "headers": {"Content-Type": "multipart/form-data" if media
                            else "application/json"},
                "json": payload})
        return described



def _video_file(video: Media) -> PreparedImage:
    """A prepared video as an attachment like a photo's (the video preparation already made
    it fit :attr:`DiscordChannel.video_rules`, at most 10 MiB: read whole, as photos are);
    not through :func:`prepare_image`, which would refuse it as an unreadable image."""
    from channels.images import PreparedImage
    with open(video.path, "rb") as file:
        data = file.read()
    return PreparedImage(data=data, mime=video.mime or "video/mp4", width=video.width or 0,
                         height=video.height or 0, alt=video.alt,
                         filename=PurePath(video.path).name)


def _reason(outcome: Outcome | None) -> str:
    if outcome is None:
        return "no answer"
    return getattr(outcome, "reason", None) or getattr(outcome, "detail", "")
