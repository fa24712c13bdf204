"""Every adapter against a misbehaving server: each fault ends in the one outcome it means.

The post is a create request (a status, a message, a webhook delivery): once it left,
a failure may have made the post (``InDoubt``); a refusal that says so is ``Rejected``,
``AuthFailed`` or ``NotSent`` with the network's wait. Lookups and uploads are not
creates: a failure after they left cannot leave a post behind (``NotSent``).

Deadlines and caps are small (0.5 s, 64 KiB) so a fault is met at once; tests assert the
outcome, never the time it took.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from channels import http
from channels.base import (
    AccountConfig,
    AuthFailed,
    Channel,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
    describe,
    watch_sends,
)
from channels.mastodon import MastodonChannel
from channels.telegram import TelegramChannel
from channels.webhook import WebhookChannel
from tests.channels.helpers import Attempt, attempt, make_delivery
from tests.faults.server import FaultServer

TOKEN = "123456:AAH-fault-test-s3cret-token"
#: small enough that every fault meets them at once; the read timeout is longer, so only
#: the deadline can end a trickle
LIMITS = {"deadline_seconds": 0.5, "max_response_bytes": 64 * 1024, "read_timeout": 5.0,
          "connect_timeout": 2.0}


@dataclass(frozen=True)
class Network:
    name: str
    make: Callable[[str], Channel]


NETWORKS = [
    Network("mastodon", lambda url: MastodonChannel(
        AccountConfig(name="lapas_mastodon", network="mastodon", base_url=url,
                      options=LIMITS), {"access_token": TOKEN})),
    Network("webhook", lambda url: WebhookChannel(
        AccountConfig(name="portal", network="webhook", base_url=f"{url}/hook",
                      options=LIMITS), {"secret": TOKEN})),
    Network("telegram", lambda url: TelegramChannel(
        AccountConfig(name="lapas_tg", network="telegram", base_url=url,
                      options={"chat_id": "@humaslapas", **LIMITS}), {"bot_token": TOKEN})),
]


@pytest.fixture(scope="module")
def running() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def server(running: FaultServer) -> FaultServer:
    running.fault = "ok"
    running.location = "/landing"
    running.received.clear()
    return running


def publish_once(channel: Channel) -> Attempt:
    """One attempt as the dispatcher makes it, then the adapter is closed."""
    try:
        return attempt(channel, make_delivery("Kegiatan pembinaan warga binaan",
                                              channel=channel.network))
    finally:
        channel.close()


def is_(kind: type, *words: str, **fields: Any) -> Callable[[Outcome], bool]:
    def check(outcome: Outcome) -> bool:
        text = describe(outcome)
        return (isinstance(outcome, kind) and all(w in text for w in words)
                and all(getattr(outcome, k) == v for k, v in fields.items()))
    check.__name__ = f"{kind.__name__}{words or ''}{fields or ''}"
    return check


def waits_about(seconds: float) -> Callable[[Outcome], bool]:
    def check(outcome: Outcome) -> bool:
        return (isinstance(outcome, NotSent) and outcome.rate_limited
                and outcome.retry_after is not None
                and seconds - 5 <= outcome.retry_after <= seconds)
    return check


#: fault → what a create request meets it as
EXPECTED: dict[str, Callable[[Outcome], bool]] = {
    "rate_limited_seconds": is_(NotSent, rate_limited=True, retry_after=120.0),
    "rate_limited_date": waits_about(120),
    "server_error": is_(InDoubt),
    "unavailable": is_(InDoubt),
    "unauthorized": is_(AuthFailed),
    "malformed_json": is_(InDoubt),
    "html": is_(InDoubt),
    "trickle": is_(InDoubt, "deadline"),
    "endless": is_(InDoubt, "larger than the 65,536-byte cap"),
    "huge_announced": is_(InDoubt, "Content-Length 5000000000"),
    "close_after_request": is_(InDoubt, "connection broke after sending"),
    "redirect_found": is_(Rejected, "redirected to", "fix base_url"),
    "redirect_temporary": is_(Rejected, "redirected to", "fix base_url"),
}
#: a webhook receiver's 2xx is its acceptance, whatever the body says
EXCEPTIONS = {("webhook", "malformed_json"): is_(Published),
              ("webhook", "html"): is_(Published)}


@pytest.mark.parametrize("fault", EXPECTED)
@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.name)
def test_each_fault_on_the_create_request_ends_in_its_outcome(
        server: FaultServer, network: Network, fault: str) -> None:
    server.fault = fault
    server.location = f"http://127.0.0.1:1/bot{TOKEN}/moved?access_token={TOKEN}"

    result = publish_once(network.make(server.url))

    expected = EXCEPTIONS.get((network.name, fault), EXPECTED[fault])
    assert expected(result.outcome), result.outcome
    assert result.creates == 1  # the adapter marked its post request as the create
    assert len(server.received) == 1  # sent once: never retried, never sent on
    assert TOKEN not in repr(result.outcome)


@pytest.mark.parametrize("fault", ["redirect_found", "redirect_temporary"])
def test_a_redirected_create_names_where_it_was_sent(server: FaultServer, fault: str) -> None:
    server.fault = fault
    server.location = "https://lapas.example.go.id/new-api/hook"

    result = publish_once(NETWORKS[1].make(server.url))

    assert isinstance(result.outcome, Rejected)
    assert result.outcome.reason.startswith(
        "redirected to https://lapas.example.go.id/new-api/hook — fix base_url")


# --- requests that create nothing --------------------------------------------------------

#: fault → what a lookup meets it as
LOOKUPS: dict[str, Callable[[Any], bool]] = {
    "trickle": is_(NotSent, "deadline", "not a create request"),
    "endless": is_(NotSent, "larger than the 65,536-byte cap"),
    "huge_announced": is_(NotSent, "Content-Length 5000000000"),
    "close_after_request": is_(NotSent, "connection broke after sending"),
}


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("fault", LOOKUPS)
def test_a_fault_after_a_lookup_or_upload_left_is_not_sent(
        server: FaultServer, fault: str, method: str) -> None:
    server.fault = fault
    session = http.make_session(deadline=0.5, max_response_bytes=64 * 1024)
    with watch_sends() as watch:
        outcome = http.request(session, method, f"{server.url}/api/v1/media/1",
                               timeout=(2.0, 5.0), data=b"x" if method == "POST" else None)
    assert LOOKUPS[fault](outcome), outcome
    assert watch.creates == 0


@pytest.mark.parametrize("fault", ["redirect_found", "redirect_temporary"])
def test_a_lookup_still_follows_redirects(server: FaultServer, fault: str) -> None:
    server.fault = fault
    answer = http.request(http.make_session(), "GET", f"{server.url}/api/v2/instance")
    assert isinstance(answer, requests.Response) and answer.status_code == 200
    assert [r.status_code for r in answer.history] == [302 if fault == "redirect_found" else 307]
    assert [r.target for r in server.received] == ["/api/v2/instance", "/landing"]


def test_an_upload_is_given_more_time_by_its_size() -> None:
    adapter = http.make_session(deadline=60).get_adapter("https://example.test")
    assert isinstance(adapter, http.LimitedAdapter)
    five_megabytes = b"\0" * (5 * 1024 * 1024)
    assert adapter.deadline_for(None) == 60
    assert adapter.deadline_for(five_megabytes) == 60 + len(five_megabytes) / http.MIN_UPLOAD_RATE


@pytest.mark.parametrize("options", [{"deadline_seconds": 0}, {"deadline_seconds": "soon"},
                                     {"max_response_bytes": -1}, {"max_response_bytes": True}])
def test_a_bad_limit_in_the_account_options_is_named(options: dict[str, Any]) -> None:
    channel = NETWORKS[0].make("http://127.0.0.1:1")
    channel.account = AccountConfig(name="lapas_mastodon", network="mastodon",
                                    base_url="http://127.0.0.1:1", options=options)
    with pytest.raises(ValueError, match=f"account 'lapas_mastodon': options.{next(iter(options))}"
                                         " must be a positive number"):
        channel.session  # noqa: B018
