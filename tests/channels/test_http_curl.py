"""Creates and plain lookups go through libcurl (:mod:`channels.curl`): what differs from
requests' path underneath must not show. One account's requests share a connection,
whole-second read timeouts hold, and libcurl's own reading of the proxy environment
plays no part (Siar reads it once, in ``make_session``). Whole-second read timeouts:
``test_http_client.py::test_no_answer_within_the_read_timeout``."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests

from channels.http import make_session, request
from tests.faults.server import Received, ScriptedServer, answer

OK = answer("200 OK", b'{"ok": true}')


def _ok(_: Received, conn: socket.socket) -> bool:
    conn.sendall(OK)
    return True


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_accounts_creates_and_lookups_share_one_connection() -> None:
    with ScriptedServer(_ok) as server:
        session = make_session()
        for n in range(3):
            created = request(session, "POST", f"{server.url}/api/v1/statuses",
                              json={"n": n}, create=True)
            found = request(session, "GET", f"{server.url}/api/v1/statuses",
                            params={"limit": 40, "max_id": None})
            assert isinstance(created, requests.Response) and created.ok
            assert isinstance(found, requests.Response) and found.json() == {"ok": True}
    assert server.connections == 1
    assert [r.target for r in server.received][:2] == ["/api/v1/statuses",
                                                       "/api/v1/statuses?limit=40"]


def test_libcurl_does_not_read_the_proxy_environment_itself(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """libcurl would read the lower-case ``http_proxy`` and ``NO_PROXY`` on every request,
    and reads a ``host:port`` entry differently; Siar decides, once, as before."""
    with ScriptedServer(_ok) as server:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_closed_port()}")
        monkeypatch.setenv("NO_PROXY", server.url.split("//")[1])
        outcome = request(make_session(), "POST", f"{server.url}/x", json={}, create=True)
        monkeypatch.delenv("NO_PROXY")
        session = make_session()  # the proxy applies: requests' path, refused there
        monkeypatch.delenv("http_proxy")
        refused = request(session, "POST", f"{server.url}/y", json={}, create=True)
    assert isinstance(outcome, requests.Response) and outcome.ok
    assert not isinstance(refused, requests.Response)
    assert [r.target for r in server.received] == ["/x"]


def test_a_large_body_goes_requests_way_where_an_early_answer_is_read() -> None:
    """libcurl may report only the broken pipe when a server answers 413 and closes while
    a large body is still being written; urllib3 reads that answer
    (``test_http_client.py::test_an_early_answer_to_a_large_upload_is_read``)."""
    from channels.curl import LARGE_BODY

    adapter = make_session().get_adapter("http://")

    def takes(size: int) -> bool:
        prepared = requests.Request("POST", "http://127.0.0.1:1/media",
                                    data=bytes(size)).prepare()
        return adapter.takes(prepared, (5, 30), True, None, {})  # type: ignore[attr-defined]

    assert takes(LARGE_BODY) and not takes(LARGE_BODY + 1)


def test_one_connection_carries_requests_of_every_kind_in_turn() -> None:
    """A handle keeps the options its requests share (method, timeouts, cap) from one
    request to the next: each request still leaves as itself, whatever came before it on
    the same handle, and each answer is read whole."""
    def script(received: Received, conn: socket.socket) -> bool:
        text = f'{{"method": "{received.method}", "size": {len(received.body)}}}'.encode()
        reply = answer("200 OK", text)
        conn.sendall(reply[:-len(text)] if received.method == "HEAD" else reply)
        return True

    sends: list[tuple[str, dict[str, Any]]] = [
        ("POST", {"json": {"n": 1}, "create": True}), ("HEAD", {}), ("GET", {}),
        ("DELETE", {}), ("GET", {}), ("PUT", {"data": b"abc"}),
        ("POST", {"json": {"n": 2}, "create": True}), ("PATCH", {"json": [1, 2]}),
        ("POST", {"data": b"x=1"}), ("GET", {"timeout": (5, 7)}), ("HEAD", {}),
        ("POST", {"json": {"n": 3}, "create": True})]
    with ScriptedServer(script) as server:
        session = make_session()
        answers = [request(session, method, f"{server.url}/{n}", **kwargs)
                   for n, (method, kwargs) in enumerate(sends)]
    assert all(isinstance(one, requests.Response) and one.ok for one in answers)
    assert [(r.method, r.target, r.body) for r in server.received] == [
        ("POST", "/0", b'{"n": 1}'), ("HEAD", "/1", b""), ("GET", "/2", b""),
        ("DELETE", "/3", b""), ("GET", "/4", b""), ("PUT", "/5", b"abc"),
        ("POST", "/6", b'{"n": 2}'), ("PATCH", "/7", b"[1, 2]"), ("POST", "/8", b"x=1"),
        ("GET", "/9", b""), ("HEAD", "/10", b""), ("POST", "/11", b'{"n": 3}')]
    assert [one.json()["method"] for one in answers  # type: ignore[union-attr]
            if one.request.method != "HEAD"] == [  # type: ignore[union-attr]
        m for m, _ in sends if m != "HEAD"]
    assert [one.content for one in answers[1::9]] == [b"", b""]  # type: ignore[union-attr]
    assert server.connections == 1
