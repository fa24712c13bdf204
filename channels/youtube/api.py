"""Talking to Google's APIs for one account: the OAuth 2 access token and the error shape.

The account holds a refresh token (offline access) from Google's consent flow. It is
exchanged for an access token with a plain form POST to the token endpoint (RFC 6749
section 6, Google's "Refreshing an access token"): ``grant_type=refresh_token``,
``client_id``, ``client_secret``, ``refresh_token`` → ``{"access_token", "expires_in"}``.
The token lives in memory only; a request answered 401 gets a fresh token and is sent
once more (a 401 was not applied, so sending it again cannot duplicate anything).

google-auth would do the same exchange, but importing it costs about 100 ms of CPU on
top of requests (measured, it brings cryptography and pyasn1): too much for a form POST.

Errors come as ``{"error": {"code", "message", "errors": [{"domain", "reason"}]}}``;
:func:`google_error` turns them into outcomes. The daily quota resets at midnight
Pacific Time, so a ``quotaExceeded`` answer waits until then.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from channels import http
from channels.base import AuthFailed, InDoubt, NotSent, Outcome, Rejected
from channels.http import HttpChannel, answered
from channels.i18n import _

if TYPE_CHECKING:
    import requests

__all__ = [
    "PACIFIC",
    "TOKEN_URL",
    "GoogleChannel",
    "google_error",
    "seconds_to_pacific_midnight",
]

TOKEN_URL = "https://oauth2.googleapis.com/token"
#: where YouTube's quota day begins and ends
PACIFIC = "America/Los_Angeles"
#: a token is refreshed this long before Google says it expires
TOKEN_MARGIN = 60.0
#: "the quota is used up for today": wait for the next Pacific midnight
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
#: the channel uploaded as many videos as YouTube lets it in 24 hours
UPLOAD_LIMIT_REASON = "uploadLimitExceeded"
#: too many requests in a short time: wait a minute unless told otherwise
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: the token lacks a scope, or the account has no YouTube channel
AUTH_REASONS = frozenset({"insufficientPermissions", "youtubeSignupRequired",
                          "authError", "unauthorized"})
SHORT_WAIT = 60.0


def seconds_to_pacific_midnight(now: datetime | None = None) -> float:
    """Seconds from ``now`` to the next midnight in Pacific Time (DST included)."""
    zone = ZoneInfo(PACIFIC)
    local = (now or datetime.now(zone)).astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=zone)
    # in UTC: a difference of two times in one zone ignores a change of its offset
    return max(1.0, (midnight.astimezone(UTC) - local.astimezone(UTC)).total_seconds())


def _reasons(response: requests.Response) -> tuple[set[str], str]:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return set(), response.text[:300]
    if not isinstance(error, dict):  # the token endpoint: {"error": "invalid_grant", …}
        return {str(error)}, str(response.json().get("error_description", error))
    reasons = {str(e.get("reason")) for e in error.get("errors", []) if isinstance(e, dict)}
    return reasons, str(error.get("message", ""))


def google_error(response: requests.Response, what: str, secrets: list[str]) -> Outcome:
    """The outcome of a non-2xx answer of a Google API, in its own terms."""
    reasons, message = _reasons(response)
    status = response.status_code
    reason = http.redact(f"{what}: HTTP {status} {'/'.join(sorted(reasons))} {message}"
                         .replace("  ", " ").strip(), secrets)
    if reasons & QUOTA_REASONS:
        return NotSent(_("{reason} (the daily quota resets at midnight Pacific Time)").format(
                           reason=reason),
                       retry_after=seconds_to_pacific_midnight(), rate_limited=True,
                       http_status=status)
    if UPLOAD_LIMIT_REASON in reasons:
        return NotSent(_("{reason} (YouTube's upload limit: try again in 24 hours)").format(
                           reason=reason),
                       retry_after=24 * 3600.0, rate_limited=True, http_status=status)
    if reasons & RATE_REASONS or status == 429:
        wait = http.rate_limit_wait(response.headers)
        return NotSent(reason, retry_after=wait if wait is not None else SHORT_WAIT,
                       rate_limited=True, http_status=status)
    if status == 401 or reasons & AUTH_REASONS:
        return AuthFailed(reason, http_status=status)
    generic = http.classify_status(response, secrets=secrets)
    if isinstance(generic, Rejected):
        return Rejected(reason, http_status=status)
    if isinstance(generic, InDoubt):
        return InDoubt(reason, http_status=status)
    return generic or InDoubt(reason, http_status=status)


class GoogleChannel(HttpChannel):
    """An HTTP adapter whose requests carry a Google OAuth 2 access token made from the
    account's refresh token (secrets ``client_id``, ``client_secret``, ``refresh_token``;
    option ``token_url``)."""

    secret_fields = ("client_id", "client_secret", "refresh_token")
    _access_token: str | None = None
    _token_until: float = 0.0
    _token_lock: threading.Lock | None = None

    @property
    def token_url(self) -> str:
        return str(self.account.options.get("token_url", TOKEN_URL))

    @property
    def _secret_values(self) -> list[str]:
        values = list(self.secrets.values())
        if self._access_token:
            values.append(self._access_token)
        return values

    def _lock(self) -> threading.Lock:
        if self._token_lock is None:
            self._token_lock = threading.Lock()
        return self._token_lock

    def access_token(self, *, fresh: bool = False) -> str | Outcome:
        """A valid access token, asked for when there is none, it is about to expire, or
        ``fresh`` (the last one was refused)."""
        with self._lock():
            if fresh:
                self._access_token = None
            if self._access_token and time.monotonic() < self._token_until:
                return self._access_token
            return self._refresh()

    def _refresh(self) -> str | Outcome:
        missing = [f for f in self.secret_fields if not self.secrets.get(f)]
        if missing:
            return AuthFailed(_("missing secret(s) {secrets}: run Google's consent flow for the "
                                "channel and set them (environment or .env)").format(
                                  secrets=', '.join(missing)))
        response = http.request(self.session, "POST", self.token_url,
                                secrets=self._secret_values, timeout=self.timeouts,
                                data={"grant_type": "refresh_token",
                                      "client_id": self.secrets["client_id"],
                                      "client_secret": self.secrets["client_secret"],
                                      "refresh_token": self.secrets["refresh_token"]})
        if not answered(response):
            return response
        if response.status_code in (400, 401):  # invalid_grant, invalid_client …
            reasons, message = _reasons(response)
            return AuthFailed(http.redact(
                _("Google refused the refresh token ({code}: {message}); authorise the channel "
                  "again and store the new refresh token").format(
                    code=', '.join(sorted(reasons)) or 'error', message=message),
                self._secret_values), http_status=response.status_code)
        if response.status_code != 200:
            outcome = google_error(response, "token", self._secret_values)
            # a token request creates nothing: whatever its answer, no post exists
            return (NotSent(outcome.detail, http_status=outcome.http_status)
                    if isinstance(outcome, InDoubt) else outcome)
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            return NotSent(_("the token endpoint's answer has no access_token"))
        self._access_token = token
        self._token_until = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN)
        return token

    def google(self, method: str, url: str, *, create: bool = False,
               headers: dict[str, str] | None = None,
               **kwargs: Any) -> requests.Response | Outcome:
        """One request with the access token; on a 401 a fresh token and one more try."""
        for fresh in (False, True):
            token = self.access_token(fresh=fresh)
            if not isinstance(token, str):
                return token
            response = http.request(self.session, method, url, secrets=self._secret_values,
                                    timeout=self.timeouts, create=create,
                                    headers={**(headers or {}),
                                             "Authorization": f"Bearer {token}"},
                                    **kwargs)
            if not answered(response) or response.status_code != 401:
                return response
        return response

    def error(self, response: requests.Response, what: str) -> Outcome:
        """:func:`google_error` with this account's secrets redacted."""
        return google_error(response, what, self._secret_values)
