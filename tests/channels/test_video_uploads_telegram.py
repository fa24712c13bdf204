"""Telegram: a video is one ``sendVideo`` (multipart, streamed; width, height, duration,
streaming, the cover as thumbnail) within the 50 MB a bot may upload — against the fake
Bot API."""
# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PIL import Image

from channels.base import AccountConfig, InDoubt, Published, Rejected
from channels.telegram import TelegramChannel
from channels.variant import Media
from tests.channels.test_telegram import TOKEN, fake, server
from tests.channels.video_media import clip, video_delivery
from tests.fakes.server import Fault
from tests.fakes.telegram import FakeTelegram


def make_channel(fake: FakeTelegram | None = None, **options: Any) -> TelegramChannel:
    account = AccountConfig(name="lapas_tg", network="telegram",
                            base_url=fake.url if fake else None,
                            options={"chat_id": "@humaslapas", "read_timeout": 2.0, **options})
    return TelegramChannel(account, {"bot_token": TOKEN})


def test_a_video_goes_with_its_caption_size_and_thumbnail(fake: FakeTelegram,
                                                          clip: Media) -> None:
    delivery = video_delivery(clip, "<b>Rakor</b> Humas", channel="telegram",
                              parse_mode="HTML")

    outcome = make_channel(fake).publish(delivery)

    [message] = fake.messages
    assert message.kind == "video" and message.video == Path(clip.path).read_bytes()
    assert message.caption == "<b>Rakor</b> Humas"
    assert {k: message.raw[k] for k in ("width", "height", "duration", "supports_streaming",
                                        "thumbnail")} == {
        "width": "360", "height": "640", "duration": "3", "supports_streaming": "true",
        "thumbnail": "attach://thumb"}
    assert outcome == Published(str(message.message_id),
                                f"https://t.me/humaslapas/{message.message_id}")


def test_a_large_cover_becomes_a_thumbnail_telegram_takes(fake: FakeTelegram, clip: Media,
                                                          tmp_path: Path) -> None:
    cover = tmp_path / "besar.jpg"
    Image.effect_noise((1080, 1920), 90).convert("RGB").save(cover, quality=95)

    outcome = make_channel(fake).publish(video_delivery(
        dataclasses.replace(clip, cover=str(cover)), channel="telegram"))

    assert isinstance(outcome, Published)  # the fake refuses > 320 px or > 200 kB


def test_a_long_text_follows_the_video_which_a_retry_does_not_send_again(
        fake: FakeTelegram, clip: Media) -> None:
    delivery = video_delivery(clip, "panjang " * 200, channel="telegram")
    fake.fail_next(Fault(status=400, path=r"/bot.*/sendMessage",
                         body={"ok": False, "error_code": 400, "description": "Bad Request"}))
    channel = make_channel(fake)
    assert isinstance(channel.publish(delivery), Rejected)

    outcome = channel.publish(delivery)

    video, text = fake.messages
    assert (video.kind, video.caption, text.kind) == ("video", None, "text")
    assert isinstance(outcome, Published) and outcome.remote_id == str(text.message_id)


def test_a_video_over_the_bots_50_mb_is_refused_before_anything_is_sent(
        fake: FakeTelegram, clip: Media) -> None:
    huge = dataclasses.replace(clip, bytes=60 * 1024 * 1024)
    channel = make_channel(fake)

    refusal = channel.preflight(video_delivery(huge, channel="telegram").variant)
    outcome = channel.publish(video_delivery(huge, channel="telegram"))

    assert refusal is not None
    assert "is 60.0 MB, but a Telegram bot may upload at most 50.0 MB" in refusal
    assert "max_upload_mb" in refusal
    assert outcome == Rejected(refusal) and fake.requests == []


def test_a_local_bot_api_server_takes_larger_videos(clip: Media) -> None:
    big = dataclasses.replace(clip, bytes=60 * 1024 * 1024)

    assert make_channel(max_upload_mb=2000).preflight(
        video_delivery(big, channel="telegram").variant) is None


def test_an_answer_lost_after_the_upload_is_in_doubt_for_staff(
        fake: FakeTelegram, clip: Media) -> None:
    channel = make_channel(fake, read_timeout=0.5)
    delivery = video_delivery(clip, channel="telegram")
    fake.fail_next(Fault(drop=True, apply=True, path=r"/bot.*/sendVideo"))

    outcome = channel.publish(delivery)

    assert isinstance(outcome, InDoubt) and len(fake.messages) == 1
    assert channel.probe(delivery) is None  # the Bot API cannot read the channel back


def test_the_dry_run_shows_send_video(clip: Media) -> None:
    planned = make_channel().dry_run_requests(video_delivery(clip, channel="telegram"))

    [send] = planned
    assert send["url"].endswith("/bot***/sendVideo")
    assert send["photos"] == [{"video": clip.path, "thumbnail": clip.cover, "width": "360",
                               "height": "640", "duration": "3",
                               "supports_streaming": "true"}]
