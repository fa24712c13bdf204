"""Telegram adapter against a fake Bot API on a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    AuthFailed,
    Delivery,
    InDoubt,
    Media,
    PartResult,
    Published,
    Rejected,
)
from channels.telegram import TelegramChannel, utf16_length
from tests.channels.helpers import make_delivery as delivery_of
from tests.fakes.multipart import parse_form_data
from tests.fakes.telegram import FakeTelegram

TOKEN = "987654:AAH-secret-bot-token-xyz"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN, channel="@humaslapas") as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    """The module's fake with a clean slate (one server: stopping one costs 0.5 s)."""
    server.reset()
    return server


def make_channel(base_url: str, token: str = TOKEN, **options: object) -> TelegramChannel:
    account = AccountConfig(name="lapas_tg", network="telegram", base_url=base_url,
                            options={"chat_id": "@humaslapas", "read_timeout": 0.5, **options})
    return TelegramChannel(account, {"bot_token": token})


def make_delivery(*parts: str, parse_mode: str | None = None, **fields: Any) -> Delivery:
    extra = {"parse_mode": parse_mode} if parse_mode else {}
    return delivery_of(list(parts), channel="telegram", publish_key="post-7-key", **extra,
                       **fields)


# --- publishing ------------------------------------------------------------------------


def test_plain_post_sends_one_send_message_to_the_channel(fake: FakeTelegram) -> None:
    outcome = make_channel(fake.url).publish(make_delivery("Rakor Humas <b>2026</b>",
                                                           parse_mode="HTML"))

    assert outcome == Published("101", "https://t.me/humaslapas/101")
    [call] = fake.calls("POST")
    assert call.path == f"/bot{TOKEN}/sendMessage"
    assert call.json() == {"chat_id": "@humaslapas", "text": "Rakor Humas <b>2026</b>",
                           "parse_mode": "HTML"}


def test_thread_parts_go_out_in_order_and_each_is_recorded(fake: FakeTelegram) -> None:
    delivery = make_delivery("bagian satu", "bagian dua", "bagian tiga")

    outcome = make_channel(fake.url).publish(delivery)

    assert outcome == Published("101", "https://t.me/humaslapas/101")
    assert [m.text for m in fake.messages] == ["bagian satu", "bagian dua", "bagian tiga"]
    assert [(p.index, p.remote_id) for p in delivery.progress] == [(0, "101"), (1, "102"),
                                                                     (2, "103")]
    assert [m.raw.get("reply_parameters") for m in fake.messages] == [
        None, {"message_id": 101}, {"message_id": 102}]


def test_resuming_a_partial_thread_does_not_resend_published_parts(fake: FakeTelegram) -> None:
    channel = make_channel(fake.url)
    first = channel.publish(make_delivery("bagian satu"))  # an earlier attempt's part 1
    assert isinstance(first, Published)
    done = PartResult(index=0, remote_id=first.remote_id, url=first.url)
    delivery = make_delivery("bagian satu", "bagian dua", progress=[done])

    outcome = channel.publish(delivery)

    assert outcome == first
    assert [m.text for m in fake.messages] == ["bagian satu", "bagian dua"]
    assert fake.messages[1].raw["reply_parameters"] == {"message_id": int(first.remote_id)}


def test_a_photo_carries_the_text_as_caption_when_it_fits(fake: FakeTelegram,
                                                          photo: Path) -> None:
    delivery = make_delivery("Kalapas hadir di Rakor", media=[Media(str(photo), alt="Kalapas")])

    outcome = make_channel(fake.url).publish(delivery)

    assert isinstance(outcome, Published)
    [call] = fake.calls("POST")
    assert call.path.endswith("/sendPhoto")
    fields = parse_form_data(call.header("Content-Type") or "", call.body)
    assert fields["chat_id"].text == "@humaslapas"
    assert fields["caption"].text == "Kalapas hadir di Rakor"
    assert fields["photo"].content_type == "image/jpeg"
    assert [m.kind for m in fake.messages] == ["photo"]


def test_several_photos_go_as_one_album_with_the_caption_on_the_first(
        fake: FakeTelegram, photo: Path) -> None:
    media = [Media(str(photo), alt="satu"), Media(str(photo), alt="dua")]

    outcome = make_channel(fake.url).publish(make_delivery("Album rakor", media=media))

    assert outcome == Published("101", "https://t.me/humaslapas/101")
    [call] = fake.calls("POST")
    assert call.path.endswith("/sendMediaGroup")
    fields = parse_form_data(call.header("Content-Type") or "", call.body)
    assert json.loads(fields["media"].text) == [
        {"type": "photo", "media": "attach://photo0", "caption": "Album rakor"},
        {"type": "photo", "media": "attach://photo1"},
    ]
    assert [m.caption for m in fake.messages] == ["Album rakor", None]


def test_text_longer_than_a_caption_follows_the_photo_as_a_message(
        fake: FakeTelegram, photo: Path) -> None:
    long_text = "Rilis lengkap. " * 80  # 1200 characters: too long for a caption
    delivery = make_delivery(long_text, media=[Media(str(photo), alt="foto")])

    outcome = make_channel(fake.url).publish(delivery)

    assert [m.kind for m in fake.messages] == ["photo", "text"]
    assert fake.messages[0].caption is None
    assert outcome == Published("102", "https://t.me/humaslapas/102")
    assert delivery.state["telegram_photo_message_ids"] == [101]


def test_a_retry_after_the_text_failed_does_not_post_the_photo_again(
        fake: FakeTelegram, photo: Path) -> None:
    long_text = "Rilis lengkap. " * 80
    delivery = make_delivery(long_text, media=[Media(str(photo), alt="foto")])
    channel = make_channel(fake.url)
    fake.fail_next(status=502, body="Bad Gateway", path=r".*/sendMessage")

    first = channel.publish(delivery)
    second = channel.publish(delivery)

    assert isinstance(first, InDoubt)
    assert isinstance(second, Published)
    assert [m.kind for m in fake.messages] == ["photo", "text"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from("ab 😀é"), min_size=1, max_size=1100)
       .filter(lambda t: t.strip()))
def test_the_caption_is_used_exactly_when_it_fits_1024_utf16_units(
        fake: FakeTelegram, photo: Path, text: str) -> None:
    fake.messages.clear()
    make_channel(fake.url).publish(make_delivery(text, media=[Media(str(photo))]))

    if utf16_length(text) <= 1024:
        assert [(m.kind, m.caption) for m in fake.messages] == [("photo", text)]
    else:
        assert [(m.kind, m.text) for m in fake.messages] == [("photo", None), ("text", text)]


def test_markup_telegram_cannot_parse_is_rejected_for_good(fake: FakeTelegram) -> None:
    outcome = make_channel(fake.url).publish(make_delivery("<div>x</div>", parse_mode="HTML"))

    assert isinstance(outcome, Rejected)
    assert "can't parse entities" in outcome.reason


# --- failures --------------------------------------------------------------------------


def test_a_bot_removed_from_the_channel_needs_staff_not_a_retry(fake: FakeTelegram) -> None:
    fake.fail_next(status=403, body={"ok": False, "error_code": 403,
                                     "description": "Forbidden: bot is not a member of the "
                                                    "channel chat"})

    outcome = make_channel(fake.url).publish(make_delivery("halo"))

    assert isinstance(outcome, AuthFailed)


def test_a_dropped_connection_after_sending_is_in_doubt(fake: FakeTelegram) -> None:
    fake.fail_next(drop=True)

    outcome = make_channel(fake.url).publish(make_delivery("halo"))

    assert isinstance(outcome, InDoubt)


# --- check and dry run -----------------------------------------------------------------


def test_check_names_the_bot(fake: FakeTelegram) -> None:
    result = make_channel(fake.url).check()

    assert result.ok
    assert result.identity == "@humas_siar_bot"
    assert fake.calls(path=f"/bot{TOKEN}/getMe")


def test_check_with_a_revoked_token_fails_without_showing_it(fake: FakeTelegram) -> None:
    result = make_channel(fake.url, token="222:revoked-token-value").check()

    assert not result.ok
    assert "revoked-token-value" not in result.detail


def test_dry_run_describes_the_real_requests_without_the_token(photo: Path) -> None:
    channel = TelegramChannel(AccountConfig(name="lapas_tg", network="telegram",
                                            options={"chat_id": "@humaslapas"}), {})
    delivery = make_delivery("Rakor", "lanjutan", media=[Media(str(photo), alt="foto")],
                             parse_mode="HTML")

    planned = channel.dry_run_requests(delivery)

    assert [r["url"] for r in planned] == ["https://api.telegram.org/bot***/sendPhoto",
                                           "https://api.telegram.org/bot***/sendMessage"]
    assert planned[0]["data"] == {"chat_id": "@humaslapas", "caption": "Rakor",
                                  "parse_mode": "HTML"}
    with_secret = make_channel("https://api.telegram.org").dry_run_requests(delivery)
    assert TOKEN not in json.dumps(with_secret)


