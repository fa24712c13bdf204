"""How one request goes over the wire: requests' ``HTTPAdapter`` on urllib3's pools, with
a total deadline and a cap on the answer's size, through public APIs only.

Three things per request that requests and urllib3 do not offer:

* **A total deadline** (connect + send + the whole answer), kept by :mod:`channels.calls`:
  this adapter arms it, the connections tell it which socket to shut down.
* **A cap on the answer's size**: the body is read in chunks (decoded, so a compressed
  bomb counts at its real size) and the read stops past the cap with
  :class:`ResponseTooLarge`; never more than the cap is held in memory.
* **Whether anything left**: the connection class notes the moment the first byte of the
  request is written. A failure before that provably sent nothing; after it, a create
  may have been applied. :func:`channels.http.request` turns that into the outcome.

The seams are public: ``HTTPAdapter.send``/``build_response``/``init_poolmanager``/
``proxy_manager_for`` and the steps ``send`` is made of (meant for subclassing), a pool
manager's ``pool_classes_by_scheme``, a pool's ``ConnectionCls`` and ``urlopen``,
``HTTPConnection.connect``/``send``/``sock``, and ``Response.raw``.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import Timeout

from channels.base import note_create_sent
from channels.calls import (
    WATCHDOG,
    Call,
    DeadlineExceeded,
    ResponseTooLarge,
    calling,
    current_call,
)
from channels.http import DEFAULT_DEADLINE, DEFAULT_MAX_RESPONSE_BYTES, MIN_UPLOAD_RATE
from channels.i18n import _

__all__ = ["Call", "DeadlineExceeded", "LimitedAdapter", "ResponseTooLarge", "bypasses_proxy",
           "calling", "current_call"]


# --- connections that report to their call ------------------------------------------------


#: a body up to this size leaves in one write with the request's head
_ONE_WRITE_BODY = 256 * 1024


class _Reporting:
    """Mixed into urllib3's connections: tells the call which socket it uses and when
    the first byte of the request leaves (a proxy's CONNECT is part of connecting).

    It also sends a small body in the same write as the head: urllib3 writes them apart,
    which costs a second system call and, on the other side, a second wake-up (a quarter
    of the CPU of a small POST on loopback). The bytes on the wire are the same.
    """

    sock: socket.socket | None
    auto_open: int
    #: the head of a request whose small body is still to come
    held_head: bytes | None = None
    holding: bool = False

    def request(self, method: str, url: str, body: Any = None, headers: Any = None,
                **kwargs: Any) -> None:
        self.holding = isinstance(body, bytes | str) and 0 < len(body) <= _ONE_WRITE_BODY
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)  # type: ignore[misc]
            held = self.held_head
        finally:
            self.held_head, self.holding = None, False
        if held is not None:  # no body followed after all
            self.send(held)

    def connect(self) -> None:
        call = current_call()
        if call is None:
            super().connect()  # type: ignore[misc]
            return
        call.attach(self)  # type: ignore[arg-type]
        call.connecting = True
        try:
            super().connect()  # type: ignore[misc]
        finally:
            call.connecting = False
        if call.expired:
            self.close()  # type: ignore[attr-defined]
            raise DeadlineExceeded(_("the deadline passed while connecting"))

    def send(self, data: Any) -> None:
        call = current_call()
        if call is not None and call.connecting:
            super().send(data)  # type: ignore[misc]  # a proxy's CONNECT
            return
        if self.holding:
            if self.held_head is None:
                self.held_head = bytes(data)  # the head: wait for the body
                return
            data, self.held_head, self.holding = self.held_head + data, None, False
        if call is not None:
            if self.sock is None and self.auto_open:
                self.connect()  # before marking: a refused connection sent nothing
            call.attach(self)  # type: ignore[arg-type]
            if not call.written:
                call.written = True
                if call.create:
                    note_create_sent()
        super().send(data)  # type: ignore[misc]


class _Connection(_Reporting, HTTPConnection):
    pass


class _TLSConnection(_Reporting, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOLS = {"http": _Pool, "https": _TLSPool}


# --- the answer, read through the cap -----------------------------------------------------


class _CappedBody:
    """What requests keeps as ``Response.raw``: urllib3's response, read through a cap.

    requests reads the body with ``raw.stream()``; everything else (``release_conn``,
    ``close``, what its cookie code looks at) is urllib3's response itself.
    """

    def __init__(self, raw: Any, cap: int) -> None:
        self.raw = raw
        self.cap = cap
        self.seen = 0

    def _count(self, chunk: bytes) -> bytes:
        self.seen += len(chunk)
        if self.seen > self.cap:
            raise ResponseTooLarge(self.cap)
        return chunk

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None,
               ) -> Iterator[bytes]:
        # urllib3 ≥ 2.6 decodes at most ``amt`` bytes per read: a small compressed
        # body cannot blow up in one chunk
        for chunk in self.raw.stream(amt, decode_content=decode_content):
            yield self._count(chunk)

    def read(self, amt: int | None = None, decode_content: bool | None = None,
             **kwargs: Any) -> bytes:
        if amt is not None:
            return self._count(self.raw.read(amt, decode_content=decode_content, **kwargs))
        return b"".join(self.stream(2**16, decode_content=decode_content))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _announced_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _within(timeout: Any, remaining: float) -> Timeout:
    """The per-operation timeouts, none longer than what is left of the deadline."""
    if isinstance(timeout, Timeout):
        connect, read = timeout.connect_timeout, timeout.read_timeout
    elif isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = timeout
    return Timeout(connect=_bounded(connect, remaining), read=_bounded(read, remaining))


def _bounded(value: Any, remaining: float) -> float:
    return min(float(value), remaining) if isinstance(value, int | float) else remaining


def _body_size(body: Any) -> int:
    if isinstance(body, bytes | str):
        return len(body)
    # a body streamed from disk (channels.uploads.FileBody) knows its length
    size = getattr(body, "__len__", None)
    return size() if callable(size) else 0


class LimitedAdapter(HTTPAdapter):
    """requests' adapter for http(s)://, with the deadline, the cap and the call's report.

    It never retries (a resent create is a duplicate post) and reads the whole answer
    inside :meth:`send`, where the deadline is armed.
    """

    def __init__(self, *, deadline: float = DEFAULT_DEADLINE,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 no_proxy: str | None = None, **kwargs: Any) -> None:
        super().__init__(max_retries=0, **kwargs)
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        #: bytes/s an upload is granted on top of the deadline
        self.min_upload_rate = MIN_UPLOAD_RATE
        #: hosts reached without the proxy (``NO_PROXY``), read once by make_session
        self.no_proxy = no_proxy
        self._pool_keys: dict[tuple[str, Any, Any], tuple[dict[str, Any], dict[str, Any]]] = {}

    def deadline_for(self, body: Any) -> float:
        """Seconds the whole exchange may take: uploads get more by their size."""
        return self.deadline + _body_size(body) / self.min_upload_rate

    def build_connection_pool_key_attributes(
            self, request: requests.PreparedRequest, verify: bool | str,
            cert: tuple[str, str] | str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """requests' pool key for the request's origin, remembered per origin and TLS
        setting: requests works it out again for every request, with a ``stat`` of the CA
        bundle each time (7 % of the daemon's samples in a burst). The hook is requests'
        own, documented for subclasses to override."""
        origin = (request.url or "").split("/", 3)[:3]
        key = ("/".join(origin), verify, cert)
        known = self._pool_keys.get(key)
        if known is None:
            known = super().build_connection_pool_key_attributes(request, verify, cert)
            if len(self._pool_keys) >= 256:  # a few origins per account: a bound, not a cache
                self._pool_keys.clear()
            self._pool_keys[key] = known
        host_params, pool_kwargs = known
        return dict(host_params), dict(pool_kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS brings its own connections
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        call = current_call()
        if call is None:  # the session used directly, not through http.request()
            with calling(Call()):
                return self.send(request, stream, timeout, verify, cert, proxies)
        if call.expires is None:
            call.allowed = self.deadline_for(request.body)
            call.expires = call.started + call.allowed
            WATCHDOG.arm(call)
        remaining = call.remaining()
        if remaining <= 0:
            call.expired = True
            raise DeadlineExceeded(_("the deadline passed before the request was sent"))
        if proxies and self.no_proxy and _bypasses(request.url or "", self.no_proxy):
            proxies = {}
        response = self._exchange(request, _within(timeout, remaining), verify, cert, proxies)
        try:
            announced = _announced_length(response)
            if (announced is not None and announced > self.max_response_bytes
                    and request.method != "HEAD"):
                raise ResponseTooLarge(self.max_response_bytes, announced)
            response.raw = _CappedBody(response.raw, self.max_response_bytes)
            if not stream:
                response.content  # noqa: B018 - read now, under the deadline and the cap
        except ResponseTooLarge as exc:
            call.too_large = exc
            response.close()  # the connection is not reused with an unread body
            raise
        except BaseException:
            response.close()
            raise
        return response


    def _exchange(self, request: requests.PreparedRequest, timeout: Timeout, verify: Any,
                  cert: Any, proxies: Any) -> requests.Response:
        """``HTTPAdapter.send`` (streamed), made of the same public steps, minus what costs
        and does nothing without a proxy: choosing none, twice, per request (a tenth of a
        create's CPU). Through a proxy, requests' own ``send`` does it all."""
        if proxies:
            return super().send(request, stream=True, timeout=timeout, verify=verify,
                                cert=cert, proxies=proxies)
        try:
            host, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
            pool = self.poolmanager.connection_from_host(**host, pool_kwargs=pool_kwargs)
        except ValueError as exc:  # requests' InvalidURL, as from its own send
            raise requests.exceptions.InvalidURL(exc, request=request) from None
        self.cert_verify(pool, request.url or "", verify, cert)
        self.add_headers(request, stream=True, timeout=timeout, verify=verify, cert=cert,
                         proxies=proxies)
        try:
            answer = pool.urlopen(
                method=request.method, url=request.path_url, body=request.body,
                headers=request.headers, redirect=False, assert_same_host=False,
                preload_content=False, decode_content=False, retries=self.max_retries,
                timeout=timeout,
                chunked=not (request.body is None or "Content-Length" in request.headers))
        except Exception as exc:
            mapped = _as_requests_error(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        return self.build_response(request, answer)

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        """requests' ``Response`` for urllib3's answer; without parsing the answer's
        headers for cookies again when it sets none (the jar would stay empty)."""
        headers = resp.headers
        if "Set-Cookie" in headers or "Set-Cookie2" in headers:
            return super().build_response(req, resp)
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode() if isinstance(req.url, bytes) else req.url
        response.request = req
        response.connection = self
        return response


def _as_requests_error(exc: Exception, request: requests.PreparedRequest) -> Exception:
    """What requests' ``HTTPAdapter.send`` raises for what urllib3 raised (the same
    mapping, so one classification serves both ways of sending)."""
    rx = requests.exceptions
    if isinstance(exc, u3.ProtocolError | OSError | u3.ClosedPoolError):
        return rx.ConnectionError(exc, request=request)
    if isinstance(exc, u3.MaxRetryError):  # why the one try failed
        reason = exc.reason
        if isinstance(reason, u3.ConnectTimeoutError) and not isinstance(
                reason, u3.NewConnectionError):
            return rx.ConnectTimeout(exc, request=request)
        kinds = ((u3.ResponseError, rx.RetryError), (u3.ProxyError, rx.ProxyError),
                 (u3.SSLError, rx.SSLError))
        kind = next((kind for cause, kind in kinds if isinstance(reason, cause)),
                    rx.ConnectionError)
        return kind(exc, request=request)
    kinds = ((u3.ProxyError, rx.ProxyError), (u3.SSLError, rx.SSLError),
             (u3.ReadTimeoutError, rx.ReadTimeout), (u3.InvalidHeader, rx.InvalidHeader))
    kind = next((kind for cause, kind in kinds if isinstance(exc, cause)), None)
    return exc if kind is None else kind(exc, request=request)


def _bypasses(url: str, no_proxy: str) -> bool:
    parts = urlsplit(url)
    return bypasses_proxy(parts.hostname or "", parts.port, no_proxy)


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
                with suppress(ValueError):
                    if address in ipaddress.ip_network(entry.strip(), strict=False):
                        return True
    netloc = host if port is None else f"{host}:{port}"
    return bool(urllib.request.proxy_bypass_environment(netloc, {"no": no_proxy}))
