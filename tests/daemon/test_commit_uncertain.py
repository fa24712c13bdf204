"""A COMMIT reported as failed may have gone through all the same (the connection broke
while the database answered). Posts a transaction began are then given back unsent, and an
outcome it recorded is reported as recorded, not as superseded — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.committer import Committer
from scheduler.daemon.starter import Starter
from scheduler.db import session
from scheduler.models import Attempt, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_many
from tests.daemon.faults import Verdict, failing_commits
from tests.daemon.test_going_on import finished, started

NODE = "node-a"


@contextmanager
def next_commit_fails(engine: Engine, *, went_through: bool) -> Iterator[list[int]]:
    """The next COMMIT raises, after (``went_through``) or instead of committing."""
    failed: list[int] = []

    def verdict() -> Verdict:
        if failed:
            return "commit"
        failed.append(1)
        return "fail after committing" if went_through else "fail"

    with failing_commits(engine, verdict, message="connection lost during COMMIT"):
        yield failed


def state(engine: Engine, post_id: int) -> tuple[str, list[str | None]]:
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        log = list(s.scalars(select(Attempt.outcome).where(Attempt.post_id == post_id)
                             .order_by(Attempt.id)))
        return post.status, log


@pytest.mark.parametrize("went_through", [True, False], ids=["committed", "rolled back"])
def test_a_post_begun_to_go_on_by_a_failed_commit_is_given_back_unsent(
        engine: Engine, went_through: bool) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    committer = Committer(engine, next_in_line=queue.NextInLine(accounts=(), node=NODE))
    with next_commit_fails(engine, went_through=went_through) as failed:
        receipt = committer.submit(finished(post), go_on_with="akun-a")
        committer.close()
    assert failed
    # recorded either way (by the COMMIT that went through, or again one by one), and
    # nothing to go on with: the worker's slot is free
    assert receipt.result(timeout=10) == (True, None)
    assert state(engine, post.id) == ("published", ["published"])
    with session(engine) as s:
        [following] = s.scalars(select(Post).where(Post.id != post.id)).all()
    status, log = state(engine, following.id)
    assert status == Status.SCHEDULED
    assert log == (["given_back"] if went_through else [])
    assert following.lease_owner is None


@pytest.mark.parametrize("went_through", [True, False], ids=["committed", "rolled back"])
def test_posts_the_starter_failed_to_begin_are_given_back_unsent(
        engine: Engine, went_through: bool) -> None:
    queue_many(engine, [("akun-a", utcnow() - timedelta(seconds=1)),
                        ("akun-b", utcnow() - timedelta(seconds=1))])
    claims = queue.claim_due(engine, NODE, limit=10)
    with next_commit_fails(engine, went_through=went_through):
        starter = Starter(engine, NODE, lease=60)
        handed = [begun.result(timeout=10) for begun in starter.submit(claims)]
        starter.close()
    assert handed == [None, None]  # no worker got them
    for claim in claims:
        status, log = state(engine, claim.post_id)
        assert status == Status.SCHEDULED
        assert log == ["given_back"]  # a claim given back, whichever way the COMMIT went
