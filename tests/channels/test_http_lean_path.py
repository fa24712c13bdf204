"""The short ways through requests: a request that follows no redirects (every create)
skips ``Session.request``'s general machinery in :func:`channels.http.request`, and our
adapter sends through urllib3's pool itself when there is no proxy. What reaches the
network, what the session keeps and what a failure raises are what requests' own path
would send, keep and raise."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import Rejected
from channels.http import make_session, request
from tests.faults.server import Received, ScriptedServer, answer

OK = answer("200 OK", b'{"ok": true}')


def _ok(_: Received, conn: socket.socket) -> bool:
    conn.sendall(OK)
    return True


def _both_ways(url: str, **kwargs: Any) -> tuple[Received, Received]:
    """The same create sent by ``request()`` and by requests' ``Session.request``: what
    the server received each time."""
    with ScriptedServer(_ok) as server:
        ours = request(make_session(), "POST", f"{server.url}{url}", create=True, **kwargs)
        theirs = make_session().request("POST", f"{server.url}{url}", allow_redirects=False,
                                        timeout=(5, 30), **kwargs)
    assert isinstance(ours, requests.Response) and ours.ok and theirs.ok
    first, second = server.received
    return first, second


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_json = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_text, inner, max_size=4), max_leaves=12)
_token = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1,
                 max_size=30)
_headers = st.dictionaries(
    st.sampled_from(["Authorization", "Idempotency-Key", "user-agent", "X-Siar-Timestamp",
                     "Content-Type", "Accept"]),
    st.none() | _token, max_size=4)


@settings(max_examples=40, deadline=None)
@given(payload=_json, headers=_headers)
def test_a_json_create_leaves_as_session_request_sends_it(payload: Any,
                                                         headers: dict[str, str | None]
                                                         ) -> None:
    ours, theirs = _both_ways("/api/v1/statuses", json=payload, headers=headers)
    assert ours == theirs


@settings(max_examples=20, deadline=None)
@given(body=st.binary(max_size=200) | _text, headers=_headers,
       path=st.sampled_from(["/hook", "/a b/ü?x=1&y=ü", "/bot1:tok/sendMessage"]))
def test_a_raw_body_create_leaves_as_session_request_sends_it(
        body: bytes | str, headers: dict[str, str | None], path: str) -> None:
    ours, theirs = _both_ways(path, data=body, headers=headers)
    assert ours == theirs


def test_a_cookie_set_in_answer_to_a_create_is_sent_with_the_next_request() -> None:
    """As a ``requests.Session`` keeps cookies (a load balancer's affinity, say)."""
    def set_cookie(received: Received, conn: socket.socket) -> bool:
        conn.sendall(answer("200 OK", b"{}", (("Set-Cookie", "lb=node-7; Path=/"),))
                     if received.target == "/first" else OK)
        return True

    with ScriptedServer(set_cookie) as server:
        session = make_session()
        request(session, "POST", f"{server.url}/first", json={}, create=True)
        request(session, "POST", f"{server.url}/second", json={}, create=True)
    assert "cookie" not in server.received[0].headers
    assert server.received[1].headers["cookie"] == "lb=node-7"


# --- what a failure raises: requests' own exception, whichever way it was sent -------------


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raised(session: requests.Session, url: str, **kwargs: Any) -> tuple[str, str]:
    """The type of what ``session.request`` raised, and its text without addresses (and
    with urllib3's names for our pool and connection classes)."""
    try:
        session.request("POST", url, json={"a": 1}, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        text = re.sub(r"0x[0-9a-f]+", "0x…", str(exc)).replace(
            "_Pool(", "HTTPConnectionPool(").replace("_Connection(", "HTTPConnection(")
        return type(exc).__name__, text
    raise AssertionError("no exception")


def _silent(_: Received, conn: socket.socket) -> bool:
    # answers nothing until the client hangs up (its read timeout) or the server closes:
    # a fixed pause could end first on a loaded host and close before the client timed out
    conn.recv(1)
    return False


def _garbage(_: Received, conn: socket.socket) -> bool:
    conn.sendall(b"SMTP ready\r\n\r\n")
    return False


def _closed(_: Received, conn: socket.socket) -> bool:
    return False


@pytest.mark.parametrize("script", [_silent, _garbage, _closed, None])
def test_a_failure_raises_what_requests_own_adapter_raises(script: Any) -> None:
    """Our adapter sends through urllib3's pool itself (without a proxy): what it raises is
    what ``requests.adapters.HTTPAdapter`` would, so one classification serves both."""
    if script is None:
        url = f"http://127.0.0.1:{_refused_port()}/x"
        ours = _raised(make_session(), url)
        theirs = _raised(requests.Session(), url)
    else:
        with ScriptedServer(script) as server:
            ours = _raised(make_session(), f"{server.url}/x", timeout=(2, 0.2))
            theirs = _raised(requests.Session(), f"{server.url}/x", timeout=(2, 0.2))
    assert ours == theirs


def test_a_header_value_with_a_line_break_is_refused_unsent_every_time() -> None:
    """Pairs found valid are not checked again; a bad one is never taken for valid, and a
    good one sent before does not let a bad value of the same name through."""
    with ScriptedServer(_ok) as server:
        session = make_session()
        url = f"{server.url}/api/v1/statuses"
        good = request(session, "POST", url, create=True, json={},
                       headers={"Idempotency-Key": "k-1"})
        bad = [request(session, "POST", url, create=True, json={},
                       headers={"Idempotency-Key": "k-1\r\nX-Injected: yes"})
               for _ in range(2)]
        again = request(session, "POST", url, create=True, json={},
                        headers={"Idempotency-Key": "k-1"})
    assert isinstance(good, requests.Response) and isinstance(again, requests.Response)
    assert all(isinstance(outcome, Rejected) and "line break" in outcome.reason
               for outcome in bad)
    assert len(server.received) == 2  # the two good ones only


# --- what an answer reads as: the Response requests' own path would build --------------

_content_types = st.sampled_from([
    "application/json", "application/json; charset=utf-8", 'text/html; charset="ISO-8859-2"',
    "text/plain", "application/activity+json", "image/png", "text/csv; charset='latin-1'",
    "application/x-www-form-urlencoded; charset=UTF-16", "APPLICATION/JSON"])
_answer_headers = st.lists(st.tuples(
    st.sampled_from(["X-RateLimit-Remaining", "Link", "Retry-After", "Vary", "content-type"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=20)),
    max_size=5)


@settings(max_examples=30, deadline=None)
@given(content_type=_content_types, headers=_answer_headers,
       body=st.binary(max_size=100) | _text.map(str.encode))
def test_an_answer_reads_as_requests_own_path_reads_it(
        content_type: str, headers: list[tuple[str, str]], body: bytes) -> None:
    """Status, reason, headers (a repeated name joined), the encoding requests works out
    from the Content-Type (remembered per value), the body and its text."""
    raw = answer("201 Created", body, tuple(headers), content_type=content_type)
    with ScriptedServer(lambda _, conn: conn.sendall(raw) is None) as server:
        ours = request(make_session(), "POST", f"{server.url}/x", json={}, create=True)
        theirs = make_session().request("POST", f"{server.url}/x", json={},
                                        allow_redirects=False, timeout=(5, 30))
    assert isinstance(ours, requests.Response)
    assert (ours.status_code, ours.reason, ours.encoding) == (
        theirs.status_code, theirs.reason, theirs.encoding)
    assert dict(ours.headers.lower_items()) == dict(theirs.headers.lower_items())
    assert (ours.content, ours.text) == (theirs.content, theirs.text)


def test_session_headers_given_as_a_plain_dict_leave_as_session_request_sends_them() -> None:
    """A session whose ``headers`` were replaced by a plain dict (not requests' own
    case-insensitive one) is merged the same way."""
    with ScriptedServer(_ok) as server:
        sessions = [make_session(), make_session()]
        for session in sessions:
            session.headers = {"User-Agent": "siar-test", "Accept-Encoding": "gzip",  # type: ignore[assignment]
                               "X-Site": "redaksi"}
        ours = request(sessions[0], "POST", f"{server.url}/x", json={"a": 1}, create=True,
                       headers={"x-site": "other"})
        theirs = sessions[1].request("POST", f"{server.url}/x", json={"a": 1},
                                     headers={"x-site": "other"}, allow_redirects=False,
                                     timeout=(5, 30))
    assert isinstance(ours, requests.Response) and ours.ok and theirs.ok
    first, second = server.received
    assert first == second
