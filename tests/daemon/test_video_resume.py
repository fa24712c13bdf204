"""A video post through the daemon's own attempt path, on SQLite and PostgreSQL: X's
chunked upload is checkpointed in the post's row as it goes, so when processing outlasts
the attempt (in doubt), the probe sends the post back to the queue and the next attempt
waits for the same upload — the file is uploaded once and the post exists once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from channels.base import InDoubt, NotSent, Published
from channels.variant import Variant
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.db import session
from scheduler.models import Post, Status
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import utcnow
from tests.channels.video_media import as_prepared
from tests.clips import make_clip
from tests.fakes.x import FakeX

NODE = "node-a"
ACCOUNT = "x-lapas"
SECRETS = {"api_key": "xvz1evFS4wEEPTGEFPHBog", "api_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhf",
           "access_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
           "access_token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"}
APPEND = r"/2/media/upload/\d+/append"


@pytest.fixture
def x() -> Iterator[FakeX]:
    with FakeX(**SECRETS) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def publisher(db_url: str, engine: Engine, x: FakeX,
              monkeypatch: pytest.MonkeyPatch) -> Publisher:
    account = AccountSettings(name=ACCOUNT, network="x", base_url=x.url, options={
        "username": "humaslapas", "x_chunk_bytes": 16 * 1024, "upload_retry_pause": 0,
        "video_wait_seconds": 0.2, "video_poll_seconds": 0.01})
    for field, value in SECRETS.items():
        monkeypatch.setenv(account.secret_variable(field), value)
    settings = Settings(database_url=db_url, node_name=NODE, accounts=[account])
    return Publisher(engine, settings, Adapters(settings), NODE)


def queue_video_post(engine: Engine, folder: Path) -> int:
    clip = make_clip(folder / "rakor.mp4", seconds=2, width=320, height=568, fps=5)
    text = "Rakor Agen Informasi #HumasBergerakBersama"
    variant = Variant(account=ACCOUNT, channel="x", parts=[text], length=[len(text)],
                      limit=280, media=[as_prepared(clip, width=320, height=568, seconds=2)])
    _, [post] = queue.enqueue(engine, ReleaseDoc(source="t", title="Rakor", body="Isi."),
                              [variant], utcnow() - timedelta(seconds=1))
    return post.id  # type: ignore[return-value]


def attempt_now(engine: Engine, publisher: Publisher, *, later: timedelta = timedelta()
                ) -> queue.Finalization:
    [claim] = queue.claim_due(engine, NODE, limit=1, now=utcnow() + later)
    post = queue.begin_publishing(engine, claim, NODE, first_send=publisher.first_send_state)
    assert post is not None
    item = publisher.send(post)
    assert queue.finalize_many(engine, [item]) == [True]
    return item


def status_of(engine: Engine, post_id: int) -> str:
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post.status


def test_processing_that_outlasts_an_attempt_resumes_the_same_upload(
        engine: Engine, x: FakeX, publisher: Publisher, tmp_path: Path) -> None:
    post_id = queue_video_post(engine, tmp_path)
    x.videos.plan.never = True

    first = attempt_now(engine, publisher)

    assert isinstance(first.outcome, InDoubt)
    assert status_of(engine, post_id) == Status.UNKNOWN
    [upload] = x.videos.uploads.values()
    upload.processing.never = False  # X finishes processing meanwhile
    [doubtful] = queue.in_doubt(engine, limit=10)
    assert isinstance(publisher.probe(doubtful), NotSent)  # never sent: back in the queue

    second = attempt_now(engine, publisher, later=timedelta(minutes=5))

    assert isinstance(second.outcome, Published)
    assert status_of(engine, post_id) == Status.PUBLISHED
    assert len(x.calls("POST", "/2/media/upload/initialize")) == 1
    assert len(x.calls("POST", APPEND)) == len(upload.segments)
    [post] = x.posts
    assert post.media_ids == [upload.media_id]
