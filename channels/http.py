"""HTTP hygiene shared by every adapter that speaks HTTP.

One ``requests.Session`` per account, connect/read timeouts, a User-Agent, no retries
inside the library, and one rule for what a transport failure means:

* the connection never opened (refused, DNS, connect timeout) → nothing was sent → ``NotSent``
* it broke after the request left (read timeout, reset) → maybe applied → ``InDoubt``

Secrets are redacted from anything that could reach a log or an error message.
"""

from __future__ import annotations

import email.utils
import os
import re
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from channels.base import AuthFailed, Channel, InDoubt, NotSent, Outcome, Rejected

USER_AGENT = "Siar/0.1 (+https://github.com/siar-humas/siar; publishing scheduler)"
DEFAULT_TIMEOUT = (5.0, 30.0)


def make_session(*, user_agent: str = USER_AGENT) -> requests.Session:
    """A session that never retries by itself (a resent create is a duplicate post).

    Proxy and CA settings are read from the environment once, here, instead of on every
    request: with ``trust_env`` on, requests rescans the whole environment (one
    ``SIAR_SECRET_*`` variable per secret) for each call, which cost ~0.6 ms a post.
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies = {k: v for k, v in urllib.request.getproxies().items()
                       if k in ("http", "https", "no")}
    if bundle := os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
        session.verify = bundle
    adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and bearer tokens) replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+", r"\1***", text)


def request(session: requests.Session, method: str, url: str, *, secrets: Iterable[str] = (),
            timeout: tuple[float, float] = DEFAULT_TIMEOUT,
            **kwargs: Any) -> requests.Response | Outcome:
    """Send one request; a transport failure comes back as an outcome, never raised."""
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.exceptions.ConnectTimeout as exc:
        return NotSent(f"connect timeout: {redact(str(exc), secrets)}")
    except requests.exceptions.ReadTimeout as exc:
        return InDoubt(f"no answer in {timeout[1]:g}s after sending: {redact(str(exc), secrets)}")
    except requests.exceptions.SSLError as exc:
        return NotSent(f"TLS error: {redact(str(exc), secrets)}")
    except requests.exceptions.ConnectionError as exc:
        if _connection_never_opened(exc):
            return NotSent(f"connection failed: {redact(str(exc), secrets)}")
        return InDoubt(f"connection broke after sending: {redact(str(exc), secrets)}")
    except requests.exceptions.RequestException as exc:
        return InDoubt(f"request failed: {redact(str(exc), secrets)}")


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
