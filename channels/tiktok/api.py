"""TikTok's API as the adapter speaks it: OAuth tokens that rotate, one JSON call, and what
each of TikTok's error codes means for a post.

Every answer of ``open.tiktokapis.com/v2`` is ``{"data": {...}, "error": {"code", "message",
"log_id"}}``; ``code`` is ``"ok"`` on success. Access tokens are short-lived (the answer's
``expires_in``: 24 hours in the token-management guide, 2 hours in its newest revision) and
renewed with ``POST /v2/oauth/token/ grant_type=refresh_token``; the refresh token is
**rotated**: the answer's ``refresh_token`` replaces the one sent, which stops working. The
new pair is saved in the account's :class:`~channels.tokens.TokenStore` the moment it
arrives, so it survives a restart and is shared with the account's other daemons.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from channels import http
from channels.base import AuthFailed, InDoubt, NotSent, Outcome, Rejected
from channels.http import HttpChannel, answered
from channels.i18n import N_, _
from channels.tokens import StoredTokens, TokenStore, seed_of

if TYPE_CHECKING:
    import requests

__all__ = ["DONE", "FAILED", "FAIL_REASONS", "PRIVACY_LEVELS", "TikTokClient", "privacy_of"]

#: a token with less than this left is renewed before use
REFRESH_MARGIN = timedelta(minutes=5)
#: TikTok's 429 names no wait; its limits are per minute (6 video inits per user token)
DEFAULT_RATE_LIMIT_WAIT = 60.0
#: the creator reached TikTok's daily post cap, or the app its daily active-user cap:
#: come back in an hour (within the grace the post is still due; past it it is missed)
DAILY_CAP_WAIT = 3600.0
#: the expiry of an access token from .env: not known, so it is renewed before first use
UNKNOWN_EXPIRY = datetime(1970, 1, 1, tzinfo=UTC)

#: error codes that mean "these credentials will not do" (pause the account)
AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized",
                        "scope_permission_missed", "invalid_grant", "invalid_client",
                        "unauthorized_client", "auth_removed"})
#: error codes after which the post may go later, once TikTok lets the creator post again
LATER_CODES = frozenset({"spam_risk_too_many_posts", "reached_active_user_cap",
                         "spam_risk_too_many_pending_share"})

#: TikTok's error codes in the words of PR staff, with what to do
EXPLAINED = {
    "spam_risk_user_banned_from_posting": N_("TikTok has banned this account from posting"),
    "unaudited_client_can_only_post_to_private_accounts":
        N_("the TikTok app is not audited yet, so it may only post privately: set the account "
           "option audited = false (posts go out as SELF_ONLY) or have the app audited"),
    "privacy_level_option_mismatch":
        N_("the account's privacy_level is not one this creator may use"),
    "url_ownership_unverified":
        N_("TikTok fetches media only from a domain verified for the app: verify the media "
           "store's domain in the TikTok developer portal, or set pull_from_url = false"),
    "spam_risk_too_many_posts": N_("the creator reached TikTok's daily post limit"),
    "reached_active_user_cap": N_("the TikTok app reached its daily limit of posting users"),
}

PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                  "SELF_ONLY")
#: states of status/fetch after which nothing more happens
DONE, FAILED = "PUBLISH_COMPLETE", "FAILED"
#: TikTok's fail_reason values in the words of PR staff
FAIL_REASONS = {
    "file_format_check_failed": N_("TikTok does not accept the video's file format"),
    "duration_check_failed": N_("the video is longer or shorter than TikTok allows"),
    "frame_rate_check_failed": N_("the video's frame rate is outside TikTok's 23-60 fps"),
    "picture_size_check_failed": N_("the picture size is outside what TikTok accepts"),
    "video_pull_failed": N_("TikTok could not download the video from its URL"),
    "photo_pull_failed": N_("TikTok could not download a photo from its URL"),
    "publish_cancelled": N_("the post was cancelled on TikTok"),
    "auth_removed": N_("the account withdrew the app's access"),
    "spam_risk_too_many_posts": N_("the creator reached TikTok's daily post limit"),
    "spam_risk_user_banned_from_posting": N_("TikTok has banned this account from posting"),
    "spam_risk_text": N_("TikTok's spam filter refused the caption"),
    "spam_risk": N_("TikTok's spam filter refused the post"),
    "internal": N_("TikTok failed while processing the video; sending it again may work"),
}


def privacy_of(options: Any) -> str:
    """The privacy level an account's posts get: ``SELF_ONLY`` for an unaudited app."""
    if options.get("audited", True) is False:
        return "SELF_ONLY"
    return str(options.get("privacy_level", "PUBLIC_TO_EVERYONE"))


def _error_of(body: Any) -> tuple[str, str]:
    """TikTok's ``(code, message)`` from an answer body (``ok`` when there is none)."""
    if not isinstance(body, dict):
        return "unreadable", ""
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("code") or "ok"), str(error.get("message") or "")
    if isinstance(error, str):  # the OAuth endpoint: {"error", "error_description"}
        return error, str(body.get("error_description") or "")
    return "ok", ""


class TikTokClient(HttpChannel):
    """The plumbing of :class:`channels.tiktok.TikTokChannel`: tokens and calls."""

    secret_fields: ClassVar[tuple[str, ...]] = ("client_key", "client_secret", "refresh_token")
    optional_secret_fields: ClassVar[tuple[str, ...]] = ("access_token",)
    default_base_url = "https://open.tiktokapis.com"
    #: the daemon and the CLI hand in a :class:`TokenStore` (the refresh token rotates)
    keeps_tokens: ClassVar[bool] = True
    token_store: TokenStore | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token_lock = threading.Lock()
        self._tokens: StoredTokens | None = None
        #: every token value this adapter has held, for redaction
        self._seen: set[str] = set(self.secrets.values())

    # --- secrets never shown --------------------------------------------------------------
    @property
    def hidden(self) -> list[str]:
        """Every secret and token value this adapter knows."""
        return [value for value in self._seen if value]

    def redact(self, text: str) -> str:
        return http.redact(text, self.hidden)

    # --- tokens ---------------------------------------------------------------------------
    def _seed(self) -> StoredTokens:
        """The tokens ``.env`` gives: its refresh token (and access token, whose expiry is
        unknown, so it is renewed before first use)."""
        refresh = self.secrets.get("refresh_token", "")
        return StoredTokens(access_token=self.secrets.get("access_token", ""),
                            refresh_token=refresh, access_expires_at=UNKNOWN_EXPIRY,
                            refresh_expires_at=None, seed=seed_of(refresh))

    def _current(self) -> StoredTokens:
        """The newest tokens: the store's when they descend from ``.env``'s refresh token
        (a different one there means the operator logged in again: it wins)."""
        seed = self._seed()
        stored = self.token_store.load() if self.token_store is not None else None
        return stored if stored is not None and stored.seed == seed.seed else seed

    def _use(self, tokens: StoredTokens) -> StoredTokens:
        self._tokens = tokens
        self._seen.update((tokens.access_token, tokens.refresh_token))
        return tokens

    def access_token(self, *, renew: bool = False) -> str | Outcome:
        """A working access token, renewed (and stored) when it is close to expiring, or
        when ``renew`` (TikTok refused the one in use)."""
        with self._token_lock:
            tokens = self._tokens or self._use(self._current())
            if renew or tokens.access_expires_at - REFRESH_MARGIN <= datetime.now(UTC):
                renewed = self._refresh(tokens)
                if not isinstance(renewed, StoredTokens):
                    return renewed
                tokens = renewed
            return tokens.access_token

    def _refresh(self, tokens: StoredTokens) -> StoredTokens | Outcome:
        """Renew the access token with the refresh token; the rotated pair is stored before
        it is used. A refused refresh token may only be stale: another daemon of the same
        account may have rotated it a moment ago, so the store is read again first."""
        answer = http.request(
            self.session, "POST", f"{self.base_url}/v2/oauth/token/", secrets=self.hidden,
            timeout=self.timeouts, headers={"Cache-Control": "no-cache"},
            data={"client_key": self.secrets.get("client_key", ""),
                  "client_secret": self.secrets.get("client_secret", ""),
                  "grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
        if not answered(answer):
            return answer
        body = _json(answer)
        code, message = _error_of(body)
        if answer.status_code != 200 or code != "ok" or not isinstance(body, dict):
            if code in AUTH_CODES or answer.status_code == 401:
                newer = self._current()
                if newer.refresh_token != tokens.refresh_token:
                    self._use(newer)
                    return (newer if newer.access_expires_at - REFRESH_MARGIN
                            > datetime.now(UTC) else self._refresh(newer))
                return AuthFailed(self.redact(
                    _("TikTok refused the refresh token ({code}: {message}): log in again and "
                      "put the new refresh token in SIAR_SECRET_<ACCOUNT>_REFRESH_TOKEN").format(
                        code=code, message=message)),
                    http_status=answer.status_code)
            return self.failure(answer, _("token refresh"), creating=False)
        try:
            now = datetime.now(UTC)
            refresh_left = body.get("refresh_expires_in")
            renewed = StoredTokens(
                access_token=str(body["access_token"]),
                refresh_token=str(body.get("refresh_token") or tokens.refresh_token),
                access_expires_at=now + timedelta(seconds=int(body["expires_in"])),
                refresh_expires_at=(now + timedelta(seconds=int(refresh_left))
                                    if refresh_left is not None else None),
                seed=tokens.seed)
        except (KeyError, TypeError, ValueError):
            return NotSent(_("TikTok's token answer could not be read"))
        self._use(renewed)
        # stored before anything uses it: the refresh token just sent no longer works
        if self.token_store is not None and not self.token_store.save(
                renewed, tokens.refresh_token):
            return self._use(self._current())  # another process stored newer ones first
        return renewed

    def token_expiry(self) -> datetime | None:
        """When the refresh token lapses, if TikTok said (after a refresh)."""
        return self._tokens.refresh_expires_at if self._tokens is not None else None

    # --- one call -------------------------------------------------------------------------
    def call(self, path: str, payload: dict[str, Any] | None = None, *,
             create: bool = False) -> dict[str, Any] | Outcome:
        """``POST /v2/<path>`` with a JSON body; the answer's ``data``, or its outcome. An
        access token TikTok calls invalid is renewed once and the call made again (a 401
        applies nothing)."""
        for renew in (False, True):
            token = self.access_token(renew=renew)
            if not isinstance(token, str):
                return token
            answer = http.request(
                self.session, "POST", f"{self.base_url}/v2/{path.strip('/')}/",
                secrets=self.hidden, timeout=self.timeouts, create=create, json=payload or {},
                headers={"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json; charset=UTF-8"})
            if not answered(answer):
                return answer
            body = _json(answer)
            code, _message = _error_of(body)
            if answer.status_code == 200 and code == "ok" and isinstance(body, dict):
                data = body.get("data")
                return data if isinstance(data, dict) else {}
            if code == "access_token_invalid" and not renew:
                continue
            return self.failure(answer, path.strip("/").rsplit("/", 1)[-1], creating=create)
        raise AssertionError("unreachable")  # pragma: no cover

    def failure(self, answer: requests.Response, what: str, *, creating: bool) -> Outcome:
        """The outcome of an answer that is not a success, by TikTok's error code."""
        status = answer.status_code
        body = _json(answer)
        code, message = _error_of(body)
        said = _(EXPLAINED[code]) if code in EXPLAINED else message or answer.text[:300]
        reason = self.redact(f"TikTok {what}: {code} (HTTP {status}): {said}")
        if status == 429 or code == "rate_limit_exceeded":
            wait = http.rate_limit_wait(answer.headers)
            if wait is None:
                wait = float(self.account.options.get("rate_limit_wait",
                                                      DEFAULT_RATE_LIMIT_WAIT))
            return NotSent(reason, retry_after=wait, rate_limited=True, http_status=status)
        if code in LATER_CODES:
            return NotSent(reason, retry_after=DAILY_CAP_WAIT, rate_limited=True,
                           http_status=status)
        if code in AUTH_CODES or status == 401:
            return AuthFailed(reason, http_status=status)
        if status >= 500:
            return (InDoubt(reason, http_status=status) if creating
                    else NotSent(reason, http_status=status))
        if status == 200 and code in ("ok", "unreadable"):  # garbled: was it applied?
            return (InDoubt(_("{reason} (an unreadable answer)").format(
                                reason=reason), http_status=status)
                    if creating else NotSent(_("{reason} (an unreadable answer)").format(
                                                 reason=reason)))
        return Rejected(reason, http_status=status)


def _json(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None
