"""A tiny real-socket HTTP server that each network's fake API builds on.

A fake registers handlers per (method, path pattern); each handler gets a
:class:`FakeRequest` and returns ``(status, headers, body)``. The server keeps a log
of every request it received and lets a test queue faults (a status with a body and
headers, a delay, a dropped connection) for the next matching requests, so adapters
are exercised over real HTTP exactly as against the network.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Body = bytes | str | dict | list | None
Response = tuple[int, dict[str, str], Body]
Handler = Callable[["FakeRequest"], Response]


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower(), default)


@dataclass
class Fault:
    """What to do instead of the normal answer for the next matching request."""

    status: int = 500
    body: Body = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: close the socket without answering (after reading the request)
    drop: bool = False
    #: still run the real handler (the request "was applied") before faulting
    apply: bool = False
    path: str | None = None
    #: only requests with this method (``None``: any), e.g. the POST of a path also read
    method: str | None = None


class _Listener(ThreadingHTTPServer):
    #: socketserver's default listen backlog is 5: a hundred accounts connecting at once
    #: overflowed it, and the dropped connection attempts were retried by the kernel one,
    #: then three seconds later (measured: a burst's first posts spread over 1-3 s). A
    #: real API's front end takes them all.
    request_queue_size = 1024


class FakeServer:
    """Base class: subclasses call :meth:`route` in ``__init__`` to define their API."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[FakeRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- definition ----------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` like ``/api/v1/statuses/{id}``; ``{name}`` matches one segment."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self.routes.append((method.upper(), re.compile(f"^{regex}$"), handler))

    def fail_next(self, fault: Fault | None = None, times: int = 1, **kwargs: Any) -> None:
        with self.lock:
            self.faults.extend([fault or Fault(**kwargs)] * times)

    # --- lifecycle -----------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                server._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._httpd = _Listener(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        # A short poll interval makes stop() quick (the default 0.5 s adds up over a suite).
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget received requests and pending faults (between tests sharing a server)."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()

    # --- inspection ----------------------------------------------------------------
    def calls(self, method: str | None = None, path: str | None = None) -> list[FakeRequest]:
        with self.lock:
            return [r for r in self.requests
                    if (method is None or r.method == method)
                    and (path is None or re.fullmatch(path, r.path))]

    # --- serving -------------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        request = FakeRequest(method=h.command, path=split.path, query=parse_qs(split.query),
                              headers=dict(h.headers.items()), body=body)
        with self.lock:
            self.requests.append(request)
            fault = next((f for f in self.faults
                          if (f.path is None or re.fullmatch(f.path, split.path))
                          and (f.method is None or f.method == h.command)), None)
            if fault:
                self.faults.remove(fault)
        if fault and fault.apply:
            self._answer(request)
        if fault:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                with contextlib.suppress(OSError):
                    h.connection.shutdown(socket.SHUT_RDWR)
                h.close_connection = True
                return
            self._write(h, fault.status, fault.headers, fault.body)
            return
        status, headers, payload = self._answer(request)
        self._write(h, status, headers, payload)

    def _answer(self, request: FakeRequest) -> Response:
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                try:
                    return handler(request)
                except Exception as exc:  # a fake's bug must show up as a 500 with reason
                    return 500, {}, {"error": f"fake server error: {exc!r}"}
        return 404, {}, {"error": f"no route {request.method} {request.path}"}

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
               body: Body) -> None:
        data, headers = encoded(body, headers)
        # Headers and body leave in two segments; without TCP_NODELAY Nagle holds the body
        # until the client's delayed ACK (about 40 ms per answer).
        with contextlib.suppress(OSError):
            h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            h.send_response(status)
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


def encoded(body: Body, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A handler's body as bytes, and its headers with the Content-Type that goes with it
    (JSON for a dict or list, text for a string) unless they name one."""
    if isinstance(body, dict | list):
        return json.dumps(body).encode(), {
            "Content-Type": "application/json; charset=utf-8", **headers}
    if isinstance(body, str):
        return body.encode(), {"Content-Type": "text/plain; charset=utf-8", **headers}
    return body or b"", headers
