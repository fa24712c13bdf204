"""Requests sent through libcurl (pycurl): the same request, a third of the client CPU.

Measured (``bench/bench_http.py``, same minutes): a keep-alive JSON POST through
:func:`channels.http.request` costs 0.25-0.27 ms of client CPU this way against
0.63-0.72 ms through requests and urllib3 (a bare reused ``pycurl.Curl``: 0.11), which was
about half of the daemon's CPU in a burst. :func:`channels.http.request` prepares every
request with requests' public steps as before (the same headers, body and exceptions for
a request that can never be sent); this module carries the prepared request over the
wire and builds the ``requests.Response`` adapters read.

It takes what the lean path takes (no cookies, auth, hooks or files; creates and lookups,
a lookup's redirects then followed by requests' ``Session.resolve_redirects``) when the
body is in memory and at most :data:`LARGE_BODY`, no proxy applies, no client certificate
is set and the read timeout is whole seconds (libcurl counts a stalled transfer in
seconds); anything else stays on
requests' path (:mod:`channels.transport`), streamed uploads included. What stays:

* **the first byte**: libcurl's pre-request callback runs once the connection is ready,
  right before the request is written; it notes the create (``note_create_sent``) and
  marks the call as written, so a failure before it is ``NotSent`` and after it
  ``InDoubt``. libcurl silently sends a request again on a fresh connection when a reused
  one died before answering: once the request was written, no new socket is given to it,
  so a create is never sent twice (the first may have been applied: in doubt);
* **connection reuse**: each session keeps a few handles, each with its connection; an
  account posting in sequence takes the same handle, hence the same connection. libcurl
  does not look whether a kept connection was closed by the server while idle, so, as
  urllib3 does, one with anything to read is dropped before the request;
* **the deadline**: libcurl's own total timeout (connect, send, the whole answer) is the
  call's deadline, an upload's longer by its size as on requests' path; the connect
  timeout is libcurl's, the read timeout a transfer below one byte a second for that
  many seconds;
* **the cap**: the answer is counted decoded as it arrives and the transfer aborted past
  the cap; a larger ``Content-Length`` is refused before any of the body is read; an
  aborted transfer's connection is closed, never reused;
* **TLS**: verified against certifi's bundle (requests' default) or the session's
  ``verify`` path, host names checked; HTTP/1.1 as before (no HTTP/2 negotiation);
* **proxies**: decided once by ``make_session`` as before; libcurl's own reading of
  ``http_proxy`` and ``NO_PROXY`` is turned off;
* **failures** are raised as the exceptions of requests' adapter (``ConnectionError``,
  ``ConnectTimeout``, ``ReadTimeout``, ``SSLError``, ``InvalidURL``), so one
  classification (:func:`channels.http.request`) serves both ways.
"""

from __future__ import annotations

import math
import os
import select
import socket
import threading
import time
from typing import Any

import pycurl
import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from channels.answers import build_response
from channels.base import note_create_sent
from channels.calls import Call, ResponseTooLarge
from channels.transport import LimitedAdapter, bypasses_proxy

__all__ = ["CurlAdapter"]

#: handles kept per session beyond those in use (as requests' pool_maxsize)
KEPT_HANDLES = 16
#: libcurl's errors for a TLS failure (handshake, certificate, peer verification)
_TLS_ERRORS = frozenset({35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98})
#: a malformed URL or a scheme libcurl will not speak: no retry can send it
_UNSENDABLE = frozenset({1, 3})
#: curl's own headers a request without them must not get (``Name:`` removes one)
_CURL_ADDS = tuple((name.lower(), f"{name}:".encode())
                   for name in ("Accept", "Content-Type", "Expect", "Transfer-Encoding"))
#: the User-Agent urllib3 sends when the request names none (pycurl would name itself)
_URLLIB3_AGENT = f"User-Agent: python-urllib3/{urllib3.__version__}".encode()


#: bodies above this go requests' way: a server that answers early (413) and closes while a
#: large body is still being written gets its answer read by urllib3 after the broken pipe,
#: while libcurl may report the broken pipe alone; creates and lookups are far smaller
LARGE_BODY = 1024 * 1024


class CurlAdapter(LimitedAdapter):
    """:class:`~channels.transport.LimitedAdapter` (deadline, cap, pools, proxies for
    requests' path) that also sends prepared requests through libcurl, :meth:`exchange`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: idle handles, each with the socket of the connection it last used (or -1)
        self._idle: list[tuple[_Exchange, int]] = []
        self._lock = threading.Lock()
        #: libcurl's option for each CA bundle or folder (None: not there)
        self._bundles: dict[str, tuple[int, str] | None] = {}

    def takes(self, prepared: requests.PreparedRequest, timeout: Any, verify: Any, cert: Any,
              proxies: dict[str, str]) -> bool:
        """Whether :meth:`exchange` sends ``prepared`` the way requests' path would."""
        body = prepared.body
        if not (body is None or isinstance(body, bytes | str)) or cert is not None:
            return False
        if body is not None and len(body) > LARGE_BODY:
            return False
        read = timeout[1] if isinstance(timeout, tuple) else timeout
        if read is not None and not (isinstance(read, int | float) and float(read).is_integer()
                                     and read > 0):
            return False
        url = prepared.url or ""
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            return False
        if proxies.get(scheme) or proxies.get("all"):
            host, port = _host_port(url)
            if not (self.no_proxy and bypasses_proxy(host, port, self.no_proxy)):
                return False
        return self._ca(verify) is not None

    def _ca(self, verify: Any) -> tuple[int, str] | tuple[()] | None:
        """libcurl's option and path for ``verify`` (``()``: not verified; ``None``: a
        bundle that is not there, for requests' path to raise its ``OSError``), looked up
        once per value: requests' path stats the bundle once per origin too."""
        if verify is False:
            return ()
        bundle = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
        known = self._bundles.get(bundle, False)
        if known is False:
            known = ((pycurl.CAPATH, bundle) if os.path.isdir(bundle) else
                     (pycurl.CAINFO, bundle) if os.path.exists(bundle) else None)
            self._bundles[bundle] = known
        return known

    def exchange(self, prepared: requests.PreparedRequest, timeout: Any, verify: Any,
                 call: Call) -> requests.Response:
        """Send ``prepared`` and read its whole answer within the call's deadline and the
        cap; a failure raises what requests' adapter would."""
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        call.allowed = self.deadline_for(body)
        exchange = self._take()
        exchange.begin(call, self.max_response_bytes, prepared.method == "HEAD")
        try:
            _configure(exchange, prepared, body, timeout, self._ca(verify), call.allowed)
            try:
                exchange.handle.perform()
            except pycurl.error as exc:
                raise _as_requests_error(exc, exchange, prepared) from None
            response = exchange.response(prepared, self)
        finally:
            exchange.end()  # the call and the answer are not kept
            self._give_back(exchange)
        return response

    def _take(self) -> _Exchange:
        """An idle handle (with its exchange) whose connection is still open (the last
        given back: its connection is the warmest), or a new one.

        libcurl reuses a kept connection without looking whether the server closed it
        meanwhile (its idle timeout) and then sends the request again on a new one, which
        a create must not be: so, as urllib3 does before each reuse, a connection that
        has something to read while idle (the server's FIN, or stray bytes) is dropped
        with its handle before the request.
        """
        while True:
            with self._lock:
                if not self._idle:
                    return _Exchange(pycurl.Curl())
                exchange, sock = self._idle.pop()
            if sock < 0 or not select.select([sock], [], [], 0)[0]:
                return exchange
            exchange.handle.close()

    def _give_back(self, exchange: _Exchange) -> None:
        sock = exchange.handle.getinfo(pycurl.ACTIVESOCKET)
        with self._lock:
            if len(self._idle) < KEPT_HANDLES:
                self._idle.append((exchange, sock))
                return
        exchange.handle.close()

    def close(self) -> None:
        """Close requests' pools and every idle libcurl handle (with its connections)."""
        super().close()
        with self._lock:
            idle, self._idle = self._idle, []
        for exchange, _ in idle:
            exchange.handle.close()


def _host_port(url: str) -> tuple[str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "", parts.port


def _configure(exchange: _Exchange, prepared: requests.PreparedRequest, body: bytes | None,
               timeout: Any, ca: tuple[int, str] | tuple[()] | None, allowed: float) -> None:
    """Set the exchange's handle up for one request.

    What a request shares with the handle's last one (the method, the timeouts, TLS, the
    cap: an account's creates all alike) stays set; when any of it differs, every option
    left from the last request is reset first (``reset`` keeps the handle's connections)
    and all are set again. The URL, the body, the headers and the deadline are set for
    each request."""
    handle = exchange.handle
    setopt = handle.setopt
    method = prepared.method or "GET"
    headers: list[bytes] = []
    named = set()
    encoding = None
    # the names as given and as lower-cased, in one pass each over the same store (items()
    # looks every name up again, a quarter of this function's time)
    fields = prepared.headers
    for name, (lower, value) in zip(fields, fields.lower_items(), strict=True):
        if lower == "accept-encoding":
            encoding = value  # libcurl sends it and decodes what comes back (as requests)
            continue
        named.add(lower)
        line = _LINES.get((name, value))
        if line is None:
            line = _header_line(name, value)
        headers.append(line)
    headers += [removal for lower, removal in _CURL_ADDS if lower not in named]
    if "user-agent" not in named:  # what urllib3 sends then (pycurl would name itself)
        headers.append(_URLLIB3_AGENT)
    connect = timeout[0] if isinstance(timeout, tuple) else timeout
    read = timeout[1] if isinstance(timeout, tuple) else timeout
    connect_ms = None if connect is None else max(1, math.ceil(min(connect, allowed) * 1000))
    fixed = (method, body is None, encoding, connect_ms, read, ca, exchange.head, exchange.cap)
    if fixed != exchange.fixed:
        _set_fixed(exchange, method, body is None, encoding, connect_ms, read, ca)
        exchange.fixed = fixed
    setopt(pycurl.URL, prepared.url)
    if body is not None:
        setopt(pycurl.POSTFIELDS, body)
    setopt(pycurl.HTTPHEADER, headers)
    setopt(pycurl.TIMEOUT_MS, max(1, math.ceil(allowed * 1000)))


def _set_fixed(exchange: _Exchange, method: str, bodiless: bool, encoding: str | None,
               connect_ms: int | None, read: Any, ca: tuple[int, str] | tuple[()] | None,
               ) -> None:
    """Reset the handle and set what a request shares with others like it."""
    handle = exchange.handle
    handle.reset()
    setopt = handle.setopt
    setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for DNS timeouts
    setopt(pycurl.PATH_AS_IS, 1)  # the target as requests prepared it
    setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    setopt(pycurl.PROXY, "")  # never libcurl's own reading of http_proxy and NO_PROXY
    if not bodiless:  # the body itself (POSTFIELDS) makes it a POST
        if method != "POST":
            setopt(pycurl.CUSTOMREQUEST, method)
    elif method == "HEAD":
        setopt(pycurl.NOBODY, 1)
    elif method != "GET":
        setopt(pycurl.CUSTOMREQUEST, method)
    if encoding is not None:
        setopt(pycurl.ACCEPT_ENCODING, encoding)
    if connect_ms is not None:
        setopt(pycurl.CONNECTTIMEOUT_MS, connect_ms)
    if read is not None:
        setopt(pycurl.LOW_SPEED_LIMIT, 1)
        setopt(pycurl.LOW_SPEED_TIME, int(read))
    if ca:
        setopt(*ca)
    else:  # verify=False
        setopt(pycurl.SSL_VERIFYPEER, 0)
        setopt(pycurl.SSL_VERIFYHOST, 0)
    # the exchange's own methods: set once, they read the request of the moment
    setopt(pycurl.PREREQFUNCTION, exchange.prereq)
    setopt(pycurl.OPENSOCKETFUNCTION, exchange.open_socket)
    setopt(pycurl.HEADERFUNCTION, exchange.lines.append)  # no Python frame per line
    if not exchange.head:  # a larger announced answer is refused before its body
        setopt(pycurl.MAXFILESIZE_LARGE, exchange.cap)
    setopt(pycurl.WRITEFUNCTION, exchange.write)


#: the header lines made from (name, value) pairs: an account sends the same few again
#: and again (a bound, not a cache)
_LINES: dict[tuple[str, str | bytes], bytes] = {}


def _header_line(name: str, value: str | bytes) -> bytes:
    """One header line, as http.client writes it: the name in ASCII, the value in
    Latin-1 (``Name;`` sends an empty value through libcurl)."""
    raw = value if isinstance(value, bytes) else value.encode("latin-1")
    line = name.encode("ascii") + b": " + raw if raw else name.encode("ascii") + b";"
    if len(_LINES) >= 4096:
        _LINES.clear()
    _LINES[name, value] = line
    return line


class _Exchange:
    """One libcurl handle and what its callbacks see of the request of the moment: the
    first byte, the answer's head and body."""

    def __init__(self, handle: pycurl.Curl) -> None:
        self.handle = handle
        #: the options the handle keeps from one request to the next (see _configure)
        self.fixed: tuple[Any, ...] | None = None
        self.call: Call = None  # type: ignore[assignment]  # set by begin()
        self.cap = 0
        self.head = False
        self.started = 0.0
        self.sends = 0
        self.lines: list[bytes] = []
        self.chunks: list[bytes] = []
        self.seen = 0

    def begin(self, call: Call, cap: int, head: bool) -> None:
        """Start a request as ``call``."""
        self.call = call
        self.cap = cap
        self.head = head
        self.started = time.monotonic()
        self.sends = 0
        self.seen = 0

    def end(self) -> None:
        """The request is over: nothing of it is kept."""
        self.call = None  # type: ignore[assignment]
        self.lines.clear()  # the list itself is the header callback's
        self.chunks = []

    def open_socket(self, purpose: int, address: Any) -> Any:
        """A new connection: refused once the request was sent, which is libcurl about to
        send it again on a fresh connection after a reused one died (the first may have
        been applied: nothing is sent twice, no connection is opened for it)."""
        if self.sends:
            return pycurl.SOCKET_BAD
        return socket.socket(address.family, address.socktype, address.protocol)

    def prereq(self, *_: Any) -> int:
        """The connection is ready and the request about to be written."""
        self.sends += 1
        if self.sends > 1:  # never reached while open_socket refuses; kept as the rule
            return pycurl.PREREQFUNC_ABORT
        self.call.written = True
        if self.call.create:
            note_create_sent()
        return pycurl.PREREQFUNC_OK

    def announced(self) -> int | None:
        """The final answer's ``Content-Length``, if it gave one."""
        for line in self.head_lines():
            if line[:15].lower() == b"content-length:" and line[15:].strip().isdigit():
                return int(line[15:].strip())
        return None

    def head_lines(self) -> list[bytes]:
        """The lines of the last answer's head (after any ``100 Continue``)."""
        lines = self.lines
        for start in range(len(lines) - 1, -1, -1):
            if lines[start][:5] == b"HTTP/":
                return lines[start:]
        return []

    def write(self, chunk: bytes) -> int | None:
        self.seen += len(chunk)
        if self.seen > self.cap:
            self.call.too_large = ResponseTooLarge(self.cap)
            return 0  # abort: the connection is closed, not reused
        self.chunks.append(chunk)
        return None

    def response(self, prepared: requests.PreparedRequest,
                 adapter: CurlAdapter) -> requests.Response:
        """requests' ``Response``, as requests' adapter builds it, its body read."""
        return build_response(prepared, self.head_lines(), b"".join(self.chunks), adapter)


def _as_requests_error(exc: pycurl.error, exchange: _Exchange,
                       prepared: requests.PreparedRequest) -> Exception:
    """What requests' adapter raises for the failure libcurl reported (the call notes
    an expired deadline or an answer over the cap)."""
    code, message = exc.args[0], str(exc.args[1])
    rx = requests.exceptions
    text = f"{prepared.method} {prepared.url}: {message} (libcurl error {code})"
    call = exchange.call
    if code == pycurl.E_FILESIZE_EXCEEDED:
        call.too_large = ResponseTooLarge(exchange.cap, exchange.announced())
    if code == pycurl.E_OPERATION_TIMEDOUT and call.allowed is not None and (
            time.monotonic() - exchange.started >= call.allowed - 0.005):
        call.expired = True
        return rx.Timeout(text, request=prepared)
    if code in _UNSENDABLE and not call.written:
        return rx.InvalidURL(text, request=prepared)
    if code in _TLS_ERRORS:
        if code == pycurl.E_PEER_FAILED_VERIFICATION:  # as OpenSSL names it through requests
            text = f"[SSL: CERTIFICATE_VERIFY_FAILED] {text}"
        return rx.SSLError(text, request=prepared)
    if code == pycurl.E_OPERATION_TIMEDOUT:
        kind = rx.ReadTimeout if call.written else rx.ConnectTimeout
        return kind(text, request=prepared)
    return rx.ConnectionError(text, request=prepared)
