"""Telegram adapter: a bot posts to a channel through the Bot API.

Endpoints (https://core.telegram.org/bots/api): ``sendMessage``, ``sendPhoto`` and
``sendMediaGroup`` on ``{base}/bot<token>/<method>`` (``sendVideo``:
:mod:`channels.telegram_video`); ``getMe`` for the credential check.
Every answer is the envelope ``{"ok": bool, "result" | "error_code", "description",
"parameters": {"retry_after", "migrate_to_chat_id"}}``.

A caption holds at most 1024 characters (counted here in UTF-16 units, the unit Telegram
uses for entity offsets). When the text fits, the photo(s) carry it as their caption;
otherwise the photos go first without a caption and the text follows as a message, the
way Telegram's own guidance suggests for long releases. Thread parts beyond the first
follow as messages replying to the previous part (``reply_parameters``).

The Bot API cannot read a channel's history, so an in-doubt post cannot be settled:
:meth:`probe` returns ``None`` and staff decide.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
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
    Variant,
)
from channels.composing import Draft, Release
from channels.http import HttpChannel, answered
from channels.i18n import N_, _
from channels.rules import MB, Counting, ImageRules, PostRules, Unit, VideoRules

if TYPE_CHECKING:
    from channels.images import PreparedImage

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    pass

CAPTION_LIMIT = 1024
ALBUM_MAX = 10
_TAG = re.compile(r"<[^>]*>")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, Telegram's unit for captions and entities."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(text: str, parse_mode: str | None) -> str:
    """What Telegram counts after entity parsing: HTML tags gone, entities decoded."""
    if parse_mode and parse_mode.upper() == "HTML":
        return html.unescape(_TAG.sub("", text))
    return text


def _describe(outcome: Outcome) -> str:
    return outcome.detail if isinstance(outcome, InDoubt) else getattr(outcome, "reason", "")


class TelegramChannel(HttpChannel):
    """Posts to ``options.chat_id`` (``@channelname`` or ``-100…``) as a bot."""

    network = "telegram"
    display_name = "Telegram"
    accent_colour = "#2aabee"
    # UTF-16 units of the message after Telegram has parsed its HTML entities
    post_rules = PostRules(limit=4096, counting=Counting(Unit.UTF16_UNITS, after_html=True),
                           unit_name=N_("UTF-16 units"), caption_limit=CAPTION_LIMIT)
    dialect = "telegram"
    # Telegram sendPhoto: ≤ 10 MB, width + height ≤ 10,000, ratio at most 20.
    image_rules = ImageRules(max_bytes=10 * MB, max_dimension_sum=10_000,
                             aspect=(1 / 20, 20.0))
    #: sendVideo: a bot uploads at most 50 MB; no length limit (the byte limit decides)
    video_rules = VideoRules(max_bytes=50 * MB, max_seconds=float("inf"))
    docs = "docs/channels/telegram.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The parse mode of the text (Telegram's HTML)."""
        return {"parse_mode": "HTML"}
    secret_fields: ClassVar[tuple[str, ...]] = ("bot_token",)
    default_base_url = "https://api.telegram.org"
    can_probe = False

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)


    # --- configuration ------------------------------------------------------------------
    @property
    def chat_id(self) -> str:
        chat = self.account.options.get("chat_id")
        if not chat:
            raise ValueError(_("account {account!r} needs options.chat_id").format(
                                 account=self.account.name))
        return str(chat)



    def _method_url(self, method: str, token: str) -> str:
        return f"{self.base_url}/bot{token}/{method}"

    # --- publishing ---------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        from channels.images import ImageError, prepare_image
        from channels.telegram_video import send_video
        from channels.uploads import video_of
        from channels.video.checks import refused_video
        variant = delivery.variant
        parse_mode = variant.extra.get("parse_mode")
        video = video_of(variant)
        if video and (too_big := self.preflight(variant)):
            return Rejected(too_big)
        if video and not delivery.done_part(0) and "telegram_photo_message_ids" not in \
                delivery.state and (refused := refused_video(variant)):
            return refused  # changed or removed since it was queued: nothing sent
        try:
            images = [] if video else [prepare_image(m.path, self.network, alt=m.alt)
                                       for m in variant.media]
        except ImageError as exc:
            return Rejected(_("image cannot be sent to Telegram: {reason}").format(reason=exc))

        first_text = variant.parts[0] if variant.parts else ""
        caption_fits = bool(images or video) and utf16_length(
            visible_text(first_text, parse_mode)) <= CAPTION_LIMIT
        # Photos (or the video) sent without the text are recorded in the state, so that a
        # retry after the text failed does not post them a second time.
        if ((images or video) and not caption_fits
                and "telegram_photo_message_ids" not in delivery.state):
            sent = (send_video(self, video, caption=None, parse_mode=None) if video
                    else self._send_photos(images, caption=None, parse_mode=None))
            if not isinstance(sent, list):
                return sent
            delivery.checkpoint(telegram_photo_message_ids=[m["message_id"] for m in sent])

        previous: str | None = None
        for index, text in enumerate(variant.parts):
            if done := delivery.done_part(index):
                previous = done.remote_id
                continue
            if index == 0 and video and caption_fits:
                sent = send_video(self, video, caption=text, parse_mode=parse_mode)
            elif index == 0 and images and caption_fits:
                sent = self._send_photos(images, caption=text, parse_mode=parse_mode)
            else:
                sent = self._call("sendMessage",
                                  json=self._message_payload(text, parse_mode, previous))
            if not isinstance(sent, list):
                return sent
            message = sent[0]
            previous = str(message["message_id"])
            delivery.part_published(index, previous, self._message_url(message))
        first = delivery.done_part(0)
        assert first is not None  # every part was published above
        return Published(first.remote_id, first.url)

    def _message_payload(self, text: str, parse_mode: str | None,
                         reply_to: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"chat_id": self.chat_id, "text": text}
        if parse_mode:
            payload["parse_mode"] = parse_mode
        if reply_to:
            payload["reply_parameters"] = {"message_id": int(reply_to)}
        return payload

    def _send_photos(self, images: list[PreparedImage], caption: str | None,
                     parse_mode: str | None) -> list[dict[str, Any]] | Outcome:
        """One photo → sendPhoto; 2–10 → sendMediaGroup (caption on the first item)."""
        if len(images) == 1:
            data = {"chat_id": self.chat_id}
            if caption:
                data["caption"] = caption
                if parse_mode:
                    data["parse_mode"] = parse_mode
            image = images[0]
            return self._call("sendPhoto", data=data,
                              files={"photo": (image.filename, image.data, image.mime)})
        messages: list[dict[str, Any]] = []
        for start in range(0, len(images), ALBUM_MAX):
            album = images[start:start + ALBUM_MAX]
            media: list[dict[str, Any]] = []
            for offset in range(len(album)):
                item: dict[str, Any] = {"type": "photo", "media": f"attach://photo{offset}"}
                if caption and start == 0 and offset == 0:
                    item["caption"] = caption
                    if parse_mode:
                        item["parse_mode"] = parse_mode
                media.append(item)
            files = {f"photo{i}": (img.filename, img.data, img.mime)
                     for i, img in enumerate(album)}
            sent = self._call("sendMediaGroup",
                              data={"chat_id": self.chat_id, "media": json.dumps(media)},
                              files=files)
            if not isinstance(sent, list):
                return sent
            messages.extend(sent)
        return messages

    def _message_url(self, message: Mapping[str, Any]) -> str | None:
        chat = message.get("chat", {})
        message_id = message["message_id"]
        if chat.get("username"):
            return f"https://t.me/{chat['username']}/{message_id}"
        chat_id = str(chat.get("id", self.chat_id))
        if chat_id.startswith("-100"):
            return f"https://t.me/c/{chat_id[4:]}/{message_id}"
        if self.chat_id.startswith("@"):
            return f"https://t.me/{self.chat_id[1:]}/{message_id}"
        return None

    # --- the Bot API envelope -----------------------------------------------------------
    def _call(self, method: str, **kwargs: Any) -> list[dict[str, Any]] | Outcome:
        """Call a Bot API method; its result as a list of messages, or an outcome."""
        token = self.secrets.get("bot_token", "")
        if not token:
            return AuthFailed(_("no bot token configured (SIAR_SECRET_<ACCOUNT>_BOT_TOKEN)"))
        secrets = self.secrets.values()
        response = http.request(self.session, "POST", self._method_url(method, token),
                                secrets=secrets, timeout=self.timeouts,
                                create=method.startswith("send"), **kwargs)
        if not answered(response):
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return http.classify_status(response, secrets=secrets) or InDoubt(
                _("{method}: HTTP {status_code} with a body that is not the Bot API "
                  "envelope").format(
                    method=method, status_code=response.status_code),
                http_status=response.status_code)
        if body.get("ok"):
            result = body.get("result")
            return result if isinstance(result, list) else [result]
        return self._error_outcome(method, response.status_code, body, response.headers)

    def _error_outcome(self, method: str, status: int, body: Mapping[str, Any],
                       headers: Mapping[str, str] | None = None) -> Outcome:
        code = int(body.get("error_code") or status)
        description = http.redact(str(body.get("description", "")), self.secrets.values())
        reason = f"{method}: {code} {description}".strip()
        parameters = body.get("parameters") or {}
        if code == 429:
            wait = http.rate_limit_wait(headers, stated=parameters.get("retry_after"))
            return NotSent(reason, retry_after=wait, rate_limited=True, http_status=status)
        if code == 401 or code == 403:
            # 403 means the bot was removed from the channel or lost the right to post:
            # staff must fix the account, the content is not at fault.
            return AuthFailed(reason, http_status=status)
        if "migrate_to_chat_id" in parameters:
            return Rejected(_("{reason}; the chat moved to {migrate_to_chat_id}: update "
                              "options.chat_id").format(
                                reason=reason,
                                migrate_to_chat_id=parameters["migrate_to_chat_id"]),
                            http_status=status)
        if code >= 500:
            return InDoubt(reason, http_status=status)
        return Rejected(reason, http_status=status)

    # --- probe, check, dry run ----------------------------------------------------------
    def preflight(self, variant: Variant) -> str | None:
        """A video over what a bot may upload (50 MB; a local Bot API server takes more:
        ``options.max_upload_mb``) can never be sent: refused when queued."""
        from channels.telegram_video import upload_refusal
        from channels.uploads import video_of
        video = video_of(variant)
        return upload_refusal(self, video) if video else None

    def probe(self, delivery: Delivery) -> Outcome | None:
        return None

    def check(self) -> CheckResult:
        result = self._call("getMe")
        if not isinstance(result, list):
            return CheckResult(ok=False, detail=_("getMe failed: {reason}").format(
                                                    reason=_describe(result)))
        bot = result[0]
        return CheckResult(ok=True, detail=_("bot @{username} (id {id})").format(
                                               username=bot.get('username'), id=bot.get('id')),
                           identity=f"@{bot.get('username')}")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.telegram_video import video_fields
        from channels.uploads import video_of
        variant = delivery.variant
        parse_mode = variant.extra.get("parse_mode")
        first_text = variant.parts[0] if variant.parts else ""
        caption_fits = utf16_length(visible_text(first_text, parse_mode)) <= CAPTION_LIMIT
        photos = [{"path": m.path, "alt": m.alt} for m in variant.media]
        photo_method = "sendPhoto" if len(photos) == 1 else "sendMediaGroup"
        if video := video_of(variant):
            photos = [dict(video_fields(video), video=video.path, thumbnail=video.cover)]
            photo_method = "sendVideo"
        requests_: list[dict[str, Any]] = []
        if photos and not caption_fits:
            requests_.append({"method": "POST", "url": self._method_url(photo_method, "***"),
                              "data": {"chat_id": self.chat_id}, "photos": photos})
        for index, text in enumerate(variant.parts):
            if index == 0 and photos and caption_fits:
                data: dict[str, Any] = {"chat_id": self.chat_id, "caption": text}
                if parse_mode:
                    data["parse_mode"] = parse_mode
                requests_.append({"method": "POST",
                                  "url": self._method_url(photo_method, "***"),
                                  "data": data, "photos": photos})
            else:
                payload = self._message_payload(text, parse_mode)
                if index:
                    payload["reply_parameters"] = {"message_id": f"<id of part {index}>"}
                requests_.append({"method": "POST", "url": self._method_url("sendMessage", "***"),
                                  "json": payload})
        return requests_
