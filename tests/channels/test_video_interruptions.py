"""Video uploads broken off where the per-network tests did not yet look (issue 16,
acceptance bullet 2): Telegram's one-request ``sendVideo`` asked to wait, or refused;
LinkedIn's upload cut between ``finalizeUpload`` and the post; Discord's webhook carrying
the video as a file. Each against its network's fake: nothing is published twice, and a
refusal reaches the officer in the network's words."""

# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.base import AccountConfig, NotSent, Published, Rejected
from channels.discord import DiscordChannel
from channels.linkedin import LinkedInChannel
from channels.telegram import TelegramChannel
from channels.variant import Media
from tests.channels.test_telegram import TOKEN as TELEGRAM_TOKEN
from tests.channels.test_telegram import fake, server
from tests.channels.video_media import clip, video_delivery
from tests.fakes.discord import WEBHOOK_ID, FakeDiscord
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.server import Fault
from tests.fakes.telegram import FakeTelegram

SEND_VIDEO = r"/bot.*/sendVideo"
LINKEDIN_TOKEN, AUTHOR = "AQVlinkedintoken123", "urn:li:organization:2414183"
DISCORD_TOKEN = "dCsLkR8-video-webhook-token"


class Crash(Exception):
    """The daemon dies here."""


# --- Telegram: one request carries the video and makes the post --------------------------


def telegram(fake: FakeTelegram) -> TelegramChannel:
    return TelegramChannel(AccountConfig(name="lapas_tg", network="telegram", base_url=fake.url,
                                         options={"chat_id": "@humaslapas", "read_timeout": 2}),
                           {"bot_token": TELEGRAM_TOKEN})


def test_a_send_video_telegram_asks_to_wait_for_is_not_sent_then_sent_once(
        fake: FakeTelegram, clip: Media) -> None:
    fake.fail_next(Fault(status=429, path=SEND_VIDEO, body={
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7}}))
    channel = telegram(fake)
    delivery = video_delivery(clip, channel="telegram")

    first = channel.publish(delivery)

    assert isinstance(first, NotSent) and first.rate_limited and first.retry_after == 7
    assert fake.messages == []
    assert isinstance(channel.publish(delivery), Published)
    [message] = fake.messages
    assert message.kind == "video" and message.video == Path(clip.path).read_bytes()


def test_a_video_telegram_refuses_is_rejected_in_its_words_and_nothing_is_posted(
        fake: FakeTelegram, clip: Media) -> None:
    fake.fail_next(Fault(status=400, path=SEND_VIDEO, body={
        "ok": False, "error_code": 400,
        "description": "Bad Request: wrong type of the web page content"}))

    outcome = telegram(fake).publish(video_delivery(clip, channel="telegram"))

    assert isinstance(outcome, Rejected), outcome
    assert "wrong type of the web page content" in outcome.reason
    assert fake.messages == []


# --- LinkedIn: a crash once the upload is finalized ----------------------------------------


@pytest.fixture
def linkedin() -> Iterator[LinkedInFake]:
    with LinkedInFake(token=LINKEDIN_TOKEN, author=AUTHOR) as running:
        running.video_part_bytes = 16 * 1024
        yield running  # type: ignore[misc]


def linkedin_channel(fake: LinkedInFake) -> LinkedInChannel:
    return LinkedInChannel(AccountConfig(
        name="li-lapas", network="linkedin", base_url=fake.url,
        options={"author": AUTHOR, "read_timeout": 2, "video_poll_interval": 0.01,
                 "video_poll_timeout": 5, "part_retry_wait": 0}),
        {"access_token": LINKEDIN_TOKEN})


def test_a_crash_after_finalize_posts_the_same_video_once_without_uploading_again(
        linkedin: LinkedInFake, clip: Media) -> None:
    delivery = video_delivery(clip, "Kunjungan kerja Kakanwil", channel="linkedin")

    def die(state: dict[str, Any]) -> None:
        if (state.get("video") or {}).get("finalized"):
            raise Crash  # LinkedIn has the whole video; the post was not made

    delivery.on_checkpoint = die
    with pytest.raises(Crash):
        linkedin_channel(linkedin).publish(delivery)
    assert linkedin.posts == []
    parts = len(linkedin.calls("PUT"))
    delivery.on_checkpoint = None  # the next daemon

    assert isinstance(linkedin_channel(linkedin).probe(delivery), NotSent)
    outcome = linkedin_channel(linkedin).publish(delivery)

    assert isinstance(outcome, Published), outcome
    [video] = linkedin.videos.values()
    [post] = linkedin.posts
    assert post.content == {"media": {"id": video.urn}}
    assert len(linkedin.calls("PUT")) == parts  # nothing uploaded again
    assert len(linkedin.calls("POST", "/rest/videos")) == 2  # one initialize, one finalize


# --- Discord: the video is a file of the webhook message -----------------------------------


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    with FakeDiscord(DISCORD_TOKEN) as running:
        yield running  # type: ignore[misc]


def test_discord_attaches_the_prepared_video_with_its_description(
        discord: FakeDiscord, clip: Media) -> None:
    channel = DiscordChannel(
        AccountConfig(name="discord-humas", network="discord", base_url=discord.api_url,
                      options={"read_timeout": 2}),
        {"webhook_url": f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{DISCORD_TOKEN}"})

    outcome = channel.publish(video_delivery(clip, channel="discord"))

    assert isinstance(outcome, Published), outcome
    [message] = discord.messages
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["description"], attachment["content_type"],
            attachment["size"]) == ("rakor.mp4", clip.alt, "video/mp4", clip.bytes)
