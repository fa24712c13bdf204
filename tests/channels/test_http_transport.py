"""The fast path of :func:`channels.http.request`: the :class:`~channels.http.Transport`.

Most tests send the same call twice, once through ``session.request`` (what every
adapter used before) and once through ``request()``, against a raw socket server that
records the bytes it received and answers with scripted bytes. The two must put the
same bytes on the wire and give back equal ``requests.Response`` objects; failures
must come back as the same kind of outcome.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import re
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from channels.base import InDoubt, NotSent
from channels.http import Session, Transport, make_session, request


@dataclass
class Received:
    head: bytes  # request line and headers, as sent
    body: bytes

    @property
    def method(self) -> str:
        return self.head.split(b" ", 1)[0].decode()

    @property
    def target(self) -> str:
        return self.head.split(b" ", 2)[1].decode()

    def header(self, name: str) -> str | None:
        match = re.search(rb"(?im)^" + name.encode() + rb": *(.*?)\r$", self.head)
        return match.group(1).decode() if match else None


#: answers one request on a connection: returns False to close it afterwards
Script = Callable[[Received, socket.socket], bool]


def answer(status: str = "200 OK", body: bytes = b'{"ok": true}',
           headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),),
           *, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def replying(raw: bytes) -> Script:
    def script(_: Received, conn: socket.socket) -> bool:
        conn.sendall(raw)
        return True
    return script


class RawServer:
    """Reads HTTP/1.1 requests (Content-Length framed) off keep-alive connections and
    lets a script write whatever bytes it likes back."""

    def __init__(self, script: Script, *, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.received: list[Received] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            reader = conn.makefile("rb")
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                body = reader.read(int(length.group(1))) if length else b""
                if re.search(rb"(?im)^transfer-encoding: *chunked", head):
                    while True:  # kept as it came, framing and all
                        size = reader.readline()
                        body += size + reader.read(int(size, 16) + 2)
                        if int(size, 16) == 0:
                            break
                received = Received(head, body)
                self.received.append(received)
                if not self.script(received, conn):
                    return

    def close(self) -> None:
        self._listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer(replying(answer())) as raw:
        yield raw


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which path each call took: "session" (requests) or "transport" (the fast one)."""
    taken: list[str] = []
    original_request = requests.Session.request
    original_handle = Transport.handle_request

    def session_request(self: requests.Session, *args: Any, **kwargs: Any) -> Any:
        taken.append("session")
        return original_request(self, *args, **kwargs)

    def handle(self: Transport, *args: Any, **kwargs: Any) -> Any:
        taken.append("transport")
        return original_handle(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", session_request)
    monkeypatch.setattr(Transport, "handle_request", handle)
    return taken


def both(server: RawServer, method: str, path: str = "/api", *,
         session: requests.Session | None = None,
         **kwargs: Any) -> tuple[tuple[requests.Response, Received], ...]:
    """The same call through ``session.request`` and through ``request()``."""
    results = []
    for via_requests in (True, False):
        session = session or make_session()
        before = len(server.received)
        url = f"{server.url}{path}"
        if via_requests:
            response = session.request(method, url, timeout=(5, 5), **kwargs)
        else:
            response = request(session, method, url, timeout=(5, 5), **kwargs)
        assert isinstance(response, requests.Response), response
        results.append((response, server.received[before]))
    return tuple(results)


def same_response(a: requests.Response, b: requests.Response) -> None:
    assert type(b) is requests.Response
    assert (b.status_code, b.reason, b.url, b.ok) == (a.status_code, a.reason, a.url, a.ok)
    assert list(b.headers.items()) == list(a.headers.items())
    assert (b.content, b.text, b.encoding) == (a.content, a.text, a.encoding)
    assert b.request.method == a.request.method and b.request.url == a.request.url
    assert dict(b.request.headers) == dict(a.request.headers)
    assert b.request.body == a.request.body
    assert [r.status_code for r in b.history] == [r.status_code for r in a.history]


# --- what goes over the wire ---------------------------------------------------------

WIRE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "GET": ("GET", {}),
    "GET params": ("GET", {"params": {"q": "kegiatan humas", "limit": "25", "x": ["a", "b"]}}),
    "HEAD": ("HEAD", {}),
    "DELETE": ("DELETE", {}),
    "POST json": ("POST", {"json": {"text": "Rapat koordinasi — ✓", "n": 1, "f": 0.5}}),
    "POST json list": ("POST", {"json": [1, "dua", None]}),
    "PUT json": ("PUT", {"json": {"alt_text": "foto"}}),
    "POST form": ("POST", {"data": {"chat_id": "-100123", "text": "halo dunia & co"}}),
    "POST form pairs": ("POST", {"data": [("a", "1"), ("a", "2")]}),
    "POST bytes": ("POST", {"data": b"\x89PNG\r\n\x1a\n...",
                            "headers": {"Content-Type": "application/octet-stream"}}),
    "POST str": ("POST", {"data": "teks ✓", "headers": {"Content-Type": "text/plain"}}),
    "POST empty": ("POST", {}),
    "headers merged": ("POST", {"json": {}, "headers": {"Authorization": "Bearer abc",
                                                       "accept": "application/json",
                                                       "Connection": None}}),
    "own User-Agent": ("GET", {"headers": {"User-Agent": "tweepy-like/1.0"}}),
    "no User-Agent": ("GET", {"headers": {"User-Agent": None}}),
    "no Accept-Encoding": ("GET", {"headers": {"Accept-Encoding": None}}),
    "redirects off": ("POST", {"json": {"a": 1}, "allow_redirects": False}),
    # the lean preparation (channels.http._lean_prepare) against requests' own steps
    "json unicode escaped": ("POST", {"json": {"t": "ä ✓ 😀 \u2028", "k": ["\x00"]}}),
    "json scalar": ("POST", {"json": "teks"}),
    "json empty str": ("POST", {"json": ""}),
    "json None": ("POST", {"json": None}),
    "json with empty data": ("POST", {"json": {"a": 1}, "data": {}}),
    "data wins over json": ("POST", {"json": {"a": 1}, "data": {"b": "2"}}),
    "empty dict data": ("POST", {"data": {}}),
    "empty bytes data": ("PUT", {"data": b""}),
    "empty str data": ("POST", {"data": ""}),
    "form None value": ("POST", {"data": {"a": None}}),
    "form list value": ("POST", {"data": {"a": ["1", "2"], "b": "x y"}}),
    "query in URL": ("POST", {"json": {"a": 1}}),  # path below
    "lowercase method": ("post", {"json": {"a": 1}}),
    "PATCH no body": ("PATCH", {}),
    "GET json": ("GET", {"json": {"q": 1}}),
    "header order and case": ("POST", {"json": {}, "headers": {
        "X-B": "2", "accept": "text/plain", "X-A": "1", "content-type": "application/x-j"}}),
    "own Content-Length": ("POST", {"data": b"abc", "headers": {"Content-Length": "3"}}),
    "own content-length no body": ("POST", {"headers": {"content-length": "0"}}),
    "own Content-Type form": ("POST", {"data": {"a": "1"},
                                       "headers": {"Content-Type": "text/x-form"}}),
    "Content-Type removed": ("POST", {"json": {"a": 1}, "headers": {"Content-Type": None}}),
    "Host given": ("GET", {"headers": {"Host": "example.test"}}),
    "value with inner spaces": ("GET", {"headers": {"X-V": "a  b\tc"}}),
    "bytes header value": ("GET", {"headers": {"X-V": b"raw"}}),
}

WIRE_PATHS = {"query in URL": "/api/v1/x?sig=a%2Fb&n=1"}


@pytest.mark.parametrize("case", WIRE_CASES)
def test_the_transport_sends_what_requests_sends(server: RawServer, spy: list[str],
                                                  case: str) -> None:
    method, kwargs = WIRE_CASES[case]
    (old, old_wire), (new, new_wire) = both(server, method, WIRE_PATHS.get(case, "/api"),
                                            **kwargs)
    assert spy == ["session", "transport"]
    assert new_wire.head == old_wire.head
    assert new_wire.body == old_wire.body
    same_response(old, new)


def test_multipart_files_go_out_as_requests_encodes_them(server: RawServer,
                                                         spy: list[str]) -> None:
    files = {"photo": ("rakor.jpg", b"\xff\xd8\xff" + bytes(range(256)) * 4, "image/jpeg")}
    (_, old_wire), (_, new_wire) = both(server, "POST", data={"chat_id": "42"}, files=files)
    assert spy == ["session", "transport"]
    boundary = re.compile(rb"[0-9a-f]{32}")  # random per request
    assert boundary.sub(b"B", new_wire.head) == boundary.sub(b"B", old_wire.head)
    assert boundary.sub(b"B", new_wire.body) == boundary.sub(b"B", old_wire.body)
    assert b'name="photo"; filename="rakor.jpg"' in new_wire.body


def test_basic_auth_on_the_session_goes_out_as_wordpress_needs_it(server: RawServer,
                                                                  spy: list[str]) -> None:
    session = make_session()
    session.auth = ("redaksi", "abcd efgh ijkl")
    (_, old_wire), (_, new_wire) = both(server, "POST", session=session, json={"a": 1})
    assert spy == ["session", "transport"]
    assert new_wire.head == old_wire.head
    assert new_wire.header("Authorization") == "Basic cmVkYWtzaTphYmNkIGVmZ2ggaWprbA=="


def test_a_keep_alive_connection_is_reused_and_a_closed_one_replaced(spy: list[str]) -> None:
    closes_after_second = iter([True, False, True, True])

    def script(_: Received, conn: socket.socket) -> bool:
        conn.sendall(answer())
        return next(closes_after_second)

    with RawServer(script) as server:
        session = make_session()
        for _ in range(4):
            response = request(session, "POST", f"{server.url}/x", json={})
            assert isinstance(response, requests.Response) and response.ok
            time.sleep(0.05)  # lets the server's close arrive before the next call
        assert spy == ["transport"] * 4
        assert server.connections == 2  # closed by the server after the 2nd answer
        session.close()
        assert session.transport._idle == {}


# --- what comes back -----------------------------------------------------------------

def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


ANSWERS: dict[str, bytes] = {
    "json utf-8": answer(body='{"teks": "✓ selesai"}'.encode(),
                         headers=(("Content-Type", "application/json; charset=utf-8"),)),
    "text latin-1": answer(body="café".encode("latin-1"),
                           headers=(("Content-Type", "text/plain; charset=iso-8859-1"),)),
    "html no charset": answer(body=b"<p>ok</p>", headers=(("Content-Type", "text/html"),)),
    "chunked": answer(body=chunked([b'{"id": ', b'"123"}']), length=False,
                      headers=(("Content-Type", "application/json"),
                               ("Transfer-Encoding", "chunked"))),
    "gzip": answer(body=gzip.compress(b'{"zipped": true}'),
                   headers=(("Content-Type", "application/json"),
                            ("Content-Encoding", "gzip"))),
    "deflate": answer(body=zlib.compress(b'{"deflated": true}'),
                      headers=(("Content-Encoding", "deflate"),)),
    "gzip chunked": answer(body=chunked([gzip.compress(b"x" * 5000)]), length=False,
                           headers=(("Content-Encoding", "gzip"),
                                    ("Transfer-Encoding", "chunked"))),
    "repeated headers": answer(headers=(("Link", "<a>; rel=next"), ("X-Rate", "1"),
                                        ("link", "<b>; rel=prev"))),
    "folded header": answer(headers=(("X-Long", "satu\r\n dua"),)),
    "401": answer("401 Unauthorized", b'{"error": "bad token"}'),
    "429 Retry-After": answer("429 Too Many Requests", b"slow down",
                              headers=(("retry-after", "30"),)),
    "204": answer("204 No Content", b"", headers=()),
    "503": answer("503 Service Unavailable", b"<html>down</html>",
                  headers=(("Content-Type", "text/html"),)),
    "100 continue first": b"HTTP/1.1 100 Continue\r\n\r\n" + answer(),
}


@pytest.mark.parametrize("case", ANSWERS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_response_is_the_one_requests_builds(spy: list[str], case: str,
                                                 method: str) -> None:
    with RawServer(replying(ANSWERS[case])) as server:
        (old, _), (new, _) = both(server, method, json={"a": 1} if method == "POST" else None)
    assert spy == ["session", "transport"]
    same_response(old, new)
    assert new.elapsed.total_seconds() > 0
    if new.headers.get("content-type", "").startswith("application/json"):
        assert new.json() == old.json()


def test_a_head_answer_has_no_body_even_with_a_length(spy: list[str]) -> None:
    with RawServer(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")) as server:
        (old, _), (new, _) = both(server, "HEAD")
    same_response(old, new)
    assert new.content == b""


def test_cookies_a_server_sets_are_sent_back_as_requests_would(spy: list[str]) -> None:
    raw = answer(headers=(("Set-Cookie", "__cf_bm=abc; Path=/; HttpOnly"),
                          ("Set-Cookie", "lang=id; Path=/api")))
    with RawServer(replying(raw)) as server:
        for via_requests in (True, False):
            session = make_session()
            url = f"{server.url}/api/x"
            if via_requests:
                first = session.request("GET", url)
                session.request("GET", url)
            else:
                first = request(session, "GET", url)  # type: ignore[assignment]
                request(session, "GET", url)
            assert first.cookies.get("lang") == "id"
            assert session.cookies.get("__cf_bm") == "abc"
        old_second, new_second = server.received[1], server.received[3]
    assert new_second.header("Cookie") == old_second.header("Cookie") is not None
    assert new_second.head == old_second.head


# --- redirects -----------------------------------------------------------------------

def redirecting(status: str, location: str) -> Script:
    def script(received: Received, conn: socket.socket) -> bool:
        if received.target.startswith("/start"):
            conn.sendall(answer(status, b"moved", headers=(("Location", location),)))
        else:
            conn.sendall(answer(body=b'{"landed": "%s"}' % received.method.encode()))
        return True
    return script


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "303 See Other",
                                    "307 Temporary Redirect", "308 Permanent Redirect"])
def test_redirects_are_followed_as_requests_follows_them(spy: list[str], status: str) -> None:
    with RawServer(redirecting(status, "/landing")) as server:
        (old, _), (new, _) = both(server, "POST", "/start", json={"a": 1},
                                  headers={"Authorization": "Bearer t"})
        old_hop, new_hop = server.received[1], server.received[3]
    assert spy == ["session", "transport"]
    same_response(old, new)
    assert [h.status_code for h in new.history] == [int(status[:3])]
    assert new_hop.head == old_hop.head and new_hop.body == old_hop.body
    expected = "POST" if status[:3] in ("307", "308") else "GET"
    assert new_hop.method == expected and new.json() == {"landed": expected}


def test_authorization_is_dropped_when_a_redirect_changes_host(spy: list[str]) -> None:
    with RawServer(replying(answer())) as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/landing"
        with RawServer(redirecting("307 Temporary Redirect", target)) as server:
            session = make_session()
            session.auth = ("redaksi", "rahasia")
            (old, _), (new, _) = both(server, "POST", "/start", session=session,
                                      json={"a": 1}, headers={"X-Token": "ok"})
    same_response(old, new)
    assert len(elsewhere.received) == 2
    assert elsewhere.received[1].head == elsewhere.received[0].head
    assert elsewhere.received[1].header("Authorization") is None


def test_a_redirect_not_followed_is_returned_with_its_next_request(spy: list[str]) -> None:
    with RawServer(redirecting("302 Found", "/landing")) as server:
        (old, _), (new, _) = both(server, "POST", "/start", json={}, allow_redirects=False)
        assert len(server.received) == 2
    same_response(old, new)
    assert new.is_redirect and new.next is not None and new.next.method == "GET"
    assert new.next.url == old.next.url


# --- failures ------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_is_not_sent_and_the_token_in_the_url_is_redacted(spy: list[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot123456:SECRETTOKEN/sendMessage"
    outcome = request(make_session(), "POST", url, secrets=["123456:SECRETTOKEN"],
                      json={"text": "hi"})
    assert spy == ["transport"]
    assert isinstance(outcome, NotSent)
    assert "connection failed" in outcome.reason and "SECRETTOKEN" not in outcome.reason
    assert "/bot***/sendMessage" in outcome.reason


def test_an_unknown_host_is_not_sent(spy: list[str]) -> None:
    outcome = request(make_session(), "GET", "http://no-such-host.invalid/x")
    assert spy == ["transport"]
    assert isinstance(outcome, NotSent) and "connection failed" in outcome.reason


def test_a_connect_timeout_is_not_sent(spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_network(*args: Any, **kwargs: Any) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", slow_network)
    outcome = request(make_session(), "POST", "http://127.0.0.1:9/x", json={})
    assert isinstance(outcome, NotSent) and outcome.reason.startswith("connect timeout")


def test_a_read_timeout_is_in_doubt_and_never_retried(spy: list[str]) -> None:
    def silent(_: Received, conn: socket.socket) -> bool:
        time.sleep(0.6)
        return False

    with RawServer(silent) as server:
        started = time.monotonic()
        outcome = request(make_session(), "POST", f"{server.url}/x", json={"a": 1},
                          timeout=(2, 0.2))
        assert time.monotonic() - started < 0.5
        assert isinstance(outcome, InDoubt)
        assert outcome.detail.startswith("no answer in 0.2s after sending")
        time.sleep(0.1)
        assert len(server.received) == 1


def reset(conn: socket.socket) -> None:
    """Abort the connection with an RST, as a crashing proxy would."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize("how", ["closed before answering", "reset before answering",
                                 "reset mid-answer", "cut mid-body", "garbage status"])
def test_a_connection_broken_after_sending_is_in_doubt_as_with_requests(
        spy: list[str], how: str) -> None:
    def script(_: Received, conn: socket.socket) -> bool:
        if how == "reset mid-answer":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
            time.sleep(0.05)
            reset(conn)
        elif how == "reset before answering":
            reset(conn)
        elif how == "cut mid-body":
            conn.sendall(answer(body=b'{"id": "1234567890"}')[:-5])
            conn.shutdown(socket.SHUT_RDWR)
        elif how == "garbage status":
            conn.sendall(b"SMTP ready\r\n\r\n")
        return False

    with RawServer(script) as server:
        url = f"{server.url}/x"
        old = request(requests.Session(), "POST", url, json={"a": 1})
        session = make_session()
        first = request(session, "POST", url, json={"a": 1})
        second = request(session, "POST", url, json={"a": 1})  # on a pooled connection
        time.sleep(0.05)
        assert spy == ["session", "transport", "transport"]
        assert isinstance(old, InDoubt), old
        for new in (first, second):
            assert isinstance(new, InDoubt), new
            assert new.detail.startswith("connection broke after sending")
        assert len(server.received) == 3  # one per call: nothing resent


def test_an_undecodable_body_is_in_doubt_as_with_requests(spy: list[str]) -> None:
    raw = answer(body=b"not gzip at all", headers=(("Content-Encoding", "gzip"),))
    with RawServer(replying(raw)) as server:
        old = request(requests.Session(), "POST", f"{server.url}/x", json={})
        new = request(make_session(), "POST", f"{server.url}/x", json={})
    assert spy == ["session", "transport"]
    assert isinstance(old, InDoubt) and isinstance(new, InDoubt), (old, new)


def test_an_early_answer_to_a_large_upload_is_read_as_with_requests(spy: list[str]) -> None:
    """A server that refuses a large body (413) after the headers and closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def refuse_uploads() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(65536)
                conn.sendall(answer("413 Payload Too Large", b'{"error": "too big"}',
                                    headers=(("Connection", "close"),)))
                conn.shutdown(socket.SHUT_WR)
                time.sleep(0.05)
                reset(conn)

    threading.Thread(target=refuse_uploads, daemon=True).start()
    image = bytes(16 * 1024 * 1024)
    try:
        old = request(requests.Session(), "POST", f"http://127.0.0.1:{port}/media",
                      data=image, headers={"Content-Type": "image/jpeg"})
        new = request(make_session(), "POST", f"http://127.0.0.1:{port}/media",
                      data=image, headers={"Content-Type": "image/jpeg"})
    finally:
        listener.close()
    assert spy == ["session", "transport"]
    assert isinstance(old, requests.Response) and isinstance(new, requests.Response)
    assert (new.status_code, new.json()) == (old.status_code, old.json()) == (
        413, {"error": "too big"})


def test_a_server_that_does_not_speak_tls_is_a_tls_error_not_sent(spy: list[str]) -> None:
    def plain(_: Received, conn: socket.socket) -> bool:
        conn.sendall(answer())
        return False

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    try:
        outcome = request(make_session(), "POST", f"https://127.0.0.1:{port}/x", json={})
    finally:
        listener.close()
    assert spy == ["transport"]
    assert isinstance(outcome, NotSent) and outcome.reason.startswith("TLS error")


# --- what falls back to session.request ------------------------------------------------

class _Signed(requests.auth.AuthBase):
    """Like OAuth1: computes a header from the prepared request."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Signed {r.method} {len(r.body or b'')}"
        return r


FALLBACKS: dict[str, tuple[Callable[[Session], None], dict[str, Any]]] = {
    "callable session auth": (lambda s: setattr(s, "auth", _Signed()), {}),
    "auth per call": (lambda s: None, {"auth": _Signed()}),
    "stream": (lambda s: None, {"stream": True}),
    "cookies per call": (lambda s: None, {"cookies": {"a": "b"}}),
    "verify off": (lambda s: setattr(s, "verify", False), {}),
    "session params": (lambda s: s.params.update({"key": "v"}), {}),
    "response hook": (lambda s: s.hooks["response"].append(lambda r, **kw: r), {}),
    "own adapter": (lambda s: s.mount("http://127.0.0.1", HTTPAdapter()), {}),
    "proxy": (lambda s: s.proxies.update({"http": "http://127.0.0.1:9"}), {}),
    "file body": (lambda s: None, {"data": iter([b"a", b"b"])}),
}


@pytest.mark.parametrize("case", FALLBACKS)
def test_what_the_transport_does_not_cover_goes_through_requests(
        server: RawServer, spy: list[str], case: str) -> None:
    configure, kwargs = FALLBACKS[case]
    session = make_session()
    configure(session)
    outcome = request(session, "POST", f"{server.url}/x", **kwargs)
    assert spy == ["session"]
    if case == "proxy":  # nothing listens there: requests' own failure, classified
        assert isinstance(outcome, NotSent)
    else:
        assert isinstance(outcome, requests.Response) and outcome.ok


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1:1,127.0.0.1",
                                      "127.0.0.0/8", "*", "{port}"])
@pytest.mark.parametrize("kwargs", [{}, {"stream": True}], ids=["transport", "requests"])
def test_a_host_in_no_proxy_is_reached_directly(
        server: RawServer, monkeypatch: pytest.MonkeyPatch, no_proxy: str,
        kwargs: dict[str, Any]) -> None:
    """requests reads NO_PROXY only with trust_env on, which make_session turns off (it
    rescanned the environment on every call): Siar reads it once, with the proxies. An
    intranet WordPress or Mastodon behind NO_PROXY must not be sent to the proxy."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", no_proxy.replace("{port}", server.url.split("//")[1]))
    session = make_session()
    outcome = request(session, "POST", f"{server.url}/x", **kwargs)
    assert isinstance(outcome, requests.Response) and outcome.ok


@pytest.mark.parametrize("no_proxy", ["example.org", "10.0.0.0/8", "127.0.0.1:1"])
def test_a_host_not_in_no_proxy_still_goes_through_the_proxy(
        server: RawServer, monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    outcome = request(make_session(), "POST", f"{server.url}/x")
    assert isinstance(outcome, NotSent)  # the proxy refused the connection


def test_a_plain_requests_session_still_works(server: RawServer, spy: list[str]) -> None:
    response = request(requests.Session(), "GET", f"{server.url}/x")
    assert spy == ["session"]
    assert isinstance(response, requests.Response) and response.ok


@dataclass
class Certificates:
    ca_file: Path
    server: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A private CA and a certificate it signed for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key: Any, issuer: str, signer: Any, *, ca: bool) -> Any:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("Siar test CA", ca_key, "Siar test CA", ca_key, ca=True)
    leaf = cert("127.0.0.1", leaf_key, "Siar test CA", ca_key, ca=False)
    folder = tmp_path_factory.mktemp("tls")
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(pem) + leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "leaf.pem")
    return Certificates(folder / "ca.pem", server)


def test_https_is_verified_against_the_configured_ca_bundle(
        certificates: Certificates, spy: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with RawServer(replying(answer()), tls=certificates.server) as server:
        unknown_ca = request(make_session(), "POST", f"{server.url}/x", json={})
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_file))
        (old, old_wire), (new, new_wire) = both(server, "POST", json={"a": 1})
        again = request(make_session(), "GET", server.url.replace("127.0.0.1", "localhost"))
    assert spy == ["transport", "session", "transport", "transport"]
    # certifi does not know our CA: refused before anything was sent, as with requests
    assert isinstance(unknown_ca, NotSent) and unknown_ca.reason.startswith("TLS error")
    assert "CERTIFICATE_VERIFY_FAILED" in unknown_ca.reason
    same_response(old, new)
    assert new_wire.head == old_wire.head and new_wire.body == old_wire.body
    # the certificate names 127.0.0.1, not localhost: the host name is checked
    assert isinstance(again, NotSent) and again.reason.startswith("TLS error")


def test_the_ca_bundle_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Any) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    session = make_session()
    assert session.verify == str(tmp_path / "missing.pem")
    # as with requests, a bundle that is not there is a configuration error, raised
    with pytest.raises(OSError, match="CA certificate bundle"):
        request(session, "GET", "https://127.0.0.1:9/x")
    with pytest.raises(OSError, match="CA certificate bundle"):
        session.request("GET", "https://127.0.0.1:9/x")
