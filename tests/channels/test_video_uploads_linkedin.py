"""A LinkedIn video post against the fake Videos API: initializeUpload, every part PUT
with its ETag kept, the cover, finalizeUpload, the status polled until AVAILABLE, then
the post that carries the video's URN — and what happens when any step goes wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.base import AccountConfig, InDoubt, NotSent, Published, Rejected
from channels.linkedin import LinkedInChannel
from channels.variant import Media
from tests.channels.helpers import attempt, make_delivery
from tests.channels.videos import prepared_video, without_cover
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.server import Fault

TOKEN = "AQVlinkedintoken123"
AUTHOR = "urn:li:organization:2414183"
TEXT = "Kunjungan kerja Kakanwil ke Lapas Pangkalpinang"
PART = 16 * 1024  # the fake cuts the clip in parts of this size: several parts


@pytest.fixture(scope="module")
def fake() -> Iterator[LinkedInFake]:
    """One fake LinkedIn for the module, forgetting everything before each test."""
    with LinkedInFake(token=TOKEN, author=AUTHOR) as running:
        yield running  # type: ignore[misc]


@pytest.fixture(autouse=True)
def fresh(fake: LinkedInFake) -> None:
    fake.reset()
    fake.video_part_bytes = PART


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return prepared_video(tmp_path_factory.mktemp("li-video"))


@pytest.fixture
def channel(fake: LinkedInFake) -> Iterator[LinkedInChannel]:
    account = AccountConfig(name="li-lapas", network="linkedin", base_url=fake.url,
                            options={"author": AUTHOR, "read_timeout": 2,
                                     "video_poll_interval": 0.01, "video_poll_timeout": 5,
                                     "part_retry_wait": 0})
    adapter = LinkedInChannel(account, {"access_token": TOKEN})
    yield adapter
    adapter.close()


def post(video: Media, **kw: object):
    return make_delivery(TEXT, channel="linkedin", media=[video], **kw)


def part_puts(fake: LinkedInFake) -> list[str]:
    return [r.path for r in fake.calls("PUT", r"/dms-uploads/video/.*/part/\d+")]


def test_a_video_is_uploaded_in_parts_finalized_and_posted_once_available(
        fake, channel, video):
    delivery = post(video)

    outcome = channel.publish(delivery)

    [li_video] = fake.videos.values()
    assert li_video.part_count == -(-video.bytes // PART) > 1
    assert part_puts(fake) == [f"/dms-uploads/video/{li_video.urn[13:]}/part/{i}"
                               for i in range(li_video.part_count)]
    assert b"".join(li_video.parts[i] for i in range(li_video.part_count)) == \
        Path(video.path).read_bytes()
    assert li_video.thumbnail == Path(video.cover).read_bytes()
    [finalize] = [r for r in fake.calls("POST", "/rest/videos")
                  if r.query["action"] == ["finalizeUpload"]]
    assert finalize.json()["finalizeUploadRequest"]["uploadedPartIds"] == [
        li_video.etags[i] for i in range(li_video.part_count)]
    # the post leaves only after the video was reported AVAILABLE
    order = [(r.method, r.path) for r in fake.requests]
    last_status = max(i for i, (m, p) in enumerate(order) if p.startswith("/rest/videos/"))
    assert order.index(("POST", "/rest/posts")) > last_status
    assert li_video.status == "AVAILABLE"
    [created] = fake.posts
    assert created.content == {"media": {"id": li_video.urn}}
    assert outcome == Published(created.urn,
                                f"https://www.linkedin.com/feed/update/{created.urn}/")


def test_initialize_declares_the_size_and_asks_for_a_thumbnail_only_with_a_cover(
        fake, channel, video):
    channel.publish(post(without_cover(video)))

    [init] = [r for r in fake.calls("POST", "/rest/videos")
              if r.query["action"] == ["initializeUpload"]]
    assert init.json() == {"initializeUploadRequest": {
        "owner": AUTHOR, "fileSizeBytes": video.bytes, "uploadCaptions": False,
        "uploadThumbnail": False}}
    assert fake.calls("PUT", r".*/thumbnail") == []


def test_processing_that_fails_is_rejected_with_linkedins_reason_and_nothing_is_posted(
        fake, channel, video):
    fake.video_fails = True

    outcome = channel.publish(post(video))

    assert isinstance(outcome, Rejected)
    assert "PROCESSING_FAILED" in outcome.reason
    assert "Video format is not supported" in outcome.reason
    assert fake.posts == []


def test_a_part_that_fails_once_is_sent_again_alone(fake, channel, video):
    fake.fail_next(status=503, body={"message": "upstream"}, path=r".*/part/1", method="PUT")

    outcome = channel.publish(post(video))

    assert isinstance(outcome, Published)
    puts = part_puts(fake)
    assert sum(p.endswith("/part/1") for p in puts) == 2
    assert all(sum(p.endswith(f"/part/{i}") for p in puts) == 1
               for i in (0, 2))
    assert len(fake.posts) == 1


def test_an_upload_cut_short_goes_on_from_the_next_part_in_the_next_attempt(
        fake, channel, video):
    fake.fail_next(status=500, body={"message": "down"}, path=r".*/part/2", method="PUT",
                   times=3)
    delivery = post(video)

    first = channel.publish(delivery)

    assert isinstance(first, NotSent) and fake.posts == []
    assert len(delivery.state["video"]["etags"]) == 2
    second = channel.publish(delivery)

    assert isinstance(second, Published)
    puts = part_puts(fake)
    assert sum(p.endswith("/part/0") for p in puts) == 1  # not sent again
    assert len(fake.videos) == 1 and len(fake.posts) == 1


def test_processing_past_the_polling_time_is_in_doubt_then_probed_and_not_uploaded_again(
        fake, channel, video):
    fake.video_polls = 10_000
    channel.account.options["video_poll_timeout"] = 0.05
    delivery = post(video)

    first = attempt(channel, delivery)

    assert isinstance(first.outcome, InDoubt) and first.creates == 0
    assert "still processing" in first.outcome.detail
    assert isinstance(channel.probe(delivery), NotSent)  # no post with this commentary
    [li_video] = fake.videos.values()
    li_video.processing.finish()
    puts_before = len(part_puts(fake))
    channel.account.options["video_poll_timeout"] = 5

    second = channel.publish(delivery)

    assert isinstance(second, Published)
    assert len(part_puts(fake)) == puts_before  # the finalized video is reused
    assert len(fake.videos) == 1 and len(fake.posts) == 1


def test_a_crash_after_the_post_left_is_settled_by_the_probe_without_a_second_post(
        fake, channel, video):
    # the post is made, but its answer never arrives (the daemon dies, or the connection)
    fake.fail_next(Fault(drop=True, apply=True, path="/rest/posts", method="POST"))
    delivery = post(video)

    first = attempt(channel, delivery)

    assert isinstance(first.outcome, InDoubt) and first.creates == 1
    settled = channel.probe(delivery)
    assert isinstance(settled, Published)
    assert settled.remote_id == fake.posts[0].urn
    assert len(fake.posts) == 1 and len(fake.videos) == 1


def test_a_dry_run_shows_every_step_of_the_video_upload(fake, channel, video):
    steps = channel.dry_run_requests(post(video))

    assert [(s["method"], s["url"].split("?")[-1]) for s in steps] == [
        ("POST", "action=initializeUpload"), ("PUT", "{uploadInstructions[i].uploadUrl}"),
        ("PUT", "{thumbnailUploadUrl}"), ("POST", "action=finalizeUpload"),
        ("GET", f"{fake.url}/rest/videos/{{video-urn}}"), ("POST", f"{fake.url}/rest/posts")]
    assert steps[-1]["json"]["content"] == {"media": {"id": "{video-urn}"}}
    assert TOKEN not in repr(steps)
    assert fake.calls() == []
