"""Every network's fake running at once, plus a web server for the release's photo.

The end-to-end tests publish one release to all networks in a single daemon run, so
they need every fake of ``tests/fakes`` listening on its own real socket at the same
time, each expecting the credentials the configured account will present.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord import WEBHOOK_ID, FakeDiscord
from tests.fakes.facebook import FacebookFake
from tests.fakes.instagram import InstagramFake
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.slack import BOT, TEAM, FakeSlack
from tests.fakes.smtp import FakeSMTP
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import ThreadsFake
from tests.fakes.webhook import FakeWebhookReceiver
from tests.fakes.wordpress import WordPressFake
from tests.fakes.x import FakeX

BLUESKY_HANDLE = "humaslapas.bsky.social"
TELEGRAM_CHANNEL = "@humaslapas"
FACEBOOK_PAGE = "104857600123"
INSTAGRAM_USER = "17841405822304914"
THREADS_USER = "26072145678901234"
LINKEDIN_AUTHOR = "urn:li:organization:2414183"
WORDPRESS_USER = "redaktur-humas"
EMAIL_SENDER = "humas@lapas.example.go.id"
DISCORD_TOKEN = "dCsLkR8-e2e-webhook-token-1a2b3c4d"
SLACK_TOKEN = "xoxwh-E2eS3cr3tT0kenValue77"

#: account name → secret field → value, as ``SIAR_SECRET_<ACCOUNT>_<FIELD>`` will hold them
SECRETS: dict[str, dict[str, str]] = {
    "x-lapas": {"api_key": "e2eXkey4wEEPTGEFPHBog",
                "api_secret": "e2eXsecretSOqF21Fu85e7zjz7ZN2U4ZRhf",
                "access_token": "370773112-e2eGmHxMAgYyLbNEtIKZeRNFsMKPR9E",
                "access_token_secret": "e2eLswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR"},
    "mastodon-lapas": {"access_token": "mstdn-e2e-token-7c1d9e0f2a3b"},
    "bluesky-lapas": {"app_password": "e2ea-ppas-swrd-bsky"},
    "telegram-lapas": {"bot_token": "987654:AAH-e2e-bot-token-qrs"},
    "facebook-lapas": {"access_token": "EAAe2ePageTokenFb987"},
    "instagram-lapas": {"access_token": "IGQWRe2eTokenInsta654"},
    "threads-lapas": {"access_token": "THAAe2eTokenThreads321"},
    "linkedin-lapas": {"access_token": "AQVe2eLinkedInToken852"},
    "wordpress-lapas": {"username": WORDPRESS_USER, "app_password": "e2eW PPas s123 4xyz"},
    "discord-humas": {"webhook_url":
                      f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{DISCORD_TOKEN}"},
    "slack-humas": {"webhook_url":
                    f"https://hooks.slack.com/services/{TEAM}/{BOT}/{SLACK_TOKEN}"},
    "webhook-portal": {"secret": "whsec-e2e-portal-signing-key"},
    "email-redaksi": {"username": EMAIL_SENDER, "password": "sandi-e2e-rahasia-77"},
}


def secret_values() -> list[str]:
    """Every value that must never be shown: the secrets, and the tokens inside webhook
    URLs (errors may quote a URL's path alone). Usernames are left out: they are not
    secret, and the sender address legitimately appears in an e-mail."""
    values = [value for fields in SECRETS.values() for name, value in fields.items()
              if name != "username"]
    return [*values, DISCORD_TOKEN, SLACK_TOKEN]


@dataclass
class Networks:
    """The running fakes, one per network, and where the release's photo is served."""

    x: FakeX
    mastodon: FakeMastodon
    bluesky: FakeBluesky
    telegram: FakeTelegram
    facebook: FacebookFake
    instagram: InstagramFake
    threads: ThreadsFake
    linkedin: LinkedInFake
    wordpress: WordPressFake
    discord: FakeDiscord
    slack: FakeSlack
    webhook: FakeWebhookReceiver
    email: FakeSMTP
    #: the web address of the office's photo folder (``workspace/foto``)
    photos_url: str


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_files(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1, as a public web server would."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(folder)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        host, port = httpd.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The press office's folder: siar.toml, the release, and ``foto/`` (which its web
    server also publishes, so Instagram and Threads can fetch the photo)."""
    folder = tmp_path_factory.mktemp("kantor-humas")
    (folder / "foto").mkdir()
    return folder


def start_networks(stack: contextlib.ExitStack, photos: Path, mail_folder: Path) -> Networks:
    """Every network's fake listening, expecting :data:`SECRETS`, until ``stack`` closes;
    ``photos`` is served as the office's web folder."""
    def start(server: Any) -> Any:
        return stack.enter_context(server)

    photos_url = stack.enter_context(static_files(photos))
    return Networks(
        x=start(FakeX(**SECRETS["x-lapas"])),
        mastodon=start(FakeMastodon(token=SECRETS["mastodon-lapas"]["access_token"])),
        bluesky=start(FakeBluesky(handle=BLUESKY_HANDLE,
                                  app_password=SECRETS["bluesky-lapas"]["app_password"])),
        telegram=start(FakeTelegram(token=SECRETS["telegram-lapas"]["bot_token"],
                                    channel=TELEGRAM_CHANNEL)),
        facebook=start(FacebookFake(page_id=FACEBOOK_PAGE,
                                    token=SECRETS["facebook-lapas"]["access_token"])),
        instagram=start(InstagramFake(user_id=INSTAGRAM_USER,
                                      token=SECRETS["instagram-lapas"]["access_token"])),
        threads=start(ThreadsFake(user_id=THREADS_USER,
                                  token=SECRETS["threads-lapas"]["access_token"])),
        linkedin=start(LinkedInFake(author=LINKEDIN_AUTHOR,
                                    token=SECRETS["linkedin-lapas"]["access_token"])),
        wordpress=start(WordPressFake(
            username=WORDPRESS_USER,
            app_password=SECRETS["wordpress-lapas"]["app_password"])),
        discord=start(FakeDiscord(DISCORD_TOKEN)),
        slack=start(FakeSlack(SLACK_TOKEN)),
        webhook=start(FakeWebhookReceiver(secret=SECRETS["webhook-portal"]["secret"])),
        email=start(FakeSMTP(mail_folder, username=EMAIL_SENDER,
                             password=SECRETS["email-redaksi"]["password"])),
        photos_url=photos_url,
    )


@pytest.fixture(scope="module")
def networks(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Networks]:
    """All thirteen networks' fakes listening at once, expecting :data:`SECRETS`."""
    with contextlib.ExitStack() as stack:
        yield start_networks(stack, workspace / "foto", tmp_path_factory.mktemp("smtp"))
