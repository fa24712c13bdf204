"""HTTP hygiene shared by every adapter that speaks HTTP.

One ``requests.Session`` per account, connect/read timeouts, a total deadline and a cap
on the answer's size (:mod:`channels.transport`), a User-Agent, no retries inside the
library, and one rule for what a failure means:

* nothing of the request left (refused, DNS, connect timeout, TLS handshake, a deadline
  that passed first) → ``NotSent``;
* it failed after the first byte left (read timeout, reset, the deadline, an answer over
  the cap) → ``InDoubt`` for the request that creates the post (``create=True``): it
  may have been applied; ``NotSent`` for any other request (an upload, a lookup): no
  post can exist because of it;
* a create request answered with a redirect → ``Rejected``: it is never sent on.

Secrets are redacted from anything that could reach a log or an error message. Only the
public APIs of requests and urllib3 are used (a test checks it). Requests the lean path
takes go over the wire through libcurl (:mod:`channels.curl`), the rest through requests'
adapter (:mod:`channels.transport`).

requests, urllib3, pycurl and the transports are imported when the first session is made: the
composer imports every adapter module for the rules it declares, and ``siar preview``
must not pay ~70 ms for HTTP libraries it never uses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from channels.base import (
    AuthFailed,
    Channel,
    InDoubt,
    NotSent,
    Outcome,
    Rejected,
    note_create_sent,
)
from channels.i18n import _
from channels.ratelimit import rate_limit_wait, reset_seconds, retry_after_seconds

if TYPE_CHECKING:
    import requests

    from channels.calls import Call
    from channels.transport import LimitedAdapter, bypasses_proxy

#: the deadline of one request, connect to last byte of the answer, when none is set
DEFAULT_DEADLINE = 60.0
#: the largest answer read, in bytes (decoded), when no cap is set
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
#: an upload's deadline grows by its size at this rate (bytes/s): 64 KiB/s ≈ 0.5 Mbit/s,
#: a slow uplink; a 5 MB image gets 60 + 80 s
MIN_UPLOAD_RATE = 64 * 1024

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "MIN_UPLOAD_RATE",
    "USER_AGENT",
    "HttpChannel",
    "LimitedAdapter",
    "answered",
    "bypasses_proxy",
    "classify_status",
    "limits",
    "make_session",
    "rate_limit_wait",
    "redact",
    "request",
    "reset_seconds",
    "retry_after_seconds",
]

USER_AGENT = "Siar/0.1 (+https://github.com/siar-humas/siar; publishing scheduler)"
DEFAULT_TIMEOUT = (5.0, 30.0)


def __getattr__(name: str) -> Any:
    """The transport's names, re-exported here, on first use (PEP 562)."""
    if name in ("LimitedAdapter", "bypasses_proxy"):
        from channels import transport

        return getattr(transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def answered(result: requests.Response | Outcome) -> TypeGuard[requests.Response]:
    """Whether :func:`request` got an answer (of any status) rather than an outcome."""
    return not isinstance(result, Outcome)


def make_session(*, user_agent: str = USER_AGENT, deadline: float = DEFAULT_DEADLINE,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> requests.Session:
    """A session that never retries by itself (a resent create is a duplicate post),
    with a total ``deadline`` per request and answers capped at ``max_response_bytes``.

    Proxy and CA settings are read from the environment once, here, instead of on every
    request: with ``trust_env`` on, requests rescans the whole environment (one
    ``SIAR_SECRET_*`` variable per secret) for each call, which cost ~0.6 ms a post.
    ``NO_PROXY``, which requests only reads with ``trust_env`` on, goes to the adapter.
    """
    import urllib.request  # with requests: http.client is no part of composing a preview

    import requests

    from channels.curl import CurlAdapter

    proxies = urllib.request.getproxies()
    adapter = CurlAdapter(deadline=deadline, max_response_bytes=max_response_bytes,
                             no_proxy=proxies.get("no"), pool_connections=4,
                             pool_maxsize=16)
    session = requests.Session()
    session.trust_env = False
    session.proxies = {k: v for k, v in proxies.items() if k in ("http", "https")}
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if bundle := os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
        session.verify = bundle
    session.headers["User-Agent"] = user_agent
    return session


def limits(options: Mapping[str, Any], account: str = "") -> dict[str, Any]:
    """``make_session``'s deadline and cap from an account's options
    (``deadline_seconds``, ``max_response_bytes``)."""
    found: dict[str, Any] = {}
    for option, key, kind in (("deadline_seconds", "deadline", float),
                              ("max_response_bytes", "max_response_bytes", int)):
        if option not in options:
            continue
        value = options[option]
        try:
            number = kind(value)
        except (TypeError, ValueError):
            number = 0
        if isinstance(value, bool) or number <= 0:
            raise ValueError(_("account {account!r}: options.{option} must be a positive number, "
                               "not {value!r}").format(account=account, option=option, value=value))
        found[key] = number
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and bearer tokens) replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+", r"\1***", text)


def request(session: requests.Session, method: str, url: str, *, secrets: Iterable[str] = (),
            timeout: tuple[float, float] = DEFAULT_TIMEOUT, create: bool = False,
            **kwargs: Any) -> requests.Response | Outcome:
    """Send one request and read its whole answer; a failure comes back as an outcome,
    never raised.

    ``create`` marks the request that makes the post (not a media upload or a lookup):
    when its first byte leaves, :func:`channels.base.note_create_sent` records it; a
    failure after that is ``InDoubt``; a redirect is ``Rejected``, never followed.
    """
    lib = _hot()
    secrets = list(secrets)
    if create:
        kwargs["allow_redirects"] = False
        if not isinstance(session.adapters.get("https://"), lib.LimitedAdapter):
            note_create_sent()  # a session of someone else's: no report of the first byte
    call = lib.Call(create=create)
    try:
        with lib.calling(call):
            response = _send_lean(session, method, url, timeout, kwargs, call)
            if response is None:
                response = session.request(method, url, timeout=timeout, **kwargs)
    except Exception as exc:
        outcome = _failure(call, exc, timeout, secrets)
        if outcome is None:
            raise
        return outcome
    if create and 300 <= response.status_code < 400:
        location = response.headers.get("Location")
        where = _("redirected to {address}").format(address=location) if location else _(
            "answered HTTP {status} without a Location").format(status=response.status_code)
        return Rejected(redact(_("{where} — fix base_url (a create request is never sent on "
                                 "to another address)").format(where=where), secrets),
                        http_status=response.status_code)
    return response


#: what a request may carry and still take the lean path (anything else: requests' path)
_LEAN_KWARGS = frozenset({"json", "data", "headers", "params", "allow_redirects"})


def _send_lean(session: requests.Session, method: str, url: str, timeout: Any,
               kwargs: dict[str, Any], call: Call) -> requests.Response | None:
    """A request on one of our own sessions without cookies, auth, hooks or files, sent
    the way ``Session.request`` would send it but without its general machinery (merging
    cookies, auth, hooks and settings, and looking ahead for a redirect nobody follows):
    half the client's CPU per create request. ``None`` when the request needs requests'
    full path.

    It is prepared with requests' own public steps, so the bytes on the wire and the
    exceptions are the same as ``session.request``'s, and goes through libcurl when
    :class:`channels.curl.CurlAdapter` takes it (a quarter of urllib3's CPU), else through
    the same ``LimitedAdapter.send`` (deadline, cap, first byte, pools, TLS, proxies). A
    redirect is followed only after libcurl's first answer, by requests' own
    ``Session.resolve_redirects``.
    """
    lib = _hot()
    requests, LimitedAdapter = lib.requests, lib.LimitedAdapter
    follow = kwargs.get("allow_redirects", True)
    if (not _LEAN_KWARGS.issuperset(kwargs)
            or session.trust_env or session.auth is not None or session.params
            or session.stream or any(session.hooks.values()) or len(session.cookies)
            or "@" in url):  # credentials in the URL: requests' auth step
        return None
    prepared = requests.PreparedRequest()
    prepared.prepare_method(method)
    params = kwargs.get("params")
    if isinstance(params, Mapping):  # as Session.request merges them: None drops one
        params = {key: value for key, value in params.items() if value is not None}
    if params:
        prepared.prepare_url(url, params)
    else:
        prepared.url = _prepared_url(url)
    adapter = session.get_adapter(prepared.url)
    if not isinstance(adapter, LimitedAdapter):
        return None
    # merged as requests merges them: one entry per name whatever its case, in the
    # session's order, named as last given; a None value drops the header
    names = session.headers  # as given and lower-cased, without a lookup per name
    given = (zip(names, names.lower_items(), strict=True)
             if isinstance(names, lib.CaseInsensitiveDict) else
             ((name, (name.lower(), value)) for name, value in names.items()))
    merged = {lower: (name, value) for name, (lower, value) in given}
    for name, value in (kwargs.get("headers") or {}).items():
        merged[name.lower()] = (name, value)
    prepared.headers = _checked_headers([pair for pair in merged.values()
                                         if pair[1] is not None])
    _prepare_body(prepared, kwargs.get("data"), kwargs.get("json"))
    if (isinstance(adapter, lib.CurlAdapter) and call.expires is None
            and adapter.takes(prepared, timeout, session.verify, session.cert,
                              session.proxies)):
        response = adapter.exchange(prepared, timeout, session.verify, call)
        if len(response.cookies):  # the server set some: keep them as Session.send would
            session.cookies.update(response.cookies)
    elif follow:
        return None
    else:
        response = adapter.send(prepared, stream=False, timeout=timeout,
                                verify=session.verify, cert=session.cert,
                                proxies=dict(session.proxies))
        if len(response.cookies):
            requests.cookies.extract_cookies_to_jar(session.cookies, prepared, response.raw)
    if follow and response.is_redirect:
        # the later hops as Session.send makes them (auth dropped on another host,
        # methods rewritten, the deadline shared), through requests' path
        prepared.prepare_cookies(requests.cookies.RequestsCookieJar())  # none: checked
        history = [response, *session.resolve_redirects(
            response, prepared, timeout=timeout, verify=session.verify, cert=session.cert,
            proxies=dict(session.proxies))]
        response = history.pop()
        response.history = history
    return response


def _prepare_body(prepared: requests.PreparedRequest, data: Any, json: Any) -> None:
    """``prepared.prepare_body(data or {}, None, json)``; a JSON body (the common case)
    made as requests makes it, without its look for streams and files (a tenth of the
    preparing)."""
    if data or json is None:
        prepared.prepare_body(data or {}, None, json)
        return
    lib = _hot()
    try:
        body = lib.encode_json(json)
    except ValueError as exc:
        raise lib.requests.exceptions.InvalidJSONError(exc, request=prepared) from exc
    if not isinstance(body, bytes):
        body = body.encode("utf-8")
    headers = prepared.headers
    if body:
        headers["Content-Length"] = str(len(body))
    if "content-type" not in headers:
        headers["Content-Type"] = "application/json"
    prepared.body = body


#: header (name, value) pairs found valid: an account sends the same few again and again
_VALID_HEADERS: set[tuple[Any, Any]] = set()


def _checked_headers(pairs: list[tuple[Any, Any]]) -> Any:
    """``PreparedRequest.prepare_headers`` of ``pairs``: each checked by requests'
    ``check_header_validity`` (the same ``InvalidHeader`` for a bad one), then kept in a
    ``CaseInsensitiveDict`` under its native name. A pair already found valid is not
    checked again: the regular expressions were a tenth of a create request's CPU."""
    lib = _hot()
    for pair in pairs:
        if not isinstance(pair[1], str | bytes):  # unhashable, or refused anyway
            lib.check_header_validity(pair)
        elif pair not in _VALID_HEADERS:
            lib.check_header_validity(pair)
            if len(_VALID_HEADERS) >= 4096:  # a key per post: a bound, not a cache
                _VALID_HEADERS.clear()
            _VALID_HEADERS.add(pair)
    native = lib.to_native_string
    return lib.CaseInsensitiveDict((name if isinstance(name, str) else native(name), value)
                                   for name, value in pairs)


_HOT: Any = None


def _hot() -> Any:
    """The names of requests and of the transports a request uses, imported on its first
    use (not with this module: see the module's docstring) and then kept: a ``from``
    import in a function costs ~2.5 µs each time it runs, ten of them per request."""
    global _HOT
    if _HOT is None:
        import functools
        import json
        from types import SimpleNamespace

        import requests
        from requests.compat import json as complexjson
        from requests.structures import CaseInsensitiveDict
        from requests.utils import check_header_validity, to_native_string

        from channels.calls import Call, calling
        from channels.curl import CurlAdapter
        from channels.transport import LimitedAdapter

        _HOT = SimpleNamespace(
            requests=requests, CaseInsensitiveDict=CaseInsensitiveDict,
            # requests' ``complexjson.dumps(body, allow_nan=False)``: with the standard
            # library's json, one encoder for every body (``dumps`` makes one per call)
            encode_json=(json.JSONEncoder(allow_nan=False).encode if complexjson is json
                         else functools.partial(complexjson.dumps, allow_nan=False)),
            check_header_validity=check_header_validity, to_native_string=to_native_string,
            Call=Call, calling=calling, CurlAdapter=CurlAdapter,
            LimitedAdapter=LimitedAdapter)
    return _HOT


_URLS: dict[str, str] = {}


def _prepared_url(url: str) -> str:
    """``url`` as requests prepares it (IDNA host, quoting), remembered: accounts send to
    the same few URLs again and again."""
    known = _URLS.get(url)
    if known is None:
        import requests

        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        known = str(prepared.url)
        if len(_URLS) >= 4096:  # a few URLs per account: a bound, not a cache
            _URLS.clear()
        _URLS[url] = known
    return known


def _failure(call: Call, exc: Exception, timeout: Any,
             secrets: list[str]) -> Outcome | None:
    """The outcome of a request that raised, or ``None`` for a local error (a bug, a CA
    bundle that is not there) that must surface as it is."""
    import requests

    cause = redact(str(exc) or repr(exc), secrets)
    if call.too_large is not None:
        cap = call.too_large.cap
        said = (f" (Content-Length {call.too_large.announced})"
                if call.too_large.announced is not None else "")
        text = _("the answer is larger than the {cap}-byte cap{said}; it was not read "
                 "(options.max_response_bytes)").format(cap=f"{cap:,}", said=said)
        return _after_sending(call, text)
    # A socket timeout is capped at the time left, so it may fire just before the watchdog
    # marks the call expired: past the deadline, whatever ended the call, the deadline did
    if call.expired or (call.expires is not None and call.remaining() <= 0):
        deadline = f"{round(call.allowed, 1):g}s " if call.allowed is not None else ""
        if not call.written:
            return NotSent(_("the {deadline}deadline passed before the request was sent")
                           .format(deadline=deadline))
        return _after_sending(call, _("no complete answer within the {deadline}deadline "
                                      "(options.deadline_seconds)").format(deadline=deadline))
    if not isinstance(exc, requests.RequestException):
        return None
    if not call.written:
        if isinstance(exc, requests.exceptions.InvalidHeader):
            # its text quotes the value, which may be a token: say what, not which
            return Rejected(_("the request cannot be sent: a header value holds a line break "
                              "or another character HTTP forbids (a secret with a newline?)"))
        if isinstance(exc, ValueError | requests.exceptions.InvalidJSONError):
            # InvalidURL, MissingSchema, InvalidJSONError...: no retry can send this
            return Rejected(_("the request cannot be sent: {cause}").format(cause=cause))
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return NotSent(_("connect timeout: {cause}").format(cause=cause))
        if isinstance(exc, requests.exceptions.SSLError):
            return NotSent(_("TLS error: {cause}").format(cause=cause))
        return NotSent(_("connection failed: {cause}").format(cause=cause))
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _after_sending(call, _("no answer in {seconds}s after sending: {cause}").format(
            seconds=_read_timeout(timeout), cause=cause))
    return _after_sending(call, _("connection broke after sending: {cause}").format(
        cause=cause))


def _after_sending(call: Call, text: str) -> Outcome:
    if call.create:
        return InDoubt(text)
    return NotSent(_("{text} (not a create request: no post can exist because of it)").format(
        text=text))


def _read_timeout(timeout: Any) -> str:
    read = timeout[1] if isinstance(timeout, tuple) else timeout
    return "∞" if read is None else f"{read:g}"


def classify_status(response: requests.Response, *, secrets: Iterable[str] = (),
                    retry_after: float | None = None) -> Outcome | None:
    """The generic meaning of an HTTP error status, or ``None`` for a 2xx.

    Adapters call this after their network-specific checks (error codes in bodies).
    A 429's wait (and a 502/503/504's, on a read) is :func:`rate_limit_wait`'s reading
    of the headers unless the adapter knows better (``retry_after``).
    """
    status = response.status_code
    if status < 400:
        return None
    body = redact(response.text[:500], secrets)
    if status == 401:
        return AuthFailed(f"HTTP 401: {body}", http_status=status)
    wait = retry_after if retry_after is not None else rate_limit_wait(response.headers)
    if status == 429:
        return NotSent(_("rate limited (HTTP 429): {body}").format(body=body), retry_after=wait,
                       rate_limited=True, http_status=status)
    request_sent = response.request
    if status in (502, 503, 504) and request_sent is not None and request_sent.method == "GET":
        return NotSent(f"HTTP {status}: {body}", retry_after=wait, http_status=status)
    if status >= 500:
        return InDoubt(f"HTTP {status}: {body}", http_status=status)
    return Rejected(f"HTTP {status}: {body}", http_status=status)


class HttpChannel(Channel):
    """Base of adapters that speak HTTP: one session per account, made on first use
    (with the account's ``deadline_seconds`` and ``max_response_bytes``) and closed
    with the adapter."""

    _session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(**limits(self.account.options, self.account.name))
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
