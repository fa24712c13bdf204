"""The benchmark's fake networks (``bench.fakenet``) answer as the test suite's fakes do,
over plain HTTP/1.1 keep-alive, several networks in one process, and count from the fakes'
own state: an idempotent replay is answered but is not a second post."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from bench.deployment import FakeNetworks, NetworkStats
from bench.fakenet import secrets_for

PAIRS = [("akun-000", "mastodon"), ("akun-001", "webhook")]


@pytest.fixture(scope="module")
def networks() -> Iterator[FakeNetworks]:
    with FakeNetworks(PAIRS, latency=0.001) as started:
        yield started


def _connection(networks: FakeNetworks, network: str) -> http.client.HTTPConnection:
    address = urlsplit(networks.urls[network])
    return http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)


def _toot(connection: http.client.HTTPConnection, text: str, key: str) -> tuple[int, dict]:
    token = secrets_for("mastodon", "akun-000")["access_token"]
    connection.request("POST", "/akun-000/api/v1/statuses",
                       body=json.dumps({"status": text, "visibility": "public"}),
                       headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key,
                                "Content-Type": "application/json"})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def test_every_network_is_served_by_one_process(networks: FakeNetworks) -> None:
    assert len(networks.pids) == 1
    assert set(networks.urls) == {"mastodon", "webhook"}


def test_a_replayed_idempotency_key_is_answered_alike_and_is_not_a_second_post(
        networks: FakeNetworks) -> None:
    connection = _connection(networks, "mastodon")

    first = _toot(connection, "Rilis bench-000700", "key-700")
    again = _toot(connection, "Rilis bench-000700", "key-700")  # same connection: keep-alive

    assert first[0] == again[0] == 200
    assert first[1]["id"] == again[1]["id"]
    stats: NetworkStats = networks.stats()
    assert stats.created["akun-000/000700"] == 1
    assert "akun-000/000700" in stats.answered


def test_the_fakes_validation_and_errors_are_those_of_the_test_suite(
        networks: FakeNetworks) -> None:
    connection = _connection(networks, "mastodon")
    connection.request("POST", "/akun-000/api/v1/statuses", body=b"{}",
                       headers={"Authorization": "Bearer wrong",
                                "Content-Type": "application/json"})
    refused = connection.getresponse()

    assert refused.status == 401
    assert json.loads(refused.read()) == {"error": "The access token is invalid"}
    assert refused.getheader("X-RateLimit-Remaining") == "299"


def test_a_request_to_no_account_is_a_404(networks: FakeNetworks) -> None:
    connection = _connection(networks, "webhook")
    connection.request("POST", "/akun-999/hook", body=b"{}")
    answer = connection.getresponse()

    assert answer.status == 404
    assert "akun-999" in json.loads(answer.read())["error"]


def test_a_request_that_arrives_in_pieces_is_read_whole(networks: FakeNetworks) -> None:
    address = urlsplit(networks.urls["mastodon"])
    token = secrets_for("mastodon", "akun-000")["access_token"]
    body = json.dumps({"status": "Rilis bench-000701"}).encode()
    request = (f"POST /akun-000/api/v1/statuses HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), 7):
            raw.sendall(request[start:start + 7])
        answer = b""
        while chunk := raw.recv(65536):  # the server closes: Connection: close
            answer += chunk

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in head
    assert json.loads(payload)["content"] == "<p>Rilis bench-000701</p>"


@pytest.mark.parametrize("request_bytes, status", [
    (b"NONSENSE\r\n\r\n", 400),
    (b"POST /akun-000/hook HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
    (b"POST /akun-000/hook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
])
def test_a_malformed_request_is_refused_and_the_connection_closed(
        networks: FakeNetworks, request_bytes: bytes, status: int) -> None:
    address = urlsplit(networks.urls["webhook"])
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(request_bytes)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk

    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
