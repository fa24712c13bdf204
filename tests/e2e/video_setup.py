"""What the end-to-end video runs share: the office's files (siar.toml aimed at every
video network's fake, a release with a generated clip), the officer's environment, and
``siar`` run as a process of its own — as the console script is run.

Used by test_video_release.py (every network), test_video_failures.py (networks that
misbehave) and test_video_quota.py (YouTube's daily quota).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from tests.clips import make_clip
from tests.conftest import new_postgres_database
from tests.e2e import conftest as e2e
from tests.e2e.conftest import (
    BLUESKY_HANDLE,
    EMAIL_SENDER,
    FACEBOOK_PAGE,
    INSTAGRAM_USER,
    LINKEDIN_AUTHOR,
    TELEGRAM_CHANNEL,
    THREADS_USER,
    Networks,
    start_networks,
)
from tests.e2e.test_all_networks import ACCOUNTS as ALL_ACCOUNTS
from tests.e2e.test_all_networks import Output, toml_value
from tests.fakes.tiktok import FakeTikTok
from tests.fakes.youtube import FakeYouTube

SIAR = Path(sys.executable).parent / "siar"
#: a daemon that has not drained by then is killed, so the test fails rather than hangs
DAEMON_DEADLINE_SECONDS = 90.0
TITLE = "Kunjungan Kerja Kakanwil ke Lapas Pangkalpinang"
CAPTION = "Kakanwil meninjau dapur Lapas Pangkalpinang bersama Kalapas"
VIDEO_TITLE = "Kunjungan Kakanwil 2026"
#: the Meta app whose Resumable Upload API takes a Page's videos (the fake's own)
FACEBOOK_APP = "901234567890123"
#: small parts, so that every chunked protocol sends the clip in several
PART = 16 * 1024

#: the all-networks run's secrets, with what video needs besides: Facebook's user token
#: (the Resumable Upload API refuses a Page token), and the two video-only networks
SECRETS: dict[str, dict[str, str]] = {
    **{account: fields for account, fields in e2e.SECRETS.items() if account != "slack-humas"},
    "facebook-lapas": {**e2e.SECRETS["facebook-lapas"], "user_access_token": "EAAUserToken456"},
    "youtube-lapas": {"client_id": "1234-e2e.apps.googleusercontent.com",
                      "client_secret": "GOCSPX-e2e-video-secret",
                      "refresh_token": "1//0g-e2e-video-refresh"},
    "tiktok-lapas": {"client_key": "awe2evideoclientkey", "client_secret": "tiktok-e2e-secret",
                     "refresh_token": "rft.e2e-first-refresh"},
}
#: account → network: every network that takes a video, and e-mail (which links instead;
#: Slack takes no video and would only be told so)
ACCOUNTS = {**{account: network for account, network in ALL_ACCOUNTS.items()
               if network != "slack"}, "youtube-lapas": "youtube", "tiktok-lapas": "tiktok"}
FAST = {"read_timeout": 5.0, "connect_timeout": 2.0}
#: the waiting options of the networks that process a video, in each one's words
POLLING = {"video_poll_seconds": 0.01, "upload_retry_pause": 0}
GRAPH_POLLING = {"video_poll_interval": 0.01, "video_poll_timeout": 10, "part_retry_wait": 0,
                 "poll_interval": 0.01, "poll_timeout": 5}


@dataclass
class Fakes(Networks):
    """Every network's fake of the all-networks run, and YouTube's and TikTok's."""

    youtube: FakeYouTube
    tiktok: FakeTikTok


@contextlib.contextmanager
def running_fakes(folder: Path) -> Iterator[Fakes]:
    """All the fakes listening until the block ends (``folder``: their files)."""
    with contextlib.ExitStack() as stack:
        (folder / "foto").mkdir(exist_ok=True)
        networks = start_networks(stack, folder / "foto", folder)
        networks.linkedin.video_part_bytes = PART  # LinkedIn names the parts: several
        yield Fakes(**{field.name: getattr(networks, field.name) for field in fields(networks)},
                    youtube=stack.enter_context(FakeYouTube(**SECRETS["youtube-lapas"])),
                    tiktok=stack.enter_context(FakeTikTok(**SECRETS["tiktok-lapas"])))


def account_tables(fakes: Fakes) -> dict[str, dict[str, Any]]:
    """Each account's table as an office would write it, aimed at the fakes, with small
    parts and quick polling so that every step of every protocol happens in seconds."""
    return {
        "x-lapas": {"base_url": fakes.x.url, "options": {
            "username": fakes.x.username, "x_chunk_bytes": PART, **POLLING, **FAST}},
        "mastodon-lapas": {"base_url": fakes.mastodon.url, "options": {**POLLING, **FAST}},
        "bluesky-lapas": {"base_url": fakes.bluesky.url, "options": {
            "identifier": BLUESKY_HANDLE, "video_service": fakes.bluesky.url, **POLLING,
            **FAST}},
        "telegram-lapas": {"base_url": fakes.telegram.url,
                           "options": {"chat_id": TELEGRAM_CHANNEL, **FAST}},
        "facebook-lapas": {"base_url": fakes.facebook.url, "options": {
            "page_id": FACEBOOK_PAGE, "app_id": FACEBOOK_APP, "upload_part_bytes": PART,
            **GRAPH_POLLING, **FAST}},
        "instagram-lapas": {"base_url": fakes.instagram.url, "options": {
            "user_id": INSTAGRAM_USER, **GRAPH_POLLING, **FAST}},
        "threads-lapas": {"base_url": fakes.threads.url, "options": {
            "user_id": THREADS_USER, **GRAPH_POLLING, **FAST}},
        "linkedin-lapas": {"base_url": fakes.linkedin.url, "options": {
            "author": LINKEDIN_AUTHOR, **GRAPH_POLLING, **FAST}},
        "wordpress-lapas": {"base_url": fakes.wordpress.url,
                            "options": {"upload_retry_pause": 0, **FAST}},
        "discord-humas": {"base_url": fakes.discord.api_url, "options": FAST},
        "webhook-portal": {"base_url": fakes.webhook.hook_url, "options": FAST},
        "email-redaksi": {"options": {
            "host": "127.0.0.1", "port": fakes.email.port, "security": "starttls",
            "ca_file": str(fakes.email.cert_path), "from": EMAIL_SENDER,
            "to": ["redaksi@koran.example.id"], "domain": "lapas.example.go.id", **FAST}},
        "youtube-lapas": {"base_url": fakes.youtube.url, "options": {
            "token_url": f"{fakes.youtube.url}/token", "chunk_bytes": 256 * 1024,
            "chunk_backoff": 0, "processing_interval": 0.01, "processing_timeout": 5,
            "privacy": "unlisted", **FAST}},
        "tiktok-lapas": {"base_url": fakes.tiktok.url, "options": {
            "poll_interval": 0.01, "poll_timeout": 5, **FAST}},
    }


#: a post that is not sent fails at once: everything must go on the first try
FIRST_TRY = ("max_attempts = 1",)


def write_config(folder: Path, fakes: Fakes, database_url: str, http_port: int,
                 accounts: dict[str, str] = ACCOUNTS,
                 tables: dict[str, dict[str, Any]] | None = None,
                 daemon: tuple[str, ...] = FIRST_TRY) -> None:
    """siar.toml: the database, a daemon whose HTTP server hosts what Instagram and
    Threads fetch (with the ``daemon`` table's other lines), and one account per
    network."""
    tables = tables or account_tables(fakes)
    lines = ['timezone = "Asia/Jakarta"', f"database_url = {toml_value(database_url)}",
             'campaign_hashtags = ["HumasBergerakBersama"]', "",
             "[daemon]", "poll_interval = 0.2", f"http_port = {http_port}", *daemon, "",
             "[media]", 'store = "siar"',
             f"public_base_url = {toml_value(f'http://127.0.0.1:{http_port}/siar')}",
             f"directory = {toml_value(str(folder / 'public-media'))}"]
    for name, network in accounts.items():
        lines += ["", "[[accounts]]", f"name = {toml_value(name)}",
                  f"network = {toml_value(network)}"]
        lines += [f"{key} = {toml_value(value)}" for key, value in tables[name].items()]
    (folder / "siar.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_release(folder: Path, name: str = "rilis.md", title: str = TITLE) -> Path:
    """A release whose video is a 4 s upright clip (2 frames a second) with a caption,
    a title and its cover at second 1."""
    clip = folder / "video" / "kunjungan.mp4"
    if not clip.exists():
        make_clip(clip, seconds=4.0, width=360, height=640, fps=2)
    path = folder / name
    path.write_text(
        f"---\ntitle: {title}\n"
        "videos:\n"
        f"  - {{path: video/kunjungan.mp4, caption: {CAPTION}, cover: 1, "
        f"title: {VIDEO_TITLE}}}\n"
        "---\n"
        "Kepala Kantor Wilayah meninjau pelayanan makanan dan kesehatan warga binaan di "
        "Lapas Pangkalpinang, didampingi Kepala Lapas dan jajaran.\n", encoding="utf-8")
    return path


def environment(folder: Path, secrets: dict[str, dict[str, str]] = SECRETS) -> dict[str, str]:
    """The officer's environment: the secrets in ``SIAR_SECRET_…``, nothing else of Siar's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env.update(SIAR_HOME=str(folder / "home"), SIAR_LANG="en", COLUMNS="200",
               SIAR_VIDEO_PRESET="ultrafast")
    for account, given in secrets.items():
        prefix = "SIAR_SECRET_" + account.upper().replace("-", "_")
        env.update({f"{prefix}_{name.upper()}": value for name, value in given.items()})
    return env


def siar(folder: Path, env: dict[str, str], *args: str,
         timeout: float = DAEMON_DEADLINE_SECONDS) -> Output:
    """``siar ARGS`` as a process of its own, in the office's folder."""
    done = subprocess.run([str(SIAR), *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return Output(" ".join(args), done.returncode, done.stdout, done.stderr)


def database_url_for(request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh database of the kind the module's parameter names: a SQLite file in
    ``folder``, or a database on the PostgreSQL server the tests start."""
    if request.param == "postgresql":
        return new_postgres_database(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{folder / 'siar.db'}"
