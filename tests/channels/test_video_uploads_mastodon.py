"""Mastodon: a video is uploaded with ``POST /api/v2/media`` (202: processed in the
background), its id checkpointed, ``GET /api/v1/media/:id`` asked until it is processed,
then the status names it — the Idempotency-Key unchanged — against the fake instance."""
# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

from pathlib import Path
from typing import Any

from channels.base import AccountConfig, InDoubt, NotSent, Published, Rejected
from channels.mastodon import MastodonChannel
from channels.variant import Media
from tests.channels.test_mastodon import TOKEN, fake, server
from tests.channels.video_media import clip, video_delivery
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Fault


def make_channel(fake: FakeMastodon, **options: Any) -> MastodonChannel:
    account = AccountConfig(name="lapas_masto", network="mastodon", base_url=fake.url,
                            options={"read_timeout": 2.0, "video_poll_seconds": 0.01,
                                     "upload_retry_pause": 0, **options})
    return MastodonChannel(account, {"access_token": TOKEN})


def test_a_video_is_processed_before_the_status_names_it(fake: FakeMastodon,
                                                         clip: Media) -> None:
    fake.video_processing.polls = 3
    delivery = video_delivery(clip, channel="mastodon")

    outcome = make_channel(fake).publish(delivery)

    [attachment] = fake.attachments.values()
    assert attachment.data == Path(clip.path).read_bytes()  # streamed, whole
    assert attachment.thumbnail == Path(clip.cover or "").read_bytes()
    assert attachment.description == clip.alt
    assert [r.path for r in fake.calls("GET")] == [f"/api/v1/media/{attachment.id}"] * 4
    [status] = fake.statuses
    assert outcome == Published(status.id, outcome.url)  # type: ignore[union-attr]
    assert [m.id for m in status.media] == [attachment.id]
    assert delivery.state["mastodon_video"] == {"id": attachment.id}


def test_an_upload_that_fails_once_is_sent_again(fake: FakeMastodon,
                                                 clip: Media) -> None:
    fake.fail_next(Fault(status=503, path="/api/v2/media", body={"error": "busy"}))

    outcome = make_channel(fake).publish(video_delivery(clip, channel="mastodon"))

    assert isinstance(outcome, Published)
    assert len(fake.calls("POST", "/api/v2/media")) == 2
    assert len(fake.attachments) == 1


def test_processing_that_fails_is_refused_and_nothing_is_posted(
        fake: FakeMastodon, clip: Media) -> None:
    fake.video_processing.fails = "unsupported codec"
    delivery = video_delivery(clip, channel="mastodon")

    outcome = make_channel(fake).publish(delivery)

    assert isinstance(outcome, Rejected)
    assert "could not process the video" in outcome.reason
    assert "unsupported codec" in outcome.reason
    assert fake.statuses == []
    assert delivery.state["mastodon_video"] is None


def test_processing_that_never_ends_is_in_doubt_and_the_probe_lets_it_wait_on(
        fake: FakeMastodon, clip: Media) -> None:
    fake.video_processing.never = True
    channel = make_channel(fake, video_wait_seconds=0.2)
    delivery = video_delivery(clip, channel="mastodon")

    outcome = channel.publish(delivery)

    assert isinstance(outcome, InDoubt) and "still being processed" in outcome.detail
    assert channel.probe(delivery) == NotSent("the pending part was never sent")
    [attachment] = fake.attachments.values()
    assert attachment.processing is not None
    attachment.processing.never = False  # the instance finishes meanwhile

    again = channel.publish(delivery)

    assert isinstance(again, Published)
    assert len(fake.calls("POST", "/api/v2/media")) == 1  # never uploaded twice


def test_a_crash_between_upload_and_status_never_posts_twice(
        fake: FakeMastodon, clip: Media) -> None:
    channel = make_channel(fake)
    delivery = video_delivery(clip, channel="mastodon")
    fake.fail_next(Fault(drop=True, apply=True, path="/api/v1/statuses"))
    assert isinstance(channel.publish(delivery), InDoubt)

    settled = channel.probe(delivery)  # resends with the same Idempotency-Key

    [status] = fake.statuses
    assert isinstance(settled, Published) and settled.remote_id == status.id
    assert len(fake.calls("POST", "/api/v2/media")) == 1
    keys = {r.header("Idempotency-Key") for r in fake.calls("POST", "/api/v1/statuses")}
    assert len(keys) == 1


def test_the_dry_run_shows_the_upload_and_the_wait(clip: Media) -> None:
    channel = MastodonChannel(AccountConfig(name="m", network="mastodon",
                                            base_url="https://kolektiva.social"), {})

    planned = channel.dry_run_requests(video_delivery(clip, channel="mastodon"))

    assert [(p["method"], p["url"].split(".social", 1)[1]) for p in planned] == [
        ("POST", "/api/v2/media"), ("GET", "/api/v1/media/<id>"), ("POST", "/api/v1/statuses")]
    assert planned[0]["files"] == {"file": clip.path, "thumbnail": clip.cover}
