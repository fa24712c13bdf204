"""The short cuts of :func:`channels.http.request`'s transport path, each checked
against the code it stands in for: the header parser against
:func:`http.client.parse_headers`, the response class against ``HTTPResponse``."""

from __future__ import annotations

import http.client
import io
from typing import Any

import pytest

from channels.http import _Message, _parse_headers, _Response

HEADER_BLOCKS: dict[str, bytes] = {
    "plain": b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
    "none": b"\r\n",
    "eof at once": b"",
    "bare newlines": b"A: b\nC: d\n\n",
    "spacing": b"A:b\r\nB:   c  \r\nC:\t d\t\r\nD:\r\nE: \r\n\r\n",
    "repeated": b"Set-Cookie: a=1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\n\r\n",
    "latin-1": "X-Name: café ÿ\r\n\r\n".encode("latin-1"),
    "utf-8 bytes": "X-Name: ✓ selesai\r\n\r\n".encode(),
    "colon in value": b"Location: http://a:8080/x?y=1:2\r\n\r\n",
    "odd name chars": b"X-A.b_c~!#$%&'*+^`|: v\r\n\r\n",
    "folded": b"X-Long: satu\r\n dua\r\n\ttiga\r\nB: c\r\n\r\n",
    "space before colon": b"A : b\r\nC: d\r\n\r\n",
    "no colon": b"A: b\r\ngarbage line\r\nC: d\r\n\r\n",
    "empty name": b": b\r\nC: d\r\n\r\n",
    "From line": b"From nobody\r\nA: b\r\n\r\n",
    "From header": b"From: x@y\r\n\r\n",
    "cut at eof": b"A: b\r\nC: d",
    "bare cr inside": b"A: b\rC: d\r\n\r\n",
    "vertical tab": b"A: b\x0bc\r\n\r\n",
    "nel": b"A: b\x85c\r\n\r\n",
    "cr cr lf": b"A: b\r\r\n\r\n",
    "leading continuation": b" A: b\r\n\r\n",
}


def same_state(a: http.client.HTTPMessage, b: http.client.HTTPMessage) -> bool:
    """Equal attributes; defects (exceptions, equal only to themselves) by kind and text."""
    def state(m: http.client.HTTPMessage) -> dict[str, Any]:
        return {**vars(m), "defects": [(type(d), str(d)) for d in m.defects]}
    return state(a) == state(b)


@pytest.mark.parametrize("case", HEADER_BLOCKS)
def test_headers_parse_as_http_client_parses_them(case: str) -> None:
    raw = HEADER_BLOCKS[case] + b"BODY"
    expected_fp, fp = io.BytesIO(raw), io.BytesIO(raw)
    expected = http.client.parse_headers(expected_fp)
    message = _parse_headers(fp)
    assert isinstance(message, http.client.HTTPMessage)
    assert same_state(message, expected)
    assert fp.tell() == expected_fp.tell()  # the body is left where it was
    assert message.items() == expected.items()
    for name in ("a", "C", "content-type", "Set-Cookie", "x-long", "missing"):
        assert message.get(name) == expected.get(name)
        assert message.get(name, "d") == expected.get(name, "d")
        assert message.get_all(name) == expected.get_all(name)
        assert (name in message) == (name in expected)
    assert str(message) == str(expected)


def test_plain_header_blocks_take_the_short_cut() -> None:
    assert type(_parse_headers(io.BytesIO(HEADER_BLOCKS["plain"]))) is _Message
    assert type(_parse_headers(io.BytesIO(HEADER_BLOCKS["folded"]))) is http.client.HTTPMessage


def test_http_client_limits_still_apply() -> None:
    too_many = b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        _parse_headers(io.BytesIO(too_many))
    with pytest.raises(http.client.LineTooLong):
        _parse_headers(io.BytesIO(b"X: " + b"v" * 70000 + b"\r\n\r\n"))


class _FakeSocket:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.raw)


def _begun(cls: type[http.client.HTTPResponse], raw: bytes, method: str) -> Any:
    response = cls(_FakeSocket(raw), method=method)  # type: ignore[arg-type]
    try:
        response.begin()
    except Exception as exc:  # compared below
        return type(exc), str(exc)
    state = {k: getattr(response, k) for k in (
        "status", "code", "reason", "version", "chunked", "chunk_left", "will_close",
        "length")}
    return state, response.msg.items(), response.read()


STATUS_CASES: dict[str, bytes] = {
    "1.1 length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "1.1 close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    "1.1 Close token": b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\n"
                       b"Content-Length: 2\r\n\r\nhi",
    "1.1 no length": b"HTTP/1.1 200 OK\r\n\r\nhi",
    "1.1 chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Length: 9\r\n"
                   b"\r\n2\r\nhi\r\n0\r\n\r\n",
    "1.0 plain": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "1.0 keep-alive header": b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\n"
                             b"Content-Length: 2\r\n\r\nhi",
    "1.0 connection keep-alive": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                                 b"Content-Length: 2\r\n\r\nhi",
    "1.0 proxy-connection": b"HTTP/1.0 200 OK\r\nProxy-Connection: Keep-Alive\r\n"
                            b"Content-Length: 2\r\n\r\nhi",
    "0.9": b"HTTP/0.9 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "1.2": b"HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "2.0": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "bad length": b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nhi",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\nhi",
    "204": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "304": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
    "100 then 200": b"HTTP/1.1 100 Continue\r\nX: y\r\n\r\nHTTP/1.1 201 Created\r\n"
                    b"Content-Length: 2\r\n\r\nhi",
    "folded": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nhi",
    "reason spaces": b"HTTP/1.1 404  Not  Found \r\nContent-Length: 0\r\n\r\n",
    "garbage": b"SMTP ready\r\n\r\n",
    "empty": b"",
    "bad status": b"HTTP/1.1 2x0 OK\r\n\r\n",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n",
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("case", STATUS_CASES)
def test_the_response_begins_as_http_client_does(case: str, method: str) -> None:
    raw = STATUS_CASES[case]
    assert _begun(_Response, raw, method) == _begun(http.client.HTTPResponse, raw, method)


def test_connections_use_the_fast_response() -> None:
    from channels.http import _Connection, _TLSConnection

    assert _Connection.response_class is _TLSConnection.response_class is _Response


# --- the lean preparation ------------------------------------------------------------

@pytest.fixture
def lean(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call's request was built by ``_lean_prepare`` (True) or by
    requests' own steps (False)."""
    import channels.http as module

    taken: list[bool] = []
    original = module._lean_prepare

    def spy(*args: Any, **kwargs: Any) -> Any:
        prepared = original(*args, **kwargs)
        taken.append(prepared is not None)
        return prepared

    monkeypatch.setattr(module, "_lean_prepare", spy)
    return taken


def test_the_daemons_calls_are_prepared_lean(lean: list[bool]) -> None:
    from channels.http import make_session, request
    from tests.channels.test_http_transport import RawServer, answer, replying

    with RawServer(replying(answer())) as server:
        session = make_session()
        for kwargs in ({"json": {"a": 1}, "headers": {"Authorization": "Bearer t"}},
                       {"data": {"chat_id": "1"}}, {"data": b"x"}, {}):
            response = request(session, "POST", f"{server.url}/x", **kwargs)
            assert response.ok  # type: ignore[union-attr]
        session.auth = ("redaksi", "rahasia")
        request(session, "POST", f"{server.url}/x", json={})
    assert lean == [True] * 5


def test_what_lean_preparation_leaves_to_requests_still_goes_out_the_same(
        lean: list[bool]) -> None:
    from channels.http import make_session, request
    from tests.channels.test_http_transport import RawServer, answer, replying

    with RawServer(replying(answer(headers=(("Set-Cookie", "a=1; Path=/"),)))) as server:
        userinfo = server.url.replace("//", "//user:pa%20ss@") + "/x"
        heads = []
        for via_requests in (True, False):
            session = make_session()
            for url, kwargs in ((userinfo, {"json": {}}),  # basic auth from the URL
                                (f"{server.url}/x", {"json": {}}),  # sets a cookie
                                (f"{server.url}/x", {"json": {}}),  # sends it back
                                (f"{server.url}/x", {"data": [("a", "1")]}),
                                (f"{server.url}/x", {"params": {"q": "1"}})):
                before = len(server.received)
                if via_requests:
                    session.request("POST", url, **kwargs)
                else:
                    assert request(session, "POST", url, **kwargs).ok  # type: ignore[union-attr]
                heads.append(server.received[before].head)
        assert heads[:5] == heads[5:]
        assert b"Authorization: Basic dXNlcjpwYSBzcw==" in heads[5]
        assert b"Cookie: a=1" in heads[7]
    # user:password in the URL and params: not even tried; cookies in the session (every
    # answer sets one) and list data: requests' steps
    assert lean == [False, False, False]


@pytest.mark.parametrize("kwargs", [
    {"headers": {"X-Bad": "a\r\nInjected: 1"}},
    {"headers": {"X-Bad": " leading space"}},
    {"headers": {"Bad:Name": "v"}},
    {"headers": {"X-Int": 1}},
    {"json": {"n": float("nan")}},
])
def test_what_requests_refuses_is_refused_the_same(kwargs: dict[str, Any],
                                                    lean: list[bool]) -> None:
    import requests

    from channels.base import InDoubt
    from channels.http import make_session, request
    from tests.channels.test_http_transport import RawServer, answer, replying

    with RawServer(replying(answer())) as server:
        old = request(requests.Session(), "POST", f"{server.url}/x", **kwargs)
        new = request(make_session(), "POST", f"{server.url}/x", **kwargs)
        assert server.received == []
    assert isinstance(old, InDoubt) and isinstance(new, InDoubt)
    assert new.detail == old.detail
    assert lean == [False]


# --- headers written straight to the connection's buffer --------------------------------

HEADER_PAIRS: list[tuple[Any, Any]] = [
    ("Authorization", "Bearer abc"), ("X-Empty", ""), ("X-Latin", "café"),
    ("X-Fold", "a\r\n b"), ("X-Bad", "a\r\nInjected: 1"), ("X-Bad-Lf", "a\nb"),
    ("X-Cr", "a\rb"), ("Bad:Name", "v"), ("Bad Name", "v"), (" Lead", "v"), ("", "v"),
    ("X-Wide", "✓"), ("Nämé", "v"), ("X-Int", 5), ("X-Bytes", b"raw"), (b"X-Bn", "v"),
]


@pytest.mark.parametrize(("name", "value"), HEADER_PAIRS)
def test_headers_are_written_as_putheader_writes_them(name: Any, value: Any) -> None:
    from requests.structures import CaseInsensitiveDict

    from channels.http import _put_headers

    def written(put: Any) -> Any:
        conn = http.client.HTTPConnection("example.test")
        conn.putrequest("POST", "/x")
        try:
            put(conn)
        except Exception as exc:  # compared below
            return type(exc), str(exc)
        return conn._buffer  # type: ignore[attr-defined]

    expected = written(lambda conn: (conn.putheader("A", "1"), conn.putheader(name, value)))
    for headers in ({"A": "1", name: value}, CaseInsensitiveDict({"A": "1", name: value})):
        assert written(lambda conn, h=headers: _put_headers(conn, h)) == expected
