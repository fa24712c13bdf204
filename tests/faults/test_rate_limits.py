"""Every adapter waits as the network said: a 429's ``Retry-After`` in seconds or as an
HTTP-date, read in one place (channels/ratelimit.py), whatever else the network sends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channels.base import AccountConfig, Channel, NotSent
from channels.bluesky import BlueskyChannel
from channels.discord import DiscordChannel
from channels.facebook import FacebookChannel
from channels.linkedin import LinkedInChannel
from channels.mastodon import MastodonChannel
from channels.slack import SlackChannel
from channels.telegram import TelegramChannel
from channels.webhook import WebhookChannel
from channels.wordpress import WordPressChannel
from channels.x import XChannel
from tests.channels.helpers import make_delivery
from tests.faults.server import FaultServer

TOKEN = "123456:AAH-wait-test-token"
ADAPTERS: dict[str, Callable[[str], Channel]] = {
    "mastodon": lambda url: MastodonChannel(AccountConfig(
        name="m", network="mastodon", base_url=url), {"access_token": TOKEN}),
    "bluesky": lambda url: BlueskyChannel(AccountConfig(
        name="b", network="bluesky", base_url=url, options={"identifier": "humas.bsky"}),
        {"app_password": "abcd-efgh-ijkl-mnop"}),
    "x": lambda url: XChannel(AccountConfig(name="x", network="x", base_url=url), {
        "api_key": "k", "api_secret": "s", "access_token": "t", "access_token_secret": "u"}),
    "telegram": lambda url: TelegramChannel(AccountConfig(
        name="t", network="telegram", base_url=url, options={"chat_id": "@humas"}),
        {"bot_token": TOKEN}),
    "discord": lambda url: DiscordChannel(AccountConfig(
        name="d", network="discord", base_url=url), {
        "webhook_url": "https://discord.com/api/webhooks/1/tok-en"}),
    "slack": lambda url: SlackChannel(AccountConfig(name="s", network="slack", base_url=url),
                                      {"webhook_url": "https://hooks.slack.com/services/T/B/x"}),
    "webhook": lambda url: WebhookChannel(AccountConfig(
        name="w", network="webhook", base_url=url), {}),
    "facebook": lambda url: FacebookChannel(AccountConfig(
        name="f", network="facebook", base_url=url, options={"page_id": "1048"}),
        {"access_token": TOKEN}),
    "linkedin": lambda url: LinkedInChannel(AccountConfig(
        name="l", network="linkedin", base_url=url, options={"author": "urn:li:person:x"}),
        {"access_token": TOKEN}),
    "wordpress": lambda url: WordPressChannel(AccountConfig(
        name="wp", network="wordpress", base_url=url),
        {"username": "redaksi", "app_password": "abcd efgh ijkl mnop"}),
}


@pytest.fixture(scope="module")
def throttling() -> FaultServer:
    with FaultServer() as server:
        yield server  # type: ignore[misc]


@pytest.mark.parametrize("fault", ["rate_limited_seconds", "rate_limited_date"])
@pytest.mark.parametrize("network", ADAPTERS)
def test_every_adapter_waits_as_retry_after_says(throttling: FaultServer, network: str,
                                                 fault: str) -> None:
    throttling.fault = fault
    channel = ADAPTERS[network](throttling.url)
    try:
        outcome = channel.publish(make_delivery("Kegiatan hari ini", channel=network))
    finally:
        channel.close()
    assert isinstance(outcome, NotSent) and outcome.rate_limited, outcome
    assert outcome.retry_after is not None and 115 <= outcome.retry_after <= 120
