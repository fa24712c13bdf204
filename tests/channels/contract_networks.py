"""Every built-in network as the contract suite (test_contract.py) sees it: how to start
its fake, build its adapter, refuse its credentials, throttle it the network's own way,
and what each answer means where the network documents something of its own.

A network added to ``[project.entry-points."siar.channels"]`` without an entry here makes
the contract suite fail: add one (most fields have the HTTP defaults).
"""

from __future__ import annotations

import atexit
import functools
import io
import itertools
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from channels.base import AccountConfig, Channel, Delivery, InDoubt, NotSent, Outcome
from channels.bluesky import BlueskyChannel
from channels.console import ConsoleChannel
from channels.discord import DiscordChannel
from channels.email import EmailChannel
from channels.facebook import FacebookChannel
from channels.instagram import InstagramChannel
from channels.linkedin import LinkedInChannel
from channels.mastodon import MastodonChannel
from channels.slack import SlackChannel
from channels.telegram import TelegramChannel
from channels.threads import ThreadsChannel
from channels.tiktok import TikTokChannel
from channels.variant import Media
from channels.webhook import WebhookChannel
from channels.wordpress import WordPressChannel
from channels.x import XChannel
from channels.youtube import YouTubeChannel
from tests.channels.helpers import make_delivery
from tests.clips import make_clip
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord import WEBHOOK_ID, FakeDiscord
from tests.fakes.facebook import FacebookFake
from tests.fakes.instagram import InstagramFake
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.meta import rate_limit_fault
from tests.fakes.photos import photo_url
from tests.fakes.server import Fault
from tests.fakes.slack import BOT, TEAM, FakeSlack
from tests.fakes.smtp import FakeSMTP
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import ThreadsFake
from tests.fakes.tiktok import FakeTikTok
from tests.fakes.webhook import FakeWebhookReceiver
from tests.fakes.wordpress import WordPressFake
from tests.fakes.x import FakeX
from tests.fakes.youtube import UPLOAD_PATH, FakeYouTube

#: every adapter gives up reading after this; a stalled fake answers after STALL. At
#: half a second a loaded host made an ordinary answer late (a fake fetching a photo by
#: URL answered after the adapter stopped waiting). Not whole seconds: those go through
#: libcurl, whose read timeout counts whole seconds of no progress
TIMEOUTS = {"read_timeout": 1.5, "connect_timeout": 2.0}
STALL = 3.0
TEXT = "Rakor Agen Informasi Pemasyarakatan #HumasBergerakBersama"
PHOTO_URL = photo_url("wp-content/uploads/2026/11/kegiatan.jpg")

Fake = Any  # a FakeServer subclass, or FakeSMTP
Build = Callable[[str, Mapping[str, str]], Channel]


def account(network: str, base_url: str | None, **options: object) -> AccountConfig:
    return AccountConfig(name=f"{network}-lapas", network=network, base_url=base_url,
                         options={**TIMEOUTS, **options})


_keys = itertools.count(1)


def fresh_delivery(**variant: Any) -> Delivery:
    """A post due now with a publish key of its own (keys are remembered by some fakes)."""
    return make_delivery(TEXT, publish_key=f"contract-{next(_keys)}", due_at=datetime.now(UTC),
                         **variant)


@dataclass(frozen=True)
class Contract:
    """One network's part of the contract; the defaults describe a plain HTTP API."""

    network: str
    #: starts the network's fake (given a scratch folder); ``None``: no network at all
    start: Callable[[Path], Fake] | None
    #: the adapter talking to ``url`` (the fake's address) with ``secrets``
    build: Build
    secrets: Mapping[str, str]
    #: how many posts the fake holds
    posts: Callable[[Fake], int] = lambda fake: 0
    #: secrets the fake refuses the way the network does (401, or its own equivalent)
    wrong_secrets: Mapping[str, str] = field(default_factory=dict)
    #: the path (a regex) the post is created with, and the method (TikTok: the PUT of a
    #: video's last chunk)
    create_path: str = ""
    create_method: str = "POST"
    #: the network's own throttling answer, asking for a wait of ``seconds``
    throttle: Callable[[Fake, int], None] | None = None
    #: what a server error on the create means, as the adapter documents it
    server_error_means: type[Outcome] = InDoubt
    #: False: any 2xx is the receiver's acceptance and its body is not read
    reads_answer: bool = True
    #: the post each case sends
    delivery: Callable[[], Delivery] = fresh_delivery
    #: makes the network's view cover the time the post was sent, without it
    absent: Callable[[Fake, Delivery], None] = lambda fake, delivery: None
    #: the fake's address for the adapter
    address: Callable[[Fake], str] = lambda fake: str(fake.url)
    #: True: HTTP (statuses, headers and JSON bodies apply)
    http: bool = True
    #: what each case that does not apply means here instead, by case
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    #: secret fields that name who logs in and may be shown (a WordPress user name)
    shown: tuple[str, ...] = ()

    def hidden(self, secrets: Mapping[str, str] | None = None) -> list[str]:
        """The secret values that must never appear anywhere."""
        values = self.secrets if secrets is None else secrets
        return [value for name, value in values.items() if name not in self.shown]

    # --- faults on the create request (SMTP has its own) --------------------------------

    def stall_create(self, fake: Fake) -> None:
        """The create is applied, but its answer comes after the adapter stopped waiting."""
        if not self.http:
            fake.stall_after_data(STALL)
            return
        fake.fail_next(Fault(delay=STALL, apply=True, status=200, body={},
                             path=self.create_path, method=self.create_method))

    def drop_create(self, fake: Fake) -> None:
        """The create arrives and the connection breaks without it being applied."""
        fake.fail_next(Fault(drop=True, path=self.create_path, method=self.create_method))

    def fail_create(self, fake: Fake, status: int = 503, body: Any = None) -> None:
        """The create is answered with ``status`` (SMTP: a transient 4xx reply)."""
        if not self.http:
            fake.answer_data_with("451 4.3.0 Mail server temporarily rejected message")
            return
        fake.fail_next(Fault(status=status, path=self.create_path, method=self.create_method,
                             body={"error": "Service Unavailable"} if body is None else body))


# --- the networks' own ways ---------------------------------------------------------------


def _http_retry_after(fake: Fake, seconds: int) -> None:
    fake.fail_next(Fault(status=429, headers={"Retry-After": str(seconds)},
                         body={"error": "Too many requests"}))


def _meta_throttle(fake: Fake, seconds: int) -> None:
    fake.fail_next(rate_limit_fault(code=32, minutes=seconds // 60))


def _x_absent(fake: Fake, delivery: Delivery) -> None:
    # the timeline had time to show a post sent five minutes ago
    delivery.state["x_first_sent"] = {"0": (datetime.now(UTC) - timedelta(minutes=5))
                                      .isoformat()}


def _mastodon_absent(fake: Fake, delivery: Delivery) -> None:
    # sent two hours ago (the idempotency key is forgotten), and the account's timeline
    # reaches back before that
    fake.add_old_status("Rilis lain", age=timedelta(hours=3))
    delivery.state["mastodon_first_sent"] = {"0": (datetime.now(UTC) - timedelta(hours=2))
                                             .isoformat()}


def _with_public_photo() -> Delivery:
    return fresh_delivery(media=[Media(path="/data/rilis/kegiatan.jpg", alt="Kalapas membuka "
                                       "rakor", url=PHOTO_URL)])


def _tiktok_video() -> Delivery:
    """A post with a small prepared vertical video (the one clip of the run)."""
    clip = contract_clip()
    return fresh_delivery(media=[Media(path=str(clip), kind="video", mime="video/mp4",
                                       width=64, height=112, bytes=clip.stat().st_size,
                                       duration=1.0)])


def _tiktok_throttle(fake: Fake, seconds: int) -> None:
    # TikTok's 429 names no wait: the account's rate_limit_wait says how long
    fake.fail_next(Fault(status=429, path=r"/v2/post/publish/video/init/",
                         body={"data": {}, "error": {"code": "rate_limit_exceeded",
                                                      "message": "", "log_id": "1"}}))


def _smtp_address(fake: Fake) -> str:
    return f"smtp://127.0.0.1:{fake.port}"


def _container_network(adapter: type[Channel], fake: Callable[..., Fake], token: str,
                       publish_edge: str, **more: Any) -> Contract:
    """Instagram and Threads: a container is made, then published by ``publish_edge``
    (the create: until then nothing shows)."""
    def build(url: str, secrets: Mapping[str, str]) -> Channel:
        return adapter(account(adapter.network, url, user_id=GRAPH_ID, poll_interval=0.01,
                               poll_timeout=2), secrets)

    return Contract(
        adapter.network, lambda tmp: fake(token=f"{token}token123", user_id=GRAPH_ID), build,
        {"access_token": f"{token}token123"}, posts=lambda running: len(running.published),
        wrong_secrets={"access_token": f"{token}wrongtoken"},
        create_path=f".*/{publish_edge}", throttle=_meta_throttle, **more)


@functools.cache
def contract_clip() -> Path:
    """A one-second vertical clip, made once for the whole run."""
    folder = Path(tempfile.mkdtemp(prefix="siar-contract-"))
    atexit.register(shutil.rmtree, folder, True)
    return make_clip(folder / "klip.mp4", seconds=1.0, width=64, height=112, fps=2)


def _with_video() -> Delivery:
    clip = contract_clip()
    return fresh_delivery(
        media=[Media(path=str(clip), kind="video", mime="video/mp4", width=64, height=112,
                     bytes=clip.stat().st_size, duration=1.0)],
        title="Rakor Agen Informasi", tags=["HumasBergerakBersama"])


class _ResumableContract(Contract):
    """YouTube: the create is the ``PUT`` that carries the video's last byte; a 401 is
    answered by a fresh token and one more try, so refused credentials refuse twice."""

    def stall_create(self, fake: Fake) -> None:
        fake.fail_next(Fault(delay=STALL, apply=True, status=200, body={},
                             path=self.create_path, method="PUT"))

    def drop_create(self, fake: Fake) -> None:
        fake.fail_next(Fault(drop=True, path=self.create_path, method="PUT"))

    def fail_create(self, fake: Fake, status: int = 503, body: Any = None) -> None:
        fake.fail_next(Fault(status=status, path=self.create_path, method="PUT",
                             body={"error": "Service Unavailable"} if body is None else body),
                       times=2 if status == 401 else 1)


YOUTUBE_SECRETS = {"client_id": "1234-abcd.apps.googleusercontent.com",
                   "client_secret": "GOCSPX-s3cr3t-client-value",
                   "refresh_token": "1//0g-refresh-token-value-xyz"}


def _youtube(url: str, secrets: Mapping[str, str]) -> Channel:
    return YouTubeChannel(account("youtube", url, token_url=f"{url}/token", chunk_backoff=0,
                                  processing_interval=0.01, processing_timeout=1), secrets)


X_SECRETS = {"api_key": "xvz1evFS4wEEPTGEFPHBog", "api_secret": "kAcSOqF21Fu85e7zjz7ZN2U4",
             "access_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMK",
             "access_token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVV"}
SMTP_LOGIN = {"username": "humas@lapas.example.go.id", "password": "sandi-rahasia-42"}
DISCORD_TOKEN, SLACK_TOKEN = "dCsLkR8-webhook-token-9a8b7c", "xoxwh-S3cr3tT0kenValue42"
GRAPH_ID = "17841405822304914"
TIKTOK_SECRETS = {"client_key": "awtiktokclientkey", "client_secret": "tiktok-client-secret-42",
                  "refresh_token": "rft.first-refresh-token"}

CONTRACTS: dict[str, Contract] = {c.network: c for c in [
    Contract(
        "x", lambda tmp: FakeX(**X_SECRETS),
        lambda url, secrets: XChannel(account("x", url, username="humaslapas"), secrets),
        X_SECRETS, posts=lambda fake: len(fake.posts),
        wrong_secrets={**X_SECRETS, "access_token": "1-revoked-token"},
        create_path="/2/tweets", throttle=lambda fake, seconds: fake.rate_limit(seconds),
        absent=_x_absent),
    Contract(
        "mastodon", lambda tmp: FakeMastodon(token="mstdn-secret-token-5f0c1e2d3b4a"),
        lambda url, secrets: MastodonChannel(account("mastodon", url), secrets),
        {"access_token": "mstdn-secret-token-5f0c1e2d3b4a"},
        posts=lambda fake: len(fake.statuses),
        wrong_secrets={"access_token": "revoked-token-value"},
        create_path="/api/v1/statuses",
        throttle=lambda fake, seconds: fake.rate_limit(timedelta(seconds=seconds)),
        absent=_mastodon_absent),
    Contract(
        "bluesky", lambda tmp: FakeBluesky(handle="humaslapas.bsky.social",
                                           app_password="s3cr-etap-ppas-swrd"),
        lambda url, secrets: BlueskyChannel(
            account("bluesky", url, identifier="humaslapas.bsky.social"), secrets),
        {"app_password": "s3cr-etap-ppas-swrd"}, posts=lambda fake: len(fake.records),
        wrong_secrets={"app_password": "wrong-pass-word"},
        create_path="/xrpc/com.atproto.repo.createRecord",
        throttle=lambda fake, seconds: fake.rate_limit(seconds)),
    Contract(
        "telegram", lambda tmp: FakeTelegram(token="987654:AAH-secret-bot-token-xyz",
                                             channel="@humaslapas"),
        lambda url, secrets: TelegramChannel(account("telegram", url, chat_id="@humaslapas"),
                                             secrets),
        {"bot_token": "987654:AAH-secret-bot-token-xyz"},
        posts=lambda fake: len(fake.messages),
        wrong_secrets={"bot_token": "111:not-the-right-token"},
        create_path=r"/bot[^/]+/send\w+",
        throttle=lambda fake, seconds: fake.flood_wait(seconds)),
    Contract(
        "facebook", lambda tmp: FacebookFake(token="EAAPageToken123"),
        lambda url, secrets: FacebookChannel(account("facebook", url, page_id="104857600123"),
                                             secrets),
        {"access_token": "EAAPageToken123"}, posts=lambda fake: len(fake.posts),
        wrong_secrets={"access_token": "EAAwrongtoken"},
        create_path=r".*/feed", throttle=_meta_throttle),
    _container_network(InstagramChannel, InstagramFake, "IGQWR", "media_publish",
                       delivery=_with_public_photo),
    _container_network(ThreadsChannel, ThreadsFake, "THAA", "threads_publish"),
    Contract(
        "tiktok", lambda tmp: FakeTikTok(**TIKTOK_SECRETS),
        lambda url, secrets: TikTokChannel(account(
            "tiktok", url, poll_interval=0.01, poll_timeout=2, rate_limit_wait=120), secrets),
        TIKTOK_SECRETS, posts=lambda fake: len(fake.posts),
        wrong_secrets={**TIKTOK_SECRETS, "refresh_token": "rft.revoked-token"},
        create_path="/video/", create_method="PUT", throttle=_tiktok_throttle,
        delivery=_tiktok_video),
    Contract(
        "linkedin", lambda tmp: LinkedInFake(token="AQVlinkedintoken123"),
        lambda url, secrets: LinkedInChannel(account(
            "linkedin", url, author="urn:li:organization:2414183",
            # LinkedIn's 429 carries no wait: the account says how long (else midnight UTC)
            rate_limit_wait=120), secrets),
        {"access_token": "AQVlinkedintoken123"}, posts=lambda fake: len(fake.posts),
        wrong_secrets={"access_token": "AQVexpired999"},
        create_path="/rest/posts",
        throttle=lambda fake, seconds: fake.fail_next(
            status=429, body={"status": 429, "message": "Resource level throttle"})),
    Contract(
        "wordpress", lambda tmp: WordPressFake(username="redaksi-lapas",
                                               app_password="abcd EFGH 1234 ijkl"),
        lambda url, secrets: WordPressChannel(account("wordpress", url), secrets),
        {"username": "redaksi-lapas", "app_password": "abcd EFGH 1234 ijkl"},
        posts=lambda fake: len(fake.posts),
        wrong_secrets={"username": "redaksi-lapas", "app_password": "wxyz WXYZ 9876 mnop"},
        shown=("username",),
        create_path="/wp-json/wp/v2/posts", throttle=_http_retry_after),
    Contract(
        "webhook", lambda tmp: FakeWebhookReceiver(secret="whsec-5up3r-s3cret-value"),
        lambda url, secrets: WebhookChannel(account("webhook", f"{url}/hook"), secrets),
        {"secret": "whsec-5up3r-s3cret-value"}, posts=lambda fake: len(fake.created),
        wrong_secrets={"secret": "whsec-not-the-one"}, create_path="/hook",
        throttle=_http_retry_after, reads_answer=False),
    Contract(
        "discord", lambda tmp: FakeDiscord(DISCORD_TOKEN),
        lambda url, secrets: DiscordChannel(account("discord", f"{url}/api"), secrets),
        {"webhook_url": f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{DISCORD_TOKEN}"},
        posts=lambda fake: len(fake.messages),
        wrong_secrets={"webhook_url": f"https://discord.com/api/webhooks/{WEBHOOK_ID}/"
                                      f"dCsLkR8-revoked-000"},
        create_path=r"/api/webhooks/.*",
        throttle=lambda fake, seconds: fake.rate_limit_next(float(seconds))),
    Contract(
        "slack", lambda tmp: FakeSlack(SLACK_TOKEN),
        lambda url, secrets: SlackChannel(account("slack", url), secrets),
        {"webhook_url": f"https://hooks.slack.com/services/{TEAM}/{BOT}/{SLACK_TOKEN}"},
        posts=lambda fake: len(fake.messages),
        wrong_secrets={"webhook_url": f"https://hooks.slack.com/services/{TEAM}/{BOT}/"
                                      f"xoxwh-revoked-000"},
        create_path=r"/services/.*",
        throttle=lambda fake, seconds: fake.rate_limit_next(seconds), reads_answer=False),
    Contract(
        "email", lambda tmp: FakeSMTP(tmp, security="none", **SMTP_LOGIN),
        lambda url, secrets: EmailChannel(account(
            "email", url, security="none", allow_plaintext_login=True,
            **{"from": SMTP_LOGIN["username"], "to": ["redaksi@koran.example.id"]}),
            secrets),
        SMTP_LOGIN, posts=lambda fake: len(fake.messages),
        wrong_secrets={**SMTP_LOGIN, "password": "salah-sandi-99"},
        address=_smtp_address, server_error_means=NotSent, http=False, shown=("username",),
        not_applicable={
            "throttle": "SMTP states no wait: a server that wants us slower defers with a "
                        "4xx reply, which is NotSent (the server error case)",
            "http": "SMTP has no statuses or JSON: 535 is the auth failure, 4xx replies "
                    "are NotSent, 5xx Rejected (tests/channels/test_email.py)"}),
    _ResumableContract(
        "youtube", lambda tmp: FakeYouTube(**YOUTUBE_SECRETS), _youtube, YOUTUBE_SECRETS,
        posts=lambda fake: len(fake.videos),
        wrong_secrets={**YOUTUBE_SECRETS, "refresh_token": "1//0g-revoked-token"},
        create_path=UPLOAD_PATH, delivery=_with_video,
        throttle=lambda fake, seconds: fake.fail_next(Fault(
            status=429, headers={"Retry-After": str(seconds)}, path=UPLOAD_PATH,
            method="POST", body={"error": {"code": 429, "message": "Too Many Requests"}}))),
    Contract(
        "console", None, lambda url, secrets: ConsoleChannel(account("console", None),
                                                             secrets, stream=io.StringIO()),
        {},
        http=False, not_applicable={
            "network": "it writes the post to a stream: there is no network to refuse, "
                       "stall, throttle or fail"}),
]}
