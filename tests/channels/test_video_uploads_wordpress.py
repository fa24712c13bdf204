"""WordPress: a video goes into the media library (streamed), its cover too (the poster
and featured image), and a video block opens the post; each library item is checkpointed
so a retry never uploads it twice — against the fake WordPress REST API."""
# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from channels.base import AccountConfig, InDoubt, NotSent, Published, Rejected
from channels.variant import Media
from channels.wordpress import WordPressChannel
from tests.channels.test_wordpress import PASSWORD, fake, server
from tests.channels.video_media import clip, video_delivery
from tests.fakes.server import Fault
from tests.fakes.wordpress import WordPressFake

MEDIA = "/wp-json/wp/v2/media"


def make_channel(fake: WordPressFake | None = None, **options: Any) -> WordPressChannel:
    account = AccountConfig(name="lapas_wp", network="wordpress",
                            base_url=fake.url if fake else None,
                            options={"read_timeout": 2.0, "upload_retry_pause": 0, **options})
    return WordPressChannel(account, {"username": "humas", "app_password": PASSWORD})


def deliver(video: Media, **fields: Any) -> Any:
    return video_delivery(video, "Rakor Agen Informasi", channel="wordpress",
                          title="Rakor Agen Informasi", slug="rakor-agen-informasi", **fields)


def test_the_video_opens_the_post_with_its_cover_as_poster(fake: WordPressFake,
                                                           clip: Media) -> None:
    outcome = make_channel(fake).publish(deliver(clip))

    video, poster = fake.media.values()
    assert video.mime == "video/mp4" and video.data == Path(clip.path).read_bytes()
    assert poster.mime == "image/jpeg"
    [post] = fake.posts
    assert post.featured_media == poster.id
    assert post.content.startswith(f'<!-- wp:video {{"id": {video.id}}} -->')
    assert f'poster="{fake.url}/wp-content/uploads/2026/11/{poster.filename}"' in post.content
    assert f'src="{fake.url}/wp-content/uploads/2026/11/{video.filename}"' in post.content
    assert isinstance(outcome, Published) and outcome.remote_id == str(post.id)


def test_an_upload_that_fails_once_is_sent_again(fake: WordPressFake,
                                                 clip: Media) -> None:
    fake.fail_next(Fault(status=503, path=MEDIA, body={"code": "busy", "message": "busy"}))

    outcome = make_channel(fake).publish(deliver(clip))

    assert isinstance(outcome, Published)
    assert len(fake.calls("POST", MEDIA)) == 3 and len(fake.media) == 2


def test_a_retry_never_uploads_the_video_again(fake: WordPressFake,
                                               clip: Media) -> None:
    delivery = deliver(clip)
    channel = make_channel(fake)
    fake.fail_next(Fault(status=429, path="/wp-json/wp/v2/posts", method="POST",
                         headers={"Retry-After": "30"}))
    first = channel.publish(delivery)
    assert isinstance(first, NotSent) and first.rate_limited and fake.posts == []
    assert [m["kind"] for m in delivery.state["media"]] == ["video", "poster"]

    again = channel.publish(delivery)

    assert isinstance(again, Published)
    assert len(fake.calls("POST", MEDIA)) == 2 and len(fake.media) == 2


def test_a_crash_between_upload_and_post_neither_posts_nor_uploads_twice(
        fake: WordPressFake, clip: Media) -> None:
    channel = make_channel(fake, read_timeout=0.5)
    delivery = deliver(clip)
    fake.fail_next(Fault(drop=True, apply=True, path="/wp-json/wp/v2/posts", method="POST"))
    assert isinstance(channel.publish(delivery), InDoubt)

    settled = channel.probe(delivery)
    again = channel.publish(delivery)

    [post] = fake.posts
    assert isinstance(settled, Published) and settled.remote_id == str(post.id)
    assert again == settled and len(fake.media) == 2


def test_a_site_that_refuses_the_size_names_the_limits_to_raise(
        fake: WordPressFake, clip: Media) -> None:
    fake.max_body = 1000

    outcome = make_channel(fake).publish(deliver(clip))

    assert isinstance(outcome, Rejected) and "client_max_body_size" in outcome.reason
    assert fake.posts == []


def test_a_video_without_cover_has_no_poster(fake: WordPressFake,
                                             clip: Media) -> None:
    outcome = make_channel(fake).publish(deliver(dataclasses.replace(clip, cover=None)))

    [video] = fake.media.values()
    [post] = fake.posts
    assert isinstance(outcome, Published) and post.featured_media == 0
    assert "poster=" not in post.content and str(video.id) in post.content


def test_the_dry_run_shows_both_uploads_and_the_block(clip: Media) -> None:
    planned = make_channel().dry_run_requests(deliver(clip))

    assert [(p["method"], p["url"].rsplit("/", 1)[1]) for p in planned] == [
        ("POST", "media"), ("POST", "media"), ("POST", "posts")]
    assert planned[-1]["json"]["content"].startswith('<!-- wp:video {"id": "{video-id}"}')
    assert planned[-1]["json"]["featured_media"] == "{poster-id}"


def test_nothing_left_unsent_is_in_doubt(fake: WordPressFake, clip: Media) -> None:
    fake.fail_next(Fault(drop=True, path=MEDIA), times=3)

    outcome = make_channel(fake).publish(deliver(clip))

    assert isinstance(outcome, NotSent) and fake.posts == []
