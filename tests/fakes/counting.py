"""A fake network that counts every post it receives, and the small adapter that talks to it.

The daemon tests and benchmarks need a network where "published twice" is visible: this
one, like X or Telegram, has no idempotency — every accepted ``POST /accounts/{account}/posts``
creates a post, so a resend is a duplicate and :meth:`CountingNetwork.duplicates` shows
it. ``GET /accounts/{account}/posts/{key}`` answers whether a post with that client key
exists, which is what :meth:`CountingChannel.probe` uses to settle posts in doubt.

It behaves like a strict API: bearer token required (401 with an error body), JSON
validated (400/422), per-account rate limits answered with 429 + ``Retry-After``, and
a configurable latency to stand in for the real network.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import requests

from channels.base import (
    AccountConfig,
    Channel,
    Delivery,
    NotSent,
    Outcome,
    Published,
    Rejected,
)
from channels.http import classify_status, limits, make_session, request
from tests.fakes.server import FakeRequest, FakeServer, Response

TOKEN = "counting-token-s3cret"


class CountingNetwork(FakeServer):
    """Every accepted post is stored with its arrival time; nothing is ever deduplicated."""

    def __init__(self, *, latency: float = 0.0, latency_after: float = 0.0,
                 token: str = TOKEN, keep_request_log: bool = True) -> None:
        super().__init__()
        #: seconds before a post is created, and after (before the answer leaves)
        self.latency = latency
        self.latency_after = latency_after
        self.token = token
        #: lookups (probes) are answered only while this is set; a test clears it to hold them
        self.lookups_answer = threading.Event()
        self.lookups_answer.set()
        self.lookups_received = 0
        #: account → the Retry-After (seconds) its last throttled create was answered with
        self.retry_after_sent: dict[str, int] = {}
        self.keep_request_log = keep_request_log
        #: client key → how many times it was created (> 1 is a duplicate post)
        self.created: Counter[str] = Counter()
        #: client key → (arrival time.time(), account, post id, due epoch from the body)
        self.arrivals: dict[str, tuple[float, str, int, float]] = {}
        #: account → epoch seconds until which it answers 429
        self.rate_limited: dict[str, float] = {}
        #: accounts whose token the network no longer accepts
        self.revoked: set[str] = set()
        #: texts the network refuses (422), like a spam filter
        self.forbidden_words: set[str] = set()
        #: texts answered with 429 (as if the limit ran out just before them)
        self.throttled_words: set[str] = set()
        self._created_lock = threading.Lock()
        self.route("POST", "/accounts/{account}/posts", self._create)
        self.route("GET", "/accounts/{account}/posts/{key}", self._lookup)

    def start(self) -> CountingNetwork:
        super().start()
        # Crash tests kill clients mid-request; a reset connection is expected, not news.
        self._httpd.handle_error = lambda *_: None  # type: ignore[union-attr,method-assign]
        return self

    # --- what tests look at -----------------------------------------------------------

    def duplicates(self) -> dict[str, int]:
        with self._created_lock:
            return {key: n for key, n in self.created.items() if n > 1}

    def total(self) -> int:
        with self._created_lock:
            return sum(self.created.values())

    def _dispatch(self, h: Any) -> None:
        super()._dispatch(h)
        if not self.keep_request_log:  # benchmarks send hundreds of thousands
            with self.lock:
                self.requests.clear()

    # --- the API ----------------------------------------------------------------------

    def _authorised(self, request: FakeRequest, account: str) -> Response | None:
        if request.header("Authorization") != f"Bearer {self.token}" or account in self.revoked:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {
                "error": "invalid_token", "error_description": "The access token is invalid"}
        return None

    def _create(self, request: FakeRequest) -> Response:
        account = request.params["account"]
        if self.latency:
            time.sleep(self.latency)
        if (denied := self._authorised(request, account)) is not None:
            return denied
        reset = self.rate_limited.get(account)
        if reset is not None and time.time() < reset:
            wait = max(1, round(reset - time.time()))
            self.retry_after_sent[account] = wait
            return 429, {"Retry-After": f"{wait}"}, {
                "error": "rate_limited", "error_description": "Too many posts, slow down"}
        try:
            body = request.json()
        except ValueError:
            return 400, {}, {"error": "invalid_json"}
        if not isinstance(body, dict):
            return 400, {}, {"error": "invalid_json"}
        key, text = body.get("key"), body.get("text")
        if not isinstance(key, str) or not key or not isinstance(text, str):
            return 422, {}, {"error": "validation", "error_description": "key and text are "
                                                                        "required strings"}
        if not text.strip():
            return 422, {}, {"error": "validation", "error_description": "text is empty"}
        if any(word in text for word in self.throttled_words):
            return 429, {"Retry-After": "1"}, {"error": "rate_limited",
                                               "error_description": "Too many posts"}
        if any(word in text for word in self.forbidden_words):
            return 422, {}, {"error": "validation",
                             "error_description": "Text contains a forbidden word"}
        arrived = time.time()
        with self._created_lock:
            self.created[key] += 1
            self.arrivals.setdefault(key, (arrived, account, int(body.get("post_id", 0)),
                                           float(body.get("due", 0.0))))
        if self.latency_after:
            time.sleep(self.latency_after)
        return 201, {}, {"id": key, "url": f"{self.url}/accounts/{account}/posts/{key}"}

    def _lookup(self, request: FakeRequest) -> Response:
        account, key = request.params["account"], request.params["key"]
        if (denied := self._authorised(request, account)) is not None:
            return denied
        with self._created_lock:
            self.lookups_received += 1
        self.lookups_answer.wait(60)  # a test may hold every lookup's answer
        with self._created_lock:
            found = key in self.created
        if not found:
            return 404, {}, {"error": "not_found"}
        return 200, {}, {"id": key, "url": f"{self.url}/accounts/{account}/posts/{key}"}


class CountingChannel(Channel):
    """Adapter for :class:`CountingNetwork`: one POST per thread part, in order."""

    network = "counting"
    secret_fields = ("token",)
    can_probe = True

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)
        self._session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(**limits(self.account.options, self.account.name))
        return self._session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['token']}"}

    def part_key(self, delivery: Delivery, index: int) -> str:
        return self.derive_key(delivery.publish_key, "part", index)

    def publish(self, delivery: Delivery) -> Outcome:
        for index, text in enumerate(delivery.variant.parts):
            if delivery.done_part(index):
                continue
            answer = request(self.session, "POST",
                             f"{self.base_url}/accounts/{self.account.name}/posts",
                             secrets=self.secrets.values(), timeout=self.timeouts,
                             headers=self._headers(), create=True,
                             json={"key": self.part_key(delivery, index), "text": text,
                                   "post_id": delivery.post_id,
                                   "due": delivery.due_at.timestamp()})
            if not isinstance(answer, requests.Response):
                return answer
            if (failure := classify_status(answer, secrets=self.secrets.values())):
                if isinstance(failure, Rejected):
                    detail = answer.json().get("error_description", answer.text[:200])
                    return Rejected(f"{self.account.name}: {detail}",
                                    http_status=failure.http_status)
                return failure
            data = answer.json()
            delivery.part_published(index, data["id"], data["url"])
        first = delivery.progress[0] if delivery.progress else None
        if first is None:
            return NotSent("nothing to publish")
        return Published(first.remote_id, first.url)

    def probe(self, delivery: Delivery) -> Outcome | None:
        for index in range(len(delivery.variant.parts)):
            if delivery.done_part(index):
                continue
            key = self.part_key(delivery, index)
            answer = request(self.session, "GET",
                             f"{self.base_url}/accounts/{self.account.name}/posts/{key}",
                             secrets=self.secrets.values(), timeout=self.timeouts,
                             headers=self._headers())
            if not isinstance(answer, requests.Response):
                return None
            if answer.status_code == 404:
                return NotSent(f"part {index + 1} is not on the network")
            if answer.status_code != 200:
                return None
            data = answer.json()
            delivery.part_published(index, data["id"], data["url"])
        first = delivery.progress[0]
        return Published(first.remote_id, first.url)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
