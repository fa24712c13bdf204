"""What an adapter would checkpoint before its first request, when it is known ahead (its
first-send state: Mastodon's first-send time of a part), is committed with the begin —
the starter's transaction or the committer's when a worker goes on — so the request
leaves without a commit of its own, and a crash right after the begin still leaves the
probe what it needs. Both databases; the real Mastodon adapter against the fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from channels.base import InDoubt, Published
from channels.variant import Variant
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.db import session
from scheduler.models import Post, Status
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_post
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Fault

NODE = "node-a"
ACCOUNT = "mastodon-lapas"


def marked(post: queue.StartedPost) -> dict[str, Any]:
    """A first-send hook that marks every post it is given."""
    return {"first_sent": {"0": f"begun in attempt {post.attempt}"}}


def stored_state(engine: Engine, post_id: int) -> dict[str, Any]:
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return dict(post.progress.get("state", {}))


def commits(engine: Engine) -> list[int]:
    """A list that grows by one for every transaction committed on ``engine``."""
    seen: list[int] = []
    event.listen(engine, "commit", lambda connection: seen.append(1))
    return seen


# --- the queue: stored in the transaction that begins the post --------------------------------


def test_the_starter_stores_each_posts_first_send_state_with_its_begin(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    ids = [queue_post(engine, account, due) for account in ("akun-a", "akun-b")]
    claims = queue.claim_due(engine, NODE, limit=2)
    transactions = commits(engine)

    begun = queue.begin_publishing_many(
        engine, claims, NODE,
        first_send=lambda post: marked(post) if post.account == "akun-a" else {})

    assert len(transactions) == 1
    a, b = (begun[i] for i in ids)
    assert a.progress["state"] == {"first_sent": {"0": f"begun in attempt {a.attempt}"}}
    assert stored_state(engine, a.id) == a.progress["state"]
    assert "state" not in b.progress and stored_state(engine, b.id) == {}


def test_a_post_gone_on_with_has_its_first_send_state_stored_with_the_outcome(
        engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_post(engine, "akun-a", due)
    following = queue_post(engine, "akun-a", due + timedelta(milliseconds=1))
    [claim] = queue.claim_due(engine, NODE, limit=1)
    post = queue.begin_publishing(engine, claim, NODE)
    assert post is not None
    transactions = commits(engine)

    recorded, [next_post] = queue.finalize_and_begin_next(
        engine, [queue.Finalization(post.id, post.attempt, Published("r1", "https://x/1"))],
        queue.NextInLine(accounts=["akun-a"], node=NODE, first_send=marked))

    assert recorded == [True] and len(transactions) == 1
    assert next_post.id == following
    assert next_post.progress["state"] == marked(next_post)
    assert stored_state(engine, following) == marked(next_post)


def test_the_first_send_state_joins_what_earlier_attempts_checkpointed(engine: Engine) -> None:
    post_id = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE, limit=1)
    queue.record_checkpoint(engine, post_id, claim.attempt, {"media_ids": ["m1"]})

    begun = queue.begin_publishing(engine, claim, NODE, first_send=marked)

    assert begun is not None
    assert stored_state(engine, post_id) == {"media_ids": ["m1"], **marked(begun)}


# --- the real Mastodon adapter ----------------------------------------------------------------


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def publisher(db_url: str, engine: Engine, mastodon: FakeMastodon,
              monkeypatch: pytest.MonkeyPatch) -> Publisher:
    account = AccountSettings(name=ACCOUNT, network="mastodon", base_url=mastodon.url)
    monkeypatch.setenv(account.secret_variable("access_token"), mastodon.token)
    settings = Settings(database_url=db_url, node_name=NODE, accounts=[account])
    return Publisher(engine, settings, Adapters(settings), NODE)


def queue_status(engine: Engine, text: str = "Lapas menggelar pelatihan kerja") -> int:
    variant = Variant(account=ACCOUNT, channel="mastodon", parts=[text], length=[len(text)],
                      limit=500)
    _, [post] = queue.enqueue(engine, ReleaseDoc(source="t", title="Pelatihan", body="Isi."),
                              [variant], utcnow() - timedelta(seconds=1))
    return post.id  # type: ignore[return-value]


def test_a_mastodon_status_leaves_with_its_first_send_time_committed_by_the_begin(
        engine: Engine, mastodon: FakeMastodon, publisher: Publisher) -> None:
    post_id = queue_status(engine)
    [claim] = queue.claim_due(engine, NODE, limit=1)
    before = datetime.now(UTC)
    post = queue.begin_publishing(engine, claim, NODE, first_send=publisher.first_send_state)
    assert post is not None
    first_sent = stored_state(engine, post_id)["mastodon_first_sent"]
    transactions = commits(engine)

    item = publisher.send(post)

    assert isinstance(item.outcome, Published)
    assert transactions == []  # nothing committed between the begin and the outcome
    assert before <= datetime.fromisoformat(first_sent["0"]) <= datetime.now(UTC)
    assert len(mastodon.calls("POST", "/api/v1/statuses")) == 1
    # and the outcome keeps it for a later attempt
    assert item.progress is not None
    assert item.progress["state"]["mastodon_first_sent"] == first_sent


def test_a_crash_after_the_begin_leaves_the_probe_the_first_send_time_and_one_status(
        engine: Engine, mastodon: FakeMastodon, publisher: Publisher) -> None:
    post_id = queue_status(engine)
    [claim] = queue.claim_due(engine, NODE, limit=1)
    post = queue.begin_publishing(engine, claim, NODE, first_send=publisher.first_send_state)
    assert post is not None
    # Mastodon creates the status, and the answer is lost; the daemon dies before it
    # records anything
    mastodon.fail_next(Fault(apply=True, drop=True, path="/api/v1/statuses"))
    assert isinstance(publisher.send(post).outcome, InDoubt)
    queue.expire_leases_of(engine, NODE)
    assert queue.reap_expired_leases(engine) == (0, 1)

    [doubtful] = queue.in_doubt(engine, limit=10)
    verdict = publisher.probe(doubtful)

    assert isinstance(verdict, Published)
    with session(engine) as s:
        assert s.get(Post, post_id).status == Status.PUBLISHED  # type: ignore[union-attr]
    statuses = mastodon.calls("POST", "/api/v1/statuses")
    assert len(statuses) == 2  # the probe asked again with the same key …
    assert len({r.header("Idempotency-Key") for r in statuses}) == 1
    assert len(mastodon.statuses) == 1  # … and Mastodon kept one status
