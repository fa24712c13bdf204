"""Instagram and Threads publish through every media store: the adapter puts the image
in the store, Meta (its fake) fetches it over HTTP from the store's URL, and the file is
deleted once fetched — or kept, or left for the next attempt while Meta may still fetch."""

from __future__ import annotations

from pathlib import Path

from channels.base import NotSent, Published
from channels.meta import ContainerChannel
from channels.variant import Media
from scheduler.media_hosting import StoreHost
from tests.channels.helpers import make_delivery
from tests.fakes.photos import photo_url
from tests.media_hosting.conftest import served

CAPTION = "Rakor Agen Informasi Pemasyarakatan #HumasBergerakBersama"
#: the adapters' options (the conftest's ``network`` fixture)
NETWORK_OPTIONS = {"poll_interval": 0.01, "poll_timeout": 2}


def post(channel: ContainerChannel, *media: Media, state: dict | None = None):
    return make_delivery(CAPTION, channel=channel.network, media=list(media), state=state)


def test_the_network_fetches_the_image_from_the_store_and_it_is_deleted_after(
        network, store, photo):
    fake, channel = network
    channel.image_host = StoreHost(store)
    delivery = post(channel, photo)

    outcome = channel.publish(delivery)

    assert isinstance(outcome, Published), outcome
    [url] = fake.fetched
    assert fake.published[0].params["image_url"] == url
    assert not served(url)
    assert delivery.state["hosted"] == [] and delivery.state["hosted_at"] == {}


def test_a_carousel_is_fetched_image_by_image_from_the_store(network, store, photo,
                                                             tmp_path):
    fake, channel = network
    channel.image_host = StoreHost(store)
    second = Media(path=str(tmp_path / "b.jpg"), alt="Peserta rakor", mime="image/jpeg")
    Path(second.path).write_bytes(Path(photo.path).read_bytes())

    outcome = channel.publish(post(channel, photo, second))

    assert isinstance(outcome, Published), outcome
    assert len(set(fake.fetched)) == 2
    assert not any(served(url) for url in fake.fetched)


def test_with_keep_the_hosted_image_stays_where_the_network_fetched_it(
        network, store, photo):
    fake, channel = network
    channel.image_host = StoreHost(store, keep=True)
    delivery = post(channel, photo)

    assert isinstance(channel.publish(delivery), Published)

    [url] = fake.fetched
    assert served(url)
    # what `siar preview ID` shows as the photo's url
    assert delivery.state["hosted_at"] == {photo.path: url}
    store.delete(url)


def test_while_meta_may_still_fetch_the_image_it_stays_until_the_next_attempt(
        network, siar_store, photo):
    fake, channel = network
    channel.image_host = StoreHost(siar_store)
    fake.processing_polls = 10_000  # the container stays IN_PROGRESS past poll_timeout
    channel.account.options["poll_timeout"] = 0.05
    delivery = post(channel, photo)

    first = channel.publish(delivery)

    assert isinstance(first, NotSent) and "still processing" in first.reason
    [url] = delivery.state["hosted"]
    assert served(url)
    fake.processing_polls = 0
    for container in fake.containers.values():
        container.polls_left = 0
    assert isinstance(channel.publish(delivery), Published)
    assert delivery.state["hosted"] == [] and not served(url)


def test_a_store_that_cannot_take_the_image_leaves_the_post_unsent(network, wordpress,
                                                                   wordpress_store, photo):
    fake, channel = network
    channel.image_host = StoreHost(wordpress_store)
    wordpress.fail_next(status=507, body="Insufficient Storage", path=r".*/media", times=3)

    outcome = channel.publish(post(channel, photo))

    assert isinstance(outcome, NotSent) and "wordpress:wp-lapas" in outcome.reason
    assert fake.containers == {} and fake.published == []


def test_an_image_with_its_own_url_is_not_put_in_the_store(network, store, photo):
    fake, channel = network
    channel.image_host = StoreHost(store)
    own = Media(path=photo.path, alt=photo.alt, url=photo_url("berita/rakor.jpg"))

    assert isinstance(channel.publish(post(channel, own)), Published)
    assert fake.fetched == [own.url]
