"""Instagram Reels and Threads videos through the media stores: the store hosts the
prepared MP4 (and a Reel's cover) while Meta (its fake) fetches it and processes the
container over several status reads; the container is checkpointed before it is
published; the hosted files go once nothing will fetch them any more, unless kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from channels.base import InDoubt, NotSent, Published, Rejected
from channels.meta import ContainerChannel
from channels.variant import Media
from scheduler.media_hosting import StoreHost
from tests.channels.helpers import attempt, make_delivery, make_variant
from tests.channels.videos import prepared_video
from tests.fakes.server import Fault
from tests.media_hosting.conftest import served

CAPTION = "Kunjungan kerja Kakanwil ke Lapas Pangkalpinang #HumasBergerakBersama"
#: the adapters' options (the conftest's ``network`` fixture)
NETWORK_OPTIONS = {"video_poll_interval": 0.01, "video_poll_timeout": 5}
VIDEO_STORES = ["s3", "siar"]  # the WordPress store's library takes images only


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return prepared_video(tmp_path_factory.mktemp("reel"))


@pytest.fixture(params=VIDEO_STORES)
def video_store(request: pytest.FixtureRequest):
    return request.getfixturevalue(f"{request.param}_store")


def post(channel: ContainerChannel, video: Media):
    return make_delivery(CAPTION, channel=channel.network, media=[video])


def video_params(channel: ContainerChannel) -> set[str]:
    if channel.network == "instagram":
        return {"media_type", "video_url", "cover_url", "caption", "share_to_feed"}
    return {"media_type", "video_url", "text", "alt_text"}


def test_the_video_is_fetched_from_the_store_processed_published_and_deleted(
        network, video_store, video):
    fake, channel = network
    channel.image_host = StoreHost(video_store)
    delivery = post(channel, video)

    outcome = channel.publish(delivery)

    assert isinstance(outcome, Published), outcome
    [container] = fake.containers.values()
    assert set(container.params) - {"access_token"} == video_params(channel)
    assert container.params["media_type"] == (
        "REELS" if channel.network == "instagram" else "VIDEO")
    video_url = container.params["video_url"]
    assert fake.fetched[0] == video_url
    assert requests.get(fake.fetched[0], timeout=5).status_code == 404  # deleted
    if channel.network == "instagram":  # the cover went the same way
        assert fake.fetched[1] == container.params["cover_url"]
    status_reads = fake.calls("GET", rf"/v\d+\.0/{container.id}")
    assert len(status_reads) >= fake.video_polls + 1  # IN_PROGRESS ×3, then FINISHED
    assert [m.container_id for m in fake.published] == [container.id]
    assert not any(served(url) for url in fake.fetched)
    assert delivery.state["hosted"] == [] and delivery.state["hosted_at"] == {}


def test_with_keep_the_hosted_video_stays_where_meta_fetched_it(network, siar_store, video):
    fake, channel = network
    channel.image_host = StoreHost(siar_store, keep=True)
    delivery = post(channel, video)

    assert isinstance(channel.publish(delivery), Published)

    assert all(served(url) for url in fake.fetched)
    assert delivery.state["hosted_at"][video.sha256] == fake.fetched[0]


def test_processing_that_fails_is_rejected_with_metas_reason_and_nothing_is_published(
        network, siar_store, video):
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    fake.videos_fail = True

    outcome = channel.publish(post(channel, video))

    assert isinstance(outcome, Rejected)
    assert "could not be processed" in outcome.reason
    assert fake.published == []
    assert not any(served(url) for url in fake.fetched)


def test_processing_past_the_polling_time_is_in_doubt_and_the_same_container_goes_out_later(
        network, siar_store, video):
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    fake.video_polls = 10_000
    channel.account.options["video_poll_timeout"] = 0.05
    delivery = post(channel, video)

    first = attempt(channel, delivery)

    assert isinstance(first.outcome, InDoubt) and first.creates == 0
    [url] = [u for u in delivery.state["hosted"] if u == fake.fetched[0]]
    assert served(url)  # Meta may still be fetching it
    assert isinstance(channel.probe(delivery), NotSent)  # the container is not published
    [container] = fake.containers.values()
    container.polls_left = 0
    channel.account.options["video_poll_timeout"] = 5

    assert isinstance(channel.publish(delivery), Published)
    assert len(fake.containers) == 1 and len(fake.published) == 1
    assert not served(url) and delivery.state["hosted"] == []


def test_an_unanswered_publish_is_settled_by_the_probe_and_never_published_twice(
        network, siar_store, video):
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    fake.fail_next(Fault(drop=True, apply=True, path=rf".*/{channel.publish_edge}"))
    delivery = post(channel, video)
    seen: list[int] = []
    delivery.on_checkpoint = lambda state: seen.append(len(fake.calls(
        "POST", rf".*/{channel.publish_edge}")))

    first = attempt(channel, delivery)

    assert isinstance(first.outcome, InDoubt) and first.creates == 1
    assert 0 in seen and delivery.state["container_0"]  # checkpointed before publishing
    # the container was FINISHED: Meta has the video, the store lets it go
    assert not any(served(url) for url in fake.fetched)
    assert isinstance(channel.probe(delivery), Published)
    assert len(fake.published) == 1 and len(fake.containers) == 1


class Crash(Exception):
    """The daemon dies here."""


def test_after_a_crash_right_after_publishing_the_probe_lets_the_hosted_video_go(
        network, siar_store, video):
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    delivery = post(channel, video)

    def die(part: object) -> None:
        raise Crash

    delivery.on_part = die  # the post exists; the daemon dies before anything else
    with pytest.raises(Crash):
        channel.publish(delivery)
    hosted = list(delivery.state["hosted"])
    assert hosted and all(served(url) for url in hosted)
    delivery.on_part = None  # the probe runs in the next daemon

    assert isinstance(channel.probe(delivery), Published)
    assert not any(served(url) for url in hosted)
    assert delivery.state["hosted"] == [] and len(fake.published) == 1


def test_a_video_nobody_will_host_is_refused_at_queue_time(network, video):
    _, channel = network
    variant = make_variant(CAPTION, channel=channel.network, media=[video])

    problem = channel.preflight(variant)

    assert problem is not None and Path(video.path).name in problem
    assert "[media] store" in problem


def test_a_dry_run_shows_the_container_the_polling_and_the_publish(network, video):
    fake, channel = network

    steps = channel.dry_run_requests(post(channel, video))

    assert [s["method"] for s in steps] == ["POST", "GET", "POST"]
    assert steps[0]["data"]["video_url"] == "{hosted-url}"
    assert steps[1]["until"] == "FINISHED"
    assert steps[2]["url"].endswith(channel.publish_edge)
    assert fake.calls() == []
