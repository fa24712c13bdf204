"""How long a network asked us to wait: the one place every adapter reads it from.

A 429 (or a 503 with a wait) says when to come back in one of several ways:

* the standard ``Retry-After`` (RFC 9110): delta-seconds or an HTTP-date;
* a reset header naming when the rate-limit window resets: ``x-rate-limit-reset`` (X,
  epoch seconds), ``X-RateLimit-Reset`` (Mastodon, ISO 8601; GitHub and others, epoch
  seconds), ``RateLimit-Reset`` (Bluesky, epoch seconds; the IETF draft, delta-seconds),
  ``X-RateLimit-Reset-After`` (Discord, delta-seconds);
* a wait stated in the body (Telegram's ``parameters.retry_after``, Discord's
  ``retry_after``), which the adapter reads and passes as ``stated``.

:func:`rate_limit_wait` takes them in that order of precedence: the body's own figure,
then ``Retry-After`` (the server's answer to this request), then the reset headers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["RESET_HEADERS", "rate_limit_wait", "reset_seconds", "retry_after_seconds"]

#: reset headers, in the order they are looked at (requests' headers ignore case)
RESET_HEADERS = ("X-RateLimit-Reset-After", "x-rate-limit-reset", "X-RateLimit-Reset",
                 "RateLimit-Reset")

#: a number at least this large is a Unix time, not a count of seconds (2001-09-09)
_EPOCH_FLOOR = 1e9
#: ... and at least this large, a Unix time in milliseconds
_EPOCH_MS_FLOOR = 1e11


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    number = _number(value)
    if number is not None:
        return max(0.0, number)
    import email.utils  # here: composing imports every adapter, and needs none of email

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" in an HTTP-date: UTC all the same
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - _now(now)).total_seconds())


def reset_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds until a rate-limit reset header's moment.

    Numbers are a Unix time (seconds, or milliseconds when that large) or, when small,
    seconds from now; otherwise an ISO 8601 time (naive means UTC) or an HTTP-date.
    """
    if not value:
        return None
    value = value.strip()
    current = _now(now)
    number = _number(value)
    if number is not None:
        if number >= _EPOCH_MS_FLOOR:
            return max(0.0, number / 1000 - current.timestamp())
        if number >= _EPOCH_FLOOR:
            return max(0.0, number - current.timestamp())
        return max(0.0, number)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return retry_after_seconds(value, current)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - current).total_seconds())


def rate_limit_wait(headers: Mapping[str, str] | None, *, stated: object = None,
                    now: datetime | None = None) -> float | None:
    """Seconds the network asked us to wait, or ``None`` when it did not say.

    ``headers`` are the answer's (a case-insensitive mapping, as requests gives);
    ``stated`` is a wait the network wrote in its body, in seconds.
    """
    if isinstance(stated, int | float | str) and not isinstance(stated, bool):
        number = _number(str(stated))
        if number is not None:
            return max(0.0, number)
    if not headers:
        return None
    wait = retry_after_seconds(headers.get("Retry-After"), now)
    if wait is not None:
        return wait
    for name in RESET_HEADERS:
        wait = reset_seconds(headers.get(name), now)
        if wait is not None:
            return wait
    return None
