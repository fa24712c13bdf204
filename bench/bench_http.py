"""Benchmark: client CPU per keep-alive JSON POST through ``channels.http.request``.

    PYTHONPATH=. .venv/bin/python bench/bench_http.py [--calls 1000] [--blocks 8]
        [--before OLD/channels/http.py]

Sends the same POST to the counting fake several ways, in alternating blocks so that
other load on the machine hits all of them alike: ``requests.Session.post`` (plain
requests), urllib3's ``HTTPConnectionPool.urlopen``, bare ``http.client`` and a reused
``pycurl.Curl`` handle (references; they neither prepare a request nor build a
``requests.Response``), and
``channels.http.request`` as Siar's adapters call it (create request, deadline armed, body
read through the cap). ``--before`` loads another version's ``channels/http.py`` under
another name and measures its ``request()`` in the same blocks, so before and after are
compared on the same minutes. Prints the minimum and median CPU time (user + system) of
the sending thread per call, which wall-clock time would mix with the server threads' work.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pycurl
import urllib3

from channels.http import make_session, request
from tests.fakes.counting import CountingNetwork

TOKEN_HEADER = {"Authorization": "Bearer counting-token-s3cret"}


def thread_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def body(i: int) -> dict[str, Any]:
    return {"key": f"k{i}-{time.time()}", "text": "hello world", "post_id": i, "due": 0.0}


def load_before(path: str) -> ModuleType:
    """Another version's ``channels/http.py`` as module ``before_http`` (it imports
    ``channels.base`` and the libraries as they are here)."""
    spec = importlib.util.spec_from_file_location("before_http", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["before_http"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def ways(base: str, before: ModuleType | None) -> dict[str, Callable[[int], object]]:
    url = f"{base}/accounts/a/posts"
    host, port = base.split("//")[1].split(":")
    plain, siar = make_session(), make_session()
    pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=4, retries=False)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    json_headers = {**TOKEN_HEADER, "Content-Type": "application/json"}

    def via_requests(i: int) -> object:
        return plain.post(url, json=body(i), headers=TOKEN_HEADER, timeout=(5, 30)).json()

    def via_urllib3(i: int) -> object:
        answer = pool.urlopen("POST", "/accounts/a/posts", body=json.dumps(body(i)).encode(),
                              headers={**json_headers, "User-Agent": "x"}, retries=False,
                              timeout=urllib3.Timeout(connect=5, read=30))
        return json.loads(answer.data)

    def via_http_client(i: int) -> object:
        conn.request("POST", "/accounts/a/posts", body=json.dumps(body(i)).encode(),
                     headers=json_headers)
        return json.loads(conn.getresponse().read())

    curl = pycurl.Curl()
    curl_headers = [f"{name}: {value}" for name, value in {**json_headers,
                                                           "User-Agent": "x"}.items()]

    def via_pycurl(i: int) -> object:
        chunks: list[bytes] = []
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.POSTFIELDS, json.dumps(body(i)).encode())
        curl.setopt(pycurl.HTTPHEADER, curl_headers)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.TIMEOUT_MS, 30_000)
        curl.setopt(pycurl.HEADERFUNCTION, len)  # read, not kept
        curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
        curl.perform()
        return json.loads(b"".join(chunks))

    def via_siar(i: int) -> object:
        answer = request(siar, "POST", url, json=body(i), headers=TOKEN_HEADER,
                         timeout=(5, 30), create=True)
        return answer.json()  # type: ignore[union-attr]

    senders = {"requests Session.post": via_requests, "urllib3 urlopen": via_urllib3,
               "http.client": via_http_client, "pycurl (reused handle)": via_pycurl,
               "siar request()": via_siar}
    if before is not None:
        old_session = before.make_session()

        def via_before(i: int) -> object:
            answer = before.request(old_session, "POST", url, json=body(i),
                                    headers=TOKEN_HEADER, timeout=(5, 30))
            return answer.json()

        senders["before: request()"] = via_before
    return senders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per block")
    parser.add_argument("--blocks", type=int, default=8, help="blocks per way")
    parser.add_argument("--before", help="another version's channels/http.py to compare")
    args = parser.parse_args()
    before = load_before(args.before) if args.before else None
    print(f"load average before: {os.getloadavg()}")
    with CountingNetwork(keep_request_log=False) as network:
        senders = ways(network.url, before)
        for send in senders.values():  # warm up: connections open, code paths hot
            for i in range(200):
                send(i)
        per_call: dict[str, list[float]] = {name: [] for name in senders}
        for _ in range(args.blocks):
            for name, send in senders.items():
                start = thread_cpu()
                for i in range(args.calls):
                    send(i)
                per_call[name].append((thread_cpu() - start) / args.calls * 1000)
    print(f"load average after: {os.getloadavg()}")
    for name, values in per_call.items():
        print(f"{name:24s} min {min(values):.3f}  median {statistics.median(values):.3f}"
              " ms CPU per POST")


if __name__ == "__main__":
    main()
