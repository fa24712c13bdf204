"""A webhook receiver that checks what docs/channels/webhook.md promises receivers.

It accepts ``POST /hook`` only with a JSON body carrying every documented field, an
``Idempotency-Key``, an ``X-Siar-Timestamp`` equal to the body's ``sent_at``, and —
when constructed with a secret — a valid ``X-Siar-Signature`` over the raw body
(401 otherwise, as a careful receiver would answer). A repeated ``Idempotency-Key``
returns the first answer again without creating anything, like well-behaved receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.fakes.server import FakeRequest, FakeServer, Response

REQUIRED_FIELDS = {"event": str, "post_id": int, "attempt": int, "publish_key": str,
                   "account": str, "due_at": str, "sent_at": int, "title": str,
                   "parts": list, "media": list, "extra": dict}


class FakeWebhookReceiver(FakeServer):
    PATH = "/hook"

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret
        self.created: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, Response] = {}
        self.route("POST", self.PATH, self._receive)

    def reset(self) -> None:
        """Forget everything, so one server can serve a whole test module."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.created.clear()
            self.answers.clear()

    @property
    def hook_url(self) -> str:
        return self.url + self.PATH

    def _receive(self, request: FakeRequest) -> Response:
        if not (request.header("Content-Type") or "").startswith("application/json"):
            return 415, {}, {"error": "expected application/json"}
        if self.secret is not None:
            expected = "sha256=" + hmac.new(self.secret.encode(), request.body,
                                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.header("X-Siar-Signature") or "", expected):
                return 401, {}, {"error": "invalid signature"}
        key = request.header("Idempotency-Key")
        if not key:
            return 400, {}, {"error": "Idempotency-Key header is required"}
        if key in self.answers:
            return self.answers[key]
        try:
            body = json.loads(request.body)
        except ValueError:
            return 400, {}, {"error": "body is not JSON"}
        for name, kind in REQUIRED_FIELDS.items():
            if not isinstance(body.get(name), kind):
                return 422, {}, {"error": f"field {name!r} missing or not {kind.__name__}"}
        if request.header("X-Siar-Timestamp") != str(body["sent_at"]):
            return 400, {}, {"error": "X-Siar-Timestamp does not match sent_at"}
        remote_id = f"msg-{len(self.created) + 1}"
        self.created[remote_id] = body
        answer: Response = (201, {}, {"id": remote_id, "url": f"{self.url}/posts/{remote_id}"})
        self.answers[key] = answer
        return answer
