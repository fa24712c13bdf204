"""Issue 16's failure cases through the real path, on SQLite and on PostgreSQL: a release
with a video queued by ``siar add`` and published by ``siar daemon`` (processes of their
own) to networks whose fakes misbehave on purpose.

* Processing that fails (X, TikTok, YouTube): the network's reason is in ``siar show``,
  the post is ``failed`` — never marked published — and nothing was posted.
* Processing that outlasts an attempt (Mastodon, Bluesky, Facebook, LinkedIn; each
  attempt may wait for only one status answer here): the post is in doubt, the probe
  settles it, and a later attempt waits for the *same* upload — one upload, one post.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scheduler.db import make_engine
from scheduler.states import Status
from tests.daemon.processes import count_by_status, wait_for
from tests.e2e import video_setup as office
from tests.e2e.video_setup import Fakes, Output
from tests.fakes.processing import Processing
from tests.fakes.s3 import free_port
from tests.fakes.youtube import UPLOAD_PATH

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

X_REASON = "Video could not be transcoded: unsupported audio layout"
TIKTOK_REASON = "file_format_check_failed"
FAILING = {"x-lapas": "x", "tiktok-lapas": "tiktok", "youtube-lapas": "youtube"}
#: processing takes two status answers more than the first attempt waits for
SLOW = {"mastodon-lapas": "mastodon", "bluesky-lapas": "bluesky",
        "facebook-lapas": "facebook", "linkedin-lapas": "linkedin"}
#: each attempt asks once and gives up waiting (``limit`` 0); in doubt, the post is
#: probed at once and tried again soon
NO_WAIT = {"mastodon-lapas": {"video_wait_seconds": 0},
           "bluesky-lapas": {"video_wait_seconds": 0},
           "facebook-lapas": {"video_poll_timeout": 0},
           "linkedin-lapas": {"video_poll_timeout": 0}}
SETTLED = {Status.PUBLISHED, Status.FAILED}
QUICK_RETRIES = ("max_attempts = 6", "backoff_base = 0.05", "backoff_max = 0.2",
                 "probe_seconds = 0.1")


@dataclass
class Run:
    shown: dict[str, Any]
    queue: list[dict[str, Any]]
    history: list[dict[str, Any]]
    fakes: Fakes
    outputs: list[Output]

    def row(self, account: str) -> dict[str, Any]:
        [row] = [r for r in self.queue if r["account"] == account]
        return dict(row)

    def attempts(self, account: str) -> list[dict[str, Any]]:
        """The account's attempts, oldest first."""
        return sorted((e for e in self.history if e["account"] == account),
                      key=lambda e: e["attempt"])


def misbehave(fakes: Fakes) -> None:
    fakes.x.videos.plan = Processing(polls=1, fails=X_REASON)
    fakes.tiktok.fail_reason = TIKTOK_REASON
    fakes.youtube.processing_result = "failed"
    fakes.mastodon.video_processing = Processing(polls=2)
    fakes.bluesky.video.plan = Processing(polls=2)
    fakes.facebook.video_polls = 2
    fakes.linkedin.video_polls = 2


def daemon_until_settled(folder: Path, env: dict[str, str], database_url: str) -> Output:
    """``siar daemon`` as a process of its own, stopped (SIGTERM, as an operator would)
    once every post is published or failed. Not ``--until-drained``: that stops as soon
    as nothing is scheduled or being sent, and a post in doubt waiting for its probe is
    neither."""
    engine = make_engine(database_url)
    log = folder / "daemon.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([str(office.SIAR), "daemon", "--json"], cwd=folder, env=env,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            wait_for(lambda: set(count_by_status(engine)) <= SETTLED,
                     office.DAEMON_DEADLINE_SECONDS, "every post published or failed")
        finally:
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=office.DAEMON_DEADLINE_SECONDS)
            engine.dispose()
    return Output("daemon --json", process.returncode, out, log.read_text())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp(f"video-failures-{request.param}")
    database_url = office.database_url_for(request, folder)
    env = office.environment(folder)
    with office.running_fakes(tmp_path_factory.mktemp("fakes")) as fakes:
        misbehave(fakes)
        tables = office.account_tables(fakes)
        for account, options in NO_WAIT.items():
            tables[account]["options"] = {**tables[account]["options"], **options}
        office.write_config(folder, fakes, database_url, free_port(), accounts={**FAILING, **SLOW},
                     tables=tables, daemon=QUICK_RETRIES)
        office.write_release(folder)
        added = office.siar(folder, env, "add", "rilis.md", "--at", "now", "--json")
        release = str(added.json()["release"])
        daemon = daemon_until_settled(folder, env, database_url)
        queue = office.siar(folder, env, "queue", "--all", "--json")
        history = office.siar(folder, env, "history", "--json")
        shown = office.siar(folder, env, "show", release, "--json")
        assert daemon.code == 0, daemon.err[-3000:]
        yield Run(shown=shown.json(), queue=queue.json(), history=history.json(),
                  fakes=fakes, outputs=[added, daemon, queue, history, shown])


# --- processing that fails ----------------------------------------------------------------


@pytest.mark.parametrize("account", FAILING)
def test_processing_that_fails_leaves_the_post_failed_never_published(
        run: Run, account: str) -> None:
    row = run.row(account)
    assert (row["status"], row["remote_url"]) == ("failed", None), row
    [attempt] = run.attempts(account)  # refused for good: not tried again
    assert attempt["outcome"] != "published"
    [post] = [p for p in run.shown["posts"] if p["account"] == account]
    assert post["status"] == "failed" and post["error"] == row["error"]


def test_xs_reason_reaches_the_officer_and_x_got_no_post(run: Run) -> None:
    assert X_REASON in run.row("x-lapas")["error"]
    assert run.fakes.x.posts == []
    [upload] = run.fakes.x.videos.uploads.values()
    assert upload.processing.state == "failed"


def test_tiktoks_reason_reaches_the_officer_and_nothing_was_published(run: Run) -> None:
    assert TIKTOK_REASON in run.row("tiktok-lapas")["error"]
    assert run.fakes.tiktok.posts == []


def test_youtubes_failed_processing_is_named_and_the_upload_was_not_repeated(
        run: Run) -> None:
    assert "failed" in run.row("youtube-lapas")["error"].lower()
    assert len(run.fakes.youtube.calls("POST", UPLOAD_PATH)) == 1


# --- processing that outlasts an attempt ---------------------------------------------------


@pytest.mark.parametrize("account", SLOW)
def test_processing_past_an_attempt_is_in_doubt_then_published_once(
        run: Run, account: str) -> None:
    row = run.row(account)
    assert (row["status"], row["error"]) == ("published", None), row
    assert row["remote_url"]
    outcomes = [entry["outcome"] for entry in run.attempts(account)]
    # in doubt after the upload; the probe found no post, so it was tried again
    assert "in_doubt" in outcomes and "settled_retry" in outcomes, outcomes
    assert outcomes.count("published") == 1


def test_mastodon_got_one_upload_and_one_status(run: Run) -> None:
    fake = run.fakes.mastodon
    assert len(fake.calls("POST", "/api/v2/media")) == 1
    [attachment] = fake.attachments.values()
    [status] = fake.statuses
    assert [m.id for m in status.media] == [attachment.id]


def test_bluesky_got_one_upload_and_one_post(run: Run) -> None:
    fake = run.fakes.bluesky
    assert len(fake.calls("POST", "/xrpc/app.bsky.video.uploadVideo")) == 1
    [job] = fake.video.jobs.values()
    [record] = fake.records.values()
    assert record.value["embed"]["video"] == job.blob


def test_facebook_made_one_video(run: Run) -> None:
    fake = run.fakes.facebook
    [video] = fake.videos.values()
    assert video.status == "ready"
    assert len(fake.calls("POST", r"/v\d+\.\d+/\d+/videos")) == 1


def test_linkedin_got_the_parts_once_and_one_post(run: Run) -> None:
    fake = run.fakes.linkedin
    [video] = fake.videos.values()
    [post] = fake.posts
    assert post.content is not None and post.content["media"]["id"] == video.urn
    actions = [r.query.get("action") for r in fake.calls("POST", "/rest/videos")]
    assert actions == [["initializeUpload"], ["finalizeUpload"]]
