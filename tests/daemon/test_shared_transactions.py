"""When posts trickle in, the daemon still shares its transactions: posts due within a few
milliseconds of each other are begun together, outcomes handed over one after another are
recorded together, and a worker asks to go on only with an account that has more due —
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.committer import SMALL_BATCH, Committer
from scheduler.daemon.inflight import InFlight
from scheduler.daemon.starter import BEGIN_WINDOW, Starter
from scheduler.models import Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_many
from tests.daemon.test_commit_uncertain import state
from tests.daemon.test_going_on import NODE, finished, started


@contextmanager
def counted_commits(engine: Engine) -> Iterator[list[int]]:
    """How many transactions were committed on ``engine`` meanwhile (one list item each)."""
    commits: list[int] = []

    def count(_connection: object) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", count)


def test_outcomes_handed_over_one_after_another_are_recorded_in_one_transaction(
        engine: Engine) -> None:
    accounts = [f"akun-{i}" for i in range(SMALL_BATCH)]
    queue_many(engine, [(a, utcnow() - timedelta(minutes=1)) for a in accounts])
    posts = [started(engine, account) for account in accounts]
    # a generous window: the batch is written as soon as it is no longer small
    committer = Committer(engine, gather=60)
    with counted_commits(engine) as commits:
        receipts = [committer.submit(finished(post)) for post in posts]
        answers = [receipt.result(timeout=30).recorded for receipt in receipts]
    committer.close()
    assert answers == [True] * SMALL_BATCH
    assert len(commits) == 1
    for post in posts:
        assert state(engine, post.id) == (Status.PUBLISHED, ["published"])


def test_an_outcome_alone_is_recorded_once_the_window_has_passed(engine: Engine) -> None:
    queue_many(engine, [("akun-a", utcnow() - timedelta(minutes=1))])
    post = started(engine, "akun-a")
    committer = Committer(engine, gather=0.001)
    assert committer.record(finished(post)).recorded is True
    committer.close()
    assert state(engine, post.id) == (Status.PUBLISHED, ["published"])


def test_claims_due_within_the_begin_window_of_the_earliest_are_begun_together(
        engine: Engine) -> None:
    soon = utcnow() + timedelta(milliseconds=300)
    spacing = timedelta(seconds=BEGIN_WINDOW / 3)
    queue_many(engine, [(f"akun-{i}", soon + i * spacing) for i in range(3)])
    claims = queue.claim_due(engine, NODE, limit=3, lookahead=5)
    assert len(claims) == 3
    starter = Starter(engine, NODE, lease=60)
    with counted_commits(engine) as commits:
        begun = [future.result(timeout=30) for future in starter.submit(claims)]
    starter.close()
    assert all(post is not None for post in begun)
    assert len(commits) == 1


def test_a_worker_goes_on_only_with_an_account_the_last_round_saw_more_due_of() -> None:
    table = InFlight()
    table.take_turns = False
    table.backlog = None  # the round could not tell (it filled every free worker)
    assert table.may_go_on_with("akun-a") and table.may_go_on_with("akun-b")
    table.backlog = frozenset({"akun-a"})
    assert table.may_go_on_with("akun-a")
    assert not table.may_go_on_with("akun-b")  # nothing more due: no lock, no statement
    table.take_turns = True  # accounts wait for a worker: every worker takes turns
    assert not table.may_go_on_with("akun-a")
