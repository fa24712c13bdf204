"""Acceptance of issue 5: one release, every network, one daemon run, every URL in history.

The example release (``config/example-release.md``, with a photo added) is queued with
the real CLI for thirteen accounts, one per network, each pointing at that network's
fake on a real socket. ``siar daemon --until-drained`` then publishes live (not
dry-run), and ``siar history``/``siar queue`` must show every post published with the
URL the network gave it. Each fake is then asked what it actually received: exactly
the composed parts, once, in order, with the photo and its alt text where the network
takes images, and never a secret in anything the CLI printed.

The whole flow runs once for the module; each test states one rule about its result.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from scheduler import cli
from tests.e2e.conftest import (
    BLUESKY_HANDLE,
    EMAIL_SENDER,
    FACEBOOK_PAGE,
    INSTAGRAM_USER,
    LINKEDIN_AUTHOR,
    SECRETS,
    TELEGRAM_CHANNEL,
    THREADS_USER,
    Networks,
    secret_values,
)

# Implicit TLS is invisible to aiosmtpd, so its AUTH-without-TLS warning is a false alarm.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

EXAMPLE_RELEASE = Path(__file__).resolve().parents[2] / "config" / "example-release.md"
PHOTO_ALT = ("Kepala Lapas Pangkalpinang dan petugas humas berfoto bersama peserta rapat "
             "koordinasi nasional agen informasi di Jakarta")
SLACK_CHANNEL_URL = "https://humas-lapas.slack.com/archives/C0HUMAS01"
EMAIL_TO = ["redaksi@koran.example.id", "humas@kanwil.example.go.id"]
#: a daemon that has not drained by then is stopped (SIGTERM) so the test fails, not hangs
DAEMON_DEADLINE_SECONDS = 40.0

#: account → network: one account for every built-in network that reaches the outside
ACCOUNTS = {
    "x-lapas": "x", "mastodon-lapas": "mastodon", "bluesky-lapas": "bluesky",
    "telegram-lapas": "telegram", "facebook-lapas": "facebook",
    "instagram-lapas": "instagram", "threads-lapas": "threads",
    "linkedin-lapas": "linkedin", "wordpress-lapas": "wordpress",
    "discord-humas": "discord", "slack-humas": "slack", "webhook-portal": "webhook",
    "email-redaksi": "email",
}
FAST = {"read_timeout": 5.0, "connect_timeout": 2.0}


@dataclass
class Output:
    command: str
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, f"siar {self.command} failed ({self.code}): {self.err[-2000:]}"
        return json.loads(self.out)


@dataclass
class Run:
    """What the officer saw at each step, and what each network received."""

    added: dict[str, Any]
    shown: dict[str, Any]
    daemon: dict[str, Any]
    history: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    history_table: str
    outputs: list[Output]
    networks: Networks

    def variant(self, account: str) -> dict[str, Any]:
        """The variant composed for ``account`` at queue time (what must be published)."""
        [post] = [p for p in self.shown["posts"] if p["account"] == account]
        return dict(post["variant"])

    def parts(self, account: str) -> list[str]:
        return list(self.variant(account)["parts"])

    def remote_url(self, account: str) -> str:
        [row] = [r for r in self.queue if r["account"] == account]
        return str(row["remote_url"])


# --- the press office's files -----------------------------------------------------------


def toml_value(value: Any) -> str:
    """A TOML value for the plain data an account table holds (JSON strings are valid
    TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}"
                                for key, item in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def account_tables(networks: Networks) -> dict[str, dict[str, Any]]:
    """Each account's table as an office would write it, aimed at the fakes."""
    graph_polling = {"poll_interval": 0.02, "poll_timeout": 5.0}
    return {
        "x-lapas": {"base_url": networks.x.url,
                    "options": {"username": networks.x.username, **FAST}},
        "mastodon-lapas": {"base_url": networks.mastodon.url,
                           "options": {"media_poll_interval": 0.02, **FAST}},
        "bluesky-lapas": {"base_url": networks.bluesky.url,
                          "options": {"identifier": BLUESKY_HANDLE, **FAST}},
        "telegram-lapas": {"base_url": networks.telegram.url,
                           "options": {"chat_id": TELEGRAM_CHANNEL, **FAST}},
        "facebook-lapas": {"base_url": networks.facebook.url,
                           "options": {"page_id": FACEBOOK_PAGE, **FAST}},
        "instagram-lapas": {"base_url": networks.instagram.url,
                            "options": {"user_id": INSTAGRAM_USER,
                                        "public_media_base_url": networks.photos_url,
                                        **graph_polling, **FAST}},
        "threads-lapas": {"base_url": networks.threads.url,
                          "options": {"user_id": THREADS_USER,
                                      "public_media_base_url": networks.photos_url,
                                      **graph_polling, **FAST}},
        "linkedin-lapas": {"base_url": networks.linkedin.url,
                           "options": {"author": LINKEDIN_AUTHOR, **FAST}},
        "wordpress-lapas": {"base_url": networks.wordpress.url, "options": FAST},
        "discord-humas": {"base_url": networks.discord.api_url, "options": FAST},
        # incoming webhooks answer just "ok": the channel's address is the post's URL
        "slack-humas": {"base_url": networks.slack.url,
                        "options": {"channel_url": SLACK_CHANNEL_URL, **FAST}},
        "webhook-portal": {"base_url": networks.webhook.hook_url, "options": FAST},
        "email-redaksi": {"options": {
            "host": "127.0.0.1", "port": networks.email.port, "security": "starttls",
            "ca_file": str(networks.email.cert_path), "from": EMAIL_SENDER,
            "from_name": "Humas Lapas Pangkalpinang", "to": EMAIL_TO,
            "domain": "lapas.example.go.id", **FAST}},
    }


def write_config(workspace: Path, networks: Networks) -> None:
    tables = account_tables(networks)
    lines = [
        'timezone = "Asia/Jakarta"',
        'campaign_hashtags = ["HumasBergerakBersama"]',
        "",
        "[mentions.ditjenpas]",
        'name = "Ditjen Pemasyarakatan"',
        'x = "@ditjenpas"',
        'instagram = "@ditjenpas"',
        'mastodon = "@ditjenpas@mastodon.social"',
        "",
        "[daemon]",
        "poll_interval = 0.2",
        # a post that is not sent fails at once instead of waiting for a retry: this
        # run must publish everything on the first attempt
        "max_attempts = 1",
    ]
    for name, network in ACCOUNTS.items():
        lines += ["", "[[accounts]]", f"name = {toml_value(name)}",
                  f"network = {toml_value(network)}"]
        lines += [f"{key} = {toml_value(value)}" for key, value in tables[name].items()]
    (workspace / "siar.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_release(workspace: Path) -> None:
    """The example release plus a 1600×1200 photo with alt text (Instagram needs one)."""
    photo = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    ImageDraw.Draw(photo).rectangle((400, 300, 1200, 900), fill=(30, 110, 60))
    photo.save(workspace / "foto" / "rakor-agen-informasi.jpg", quality=88)
    opening, front, body = EXAMPLE_RELEASE.read_text(encoding="utf-8").split("---\n", 2)
    front += ("images:\n"
              "  - path: foto/rakor-agen-informasi.jpg\n"
              f"    alt: {PHOTO_ALT}\n")
    (workspace / "rilis.md").write_text(f"{opening}---\n{front}---\n{body}", encoding="utf-8")


# --- running the real CLI in this process -----------------------------------------------


def siar(*args: str) -> Output:
    """``siar ARGS`` as the console script runs it, with stdout and stderr captured."""
    cli.state.__init__()  # each invocation starts from scratch, like a new process
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        patch.setattr(sys, "argv", ["siar", *args])
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Output(" ".join(args), code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """``siar`` points the root logger at the stderr of its run; give it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Send ourselves SIGTERM after ``seconds`` (the daemon then finishes in-flight posts
    and stops), and put the signal handlers the daemon installs back afterwards."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


@pytest.fixture(scope="module")
def run(workspace: Path, networks: Networks) -> Iterator[Run]:
    write_config(workspace, networks)
    write_release(workspace)
    with pytest.MonkeyPatch.context() as patch, logging_restored():
        for key in list(os.environ):
            if key.startswith("SIAR_"):
                patch.delenv(key)
        patch.chdir(workspace)
        patch.setenv("SIAR_HOME", str(workspace / "home"))
        patch.setenv("SIAR_LANG", "en")
        patch.setenv("COLUMNS", "200")
        for account, fields in SECRETS.items():
            prefix = "SIAR_SECRET_" + account.upper().replace("-", "_")
            for field, value in fields.items():
                patch.setenv(f"{prefix}_{field.upper()}", value)

        added = siar("add", "rilis.md", "--at", "now", "--json")
        release = str(added.json()["release"])
        shown = siar("show", release, "--json")
        with deadline(DAEMON_DEADLINE_SECONDS):
            daemon = siar("--verbose", "daemon", "--until-drained", "--json")
        history = siar("history", "--json")
        queue = siar("queue", "--all", "--json")
        # the tables an officer reads after publishing
        history_table = siar("history")
        shown_after = siar("show", release)
        yield Run(added=added.json(), shown=shown.json(), daemon=daemon.json(),
                  history=history.json(), queue=queue.json(), history_table=history_table.out,
                  outputs=[added, shown, daemon, history, queue, history_table, shown_after],
                  networks=networks)


# --- what the officer sees ---------------------------------------------------------------


def test_the_release_is_queued_once_for_every_account(run: Run) -> None:
    assert sorted((p["account"], p["channel"]) for p in run.added["posts"]) == \
        sorted(ACCOUNTS.items())
    assert {p["status"] for p in run.added["posts"]} == {"scheduled"}


def test_one_live_daemon_run_publishes_every_post_and_nothing_fails(run: Run) -> None:
    problems = {row["account"]: (row["status"], row["error"]) for row in run.queue
                if row["status"] != "published"}
    assert problems == {}
    assert run.daemon["dry_run"] is False
    assert run.daemon["published"] == len(ACCOUNTS)
    assert (run.daemon["failed"], run.daemon["retry"], run.daemon["unknown"],
            run.daemon["paused"]) == (0, 0, 0, 0)


def test_history_shows_one_published_attempt_with_the_remote_url_for_every_account(
        run: Run) -> None:
    by_account: dict[str, list[dict[str, Any]]] = {}
    for entry in run.history:
        by_account.setdefault(entry["account"], []).append(entry)

    assert sorted(by_account) == sorted(ACCOUNTS)
    for account, entries in by_account.items():
        [entry] = entries  # one attempt each: nothing was retried or sent twice
        assert entry["outcome"] == "published", (account, entry["error"])
        assert entry["remote_url"], f"{account}: published without a URL"
        assert entry["remote_url"] == run.remote_url(account)
        assert entry["remote_id"]


def test_the_queue_lists_every_post_published_with_its_url(run: Run) -> None:
    assert sorted(row["account"] for row in run.queue) == sorted(ACCOUNTS)
    for row in run.queue:
        assert (row["status"], row["attempts"], row["error"]) == ("published", 1, None), row
        assert row["remote_url"], row["account"]


def test_the_history_table_shows_every_url(run: Run) -> None:
    for account in ACCOUNTS:
        assert run.remote_url(account) in run.history_table, account


def test_no_secret_appears_in_anything_the_cli_printed(run: Run) -> None:
    for output in run.outputs:
        for secret in secret_values():
            assert secret not in output.out, f"a secret leaked into `siar {output.command}`"
            assert secret not in output.err, f"a secret leaked into `siar {output.command}`"


# --- what each network received ----------------------------------------------------------
# "What was previewed is exactly what is published": each network must have received the
# composed parts unchanged (apart from how its API carries them), each exactly once.


def test_x_received_the_thread_as_chained_posts_with_the_photo_on_the_first(run: Run) -> None:
    posts = run.networks.x.posts
    assert [p.text for p in posts] == run.parts("x-lapas")
    assert len(run.networks.x.calls("POST", "/2/tweets")) == len(posts)
    assert posts[0].in_reply_to is None
    assert [p.in_reply_to for p in posts[1:]] == [p.id for p in posts[:-1]]
    assert [len(p.media_ids) for p in posts] == [1] + [0] * (len(posts) - 1)
    assert run.remote_url("x-lapas") == \
        f"https://x.com/{run.networks.x.username}/status/{posts[0].id}"


def test_mastodon_received_the_thread_as_replies_with_the_described_photo(run: Run) -> None:
    statuses = run.networks.mastodon.statuses
    assert [s.text for s in statuses] == run.parts("mastodon-lapas")
    assert len(run.networks.mastodon.calls("POST", "/api/v1/statuses")) == len(statuses)
    assert [s.in_reply_to_id for s in statuses] == [None] + [s.id for s in statuses[:-1]]
    assert [a.description for a in statuses[0].media] == [PHOTO_ALT]
    assert run.remote_url("mastodon-lapas").endswith(f"/{statuses[0].id}")


def test_bluesky_received_one_create_record_per_part_chained_as_replies(run: Run) -> None:
    fake = run.networks.bluesky
    records = list(fake.records.values())
    assert [r.value["text"] for r in records] == run.parts("bluesky-lapas")
    assert len(fake.calls("POST", "/xrpc/com.atproto.repo.createRecord")) == len(records)
    assert "reply" not in records[0].value
    assert [r.value["reply"]["parent"]["uri"] for r in records[1:]] == \
        [r.uri for r in records[:-1]]
    assert [i["alt"] for i in records[0].value["embed"]["images"]] == [PHOTO_ALT]
    assert run.remote_url("bluesky-lapas").endswith(f"/post/{records[0].rkey}")


def test_telegram_received_the_photo_then_the_release_as_one_html_message(run: Run) -> None:
    [text] = run.parts("telegram-lapas")
    visible = html.unescape(re.sub(r"<[^>]+>", "", text))
    assert len(visible.encode("utf-16-le")) // 2 > 1024  # too long to be a photo caption
    messages = run.networks.telegram.messages
    assert [(m.kind, m.caption, m.text) for m in messages] == \
        [("photo", None, None), ("text", None, text)]
    assert messages[1].raw["parse_mode"] == "HTML"
    # the URL leads to the message that carries the release's text
    channel = TELEGRAM_CHANNEL.lstrip("@")
    assert run.remote_url("telegram-lapas") == \
        f"https://t.me/{channel}/{messages[1].message_id}"


def test_facebook_received_one_page_post_with_the_photo(run: Run) -> None:
    [post] = run.networks.facebook.posts
    assert post.message == "\n\n".join(run.parts("facebook-lapas"))
    [photo_id] = post.photos
    assert run.networks.facebook.photos[photo_id].alt == PHOTO_ALT
    assert run.remote_url("facebook-lapas").endswith(post.id)


def test_instagram_fetched_the_photo_and_published_one_captioned_post(run: Run) -> None:
    fake = run.networks.instagram
    [media] = fake.published
    assert media.text == "\n\n".join(run.parts("instagram-lapas"))
    assert media.params["image_url"] == f"{run.networks.photos_url}/rakor-agen-informasi.jpg"
    assert media.params["alt_text"] == PHOTO_ALT
    assert len(fake.calls("POST", rf"/{fake.version}/{INSTAGRAM_USER}/media_publish")) == 1
    assert media.permalink == run.remote_url("instagram-lapas")


def test_threads_published_each_part_once_as_a_reply_to_the_one_before(run: Run) -> None:
    fake = run.networks.threads
    published = fake.published
    assert [m.text for m in published] == run.parts("threads-lapas")
    assert len(fake.calls("POST", rf"/{fake.version}/{THREADS_USER}/threads_publish")) == \
        len(published)
    assert [m.params.get("reply_to_id") for m in published] == \
        [None] + [m.id for m in published[:-1]]
    assert published[0].params["topic_tag"] == run.variant("threads-lapas")["topic_tag"]
    assert published[0].params["image_url"] == \
        f"{run.networks.photos_url}/rakor-agen-informasi.jpg"
    assert published[0].permalink == run.remote_url("threads-lapas")


def test_linkedin_kept_the_whole_commentary_of_one_post_with_the_photo(run: Run) -> None:
    # LinkedIn silently cuts a commentary at its first unescaped reserved character, so
    # the fake stores what LinkedIn would keep: it must be everything that was composed
    [post] = run.networks.linkedin.posts
    assert len(run.networks.linkedin.calls("POST", "/rest/posts")) == 1
    assert post.author == LINKEDIN_AUTHOR
    assert post.content is not None
    assert post.content["media"]["altText"] == PHOTO_ALT
    assert run.remote_url("linkedin-lapas") == \
        f"https://www.linkedin.com/feed/update/{post.urn}/"
    assert post.commentary == "\n\n".join(run.parts("linkedin-lapas"))


def test_wordpress_received_one_published_article_with_the_featured_image(run: Run) -> None:
    fake = run.networks.wordpress
    [article] = fake.posts
    variant = run.variant("wordpress-lapas")
    assert (article.status, article.title) == ("publish", variant["title"])
    assert len(fake.calls("POST", "/wp-json/wp/v2/posts")) == 1
    assert fake.media[article.featured_media].alt_text == PHOTO_ALT
    assert run.remote_url("wordpress-lapas").rstrip("/").endswith(article.slug)


def test_discord_received_each_part_once_with_the_described_photo(run: Run) -> None:
    messages = run.networks.discord.messages
    assert [m["content"] for m in messages] == run.parts("discord-humas")
    assert [a["description"] for a in messages[0]["attachments"]] == [PHOTO_ALT]
    assert run.remote_url("discord-humas").endswith(f"/{messages[0]['id']}")


def test_slack_received_each_part_once_exactly_as_composed(run: Run) -> None:
    # the composer already writes Slack mrkdwn (escaped text, <url|label> links, > quotes)
    messages = run.networks.slack.messages
    assert len(messages) == len(run.parts("slack-humas"))
    assert run.remote_url("slack-humas") == SLACK_CHANNEL_URL
    assert [m["text"] for m in messages] == run.parts("slack-humas")


def test_the_webhook_received_one_signed_delivery_with_every_part(run: Run) -> None:
    [delivered] = run.networks.webhook.created.values()
    assert len(run.networks.webhook.calls("POST")) == 1
    assert delivered["parts"] == run.parts("webhook-portal")
    assert delivered["account"] == "webhook-portal"


def test_the_email_reached_every_recipient_once_with_the_composed_subject(run: Run) -> None:
    [mail] = run.networks.email.messages
    variant = run.variant("email-redaksi")
    assert sorted(mail.rcpt_tos) == sorted(EMAIL_TO)
    assert mail.message["Subject"] == variant["subject"]
    assert run.remote_url("email-redaksi") == \
        "mid:" + mail.message["Message-ID"].strip("<>")
