"""CPU per request of a fake network process (:mod:`bench.fakenet`), and of the floor.

    python -m bench.bench_fakenet --together --floor           # as the real path runs them
    python -m bench.bench_fakenet --network mastodon --rate 0  # one network, lockstep

A client in this process opens one keep-alive connection per account and sends, on each,
the create requests the real adapters send in a burst (captured from a real-path run: the
same headers, bodies, idempotency keys and signatures), each answered after the latency.
By default requests trickle in at ``--rate`` per network per second (each account waits a
random time between requests, as a daemon's workers send them), one process per network,
or every network in one process with ``--together``. The figure is the fake process's CPU
(user + system, from ``/proc``) over the requests, per request; the client's own CPU is not
in it. ``--floor`` also measures a bare asyncio server in its own process at the same rate:
it finds the end of each request, waits the same latency with ``call_later`` and writes a
fixed answer — what any asyncio listener costs per keep-alive request on this host, below
which the fakes cannot go. ``--profile FILE`` runs the fake under cProfile on the process's
CPU clock (one process); ``--perf`` has ``perf stat`` count its context switches.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench.fakenet import NETWORKS, options_for, secrets_for

ROOT = Path(__file__).resolve().parents[1]
AGENT = "Siar/0.1 (+https://github.com/siar-humas/siar; publishing scheduler)"
DID = "did:plc:humaslapas7k2mfx4qzt"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def _cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept-Encoding: gzip, deflate",
            f"User-Agent: {AGENT}", "Accept: */*", *(f"{k}: {v}" for k, v in headers.items()),
            f"Content-Length: {len(body)}", "Connection: keep-alive"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _text(marker: int) -> str:
    return f"Rilis bench-{marker:06d}\n\nKegiatan bench-{marker:06d} di Lapas berjalan lancar."


def _tid(number: int) -> str:
    value = (1_700_000_000_000_000 + number) << 10
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


class _Maker:
    """The create requests an adapter of ``network`` sends for ``account``."""

    def __init__(self, network: str, account: str) -> None:
        self.network, self.account = network, account
        self.secret = next(iter(secrets_for(network, account).values()))
        self.options = options_for(network, account)
        self.bearer = ""  # Bluesky: the session's access token

    def login(self) -> bytes | None:
        if self.network != "bluesky":
            return None
        body = json.dumps({"identifier": self.options["identifier"],
                           "password": self.secret}).encode()
        return _request("POST", f"/{self.account}/xrpc/com.atproto.server.createSession",
                        {"Content-Type": "application/json"}, body)

    def create(self, marker: int, number: int) -> bytes:
        key = hashlib.md5(f"{self.account}/{number}".encode()).hexdigest()
        prefix = f"/{self.account}"
        if self.network == "mastodon":
            body = json.dumps({"status": _text(marker), "visibility": "public",
                               "language": "id"}).encode()
            return _request("POST", prefix + "/api/v1/statuses", {
                "Authorization": f"Bearer {self.secret}", "Idempotency-Key": key,
                "Content-Type": "application/json"}, body)
        if self.network == "bluesky":
            body = json.dumps({"repo": DID, "collection": "app.bsky.feed.post",
                               "rkey": _tid(number), "record": {
                                   "$type": "app.bsky.feed.post", "text": _text(marker),
                                   "createdAt": "2026-12-07T16:27:56.608Z",
                                   "langs": ["id"]}}).encode()
            return _request("POST", prefix + "/xrpc/com.atproto.repo.createRecord", {
                "Authorization": f"Bearer {self.bearer}",
                "Content-Type": "application/json"}, body)
        if self.network == "telegram":
            text = _text(marker).replace("Rilis", "<b>Rilis", 1).replace("\n\n", "</b>\n\n", 1)
            body = json.dumps({"chat_id": self.options["chat_id"], "text": text,
                               "parse_mode": "HTML"}).encode()
            return _request("POST", f"{prefix}/bot{self.secret}/sendMessage",
                            {"Content-Type": "application/json"}, body)
        sent = int(time.time())
        body = json.dumps({"event": "post.publish", "post_id": number, "attempt": 1,
                           "publish_key": key, "account": self.account,
                           "due_at": "2026-12-07T16:27:51.681507+00:00", "sent_at": sent,
                           "title": f"Rilis bench-{marker:06d}", "parts": [_text(marker)],
                           "link": None, "media": [], "extra": {}},
                          separators=(",", ":")).encode()
        signature = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        return _request("POST", prefix + "/hook", {
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key,
            "X-Siar-Timestamp": str(sent), "X-Siar-Signature": f"sha256={signature}"}, body)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    return int(head.split(b" ", 2)[1]), body


async def _drive(urls: dict[str, str], makers: list[_Maker], per_account: int,
                 rate: float) -> int:
    """Every account's requests over its own connection to its network's URL; returns how
    many were 2xx. With ``rate`` (requests per second over all accounts), each account
    waits a random (exponential) time before each request, so that requests trickle in one
    by one as a daemon sends them, instead of all accounts' next requests arriving
    together."""
    think = len(makers) / rate if rate else 0.0
    chance = random.Random(7)

    async def one(maker: _Maker) -> int:
        host, port = urls[maker.network].removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            if (login := maker.login()) is not None:
                _, body = await _exchange(reader, writer, login)
                maker.bearer = json.loads(body)["accessJwt"]
            good = 0
            for marker in range(per_account):
                if think:
                    await asyncio.sleep(chance.expovariate(1 / think))
                status, _ = await _exchange(reader, writer, maker.create(marker, marker))
                good += 200 <= status < 300
            return good
        finally:
            writer.close()

    return sum(await asyncio.gather(*(one(m) for m in makers)))


def _start(command: list[str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"{command} did not start")
    started = json.loads(line)
    # the floor (and an older bench.fakenet) answer every network at one "url"
    return process, started.get("urls") or defaultdict(lambda: started["url"])


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


PERF_EVENTS = "task-clock,context-switches,cpu-migrations,page-faults"


def measure(command: list[str], makers: list[_Maker], per_account: int,
            rate: float = 0.0, perf: bool = False) -> dict[str, float]:
    """Start the server ``command``, drive it, and return its CPU per request (ms); with
    ``perf``, ``perf stat`` watches the server meanwhile and its counts are printed."""
    process, urls = _start(command)
    watcher = None
    if perf:
        watcher = subprocess.Popen(["perf", "stat", "-e", PERF_EVENTS, "-p", str(process.pid)],
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # perf attaches
    try:
        before = _cpu(process.pid)
        started = time.perf_counter()
        good = asyncio.run(_drive(urls, makers, per_account, rate))
        elapsed = time.perf_counter() - started
        after = _cpu(process.pid)
    finally:
        if watcher is not None:
            watcher.send_signal(signal.SIGINT)
            print(watcher.communicate(timeout=30)[1], flush=True)
        _stop(process)
    requests = per_account * len(makers)
    user, system = after[0] - before[0], after[1] - before[1]
    return {"cpu_ms_per_request": (user + system) * 1000 / requests,
            "user_ms_per_request": user * 1000 / requests,
            "system_ms_per_request": system * 1000 / requests, "requests": float(requests),
            "ok": float(good), "wall_s": elapsed}


def fakenet_command(plan: dict[str, list[str]], latency: float) -> list[str]:
    """The command line of a :mod:`bench.fakenet` process serving ``plan`` (network → its
    accounts); an older one served a single network (``--network``/``--accounts``)."""
    from bench import fakenet

    if hasattr(fakenet, "plan_argument"):
        return [sys.executable, "-m", "bench.fakenet", "--latency", str(latency),
                *(f"{network}={','.join(names)}" for network, names in plan.items())]
    [(network, names)] = plan.items()
    return [sys.executable, "-m", "bench.fakenet", "--network", network,
            "--accounts", ",".join(names), "--latency", str(latency)]


# --- the floor: a bare asyncio listener ---------------------------------------------------

ANSWER = (b"HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Type: application/json\r\n"
          b"Content-Length: 11\r\n\r\n{\"id\": \"1\"}")


class _Floor(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        start = self.buffer.find(b"Content-Length: ")
        length = int(self.buffer[start + 16:self.buffer.find(b"\r", start)])
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length:]
        asyncio.get_running_loop().call_later(self.latency, self._answer)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ANSWER)


def serve_floor(latency: float) -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = await loop.create_server(lambda: _Floor(latency), "127.0.0.1", 0,
                                          backlog=1024)
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
        async with server:
            await stop.wait()

    asyncio.run(run())


def serve_profiled(path: str, fakenet_args: list[str]) -> None:
    """:func:`bench.fakenet.main` under cProfile timed by this process's CPU clock."""
    import cProfile

    from bench import fakenet

    profile = cProfile.Profile(time.process_time)
    profile.runcall(fakenet.main, fakenet_args)
    profile.dump_stats(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=[*NETWORKS, "all"], default="all")
    parser.add_argument("--accounts", type=int, default=25, help="per network (default 25)")
    parser.add_argument("--requests", type=int, default=2500, help="per network")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=150.0,
                        help="requests per second per network, trickling in (0: each "
                             "account's next request as soon as the last is answered); "
                             "default 150: a burst of 600 posts/s over four networks")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--floor", action="store_true", help="also the bare asyncio listener")
    parser.add_argument("--together", action="store_true",
                        help="every network in one fake process (as the real path runs them)")
    parser.add_argument("--perf", action="store_true", help="perf stat the server too")
    parser.add_argument("--profile", help="cProfile the fake, statistics to this file")
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-profiled", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_profiled:
        serve_profiled(args.serve_profiled, args.rest)
        return
    if args.serve_floor:
        serve_floor(args.latency)
        return
    networks = NETWORKS if args.network == "all" else (args.network,)
    per_account = max(1, args.requests // args.accounts)
    plans = [{network: [f"akun-{network[:2]}{i:03d}" for i in range(args.accounts)]}
             for network in networks]
    if args.together:  # every network in one process, at every network's rate together
        plans = [{network: names for plan in plans for network, names in plan.items()}]
    runs: list[tuple[str, Callable[[], dict[str, float]]]] = []
    for plan in plans:
        command = fakenet_command(plan, args.latency)
        if args.profile:  # the fake's own CPU per function, not wall time
            command = [sys.executable, "-m", "bench.bench_fakenet", "--serve-profiled",
                       args.profile, "--", *command[3:]]
        makers = [_Maker(network, name) for network, names in plan.items() for name in names]
        runs.append(("+".join(plan), lambda c=command, m=makers, r=args.rate * len(plan):
                     measure(c, m, per_account, r, args.perf)))
    if args.floor:
        floor = [sys.executable, "-m", "bench.bench_fakenet", "--serve-floor", "--latency",
                 str(args.latency)]
        runs.append(("floor", lambda: measure(floor, [_Maker("mastodon", f"akun-fl{i:03d}")
                                                      for i in range(args.accounts)],
                                              per_account, args.rate, args.perf)))
    for round_ in range(args.rounds):
        for name, run in runs:
            figures = run()
            print(f"round {round_ + 1} {name:<9} {figures['cpu_ms_per_request']:.3f} ms CPU "
                  f"per request (user {figures['user_ms_per_request']:.3f}, system "
                  f"{figures['system_ms_per_request']:.3f}; {figures['ok']:.0f}/"
                  f"{figures['requests']:.0f} ok, "
                  f"{figures['wall_s']:.1f} s), load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
