"""A local HTTP server that misbehaves on purpose, over real sockets, one thread per
connection.

Every request it reads gets the answer of the server's current :attr:`FaultServer.fault`
(a name from :data:`FAULTS`), whatever its path, except ``/landing``, which always
answers ``200`` with JSON (where redirects point). It records what it received and
sets :attr:`FaultServer.arrived` when a request has been read completely, so tests wait
for events instead of sleeping.

Faults that never end by themselves (a trickle, an endless body) stop when the client
goes away, or after ``give_up_after`` seconds, when they finish the answer properly: a
client without a deadline or a cap then gets a complete answer, so a test of the
deadline or the cap fails rather than hangs.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

#: answered to /landing, and to "ok"
LANDED = b'{"id": "landed-1", "url": "https://example.test/landed-1", "ok": true}'


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def answer(status: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (),
           *, content_type: str = "application/json", length: bool = True) -> bytes:
    """An HTTP/1.1 answer's bytes (``length=False``: no Content-Length, for framing
    given in ``headers``)."""
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}",
             *([f"Content-Length: {len(body)}"] if length else []),
             *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


#: answers one request on a connection; returns False to close the connection after it
Script = Callable[[Received, socket.socket], bool]


class ScriptedServer:
    """Reads HTTP/1.1 requests off keep-alive connections (TLS when given a context) and
    lets a script write whatever bytes it likes back."""

    def __init__(self, script: Script | None = None, *,
                 tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.received: list[Received] = []
        #: connections accepted so far
        self.connections = 0
        #: set each time a request was read completely (tests clear it)
        self.arrived = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def respond(self, received: Received, conn: socket.socket) -> bool:
        assert self.script is not None
        return self.script(received, conn)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError), conn:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            reader = conn.makefile("rb")
            while True:
                received = read_request(reader)
                if received is None:
                    return
                with self._lock:
                    self.received.append(received)
                self.arrived.set()
                if not self.respond(received, conn):
                    return

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FaultServer(ScriptedServer):
    """``with FaultServer() as server: server.fault = "trickle"``; send to ``server.url``."""

    def __init__(self, *, give_up_after: float = 15.0) -> None:
        super().__init__()
        self.fault = "ok"
        #: Retry-After given with the 429s (seconds)
        self.wait_seconds = 120
        #: where the redirects point (a test puts a secret in it to see it redacted)
        self.location = "/landing"
        self.give_up_after = give_up_after

    def respond(self, received: Received, conn: socket.socket) -> bool:
        fault = "ok" if received.target.startswith("/landing") else self.fault
        return FAULTS[fault](self, conn)

    # --- the faults -------------------------------------------------------------------

    def _ok(self, conn: socket.socket) -> bool:
        conn.sendall(answer("200 OK", LANDED))
        return True

    def _rate_limited_seconds(self, conn: socket.socket) -> bool:
        conn.sendall(answer("429 Too Many Requests", b'{"error": "Too many requests"}',
                             (("Retry-After", str(self.wait_seconds)),)))
        return True

    def _rate_limited_date(self, conn: socket.socket) -> bool:
        when = email.utils.formatdate(time.time() + self.wait_seconds, usegmt=True)
        conn.sendall(answer("429 Too Many Requests", b'{"error": "Too many requests"}',
                             (("Retry-After", when),)))
        return True

    def _server_error(self, conn: socket.socket) -> bool:
        conn.sendall(answer("500 Internal Server Error", b'{"error": "boom"}'))
        return True

    def _unavailable(self, conn: socket.socket) -> bool:
        conn.sendall(answer("503 Service Unavailable", b"<html>maintenance</html>",
                             (("Retry-After", str(self.wait_seconds)),),
                             content_type="text/html"))
        return True

    def _unauthorized(self, conn: socket.socket) -> bool:
        conn.sendall(answer("401 Unauthorized", b'{"error": "The access token is invalid"}'))
        return True

    def _malformed_json(self, conn: socket.socket) -> bool:
        conn.sendall(answer("200 OK", b'{"id": "12345", "url": '))
        return True

    def _html(self, conn: socket.socket) -> bool:
        conn.sendall(answer("200 OK", b"<html><body>Please enable cookies</body></html>",
                             content_type="text/html"))
        return True

    def _trickle(self, conn: socket.socket) -> bool:
        """A complete answer's headers, then its body a byte every 50 ms, all but the
        last byte, which comes only when the server gives up."""
        body = LANDED
        conn.sendall(answer("200 OK", body)[:-len(body)])
        stop = time.monotonic() + self.give_up_after
        sent = 0
        conn.settimeout(0.05)
        while time.monotonic() < stop:
            with contextlib.suppress(TimeoutError):
                if conn.recv(1) == b"":
                    return False  # the client went away
            if sent < len(body) - 1:
                conn.sendall(body[sent:sent + 1])
                sent += 1
        conn.settimeout(None)
        conn.sendall(body[sent:])
        return True

    def _endless(self, conn: socket.socket) -> bool:
        """A chunked body that never ends (until the client goes away or much later)."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 65536
        frame = b"%x\r\n%b\r\n" % (len(chunk), chunk)
        stop = time.monotonic() + self.give_up_after
        conn.sendall(b"1\r\n[\r\n")
        while time.monotonic() < stop:
            conn.sendall(frame)
        conn.sendall(b"1\r\n]\r\n0\r\n\r\n")
        return True

    def _huge_announced(self, conn: socket.socket) -> bool:
        """A Content-Length far over any cap (the body never comes)."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000000000\r\n\r\n{")
        return False

    def _close_after_request(self, conn: socket.socket) -> bool:
        return False

    def _redirect(self, conn: socket.socket, status: str) -> bool:
        conn.sendall(answer(status, b"", (("Location", self.location),)))
        return True

def read_request(reader: Any) -> Received | None:
    """One HTTP/1.1 request off a connection (``None`` when the client closed it)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            return None
        head += line
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = reader.read(int(headers["content-length"]))
    elif re.search(r"chunked", headers.get("transfer-encoding", "")):
        while True:
            size = int(reader.readline().split(b";")[0], 16)
            body += reader.read(size)
            reader.readline()
            if size == 0:
                break
    return Received(method, target, headers, body)


#: every fault by name
FAULTS: dict[str, Callable[[FaultServer, socket.socket], bool]] = {
    "ok": FaultServer._ok,
    "rate_limited_seconds": FaultServer._rate_limited_seconds,
    "rate_limited_date": FaultServer._rate_limited_date,
    "server_error": FaultServer._server_error,
    "unavailable": FaultServer._unavailable,
    "unauthorized": FaultServer._unauthorized,
    "malformed_json": FaultServer._malformed_json,
    "html": FaultServer._html,
    "trickle": FaultServer._trickle,
    "endless": FaultServer._endless,
    "huge_announced": FaultServer._huge_announced,
    "close_after_request": FaultServer._close_after_request,
    "redirect_found": lambda server, conn: server._redirect(conn, "302 Found"),
    "redirect_temporary": lambda server, conn: server._redirect(conn, "307 Temporary Redirect"),
}


def json_body(received: Received) -> Any:
    return json.loads(received.body or b"null")
