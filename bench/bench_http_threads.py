"""Benchmark: client CPU per request with many threads in flight, as in the daemon's burst.

    PYTHONPATH=. .venv/bin/python -m bench.bench_http_threads [--threads 100]
        [--requests 20] [--latency 0.05] [--blocks 6]

``--threads`` threads each send ``--requests`` keep-alive JSON POSTs (a create, as the
adapters send them) through :func:`channels.http.request` to a server in another process
that holds each answer back ``--latency`` seconds (an asyncio loop: its CPU is not the
client's). Ways, alternated block by block so the host's other load hits all alike:

* ``easy``: each thread runs libcurl's easy ``perform`` itself (requests without the
  driver: the CLI's one-off commands);
* ``driver``: the transfers run on :mod:`channels.curl_multi`'s one thread.

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

from channels import curl_multi
from channels.http import make_session, request

ANSWER = json.dumps({"id": "1", "url": "https://example.org/1"}).encode()


def serve(latency: float) -> None:
    """A keep-alive HTTP/1.1 server answering every request after ``latency`` seconds;
    prints its port and runs until stdin closes."""

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
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER))
        except (asyncio.IncompleteReadError, ConnectionError):
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


def burst(url: str, threads: int, calls: int) -> float:
    """CPU seconds of this process per request, ``threads`` × ``calls`` requests."""
    sessions = [make_session() for _ in range(threads)]
    gate = threading.Barrier(threads + 1)

    def sender(n: int) -> None:
        gate.wait()
        for i in range(calls):
            answer = request(sessions[n], "POST", f"{url}/accounts/{n}/statuses",
                             json={"status": f"post {i}", "key": f"k-{n}-{i}"},
                             headers={"Authorization": "Bearer token-0123456789"},
                             timeout=(5, 30), create=True)
            answer.json()  # type: ignore[union-attr]

    workers = [threading.Thread(target=sender, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start = process_cpu()
    gate.wait()
    for worker in workers:
        worker.join()
    spent = process_cpu() - start
    for session in sessions:
        session.close()
    return spent / (threads * calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="per thread per block")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--blocks", type=int, default=6, help="blocks per way")
    parser.add_argument("--only", choices=("easy", "driver"), help="one way (to profile)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency)
        return
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_http_threads", "--serve",
                               "--latency", str(args.latency)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
    print(f"load average before: {os.getloadavg()}")
    ways = {name: driven for name, driven in (("easy (perform per thread)", False),
                                              ("driver (curl_multi)", True))
            if args.only is None or name.startswith(args.only)}
    per_request: dict[str, list[float]] = {name: [] for name in ways}
    walls: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for block in range(args.blocks + 1):  # block 0 warms up
            for name, driven in ways.items():
                if driven:
                    curl_multi.start()
                began = time.perf_counter()
                cpu = burst(url, args.threads, args.requests)
                wall = time.perf_counter() - began
                curl_multi.stop()
                if block:
                    per_request[name].append(cpu * 1000)
                    walls[name].append(args.threads * args.requests / wall)
    finally:
        server.stdin.close()
        server.wait()
    print(f"load average after: {os.getloadavg()}")
    for name, values in per_request.items():
        print(f"{name:28s} CPU ms/request min {min(values):.3f} median "
              f"{statistics.median(values):.3f}   requests/s median "
              f"{statistics.median(walls[name]):.0f}")


if __name__ == "__main__":
    main()
