"""X: a video goes through the v2 chunked upload (INIT, APPEND per chunk, FINALIZE, STATUS
until processed) before the post that names its media id — against the fake X API."""
# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

from pathlib import Path
from typing import Any

from channels.base import AccountConfig, InDoubt, NotSent, Published, Rejected
from channels.variant import Media
from channels.x import XChannel
from tests.channels.helpers import attempt
from tests.channels.test_x import SECRETS, fake, server
from tests.channels.video_media import clip, video_delivery
from tests.fakes.multipart import parse_form_data
from tests.fakes.server import FakeRequest, Fault
from tests.fakes.x import FakeX
from tests.fakes.x_video import Upload

CHUNK = 16 * 1024
APPEND = r"/2/media/upload/\d+/append"


def make_channel(fake: FakeX, **options: Any) -> XChannel:
    account = AccountConfig(name="lapas_x", network="x", base_url=fake.url, options={
        "username": "humaslapas", "read_timeout": 2.0, "x_chunk_bytes": CHUNK,
        "upload_retry_pause": 0, "video_poll_seconds": 0.01, **options})
    return XChannel(account, SECRETS)


def segment_index(request: FakeRequest) -> int:
    form = parse_form_data(request.header("Content-Type") or "", request.body)
    return int(form["segment_index"].text)


def the_upload(fake: FakeX) -> Upload:
    [upload] = fake.videos.uploads.values()
    return upload


def test_a_video_is_uploaded_in_chunks_processed_and_posted(fake: FakeX,
                                                            clip: Media) -> None:
    fake.videos.plan.polls = 3
    delivery = video_delivery(clip, channel="x")

    outcome = make_channel(fake).publish(delivery)

    upload = the_upload(fake)
    assert upload.data == Path(clip.path).read_bytes()
    chunks = fake.calls("POST", APPEND)
    assert len(chunks) == len(upload.segments) > 1
    assert all(len(c.body) < CHUNK + 1024 for c in chunks)  # one chunk per request
    assert upload.processing.asked == 4  # three "in progress", then succeeded
    [post] = fake.posts
    assert outcome == Published(post.id, f"https://x.com/humaslapas/status/{post.id}")
    assert post.media_ids == [upload.media_id]
    assert fake.media[upload.media_id]["alt_text"] == clip.alt


def test_a_chunk_that_fails_once_is_sent_again_alone(fake: FakeX,
                                                     clip: Media) -> None:
    fake.fail_next(Fault(status=503, path=APPEND, body={"title": "Service Unavailable"}))

    outcome = make_channel(fake).publish(video_delivery(clip, channel="x"))

    assert isinstance(outcome, Published)
    segments = [segment_index(c) for c in fake.calls("POST", APPEND)]
    assert segments == [0, *range(len(the_upload(fake).segments))]  # the first one twice
    assert len(fake.calls("POST", "/2/media/upload/initialize")) == 1


def test_processing_that_fails_is_refused_and_nothing_is_posted(
        fake: FakeX, clip: Media) -> None:
    fake.videos.plan.fails = "Unsupported video format"
    delivery = video_delivery(clip, channel="x")

    outcome = make_channel(fake).publish(delivery)

    assert isinstance(outcome, Rejected)
    assert "X could not process the video: Unsupported video format" in outcome.reason
    assert fake.posts == []
    assert delivery.state["x_video"] is None  # sent again later, it starts from the file


def test_processing_that_never_ends_leaves_the_post_in_doubt_for_the_probe(
        fake: FakeX, clip: Media) -> None:
    fake.videos.plan.never = True
    channel = make_channel(fake, video_wait_seconds=0.2)
    delivery = video_delivery(clip, channel="x")

    outcome = channel.publish(delivery)

    assert isinstance(outcome, InDoubt) and "still being processed" in outcome.detail
    assert fake.posts == []
    assert channel.probe(delivery) == NotSent("the pending part was never sent")
    fake.videos.plan.never = False
    the_upload(fake).processing.never = False  # X finishes meanwhile

    again = channel.publish(delivery)  # the next attempt waits on the same upload

    assert isinstance(again, Published)
    assert len(fake.calls("POST", "/2/media/upload/initialize")) == 1
    assert len(fake.calls("POST", APPEND)) == len(the_upload(fake).segments)


def test_a_crash_mid_upload_resumes_with_the_unconfirmed_chunk(
        fake: FakeX, clip: Media) -> None:
    delivery = video_delivery(clip, channel="x")
    # the first chunk goes through; the second never gets an answer, however often sent
    fake.fail_next(Fault(status=200, apply=True, path=APPEND, body={"data": {}}))
    fake.fail_next(Fault(drop=True, path=APPEND), times=3)
    first = attempt(make_channel(fake), delivery)
    assert isinstance(first.outcome, NotSent) and first.creates == 0
    assert delivery.state["x_video"]["next"] == 1

    outcome = make_channel(fake).publish(delivery)

    assert isinstance(outcome, Published)
    assert len(fake.calls("POST", "/2/media/upload/initialize")) == 1
    sent = [segment_index(c) for c in fake.calls("POST", APPEND)]
    assert sent == [0, 1, 1, 1, *range(1, len(the_upload(fake).segments))]
    assert len(fake.posts) == 1


def test_a_crash_between_upload_and_post_never_posts_twice(
        fake: FakeX, clip: Media) -> None:
    delivery = video_delivery(clip, channel="x")
    channel = make_channel(fake)
    # the post is created, but its answer is lost (the daemon died meanwhile)
    fake.fail_next(Fault(drop=True, apply=True, path="/2/tweets"))
    assert isinstance(channel.publish(delivery), InDoubt)

    settled = channel.probe(delivery)

    [post] = fake.posts
    assert settled == Published(post.id, f"https://x.com/humaslapas/status/{post.id}")
    assert len(fake.videos.uploads) == 1


def test_the_dry_run_shows_each_upload_step(clip: Media) -> None:
    channel = XChannel(AccountConfig(name="x", network="x"), {})

    planned = channel.dry_run_requests(video_delivery(clip, channel="x"))

    assert [(p["method"], p["url"].split("/2/", 1)[1]) for p in planned] == [
        ("POST", "media/upload/initialize"), ("POST", "media/upload/<media id>/append"),
        ("POST", "media/upload/<media id>/finalize"),
        ("GET", "media/upload?command=STATUS&media_id=<media id>"),
        ("POST", "media/metadata"), ("POST", "tweets")]
    assert planned[0]["json"]["total_bytes"] == clip.bytes
    assert planned[-1]["json"]["media"] == {"media_ids": [f"<media of {clip.path}>"]}


def test_a_status_question_that_fails_once_is_asked_again(fake: FakeX, clip: Media) -> None:
    fake.fail_next(Fault(status=503, path="/2/media/upload", method="GET",
                         body={"title": "Service Unavailable"}))

    outcome = make_channel(fake).publish(video_delivery(clip, channel="x"))

    assert isinstance(outcome, Published)
    assert len(fake.calls("GET", "/2/media/upload")) == the_upload(fake).processing.asked + 1
