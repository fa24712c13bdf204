"""The webhook adapter: one signed JSON POST carrying the whole variant."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    InDoubt,
    PartResult,
    Published,
    Rejected,
)
from channels.variant import Media
from channels.webhook import WebhookChannel, sign
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.fakes.server import Fault
from tests.fakes.webhook import FakeWebhookReceiver

SECRET = "whsec-5up3r-s3cret-value"
SECRETS = {"secret": SECRET}
RELEASE = ["Lapas Kelas I menggelar pelatihan kerja bagi warga binaan. #HumasBergerakBersama"]


@pytest.fixture(scope="module")
def running_receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret=SECRET) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def receiver(running_receiver: FakeWebhookReceiver) -> FakeWebhookReceiver:
    running_receiver.reset()
    return running_receiver


def channel_for(url: str, secrets: dict[str, str] | None = None,
                **options: object) -> WebhookChannel:
    account = AccountConfig(name="portal", network="webhook", base_url=url,
                            options={"read_timeout": 0.5, "connect_timeout": 0.5, **options})
    return WebhookChannel(account, SECRETS if secrets is None else secrets)


def test_a_post_is_one_json_post_with_every_part_and_a_stable_idempotency_key(
        receiver: FakeWebhookReceiver) -> None:
    delivery = make_delivery([*RELEASE, "Bagian kedua."], title="Pelatihan kerja",
                             link="https://lapas.example.go.id/berita/1")
    outcome = channel_for(receiver.hook_url).publish(delivery)

    assert outcome == Published("msg-1", f"{receiver.url}/posts/msg-1", http_status=201)
    (sent,) = receiver.calls("POST")
    body = sent.json()
    assert body["parts"] == [*RELEASE, "Bagian kedua."]
    assert body["title"] == "Pelatihan kerja"
    assert body["link"] == "https://lapas.example.go.id/berita/1"
    assert body["publish_key"] == delivery.publish_key and body["post_id"] == 7
    assert sent.header("Idempotency-Key") == WebhookChannel.derive_key(delivery.publish_key,
                                                                       "webhook")
    assert [p.index for p in delivery.progress] == [0, 1]
    assert delivery.reported["parts"] == delivery.progress  # type: ignore[attr-defined]


def test_the_signature_is_hmac_sha256_of_the_raw_body_which_carries_the_timestamp(
        receiver: FakeWebhookReceiver) -> None:
    channel_for(receiver.hook_url).publish(make_delivery(RELEASE))
    (sent,) = receiver.calls("POST")
    expected = hmac.new(SECRET.encode(), sent.body, hashlib.sha256).hexdigest()
    assert sent.header("X-Siar-Signature") == f"sha256={expected}"
    assert sent.header("X-Siar-Timestamp") == str(json.loads(sent.body)["sent_at"])


@given(secret=st.text(min_size=1), body=st.binary())
def test_sign_matches_a_receiver_side_hmac(secret: str, body: bytes) -> None:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert sign(secret, body) == "sha256=" + digest


def test_without_a_secret_nothing_is_signed() -> None:
    with FakeWebhookReceiver(secret=None) as fake:
        outcome = channel_for(fake.hook_url, secrets={}).publish(make_delivery(RELEASE))
        assert isinstance(outcome, Published)
        assert fake.calls("POST")[0].header("X-Siar-Signature") is None


def test_a_resend_after_doubt_carries_the_same_idempotency_key_and_creates_nothing_new(
        receiver: FakeWebhookReceiver) -> None:
    receiver.fail_next(Fault(apply=True, drop=True))
    first = channel_for(receiver.hook_url).publish(make_delivery(RELEASE))
    assert isinstance(first, InDoubt)
    second = channel_for(receiver.hook_url).publish(make_delivery(RELEASE, attempt=2))
    assert isinstance(second, Published) and second.remote_id == "msg-1"
    assert len(receiver.created) == 1


def test_media_go_as_urls_with_their_alt_text(receiver: FakeWebhookReceiver) -> None:
    media = [Media(path="/srv/siar/foto/kegiatan.jpg", alt="Warga binaan menjahit",
                   mime="image/jpeg", url="https://lapas.example.go.id/wp/kegiatan.jpg")]
    channel_for(receiver.hook_url).publish(make_delivery(RELEASE, media=media))
    assert receiver.calls("POST")[0].json()["media"] == [
        {"url": "https://lapas.example.go.id/wp/kegiatan.jpg", "alt": "Warga binaan menjahit",
         "mime": "image/jpeg", "filename": "kegiatan.jpg"}]


def test_parts_published_earlier_are_not_sent_again(receiver: FakeWebhookReceiver) -> None:
    done = PartResult(index=0, remote_id="msg-0", url="https://portal/0")
    outcome = channel_for(receiver.hook_url).publish(make_delivery(RELEASE, progress=[done]))
    assert outcome == Published("msg-0", "https://portal/0")
    assert receiver.calls("POST") == []


def test_a_refused_payload_is_rejected(receiver: FakeWebhookReceiver) -> None:
    receiver.fail_next(status=422, body={"error": "title required"})
    outcome = channel_for(receiver.hook_url).publish(make_delivery(RELEASE))
    assert isinstance(outcome, Rejected) and outcome.http_status == 422


def test_check_reports_configuration_without_posting(receiver: FakeWebhookReceiver) -> None:
    result = channel_for(receiver.hook_url).check()
    assert result.ok and "HMAC" in result.detail
    assert receiver.requests == []


def test_no_secret_appears_in_outcomes_or_dry_run(receiver: FakeWebhookReceiver) -> None:
    channel = channel_for(receiver.hook_url)
    receiver.fail_next(status=500, body={"error": f"echo {SECRET}"})
    assert_no_secret(channel.publish(make_delivery(RELEASE)), SECRETS)
    dry = channel.dry_run_requests(make_delivery(RELEASE))
    assert_no_secret(dry, SECRETS)
    assert dry[0]["headers"]["X-Siar-Signature"] == "sha256=<HMAC-SHA256 of the body>"
    assert dry[0]["json"]["parts"] == RELEASE
