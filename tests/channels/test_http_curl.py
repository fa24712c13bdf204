"""Creates and plain lookups go through libcurl (:mod:`channels.curl`): what differs from
requests' path underneath must not show. One account's requests share a connection,
whole-second read timeouts hold, and libcurl's own reading of the proxy environment
plays no part (Siar reads it once, in ``make_session``). Whole-second read timeouts:
``test_http_client.py::test_no_answer_within_the_read_timeout``."""

from __future__ import annotations

import socket

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
