"""Bluesky: a video goes to the video service — upload limits first, a service-auth token,
``uploadVideo``, ``getJobStatus`` until the blob is ready — and the post embeds it
(``app.bsky.embed.video`` with its aspect ratio) under its own rkey, against the fake PDS
and video service."""
# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

from typing import Any

from channels.base import AccountConfig, InDoubt, NotSent, Published, Rejected
from channels.bluesky import BlueskyChannel
from channels.variant import Media
from tests.channels.test_bluesky import (
    APP_PASSWORD,
    HANDLE,
    fake,
    server,
)
from tests.channels.video_media import clip, video_delivery
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.server import Fault

UPLOAD = "/xrpc/app.bsky.video.uploadVideo"


def make_channel(fake: FakeBluesky, **options: Any) -> BlueskyChannel:
    account = AccountConfig(name="lapas_bsky", network="bluesky", base_url=fake.url, options={
        "identifier": HANDLE, "read_timeout": 2.0, "video_service": fake.url,
        "video_poll_seconds": 0.01, "upload_retry_pause": 0, **options})
    return BlueskyChannel(account, {"app_password": APP_PASSWORD})


def test_a_processed_video_is_embedded_with_its_aspect_ratio(fake: FakeBluesky,
                                                             clip: Media) -> None:
    fake.video.plan.polls = 2
    delivery = video_delivery(clip, channel="bluesky")

    outcome = make_channel(fake).publish(delivery)

    [post] = fake.posts()
    embed = post.value["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert embed["aspectRatio"] == {"width": 360, "height": 640}
    assert embed["alt"] == clip.alt
    [job] = fake.video.jobs.values()
    assert embed["video"] == job.blob and job.processing.asked == 3
    assert isinstance(outcome, Published) and outcome.remote_id == post.uri
    [limits, upload] = [fake.calls("GET", "/xrpc/app.bsky.video.getUploadLimits")[0],
                        fake.calls("POST", UPLOAD)[0]]
    assert fake.video.tokens[limits.header("Authorization")[7:]] == (
        "did:web:video.bsky.app", "app.bsky.video.getUploadLimits")
    assert fake.video.tokens[upload.header("Authorization")[7:]] == (
        fake.video.pds_did, "com.atproto.repo.uploadBlob")
    assert delivery.state["bsky_video"]["blob"] == job.blob


def test_an_upload_that_fails_once_is_sent_again(fake: FakeBluesky,
                                                 clip: Media) -> None:
    fake.fail_next(Fault(status=502, path=UPLOAD, body={"error": "BadGateway"}))

    outcome = make_channel(fake).publish(video_delivery(clip, channel="bluesky"))

    assert isinstance(outcome, Published)
    assert len(fake.calls("POST", UPLOAD)) == 2 and len(fake.video.jobs) == 1


def test_an_account_that_may_not_upload_video_is_told_why(fake: FakeBluesky,
                                                          clip: Media) -> None:
    fake.video.can_upload = False

    outcome = make_channel(fake).publish(video_delivery(clip, channel="bluesky"))

    assert isinstance(outcome, Rejected) and "verify your email" in outcome.reason
    assert fake.calls("POST", UPLOAD) == [] and fake.posts() == []


def test_the_days_allowance_used_up_is_not_sent(fake: FakeBluesky,
                                                clip: Media) -> None:
    fake.video.remaining_videos = 0

    outcome = make_channel(fake).publish(video_delivery(clip, channel="bluesky"))

    assert isinstance(outcome, NotSent) and "daily video allowance" in outcome.reason
    assert fake.calls("POST", UPLOAD) == []


def test_processing_that_fails_is_refused_and_nothing_is_posted(
        fake: FakeBluesky, clip: Media) -> None:
    fake.video.plan.fails = "the video stream could not be decoded"
    delivery = video_delivery(clip, channel="bluesky")

    outcome = make_channel(fake).publish(delivery)

    assert isinstance(outcome, Rejected)
    assert "could not process the video: the video stream could not be decoded" in (
        outcome.reason)
    assert fake.posts() == [] and delivery.state["bsky_video"] is None


def test_a_job_that_never_ends_is_in_doubt_then_the_probe_and_the_same_job(
        fake: FakeBluesky, clip: Media) -> None:
    fake.video.plan.never = True
    channel = make_channel(fake, video_wait_seconds=0.2)
    delivery = video_delivery(clip, channel="bluesky")

    outcome = channel.publish(delivery)

    assert isinstance(outcome, InDoubt) and "still being processed" in outcome.detail
    settled = channel.probe(delivery)
    assert isinstance(settled, NotSent) and "was not created" in settled.reason
    [job] = fake.video.jobs.values()
    job.processing.never = False

    again = channel.publish(delivery)

    assert isinstance(again, Published)
    assert len(fake.calls("POST", UPLOAD)) == 1


def test_a_crash_between_upload_and_post_never_posts_twice(
        fake: FakeBluesky, clip: Media) -> None:
    channel = make_channel(fake)
    delivery = video_delivery(clip, channel="bluesky")
    fake.fail_next(Fault(drop=True, apply=True, path="/xrpc/com.atproto.repo.createRecord"))
    assert isinstance(channel.publish(delivery), InDoubt)

    settled = channel.probe(delivery)

    [post] = fake.posts()
    assert isinstance(settled, Published) and settled.remote_id == post.uri
    assert len(fake.calls("POST", UPLOAD)) == 1


def test_a_video_the_service_already_knows_is_not_processed_again(
        fake: FakeBluesky, clip: Media) -> None:
    channel = make_channel(fake)
    assert isinstance(channel.publish(video_delivery(clip, channel="bluesky")), Published)

    outcome = channel.publish(video_delivery(clip, "Rilis kedua", channel="bluesky",
                                             publish_key="another-post"))

    assert isinstance(outcome, Published)
    assert len(fake.video.jobs) == 1 and len(fake.posts()) == 2


def test_the_dry_run_shows_each_step(clip: Media) -> None:
    channel = BlueskyChannel(AccountConfig(name="b", network="bluesky",
                                           base_url="https://bsky.social",
                                           options={"identifier": HANDLE}), {})

    planned = channel.dry_run_requests(video_delivery(clip, channel="bluesky"))

    assert [p["url"].rsplit("/", 1)[1].split("?")[0] for p in planned] == [
        "com.atproto.server.getServiceAuth", "app.bsky.video.getUploadLimits",
        "com.atproto.server.getServiceAuth", "app.bsky.video.uploadVideo",
        "app.bsky.video.getJobStatus", "com.atproto.repo.createRecord"]
    assert planned[-1]["json"]["record"]["embed"]["$type"] == "app.bsky.embed.video"
