"""A Facebook Page video against the fake Graph API: the Resumable Upload API for a file
handle (in parts, resumed from Meta's offset), ``POST /{page-id}/videos`` once, the
video's status polled until ``ready`` — and a crash or timeout at every step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from channels.base import AccountConfig, AuthFailed, InDoubt, NotSent, Published, Rejected
from channels.facebook import FacebookChannel
from channels.variant import Media
from tests.channels.helpers import attempt, make_delivery, make_variant
from tests.channels.videos import prepared_video
from tests.fakes.facebook import FacebookFake
from tests.fakes.server import Fault

PAGE, APP = "104857600123", "901234567890123"
PAGE_TOKEN, USER_TOKEN = "EAAPageToken123", "EAAUserToken456"
TEXT = "Kunjungan kerja Kakanwil ke Lapas Pangkalpinang"
PART = 16 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[FacebookFake]:
    with FacebookFake(page_id=PAGE, token=PAGE_TOKEN, app_id=APP,
                      user_token=USER_TOKEN) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: FacebookFake) -> FacebookFake:
    server.reset()
    return server


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return prepared_video(tmp_path_factory.mktemp("fb-video"))


def channel_for(fake: FacebookFake, **options: object) -> FacebookChannel:
    account = AccountConfig(name="fb-lapas", network="facebook", base_url=fake.url,
                            options={"page_id": PAGE, "app_id": APP, "read_timeout": 2,
                                     "upload_part_bytes": PART, "part_retry_wait": 0,
                                     "video_poll_interval": 0.01, "video_poll_timeout": 5,
                                     **options})
    return FacebookChannel(account, {"access_token": PAGE_TOKEN,
                                     "user_access_token": USER_TOKEN})


@pytest.fixture
def channel(fake: FacebookFake) -> Iterator[FacebookChannel]:
    adapter = channel_for(fake)
    yield adapter
    adapter.close()


def post(video: Media, **kw: object):
    return make_delivery(TEXT, channel="facebook", media=[video], **kw)


def parts(fake: FacebookFake) -> list[int]:
    """The ``file_offset`` of every part received, in order."""
    return [int(r.header("file_offset")) for r in fake.calls("POST", r"/v26\.0/upload:.*")]


def test_a_video_is_uploaded_for_a_handle_then_posted_with_the_text_and_polled_until_ready(
        fake, channel, video):
    delivery = post(video)

    outcome = channel.publish(delivery)

    [opened] = fake.calls("POST", rf"/v26\.0/{APP}/uploads")
    assert opened.header("Authorization") == f"OAuth {USER_TOKEN}"
    assert {k: v[0] for k, v in opened.query.items()} == {
        "file_name": "rilis-kunjungan.mp4", "file_length": str(video.bytes),
        "file_type": "video/mp4"}
    assert parts(fake) == list(range(0, video.bytes, PART))
    [handle] = fake.handles
    assert fake.handles[handle] == Path(video.path).read_bytes()
    [created] = fake.calls("POST", rf"/v26\.0/{PAGE}/videos")
    params = fake.params(created)
    assert params.values == {"description": TEXT, "fbuploader_video_file_chunk": handle,
                             "published": "true"}
    assert params.files["thumb"].data == Path(video.cover).read_bytes()
    [page_video] = fake.published_videos
    assert outcome == Published(page_video.id, f"https://www.facebook.com/{PAGE}/videos/"
                                               f"{page_video.id}/")
    assert len(fake.calls("GET", rf"/v26\.0/{page_video.id}")) == 3  # processing ×2, ready
    assert delivery.state["video_id"] == page_video.id


def test_the_handle_is_checkpointed_before_the_video_is_created(fake, channel, video):
    seen: list[tuple[bool, int]] = []
    delivery = post(video)
    delivery.on_checkpoint = lambda state: seen.append(
        (bool(state.get("upload_handle")), len(fake.videos)))

    channel.publish(delivery)

    assert (True, 0) in seen  # the handle was stored while no video existed yet


def test_processing_that_fails_is_rejected_with_metas_reason(fake, channel, video):
    fake.video_fails = True

    outcome = channel.publish(post(video))

    assert isinstance(outcome, Rejected)
    assert "unsupported audio sample rate" in outcome.reason
    assert fake.published_videos == []


def test_a_part_that_fails_once_is_sent_again_from_the_offset_meta_reports(
        fake, channel, video):
    fake.fail_next(status=503, body="", path=r"/v26\.0/upload:.*", method="POST")

    outcome = channel.publish(post(video))

    assert isinstance(outcome, Published)
    assert parts(fake)[:2] == [0, 0]  # the first part twice, then on from Meta's offset
    assert parts(fake)[2:] == list(range(PART, video.bytes, PART))
    assert len(fake.calls("GET", r"/v26\.0/upload:.*")) == 1
    assert list(fake.handles.values()) == [Path(video.path).read_bytes()]


def test_an_upload_cut_short_resumes_in_the_next_attempt_where_meta_has_it(
        fake, channel, video):
    # the daemon died after Meta had taken two parts of the checkpointed session
    data = Path(video.path).read_bytes()
    auth = {"Authorization": f"OAuth {USER_TOKEN}"}
    session = requests.post(f"{fake.url}/v26.0/{APP}/uploads", headers=auth, timeout=5,
                            params={"file_name": "rilis-kunjungan.mp4",
                                    "file_length": len(data),
                                    "file_type": "video/mp4"}).json()["id"]
    for offset in (0, PART):
        requests.post(f"{fake.url}/v26.0/{session}", data=data[offset:offset + PART],
                      headers={**auth, "file_offset": str(offset)}, timeout=5)
    fake.requests.clear()
    delivery = post(video, state={"upload_session": session})

    outcome = channel.publish(delivery)

    assert isinstance(outcome, Published)
    assert fake.calls("POST", rf"/v26\.0/{APP}/uploads") == []  # the same session
    assert parts(fake) == list(range(2 * PART, len(data), PART))  # from where Meta is
    assert list(fake.handles.values()) == [data]


def test_a_session_meta_no_longer_knows_is_replaced_by_a_new_one(fake, channel, video):
    delivery = post(video, state={"upload_session": "upload:MTphdHRhY2htZW50OLD?sig=ARZqkGCA"})

    outcome = channel.publish(delivery)

    assert isinstance(outcome, Published)
    assert len(fake.calls("POST", rf"/v26\.0/{APP}/uploads")) == 1
    assert parts(fake) == list(range(0, video.bytes, PART))


def test_an_upload_that_keeps_failing_is_not_sent_and_publishes_nothing(
        fake, channel, video):
    fake.fail_next(status=500, body="", path=r"/v26\.0/upload:.*", method="POST", times=3)

    outcome = channel.publish(post(video))

    assert isinstance(outcome, NotSent) and fake.videos == {}
    assert parts(fake) == [0, 0, 0]


def test_lost_answer_of_the_create_is_found_by_the_probe_and_never_made_twice(
        fake, channel, video):
    fake.fail_next(Fault(drop=True, apply=True, path=rf"/v26\.0/{PAGE}/videos",
                         method="POST"))
    delivery = post(video)

    first = attempt(channel, delivery)
    assert isinstance(first.outcome, InDoubt) and first.creates == 1
    [page_video] = fake.videos.values()
    page_video.processing.finish()

    settled = channel.probe(delivery)

    assert settled == Published(page_video.id, f"https://www.facebook.com/{PAGE}/videos/"
                                               f"{page_video.id}/")
    assert delivery.state["video_id"] == page_video.id
    assert len(fake.videos) == 1


def test_a_crash_between_upload_and_create_reuses_the_handle_and_makes_one_video(
        fake, channel, video):
    fake.fail_next(Fault(drop=True, path=rf"/v26\.0/{PAGE}/videos", method="POST"))
    delivery = post(video)
    assert isinstance(attempt(channel, delivery).outcome, InDoubt)

    probed = channel.probe(delivery)
    assert isinstance(probed, NotSent)  # no video with this description on the Page
    sessions = len(fake.calls("POST", rf"/v26\.0/{APP}/uploads"))

    assert isinstance(channel.publish(delivery), Published)
    assert len(fake.calls("POST", rf"/v26\.0/{APP}/uploads")) == sessions == 1
    assert len(fake.videos) == 1


def test_processing_past_the_polling_time_is_in_doubt_until_the_probe_sees_it_ready(
        fake, video):
    fake.video_polls = 10_000
    channel = channel_for(fake, video_poll_timeout=0.05)
    delivery = post(video)

    outcome = channel.publish(delivery)

    assert isinstance(outcome, InDoubt) and "still processing" in outcome.detail
    assert isinstance(channel.probe(delivery), NotSent)  # still processing: not yet there
    [page_video] = fake.videos.values()
    page_video.processing.finish()
    assert isinstance(channel.probe(delivery), Published)
    assert len(fake.videos) == 1
    channel.close()


def test_without_an_app_id_a_video_is_refused_before_anything_is_sent(fake, video):
    channel = channel_for(fake, app_id="")
    variant = make_variant(TEXT, channel="facebook", media=[video])

    assert "app_id" in channel.preflight(variant)
    assert isinstance(channel.publish(make_delivery(variant)), Rejected)
    assert fake.calls() == []


def test_a_page_token_cannot_open_an_upload_session(fake, video):
    account = AccountConfig(name="fb", network="facebook", base_url=fake.url,
                            options={"page_id": PAGE, "app_id": APP})
    channel = FacebookChannel(account, {"access_token": PAGE_TOKEN})

    outcome = channel.publish(post(video))

    assert isinstance(outcome, AuthFailed) and fake.videos == {}
    channel.close()


def test_a_dry_run_shows_the_upload_the_create_and_the_polling(fake, channel, video):
    steps = channel.dry_run_requests(post(video))

    assert [s["method"] for s in steps] == ["POST"] * (2 + -(-video.bytes // PART)) + ["GET"]
    assert steps[0]["url"].endswith(f"/{APP}/uploads")
    assert steps[-2]["data"]["description"] == TEXT
    assert steps[-2]["files"] == {"thumb": video.cover}
    assert PAGE_TOKEN not in repr(steps) and USER_TOKEN not in repr(steps)
    assert fake.calls() == []
