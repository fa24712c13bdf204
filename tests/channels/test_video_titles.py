"""A video's own title (``videos: [{title: …}]``) names it where a network titles videos
(docs/channels/videos.md): YouTube's ``snippet.title``, a Facebook Page video's
``title``, a WordPress library item's title and a LinkedIn post's ``content.media.title``
— the release's title only when the video has none. Against the fakes."""

# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.base import AccountConfig, Channel, Published
from channels.linkedin import LinkedInChannel
from channels.variant import Media
from scheduler.compose import compose
from scheduler.settings import AccountSettings
from tests.channels.test_video_uploads_facebook import channel_for, server
from tests.channels.test_video_uploads_facebook import fake as facebook
from tests.channels.test_video_uploads_wordpress import make_channel as wordpress_channel
from tests.channels.test_youtube import SECRETS as YOUTUBE_SECRETS
from tests.channels.test_youtube import channel as youtube_channel
from tests.channels.video_media import clip, video_delivery
from tests.composer.conftest import make_release, make_settings
from tests.fakes.facebook import FacebookFake
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.wordpress import WordPressFake
from tests.fakes.youtube import FakeYouTube

RELEASE_TITLE = "Rakor Agen Informasi Pemasyarakatan"
VIDEO_TITLE = "Rakor Humas 2026: sambutan Kalapas"
WORDPRESS_PASSWORD = "abcd EFGH 1234 ijkl"
LINKEDIN_TOKEN = "AQVlinkedintoken123"
LINKEDIN_AUTHOR = "urn:li:organization:2414183"


@pytest.fixture(params=[VIDEO_TITLE, None], ids=["own title", "no title"])
def titled(request: pytest.FixtureRequest, clip: Media) -> Media:
    return dataclasses.replace(clip, title=request.param)


@pytest.fixture
def youtube() -> Iterator[FakeYouTube]:
    with FakeYouTube(**YOUTUBE_SECRETS) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def wordpress() -> Iterator[WordPressFake]:
    with WordPressFake(username="humas", app_password=WORDPRESS_PASSWORD) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def linkedin() -> Iterator[LinkedInFake]:
    with LinkedInFake(token=LINKEDIN_TOKEN, author=LINKEDIN_AUTHOR) as running:
        yield running  # type: ignore[misc]


def expected(video: Media) -> str:
    return video.title or RELEASE_TITLE


def test_the_youtube_card_shows_the_title_the_upload_will_have(titled: Media) -> None:
    account = AccountSettings(name="youtube-lapas", network="youtube")
    named = {"title": titled.title} if titled.title else {}
    release = make_release("Kalapas hadir dalam rakor.", base_dir=Path(titled.path).parent,
                           title=RELEASE_TITLE, videos=[{
                               "path": Path(titled.path).name, "caption": "Rakor", **named}])

    variant = compose(release, account, make_settings(accounts=[account]))

    assert variant.extra["title"] == expected(titled)


def test_youtube_names_the_video_by_its_own_title_else_the_releases(
        youtube: FakeYouTube, titled: Media) -> None:
    delivery = video_delivery(titled, "Kalapas hadir dalam rakor.", channel="youtube",
                              title=RELEASE_TITLE, publish_key=f"pk-title-{titled.title}")

    outcome = youtube_channel(youtube).publish(delivery)
    planned = youtube_channel(youtube).dry_run_requests(delivery)

    assert isinstance(outcome, Published), outcome
    [video] = youtube.videos
    assert video.resource["snippet"]["title"] == expected(titled)
    assert planned[1]["json"]["snippet"]["title"] == expected(titled)  # as the dry run said


def published(channel: Channel, video: Media) -> list[dict[str, Any]]:
    """Publish a post of ``video`` (titled by the release) through ``channel``: what the
    dry run of the same post plans."""
    delivery = video_delivery(video, "Kunjungan kerja Kakanwil", channel=channel.network,
                              title=RELEASE_TITLE)
    outcome = channel.publish(delivery)
    planned = channel.dry_run_requests(delivery)
    channel.close()
    assert isinstance(outcome, Published), outcome
    return planned


def test_a_facebook_page_video_is_titled_by_the_video_else_the_release(
        facebook: FacebookFake, titled: Media) -> None:
    planned = published(channel_for(facebook), titled)

    [video] = facebook.videos.values()
    assert video.title == expected(titled)
    assert [step["data"]["title"] for step in planned
            if "title" in (step.get("data") or {})] == [expected(titled)]


def test_a_wordpress_library_video_is_titled_by_the_video_else_the_release(
        wordpress: WordPressFake, titled: Media) -> None:
    planned = published(wordpress_channel(wordpress), titled)

    video, _poster = wordpress.media.values()
    assert video.title == expected(titled)
    assert planned[0]["params"] == {"title": expected(titled)}  # as the dry run said


def test_a_linkedin_video_post_is_titled_by_the_video_else_the_release(
        linkedin: LinkedInFake, titled: Media) -> None:
    account = AccountConfig(name="li-lapas", network="linkedin", base_url=linkedin.url,
                            options={"author": LINKEDIN_AUTHOR, "read_timeout": 2,
                                     "video_poll_interval": 0.01, "video_poll_timeout": 5})
    planned = published(LinkedInChannel(account, {"access_token": LINKEDIN_TOKEN}), titled)

    [post] = linkedin.posts
    assert post.content is not None and post.content["media"]["title"] == expected(titled)
    assert planned[-1]["json"]["content"]["media"]["title"] == expected(titled)
