"""A fake Telegram Bot API (https://core.telegram.org/bots/api, Bot API 10.1).

Follows the Telegram Bot API reference: ``sendMessage`` (``chat_id``, ``text`` 1–4096
after entity parsing, ``parse_mode``), ``sendPhoto`` (multipart ``photo``, ``caption``
0–1024), ``sendMediaGroup`` (``media`` a JSON array of 2–10 ``InputMediaPhoto`` whose
``attach://<name>`` point at multipart files), ``sendVideo`` (multipart ``video`` ≤ 50 MB,
``width``/``height``/``duration``, ``thumbnail`` as ``attach://``), ``getMe``. Answers use
the documented envelope ``{"ok", "result"}`` / ``{"ok": false, "error_code", "description",
"parameters"}``; lengths are counted in UTF-16 units after HTML entity parsing and HTML
markup is checked against the tags the "HTML style" section allows.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from PIL import Image

from tests.fakes.multipart import parse_form_data
from tests.fakes.server import FakeRequest, FakeServer, Fault, Response

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "blockquote", "tg-spoiler", "span", "tg-emoji"}
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _MarkupChecker(HTMLParser):
    """Telegram's HTML style: only the documented tags and the four named entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.error: str | None = None
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = f"Unsupported start tag \"{tag}\""
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.error = f"Unexpected end tag \"{tag}\""

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            self.error = f"Unsupported entity \"&{name};\""


def parsed_text(text: str, parse_mode: str | None) -> tuple[str | None, str | None]:
    """(visible text, error) as Telegram parses ``text`` under ``parse_mode``."""
    if not parse_mode:
        return text, None
    if parse_mode != "HTML":
        return None, f"Bad Request: unsupported parse_mode {parse_mode!r} in this fake"
    checker = _MarkupChecker()
    checker.feed(text)
    checker.close()
    if checker.error or checker.open:
        error = checker.error or (
            f"Can't find end tag corresponding to start tag \"{checker.open[-1]}\"")
        return None, f"Bad Request: can't parse entities: {error}"
    return html.unescape(re.sub(r"<[^>]*>", "", text)), None


@dataclass
class SentMessage:
    message_id: int
    kind: str
    text: str | None = None
    caption: str | None = None
    photo_bytes: int = 0
    video: bytes = b""
    media_group_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class FakeTelegram(FakeServer):
    """Serves one bot (``token``) that is admin of one channel (``channel``)."""

    def __init__(self, token: str = "123456:ABC-fake-token-DEF",
                 channel: str = "@humaslapas", channel_id: int = -1001234567890) -> None:
        super().__init__()
        self.token = token
        self.channel = channel
        self.channel_id = channel_id
        self.messages: list[SentMessage] = []
        #: what a bot may upload (the Bot API's 50 MB)
        self.upload_limit = 50 * 1024 * 1024
        self._ids = itertools.count(101)
        self._groups = itertools.count(9001)
        self.route("POST", "/bot{token}/{method}", self._dispatch_method)
        self.route("GET", "/bot{token}/{method}", self._dispatch_method)

    def reset(self) -> None:
        """Forget every request, fault and message (one server serves a whole test module)."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.messages.clear()
            self.upload_limit = 50 * 1024 * 1024
            self._ids = itertools.count(101)

    # --- fault helpers ------------------------------------------------------------------
    def flood_wait(self, seconds: int) -> None:
        """The documented flood-control answer (HTTP 429 with parameters.retry_after)."""
        self.fail_next(Fault(status=429, body={
            "ok": False, "error_code": 429,
            "description": f"Too Many Requests: retry after {seconds}",
            "parameters": {"retry_after": seconds}}))

    # --- API ----------------------------------------------------------------------------
    def _dispatch_method(self, request: FakeRequest) -> Response:
        if request.params["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.params["method"]
        handler = {"getMe": self._get_me, "sendMessage": self._send_message,
                   "sendPhoto": self._send_photo,
                   "sendMediaGroup": self._send_media_group,
                   "sendVideo": self._send_video}.get(method)
        if handler is None:
            return self._error(404, "Not Found")
        fields = self._fields(request)
        if fields is None:
            return self._error(400, "Bad Request: can't parse request body")
        return handler(fields)

    @staticmethod
    def _fields(request: FakeRequest) -> dict[str, Any] | None:
        """Bot API parameters: JSON, urlencoded form or multipart (files as bytes)."""
        content_type = (request.header("Content-Type") or "").split(";")[0]
        if not request.body:
            return {}
        if content_type == "application/json":
            try:
                body = request.json()
            except ValueError:
                return None
            return body if isinstance(body, dict) else None
        if content_type == "application/x-www-form-urlencoded":
            return {k: v[-1] for k, v in request.form().items()}
        try:
            multipart = parse_form_data(request.header("Content-Type") or "", request.body)
        except ValueError:
            return None
        return {name: (part.data if part.filename else part.text)
                for name, part in multipart.items()}

    def _get_me(self, fields: dict[str, Any]) -> Response:
        return self._ok({"id": int(self.token.split(":")[0]), "is_bot": True,
                         "first_name": "Humas Bot", "username": "humas_siar_bot",
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False})

    def _check_chat(self, fields: dict[str, Any]) -> Response | None:
        chat_id = fields.get("chat_id")
        if chat_id in (None, ""):
            return self._error(400, "Bad Request: chat_id is empty")
        if str(chat_id) not in (self.channel, str(self.channel_id)):
            return self._error(400, "Bad Request: chat not found")
        return None

    def _send_message(self, fields: dict[str, Any]) -> Response:
        if (error := self._check_chat(fields)) is not None:
            return error
        text = fields.get("text")
        if not isinstance(text, str) or not text:
            return self._error(400, "Bad Request: message text is empty")
        visible, parse_error = parsed_text(text, fields.get("parse_mode"))
        if parse_error or visible is None:
            return self._error(400, parse_error or "Bad Request")
        if utf16_length(visible) > 4096:
            return self._error(400, "Bad Request: message is too long")
        reply = fields.get("reply_parameters")
        if reply is not None:
            if isinstance(reply, str):
                reply = json.loads(reply)
            target = reply.get("message_id") if isinstance(reply, dict) else None
            if not isinstance(target, int) or not any(m.message_id == target
                                                      for m in self.messages):
                return self._error(400, "Bad Request: message to be replied not found")
        message = self._record("text", text=text, raw=fields)
        return self._ok(self._message_json(message))

    def _check_caption(self, caption: Any, parse_mode: str | None) -> Response | None:
        if caption is None:
            return None
        visible, parse_error = parsed_text(str(caption), parse_mode)
        if parse_error or visible is None:
            return self._error(400, parse_error or "Bad Request")
        if utf16_length(visible) > 1024:
            return self._error(400, "Bad Request: message caption is too long")
        return None

    def _send_photo(self, fields: dict[str, Any]) -> Response:
        if (error := self._check_chat(fields)) is not None:
            return error
        photo = fields.get("photo")
        if not isinstance(photo, bytes) or not photo.startswith(IMAGE_MAGIC):
            return self._error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if len(photo) > 10_000_000:
            return self._error(400, "Bad Request: file is too big")
        if (error := self._check_caption(fields.get("caption"),
                                         fields.get("parse_mode"))) is not None:
            return error
        message = self._record("photo", caption=fields.get("caption"), photo_bytes=len(photo),
                               raw=fields)
        return self._ok(self._message_json(message))

    def _send_video(self, fields: dict[str, Any]) -> Response:
        """``sendVideo``: an MP4 of at most ``upload_limit`` bytes, integer ``width``,
        ``height``, ``duration``, and a ``thumbnail`` that is ``attach://<part>`` naming a
        JPEG of at most 320 px a side and 200 kB."""
        if (error := self._check_chat(fields)) is not None:
            return error
        video = fields.get("video")
        if not isinstance(video, bytes) or video[4:8] != b"ftyp":
            return self._error(400, "Bad Request: wrong type of the web page content")
        if len(video) > self.upload_limit:
            return self._error(413, "Request Entity Too Large")
        for name in ("width", "height", "duration"):
            if name in fields and not str(fields[name]).isdigit():
                return self._error(400, f"Bad Request: field \"{name}\" must be an integer")
        reference = fields.get("thumbnail")
        if reference is not None:
            data = fields.get(str(reference).removeprefix("attach://"))
            if not str(reference).startswith("attach://") or not isinstance(data, bytes):
                return self._error(400, "Bad Request: wrong thumbnail")
            with Image.open(io.BytesIO(data)) as thumb:
                if thumb.format != "JPEG" or max(thumb.size) > 320 or len(data) > 200 * 1024:
                    return self._error(400, "Bad Request: thumbnail must be a JPEG of at "
                                            "most 320 px and 200 kB")
        if (error := self._check_caption(fields.get("caption"),
                                         fields.get("parse_mode"))) is not None:
            return error
        message = self._record("video", caption=fields.get("caption"), video=video,
                               raw={k: v for k, v in fields.items()
                                    if not isinstance(v, bytes)})
        return self._ok(self._message_json(message))

    def _send_media_group(self, fields: dict[str, Any]) -> Response:
        if (error := self._check_chat(fields)) is not None:
            return error
        try:
            media = json.loads(fields.get("media") or "null")
        except (TypeError, ValueError):
            return self._error(400, "Bad Request: can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return self._error(400, "Bad Request: wrong number of media specified "
                                    "(must include 2-10 items)")
        group = str(next(self._groups))
        checked: list[tuple[dict[str, Any], bytes]] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                return self._error(400, "Bad Request: unsupported media type in this fake")
            reference = str(item.get("media", ""))
            if not reference.startswith("attach://"):
                return self._error(400, "Bad Request: wrong HTTP URL specified")
            data = fields.get(reference.removeprefix("attach://"))
            if not isinstance(data, bytes) or not data.startswith(IMAGE_MAGIC):
                return self._error(400, "Bad Request: wrong file identifier/HTTP URL "
                                        "specified")
            if (error := self._check_caption(item.get("caption"),
                                             item.get("parse_mode"))) is not None:
                return error
            checked.append((item, data))
        sent = [self._record("photo", caption=item.get("caption"), photo_bytes=len(data),
                             media_group_id=group, raw=item)
                for item, data in checked]
        return self._ok([self._message_json(m) for m in sent])

    # --- helpers ------------------------------------------------------------------------
    def _record(self, kind: str, **values: Any) -> SentMessage:
        with self.lock:
            message = SentMessage(message_id=next(self._ids), kind=kind, **values)
            self.messages.append(message)
            return message

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "sender_chat": {"id": self.channel_id, "title": "Humas Lapas", "type": "channel",
                            "username": self.channel.lstrip("@")},
            "chat": {"id": self.channel_id, "title": "Humas Lapas", "type": "channel",
                     "username": self.channel.lstrip("@")},
            "date": int(time.time()),
        }
        if message.text is not None:
            body["text"] = message.text
        if message.kind == "photo":
            body["photo"] = [{"file_id": f"AgAC{message.message_id}",
                              "file_unique_id": f"u{message.message_id}",
                              "width": 1280, "height": 853, "file_size": message.photo_bytes}]
        if message.kind == "video":
            raw = message.raw
            body["video"] = {"file_id": f"BAAC{message.message_id}",
                             "file_unique_id": f"v{message.message_id}",
                             "width": int(raw.get("width", 0)),
                             "height": int(raw.get("height", 0)),
                             "duration": int(raw.get("duration", 0)),
                             "mime_type": "video/mp4", "file_size": len(message.video)}
        if message.caption is not None:
            body["caption"] = message.caption
        if message.media_group_id:
            body["media_group_id"] = message.media_group_id
        return body

    @staticmethod
    def _ok(result: Any) -> Response:
        return 200, {}, {"ok": True, "result": result}

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return code, {}, body
