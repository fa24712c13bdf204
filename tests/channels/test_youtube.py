"""YouTube: a prepared video uploaded with Google's resumable protocol, against the fake
YouTube Data API (``tests/fakes/youtube.py``): chunks, resuming, the probe, quota, tokens,
the cover, processing. Title, description and tag limits: ``test_youtube_metadata.py``;
the daily quota warnings: ``test_youtube_quota.py``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from channels.base import (
    AccountConfig,
    AuthFailed,
    Delivery,
    InDoubt,
    NotSent,
    Published,
    Rejected,
)
from channels.variant import Media
from channels.youtube import YouTubeChannel, marker_of
from channels.youtube.api import seconds_to_pacific_midnight
from tests.channels.helpers import assert_no_secret, attempt, make_delivery
from tests.clips import make_clip
from tests.fakes.server import Fault
from tests.fakes.youtube import UPLOAD_PATH, FakeYouTube

SECRETS = {"client_id": "1234-abcd.apps.googleusercontent.com",
           "client_secret": "GOCSPX-s3cr3t-client-value",
           "refresh_token": "1//0g-refresh-token-value-xyz"}
KiB = 1024
#: the smallest chunk the protocol allows: a 600 KB clip goes in three
CHUNK = 256 * KiB


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 14 s vertical H.264/AAC clip of a little over 512 KiB (three chunks)."""
    path = make_clip(tmp_path_factory.mktemp("youtube") / "klip.mp4", seconds=14.0,
                     width=720, height=1280, fps=5)
    assert path.stat().st_size > 2 * CHUNK
    return path


@pytest.fixture(scope="module")
def cover(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("youtube-cover") / "sampul.jpg"
    Image.new("RGB", (1280, 720), (200, 30, 30)).save(path, "JPEG")
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[FakeYouTube]:
    with FakeYouTube(**SECRETS) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def youtube(server: FakeYouTube) -> FakeYouTube:
    server.reset()
    return server


def channel(fake: FakeYouTube, secrets: dict[str, str] | None = None,
            **options: Any) -> YouTubeChannel:
    settings = {"token_url": f"{fake.url}/token", "chunk_bytes": CHUNK, "chunk_backoff": 0,
                "processing_interval": 0.01, "processing_timeout": 2, **options}
    return YouTubeChannel(AccountConfig(name="youtube-lapas", network="youtube",
                                        base_url=fake.url, options=settings),
                          SECRETS if secrets is None else secrets)


def video_post(clip: Path, *, cover: Path | None = None, width: int = 720,
               height: int = 1280, duration: float = 14.0, **extra: Any) -> Delivery:
    media = Media(path=str(clip), kind="video", mime="video/mp4", width=width, height=height,
                  bytes=clip.stat().st_size, duration=duration,
                  cover=str(cover) if cover else None)
    fields = {"title": "Rakor Agen Informasi Pemasyarakatan",
              "description": "Kalapas hadir dalam rakor nasional. #HumasBergerakBersama",
              "tags": ["HumasBergerakBersama", "Lapas Pangkalpinang"], **extra}
    return make_delivery(fields["description"], channel="youtube", media=[media],
                         publish_key=f"pk-yt-{datetime.now(UTC).timestamp()}", **fields)


def puts(fake: FakeYouTube) -> list[Any]:
    return fake.calls("PUT", UPLOAD_PATH)


def bytes_sent(fake: FakeYouTube) -> int:
    return sum(len(r.body) for r in puts(fake))


# --- a video is published ----------------------------------------------------------------


def test_a_video_is_uploaded_in_chunks_and_published_once(youtube: FakeYouTube,
                                                           clip: Path) -> None:
    delivery = video_post(clip)

    result = attempt(channel(youtube), delivery)

    assert isinstance(result.outcome, Published), result.outcome
    assert result.creates == 1  # only the chunk with the last byte can make the video
    [video] = youtube.videos
    assert video.data == clip.read_bytes()
    assert len(puts(youtube)) == 3
    assert all(len(r.body) % CHUNK == 0 for r in puts(youtube)[:-1])
    snippet = video.resource["snippet"]
    assert snippet["title"] == "Rakor Agen Informasi Pemasyarakatan"
    assert snippet["tags"] == ["HumasBergerakBersama", "Lapas Pangkalpinang",
                               marker_of(delivery.publish_key)]
    assert video.resource["status"]["privacyStatus"] == "public"
    assert "publishAt" not in video.resource["status"]  # Siar does the timing
    assert result.outcome.url == f"https://www.youtube.com/shorts/{video.id}"  # vertical, short
    assert delivery.done_part(0) is not None


def test_the_session_is_checkpointed_before_any_byte_of_the_video(youtube: FakeYouTube,
                                                                  clip: Path) -> None:
    delivery = video_post(clip)
    seen: list[int] = []
    delivery.on_checkpoint = lambda state: seen.append(len(puts(youtube))) \
        if state.get("youtube_session") else None

    attempt(channel(youtube), delivery)

    assert seen and seen[0] == 0
    assert delivery.state["youtube_session"]["uri"].startswith(f"{youtube.url}{UPLOAD_PATH}")


def test_a_landscape_video_is_a_watch_page_and_privacy_follows_the_account(
        youtube: FakeYouTube, clip: Path) -> None:
    delivery = video_post(clip, width=1280, height=720)

    outcome = channel(youtube, privacy="unlisted").publish(delivery)

    assert isinstance(outcome, Published)
    assert outcome.url == f"https://www.youtube.com/watch?v={outcome.remote_id}"
    assert youtube.videos[0].resource["status"]["privacyStatus"] == "unlisted"


# --- chunks, breaks and crashes ------------------------------------------------------------


def test_a_chunk_that_fails_once_is_sent_again_from_what_youtube_holds(
        youtube: FakeYouTube, clip: Path) -> None:
    youtube.fail_next(Fault(status=503, path=UPLOAD_PATH, method="PUT",
                            body={"error": {"code": 503, "message": "Backend Error"}}))

    outcome = channel(youtube).publish(video_post(clip))

    assert isinstance(outcome, Published), outcome
    assert [v.data for v in youtube.videos] == [clip.read_bytes()]
    assert any(r.header("Content-Range") == f"bytes */{clip.stat().st_size}"
               for r in puts(youtube))


def test_a_chunk_whose_answer_is_lost_is_not_sent_twice(youtube: FakeYouTube,
                                                        clip: Path) -> None:
    # the first chunk arrives, the connection breaks before its 308
    youtube.fail_next(Fault(drop=True, apply=True, path=UPLOAD_PATH, method="PUT"))

    outcome = channel(youtube).publish(video_post(clip))

    assert isinstance(outcome, Published), outcome
    assert youtube.videos[0].data == clip.read_bytes()
    # YouTube says it holds the chunk: the upload goes on after it
    assert bytes_sent(youtube) == clip.stat().st_size


def test_an_upload_broken_off_is_resumed_by_the_next_attempt(youtube: FakeYouTube,
                                                             clip: Path) -> None:
    delivery = video_post(clip)
    # the first chunk arrives, then the line breaks, and this attempt gives up
    youtube.fail_next(Fault(drop=True, apply=True, path=UPLOAD_PATH, method="PUT"))

    first = attempt(channel(youtube, chunk_retries=0), delivery)

    assert isinstance(first.outcome, NotSent) and youtube.videos == []
    held_before = len(youtube.sessions[next(iter(youtube.sessions))].received)
    assert held_before == CHUNK
    sent_before = bytes_sent(youtube)

    second = attempt(channel(youtube), delivery)  # a new adapter, as after a restart

    assert isinstance(second.outcome, Published), second.outcome
    assert len(youtube.sessions) == 1  # the same session, not a new upload
    assert youtube.videos[0].data == clip.read_bytes()
    assert bytes_sent(youtube) - sent_before == clip.stat().st_size - held_before


def test_a_crash_after_the_last_byte_is_settled_by_the_probe_without_a_second_video(
        youtube: FakeYouTube, clip: Path) -> None:
    delivery = video_post(clip)
    # YouTube takes the last chunk; its answer never arrives (as if the daemon died)
    youtube.fail_next(Fault(delay=1.0, apply=True, status=201, body={}, path=UPLOAD_PATH,
                            method="PUT"))
    stalled = attempt(channel(youtube, read_timeout=0.3, chunk_bytes=4 * CHUNK), delivery)
    assert isinstance(stalled.outcome, InDoubt) and stalled.creates == 1

    settled = channel(youtube).probe(delivery)  # after the restart
    again = channel(youtube).publish(delivery)

    assert isinstance(settled, Published), settled
    assert isinstance(again, Published) and again.remote_id == settled.remote_id
    assert len(youtube.videos) == 1 and len(youtube.sessions) == 1


def test_an_expired_session_is_searched_for_the_marker_before_a_new_upload(
        youtube: FakeYouTube, clip: Path) -> None:
    delivery = video_post(clip)
    youtube.fail_next(Fault(drop=True, apply=True, path=UPLOAD_PATH, method="PUT"), times=3)
    publisher = channel(youtube, chunk_retries=0, chunk_bytes=4 * CHUNK)  # one chunk
    assert isinstance(attempt(publisher, delivery).outcome, InDoubt)
    youtube.faults.clear()
    youtube.forget_sessions()  # a week went by

    settled = channel(youtube).probe(delivery)

    assert isinstance(settled, Published), settled
    assert settled.remote_id == youtube.videos[0].id and len(youtube.videos) == 1


def test_the_probe_proves_absence_when_the_upload_never_completed(youtube: FakeYouTube,
                                                                  clip: Path) -> None:
    delivery = video_post(clip)
    youtube.fail_next(Fault(drop=True, path=UPLOAD_PATH, method="PUT"), times=3)
    assert isinstance(attempt(channel(youtube, chunk_bytes=4 * CHUNK), delivery).outcome,
                      InDoubt)
    youtube.faults.clear()

    settled = channel(youtube).probe(delivery)

    assert isinstance(settled, NotSent), settled
    assert youtube.videos == []


def test_a_gone_session_without_the_video_among_recent_uploads_is_not_sent(
        youtube: FakeYouTube, clip: Path) -> None:
    youtube.add_old_video("Rilis lama", age=timedelta(days=2))
    delivery = video_post(clip)
    youtube.fail_next(Fault(drop=True, path=UPLOAD_PATH, method="PUT"), times=3)
    attempt(channel(youtube, chunk_bytes=4 * CHUNK), delivery)
    youtube.faults.clear()
    youtube.forget_sessions()

    settled = channel(youtube).probe(delivery)

    assert isinstance(settled, NotSent), settled
    assert "youtube_session" in delivery.state and delivery.state["youtube_session"] is None


def test_a_retry_after_the_session_expired_finds_the_video_it_completed(
        youtube: FakeYouTube, clip: Path) -> None:
    delivery = video_post(clip)
    youtube.fail_next(Fault(delay=1.0, apply=True, status=201, body={}, path=UPLOAD_PATH,
                            method="PUT"))
    attempt(channel(youtube, read_timeout=0.3, chunk_bytes=4 * CHUNK), delivery)
    youtube.forget_sessions()

    outcome = channel(youtube).publish(delivery)

    assert isinstance(outcome, Published) and outcome.remote_id == youtube.videos[0].id
    assert len(youtube.videos) == 1 and len(youtube.calls("POST", UPLOAD_PATH)) == 1


def test_a_retry_after_the_session_expired_unfinished_uploads_anew(
        youtube: FakeYouTube, clip: Path) -> None:
    youtube.add_old_video("Rilis lama", age=timedelta(days=2))
    delivery = video_post(clip)
    youtube.fail_next(Fault(drop=True, path=UPLOAD_PATH, method="PUT"))
    attempt(channel(youtube, chunk_bytes=4 * CHUNK), delivery)
    youtube.forget_sessions()

    outcome = channel(youtube).publish(delivery)

    assert isinstance(outcome, Published), outcome
    assert len(youtube.calls("POST", UPLOAD_PATH)) == 2 and len(youtube.videos) == 2
    assert youtube.videos[-1].data == clip.read_bytes()


# --- quota and tokens ----------------------------------------------------------------------


def test_a_used_up_quota_waits_for_midnight_pacific_time(youtube: FakeYouTube,
                                                         clip: Path) -> None:
    youtube.uploads_per_day = 0
    try:
        outcome = channel(youtube).publish(video_post(clip))
    finally:
        youtube.uploads_per_day = 100

    assert isinstance(outcome, NotSent) and outcome.rate_limited, outcome
    assert outcome.retry_after == pytest.approx(seconds_to_pacific_midnight(), abs=5)
    assert "quotaExceeded" in outcome.reason and youtube.videos == []


@pytest.mark.parametrize(("now", "hours"), [
    # 2026-12-07 09:00 UTC is 01:00 PST: 23 h to midnight
    (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), 23.0),
    # summer: 2026-07-01 06:30 UTC is 23:30 PDT of 30 June
    (datetime(2026, 7, 1, 6, 30, tzinfo=UTC), 0.5),
    # the day clocks go back (2026-11-01): 25 hours long, from 00:00 PDT
    (datetime(2026, 11, 1, 7, 0, tzinfo=UTC), 25.0),
])
def test_the_quota_day_ends_at_midnight_pacific_time(now: datetime, hours: float) -> None:
    assert seconds_to_pacific_midnight(now) == hours * 3600


def test_an_expired_access_token_is_refreshed_once_and_the_request_sent_again(
        youtube: FakeYouTube, clip: Path) -> None:
    publisher = channel(youtube)
    assert isinstance(publisher.publish(video_post(clip)), Published)
    youtube.expire_tokens()  # an hour later

    outcome = publisher.publish(video_post(clip))

    assert isinstance(outcome, Published), outcome
    assert len(youtube.calls("POST", "/token")) == 2
    assert len(youtube.videos) == 2


@pytest.mark.parametrize("wrong", ["refresh_token", "client_secret"])
def test_a_refused_refresh_token_pauses_the_account_and_shows_no_secret(
        youtube: FakeYouTube, clip: Path, wrong: str) -> None:
    secrets = {**SECRETS, wrong: "1//revoked-or-wrong-value"}

    outcome = channel(youtube, secrets).publish(video_post(clip))

    assert isinstance(outcome, AuthFailed), outcome
    assert "authorise the channel again" in outcome.reason
    assert_no_secret(outcome, [*SECRETS.values(), secrets[wrong]])
    assert youtube.calls("POST", UPLOAD_PATH) == []


# --- cover and processing --------------------------------------------------------------------


def test_the_cover_becomes_the_thumbnail(youtube: FakeYouTube, clip: Path,
                                         cover: Path) -> None:
    delivery = video_post(clip, cover=cover)

    assert isinstance(channel(youtube).publish(delivery), Published)

    assert youtube.videos[0].thumbnail == cover.read_bytes()
    assert delivery.done_part(0).extra["thumbnail"] == "set"  # type: ignore[union-attr]


def test_a_channel_not_allowed_custom_thumbnails_still_publishes_its_video(
        youtube: FakeYouTube, clip: Path, cover: Path) -> None:
    youtube.thumbnails_allowed = False
    delivery = video_post(clip, cover=cover)

    outcome = channel(youtube).publish(delivery)

    assert isinstance(outcome, Published)
    note = delivery.done_part(0).extra["thumbnail"]  # type: ignore[union-attr]
    assert note.startswith("not set") and "403" in note


@pytest.mark.parametrize(("result", "reason"), [("failed", "codec"),
                                                ("rejected", "duplicate")])
def test_processing_that_fails_is_rejected_and_not_marked_published(
        youtube: FakeYouTube, clip: Path, result: str, reason: str) -> None:
    youtube.processing_result, youtube.processing_polls = result, 1
    delivery = video_post(clip)

    outcome = channel(youtube).publish(delivery)

    assert isinstance(outcome, Rejected) and reason in outcome.reason, outcome
    assert delivery.done_part(0) is None


def test_a_video_still_processing_when_the_wait_ends_is_published(youtube: FakeYouTube,
                                                                  clip: Path) -> None:
    youtube.processing_polls = 10_000

    outcome = channel(youtube, processing_timeout=0.05).publish(video_post(clip))

    assert isinstance(outcome, Published)


# --- before anything is sent ------------------------------------------------------------------


def test_a_post_without_a_video_is_refused_before_anything_is_sent(
        youtube: FakeYouTube) -> None:
    delivery = make_delivery("Teks saja", channel="youtube")

    problem = channel(youtube).preflight(delivery.variant)
    outcome = channel(youtube).publish(delivery)

    assert problem is not None and "need a video" in problem
    assert isinstance(outcome, Rejected) and youtube.requests == []


@pytest.mark.parametrize(("options", "words"), [
    ({"privacy": "secret"}, "options.privacy"),
    ({"quota_uploads_per_day": -1}, "options.quota_uploads_per_day"),
])
def test_a_wrong_account_option_is_named_at_queue_time(youtube: FakeYouTube, clip: Path,
                                                       options: dict[str, Any],
                                                       words: str) -> None:
    problem = channel(youtube, **options).preflight(video_post(clip).variant)

    assert problem is not None and words in problem


def test_a_long_video_needs_a_verified_channel(youtube: FakeYouTube, clip: Path) -> None:
    long_video = video_post(clip, duration=20 * 60.0).variant

    assert "verified" in (channel(youtube).preflight(long_video) or "")
    assert channel(youtube, long_uploads=True).preflight(long_video) is None


def test_check_names_the_channel_and_whether_it_takes_long_videos(
        youtube: FakeYouTube) -> None:
    result = channel(youtube).check()

    assert result.ok and result.identity == "@lapaspangkalpinang"
    assert "long uploads: allowed" in result.detail
    assert_no_secret(result, SECRETS)


def test_the_dry_run_shows_every_step_without_a_secret(youtube: FakeYouTube, clip: Path,
                                                       cover: Path) -> None:
    planned = channel(youtube).dry_run_requests(video_post(clip, cover=cover))

    assert [p["method"] for p in planned] == ["POST", "POST", "PUT", "POST", "GET"]
    assert planned[2]["chunks"] == 3 and planned[2]["short"] is True
    assert_no_secret(planned, SECRETS)
    assert youtube.requests == []
