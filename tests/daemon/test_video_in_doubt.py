"""Through the daemon's publisher, on both databases: a LinkedIn video that LinkedIn is
still processing when the polling time runs out leaves its post in doubt, with the
finished upload checkpointed in the database; the probe finds no post, so the post is
retried; the retry waits for the same video — nothing uploaded again — and posts once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from channels.base import InDoubt, NotSent, Published
from channels.variant import Media, Variant
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.db import session
from scheduler.models import Post, Status
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import utcnow
from tests.channels.videos import prepared_video
from tests.fakes.linkedin import LinkedInFake

NODE = "node-a"
ACCOUNT = "li-lapas"
AUTHOR = "urn:li:organization:2414183"
TEXT = "Kunjungan kerja Kakanwil ke Lapas Pangkalpinang"


@pytest.fixture
def linkedin() -> Iterator[LinkedInFake]:
    with LinkedInFake(author=AUTHOR) as fake:
        fake.video_part_bytes = 16 * 1024
        yield fake  # type: ignore[misc]


@pytest.fixture
def publisher(db_url: str, engine: Engine, linkedin: LinkedInFake,
              monkeypatch: pytest.MonkeyPatch) -> Publisher:
    account = AccountSettings(name=ACCOUNT, network="linkedin", base_url=linkedin.url,
                              options={"author": AUTHOR, "video_poll_interval": 0.01,
                                       "video_poll_timeout": 0.05, "part_retry_wait": 0})
    monkeypatch.setenv(account.secret_variable("access_token"), linkedin.token)
    settings = Settings(database_url=db_url, node_name=NODE, accounts=[account])
    return Publisher(engine, settings, Adapters(settings), NODE)


def stored(engine: Engine, post_id: int) -> tuple[Status, dict[str, Any]]:
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post.status, dict(post.progress.get("state", {}))


def send_once(engine: Engine, publisher: Publisher, *, now: Any = None) -> queue.Finalization:
    [claim] = queue.claim_due(engine, NODE, limit=1, now=now)
    post = queue.begin_publishing(engine, claim, NODE)
    assert post is not None
    item = publisher.send(post)
    assert queue.finalize_many(engine, [item]) == [True]
    return item


def test_a_video_still_processing_is_in_doubt_then_probed_and_posted_once_by_the_retry(
        engine: Engine, linkedin: LinkedInFake, publisher: Publisher, tmp_path: Path) -> None:
    video: Media = prepared_video(tmp_path)
    variant = Variant(account=ACCOUNT, channel="linkedin", parts=[TEXT], length=[len(TEXT)],
                      limit=3000, media=[video])
    _, [queued] = queue.enqueue(engine, ReleaseDoc(source="t", title="Kunjungan", body="Isi"),
                                [variant], utcnow() - timedelta(seconds=1))
    linkedin.video_polls = 10_000  # LinkedIn is still at it when the polling time ends

    first = send_once(engine, publisher)

    assert isinstance(first.outcome, InDoubt)
    status, state = stored(engine, queued.id)  # type: ignore[arg-type]
    assert status == Status.UNKNOWN
    assert state["video"]["finalized"] is True  # the upload is in the database
    [doubtful] = queue.in_doubt(engine, limit=10)
    assert isinstance(publisher.probe(doubtful), NotSent)  # no post with this commentary
    assert stored(engine, queued.id)[0] == Status.RETRY  # type: ignore[arg-type]
    [li_video] = linkedin.videos.values()
    li_video.processing.finish()
    puts = len(linkedin.calls("PUT"))

    second = send_once(engine, publisher, now=utcnow() + timedelta(minutes=5))

    assert isinstance(second.outcome, Published)
    assert stored(engine, queued.id)[0] == Status.PUBLISHED  # type: ignore[arg-type]
    assert len(linkedin.calls("PUT")) == puts  # nothing uploaded again
    assert len(linkedin.videos) == 1 and len(linkedin.posts) == 1
    assert linkedin.posts[0].content == {"media": {"id": li_video.urn}}
