"""While the database cannot take a transaction, the committer keeps the outcomes in memory
and writes the batch again, whole, until it answers: nothing is dropped, nothing recorded
one by one against a database that is down — on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.committer import Committer
from scheduler.models import Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_many
from tests.daemon.faults import Verdict, failing_commits
from tests.daemon.test_commit_uncertain import state
from tests.daemon.test_going_on import NODE, finished, started


@dataclass
class Away:
    """The database refuses every COMMIT until :meth:`back` (the first one may go
    through all the same, reported as failed, like a connection lost during COMMIT)."""

    first_goes_through: bool
    failures: int = 0
    away: bool = True
    tried_again: threading.Event = field(default_factory=threading.Event)

    def back(self) -> None:
        self.away = False


@contextmanager
def database_away(engine: Engine, *, first_goes_through: bool = False) -> Iterator[Away]:
    fault = Away(first_goes_through)

    def verdict() -> Verdict:
        if not fault.away:
            return "commit"
        fault.failures += 1
        if fault.failures >= 3:
            fault.tried_again.set()
        return "fail after committing" if first_goes_through and fault.failures == 1 \
            else "fail"

    with failing_commits(engine, verdict):
        yield fault


@pytest.mark.parametrize("first_goes_through", [False, True],
                         ids=["nothing committed", "first COMMIT went through"])
def test_outcomes_wait_in_memory_until_the_database_answers_and_are_all_recorded(
        engine: Engine, first_goes_through: bool, caplog: pytest.LogCaptureFixture) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-b", base)])
    posts = [started(engine, "akun-a"), started(engine, "akun-b")]
    committer = Committer(engine, next_in_line=queue.NextInLine(accounts=(), node=NODE))
    with caplog.at_level(logging.WARNING), \
            database_away(engine, first_goes_through=first_goes_through) as fault:
        receipts = [committer.submit(finished(post)) for post in posts]
        assert fault.tried_again.wait(20)  # tried and tried again: not given up
        assert not any(r.done() for r in receipts)  # still waiting, kept in memory
        fault.back()
        answers = [r.result(timeout=20).recorded for r in receipts]
        committer.close()
    assert answers == [True, True]  # recorded, whether or not the first COMMIT went through
    for post in posts:
        assert state(engine, post.id) == (Status.PUBLISHED, ["published"])
    logged = [r.getMessage() for r in caplog.records]
    assert sum("does not answer" in m for m in logged) == 1, logged  # once an outage
    assert sum("answers again" in m for m in logged) == 1, logged
    assert not any("one by one" in m for m in logged), logged


def test_a_batch_the_database_refuses_is_still_recorded_one_by_one(engine: Engine) -> None:
    """A refusal of the data (not an outage) does not make the committer wait for ever:
    the other outcomes of the batch are recorded one by one, as before."""
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base)])
    post = started(engine, "akun-a")
    committer = Committer(engine)
    refused: list[int] = []

    def verdict() -> Verdict:  # once, a refusal of the data (IntegrityError), not an outage
        if refused:
            return "commit"
        refused.append(1)
        return "fail"

    with failing_commits(engine, verdict, message="a bad row in the batch",
                         error="IntegrityError"):
        receipt = committer.submit(finished(post))
        committer.close()
    assert refused and receipt.result(timeout=10).recorded is True
    assert state(engine, post.id) == (Status.PUBLISHED, ["published"])


def test_posts_a_failed_commit_may_have_begun_block_claims_until_given_back(
        engine: Engine) -> None:
    """A post begun to go on by a COMMIT that failed is given back before anything else is
    written; until then the daemon claims nothing (a claim of its own could reach the same
    attempt number, and the give-back would then take that post from its worker)."""
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    committer = Committer(engine, next_in_line=queue.NextInLine(accounts=(), node=NODE))
    with database_away(engine, first_goes_through=True) as fault:
        receipt = committer.submit(finished(post), go_on_with="akun-a")
        assert fault.tried_again.wait(20)
        assert committer.owes_give_back  # begun, maybe committed: claims wait
        fault.back()
        answer = receipt.result(timeout=20)
        committer.close()
    assert not committer.owes_give_back
    assert answer == (True, None)  # recorded; nothing to go on with after a failure
    following = list(queue.claim_due(engine, NODE, limit=5))
    assert [c.account for c in following] == ["akun-a"]  # back in the queue, claimable
    status, log = state(engine, following[0].post_id)
    assert (status, log) == (Status.CLAIMED, ["given_back"])
