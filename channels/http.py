"""HTTP hygiene shared by every adapter that speaks HTTP.

One ``requests.Session`` per account, connect/read timeouts, a User-Agent, no retries
inside the library, and one rule for what a transport failure means:

* the connection never opened (refused, DNS, connect timeout) → nothing was sent → ``NotSent``
* it broke after the request left (read timeout, reset) → maybe applied → ``InDoubt``

Secrets are redacted from anything that could reach a log or an error message.

Requests themselves are prepared by requests' own code (so the bytes on the wire are the
ones requests would send) but, where nothing requests-specific is in play, sent by
:class:`Transport` over :mod:`http.client` instead of requests' adapter and urllib3's
pool, which cost ~1.1 ms of CPU per keep-alive POST against ~0.3 ms (see
docs/decisions.md, "Sending HTTP without requests' per-call overhead").
"""

from __future__ import annotations

import contextlib
import email.parser
import email.utils
import errno
import http.client
import ipaddress
import os
import re
import ssl
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import _basic_auth_str
from requests.compat import json as complexjson
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar, merge_cookies
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    _HEADER_VALIDATORS_STR,
    DEFAULT_CA_BUNDLE_PATH,
    extract_zipped_paths,
    get_auth_from_url,
    get_encoding_from_headers,
    select_proxy,
)
from urllib3.connection import _normalize_header_values
from urllib3.response import HTTPResponse as Urllib3Response
from urllib3.response import _get_decoder
from urllib3.util.ssl_ import ALPN_PROTOCOLS, create_urllib3_context
from urllib3.util.wait import wait_for_read

from channels.base import (
    AuthFailed,
    Channel,
    InDoubt,
    NotSent,
    Outcome,
    Rejected,
    note_create_sent,
)

USER_AGENT = "Siar/0.1 (+https://github.com/siar-humas/siar; publishing scheduler)"
DEFAULT_TIMEOUT = (5.0, 30.0)


class ConnectFailed(Exception):
    """The connection never opened (refused, DNS, connect timeout, TLS handshake):
    nothing of the request left this machine."""

    def __init__(self, cause: BaseException, url: str) -> None:
        super().__init__(cause, url)
        self.cause = cause
        #: the URL as sent (with the query): error texts show it, redacted
        self.url = url


class ExchangeFailed(Exception):
    """The connection broke or went silent after the request started to leave: the
    other side may have applied it."""

    def __init__(self, cause: BaseException, url: str) -> None:
        super().__init__(cause, url)
        self.cause = cause
        #: the URL as sent (with the query): error texts show it, redacted
        self.url = url


@dataclass(slots=True)
class Answer:
    """A whole HTTP answer as it came off the wire, body already decoded."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    content: bytes
    #: from sending until the status line and headers arrived, like requests measures it
    elapsed: float


PoolKey = tuple[str, str, int, bool | str]

#: what urllib3 adds when a request carries neither User-Agent nor a body length
_URLLIB3_USER_AGENT = f"python-urllib3/{urllib3.__version__}"
_METHODS_WITHOUT_BODY = frozenset({"GET", "HEAD", "DELETE", "TRACE", "OPTIONS", "CONNECT"})


class _OneWrite:
    """Writes the request line, headers and a bytes body with one ``send``: http.client
    (and urllib3) send the body separately, which costs a second system call and, on
    the other side, a second wake-up per request. The bytes on the wire are the same."""

    _buffer: list[bytes]

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if not isinstance(message_body, bytes):
            super()._send_output(message_body, encode_chunked)  # type: ignore[misc]
            return
        self._buffer.extend((b"", b""))
        head = b"\r\n".join(self._buffer)
        del self._buffer[:]
        self.send(head + message_body)  # type: ignore[attr-defined]


#: a header line the ``email`` parser would read as exactly one (name, value) field: a
#: token name, a colon, a value without line breaks (a folded, odd or unterminated line
#: goes to the ``email`` parser itself)
_PLAIN_HEADER_LINE = re.compile(rb"([!-9;-~]+):[ \t]*([^\r\n\x0b\x0c\x1c-\x1e\x85]*)\r?\n")


class _Message(http.client.HTTPMessage):
    """The ``HTTPMessage`` :func:`http.client.parse_headers` would return, made without
    the ``email`` package's FeedParser (a fifth of the exchange's CPU). Only made from
    plain header lines, whose values are plain ``str`` (latin-1 decoded, no line
    breaks), so fetching a value needs none of ``email``'s sanitising."""

    def get(self, name: str, failobj: Any = None) -> Any:  # type: ignore[override]
        name = name.lower()
        for key, value in self._headers:  # type: ignore[attr-defined]
            if key.lower() == name:
                return value
        return failobj


def _parse_headers(fp: Any) -> http.client.HTTPMessage:
    """:func:`http.client.parse_headers`, with its limits and errors (header lines are
    read by http.client's own ``_read_headers``), the usual case parsed directly."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]
    fields = []
    for line in lines[:-1]:  # the last one is the blank line (or b"" at EOF)
        match = _PLAIN_HEADER_LINE.fullmatch(line)
        if match is None:
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(
                b"".join(lines).decode("iso-8859-1"))
        name, value = match.groups()
        fields.append((name.decode("iso-8859-1"), value.decode("iso-8859-1")))
    message = _Message()
    message._headers = fields  # type: ignore[attr-defined]
    message._payload = ""  # type: ignore[attr-defined]  # as the parser leaves it
    return message


class _Response(http.client.HTTPResponse):
    """``HTTPResponse`` with :func:`_parse_headers`: ``begin`` is http.client's own
    (Python 3.11-3.13), status line, 1xx skipping, chunked/length/close rules and all,
    but for the call that parses the header block."""

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:  # read until a final (non-1xx-continue) status
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = _parse_headers(self.fp)
        tr_enc = self.headers.get("transfer-encoding")
        if tr_enc and tr_enc.lower() == "chunked":
            self.chunked = True
            self.chunk_left = None
        else:
            self.chunked = False
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        else:
            self.length = None
        if (status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
                or 100 <= status < 200 or self._method == "HEAD"):  # type: ignore[attr-defined]
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


class _Connection(_OneWrite, http.client.HTTPConnection):
    response_class = _Response


class _TLSConnection(_OneWrite, http.client.HTTPSConnection):
    response_class = _Response


class Transport:
    """Sends one request over a pooled keep-alive connection and reads the whole answer.

    The seam between :func:`request` and the network, built on :mod:`http.client`
    (urllib3's pool costs about as much CPU again as the exchange itself). It never
    retries: a resent create is a duplicate post. Errors say which side of the line the
    failure fell on: :class:`ConnectFailed` before anything was sent,
    :class:`ExchangeFailed` after.
    """

    def __init__(self, *, max_idle_per_host: int = 16) -> None:
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[PoolKey, list[http.client.HTTPConnection]] = {}
        self._tls: dict[bool | str, ssl.SSLContext] = {}
        #: (URL, CA setting) → pool key: an account sends to a handful of URLs
        self._keys: dict[tuple[str, bool | str], PoolKey] = {}
        self._lock = threading.Lock()

    def handle_request(self, method: str, url: str, target: str,
                       headers: Mapping[str, str], body: bytes | None, *,
                       timeout: tuple[float | None, float | None],
                       verify: bool | str = True) -> Answer:
        """Send ``method target`` to the origin of ``url`` and read the whole answer.

        ``headers`` must hold only what is safe for http.client to write (requests'
        ``prepare_headers`` checks that); a case-insensitive mapping is expected.
        """
        key = self._keys.get((url, verify))
        if key is None:
            key = self._pool_key(url, verify)
        # the header names present, lower-cased: a CaseInsensitiveDict's own store
        names: Mapping[str, object] = (
            headers._store if type(headers) is CaseInsensitiveDict  # type: ignore[attr-defined]
            else {name.lower(): None for name in headers})
        connect_timeout, read_timeout = timeout
        conn = self._idle_connection(key) or self._connect(key, url, connect_timeout)
        try:
            started = time.perf_counter()
            # As urllib3 does: the request is written under the connect timeout and the
            # answer waited for under the read timeout.
            conn.sock.settimeout(connect_timeout)
            # framing exactly as urllib3 writes it for requests: Host and (when not
            # given) "Accept-Encoding: identity" from http.client, then Content-Length
            # and urllib3's User-Agent when not given, then the headers in their order
            conn.putrequest(method, target, skip_host="host" in names,
                            skip_accept_encoding="accept-encoding" in names)
            if body is not None and "content-length" not in names:
                # requests' adapter sends such a body (an empty one: a non-empty one
                # was given a Content-Length when prepared) chunked, urllib3 frames it
                if "transfer-encoding" not in names:
                    conn.putheader("Transfer-Encoding", "chunked")
                body = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
            elif (body is None and method not in _METHODS_WITHOUT_BODY
                  and "content-length" not in names
                  and "transfer-encoding" not in names):
                conn.putheader("Content-Length", "0")
            if "user-agent" not in names:
                conn.putheader("User-Agent", _URLLIB3_USER_AGENT)
            _put_headers(conn, headers)
            try:
                conn.endheaders(body)  # a bytes body leaves in one segment with the headers
            except OSError as exc:
                # As urllib3 does: a server may answer early (413, 401) and close
                # without reading a large body; its answer is still there to read.
                if not isinstance(exc, BrokenPipeError) and exc.errno not in (
                        errno.ECONNRESET, errno.EPROTOTYPE):
                    raise
            conn.sock.settimeout(read_timeout)
            response = conn.getresponse()
            elapsed = time.perf_counter() - started
            content = response.read()
            if type(response.msg) is not _Message:  # plain lines have no folding
                # the same header values urllib3 hands requests (obsolete folding undone)
                _normalize_header_values(response.msg)
            try:
                content = _decoded(content, response.msg.get("Content-Encoding"))
            except Exception as exc:  # zlib.error, DecodeError, brotli's own errors
                raise http.client.HTTPException(f"could not decode the body: {exc!r}") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            raise ExchangeFailed(exc, url) from exc
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._keep(key, conn)
        return Answer(response.status, response.reason, response.msg, content, elapsed)

    def _pool_key(self, url: str, verify: bool | str) -> PoolKey:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        key = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80),
               verify if scheme == "https" else False)
        if len(self._keys) >= 256:  # URLs with ids in them: start afresh
            self._keys.clear()
        self._keys[(url, verify)] = key
        return key

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.close()

    def _idle_connection(self, key: PoolKey) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                conn = idle.pop()  # most recently used first: the likeliest to be alive
                # The server may have closed it while it sat idle; like urllib3, look
                # before sending rather than find out half-way (the answer would be
                # in doubt).
                if conn.sock is not None and not wait_for_read(conn.sock, timeout=0.0):
                    return conn
                conn.close()
        return None

    def _keep(self, key: PoolKey, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle_per_host:
                idle.append(conn)
                return
        conn.close()

    def _connect(self, key: PoolKey, url: str,
                 connect_timeout: float | None) -> http.client.HTTPConnection:
        scheme, host, port, verify = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            # made outside the try: a CA bundle that is missing is a configuration
            # error that raises, as it does with requests, not a network failure
            conn = _TLSConnection(host, port, timeout=connect_timeout,
                                  context=self._tls_context(verify))
        else:
            conn = _Connection(host, port, timeout=connect_timeout)
        try:
            conn.connect()  # TCP (with TCP_NODELAY) and, for https, the TLS handshake
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            raise ConnectFailed(exc, url) from exc
        return conn

    def _tls_context(self, verify: bool | str) -> ssl.SSLContext:
        """Verification as requests sets it up: urllib3's context (TLS 1.2+, certificate
        and host name checked) trusting certifi's bundle, or the configured CA file or
        directory, and nothing else."""
        context = self._tls.get(verify)
        if context is None:
            location = extract_zipped_paths(DEFAULT_CA_BUNDLE_PATH) if verify is True else verify
            if not isinstance(location, str) or not os.path.exists(location):
                raise OSError("Could not find a suitable TLS CA certificate bundle, "
                              f"invalid path: {location}")
            context = create_urllib3_context()
            if os.path.isdir(location):
                context.load_verify_locations(capath=location)
            else:
                context.load_verify_locations(cafile=location)
            context.set_alpn_protocols(ALPN_PROTOCOLS)
            self._tls[verify] = context
        return context


_LEGAL_HEADER_NAME = http.client._is_legal_header_name  # type: ignore[attr-defined]
_ILLEGAL_HEADER_VALUE = http.client._is_illegal_header_value  # type: ignore[attr-defined]


def _put_headers(conn: http.client.HTTPConnection, headers: Mapping[str, Any]) -> None:
    """``conn.putheader(name, value)`` for each header, the usual ``str`` ones written
    straight to the connection's buffer after http.client's own checks; anything else
    (bytes, ints, what fails a check) through ``putheader`` and its errors."""
    buffer: list[bytes] = conn._buffer  # type: ignore[attr-defined]
    pairs = (headers._store.values() if type(headers) is CaseInsensitiveDict  # type: ignore[attr-defined]
             else headers.items())
    for name, value in pairs:
        if type(name) is str and type(value) is str and name.isascii():
            try:
                line = name.encode("ascii") + b": " + value.encode("latin-1")
            except UnicodeEncodeError:
                pass
            else:
                if (_LEGAL_HEADER_NAME(line, 0, len(name))
                        and not _ILLEGAL_HEADER_VALUE(line, len(name) + 2)):
                    buffer.append(line)
                    continue
        conn.putheader(name, value)


def _decoded(content: bytes, encoding: str | None) -> bytes:
    """The body with the content codings requests would undo (those urllib3 decodes)."""
    if not encoding or not content:
        return content
    mode = encoding.lower()
    known = Urllib3Response.CONTENT_DECODERS
    if mode not in known and not ("," in mode and any(
            part.strip() in known for part in mode.split(","))):
        return content
    decoder = _get_decoder(mode)
    return decoder.decompress(content) + decoder.flush()


@dataclass(slots=True, frozen=True)
class _Target:
    """A URL as requests prepares it, and what preparing a request derives from it."""

    url: str
    #: the request target requests' ``PreparedRequest.path_url`` gives
    path_url: str
    #: user:password in the URL (requests turns it into basic auth)
    userinfo: bool


class Session(requests.Session):
    """A ``requests.Session`` that also carries the fast :class:`Transport`.

    :func:`request` uses the transport when the call needs nothing more than it offers
    (see :func:`_fits_transport`) and ``requests.Session.request`` otherwise.
    """

    def __init__(self, adapter: HTTPAdapter) -> None:
        super().__init__()
        self.transport = Transport()
        #: the adapter mounted for http(s)://; another one mounted later takes over
        self.plain_adapter = adapter
        #: URLs as given → as requests normalises them (IDNA host, quoting), with what
        #: preparing a request derives from them
        self.prepared_urls: dict[str, _Target] = {}
        #: session.auth → the Authorization value requests' HTTPBasicAuth computes
        self.basic_auth: tuple[Any, str] | None = None
        #: hosts reached without the proxy (``NO_PROXY``): requests looks at it only
        #: with ``trust_env`` on, which make_session turns off
        self.no_proxy: str | None = None
        self._bypassed: dict[str, bool] = {}
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def remember_url(self, url: str, prepared: str) -> _Target:
        if len(self.prepared_urls) >= 256:  # URLs with ids in them: start afresh
            self.prepared_urls.clear()
        probe = PreparedRequest()
        probe.url = prepared
        target = _Target(prepared, probe.path_url, any(get_auth_from_url(prepared)))
        self.prepared_urls[url] = target
        return target

    def proxied(self, url: str) -> bool:
        """Whether a request to ``url`` goes through a configured proxy."""
        if not self.proxies or not select_proxy(url, self.proxies):
            return False
        if not self.no_proxy:
            return True
        parts = urlsplit(url)
        origin = f"{parts.hostname or ''}:{parts.port or ''}"
        bypassed = self._bypassed.get(origin)
        if bypassed is None:
            if len(self._bypassed) >= 256:
                self._bypassed.clear()
            bypassed = bypasses_proxy(parts.hostname or "", parts.port, self.no_proxy)
            self._bypassed[origin] = bypassed
        return not bypassed

    def close(self) -> None:
        super().close()
        self.transport.close()


def bypasses_proxy(host: str, port: int | None, no_proxy: str) -> bool:
    """``NO_PROXY`` as curl and requests read it: ``*``, host names and domain suffixes
    (``example.org``, ``.example.org``), optionally with a port, and IP networks
    (``10.0.0.0/8``)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        for entry in no_proxy.replace(" ", ",").split(","):
            if "/" in entry:
                with contextlib.suppress(ValueError):
                    if address in ipaddress.ip_network(entry.strip(), strict=False):
                        return True
    netloc = host if port is None else f"{host}:{port}"
    return bool(urllib.request.proxy_bypass_environment(netloc, {"no": no_proxy}))


def make_session(*, user_agent: str = USER_AGENT) -> Session:
    """A session that never retries by itself (a resent create is a duplicate post).

    Proxy and CA settings are read from the environment once, here, instead of on every
    request: with ``trust_env`` on, requests rescans the whole environment (one
    ``SIAR_SECRET_*`` variable per secret) for each call, which cost ~0.6 ms a post.
    """
    session = Session(HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8))
    session.trust_env = False
    proxies = urllib.request.getproxies()
    session.proxies = {k: v for k, v in proxies.items() if k in ("http", "https")}
    session.no_proxy = proxies.get("no")
    if bundle := os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
        session.verify = bundle
    session.headers["User-Agent"] = user_agent
    return session


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and bearer tokens) replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+", r"\1***", text)


def request(session: requests.Session, method: str, url: str, *, secrets: Iterable[str] = (),
            timeout: tuple[float, float] = DEFAULT_TIMEOUT, create: bool = False,
            **kwargs: Any) -> requests.Response | Outcome:
    """Send one request; a transport failure comes back as an outcome, never raised.

    ``create`` marks the request that makes the post (not a media upload or a lookup):
    once it leaves, an adapter's exception means the post may exist
    (:func:`channels.base.note_create_sent`).
    """
    if create:
        note_create_sent()
    try:
        if _fits_transport(session, url, kwargs):
            return _send(session, method, url, timeout, **kwargs)  # type: ignore[arg-type]
        if (isinstance(session, Session) and session.proxies and "proxies" not in kwargs
                and not session.proxied(url)):
            kwargs["proxies"] = dict.fromkeys(session.proxies)  # None: not for this host
        return session.request(method, url, timeout=timeout, **kwargs)
    except ConnectFailed as exc:
        cause = redact(f"{exc.url}: {exc.cause!r}", secrets)
        if isinstance(exc.cause, TimeoutError):
            return NotSent(f"connect timeout: {cause}")
        if isinstance(exc.cause, ssl.SSLError | ssl.CertificateError):
            return NotSent(f"TLS error: {cause}")
        return NotSent(f"connection failed: {cause}")
    except ExchangeFailed as exc:
        cause = redact(f"{exc.url}: {exc.cause!r}", secrets)
        if isinstance(exc.cause, TimeoutError):
            return InDoubt(f"no answer in {_read_timeout(timeout)}s after sending: {cause}")
        return InDoubt(f"connection broke after sending: {cause}")
    except requests.exceptions.ConnectTimeout as exc:
        return NotSent(f"connect timeout: {redact(str(exc), secrets)}")
    except requests.exceptions.ReadTimeout as exc:
        return InDoubt(f"no answer in {_read_timeout(timeout)}s after sending: "
                       f"{redact(str(exc), secrets)}")
    except requests.exceptions.SSLError as exc:
        return NotSent(f"TLS error: {redact(str(exc), secrets)}")
    except requests.exceptions.ConnectionError as exc:
        if _connection_never_opened(exc):
            return NotSent(f"connection failed: {redact(str(exc), secrets)}")
        return InDoubt(f"connection broke after sending: {redact(str(exc), secrets)}")
    except requests.exceptions.RequestException as exc:
        return InDoubt(f"request failed: {redact(str(exc), secrets)}")


#: keyword arguments the transport path handles; any other one (auth=, cookies=,
#: stream=, proxies=, verify=, hooks=...) sends through ``session.request``
_TRANSPORT_KWARGS = frozenset({"params", "data", "json", "files", "headers",
                               "allow_redirects"})


def _fits_transport(session: requests.Session, url: str, kwargs: dict[str, Any]) -> bool:
    """Whether sending through the session's :class:`Transport` puts the same bytes on
    the wire and gives back the same response as ``session.request`` would.

    What does not fit falls back, unchanged: a session not made by :func:`make_session`,
    another adapter mounted for the URL, a proxy for it (not bypassed by ``NO_PROXY``),
    auth other than a (user, password) pair (OAuth1 signs the request), response hooks,
    client certificates, ``verify=False``, streamed answers, session-wide params, and
    bodies that are file objects or generators (sent chunked by requests).
    """
    if not isinstance(session, Session) or not kwargs.keys() <= _TRANSPORT_KWARGS:
        return False
    data = kwargs.get("data")
    auth = session.auth
    return (url[:8].lower().startswith(("http://", "https://"))
            and (data is None or isinstance(data, bytes | str | dict | list | tuple))
            and (auth is None or (type(auth) is tuple and len(auth) == 2))
            and not session.hooks["response"] and not session.params
            and not session.stream and session.cert is None
            and session.verify is not False
            and session.get_adapter(url) is session.plain_adapter
            and not session.proxied(url))


def _send(session: Session, method: str, url: str,
          timeout: float | tuple[float | None, float | None] | None, *,
          params: Any = None, data: Any = None, json: Any = None, files: Any = None,
          headers: Mapping[str, str | None] | None = None,
          allow_redirects: bool = True) -> requests.Response:
    """What ``session.request`` does, minus its per-call generality: requests' own
    ``prepare_*`` steps build the request, the transport sends it, and redirects are
    followed by requests' own ``resolve_redirects``."""
    target = None
    if not params:  # an account sends to a handful of URLs; normalising one costs ~20 µs
        target = session.prepared_urls.get(url)
        if target is None:
            probe = PreparedRequest()
            probe.prepare_url(url, None)
            assert probe.url is not None
            target = session.remember_url(url, probe.url)
    prepared = None
    if target is not None and not files and not target.userinfo:
        prepared = _lean_prepare(session, method, target.url, data, json, headers)
    if prepared is not None:
        assert target is not None
        path_url = target.path_url
    else:
        prepared = PreparedRequest()
        prepared.prepare_method(method)
        if target is None:
            prepared.prepare_url(url, params)
        else:
            prepared.url = target.url
        prepared.prepare_headers(_merged_headers(session.headers, headers))
        if session.cookies:  # cookies a server set earlier go back as requests sends them
            prepared.prepare_cookies(merge_cookies(RequestsCookieJar(), session.cookies))
        prepared.prepare_body(data, files, json)
        prepared.prepare_auth(session.auth, url)  # basic auth, or user:password in the URL
        path_url = prepared.path_url
    body = prepared.body
    if isinstance(body, str):
        body = body.encode("utf-8")  # as urllib3 2 sends a str body
    assert prepared.method is not None and prepared.url is not None
    answer = session.transport.handle_request(
        prepared.method, prepared.url, path_url, prepared.headers, body,
        timeout=_timeouts(timeout), verify=session.verify)  # type: ignore[arg-type]
    response = _response(answer, prepared, session.plain_adapter)
    if "set-cookie" in response.headers:
        extract_cookies_to_jar(session.cookies, prepared, response.raw)
    if response.is_redirect:
        settings: dict[str, Any] = {"stream": False, "timeout": timeout,
                                    "verify": session.verify, "cert": session.cert,
                                    "proxies": session.proxies}
        if prepared._cookies is None:  # resolve_redirects merges the session's into it
            prepared._cookies = RequestsCookieJar()
        if allow_redirects:
            # the first answer is in hand; later hops go through the session as before
            history = [response, *session.resolve_redirects(response, prepared, **settings)]
            response = history.pop()
            response.history = history
            response.content  # noqa: B018 - read now, as requests does when not streaming
        else:
            response._next = next(session.resolve_redirects(  # type: ignore[assignment]
                response, prepared, yield_requests=True, **settings), None)
    return response


_HEADER_NAME_OK, _HEADER_VALUE_OK = (v.match for v in _HEADER_VALIDATORS_STR)


def _lean_prepare(session: Session, method: str, url: str, data: Any, json: Any,
                  headers: Mapping[str, str | None] | None) -> PreparedRequest | None:
    """The ``PreparedRequest`` requests' ``prepare_method``, ``prepare_headers`` (on
    the merged headers), ``prepare_body`` and ``prepare_auth`` would make, built in one
    pass, for the usual calls: a JSON, form (dict), bytes or str body or none, headers of
    ``str`` names and values, no cookies in the session, no files, no user:password in
    the URL. ``None`` for anything else (or anything requests would refuse), which then
    goes through requests' own steps and their errors."""
    if type(method) is not str or not (data is None or type(data) in (bytes, str, dict)):
        return None
    session_headers = session.headers
    if type(session_headers) is not CaseInsensitiveDict or session.cookies:
        return None
    store: OrderedDict[str, tuple[str, str]] = OrderedDict()
    for name, value in session_headers._store.values():
        store[name.lower()] = (name, value)
    if headers:
        for name, value in headers.items():
            if value is None:
                store.pop(name.lower(), None)  # type: ignore[union-attr]
            else:
                store[name.lower()] = (name, value)  # type: ignore[union-attr]
    for name, value in store.values():
        if not (type(name) is str and type(value) is str
                and _HEADER_NAME_OK(name) and _HEADER_VALUE_OK(value)):
            return None
    method = method.upper()
    body: bytes | str | None = None
    content_type = None
    if not data and json is not None:
        try:
            body = complexjson.dumps(json, allow_nan=False)
        except ValueError:
            return None  # requests' own step raises its InvalidJSONError
        if not isinstance(body, bytes):
            body = body.encode("utf-8")
        content_type = "application/json"
    elif data:
        body = PreparedRequest._encode_params(data)  # type: ignore[assignment]
        if type(data) is dict:
            content_type = "application/x-www-form-urlencoded"
    if body is not None:  # prepare_content_length
        length = len(body.encode("utf-8") if isinstance(body, str) else body)
        if length:
            store["content-length"] = ("Content-Length", str(length))
    elif method not in ("GET", "HEAD") and "content-length" not in store:
        store["content-length"] = ("Content-Length", "0")
    if content_type and "content-type" not in store:
        store["content-type"] = ("Content-Type", content_type)
    auth = session.auth
    if auth:  # a (user, password) pair: _fits_transport let nothing else through
        cached = session.basic_auth
        if cached is None or cached[0] != auth:
            user, password = auth  # type: ignore[misc]
            if not (isinstance(user, str | bytes) and isinstance(password, str | bytes)):
                return None  # requests warns about these; let it
            cached = session.basic_auth = (auth, _basic_auth_str(user, password))
        store["authorization"] = ("Authorization", cached[1])
    prepared_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    prepared_headers._store = store
    prepared = PreparedRequest()
    prepared.method = method
    prepared.url = url
    prepared.headers = prepared_headers
    prepared.body = body  # type: ignore[assignment]
    return prepared


def _merged_headers(session_headers: Mapping[str, str],
                    headers: Mapping[str, str | None] | None) -> CaseInsensitiveDict[str]:
    """Session headers overridden by the call's, a ``None`` value removing one
    (requests' ``merge_setting``)."""
    merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(session_headers)
    if headers:
        for name, value in headers.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
    return merged


def _timeouts(timeout: float | tuple[float | None, float | None] | None,
              ) -> tuple[float | None, float | None]:
    if isinstance(timeout, tuple):
        connect, read = timeout
        return connect, read
    return timeout, timeout


def _read_timeout(timeout: float | tuple[float | None, float | None] | None) -> str:
    read = _timeouts(timeout)[1]
    return "∞" if read is None else f"{read:g}"


class _SpentRaw:
    """Stands in for the urllib3 response requests keeps as ``Response.raw``: the body
    is already read, the connection already back in the pool."""

    def __init__(self, answer: Answer) -> None:
        #: what requests' cookie helpers read the Set-Cookie headers from
        self._original_response = self
        self.msg = answer.headers
        self.headers = answer.headers
        self.status = answer.status
        self.reason = answer.reason

    def release_conn(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return b""

    def stream(self, *args: Any, **kwargs: Any) -> Iterable[bytes]:
        return iter(())


def _response(answer: Answer, prepared: PreparedRequest,
              adapter: HTTPAdapter) -> requests.Response:
    """The ``requests.Response`` requests' adapter would build from this answer."""
    response = requests.Response()
    response.status_code = answer.status
    response.reason = answer.reason
    # urllib3 joins a repeated header's values with ", " under the first spelling
    message = answer.headers
    fields: OrderedDict[str, tuple[str, str]] = OrderedDict()
    for name, value in (message._headers if type(message) is _Message  # type: ignore[attr-defined]
                        else message.items()):  # plain str values, nothing to sanitise
        key = name.lower()
        seen = fields.get(key)
        fields[key] = (name, value) if seen is None else (seen[0], f"{seen[1]}, {value}")
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    headers._store = fields  # what CaseInsensitiveDict(fields.values()) would hold
    response.headers = headers
    response.encoding = get_encoding_from_headers(headers)
    response.raw = _SpentRaw(answer)
    response.url = prepared.url or ""
    response.request = prepared
    response.connection = adapter
    response.elapsed = timedelta(seconds=answer.elapsed)
    response._content = answer.content
    response._content_consumed = True
    if "set-cookie" in headers:
        extract_cookies_to_jar(response.cookies, prepared, response.raw)
    return response


def _connection_never_opened(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return any(marker in text for marker in (
        "NewConnectionError", "Connection refused", "NameResolutionError",
        "Failed to resolve", "Max retries exceeded with url",
    )) and "RemoteDisconnected" not in text and "ProtocolError" not in text


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def epoch_reset_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds until an epoch-seconds reset header (X's ``x-rate-limit-reset``)."""
    if not value:
        return None
    try:
        reset = float(value)
    except ValueError:
        return None
    now = now or datetime.now(UTC)
    return max(0.0, reset - now.timestamp())


def iso_reset_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds until an ISO 8601 reset header (Mastodon's ``X-RateLimit-Reset``)."""
    if not value:
        return None
    try:
        reset = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if reset.tzinfo is None:
        reset = reset.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (reset - now).total_seconds())


def classify_status(response: requests.Response, *, secrets: Iterable[str] = (),
                    retry_after: float | None = None) -> Outcome | None:
    """The generic meaning of an HTTP error status, or ``None`` for a 2xx.

    Adapters call this after their network-specific checks (error codes in bodies).
    """
    status = response.status_code
    if status < 400:
        return None
    body = redact(response.text[:500], secrets)
    if status == 401:
        return AuthFailed(f"HTTP 401: {body}", http_status=status)
    if status == 429:
        wait = retry_after if retry_after is not None else retry_after_seconds(
            response.headers.get("Retry-After"))
        return NotSent(f"rate limited (HTTP 429): {body}", retry_after=wait,
                       rate_limited=True, http_status=status)
    request = response.request
    if status in (502, 503, 504) and request is not None and request.method == "GET":
        return NotSent(f"HTTP {status}: {body}", http_status=status)
    if status >= 500:
        return InDoubt(f"HTTP {status}: {body}", http_status=status)
    return Rejected(f"HTTP {status}: {body}", http_status=status)


class HttpChannel(Channel):
    """Base of adapters that speak HTTP: one session per account, made on first use
    and closed with the adapter."""

    _session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
