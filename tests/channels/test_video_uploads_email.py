"""E-mail: a release's video is linked, never attached by default — the cover (inline)
links to where it can be watched; only an account that allows small attachments gets a
video that small attached — sent through a real local SMTP server."""
# ruff: noqa: F401, F811  (pytest fixtures are imported by name and taken as arguments)

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from channels.base import AccountConfig, Published
from channels.email import EmailChannel
from channels.email_video import duration_text
from channels.variant import Media
from tests.channels.video_media import as_prepared, clip, video_delivery
from tests.fakes.smtp import FakeSMTP

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

USERNAME = "humas@lapas.example.go.id"
PASSWORD = "sandi-rahasia-42"
WATCH = "https://media.lapas.example.go.id/3f9c/rakor.mp4"


@pytest.fixture(scope="module")
def running_smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSMTP]:
    with FakeSMTP(tmp_path_factory.mktemp("smtp"), username=USERNAME,
                  password=PASSWORD) as server:
        yield server


@pytest.fixture
def smtp(running_smtp: FakeSMTP) -> FakeSMTP:
    running_smtp.reset()
    return running_smtp


def channel_for(server: FakeSMTP, **options: Any) -> EmailChannel:
    account = AccountConfig(name="surel-humas", network="email", options={
        "host": "127.0.0.1", "port": server.port, "security": server.security,
        "ca_file": str(server.cert_path), "from": USERNAME, "to": ["redaksi@koran.example.id"],
        "connect_timeout": 1.0, "read_timeout": 2.0, **options})
    return EmailChannel(account, {"username": USERNAME, "password": PASSWORD})


def sent(server: FakeSMTP) -> EmailMessage:
    [mail] = server.messages
    return mail.message


def attachments(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()
            if part.get_content_disposition() == "attachment"]


def test_the_cover_links_to_the_video_which_is_not_attached(smtp: FakeSMTP,
                                                            clip: Media) -> None:
    video = dataclasses.replace(clip, url=WATCH)

    outcome = channel_for(smtp).publish(video_delivery(video, channel="email"))

    message = sent(smtp)
    assert isinstance(outcome, Published)
    assert attachments(message) == []
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'<a href="{WATCH}"><img src="cid:' in html and "Tonton video (0:03)" in html
    assert f"Tonton video (0:03): {WATCH}" in message.get_body(  # type: ignore[union-attr]
        ("plain",)).get_content()
    [cover] = [p for p in message.walk() if p.get_content_type() == "image/jpeg"]
    assert cover.get_content_disposition() == "inline"


def test_without_its_own_url_the_release_link_is_where_to_watch(smtp: FakeSMTP,
                                                                clip: Media) -> None:
    link = "https://lapas.example.go.id/berita/rakor"

    channel_for(smtp).publish(video_delivery(clip, channel="email", link=link))

    assert f"Tonton video (0:03): {link}" in sent(smtp).get_body(  # type: ignore[union-attr]
        ("plain",)).get_content()


def test_a_small_video_is_attached_only_where_the_account_allows_it(
        smtp: FakeSMTP, clip: Media) -> None:
    channel_for(smtp, video_attach_max_mb=1).publish(video_delivery(clip, channel="email"))

    message = sent(smtp)
    assert attachments(message) == ["video/mp4"]
    [video] = [p for p in message.walk() if p.get_content_type() == "video/mp4"]
    assert video.get_content() == Path(clip.path).read_bytes()


def test_a_video_over_the_allowance_is_never_attached(smtp: FakeSMTP, clip: Media,
                                                      tmp_path: Path) -> None:
    # a real file just over the 10 MB cap (the clip, padded): the adapter checks the
    # prepared file's size and SHA-256 before sending, as every video adapter does
    path = tmp_path / "rakor-panjang.mp4"
    path.write_bytes(Path(clip.path).read_bytes().ljust(11 * 1024 * 1024, b"\0"))
    big = as_prepared(path, width=360, height=640, seconds=3.0, cover=Path(clip.cover or ""),
                      alt=clip.alt)

    channel_for(smtp, video_attach_max_mb=500).publish(video_delivery(big, channel="email"))

    message = sent(smtp)
    assert attachments(message) == []  # the allowance is capped at 10 MB
    assert "kanal resmi" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_dry_run_says_how_the_video_travels(clip: Media) -> None:
    account = AccountConfig(name="surel", network="email", options={
        "host": "smtp.example.go.id", "from": USERNAME})
    video = dataclasses.replace(clip, url=WATCH)

    [planned] = EmailChannel(account, {}).dry_run_requests(
        video_delivery(video, channel="email"))

    assert planned["video"]["url"] == WATCH and planned["video"]["attach"] is False
    assert planned["images"] == []


@pytest.mark.parametrize(("seconds", "text"), [(None, ""), (3.2, " (0:03)"), (65, " (1:05)"),
                                               (3600, " (60:00)")])
def test_a_videos_length_reads_as_minutes_and_seconds(seconds: float | None,
                                                      text: str) -> None:
    assert duration_text(seconds) == text
