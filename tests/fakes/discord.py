"""Fake Discord webhooks, after the official Discord API v10 OpenAPI document.

Discord's published OpenAPI document, operation ``execute_webhook``
(``POST /webhooks/{webhook_id}/{webhook_token}``): body ``IncomingWebhookRequestPartial``
(``content`` ≤ 2000, ``attachments`` ≤ 10 ``MessageAttachmentRequest`` with
``description`` ≤ 1024, ``allowed_mentions``) as JSON or multipart with ``payload_json``
and ``files[n]``; 200 ``MessageResponse`` with ``?wait=true``, else 204; 429
``RatelimitedResponse`` (``message``, ``code``, ``retry_after``, ``global``) with the
``X-RateLimit-*`` headers; 4XX ``ErrorResponse`` (``code``, ``message``, ``errors``).
``get_webhook_by_token`` answers the webhook object.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.fakes.multipart import parse_form_data
from tests.fakes.server import FakeRequest, FakeServer, Fault, Response

WEBHOOK_ID = "1180000000000000001"
CHANNEL_ID = "1170000000000000002"
GUILD_ID = "1160000000000000003"


def invalid_form(field: str, code: str, message: str) -> Response:
    return 400, {}, {"code": 50035, "message": "Invalid Form Body",
                     "errors": {field: {"_errors": [{"code": code, "message": message}]}}}


class FakeDiscord(FakeServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.messages: list[dict[str, Any]] = []
        #: once this many messages exist, the webhook's bucket is empty (429)
        self.bucket_size: int | None = None
        self.route("POST", "/api/webhooks/{webhook_id}/{token}", self._execute)
        self.route("GET", "/api/webhooks/{webhook_id}/{token}", self._get_webhook)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.messages.clear()
            self.bucket_size = None

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    @property
    def webhook_url(self) -> str:
        """What a user copies from Discord's channel settings (host is the real one)."""
        return f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{self.token}"

    def rate_limit_next(self, retry_after: float, *, is_global: bool = False) -> None:
        status, headers, body = self.rate_limited(retry_after, is_global=is_global)
        self.fail_next(Fault(status=status, body=body, headers=headers))

    @staticmethod
    def rate_limited(retry_after: float, *, is_global: bool = False) -> Response:
        return 429, {
            "Retry-After": str(int(retry_after) + 1),
            "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{datetime.now(UTC).timestamp() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fa1c0n", "X-RateLimit-Scope": "shared"}, {
            "message": "You are being rate limited.", "retry_after": retry_after,
            "global": is_global, "code": 0}

    # --- handlers --------------------------------------------------------------------

    def _authorise(self, request: FakeRequest) -> Response | None:
        if request.params["webhook_id"] != WEBHOOK_ID:
            return 404, {}, {"message": "Unknown Webhook", "code": 10015}
        if request.params["token"] != self.token:
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        return None

    def _get_webhook(self, request: FakeRequest) -> Response:
        refused = self._authorise(request)
        if refused:
            return refused
        return 200, {}, {"id": WEBHOOK_ID, "type": 1, "name": "Humas Lapas",
                         "avatar": None, "channel_id": CHANNEL_ID, "guild_id": GUILD_ID,
                         "application_id": None, "token": self.token}

    def _execute(self, request: FakeRequest) -> Response:
        refused = self._authorise(request)
        if refused:
            return refused
        if self.bucket_size is not None and len(self.messages) >= self.bucket_size:
            return self.rate_limited(2.5)
        content_type = request.header("Content-Type") or ""
        files: dict[str, Any] = {}
        if content_type.startswith("application/json"):
            payload = request.json()
        elif content_type.startswith("multipart/form-data"):
            try:
                form = parse_form_data(content_type, request.body)
            except ValueError as exc:
                return 400, {}, {"code": 50109, "message": f"The request body contains "
                                                           f"invalid JSON: {exc}"}
            payload = json.loads(form["payload_json"].text) if "payload_json" in form else {}
            files = {name: part for name, part in form.items() if name.startswith("files[")}
        else:
            return 400, {}, {"code": 50006, "message": "Cannot send an empty message"}
        if not isinstance(payload, dict):
            return 400, {}, {"code": 50109, "message": "The request body contains invalid JSON."}
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            return invalid_form("content", "STRING_TYPE_CONVERT", "Could not interpret as str.")
        if content and len(content) > 2000:
            return invalid_form("content", "BASE_TYPE_MAX_LENGTH",
                                "Must be 2000 or fewer in length.")
        mentions = payload.get("allowed_mentions")
        if mentions is not None and not isinstance(mentions.get("parse", []), list):
            return invalid_form("allowed_mentions", "MODEL_TYPE_CONVERT", "Only dictionaries")
        attachments = payload.get("attachments") or []
        if len(attachments) > 10 or len(files) > 10:
            return invalid_form("attachments", "BASE_TYPE_MAX_LENGTH",
                                "Must be 10 or fewer in length.")
        stored = []
        for attachment in attachments:
            part = files.get(f"files[{attachment.get('id')}]")
            if part is None:
                return invalid_form("attachments", "ATTACHMENT_NOT_FOUND",
                                    f"Attachment {attachment.get('id')} not found in request")
            if len(attachment.get("description") or "") > 1024:
                return invalid_form("attachments", "BASE_TYPE_MAX_LENGTH",
                                    "Must be 1024 or fewer in length.")
            stored.append({"id": str(9000 + len(self.messages)), "size": len(part.data),
                           "filename": attachment.get("filename") or part.filename,
                           "description": attachment.get("description"),
                           "content_type": part.content_type})
        if not content and not stored and not payload.get("embeds"):
            return 400, {}, {"code": 50006, "message": "Cannot send an empty message"}
        message = {
            "type": 0, "id": str(1190000000000000000 + len(self.messages) + 1),
            "channel_id": CHANNEL_ID, "content": content or "", "mentions": [],
            "mention_roles": [], "attachments": stored, "embeds": [],
            "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None,
            "flags": 0, "components": [], "pinned": False, "mention_everyone": False,
            "tts": False, "webhook_id": WEBHOOK_ID,
            "author": {"id": WEBHOOK_ID, "username": "Humas Lapas", "bot": True},
            "allowed_mentions": mentions,
        }
        self.messages.append(message)
        if request.query.get("wait") == ["true"]:
            public = {k: v for k, v in message.items() if k != "allowed_mentions"}
            return 200, {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4",
                         "X-RateLimit-Reset-After": "2.000"}, public
        return 204, {}, None
