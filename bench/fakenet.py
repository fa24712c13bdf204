"""Fake networks for the real-path benchmark, each in a process of its own.

    python -m bench.fakenet --network mastodon --accounts akun-000,akun-004 --latency 0.05

One process serves one network for many accounts. Each account gets its own instance of the
test suite's fake for that network (``tests/fakes/``: the same validation, idempotency keys,
lookups and error shapes the adapters are tested against), behind one threaded listener
that routes by the first path segment: an account's ``base_url`` is
``http://127.0.0.1:<port>/<account>``. Every request waits ``latency`` seconds before it is
answered, lookups included, as a distant API would.

The process prints one JSON line when it listens (``{"url": ..., "pid": ...}``) and counts
what it receives: ``GET /_bench/stats`` answers, per account, how many times each release
marker (``bench-<n>`` in the text) was *created* on the network (read from the fake's own
state, so an idempotent replay is not a second post) and when its first successful create
request arrived and was answered; ``GET /_bench/count`` only how many posts were answered
as created (cheap enough to poll). Secrets are derived from the account name
(:func:`secrets_for`), so the harness can write them to ``.env`` without talking to it.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
import zlib
from collections import Counter
from typing import Any

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import FakeRequest, FakeServer, Response
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhook import FakeWebhookReceiver

NETWORKS = ("mastodon", "bluesky", "telegram", "webhook")
MARKER = re.compile(r"bench-(\d+)")
#: the request that creates a post, per network (path after the account prefix)
CREATES = {"mastodon": re.compile(r"^/api/v1/statuses$"),
           "bluesky": re.compile(r"^/xrpc/com\.atproto\.repo\.createRecord$"),
           "telegram": re.compile(r"^/bot[^/]+/send(Message|Photo|MediaGroup)$"),
           "webhook": re.compile(r"^/hook$")}


def secrets_for(network: str, account: str) -> dict[str, str]:
    """The secrets (field → value) of ``account`` on ``network`` that its fake accepts."""
    slug = account.replace("-", "")
    return {"mastodon": {"access_token": f"mastodon-token-{slug}-0123456789"},
            "bluesky": {"app_password": f"{slug[:4]}-{slug[4:8]:x<4}-blue-pass"},
            "telegram": {"bot_token": f"{zlib.crc32(slug.encode())}:tg-{slug}-token"},
            "webhook": {"secret": f"webhook-secret-{slug}"}}[network]


def options_for(network: str, account: str) -> dict[str, str]:
    """The account ``options`` its fake expects (chat, identifier)."""
    return {"bluesky": {"identifier": f"{account}.bsky.social"},
            "telegram": {"chat_id": f"@{account.replace('-', '_')}"}}.get(network, {})


def base_path(network: str) -> str:
    """What follows ``http://host:port/<account>`` in the account's ``base_url``."""
    return "/hook" if network == "webhook" else ""


class _Behind:
    """A fake that is not listening itself: its links name the hub's address."""

    public_url = ""

    @property
    def url(self) -> str:
        return self.public_url


class _Mastodon(_Behind, FakeMastodon):
    pass


class _Bluesky(_Behind, FakeBluesky):
    pass


class _Telegram(_Behind, FakeTelegram):
    pass


class _Webhook(_Behind, FakeWebhookReceiver):
    pass


def _account_fake(network: str, account: str) -> FakeServer:
    secret = secrets_for(network, account)
    options = options_for(network, account)
    if network == "mastodon":
        return _Mastodon(token=secret["access_token"], username=account.replace("-", "_"))
    if network == "bluesky":
        return _Bluesky(handle=options["identifier"], app_password=secret["app_password"])
    if network == "telegram":
        return _Telegram(token=secret["bot_token"], channel=options["chat_id"])
    return _Webhook(secret=secret["secret"])


def _created_texts(network: str, fake: Any) -> list[str]:
    """The text of every post this account's fake holds (one entry per post created)."""
    with fake.lock:
        if network == "mastodon":
            return [s.text for s in fake.statuses]
        if network == "bluesky":
            return [str(r.value.get("text", "")) for r in fake.records.values()]
        if network == "telegram":
            return [m.text or m.caption or "" for m in fake.messages]
        return [json.dumps([b.get("title"), b.get("parts")]) for b in fake.created.values()]


class Hub(FakeServer):
    """One listener for many accounts of one network; see the module docstring."""

    def __init__(self, network: str, accounts: list[str], latency: float) -> None:
        super().__init__()
        self.network = network
        self.latency = latency
        self.fakes = {name: _account_fake(network, name) for name in accounts}
        self._seen_lock = threading.Lock()
        #: (account, marker) → first arrival of a create request, any answer
        self.received: dict[str, float] = {}
        #: (account, marker) → (arrival, answer time) of the first create answered 2xx
        self.answered: dict[str, tuple[float, float]] = {}
        self.create_requests = 0

    def start(self) -> Hub:
        super().start()
        # a daemon killed with SIGKILL leaves connections reset: expected, not news
        self._httpd.handle_error = lambda *_: None  # type: ignore[union-attr,method-assign]
        for name, fake in self.fakes.items():
            fake.public_url = f"{self.url}/{name}"  # type: ignore[attr-defined]
        return self

    def _dispatch(self, h: Any) -> None:
        super()._dispatch(h)
        with self.lock:  # hundreds of thousands of requests: keep no log
            self.requests.clear()

    def _answer(self, request: FakeRequest) -> Response:
        arrived = time.time()
        account, _, rest = request.path.lstrip("/").partition("/")
        if account == "_bench":
            return 200, {}, self.stats() if rest == "stats" else {"answered": self.done()}
        fake = self.fakes.get(account)
        if fake is None:
            return 404, {}, {"error": f"no account {account!r} on this fake {self.network}"}
        if self.latency:
            time.sleep(self.latency)
        request.path = "/" + rest
        answer = fake._answer(request)
        if request.method == "POST" and CREATES[self.network].match(request.path):
            self._note_create(account, request.body, arrived, answer[0])
        return answer

    def _note_create(self, account: str, body: bytes, arrived: float, status: int) -> None:
        found = MARKER.search(body.decode(errors="replace"))
        key = f"{account}/{found.group(1) if found else '?'}"
        with self._seen_lock:
            self.create_requests += 1
            self.received.setdefault(key, arrived)
            if 200 <= status < 300 and key not in self.answered:
                self.answered[key] = (arrived, time.time())

    def done(self) -> int:
        """How many posts were answered as created so far (cheap, for polling)."""
        with self._seen_lock:
            return len(self.answered)

    def stats(self) -> dict[str, Any]:
        """What the network holds and when it got it (see the module docstring)."""
        created: Counter[str] = Counter()
        for name, fake in self.fakes.items():
            for text in _created_texts(self.network, fake):
                markers = set(MARKER.findall(text)) or {"?"}
                created.update(f"{name}/{marker}" for marker in markers)
        with self._seen_lock:
            return {"network": self.network, "created": dict(created),
                    "received": dict(self.received),
                    "answered": {k: list(v) for k, v in self.answered.items()},
                    "create_requests": self.create_requests}


def serve(network: str, accounts: list[str], latency: float) -> None:
    """Run until SIGTERM; the first line on stdout says where."""
    hub = Hub(network, accounts, latency).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"url": hub.url, "network": network}), flush=True)
    while not stop.wait(0.5):
        pass
    hub.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=NETWORKS, required=True)
    parser.add_argument("--accounts", required=True, help="comma-separated account names")
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds before each answer (default 0.05)")
    args = parser.parse_args(argv)
    serve(args.network, [a for a in args.accounts.split(",") if a], args.latency)


if __name__ == "__main__":
    sys.exit(main())
