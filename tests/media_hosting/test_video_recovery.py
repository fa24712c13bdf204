"""Instagram Reels and Threads videos when something breaks between the steps: Meta
fetches the video by URL (there are no chunks to send again), so what can fail once is
the container's creation, and what a crash can cut is the gap between a processed
container and ``media_publish``/``threads_publish``. Neither ever publishes twice: a
failed creation made nothing Meta will publish, and a checkpointed container is the one
the next attempt publishes (issue 16, acceptance bullet 2)."""

from __future__ import annotations

from typing import Any

import pytest

from channels.base import NotSent, Published
from scheduler.media_hosting import StoreHost
from tests.channels.helpers import attempt
from tests.fakes.meta import server_error_fault
from tests.media_hosting.test_video_through_stores import (
    NETWORK_OPTIONS,  # noqa: F401 - read by the conftest's network fixture
    post,
    video,  # noqa: F401 - a fixture
)


class Crash(Exception):
    """The daemon dies here."""


def video_fetches(fake: Any, url: str) -> int:
    return sum(1 for fetched in fake.fetched if fetched == url)


def test_a_container_creation_that_fails_once_is_made_again_and_published_once(
        network, siar_store, video):  # noqa: F811
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    fake.fail_next(server_error_fault(path=rf".*/{channel.container_edge}$"))
    delivery = post(channel, video)

    first = attempt(channel, delivery)

    assert isinstance(first.outcome, NotSent), first.outcome  # nothing Meta will publish
    assert fake.published == []
    second = channel.publish(delivery)

    assert isinstance(second, Published), second
    assert len(fake.published) == 1
    [container] = [c for c in fake.containers.values()
                   if c.id == fake.published[0].container_id]
    assert container.params["media_type"] in ("REELS", "VIDEO")


def test_a_crash_between_the_container_and_publishing_publishes_that_container_once(
        network, siar_store, video):  # noqa: F811
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    delivery = post(channel, video)

    def die(state: dict[str, Any]) -> None:
        if state.get("container_0"):
            raise Crash  # the container is on record; the daemon dies before publishing

    delivery.on_checkpoint = die
    with pytest.raises(Crash):
        channel.publish(delivery)
    assert fake.published == [] and len(fake.containers) == 1
    [container] = fake.containers.values()
    delivery.on_checkpoint = None  # the next daemon

    assert isinstance(channel.probe(delivery), NotSent)  # that container is not published
    outcome = channel.publish(delivery)

    assert isinstance(outcome, Published), outcome
    assert len(fake.containers) == 1  # no second container, no second fetch of the video
    assert [m.container_id for m in fake.published] == [container.id]
    assert video_fetches(fake, container.params["video_url"]) == 1
