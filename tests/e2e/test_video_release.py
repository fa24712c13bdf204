"""Acceptance of issue 16, end to end: a release with a video reaches every network that
takes one, through the real ``siar`` commands, on SQLite and on PostgreSQL.

A short generated clip is named under ``videos:`` in a release file; ``siar add`` (a
process of its own, as an officer runs it) probes and prepares it for every account,
``siar daemon --until-drained`` (another process) publishes live to each network's fake
on a real socket — Instagram and Threads fetch the prepared file from the daemon's own
HTTP server (``[media] store = "siar"``) — and ``siar show``/``siar queue --json`` must
report every post published once with the URL its network gave. Each fake is then asked
what it received: the upload protocol's steps in order, the post naming the uploaded
media, the cover where the network takes one, and the caption or title.

The whole flow runs once per database; each test states one rule about its result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import INSTAGRAM_USER, THREADS_USER, secret_values
from tests.e2e.test_all_networks import Output
from tests.e2e.video_setup import (
    ACCOUNTS,
    CAPTION,
    FACEBOOK_PAGE,
    PART,
    SECRETS,
    VIDEO_TITLE,
    Fakes,
    database_url_for,
    environment,
    running_fakes,
    siar,
    write_config,
    write_release,
)
from tests.fakes.s3 import free_port
from tests.fakes.video_check import check_video
from tests.fakes.youtube import UPLOAD_PATH

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

@dataclass
class Run:
    """What the officer saw at each step, and what each network received."""

    database: str
    added: dict[str, Any]
    shown: dict[str, Any]
    daemon: dict[str, Any]
    queue: list[dict[str, Any]]
    history: list[dict[str, Any]]
    outputs: list[Output]
    fakes: Fakes
    clip: Path

    def post(self, account: str) -> dict[str, Any]:
        [post] = [p for p in self.shown["posts"] if p["account"] == account]
        return dict(post)

    def video(self, account: str) -> dict[str, Any]:
        """The prepared video queued for ``account`` (as ``siar show`` names it)."""
        [video] = [m for m in self.post(account)["variant"]["media"] if m["kind"] == "video"]
        return dict(video)

    def video_bytes(self, account: str) -> bytes:
        """The prepared file's bytes, as recorded at queue time (the siar store deletes
        its public copy once published; the media store keeps the original)."""
        return Path(self.video(account)["path"]).read_bytes()

    def parts(self, account: str) -> list[str]:
        """The text composed for ``account`` at queue time (what must be published)."""
        return list(self.post(account)["variant"]["parts"])

    def remote_url(self, account: str) -> str:
        [row] = [r for r in self.queue if r["account"] == account]
        return str(row["remote_url"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp(f"video-{request.param}")
    env = environment(folder)
    with running_fakes(tmp_path_factory.mktemp("fakes")) as fakes:
        write_config(folder, fakes, database_url_for(request, folder), free_port())
        write_release(folder)
        added = siar(folder, env, "add", "rilis.md", "--at", "now", "--json")
        release = str(added.json()["release"])
        shown = siar(folder, env, "show", release, "--json")
        daemon = siar(folder, env, "--verbose", "daemon", "--until-drained", "--json")
        queue = siar(folder, env, "queue", "--all", "--json")
        history = siar(folder, env, "history", "--json")
        shown_after = siar(folder, env, "show", release, "--json")
        yield Run(database=request.param, added=added.json(), shown=shown_after.json(),
                  daemon=daemon.json(), queue=queue.json(), history=history.json(),
                  outputs=[added, shown, daemon, queue, history, shown_after], fakes=fakes,
                  clip=folder / "video" / "kunjungan.mp4")


# --- what the officer sees ---------------------------------------------------------------


def test_the_release_is_queued_once_for_every_account_with_its_prepared_video(
        run: Run) -> None:
    assert sorted((p["account"], p["channel"]) for p in run.added["posts"]) == \
        sorted(ACCOUNTS.items())
    for account in ACCOUNTS:
        video = run.video(account)
        data = run.video_bytes(account)
        assert hashlib.sha256(data).hexdigest() == video["sha256"], account
        assert check_video(data, codecs=("h264",)) is None, account
        assert (video["alt"], video["title"]) == (CAPTION, VIDEO_TITLE), account


def test_one_live_daemon_run_publishes_every_post_once_and_nothing_fails(run: Run) -> None:
    problems = {row["account"]: (row["status"], row["error"]) for row in run.queue
                if row["status"] != "published"}
    assert problems == {}
    assert run.daemon["dry_run"] is False and run.daemon["published"] == len(ACCOUNTS)
    assert (run.daemon["failed"], run.daemon["retry"], run.daemon["unknown"]) == (0, 0, 0)
    for row in run.queue:
        assert (row["status"], row["attempts"], row["error"]) == ("published", 1, None), row
        assert row["remote_url"], row["account"]


def test_show_and_history_name_one_published_attempt_with_its_url_per_account(
        run: Run) -> None:
    for account in ACCOUNTS:
        post = run.post(account)
        assert post["status"] == "published", (account, post)
        assert post["remote_url"] == run.remote_url(account)
        [entry] = [e for e in run.history if e["account"] == account]
        assert (entry["outcome"], entry["remote_url"]) == ("published", post["remote_url"])


def test_no_secret_appears_in_anything_the_cli_printed(run: Run) -> None:
    secrets = [value for given in SECRETS.values() for name, value in given.items()
               if name != "username"]
    for output in run.outputs:
        for secret in [*secrets, *secret_values()]:
            assert secret not in output.out + output.err, f"leaked by siar {output.command}"


# --- what each network received ----------------------------------------------------------


def test_x_got_the_chunks_init_to_status_then_one_post_naming_the_media(run: Run) -> None:
    fake = run.fakes.x
    [upload] = fake.videos.uploads.values()
    assert upload.data == run.video_bytes("x-lapas") and len(upload.segments) > 1
    steps = [r.path.split("/")[-1] for r in fake.requests if "/2/media/upload" in r.path]
    assert steps[0] == "initialize" and steps[-1] == "upload"  # STATUS: GET /2/media/upload
    assert steps.index("finalize") == len(upload.segments) + 1
    [post] = fake.posts
    assert [post.text] == run.parts("x-lapas")
    assert post.media_ids == [upload.media_id]
    assert fake.media[upload.media_id]["alt_text"] == CAPTION
    assert run.remote_url("x-lapas").endswith(f"/status/{post.id}")


def test_mastodon_processed_the_video_then_one_status_named_it(run: Run) -> None:
    fake = run.fakes.mastodon
    [attachment] = fake.attachments.values()
    assert attachment.data == run.video_bytes("mastodon-lapas")
    assert attachment.description == CAPTION and attachment.thumbnail  # the cover
    assert fake.calls("GET", f"/api/v1/media/{attachment.id}")
    [status] = fake.statuses
    assert [status.text] == run.parts("mastodon-lapas")
    assert [m.id for m in status.media] == [attachment.id]
    assert run.remote_url("mastodon-lapas").endswith(f"/{status.id}")


def test_bluesky_embedded_the_processed_video_with_its_aspect_ratio(run: Run) -> None:
    fake = run.fakes.bluesky
    [job] = fake.video.jobs.values()
    assert fake.calls("GET", "/xrpc/app.bsky.video.getUploadLimits")
    assert fake.calls("GET", "/xrpc/app.bsky.video.getJobStatus")
    [record] = fake.records.values()
    assert [record.value["text"]] == run.parts("bluesky-lapas")
    embed = record.value["embed"]
    assert embed["$type"] == "app.bsky.embed.video" and embed["video"] == job.blob
    assert (embed["alt"], embed["aspectRatio"]) == (CAPTION, {"width": 360, "height": 640})
    assert run.remote_url("bluesky-lapas").endswith(f"/post/{record.rkey}")


def test_telegram_got_one_send_video_with_its_thumbnail(run: Run) -> None:
    messages = run.fakes.telegram.messages
    assert messages[0].kind == "video"
    assert messages[0].video == run.video_bytes("telegram-lapas")
    assert messages[0].raw["thumbnail"] == "attach://thumb"
    assert "\n\n".join(m.caption or m.text or "" for m in messages) == \
        "\n\n".join(run.parts("telegram-lapas"))
    assert len([m for m in messages if m.kind == "video"]) == 1
    assert run.remote_url("telegram-lapas").startswith("https://t.me/humaslapas/")


def test_facebook_got_the_file_resumably_then_one_page_video(run: Run) -> None:
    fake = run.fakes.facebook
    offsets = [int(r.header("file_offset") or 0)
               for r in fake.calls("POST", r"/v\d+\.\d+/upload:.*")]
    size = len(run.video_bytes("facebook-lapas"))
    assert offsets == list(range(0, size, PART))
    assert len(fake.calls("POST", rf"/v\d+\.\d+/{FACEBOOK_PAGE}/videos")) == 1
    [video] = fake.videos.values()
    assert video.data == run.video_bytes("facebook-lapas")
    assert (video.title, video.status) == (VIDEO_TITLE, "ready")
    assert video.thumb is not None  # the prepared cover, as the thumb file
    assert video.description == "\n\n".join(run.post("facebook-lapas")["variant"]["parts"])
    assert run.remote_url("facebook-lapas").endswith(f"/{FACEBOOK_PAGE}/videos/{video.id}/")


def test_instagram_fetched_the_reel_and_its_cover_from_the_daemon_and_published_once(
        run: Run) -> None:
    fake = run.fakes.instagram
    [media] = fake.published
    assert media.params["media_type"] == "REELS"
    assert media.params["caption"] == "\n\n".join(run.post("instagram-lapas")["variant"]
                                                  ["parts"])
    assert {media.params["video_url"], media.params["cover_url"]} <= set(fake.fetched)
    assert all(url.startswith("http://127.0.0.1:") and "/siar/" in url
               for url in fake.fetched)
    assert len(fake.calls("POST", rf"/{fake.version}/{INSTAGRAM_USER}/media_publish")) == 1
    assert media.permalink == run.remote_url("instagram-lapas")


def test_threads_fetched_the_video_and_published_it_once(run: Run) -> None:
    fake = run.fakes.threads
    [media] = fake.published
    assert (media.params["media_type"], media.params["alt_text"]) == ("VIDEO", CAPTION)
    assert [media.text] == run.parts("threads-lapas")
    assert media.params["video_url"] in fake.fetched
    assert len(fake.calls("POST", rf"/{fake.version}/{THREADS_USER}/threads_publish")) == 1
    assert media.permalink == run.remote_url("threads-lapas")


def test_linkedin_got_the_parts_finalized_then_one_post_with_the_video(run: Run) -> None:
    fake = run.fakes.linkedin
    [video] = fake.videos.values()
    parts = fake.calls("PUT", r"/dms-uploads/video/.*/part/\d+")
    assert len(parts) > 1 and b"".join(r.body for r in parts) == \
        run.video_bytes("linkedin-lapas")
    actions = [r.query.get("action") for r in fake.calls("POST", "/rest/videos")]
    assert actions == [["initializeUpload"], ["finalizeUpload"]]
    assert video.wants_thumbnail and video.thumbnail  # the cover
    [post] = fake.posts
    assert post.commentary == "\n\n".join(run.parts("linkedin-lapas"))
    assert post.content is not None and post.content["media"]["id"] == video.urn
    assert run.remote_url("linkedin-lapas").endswith(f"{post.urn}/")


def test_wordpress_opened_the_article_with_the_video_and_its_poster(run: Run) -> None:
    fake = run.fakes.wordpress
    video, poster = fake.media.values()
    assert video.data == run.video_bytes("wordpress-lapas") and poster.mime == "image/jpeg"
    [article] = fake.posts
    assert article.featured_media == poster.id
    assert article.content.startswith(f'<!-- wp:video {{"id": {video.id}}} -->')
    assert f"poster=\"{fake.url}/wp-content/uploads/" in article.content
    assert run.remote_url("wordpress-lapas").rstrip("/").endswith(article.slug)


def test_discord_got_the_video_as_one_described_attachment(run: Run) -> None:
    [message] = run.fakes.discord.messages
    [attachment] = message["attachments"]
    assert attachment["description"] == CAPTION
    assert attachment["filename"].endswith(".mp4")


def hosted_file(run: Run, url: str) -> Path:
    """Where the ``siar`` store keeps what it serves at ``url`` (the daemon that served it
    has stopped; the file is what a reader would have fetched)."""
    token, name = url.split("/media/", 1)[1].split("/")
    return run.clip.parent.parent / "public-media" / token / name


def test_the_webhook_got_the_hosted_video_and_its_cover(run: Run) -> None:
    [delivered] = run.fakes.webhook.created.values()
    [video] = [m for m in delivered["media"] if m["mime"] == "video/mp4"]
    assert (video["alt"], video["filename"], video["title"]) == (
        CAPTION, Path(run.video("webhook-portal")["path"]).name, VIDEO_TITLE)
    assert video["url"].startswith("http://127.0.0.1:") and "/siar/media/" in video["url"]
    assert hosted_file(run, video["url"]).read_bytes() == run.video_bytes("webhook-portal")
    cover = video["cover"]
    assert cover["mime"] == "image/jpeg" and "/siar/media/" in cover["url"]
    assert hosted_file(run, cover["url"]).read_bytes() == \
        Path(run.video("webhook-portal")["cover"]).read_bytes()


def test_the_email_shows_the_cover_linked_to_the_hosted_video_and_attaches_nothing_big(
        run: Run) -> None:
    [mail] = run.fakes.email.messages
    assert not [part for part in mail.message.walk()
                if part.get_content_type().startswith("video/")]  # the account allows none
    text = mail.message.get_body(("plain",)).get_content()
    [url] = re.findall(r"Tonton video \(0:0\d\): (\S+)", text)
    assert "/siar/media/" in url
    assert hosted_file(run, url).read_bytes() == run.video_bytes("email-redaksi")
    html = mail.message.get_body(("html",)).get_content()
    [cid] = re.findall(rf'<a href="{re.escape(url)}"><img src="cid:([^"]+)"', html)
    [cover] = [part for part in mail.message.walk() if part["Content-ID"] == f"<{cid}>"]
    assert cover.get_content_type() == "image/jpeg"
    assert not any("takes no video" in w for w in run.post("email-redaksi")["variant"]
                   .get("warnings", []))


def test_youtube_got_the_video_resumably_with_its_title_and_thumbnail(run: Run) -> None:
    fake = run.fakes.youtube
    [video] = fake.videos
    assert video.data == run.video_bytes("youtube-lapas")
    assert video.resource["snippet"]["title"] == VIDEO_TITLE  # the video's own title
    assert video.resource["snippet"]["description"].startswith("Kepala Kantor Wilayah")
    assert video.resource["status"]["privacyStatus"] == "unlisted"
    assert len(fake.calls("POST", UPLOAD_PATH)) == 1 and fake.calls("PUT", UPLOAD_PATH)
    assert video.thumbnail is not None  # the prepared cover
    assert video.id in run.remote_url("youtube-lapas")


def test_tiktok_asked_the_creator_then_uploaded_the_file_and_published_once(
        run: Run) -> None:
    fake = run.fakes.tiktok
    paths = [r.path for r in fake.requests]
    assert paths.index("/v2/post/publish/creator_info/query/") < \
        paths.index("/v2/post/publish/video/init/")
    [published] = fake.posts
    assert published.received == published.video_size == \
        len(run.video_bytes("tiktok-lapas"))
    assert published.title == "\n\n".join(run.parts("tiktok-lapas"))  # the caption
    assert published.privacy_level == "PUBLIC_TO_EVERYONE"
    assert published.post_id and published.post_id in run.remote_url("tiktok-lapas")


def test_every_prepared_video_still_matches_its_sha256(run: Run) -> None:
    for account in ACCOUNTS:
        video = run.video(account)
        assert re.fullmatch(r"[0-9a-f]{64}", video["sha256"])
        assert Path(video["path"]).parent.name == video["sha256"]
