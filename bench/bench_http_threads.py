"""Benchmark: client CPU per request with many threads in flight, as in the daemon's burst.

    PYTHONPATH=. .venv/bin/python -m bench.bench_http_threads [--threads 100]
        [--requests 20] [--latency 0.05] [--blocks 6] [--only WORDS]

``--threads`` threads each send ``--requests`` keep-alive JSON POSTs to a server in another
process that holds each answer back ``--latency`` seconds (an asyncio loop: its CPU is not
the client's; it answers with the head ``bench.fakenet`` writes). Ways, alternated block by
block so the host's other load hits all alike:

* ``request()``: :func:`channels.http.request` as the adapters call it (a create), each
  thread running libcurl's easy ``perform`` itself, as the daemon's workers do;
* ``bare pycurl, headers read`` / ``no headers``: a reused ``pycurl.Curl`` per thread,
  with one callback into Python per header line of the answer or only the body's, which
  prices the GIL hand-overs libcurl's callbacks cost among a hundred threads.

One thread driving every transfer through libcurl's multi interface was measured here and
not kept: 0.597 against 0.600 ms per request (the callbacks cost nothing measurable: bare
pycurl 0.218 with the header lines read, 0.219 without), and its shared connection cache
reuses a connection the server closed while idle, which a create must not be sent on.

Prints the client process's CPU (user + system, ``resource.getrusage``) per request,
minimum and median over the blocks, and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from functools import partial

import pycurl

from channels.http import make_session, request

ANSWER = json.dumps({"id": "1", "url": "https://example.org/1"}).encode()
Sender = Callable[[int, int], object]


def answer() -> bytes:
    """The answer bench.fakenet writes: status, Server, Date, type, length, JSON body."""
    return (b"HTTP/1.1 200 OK\r\nServer: bench\r\nDate: %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (formatdate(usegmt=True).encode(), len(ANSWER), ANSWER))


def serve(latency: float, written: Callable[[], bytes] = answer) -> None:
    """A keep-alive HTTP/1.1 server answering every request with ``written()`` after
    ``latency`` seconds; prints its port and runs until stdin closes."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(latency)
                writer.write(written())
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(client, "127.0.0.1", 0, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def siar_sender(url: str) -> Sender:
    """A thread's sender through :func:`channels.http.request`, as the adapters call it."""
    session = make_session()

    def send(n: int, i: int) -> object:
        answer = request(session, "POST", f"{url}/accounts/{n}/statuses",
                         json={"status": f"post {i}", "key": f"k-{n}-{i}"},
                         headers={"Authorization": "Bearer token-0123456789"},
                         timeout=(5, 30), create=True)
        return answer.json()  # type: ignore[union-attr]
    return send


def bare_sender(url: str, *, headers: bool) -> Sender:
    """A thread's reused ``pycurl.Curl``, the answer's header lines read or not."""
    curl = pycurl.Curl()
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json",
                                    "Authorization: Bearer token-0123456789"])

    def send(n: int, i: int) -> object:
        chunks: list[bytes] = []
        lines: list[bytes] = []
        curl.setopt(pycurl.URL, f"{url}/accounts/{n}/statuses")
        curl.setopt(pycurl.POSTFIELDS, json.dumps({"status": f"post {i}"}).encode())
        curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
        if headers:
            curl.setopt(pycurl.HEADERFUNCTION, lines.append)
        curl.perform()
        return json.loads(b"".join(chunks))
    return send


def burst(senders: list[Sender], calls: int) -> float:
    """CPU seconds of this process per request, each sender on a thread of its own."""
    gate = threading.Barrier(len(senders) + 1)

    def run(n: int) -> None:
        gate.wait()
        for i in range(calls):
            senders[n](n, i)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(len(senders))]
    for worker in workers:
        worker.start()
    start = process_cpu()
    gate.wait()
    for worker in workers:
        worker.join()
    return (process_cpu() - start) / (len(senders) * calls)


WAYS: dict[str, Callable[[str], Sender]] = {
    "request()": siar_sender,
    "bare pycurl, headers read": partial(bare_sender, headers=True),
    "bare pycurl, no headers": partial(bare_sender, headers=False),
}


def burst_options(description: str, blocks: int) -> argparse.ArgumentParser:
    """The options of a threaded HTTP burst: threads, requests, latency, blocks, ways."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="per thread per block")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--blocks", type=int, default=blocks, help="blocks per way")
    parser.add_argument("--only", help="only the ways whose name has these words")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = burst_options(__doc__.split("\n")[0], blocks=6).parse_args()
    if args.serve:
        serve(args.latency)
        return
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_http_threads", "--serve",
                               "--latency", str(args.latency)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
    print(f"load average before: {os.getloadavg()}")
    ways = {name: way for name, way in WAYS.items() if not args.only or args.only in name}
    per_request: dict[str, list[float]] = {name: [] for name in ways}
    rates: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for block in range(args.blocks + 1):  # block 0 warms up
            for name, make in ways.items():
                senders = [make(url) for _ in range(args.threads)]
                began = time.perf_counter()
                cpu = burst(senders, args.requests)
                wall = time.perf_counter() - began
                if block:
                    per_request[name].append(cpu * 1000)
                    rates[name].append(args.threads * args.requests / wall)
    finally:
        server.stdin.close()
        server.wait()
    print(f"load average after: {os.getloadavg()}")
    for name, values in per_request.items():
        print(f"{name:28s} CPU ms/request min {min(values):.3f} median "
              f"{statistics.median(values):.3f}   requests/s median "
              f"{statistics.median(rates[name]):.0f}")


if __name__ == "__main__":
    main()
