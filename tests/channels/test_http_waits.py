"""How long a network asked us to wait: one reading of ``Retry-After`` and of the
networks' reset headers (channels/ratelimit.py), used by every adapter."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from channels.ratelimit import rate_limit_wait, reset_seconds, retry_after_seconds

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def headers(**values: str) -> CaseInsensitiveDict[str]:
    return CaseInsensitiveDict({k.replace("_", "-"): v for k, v in values.items()})


@given(st.integers(min_value=0, max_value=10**7))
def test_retry_after_in_seconds_is_that_many_seconds(seconds: int) -> None:
    assert rate_limit_wait(headers(Retry_After=str(seconds)), now=NOW) == seconds


@given(st.integers(min_value=0, max_value=10**7))
def test_retry_after_as_an_http_date_is_the_time_until_then(seconds: int) -> None:
    when = email.utils.format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert rate_limit_wait(headers(Retry_After=when), now=NOW) == seconds


@given(st.integers(min_value=0, max_value=10**7))
def test_a_reset_header_as_epoch_or_iso_is_the_time_until_then(seconds: int) -> None:
    when = NOW + timedelta(seconds=seconds)
    for value in (str(int(when.timestamp())), f"{when.timestamp() * 1000:.0f}",
                  when.isoformat(), when.isoformat().replace("+00:00", "Z")):
        assert reset_seconds(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(("given_headers", "wait"), [
    ({"x-rate-limit-reset": str(int(NOW.timestamp()) + 900)}, 900),       # X
    ({"X-RateLimit-Reset": "2026-12-06T10:05:00.000Z"}, 300),            # Mastodon
    ({"RateLimit-Reset": str(int(NOW.timestamp()) + 60)}, 60),           # Bluesky
    ({"RateLimit-Reset": "30"}, 30),                                      # IETF draft
    ({"X-RateLimit-Reset-After": "1.5"}, 1.5),                            # Discord
    ({"Retry-After": "7", "X-RateLimit-Reset": "2026-12-06T10:05:00Z"}, 7),  # standard wins
    ({"Retry-After": "soon", "X-RateLimit-Reset": "2026-12-06T10:05:00Z"}, 300),
    ({"Retry-After": "-5"}, 0),
    ({"X-RateLimit-Reset": "2026-12-06T09:00:00Z"}, 0),                  # already past
    ({}, None),
    ({"Retry-After": "", "X-RateLimit-Limit": "300"}, None),
])
def test_each_networks_header_is_read(given_headers: dict[str, str],
                                      wait: float | None) -> None:
    assert rate_limit_wait(CaseInsensitiveDict(given_headers), now=NOW) == wait


def test_a_wait_stated_in_the_body_comes_first() -> None:
    assert rate_limit_wait(headers(Retry_After="60"), stated=3, now=NOW) == 3
    assert rate_limit_wait(headers(Retry_After="60"), stated="4.5", now=NOW) == 4.5
    assert rate_limit_wait(headers(Retry_After="60"), stated=None, now=NOW) == 60
    assert rate_limit_wait(None, stated=True, now=NOW) is None


@pytest.mark.parametrize("value", ["", "abc", "Mon, 99 Foo 2026", "inf", "nan"])
def test_what_cannot_be_read_is_no_wait(value: str) -> None:
    assert retry_after_seconds(value, now=NOW) is None
