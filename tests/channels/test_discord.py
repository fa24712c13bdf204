"""The Discord adapter against a fake of Discord's execute-webhook endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.base import (
    AccountConfig,
    AuthFailed,
    InDoubt,
    NotSent,
    PartResult,
    Published,
    Rejected,
)
from channels.discord import DiscordChannel
from channels.variant import Media
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, WEBHOOK_ID, FakeDiscord
from tests.fakes.multipart import parse_form_data

TOKEN = "dCsLkR8-webhook-token-9a8b7c6d5e4f"
TEXT = "Lapas Kelas I menggelar pelatihan kerja bagi warga binaan. #HumasBergerakBersama"


@pytest.fixture(scope="module")
def running_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord(TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def discord(running_discord: FakeDiscord) -> FakeDiscord:
    running_discord.reset()
    return running_discord


def channel_for(fake: FakeDiscord, *, token: str = TOKEN, base_url: str | None = None,
                **options: object) -> DiscordChannel:
    url = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{token}"
    account = AccountConfig(name="discord-humas", network="discord",
                            base_url=base_url or fake.api_url,
                            options={"read_timeout": 0.5, "connect_timeout": 0.5, **options})
    return DiscordChannel(account, {"webhook_url": url})


def test_a_plain_post_is_one_message_sent_with_wait_true_and_no_mentions(
        discord: FakeDiscord) -> None:
    outcome = channel_for(discord).publish(make_delivery(TEXT))

    (sent,) = discord.calls("POST")
    assert sent.path == f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
    assert sent.query == {"wait": ["true"]}
    assert sent.json() == {"content": TEXT, "allowed_mentions": {"parse": []}}
    message = discord.messages[0]
    assert outcome == Published(
        message["id"], f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message['id']}")


def test_everyone_in_a_release_pings_nobody(discord: FakeDiscord) -> None:
    channel_for(discord).publish(make_delivery("Undangan untuk @everyone dan @here"))
    assert discord.messages[0]["allowed_mentions"] == {"parse": []}


def test_a_thread_is_several_messages_in_order(discord: FakeDiscord) -> None:
    parts = ["Bagian 1/3", "Bagian 2/3", "Bagian 3/3"]
    delivery = make_delivery(parts)
    outcome = channel_for(discord).publish(delivery)
    assert [m["content"] for m in discord.messages] == parts
    assert [p.index for p in delivery.progress] == [0, 1, 2]
    assert isinstance(outcome, Published) and outcome.remote_id == discord.messages[0]["id"]


def test_resuming_a_partial_thread_does_not_resend_done_parts(discord: FakeDiscord) -> None:
    done = PartResult(index=0, remote_id="111", url="https://discord.com/channels/1/2/111")
    delivery = make_delivery(["Bagian 1/2", "Bagian 2/2"], progress=[done])
    outcome = channel_for(discord).publish(delivery)
    assert [m["content"] for m in discord.messages] == ["Bagian 2/2"]
    assert outcome == Published("111", "https://discord.com/channels/1/2/111")


def test_a_failure_mid_thread_returns_that_failure_and_keeps_the_done_parts(
        discord: FakeDiscord) -> None:
    discord.bucket_size = 1
    delivery = make_delivery(["Bagian 1/2", "Bagian 2/2"])
    outcome = channel_for(discord).publish(delivery)
    assert isinstance(outcome, NotSent) and outcome.retry_after == pytest.approx(2.5)
    assert [p.index for p in delivery.progress] == [0]
    assert delivery.progress[0].remote_id == discord.messages[0]["id"]

    discord.bucket_size = None
    assert isinstance(channel_for(discord).publish(delivery), Published)
    assert [m["content"] for m in discord.messages] == ["Bagian 1/2", "Bagian 2/2"]


def test_an_image_goes_as_a_multipart_file_with_alt_text_as_description(
        discord: FakeDiscord, photo_jpeg: Path) -> None:
    media = [Media(path=str(photo_jpeg), alt="Warga binaan mengikuti pelatihan menjahit")]
    outcome = channel_for(discord).publish(make_delivery([TEXT, "lanjutan"], media=media))
    assert isinstance(outcome, Published)
    first, second = discord.calls("POST")
    form = parse_form_data(first.header("Content-Type") or "", first.body)
    assert form["files[0]"].filename == "kegiatan.jpg"
    assert form["files[0]"].content_type == "image/jpeg"
    attachment = discord.messages[0]["attachments"][0]
    assert attachment["description"] == "Warga binaan mengikuti pelatihan menjahit"
    assert discord.messages[1]["attachments"] == []  # the image belongs to the first message
    assert second.json()["content"] == "lanjutan"


def test_a_message_over_2000_characters_is_rejected_before_sending(
        discord: FakeDiscord) -> None:
    outcome = channel_for(discord).publish(make_delivery("a" * 2001))
    assert isinstance(outcome, Rejected) and "2000" in outcome.reason
    assert discord.calls("POST") == []


def test_the_fake_refuses_what_discord_refuses(discord: FakeDiscord) -> None:
    import requests
    url = f"{discord.api_url}/webhooks/{WEBHOOK_ID}/{TOKEN}"
    too_long = requests.post(url, json={"content": "a" * 2001}, timeout=2)
    assert too_long.status_code == 400 and too_long.json()["code"] == 50035
    empty = requests.post(url, json={"content": ""}, timeout=2)
    assert empty.json()["code"] == 50006


def test_429_is_not_sent_with_discords_float_retry_after(discord: FakeDiscord) -> None:
    discord.rate_limit_next(64.57)
    outcome = channel_for(discord).publish(make_delivery(TEXT))
    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert outcome.retry_after == pytest.approx(64.57)
    assert discord.messages == []


def test_a_global_rate_limit_says_so(discord: FakeDiscord) -> None:
    discord.rate_limit_next(1.5, is_global=True)
    outcome = channel_for(discord).publish(make_delivery(TEXT))
    assert isinstance(outcome, NotSent) and "global" in outcome.reason


def test_a_deleted_webhook_is_an_auth_failure(discord: FakeDiscord) -> None:
    channel = DiscordChannel(
        AccountConfig(name="d", network="discord", base_url=discord.api_url),
        {"webhook_url": f"https://discord.com/api/webhooks/999/{TOKEN}"})
    outcome = channel.publish(make_delivery(TEXT))
    assert isinstance(outcome, AuthFailed) and "Unknown Webhook" in outcome.reason


def test_check_reads_the_webhook_object(discord: FakeDiscord) -> None:
    result = channel_for(discord).check()
    assert result.ok and result.identity == "Humas Lapas"
    assert discord.calls("POST") == []
    assert not channel_for(discord, token="nope-nope-nope").check().ok


def test_the_token_appears_in_no_outcome_and_no_dry_run(discord: FakeDiscord) -> None:
    discord.fail_next(status=500, body={"message": f"echo /webhooks/{WEBHOOK_ID}/{TOKEN}"})
    assert_no_secret(channel_for(discord).publish(make_delivery(TEXT)), [TOKEN])
    dry = DiscordChannel(AccountConfig(name="d", network="discord"), {}).dry_run_requests(
        make_delivery([TEXT, "dua"]))
    assert [d["json"]["content"] for d in dry] == [TEXT, "dua"]
    assert dry[0]["url"] == "https://discord.com/api/webhooks/<id>/<token>?wait=true"


def test_an_answer_without_the_created_message_is_in_doubt(discord: FakeDiscord) -> None:
    discord.fail_next(apply=True, status=204, body=None)
    outcome = channel_for(discord).publish(make_delivery(TEXT))
    assert isinstance(outcome, InDoubt) and outcome.http_status == 204
    assert len(discord.messages) == 1
