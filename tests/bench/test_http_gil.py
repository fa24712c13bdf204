"""The HTTP-client GIL benchmark keeps working: at a tiny size, every way whose package is
installed sends its keep-alive POSTs from several threads to the server process, reads the
status, the headers and the JSON body, and gets figures. Speed is not checked here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench import bench_http_gil as gil


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server, address = gil.start_server(0.0)
    yield address
    assert server.stdin is not None
    server.stdin.close()
    server.wait()


@pytest.mark.parametrize("name", list(gil.WAYS))
def test_each_installed_way_reads_status_headers_and_body_from_threads(
        name: str, url: str) -> None:
    package, way = gil.WAYS[name]
    if not gil.available(package):
        pytest.skip(f"{package} is not installed")
    status, headers, answer = _flat(way(url, 2)()(0, 0))
    assert status == 200
    assert {key.lower() for key in headers} >= {"content-type", "x-request-id", "vary"}
    assert answer["id"] == "109876543210"
    found = gil.measure(url, [name], threads=3, requests=2, blocks=1, pins=[False, True])
    for runs in found.values():
        assert runs[0]["cpu"] > 0 and runs[0]["rate"] > 0


def _flat(result: tuple[Any, ...]) -> tuple[Any, ...]:
    """pycurl ways answer ((status, headers), body); the others (status, headers, body)."""
    return (*result[0], result[1]) if len(result) == 2 else result


def test_the_pycurl_ways_count_their_calls_into_python(url: str) -> None:
    calls = gil.python_calls(url)
    assert calls["pycurl callbacks"] >= 10  # status, 9 header lines, blank, body chunk(s)
    assert calls["pycurl one buffer"] >= 1
