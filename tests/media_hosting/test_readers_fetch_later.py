"""Posts whose readers fetch the media later, at a time of their own — a webhook's
receiver, the recipient of an e-mail linking to its video: the media store (``siar``,
served by the daemon's HTTP server) hosts the video and its cover, the post names their
URLs, a retry names the same ones, and Siar never deletes them (the store's expiry does).
"""

# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from channels.base import AccountConfig, NotSent, Published
from channels.email import EmailChannel
from channels.image_host import HostingError, ImageHost
from channels.variant import Media
from channels.webhook import WebhookChannel
from scheduler.media_hosting import StoreHost
from scheduler.media_hosting.siar import SiarStore
from tests.channels.video_media import clip, video_delivery
from tests.fakes.smtp import FakeSMTP
from tests.fakes.webhook import FakeWebhookReceiver

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

SENDER = "humas@lapas.example.go.id"


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[FakeSMTP]:
    (tmp_path / "smtp").mkdir()
    with FakeSMTP(tmp_path / "smtp", username=None, password=None) as server:
        yield server


def webhook(receiver: FakeWebhookReceiver, store: SiarStore) -> WebhookChannel:
    channel = WebhookChannel(AccountConfig(name="portal", network="webhook",
                                           base_url=receiver.hook_url,
                                           options={"read_timeout": 2.0}), {})
    channel.image_host = StoreHost(store)
    return channel


def email(smtp: FakeSMTP, store: ImageHost | None) -> EmailChannel:
    channel = EmailChannel(AccountConfig(name="surel", network="email", options={
        "host": "127.0.0.1", "port": smtp.port, "security": smtp.security,
        "ca_file": str(smtp.cert_path), "from": SENDER, "to": ["redaksi@koran.example.id"],
        "read_timeout": 2.0}), {})
    channel.image_host = store
    return channel


def fetched(url: str) -> bytes:
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200, url
    return answer.content


def test_the_webhook_names_the_hosted_video_and_its_cover(
        receiver: FakeWebhookReceiver, siar_store: SiarStore, clip: Media) -> None:
    outcome = webhook(receiver, siar_store).publish(video_delivery(clip, channel="webhook"))

    assert isinstance(outcome, Published), outcome
    [body] = receiver.created.values()
    [video] = body["media"]
    assert (video["kind"], video["mime"], video["duration"]) == ("video", "video/mp4", 3.0)
    assert fetched(video["url"]) == Path(clip.path).read_bytes()
    assert video["cover"]["mime"] == "image/jpeg"
    assert fetched(video["cover"]["url"]) == Path(clip.cover or "").read_bytes()


def test_a_retry_names_the_same_urls_and_they_stay_served_after_publishing(
        receiver: FakeWebhookReceiver, siar_store: SiarStore, clip: Media) -> None:
    channel = webhook(receiver, siar_store)
    first = video_delivery(clip, channel="webhook")
    channel.publish(first)
    again = video_delivery(clip, channel="webhook", attempt=2, state=first.state)

    channel.publish(again)

    bodies = [call.json() for call in receiver.calls("POST")]
    assert len(bodies) == 2 and bodies[1]["media"] == bodies[0]["media"]
    assert fetched(bodies[0]["media"][0]["url"])  # not let go: the receiver fetches later


def test_the_email_links_its_cover_to_the_hosted_video(
        smtp: FakeSMTP, siar_store: SiarStore, clip: Media) -> None:
    outcome = email(smtp, StoreHost(siar_store)).publish(video_delivery(clip, channel="email"))

    assert isinstance(outcome, Published), outcome
    [mail] = smtp.messages
    message: EmailMessage = mail.message
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [url] = [word for word in text.split() if word.startswith("http://127.0.0.1:")]
    assert fetched(url) == Path(clip.path).read_bytes()
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'<a href="{url}"><img src="cid:' in html
    assert not [p for p in message.walk() if p.get_content_type().startswith("video/")]


def test_the_dry_run_says_the_email_will_link_to_the_hosted_video(
        smtp: FakeSMTP, siar_store: SiarStore, clip: Media) -> None:
    [planned] = email(smtp, StoreHost(siar_store)).dry_run_requests(
        video_delivery(clip, channel="email"))

    assert planned["video"]["url"] == "{hosted-url}" and not planned["video"]["attach"]
    assert "Tonton video (0:03): {hosted-url}" in planned["data"]
    assert not list(siar_store.directory.glob("*/*"))  # nothing hosted by a dry run


class _RefusingStore(ImageHost):
    """A store that cannot be reached (its own behaviour is tested with the stores)."""

    def url_for(self, media: Media) -> str:
        raise HostingError("siar: cannot write /srv/siar/public-media")

    def let_go(self, url: str) -> None:
        raise AssertionError("nothing was hosted")


def test_an_email_whose_video_the_store_cannot_host_is_not_sent(
        smtp: FakeSMTP, clip: Media) -> None:
    outcome = email(smtp, _RefusingStore()).publish(video_delivery(clip, channel="email"))

    assert isinstance(outcome, NotSent) and "cannot write" in outcome.reason
    assert smtp.messages == []
