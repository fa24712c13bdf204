"""TikTok: what is particular to it (the contract suite covers the rest) — creator info
before each post, the chunked upload, status polling, photo posts, and settling a post in
doubt by its publish id, against the fake of tests/fakes/tiktok.py."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    AuthFailed,
    Delivery,
    InDoubt,
    NotSent,
    Published,
    Rejected,
)
from channels.tiktok import TikTokChannel
from channels.tiktok.upload import MAX_CHUNK, MIN_CHUNK, plan_chunks
from channels.tokens import TokenStore
from channels.variant import Media
from scheduler.db import open_database
from scheduler.token_store import DatabaseTokenStore
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.clips import make_clip
from tests.fakes.photos import photo_url
from tests.fakes.server import Fault
from tests.fakes.tiktok import FakeTikTok

SECRETS = {"client_key": "awtiktokclientkey", "client_secret": "tiktok-client-secret-42",
           "refresh_token": "rft.first-refresh-token"}
CAPTION = "Rakor Agen Informasi Pemasyarakatan #HumasBergerakBersama"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """A prepared vertical clip, as the video preparation hands it to adapters."""
    path = make_clip(tmp_path_factory.mktemp("clips") / "rakor.mp4", seconds=4.0,
                     width=180, height=320, fps=2)
    return Media(path=str(path), kind="video", mime="video/mp4", width=180, height=320,
                 bytes=path.stat().st_size, duration=4.0)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """12 MB: two chunks of 5 and 7 MB with ``chunk_mb = 5`` (the bytes are not decoded)."""
    path = tmp_path_factory.mktemp("big") / "panjang.mp4"
    path.write_bytes(os.urandom(12 * MB))
    return Media(path=str(path), kind="video", mime="video/mp4", width=1080, height=1920,
                 bytes=12 * MB, duration=30.0)


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok(**SECRETS) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def store(tmp_path: Path) -> DatabaseTokenStore:
    """Where the daemon keeps the account's rotated tokens (what a restart finds)."""
    return DatabaseTokenStore(open_database(f"sqlite:///{tmp_path / 'siar.db'}"),
                              "tiktok-lapas")


def channel(fake: FakeTikTok, store: TokenStore | None = None,
            **options: Any) -> TikTokChannel:
    """A TikTok adapter as the daemon builds it (a new one stands for a new process)."""
    adapter = TikTokChannel(AccountConfig(
        name="tiktok-lapas", network="tiktok", base_url=fake.url,
        options={"poll_interval": 0.01, "poll_timeout": 2, "read_timeout": 2, **options}),
        SECRETS)
    adapter.token_store = store
    return adapter


def video_post(media: Media, **kw: Any) -> Delivery:
    return make_delivery(CAPTION, media=[media], **kw)


def inits(fake: FakeTikTok) -> int:
    return len(fake.calls("POST", r"/v2/post/publish/(video|content)/init/"))


# --- a video post ------------------------------------------------------------------------


def test_a_video_is_uploaded_after_the_creator_query_and_published(fake, clip):
    delivery = video_post(clip)
    checkpointed_before_upload = []
    delivery.on_checkpoint = lambda state: checkpointed_before_upload.append(
        len(fake.calls("PUT")) == 0 and "tiktok_publish_id" in state)

    outcome = channel(fake).publish(delivery)

    assert isinstance(outcome, Published)
    assert outcome.url == f"https://www.tiktok.com/@lapaspangkalpinang/video/{outcome.remote_id}"
    assert checkpointed_before_upload == [True]  # the publish id is kept before any byte
    paths = [r.path for r in fake.requests]
    assert paths[:3] == ["/v2/oauth/token/", "/v2/post/publish/creator_info/query/",
                         "/v2/post/publish/video/init/"]
    init = fake.calls("POST", "/v2/post/publish/video/init/")[0].json()
    assert init["post_info"]["title"] == CAPTION
    assert init["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert init["post_info"]["disable_duet"] is True  # the creator turned duets off
    assert init["source_info"] == {"source": "FILE_UPLOAD", "video_size": clip.bytes,
                                   "chunk_size": clip.bytes, "total_chunk_count": 1}
    (put,) = fake.calls("PUT")
    assert put.header("Content-Range") == f"bytes 0-{clip.bytes - 1}/{clip.bytes}"
    assert put.body == Path(clip.path).read_bytes()
    assert len(fake.posts) == 1 and delivery.done_part(0) is not None


def test_a_large_video_goes_in_chunks_and_a_chunk_that_fails_once_is_sent_again(
        fake, big_file):
    fake.fail_next(Fault(status=500, path="/video/", method="PUT"))

    outcome = channel(fake, chunk_mb=5).publish(video_post(big_file))

    assert isinstance(outcome, Published), outcome
    ranges = [r.header("Content-Range") for r in fake.calls("PUT")]
    total = 12 * MB
    assert ranges == [f"bytes 0-{5 * MB - 1}/{total}", f"bytes 0-{5 * MB - 1}/{total}",
                      f"bytes {5 * MB}-{total - 1}/{total}"]  # the last takes the rest
    assert fake.calls("POST", "/v2/post/publish/video/init/")[0].json()["source_info"][
        "total_chunk_count"] == 2
    assert len(fake.posts) == 1


@given(size=st.integers(min_value=1, max_value=4 * 1024 * MB),
       preferred=st.integers(min_value=1, max_value=200 * MB))
def test_chunk_plans_keep_tiktoks_rules(size: int, preferred: int) -> None:
    plan = plan_chunks(size, preferred)
    ranges = list(plan.ranges())

    assert plan.total_chunk_count == size // plan.chunk_size == len(ranges) <= 1000
    assert ranges[0][0] == 0 and ranges[-1][1] == size - 1
    assert all(a == b + 1 for (a, _), (_, b) in zip(ranges[1:], ranges, strict=False))
    if size < MIN_CHUNK:
        assert (plan.chunk_size, plan.total_chunk_count) == (size, 1)
    else:
        assert MIN_CHUNK <= plan.chunk_size <= MAX_CHUNK
        assert ranges[-1][1] - ranges[-1][0] + 1 <= 128 * MB


def test_processing_that_fails_is_refused_in_words_and_not_published(fake, clip):
    fake.fail_reason = "frame_rate_check_failed"
    delivery = video_post(clip)

    outcome = channel(fake).publish(delivery)

    assert isinstance(outcome, Rejected)
    assert "frame rate" in outcome.reason and "frame_rate_check_failed" in outcome.reason
    assert delivery.done_part(0) is None


def test_still_processing_when_polling_ends_is_in_doubt_and_the_probe_settles_it(
        fake, clip):
    fake.processing_polls = 10_000
    adapter, delivery = channel(fake, poll_timeout=0.05), video_post(clip)

    outcome = adapter.publish(delivery)

    assert isinstance(outcome, InDoubt) and "still processing" in outcome.detail
    fake.processing_polls = 0  # TikTok finished meanwhile
    settled = adapter.probe(delivery)
    assert isinstance(settled, Published)
    assert settled.remote_id == delivery.done_part(0).remote_id  # type: ignore[union-attr]
    assert inits(fake) == 1 and len(fake.posts) == 1


def test_a_crash_after_the_last_chunk_is_settled_by_the_publish_id_not_sent_again(
        fake, clip, store):
    fake.fail_next(Fault(drop=True, apply=True, path="/video/", method="PUT"))
    delivery = video_post(clip)
    assert isinstance(channel(fake, store).publish(delivery), InDoubt)

    # a new process (the daemon restarted) takes the post up again
    outcome = channel(fake, store).publish(delivery)

    assert isinstance(outcome, Published)
    assert inits(fake) == 1 and len(fake.posts) == 1


def test_a_crash_between_init_and_upload_is_not_sent_and_the_next_attempt_posts_once(
        fake, big_file, store):
    # the first chunk never arrives (a lone chunk would be the last, which makes the post)
    fake.fail_next(Fault(drop=True, path="/video/", method="PUT"), times=2)
    delivery = video_post(big_file)
    assert isinstance(channel(fake, store, chunk_mb=5).publish(delivery), NotSent)
    assert "tiktok_publish_id" in delivery.state

    assert isinstance(channel(fake, store, chunk_mb=5).probe(delivery), NotSent)
    outcome = channel(fake, store, chunk_mb=5).publish(delivery)

    assert isinstance(outcome, Published)
    assert inits(fake) == 2 and len(fake.posts) == 1


def test_the_probe_without_a_publish_id_knows_no_upload_began(fake, clip):
    assert isinstance(channel(fake).probe(video_post(clip)), NotSent)


# --- what the creator may do ---------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [("spam_risk_too_many_posts", NotSent),
                                                ("spam_risk_user_banned_from_posting",
                                                 Rejected)])
def test_a_creator_who_cannot_post_now_is_tried_later_or_refused(fake, clip, code, expected):
    fake.creator_error = code

    outcome = channel(fake).publish(video_post(clip))

    assert isinstance(outcome, expected)
    if expected is NotSent:
        assert outcome.rate_limited and outcome.retry_after  # type: ignore[union-attr]
    assert inits(fake) == 0


def test_a_privacy_level_the_creator_lacks_names_the_allowed_ones(fake, clip):
    outcome = channel(fake, privacy_level="FOLLOWER_OF_CREATOR").publish(video_post(clip))

    assert isinstance(outcome, Rejected)
    assert "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY" in outcome.reason
    assert inits(fake) == 0


def test_a_video_longer_than_the_creator_may_post_is_refused_before_the_init(fake, clip):
    fake.max_duration = 3

    outcome = channel(fake).publish(video_post(clip))

    assert isinstance(outcome, Rejected) and "at most 3 s" in outcome.reason
    assert inits(fake) == 0


def test_more_than_six_inits_a_minute_are_rate_limited(fake, clip):
    adapter = channel(fake)
    outcomes = [adapter.publish(video_post(clip, publish_key=f"k{i}")) for i in range(7)]

    assert all(isinstance(o, Published) for o in outcomes[:6])
    assert isinstance(outcomes[6], NotSent) and outcomes[6].rate_limited
    assert outcomes[6].retry_after == 60


# --- unaudited apps ------------------------------------------------------------------------


def test_an_unaudited_app_posting_publicly_is_refused_with_the_fix(fake, clip):
    fake.audited = False

    outcome = channel(fake).publish(video_post(clip))

    assert isinstance(outcome, Rejected) and "audited = false" in outcome.reason


def test_an_account_marked_unaudited_posts_privately_and_the_check_says_so(fake, clip):
    fake.audited = False
    adapter = channel(fake, audited=False)

    outcome = adapter.publish(video_post(clip))
    checked = adapter.check()

    assert isinstance(outcome, Published) and outcome.url is None  # private: no public id
    init = fake.calls("POST", "/v2/post/publish/video/init/")[0].json()
    assert init["post_info"]["privacy_level"] == "SELF_ONLY"
    assert checked.ok and "NOT audited" in checked.detail and "SELF_ONLY" in checked.detail


# --- photos ---------------------------------------------------------------------------------


def test_a_release_with_photos_and_no_video_is_a_photo_post(fake):
    photos = [Media(path=f"/data/rilis/foto{i}.jpg", alt="Rakor", url=photo_url(f"f{i}.jpg"))
              for i in range(2)]
    delivery = make_delivery(CAPTION, media=photos, title="Rakor Agen Informasi " * 6)

    outcome = channel(fake).publish(delivery)

    assert isinstance(outcome, Published) and "/photo/" in (outcome.url or "")
    body = fake.calls("POST", "/v2/post/publish/content/init/")[0].json()
    assert body["media_type"] == "PHOTO" and body["post_mode"] == "DIRECT_POST"
    assert body["source_info"]["photo_images"] == [m.url for m in photos]
    assert len(body["post_info"]["title"]) <= 90
    assert body["post_info"]["description"] == CAPTION


# --- tokens and secrets ---------------------------------------------------------------------


def test_an_expired_access_token_is_renewed_once_and_the_call_made_again(fake, clip):
    adapter = channel(fake)
    assert isinstance(adapter.publish(video_post(clip, publish_key="a")), Published)
    fake.expire_access_tokens()

    outcome = adapter.publish(video_post(clip, publish_key="b"))

    assert isinstance(outcome, Published)
    assert fake.refreshes == 2


def test_without_a_token_store_a_restart_loses_the_rotated_refresh_token(fake, clip):
    assert isinstance(channel(fake).publish(video_post(clip)), Published)

    outcome = channel(fake).publish(video_post(clip, publish_key="again"))

    # why the daemon hands every TikTok adapter a store (test_tiktok_tokens.py)
    assert isinstance(outcome, AuthFailed) and "log in again" in outcome.reason


def test_no_secret_or_token_reaches_an_outcome_or_the_dry_run(fake, clip):
    adapter = channel(fake)
    fake.fail_next(Fault(status=503, path="/video/", method="PUT",
                         body={"error": f"echo {' '.join(SECRETS.values())}"}))
    outcome = adapter.publish(video_post(clip))
    planned = channel(fake, chunk_mb=5).dry_run_requests(video_post(
        Media(path="/x.mp4", kind="video", bytes=12 * MB)))

    assert isinstance(outcome, InDoubt)
    assert_no_secret([outcome, planned], [*SECRETS.values(), *adapter.hidden])
    assert [c["method"] for c in planned] == ["POST", "POST", "PUT", "PUT", "POST"]


def test_a_stored_video_changed_after_queueing_is_refused_before_anything_is_sent(
        fake, tmp_path):
    data = os.urandom(64 * 1024)
    stored = tmp_path / "media" / hashlib.sha256(data).hexdigest() / "rakor.mp4"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(data[:-1] + b"x")  # edited by hand after siar add

    outcome = channel(fake).publish(video_post(Media(
        path=str(stored), kind="video", mime="video/mp4", bytes=len(data), duration=4.0)))

    assert isinstance(outcome, Rejected) and "changed after it was queued" in outcome.reason
    assert inits(fake) == 0 and fake.calls("PUT") == []
