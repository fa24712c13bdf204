"""Instagram adapter against a strict fake of the container publishing flow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from channels.base import AccountConfig, AuthFailed, InDoubt, NotSent, Published, Rejected
from channels.instagram import InstagramChannel
from channels.variant import Media
from channels.wordpress import WordPressChannel
from tests.channels.helpers import assert_no_secret, make_delivery, make_variant
from tests.fakes.instagram import InstagramFake
from tests.fakes.meta import expired_token_fault, rate_limit_fault, server_error_fault
from tests.fakes.photos import photo_url
from tests.fakes.server import Fault
from tests.fakes.wordpress import WordPressFake

TOKEN = "IGQWRtoken123"
SECRETS = {"access_token": TOKEN}
USER = "17841405822304914"
CAPTION = "Rakor Agen Informasi Pemasyarakatan #HumasBergerakBersama"
PHOTO_URL = photo_url("wp-content/uploads/2026/11/kegiatan.jpg")
PHOTO = Media(path="/data/rilis/kegiatan.jpg", alt="Kalapas membuka rakor", url=PHOTO_URL)


@pytest.fixture(scope="module")
def server() -> Iterator[InstagramFake]:
    with InstagramFake(token=TOKEN, user_id=USER) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: InstagramFake) -> InstagramFake:
    server.reset()
    return server


def channel_for(url: str, **options: object) -> InstagramChannel:
    account = AccountConfig(name="ig-lapas", network="instagram", base_url=url,
                            options={"user_id": USER, "read_timeout": 0.5,
                                     "poll_interval": 0.01, "poll_timeout": 2, **options})
    return InstagramChannel(account, SECRETS)


@pytest.fixture
def channel(fake: InstagramFake) -> Iterator[InstagramChannel]:
    adapter = channel_for(fake.url)
    yield adapter
    adapter.close()


def post(*media: Media, text: str = CAPTION, **kw: object):
    return make_delivery(text, channel="instagram", media=list(media or [PHOTO]), **kw)


# --- publishing ------------------------------------------------------------------------


def test_an_image_post_creates_a_container_waits_for_it_and_publishes_it(fake, channel):
    delivery = post()

    outcome = channel.publish(delivery)

    create, publish = fake.calls("POST")
    assert create.path == f"/v26.0/{USER}/media"
    assert create.form() == {"image_url": [PHOTO_URL], "alt_text": [PHOTO.alt],
                             "caption": [CAPTION]}
    assert create.header("Authorization") == f"Bearer {TOKEN}"
    container_id = next(iter(fake.containers))
    assert publish.path == f"/v26.0/{USER}/media_publish"
    assert publish.form() == {"creation_id": [container_id]}
    status_reads = fake.calls("GET", f"/v26.0/{container_id}")
    assert len(status_reads) == 2  # IN_PROGRESS, then FINISHED
    [media] = fake.published
    assert outcome == Published(media.id, media.permalink)
    assert media.params["alt_text"] == PHOTO.alt


def test_the_container_id_is_checkpointed_before_media_publish(fake, channel):
    publishes_seen_at_checkpoint: list[int] = []
    delivery = post()
    delivery.on_checkpoint = lambda state: publishes_seen_at_checkpoint.append(
        len(fake.calls("POST", r".*/media_publish")))

    channel.publish(delivery)

    assert publishes_seen_at_checkpoint == [0]
    assert delivery.state["container_0"] == next(iter(fake.containers))


def test_without_a_media_url_the_public_media_base_url_is_used(fake):
    adapter = channel_for(fake.url, public_media_base_url="https://media.example.id/ig/")
    adapter.publish(post(Media(path="/srv/rilis/foto kegiatan.jpg", alt="a")))

    create = fake.calls("POST")[0]
    assert create.form()["image_url"] == ["https://media.example.id/ig/foto%20kegiatan.jpg"]


def test_an_image_without_any_public_url_is_refused_before_anything_is_sent(fake, channel):
    variant = make_variant(CAPTION, channel="instagram",
                           media=[Media(path="/srv/rilis/kegiatan.jpg")])

    assert "public URL" in channel.preflight(variant)
    outcome = channel.publish(make_delivery(variant))
    assert isinstance(outcome, Rejected) and "kegiatan.jpg" in outcome.reason
    assert fake.calls() == []


def test_a_text_only_post_is_refused_because_instagram_needs_media(fake, channel):
    outcome = channel.publish(make_delivery(CAPTION, channel="instagram"))
    assert isinstance(outcome, Rejected) and fake.calls() == []


def test_several_images_become_one_carousel_with_alt_text_on_each_item(fake, channel):
    second = Media(path="/x/b.jpg", alt="Peserta rakor", url=PHOTO_URL.replace("kegiatan", "b"))
    delivery = post(PHOTO, second)

    outcome = channel.publish(delivery)

    *children, parent, _ = fake.calls("POST")
    assert [c.form()["alt_text"] for c in children] == [[PHOTO.alt], ["Peserta rakor"]]
    assert all(c.form()["is_carousel_item"] == ["true"] for c in children)
    child_ids = delivery.state["children"]
    assert parent.form() == {"media_type": ["CAROUSEL"], "children": [",".join(child_ids)],
                             "caption": [CAPTION]}
    [media] = fake.published
    assert media.children == child_ids and isinstance(outcome, Published)


def test_a_used_up_publishing_quota_means_not_sent_without_creating_anything(fake, channel):
    fake.quota_total = 0
    outcome = channel.publish(post())
    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert outcome.retry_after == 3600 and fake.containers == {}


def test_a_post_published_by_an_earlier_attempt_is_not_sent_again(fake, channel):
    first = post()
    channel.publish(first)
    assert channel.publish(post(progress=first.progress)) == Published(
        first.progress[0].remote_id, first.progress[0].url)
    assert len(fake.published) == 1


# --- error mapping ---------------------------------------------------------------------


def test_throttling_means_not_sent_with_the_business_use_case_wait(fake, channel):
    fake.fail_next(rate_limit_fault(code=4, minutes=12, path=r".*/media"))
    outcome = channel.publish(post())
    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert outcome.retry_after == 12 * 60


def test_an_expired_token_means_auth_failed(fake, channel):
    fake.fail_next(expired_token_fault())
    assert isinstance(channel.publish(post()), AuthFailed)


def test_a_server_error_while_creating_the_container_is_not_sent_because_containers_are_invisible(
        fake, channel):
    fake.fail_next(server_error_fault(path=r".*/media"))
    outcome = channel.publish(post())
    assert isinstance(outcome, NotSent) and fake.published == []


def test_a_server_error_on_media_publish_is_in_doubt(fake, channel):
    fake.fail_next(server_error_fault(path=r".*/media_publish"))
    assert isinstance(channel.publish(post()), InDoubt)


def test_an_image_meta_cannot_process_is_rejected(fake, channel):
    fake.failing_urls.add(PHOTO_URL)
    outcome = channel.publish(post())
    assert isinstance(outcome, Rejected) and "2207052" in outcome.reason


def test_a_container_still_processing_is_kept_and_published_by_the_next_attempt(fake):
    fake.processing_polls = 1000
    adapter = channel_for(fake.url, poll_timeout=0.05)
    first = post()
    outcome = adapter.publish(first)
    assert isinstance(outcome, NotSent) and outcome.retry_after == 60

    fake.containers[first.state["container_0"]].polls_left = 0
    retry = post(state=first.state)
    assert isinstance(adapter.publish(retry), Published)
    assert len(fake.containers) == 1 and len(fake.published) == 1


# --- probe -----------------------------------------------------------------------------


def test_probe_says_not_sent_when_the_container_was_never_published_and_retry_reuses_it(
        fake, channel):
    delivery = post()
    fake.fail_next(Fault(drop=True, path=r".*/media_publish"))
    assert isinstance(channel.publish(delivery), InDoubt)

    assert isinstance(channel.probe(delivery), NotSent)
    assert isinstance(channel.publish(post(state=delivery.state)), Published)
    assert len(fake.containers) == 1 and len(fake.published) == 1


def test_probe_without_a_container_says_not_sent(fake, channel):
    assert isinstance(channel.probe(post()), NotSent)


# --- check and secrets -----------------------------------------------------------------


def test_check_reports_the_account_the_token_expiry_and_the_quota_left(fake, channel):
    result = channel.check()
    assert result.ok and result.identity == "lapaspangkalpinang"
    assert result.expires_at == datetime.fromtimestamp(fake.token_expires_at, UTC)
    assert "50 posts left" in result.detail


def test_check_with_a_bad_token_fails(fake):
    adapter = InstagramChannel(AccountConfig(name="ig", network="instagram", base_url=fake.url,
                                             options={"user_id": USER}), {"access_token": "no"})
    assert not adapter.check().ok


def test_no_secret_appears_in_outcomes_or_dry_run(fake, channel):
    fake.fail_next(status=400, body={"error": {"message": f"token {TOKEN} bad", "code": 100}})
    outcome = channel.publish(post())
    dry = InstagramChannel(AccountConfig(name="ig", network="instagram",
                                         options={"user_id": USER}), {})
    requests_ = dry.dry_run_requests(post(PHOTO, PHOTO))
    assert_no_secret([outcome, requests_, channel.check()], SECRETS)
    assert [r["url"].rsplit("/", 1)[1] for r in requests_] == [
        "media", "media", "media", "media_publish"]


# --- images from the WordPress media library -------------------------------------------


@pytest.fixture
def wordpress() -> Iterator[WordPressChannel]:
    with WordPressFake(username="humas", app_password="abcd efgh") as site:
        account = AccountConfig(name="web", network="wordpress", base_url=site.url)
        adapter = WordPressChannel(account, {"username": "humas", "app_password": "abcd efgh"})
        yield adapter
        adapter.close()


def test_an_image_uploaded_to_wordpress_for_instagram_is_fetched_and_published(
        fake, channel, wordpress, tall_portrait):
    url = wordpress.upload_media(str(tall_portrait), "Spanduk rakor", prepare_for="instagram")

    outcome = channel.publish(post(Media(path=str(tall_portrait), alt="Spanduk rakor",
                                         url=url)))

    assert isinstance(outcome, Published)
    assert fake.published[0].params["image_url"] == url


def test_an_image_instagram_cannot_take_is_refused_when_meta_fetches_it(
        fake, channel, wordpress, tall_portrait):
    url = wordpress.upload_media(str(tall_portrait), "Spanduk", prepare_for="wordpress")

    outcome = channel.publish(post(Media(path=str(tall_portrait), alt="Spanduk", url=url)))

    assert isinstance(outcome, Rejected) and "aspect ratio" in outcome.reason


def test_carousel_items_that_expired_since_an_earlier_attempt_are_made_again(fake, channel):
    second = Media(path="/x/b.jpg", alt="b", url=PHOTO_URL.replace("kegiatan", "b"))
    old = [channel.create_container({"image_url": m.url, "alt_text": m.alt,
                                     "is_carousel_item": "true"}) for m in (PHOTO, second)]
    for container_id in old:
        fake.containers[container_id].status = "EXPIRED"
    delivery = post(PHOTO, second, state={"children": old})

    outcome = channel.publish(delivery)
    assert isinstance(outcome, NotSent) and delivery.state["children"] == []

    assert isinstance(channel.publish(post(PHOTO, second, state=delivery.state)), Published)
    assert not set(fake.published[0].children) & set(old)
