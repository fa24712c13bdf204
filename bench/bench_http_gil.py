"""Benchmark: client CPU per request with 100 threads in flight, by HTTP client, GIL-wise.

    PYTHONPATH=. .venv/bin/python -m bench.bench_http_gil [--threads 100] [--requests 20]
        [--latency 0.05] [--blocks 3] [--only WORDS] [--pin both|no|yes]

``--threads`` threads each send ``--requests`` keep-alive POSTs of a ~500-byte JSON body to
a server in another process that holds each answer back ``--latency`` seconds and answers
with a status line, 9 header lines and a ~300-byte JSON body. Ways, alternated block by
block so the host's other load hits all alike:

* ``request()``: :func:`channels.http.request` on the session the daemon builds (today);
* ``pycurl callbacks``: a reused ``pycurl.Curl`` per thread, one call into Python per
  header line and per body chunk (what the adapter does, without requests around it);
* ``pycurl one buffer``: no header callback; ``CURLOPT_HEADER`` puts the head into the
  body, which goes to a ``BytesIO`` (``WRITEDATA``), parsed once after ``perform``;
* ``urllib3``: one ``PoolManager`` shared by the threads (pure Python, as under requests);
* ``requests on pyreqwest``: a ``requests.Session`` on a transport adapter over one
  pyreqwest client (what adopting such a client under the adapters would cost);
* ``pyreqwest`` / ``primp`` / ``httpr`` / ``rnet``: clients in Rust whose blocking call
  releases the GIL for the whole exchange, one client (one pool) shared by the threads;
  each is skipped when its package is not installed.

With ``--pin both`` each block runs twice, the second time with every thread of this
process on one CPU. Prints per way: process CPU (user + system) per request, the threads'
own CPU per request (``time.thread_time`` summed), requests/s, voluntary and involuntary
context switches per request, and the calls into Python per request (counted in a
separate pass, for the pycurl ways), with the load average before and after.

Measured on the shared 2-core host (load 10-24): the transports alone cost 0.20-0.32 ms
per request under 100 threads whether libcurl calls into Python 12 times a request
(``HEADER`` into a ``BytesIO`` does not lower that: libcurl writes the head line by line)
or a Rust client never does; ``request()`` costs 0.53-0.67 ms and a requests session on a
pyreqwest adapter 0.78-0.97 ms: the cost above the transport is requests' and our own
Python, which no transport swap removes. Pinning moved no way beyond the run-to-run spread.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pycurl

from bench import bench_http_threads as threads_bench
from channels.http import make_session, request

ANSWER = json.dumps({"id": "109876543210", "url": "https://example.org/@a/109876543210",
                     "created_at": "2026-12-07T17:00:00.000Z", "visibility": "public",
                     "content": "<p>" + "x" * 120 + "</p>", "uri": "https://example.org/1",
                     "account": {"id": "1", "acct": "a"}}).encode()
TEXT = "y" * 420  # with the other fields, a ~500-byte JSON body
AUTH = "Bearer token-0123456789"
Sender = Callable[[int, int], Any]
Way = Callable[[str, int], Callable[[], Sender]]


def answer() -> bytes:
    """A status line, 9 header lines and a ~300-byte JSON body."""
    return (b"HTTP/1.1 200 OK\r\nServer: bench\r\nDate: %s\r\n"
            b"Content-Type: application/json; charset=utf-8\r\n"
            b"Content-Length: %d\r\nCache-Control: no-store\r\n"
            b"X-Request-Id: 0f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0\r\n"
            b"X-RateLimit-Limit: 300\r\nX-RateLimit-Remaining: 299\r\n"
            b"Vary: Accept, Origin\r\n\r\n%s"
            % (formatdate(usegmt=True).encode(), len(ANSWER), ANSWER))


def body(n: int, i: int) -> dict[str, str]:
    return {"status": f"post {i} {TEXT}", "visibility": "public", "key": f"k-{n}-{i}"}


def siar_way(url: str, threads: int) -> Callable[[], Sender]:
    """Per thread, a session as the daemon builds it, called as the adapters call it."""
    def make() -> Sender:
        session = make_session()

        def send(n: int, i: int) -> Any:
            answer = request(session, "POST", f"{url}/accounts/{n}/statuses", json=body(n, i),
                             headers={"Authorization": AUTH}, timeout=(5, 30), create=True)
            return answer.status_code, answer.headers, answer.json()  # type: ignore[union-attr]
        return send
    return make


def _curl() -> pycurl.Curl:
    curl = pycurl.Curl()
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json", f"Authorization: {AUTH}"])
    return curl


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and the headers of one answer's head, parsed in one go."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ", 2)[1]), headers


def callbacks_way(url: str, threads: int, count: list[int] | None = None) -> Callable[[], Sender]:
    """Per thread, a reused ``pycurl.Curl``: a Python call per header line and per chunk."""
    def make() -> Sender:
        curl = _curl()

        def send(n: int, i: int) -> Any:
            chunks: list[bytes] = []
            lines: list[bytes] = []
            curl.setopt(pycurl.URL, f"{url}/accounts/{n}/statuses")
            curl.setopt(pycurl.POSTFIELDS, json.dumps(body(n, i)).encode())
            if count is None:
                curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
                curl.setopt(pycurl.HEADERFUNCTION, lines.append)
            else:
                def counted(store: list[bytes]) -> Callable[[bytes], None]:
                    def call(data: bytes) -> None:
                        count.append(1)
                        store.append(data)
                    return call
                curl.setopt(pycurl.WRITEFUNCTION, counted(chunks))
                curl.setopt(pycurl.HEADERFUNCTION, counted(lines))
            curl.perform()
            return parse_head(b"".join(lines)), json.loads(b"".join(chunks))
        return send
    return make


class _CountedBuffer(io.BytesIO):
    def __init__(self, count: list[int]) -> None:
        super().__init__()
        self.count = count

    def write(self, data: Any) -> int:  # type: ignore[override]
        self.count.append(1)
        return super().write(data)


def buffer_way(url: str, threads: int, count: list[int] | None = None) -> Callable[[], Sender]:
    """Per thread, a reused ``pycurl.Curl`` writing head and body into one ``BytesIO``."""
    def make() -> Sender:
        curl = _curl()
        curl.setopt(pycurl.HEADER, 1)

        def send(n: int, i: int) -> Any:
            buffer = io.BytesIO() if count is None else _CountedBuffer(count)
            curl.setopt(pycurl.URL, f"{url}/accounts/{n}/statuses")
            curl.setopt(pycurl.POSTFIELDS, json.dumps(body(n, i)).encode())
            curl.setopt(pycurl.WRITEDATA, buffer)
            curl.perform()
            head, _, rest = buffer.getvalue().partition(b"\r\n\r\n")
            return parse_head(head), json.loads(rest)
        return send
    return make


def pyreqwest_way(url: str, threads: int) -> Callable[[], Sender]:
    from pyreqwest.client import SyncClientBuilder
    client = SyncClientBuilder().max_connections(threads).build()

    def make() -> Sender:
        def send(n: int, i: int) -> Any:
            answer = (client.post(f"{url}/accounts/{n}/statuses")
                      .headers({"Content-Type": "application/json", "Authorization": AUTH})
                      .body_bytes(json.dumps(body(n, i)).encode())
                      .timeout(timedelta(seconds=30)).build().send())
            return answer.status, dict(answer.headers.items()), answer.json()
        return send
    return make


def requests_on_pyreqwest_way(url: str, threads: int) -> Callable[[], Sender]:
    """A ``requests.Session`` whose transport adapter is one shared pyreqwest client: what
    a transport adapter on a Rust client would leave of requests' own cost."""
    import requests
    from pyreqwest.client import SyncClientBuilder
    from requests.adapters import BaseAdapter
    from requests.structures import CaseInsensitiveDict

    client = SyncClientBuilder().max_connections(threads).build()

    class Adapter(BaseAdapter):  # type: ignore[misc]
        def send(self, prepared: Any, stream: bool = False, timeout: Any = None,
                 verify: Any = True, cert: Any = None, proxies: Any = None) -> Any:
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            built = client.request(prepared.method, prepared.url).headers(
                dict(prepared.headers)).timeout(timedelta(seconds=connect + read))
            data = prepared.body
            if data is not None:
                built = built.body_bytes(data if isinstance(data, bytes) else data.encode())
            answer = built.build().send()
            response = requests.Response()
            response.status_code = answer.status
            response.headers = CaseInsensitiveDict(answer.headers.items())
            response.raw = io.BytesIO(bytes(answer.bytes()))
            response.url, response.request = prepared.url, prepared
            return response

        def close(self) -> None:
            pass

    def make() -> Sender:
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", Adapter())

        def send(n: int, i: int) -> Any:
            answer = session.post(f"{url}/accounts/{n}/statuses", json=body(n, i),
                                  headers={"Authorization": AUTH}, timeout=(5, 30),
                                  allow_redirects=False)
            return answer.status_code, answer.headers, answer.json()
        return send
    return make


def _simple_way(module: str) -> Way:
    """primp and httpr: ``Client.post(url, headers=, content=, timeout=)``."""
    def way(url: str, threads: int) -> Callable[[], Sender]:
        client = __import__(module).Client()

        def make() -> Sender:
            def send(n: int, i: int) -> Any:
                answer = client.post(f"{url}/accounts/{n}/statuses",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": AUTH},
                                     content=json.dumps(body(n, i)).encode(), timeout=30)
                return answer.status_code, dict(answer.headers), answer.json()
            return send
        return make
    return way


def urllib3_way(url: str, threads: int) -> Callable[[], Sender]:
    """One ``urllib3.PoolManager`` shared by the threads, a connection per thread kept."""
    import urllib3
    pool = urllib3.PoolManager(maxsize=threads, block=True)

    def make() -> Sender:
        def send(n: int, i: int) -> Any:
            answer = pool.request("POST", f"{url}/accounts/{n}/statuses",
                                  body=json.dumps(body(n, i)).encode(),
                                  headers={"Content-Type": "application/json",
                                           "Authorization": AUTH},
                                  timeout=urllib3.Timeout(connect=5, read=30))
            return answer.status, dict(answer.headers), answer.json()
        return send
    return make


def rnet_way(url: str, threads: int) -> Callable[[], Sender]:
    from rnet.blocking import BlockingClient
    client = BlockingClient()

    def make() -> Sender:
        def send(n: int, i: int) -> Any:
            answer = client.post(f"{url}/accounts/{n}/statuses",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": AUTH},
                                 body=json.dumps(body(n, i)).encode())
            headers = {bytes(key).decode(): bytes(value).decode()
                       for key, value in answer.headers.items()}
            return int(answer.status), headers, answer.json()
        return send
    return make


WAYS: dict[str, tuple[str | None, Way]] = {
    "request()": (None, siar_way),
    "pycurl callbacks": (None, callbacks_way),
    "pycurl one buffer": (None, buffer_way),
    "urllib3": ("urllib3", urllib3_way),
    "pyreqwest": ("pyreqwest", pyreqwest_way),
    "requests on pyreqwest": ("pyreqwest", requests_on_pyreqwest_way),
    "primp": ("primp", _simple_way("primp")),
    "httpr": ("httpr", _simple_way("httpr")),
    "rnet": ("rnet", rnet_way),
}


def available(package: str | None) -> bool:
    if package is None:
        return True
    try:
        __import__(package)
    except ImportError:
        return False
    return True


def pin(cpus: set[int]) -> None:
    """Every thread of this process (a runtime's own threads too) onto ``cpus``."""
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that has just ended
            os.sched_setaffinity(int(task), cpus)


def burst(make: Callable[[], Sender], threads: int, calls: int) -> dict[str, float]:
    """Run ``threads`` senders ``calls`` times each; figures per request."""
    senders = [make() for _ in range(threads)]
    gate = threading.Barrier(threads + 1)
    thread_cpu: list[float] = []

    def run(n: int) -> None:
        gate.wait()
        start = time.thread_time()
        for i in range(calls):
            senders[n](n, i)
        thread_cpu.append(time.thread_time() - start)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    gate.wait()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    total = threads * calls
    return {"cpu": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            / total * 1000, "thread": sum(thread_cpu) / total * 1000, "rate": total / wall,
            "vcs": (after.ru_nvcsw - before.ru_nvcsw) / total,
            "ics": (after.ru_nivcsw - before.ru_nivcsw) / total}


def python_calls(url: str) -> dict[str, float]:
    """Calls into Python (each one a GIL acquisition) per request, for the pycurl ways."""
    found = {}
    for name, way in (("pycurl callbacks", callbacks_way), ("pycurl one buffer", buffer_way)):
        count: list[int] = []
        send = way(url, 1, count)()  # type: ignore[call-arg]
        for i in range(10):
            send(0, i)
        found[name] = len(count) / 10
    return found


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_http_gil", "--serve",
                               "--latency", str(latency)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    assert server.stdout is not None
    return server, f"http://127.0.0.1:{server.stdout.readline().strip()}"


def measure(url: str, names: list[str], *, threads: int, requests: int, blocks: int,
            pins: list[bool]) -> dict[tuple[str, bool], list[dict[str, float]]]:
    """Alternated blocks (block 0 warms up); figures per (way, pinned)."""
    everyone = os.sched_getaffinity(0)
    found: dict[tuple[str, bool], list[dict[str, float]]] = {
        (name, pinned): [] for name in names for pinned in pins}
    for block in range(blocks + 1):
        for pinned in pins:
            for name in names:
                make = WAYS[name][1](url, threads)
                pin({min(everyone)} if pinned else everyone)
                figures = burst(make, threads, requests)
                pin(everyone)
                if block:
                    found[name, pinned].append(figures)
    return found


def main() -> None:
    parser = threads_bench.burst_options(__doc__.split("\n")[0], blocks=3)
    parser.add_argument("--skip", nargs="*", default=[], help="ways left out, by name")
    parser.add_argument("--pin", choices=("both", "no", "yes"), default="both")
    args = parser.parse_args()
    if args.serve:
        threads_bench.serve(args.latency, answer)
        return
    names = [name for name, (package, _) in WAYS.items()
             if available(package) and (not args.only or args.only in name)
             and name not in args.skip]
    pins = {"both": [False, True], "no": [False], "yes": [True]}[args.pin]
    server, url = start_server(args.latency)
    print(f"load average before: {os.getloadavg()}")
    try:
        calls = python_calls(url)
        found = measure(url, names, threads=args.threads, requests=args.requests,
                        blocks=args.blocks, pins=pins)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait()
    print(f"load average after: {os.getloadavg()}")
    print(f"{'way':21s} {'pinned':6s} {'CPU ms/req min/med':>19s} {'thread ms/req':>13s} "
          f"{'req/s':>6s} {'vcs/req':>7s} {'ics/req':>7s} {'py calls/req':>12s}")
    for (name, pinned), runs in found.items():
        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[key] for run in runs)
        cpu = [run["cpu"] for run in runs]
        print(f"{name:21s} {'yes' if pinned else 'no':6s} {min(cpu):8.3f} / {med('cpu'):.3f}  "
              f"{med('thread'):13.3f} {med('rate'):6.0f} {med('vcs'):7.2f} {med('ics'):7.2f} "
              f"{calls.get(name, float('nan')):12.1f}")


if __name__ == "__main__":
    main()
