"""Mastodon adapter against a fake instance on a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    Delivery,
    InDoubt,
    Media,
    NotSent,
    PartResult,
    Published,
    Rejected,
)
from channels.mastodon import InstanceLimits, MastodonChannel, status_plain_text
from tests.channels.helpers import make_delivery as delivery_of
from tests.fakes.mastodon import FakeMastodon, render_content
from tests.fakes.multipart import parse_form_data

TOKEN = "mstdn-secret-token-5f0c1e2d3b4a"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMastodon]:
    with FakeMastodon(token=TOKEN) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: FakeMastodon) -> FakeMastodon:
    server.reset()
    return server


def make_channel(base_url: str, token: str = TOKEN, **options: object) -> MastodonChannel:
    account = AccountConfig(name="lapas_masto", network="mastodon", base_url=base_url,
                            options={"read_timeout": 0.5, "media_poll_interval": 0.01,
                                     **options})
    return MastodonChannel(account, {"access_token": token})


def make_delivery(*parts: str, key: str = "post-9-key", **fields: Any) -> Delivery:
    return delivery_of(list(parts), channel="mastodon", publish_key=key, **fields)


# --- publishing ------------------------------------------------------------------------


def test_plain_post_sends_the_status_with_an_idempotency_key(fake: FakeMastodon) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("Rakor Humas #HumasBergerakBersama", language="id")

    outcome = channel.publish(delivery)

    [status] = fake.statuses
    assert outcome == Published(status.id, f"{fake.url}/@humaslapas/{status.id}")
    [call] = fake.calls("POST", "/api/v1/statuses")
    assert call.json() == {"status": "Rakor Humas #HumasBergerakBersama",
                           "visibility": "public", "language": "id"}
    assert call.header("Authorization") == f"Bearer {TOKEN}"
    assert call.header("Idempotency-Key") == channel.derive_key("post-9-key", "mastodon", 0)


def test_thread_parts_reply_to_the_previous_part_in_order(fake: FakeMastodon) -> None:
    delivery = make_delivery("satu", "dua", "tiga")

    outcome = make_channel(fake.url).publish(delivery)

    first, second, third = fake.statuses
    assert [s.text for s in fake.statuses] == ["satu", "dua", "tiga"]
    assert (first.in_reply_to_id, second.in_reply_to_id, third.in_reply_to_id) == (
        None, first.id, second.id)
    assert isinstance(outcome, Published) and outcome.remote_id == first.id
    assert [p.remote_id for p in delivery.progress] == [first.id, second.id, third.id]


def test_resuming_a_partial_thread_replies_to_the_recorded_part(fake: FakeMastodon) -> None:
    earlier = make_channel(fake.url).publish(make_delivery("satu", key="other"))
    assert isinstance(earlier, Published)
    done = PartResult(index=0, remote_id=earlier.remote_id, url=earlier.url)
    delivery = make_delivery("satu", "dua", progress=[done])

    outcome = make_channel(fake.url).publish(delivery)

    assert outcome == Published(earlier.remote_id, earlier.url)
    assert [s.text for s in fake.statuses] == ["satu", "dua"]
    assert fake.statuses[1].in_reply_to_id == earlier.remote_id


def test_a_resend_with_the_same_key_returns_the_original_status(fake: FakeMastodon) -> None:
    channel = make_channel(fake.url)

    first = channel.publish(make_delivery("sekali saja"))
    again = channel.publish(make_delivery("sekali saja"))

    assert first == again
    assert len(fake.statuses) == 1


def test_an_image_is_uploaded_with_its_alt_text_and_attached(fake: FakeMastodon,
                                                             photo: Path) -> None:
    delivery = make_delivery("Foto rakor", media=[Media(str(photo), alt="Kalapas berpidato")])

    outcome = make_channel(fake.url).publish(delivery)

    assert isinstance(outcome, Published)
    [upload] = fake.calls("POST", "/api/v2/media")
    fields = parse_form_data(upload.header("Content-Type") or "", upload.body)
    assert fields["description"].text == "Kalapas berpidato"
    assert fields["file"].content_type == "image/jpeg"
    [status] = fake.statuses
    assert [a.description for a in status.media] == ["Kalapas berpidato"]
    assert delivery.state["mastodon_media_ids"] == [status.media[0].id]


def test_media_still_processing_is_polled_until_ready(fake: FakeMastodon, photo: Path) -> None:
    fake.processing_polls = 2

    outcome = make_channel(fake.url).publish(make_delivery("x", media=[Media(str(photo))]))

    assert isinstance(outcome, Published)
    assert len(fake.calls("GET", r"/api/v1/media/\d+")) == 3  # 206, 206, 200


def test_a_retry_reuses_media_already_uploaded(fake: FakeMastodon, photo: Path) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("foto", media=[Media(str(photo), alt="a")])
    fake.fail_next(status=503, body={"error": "unavailable"}, path="/api/v1/statuses")

    assert isinstance(channel.publish(delivery), InDoubt)
    assert isinstance(channel.publish(delivery), Published)
    assert len(fake.calls("POST", "/api/v2/media")) == 1


def test_text_over_the_instance_limit_is_rejected(fake: FakeMastodon) -> None:
    outcome = make_channel(fake.url).publish(make_delivery("a" * 501))

    assert isinstance(outcome, Rejected)
    assert "character limit of 500" in outcome.reason


def test_instance_limits_come_from_the_v2_instance_endpoint(fake: FakeMastodon) -> None:
    limits = make_channel(fake.url).instance_limits()

    assert isinstance(limits, InstanceLimits)
    assert (limits.max_characters, limits.max_media_attachments,
            limits.characters_reserved_per_url, limits.description_limit) == (500, 4, 23, 1500)


# --- first send, known before the attempt begins ---------------------------------------


def test_the_first_send_time_of_a_text_status_is_known_before_the_attempt(
        fake: FakeMastodon) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("Rilis")
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)

    ahead = channel.first_send_state(delivery, now)
    delivery.state.update(ahead)  # stored with the begin, given to publish
    outcome = channel.publish(delivery)

    assert ahead == {"mastodon_first_sent": {"0": now.isoformat()}}
    assert isinstance(outcome, Published)
    assert delivery.reported["checkpoints"] == []  # type: ignore[attr-defined]


def test_the_first_send_time_ahead_is_that_of_the_first_part_not_yet_published(
        fake: FakeMastodon) -> None:
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    earlier = (now - timedelta(minutes=5)).isoformat()
    resumed = make_delivery("satu", "dua", progress=[PartResult(0, "111")],
                            state={"mastodon_first_sent": {"0": earlier}})
    again = make_delivery("satu", state={"mastodon_first_sent": {"0": earlier}})

    channel = make_channel(fake.url)

    assert channel.first_send_state(resumed, now) == {
        "mastodon_first_sent": {"0": earlier, "1": now.isoformat()}}
    # a part sent before keeps its first time: Mastodon counts the key's hour from it
    assert channel.first_send_state(again, now) == {}


def test_a_status_with_media_to_upload_first_notes_its_first_send_itself(
        fake: FakeMastodon, photo: Path) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("foto", media=[Media(str(photo), alt="a")])
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)

    assert channel.first_send_state(delivery, now) == {}
    assert isinstance(channel.publish(delivery), Published)
    [*_, last] = delivery.reported["checkpoints"]  # type: ignore[attr-defined]
    assert set(last) == {"mastodon_media_ids", "mastodon_first_sent"}
    uploaded = make_delivery("foto", media=[Media(str(photo), alt="a")],
                             state={"mastodon_media_ids": ["9"]})
    assert set(channel.first_send_state(uploaded, now)) == {"mastodon_first_sent"}


# --- failures --------------------------------------------------------------------------


def test_a_media_upload_that_times_out_is_not_sent_because_no_status_exists(
        fake: FakeMastodon, photo: Path) -> None:
    fake.fail_next(delay=1.0, path="/api/v2/media")

    outcome = make_channel(fake.url).publish(make_delivery("x", media=[Media(str(photo))]))

    assert isinstance(outcome, NotSent)
    assert fake.calls("POST", "/api/v1/statuses") == []


# --- probe -----------------------------------------------------------------------------


def test_probe_after_the_hour_finds_the_status_on_the_timeline(fake: FakeMastodon) -> None:
    text = "Rilis lama https://kemenimipas.go.id/berita/rakor-agen-informasi-2024 #Humas"
    posted = fake.add_old_status(text, age=timedelta(hours=2))
    delivery = make_delivery(text)
    sent_at = posted.created_at - timedelta(seconds=1)
    delivery.state["mastodon_first_sent"] = {"0": sent_at.isoformat()}

    outcome = make_channel(fake.url).probe(delivery)

    assert outcome == Published(posted.id, f"{fake.url}/@humaslapas/{posted.id}")
    assert fake.calls("POST") == []


def test_probe_of_a_part_never_sent_says_not_sent(fake: FakeMastodon) -> None:
    assert isinstance(make_channel(fake.url).probe(make_delivery("x")), NotSent)


@given(st.text(alphabet=st.sampled_from("ab &<>\"'é😀#\n"), min_size=1, max_size=60)
       .filter(lambda t: t.strip() and "\n\n" not in t))
def test_status_text_is_recovered_from_rendered_html(text: str) -> None:
    assert " ".join(status_plain_text(render_content(text)).split()) == " ".join(text.split())


# --- check and dry run -----------------------------------------------------------------


def test_check_verifies_the_token_and_names_the_account(fake: FakeMastodon) -> None:
    result = make_channel(fake.url).check()

    assert result.ok
    assert result.identity == f"@humaslapas@{fake.url.split('://')[1]}"


def test_check_with_a_bad_token_fails(fake: FakeMastodon) -> None:
    result = make_channel(fake.url, token="nope-nope-nope").check()

    assert not result.ok and "401" in result.detail


def test_dry_run_lists_uploads_and_statuses_without_the_token(photo: Path) -> None:
    channel = make_channel("https://mastodon.example")
    delivery = make_delivery("satu", "dua", media=[Media(str(photo), alt="alt")])

    planned = channel.dry_run_requests(delivery)

    assert [(r["method"], r["url"]) for r in planned] == [
        ("POST", "https://mastodon.example/api/v2/media"),
        ("POST", "https://mastodon.example/api/v1/statuses"),
        ("POST", "https://mastodon.example/api/v1/statuses")]
    assert planned[2]["json"]["in_reply_to_id"] == "<id of part 1>"
    assert TOKEN not in json.dumps(planned)


def test_dry_run_needs_no_secrets() -> None:
    channel = MastodonChannel(AccountConfig(name="m", network="mastodon",
                                            base_url="https://mastodon.example"), {})

    [planned] = channel.dry_run_requests(make_delivery("halo"))

    assert planned["json"] == {"status": "halo", "visibility": "public"}
    assert "Authorization" not in planned["headers"]
