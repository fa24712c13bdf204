"""Fake networks for the real-path benchmark, in a process of their own.

    python -m bench.fakenet mastodon=akun-000,akun-004 bluesky=akun-001 --latency 0.05

One process serves one or several networks, each for many accounts. Each account gets its
own instance of the test suite's fake for that network (``tests/fakes/``: the same
validation, idempotency keys, lookups and error shapes the adapters are tested against);
each network has one listener (see :class:`Hub`), all in one asyncio loop, that routes by
the first path segment: an account's ``base_url`` is ``http://127.0.0.1:<port>/<account>``.
Every request waits ``latency`` seconds before it is answered, lookups included, as a
distant API would.

The process prints one JSON line when it listens (``{"urls": {network: url}, "pid": ...}``)
and each network counts what it receives: ``GET /_bench/stats`` answers, per account, how
many times each release marker (``bench-<n>`` in the text) was *created* on the network
(read from the fake's own state, so an idempotent replay is not a second post) and when its
first successful create request arrived and was answered; ``GET /_bench/count`` only how
many posts were answered as created (cheap enough to poll). Secrets are derived from the
account name (:func:`secrets_for`), so the harness can write them to ``.env`` without
talking to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
import zlib
from collections import Counter, deque
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Body, FakeRequest, FakeServer, Response, encoded
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhook import FakeWebhookReceiver

NETWORKS = ("mastodon", "bluesky", "telegram", "webhook")
MARKER = re.compile(r"bench-(\d+)")
MARKER_BYTES = re.compile(rb"bench-(\d+)")
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


class _Request(FakeRequest):
    """A request as the fakes see it, its headers looked up in a dictionary the transport
    lowered once (a fake asks for several headers per request; ``FakeRequest.header``
    lowers every name on each call)."""

    def __init__(self, method: str, path: str, query: dict[str, list[str]],
                 headers: dict[str, str], body: bytes, lowered: dict[str, str]) -> None:
        super().__init__(method=method, path=path, query=query, headers=headers, body=body)
        self.lowered = lowered

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.lowered.get(name.lower(), default)


class Hub:
    """Many accounts of one network behind one listener; see the module docstring.

    :meth:`answer` routes a request to its account's fake; :meth:`listen` listens. The
    listener is one asyncio loop, not a thread per connection: the fakes' own work (the
    same handlers as in the test suite) is what a request should cost here, not the
    standard library's HTTP server (a thread per connection, headers through the
    ``email`` parser, a ``Date`` formatted per answer), which cost more CPU per request
    than the fakes themselves. Several hubs (networks) can share one process and its
    :class:`Delays`, all with the same latency.
    """

    def __init__(self, network: str, accounts: list[str], latency: float,
                 delays: Delays | None = None) -> None:
        self.network = network
        self.latency = latency
        #: the process's queue of requests waiting for their answer (shared by its hubs)
        self.delays = delays or Delays()
        self.fakes = {name: _account_fake(network, name) for name in accounts}
        self.creates = CREATES[network]
        #: (account, marker) → first arrival of a create request, any answer
        self.received: dict[str, float] = {}
        #: (account, marker) → (arrival, answer time) of the first create answered 2xx
        self.answered: dict[str, tuple[float, float]] = {}
        self.create_requests = 0
        #: connections clients opened (a client that reuses its connections opens few)
        self.connections = 0
        self.url = ""

    def delay(self, path: str) -> float:
        """How long the answer to ``path`` is held back: the latency for an account's
        request, nothing for the harness's own or a request to no account."""
        account = path.lstrip("/").partition("/")[0]
        return self.latency if account in self.fakes else 0.0

    def hold(self, connection: _Connection, request: FakeRequest, keep_alive: bool) -> None:
        """Answer ``request`` on ``connection`` once its delay is over."""
        arrived = time.time()
        delay = self.delay(request.path)
        if not delay:
            connection.respond(request, arrived, keep_alive)
            return
        self.delays.hold(delay, connection, request, arrived, keep_alive)

    def answer(self, request: FakeRequest, arrived: float) -> Response:
        """What the network answers (after the latency, which :meth:`hold` waits)."""
        account, _, rest = request.path.lstrip("/").partition("/")
        if account == "_bench":
            return 200, {}, self.stats() if rest == "stats" else {"answered": self.done()}
        fake = self.fakes.get(account)
        if fake is None:
            return 404, {}, {"error": f"no account {account!r} on this fake {self.network}"}
        request.path = "/" + rest
        answer = fake._answer(request)
        if request.method == "POST" and self.creates.match(request.path):
            self._note_create(account, request.body, arrived, answer[0])
        return answer

    def _note_create(self, account: str, body: bytes, arrived: float, status: int) -> None:
        # the loop's one thread is the only writer and reader: no lock
        found = MARKER_BYTES.search(body)
        key = f"{account}/{found.group(1).decode() if found else '?'}"
        self.create_requests += 1
        self.received.setdefault(key, arrived)
        if 200 <= status < 300 and key not in self.answered:
            self.answered[key] = (arrived, time.time())

    def done(self) -> int:
        """How many posts were answered as created so far (cheap, for polling)."""
        return len(self.answered)

    def stats(self) -> dict[str, Any]:
        """What the network holds and when it got it (see the module docstring)."""
        created: Counter[str] = Counter()
        for name, fake in self.fakes.items():
            for text in _created_texts(self.network, fake):
                markers = set(MARKER.findall(text)) or {"?"}
                created.update(f"{name}/{marker}" for marker in markers)
        return {"network": self.network, "created": dict(created),
                "received": dict(self.received),
                "answered": {k: list(v) for k, v in self.answered.items()},
                "create_requests": self.create_requests, "connections": self.connections}

    async def listen(self, host: str = "127.0.0.1") -> asyncio.Server:
        """Start listening on a free port (``url`` says which)."""
        loop = asyncio.get_running_loop()
        # a hundred accounts connect at once: the default backlog of 100 is the edge
        server = await loop.create_server(lambda: _Connection(self), host, 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{port}"
        for name, fake in self.fakes.items():
            fake.public_url = f"{self.url}/{name}"  # type: ignore[attr-defined]
        return server


class Delays:
    """The requests of one process waiting for their answer, with one timer for them all.

    Every request waits the same latency, so they are due in the order they arrived: a
    queue in arrival order with a timer for its head answers them all, those already due
    when it fires in the same turn of the loop (a timer per request cost a loop turn per
    request more)."""

    def __init__(self) -> None:
        #: (due on the loop's clock, connection, request, arrival epoch, keep-alive)
        self._waiting: deque[tuple[float, _Connection, FakeRequest, float, bool]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def hold(self, delay: float, connection: _Connection, request: FakeRequest,
             arrived: float, keep_alive: bool) -> None:
        """Answer ``request`` on ``connection`` ``delay`` seconds from now (every
        request of the process is held the same delay)."""
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        self._waiting.append((due, connection, request, arrived, keep_alive))
        if self._timer is None:
            self._timer = loop.call_at(due, self._release)

    def _release(self) -> None:
        """Answer the head (its timer fired) and every other request already due, then
        set the timer for the next one."""
        loop = asyncio.get_running_loop()
        waiting = self._waiting
        now = loop.time()
        _, connection, request, arrived, keep_alive = waiting.popleft()
        connection.respond(request, arrived, keep_alive)
        while waiting and waiting[0][0] <= now:
            _, connection, request, arrived, keep_alive = waiting.popleft()
            connection.respond(request, arrived, keep_alive)
        self._timer = loop.call_at(waiting[0][0], self._release) if waiting else None


#: the largest request head read (a real front end refuses more, too)
MAX_HEAD = 64 * 1024
REASONS = {status.value: status.phrase for status in HTTPStatus}
#: ``HTTP/1.1 <status> <reason>`` and the server's name, per status
STATUS_LINES = {code: f"HTTP/1.1 {code} {reason}\r\nServer: siar-bench-fakenet\r\n"
                for code, reason in REASONS.items()}


class _Connection(asyncio.Protocol):
    """One client connection: HTTP/1.1 requests one after another (keep-alive), each
    answered ``latency`` seconds after it arrived. A request whose client went away is
    still answered by its fake (the network would apply it), just not written."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        #: a request is waiting for its answer; the next one waits its turn
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.hub.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        # a request mostly arrives in one segment: no copy then
        self.buffer = self.buffer + data if self.buffer else data
        self._next()

    def _next(self) -> None:
        if self.busy or self.transport is None:
            return
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                self._fail(431)
            return
        request_line, _, lines = buffer[:end].decode("latin-1").partition("\r\n")
        headers: dict[str, str] = {}
        lowered: dict[str, str] = {}
        try:
            method, target, version = request_line.split(" ")
            for line in lines.split("\r\n") if lines else ():
                name, colon, value = line.partition(":")
                if not colon:
                    raise ValueError(line)
                name, value = name.strip(), value.strip()
                headers[name] = value
                lowered[name.lower()] = value
            length = int(lowered.get("content-length") or 0)
        except ValueError:
            self._fail(400)
            return
        if "transfer-encoding" in lowered:  # no client of ours sends a chunked body
            self._fail(411)
            return
        if len(buffer) < end + 4 + length:
            return  # the body is still on its way
        body = buffer[end + 4:end + 4 + length]
        self.buffer = buffer[end + 4 + length:]
        path, question, query = target.partition("?")
        request = _Request(method, path, parse_qs(query) if question else {}, headers, body,
                           lowered)
        keep_alive = version == "HTTP/1.1" and lowered.get("connection", "").lower() != "close"
        self.busy = True
        self.hub.hold(self, request, keep_alive)

    def respond(self, request: FakeRequest, arrived: float, keep_alive: bool) -> None:
        """Answer ``request`` (its fake applies it even if the client is gone), then read
        the next request this client sent meanwhile."""
        status, headers, payload = self.hub.answer(request, arrived)
        if self.transport is None:
            return
        self.transport.write(_encode(status, headers, payload, keep_alive))
        if not keep_alive:
            self.transport.close()
            return
        self.busy = False
        if self.buffer:
            self._next()

    def _fail(self, status: int) -> None:
        assert self.transport is not None
        self.transport.write(_encode(status, {}, {"error": REASONS.get(status, "")}, False))
        self.transport.close()
        self.transport = None


def _encode(status: int, headers: dict[str, str], payload: Body, keep_alive: bool) -> bytes:
    """The answer as the test suite's fake server writes it (``FakeServer._write``)."""
    data, headers = encoded(payload, headers)
    head = STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\nServer: siar-bench-fakenet\r\n"
    fields = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    end = "Connection: close\r\n\r\n" if not keep_alive else "\r\n"
    return (f"{head}Date: {_http_date()}\r\n{fields}Content-Length: {len(data)}\r\n{end}"
            .encode("latin-1") + data)


_date: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The ``Date`` header's value, formatted once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]


def serve(plan: dict[str, list[str]], latency: float) -> None:
    """Serve each network of ``plan`` (network → its accounts) on a port of its own, in
    this one process, until SIGTERM; the first line on stdout says where
    (``{"urls": {network: url}, "pid": ...}``)."""
    delays = Delays()
    hubs = [Hub(network, accounts, latency, delays) for network, accounts in plan.items()]

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        servers = [await hub.listen() for hub in hubs]
        print(json.dumps({"urls": {hub.network: hub.url for hub in hubs},
                          "pid": os.getpid()}), flush=True)
        await stop.wait()
        for server in servers:
            server.close()

    asyncio.run(run())


def plan_argument(text: str) -> tuple[str, list[str]]:
    """``mastodon=akun-000,akun-004`` → ("mastodon", ["akun-000", "akun-004"])."""
    network, equals, names = text.partition("=")
    if not equals or network not in NETWORKS:
        raise argparse.ArgumentTypeError(f"expected NETWORK=ACCOUNT,... with NETWORK one of "
                                         f"{', '.join(NETWORKS)}: {text!r}")
    return network, [name for name in names.split(",") if name]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan", nargs="+", type=plan_argument, metavar="NETWORK=ACCOUNTS",
                        help="a network and its comma-separated accounts; several networks "
                             "share this process")
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds before each answer (default 0.05)")
    args = parser.parse_args(argv)
    serve(dict(args.plan), args.latency)


if __name__ == "__main__":
    sys.exit(main())
