"""Fake Slack incoming webhook.

Behaviour after Slack's documentation "Sending messages using incoming webhooks"
(docs.slack.dev/messaging/sending-messages-using-incoming-webhooks), the Block Kit
reference (section ``text`` ≤ 3000 characters, image ``image_url`` and ``alt_text``
≤ 2000, at most 50 blocks) and the changelog "Improving error conditions for Incoming
Webhooks" (2016-05-17): success is ``200 ok`` in plain text, errors are plain strings
— 400 ``invalid_payload``/``no_text``/``invalid_blocks``, 404 ``no_service`` for an
unknown or revoked webhook, 410 ``channel_is_archived`` — and 429 comes with
``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import FakeRequest, FakeServer, Fault, Response

TEAM, BOT = "T0HUMAS01", "B0SIAR001"


class FakeSlack(FakeServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.archived = False
        self.messages: list[dict[str, Any]] = []
        self.route("POST", "/services/{team}/{bot}/{token}", self._post)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.messages.clear()
            self.archived = False

    @property
    def webhook_url(self) -> str:
        return f"https://hooks.slack.com/services/{TEAM}/{BOT}/{self.token}"

    def rate_limit_next(self, seconds: int) -> None:
        self.fail_next(Fault(status=429, headers={"Retry-After": str(seconds)},
                             body="rate_limited"))

    def _post(self, request: FakeRequest) -> Response:
        if (request.params["team"], request.params["bot"], request.params["token"]) != (
                TEAM, BOT, self.token):
            return 404, {}, "no_service"
        if not (request.header("Content-Type") or "").startswith("application/json"):
            return 400, {}, "invalid_payload"
        try:
            payload = json.loads(request.body)
        except ValueError:
            return 400, {}, "invalid_payload"
        if not isinstance(payload, dict):
            return 400, {}, "invalid_payload"
        blocks = payload.get("blocks")
        if not payload.get("text") and not blocks:
            return 400, {}, "no_text"
        if blocks is not None and not _valid_blocks(blocks):
            return 400, {}, "invalid_blocks"
        if self.archived:
            return 410, {}, "channel_is_archived"
        self.messages.append(payload)
        return 200, {"Content-Type": "text/html"}, "ok"


def _valid_blocks(blocks: Any) -> bool:
    if not isinstance(blocks, list) or len(blocks) > 50:
        return False
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "section":
            text = block.get("text") or {}
            if text.get("type") not in ("mrkdwn", "plain_text"):
                return False
            if not 1 <= len(text.get("text") or "") <= 3000:
                return False
        elif kind == "image":
            alt = block.get("alt_text")
            if not block.get("image_url") or not isinstance(alt, str) or not 1 <= len(alt) <= 2000:
                return False
        elif kind not in ("divider", "context", "header"):
            return False
    return True
