"""While other daemons are alive, a claim round takes at most this daemon's fair share of
what is due: the posts the accounts with due posts may have in flight, over the daemons
alive, less what it holds already. What it leaves waits for the others, and becomes
anyone's once it has waited ``Share.wait`` after its time. Both databases."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.db import make_engine, session
from scheduler.models import Node
from scheduler.timeparse import utcnow
from tests.daemon.conftest import account_names, queue_many

NODE = "node-a"
#: a heartbeat this recent counts as alive (the daemon: three beats); generous, so that
#: the rows written do not die before the round reads them on a loaded host
ALIVE = timedelta(seconds=60)
#: seconds a post waits for the daemon whose share it is; generous, so that what was
#: due a moment ago is not yet anyone's however slowly the test runs
WAIT = 60.0


def node_row(engine: Engine, name: str, *, beat: datetime, stopped: bool = False) -> None:
    with session(engine) as s:
        s.add(Node(name=name, host="elsewhere", pid=1, heartbeat_at=beat,
                   stopped_at=beat if stopped else None))


def others_alive(engine: Engine, count: int) -> None:
    """This daemon's node row, and ``count`` more of daemons alive."""
    for i in range(count + 1):
        node_row(engine, NODE if i == 0 else f"node-{i + 1}", beat=utcnow())


def share(holding: Counter[str] | None = None, wait: float = WAIT) -> queue.Share:
    return queue.Share(alive_since=utcnow() - ALIVE, holding=holding or Counter(), wait=wait)


def due_on(engine: Engine, accounts: list[str], due: datetime, per_account: int = 1) -> None:
    queue_many(engine, [(a, due + timedelta(milliseconds=i))
                        for i in range(per_account) for a in accounts])


def test_with_two_others_alive_a_round_takes_a_third_of_the_accounts(engine: Engine) -> None:
    names = account_names(30)
    due = utcnow() - timedelta(milliseconds=200)
    due_on(engine, names, due, per_account=2)
    others_alive(engine, 2)

    batch = queue.claim_due(engine, NODE, limit=64, share=share())

    assert len(batch) == 10
    assert len({c.account for c in batch}) == 10  # one post of each: every account first
    # the rest is the others' share: not "starved" for want of this daemon's workers
    assert not batch.starved
    assert batch.deferred_until is not None
    assert batch.deferred_until - due >= timedelta(seconds=WAIT)


def test_what_a_daemon_holds_counts_against_its_share(engine: Engine) -> None:
    names = account_names(30)
    due_on(engine, names, utcnow() - timedelta(milliseconds=200), per_account=2)
    others_alive(engine, 2)
    first = queue.claim_due(engine, NODE, limit=64, share=share())
    holding = Counter(c.account for c in first)

    assert queue.claim_due(engine, NODE, limit=64, share=share(holding)) == []
    # the second daemon's round: its own share of the same thirty accounts
    second = queue.claim_due(engine, "node-2", limit=64, share=share())
    assert len(second) == 10
    assert not {c.account for c in second} & set(holding)


def test_a_daemon_stopped_or_silent_for_three_beats_takes_no_share(engine: Engine) -> None:
    names = account_names(12)
    due_on(engine, names, utcnow() - timedelta(milliseconds=200))
    others_alive(engine, 0)
    node_row(engine, "stopped", beat=utcnow(), stopped=True)
    node_row(engine, "silent", beat=utcnow() - ALIVE - timedelta(seconds=1))

    batch = queue.claim_due(engine, NODE, limit=64, share=share())

    assert len(batch) == 12
    assert batch.deferred_until is None


def test_a_post_left_to_others_longer_than_the_wait_is_anyones(engine: Engine) -> None:
    names = account_names(9)
    due_on(engine, names, utcnow() - timedelta(seconds=2))
    others_alive(engine, 2)

    batch = queue.claim_due(engine, NODE, limit=64, share=share(wait=1.0))

    assert len(batch) == 9  # the others did not come for theirs within a second
    assert batch.deferred_until is None


def test_free_workers_still_bound_the_share(engine: Engine) -> None:
    names = account_names(30)
    due_on(engine, names, utcnow() - timedelta(milliseconds=200))
    others_alive(engine, 1)

    batch = queue.claim_due(engine, NODE, limit=4, share=share())

    assert len(batch) == 4
    assert batch.starved  # its share is 15: accounts of its own wait for a worker


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_share_counts_the_posts_each_account_may_have_in_flight(
        engine: Engine, concurrency: int) -> None:
    names = account_names(4)
    due_on(engine, names, utcnow() - timedelta(milliseconds=200), per_account=3)
    others_alive(engine, 1)

    batch = queue.claim_due(engine, NODE, limit=64, default_concurrency=concurrency,
                            share=share())

    assert len(batch) == 4 * concurrency // 2


@pytest.fixture
def second_engine(pg_database_url: str) -> Iterator[Engine]:
    """Another daemon's engine on the same PostgreSQL database."""
    engine = make_engine(pg_database_url)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_daemons_claiming_at_the_same_moment_each_lock_only_their_share(
        pg_engine: Engine, second_engine: Engine) -> None:
    names = account_names(30)
    due_on(pg_engine, names, utcnow() - timedelta(milliseconds=200), per_account=2)
    others_alive(pg_engine, 1)  # node-a and node-2
    locked, release = threading.Event(), threading.Event()

    def hold_after_the_lock(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "SKIP LOCKED" in statement and "FROM accountstate" in statement:
            locked.set()
            release.wait(timeout=30)

    event.listen(pg_engine, "after_cursor_execute", hold_after_the_lock)
    first: list[queue.Claim] = []
    claiming = threading.Thread(target=lambda: first.extend(
        queue.claim_due(pg_engine, NODE, limit=64, share=share())))
    claiming.start()
    try:
        assert locked.wait(timeout=30)
        # node-a holds its accounts' rows locked, its claim not yet committed
        second = queue.claim_due(second_engine, "node-2", limit=64, share=share())
    finally:
        release.set()
        claiming.join()

    assert len(first) == len(second) == 15
    assert not {c.account for c in first} & {c.account for c in second}
