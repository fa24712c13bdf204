"""A worker that finished a post goes on with its account's next due post, begun with the
outcome in one transaction — specified on SQLite and PostgreSQL, then in the daemon."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from channels.base import AuthFailed, Published
from scheduler import queue
from scheduler.daemon.inflight import InFlight
from scheduler.daemon.service import Daemon
from scheduler.db import is_sqlite, session
from scheduler.models import AccountState, Attempt, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, queue_many, queue_post
from tests.fakes.counting import CountingChannel, CountingNetwork

NODE = "node-a"


def started(engine: Engine, account: str) -> queue.StartedPost:
    """Claim and begin the account's first due post, as a worker would have it."""
    [claim] = queue.claim_due(engine, NODE, limit=1)
    assert claim.account == account
    post = queue.begin_publishing(engine, claim, NODE)
    assert post is not None
    return post


def finished(post: queue.StartedPost, outcome: object = None) -> queue.Finalization:
    return queue.Finalization(post.id, post.attempt,
                              outcome or Published(f"r{post.id}", f"https://x/{post.id}"))  # type: ignore[arg-type]


def go_on(engine: Engine, items: list[queue.Finalization], *accounts: str,
          **line: object) -> tuple[list[bool], list[queue.StartedPost]]:
    return queue.finalize_and_begin_next(engine, items,
                                         queue.NextInLine(accounts=accounts, node=NODE, **line))  # type: ignore[arg-type]


def row(engine: Engine, post_id: int) -> Post:
    with session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post


def test_a_finished_post_begins_the_accounts_next_due_post_in_due_order(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    first = queue_post(engine, "akun-a", base)
    third = queue_post(engine, "akun-a", base + timedelta(seconds=20))
    second = queue_post(engine, "akun-a", base + timedelta(seconds=10))
    post = started(engine, "akun-a")
    assert post.id == first

    recorded, [following] = go_on(engine, [finished(post)], "akun-a")

    assert recorded == [True]
    assert row(engine, first).status == Status.PUBLISHED
    assert (following.id, following.attempt, following.account) == (second, 1, "akun-a")
    begun = row(engine, second)
    assert (begun.status, begun.lease_owner) == (Status.PUBLISHING, NODE)
    with session(engine) as s:  # its attempt is open before anything is sent
        attempt = s.scalars(select(Attempt).where(Attempt.post_id == second)).one()
    assert (attempt.attempt, attempt.node, attempt.finished_at) == (1, NODE, None)
    assert row(engine, third).status == Status.SCHEDULED


def test_only_a_post_already_due_is_begun(engine: Engine) -> None:
    post_id = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    later = queue_post(engine, "akun-a", utcnow() + timedelta(minutes=5))
    post = started(engine, "akun-a")
    assert post.id == post_id
    assert go_on(engine, [finished(post)], "akun-a") == ([True], [])
    assert row(engine, later).status == Status.SCHEDULED


def test_each_account_goes_on_with_its_own_next_post(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-b", base + timedelta(seconds=1)),
                        ("akun-a", base + timedelta(seconds=2)),
                        ("akun-b", base + timedelta(seconds=3))])
    claims = queue.claim_due(engine, NODE, limit=2)
    posts = queue.begin_publishing_many(engine, claims, NODE)
    _, following = go_on(engine, [finished(p) for p in posts.values()], "akun-a", "akun-b")
    assert sorted(p.account for p in following) == ["akun-a", "akun-b"]
    assert all(p.id not in posts for p in following)


def test_the_accounts_concurrency_counts_posts_in_flight_on_other_daemons(
        engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base + timedelta(seconds=i)) for i in range(3)])
    mine = started(engine, "akun-a")
    # another daemon, allowed two at once, took the second post meanwhile
    [theirs] = queue.claim_due(engine, "node-b", concurrency={"akun-a": 2})
    assert go_on(engine, [finished(mine)], "akun-a") == ([True], [])
    assert row(engine, theirs.post_id).lease_owner == "node-b"
    # with room for two, the third post may go
    _, [following] = go_on(engine, [], "akun-a", concurrency={"akun-a": 2})
    assert following.id not in (mine.id, theirs.post_id)


def test_an_account_paused_by_the_outcome_recorded_with_it_does_not_go_on(
        engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    recorded, following = go_on(engine, [finished(post, AuthFailed("token revoked"))],
                                "akun-a")
    assert (recorded, following) == ([True], [])
    with session(engine) as s:
        assert s.get(AccountState, "akun-a").paused  # type: ignore[union-attr]


def test_a_rate_limited_account_does_not_go_on_until_its_reset(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    queue.set_rate_limited(engine, "akun-a", utcnow() + timedelta(minutes=15))
    assert go_on(engine, [finished(post)], "akun-a") == ([True], [])


def test_a_cancelled_post_is_passed_over(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    first = queue_post(engine, "akun-a", base)
    cancelled = queue_post(engine, "akun-a", base + timedelta(seconds=1))
    last = queue_post(engine, "akun-a", base + timedelta(seconds=2))
    post = started(engine, "akun-a")
    assert post.id == first
    assert queue.cancel(engine, [cancelled]) == [cancelled]
    _, [following] = go_on(engine, [finished(post)], "akun-a")
    assert following.id == last


def test_a_begun_post_never_sent_is_given_back_and_claimed_again_with_a_new_token(
        engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    _, [following] = go_on(engine, [finished(post)], "akun-a")

    token = [(following.id, following.attempt)]
    assert queue.give_back_unsent(engine, token, NODE) == 1
    assert queue.give_back_unsent(engine, token, NODE) == 0  # only once
    assert row(engine, following.id).status == Status.SCHEDULED
    with session(engine) as s:
        outcomes = list(s.scalars(select(Attempt.outcome)
                                  .where(Attempt.post_id == following.id)))
    assert outcomes == ["given_back"]
    [again] = queue.claim_due(engine, NODE)
    assert (again.post_id, again.attempt) == (following.id, following.attempt + 1)


def test_a_stale_outcome_is_refused_and_the_worker_still_goes_on(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    stale = queue.Finalization(post.id, post.attempt - 1, Published("r"))
    recorded, following = go_on(engine, [stale], "akun-a", concurrency={"akun-a": 2})
    assert recorded == [False]
    assert len(following) == 1  # room for two: the first post is still in flight


@pytest.mark.postgres
def test_on_postgres_an_account_another_daemon_is_claiming_for_is_skipped_not_waited_for(
        engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("SQLite has a single writer: nobody claims meanwhile")
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")
    answer: list[tuple[list[bool], list[queue.StartedPost]]] = []
    returned = threading.Event()

    def worker() -> None:
        answer.append(go_on(engine, [finished(post)], "akun-a"))
        returned.set()

    with engine.connect() as other:  # a claim round in progress holds the account's row
        other.execute(text("SELECT * FROM accountstate WHERE account = 'akun-a' FOR UPDATE"))
        thread = threading.Thread(target=worker)
        thread.start()
        # the lock is held until after this wait: a worker waiting for it never returns
        returned_while_locked = returned.wait(30)
        other.rollback()
    thread.join()
    assert returned_while_locked, "the worker waited for the account's lock"
    assert answer == [([True], [])]


@pytest.mark.postgres
def test_on_postgres_a_claim_round_does_not_hold_up_an_account_already_full(
        engine: Engine) -> None:
    """A round used to lock every account with due posts, so the worker going on with a
    full account at that moment found it locked, skipped it and waited for a round of
    its own (200 of a 5,000-post burst)."""
    if is_sqlite(engine):
        pytest.skip("SQLite has a single writer: nobody claims meanwhile")
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-a", base + timedelta(seconds=1))])
    post = started(engine, "akun-a")  # akun-a is full: concurrency 1, one in flight
    queue_post(engine, "akun-b", base + timedelta(seconds=2))
    during_round: list[tuple[list[bool], list[queue.StartedPost]]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def meanwhile(*args: object) -> None:  # the round holds its locks now
        statement = str(args[2])
        if "row_number" in statement and not during_round:
            during_round.append(go_on(engine, [finished(post)], "akun-a"))

    try:
        claims = queue.claim_due(engine, "node-b", limit=4)
    finally:
        event.remove(engine, "before_cursor_execute", meanwhile)
    assert [c.account for c in claims] == ["akun-b"]
    [(recorded, following)] = during_round
    assert recorded == [True] and [p.account for p in following] == ["akun-a"]


def test_concurrent_goers_and_claimers_never_exceed_an_accounts_concurrency(
        engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base + timedelta(milliseconds=i)) for i in range(40)])
    seen_in_flight: list[int] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def count_in_flight() -> int:
        with session(engine) as s:
            return len(s.scalars(select(Post.id).where(Post.status.in_(
                [Status.CLAIMED.value, Status.PUBLISHING.value]))).all())

    # begun before the claimer starts: otherwise it may take the account's first post
    first = started(engine, "akun-a")

    def goer() -> None:  # one worker going on and on
        try:
            post: queue.StartedPost | None = first
            while post is not None and not stop.is_set():
                seen_in_flight.append(count_in_flight())
                _, following = go_on(engine, [finished(post)], "akun-a")
                post = following[0] if following else None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def claimer() -> None:  # another daemon's claim rounds, finishing what it gets
        try:
            while not stop.is_set():
                for claim in queue.claim_due(engine, "node-b", limit=4):
                    seen_in_flight.append(count_in_flight())
                    begun = queue.begin_publishing(engine, claim, "node-b")
                    if begun is not None:
                        queue.finalize_many(engine, [finished(begun)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=goer), threading.Thread(target=claimer)]
    for thread in threads:
        thread.start()
    threads[0].join(timeout=60)
    stop.set()
    threads[1].join(timeout=60)
    assert not errors, errors
    assert max(seen_in_flight) == 1
    with session(engine) as s:
        published = s.scalars(select(Post.id).where(Post.status == Status.PUBLISHED.value)).all()
    assert len(published) >= 1


# --- in the daemon ---------------------------------------------------------------------


def run_daemon_until_drained(engine: Engine, network: CountingNetwork, names: list[str],
                             db_url: str, **daemon: object) -> Daemon:
    settings = make_settings(db_url, names, network.url, **daemon)
    runner = Daemon(settings, engine=engine, channel_classes={"counting": CountingChannel})
    runner.run(until_drained=True)
    return runner


# exactly one each: a round then finds no worker free, which must not stop them going on
@pytest.mark.parametrize("workers", [3, 4])
def test_with_a_worker_for_every_account_workers_go_on_with_their_accounts_backlog(
        engine: Engine, db_url: str, tokens: object, workers: int) -> None:
    names = ["akun-a", "akun-b", "akun-c"]
    tokens(names)  # type: ignore[operator]
    base = utcnow() - timedelta(seconds=30)
    queue_many(engine, [(names[i % 3], base + timedelta(milliseconds=i)) for i in range(90)])
    with CountingNetwork(latency=0.02) as network:
        runner = run_daemon_until_drained(engine, network, names, db_url, workers=workers,
                                          poll_interval=0.05)
        assert network.total() == 90 and network.duplicates() == {}
    assert runner.summary.published == 90
    # all but the first of each account, give or take a round that came between
    assert runner.summary.went_on >= 75


def test_with_fewer_workers_than_accounts_workers_take_turns_between_accounts(
        engine: Engine, db_url: str, tokens: object) -> None:
    tokens(["akun-busy", "akun-quiet"])  # type: ignore[operator]
    base = utcnow() - timedelta(seconds=30)
    queue_many(engine, [("akun-busy", base + timedelta(seconds=i)) for i in range(20)])
    # due just after the backlog's first post: in due order it is second, not 21st
    quiet = queue_post(engine, "akun-quiet", base + timedelta(seconds=0.5))
    with CountingNetwork(latency=0.005) as network:
        runner = run_daemon_until_drained(engine, network, ["akun-busy", "akun-quiet"],
                                          db_url, workers=1)
        order = sorted(network.arrivals.values())
    assert runner.summary.published == 21
    position = [post_id for _, _, post_id, _ in order].index(quiet)
    assert position <= 2, f"the quiet account's post went out {position + 1}th"


def test_by_default_every_post_the_accounts_may_have_in_flight_has_a_worker(
        sqlite_engine: Engine, tmp_path: object) -> None:
    url = str(sqlite_engine.url)
    many = [f"akun-{i:02d}" for i in range(12)]

    def workers(names: list[str], **daemon: object) -> int:
        return Daemon(make_settings(url, names, None, **daemon), engine=sqlite_engine).workers

    assert workers(many) == 12
    assert workers(many[:3]) == 8  # never fewer than 8
    assert workers(many, workers=4) == 4  # the operator's number wins
    settings = make_settings(url, many, None)
    settings.accounts[0].concurrency = 5
    settings.accounts[1].enabled = False
    assert Daemon(settings, engine=sqlite_engine).workers == 12 + 4 - 1


def test_a_stale_outcome_among_alike_ones_undoes_nothing_of_the_others(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    queue_many(engine, [("akun-a", base), ("akun-b", base + timedelta(seconds=1)),
                        ("akun-a", base + timedelta(seconds=2)),
                        ("akun-b", base + timedelta(seconds=3))])
    posts = sorted(queue.begin_publishing_many(
        engine, queue.claim_due(engine, NODE, limit=2), NODE).values())
    fresh, stale = finished(posts[0]), finished(posts[1])
    stale = queue.Finalization(stale.post_id, stale.attempt - 1, stale.outcome)

    recorded, following = go_on(engine, [fresh, stale], "akun-a", "akun-b")

    assert recorded == [True, False]
    assert row(engine, posts[0].id).status == Status.PUBLISHED
    assert row(engine, posts[1].id).status == Status.PUBLISHING  # its own attempt goes on
    # the account whose post is still in flight has no room; the other goes on
    assert [p.account for p in following] == [posts[0].account]


def test_a_late_end_of_an_old_attempt_leaves_the_newer_attempt_in_flight() -> None:
    """Its lease lost, a post may be claimed again while the old worker still finishes:
    the old attempt's end must not drop the new one from the posts whose leases the
    heartbeat renews."""
    table = InFlight()
    old, new = (queue.Claim(post_id=7, attempt=n, account="akun-a", network="counting")
                for n in (1, 2))
    table.add([new])
    table.finish(old)
    assert table.holds() == {7: new}
    table.finish(new)
    assert table.holds() == {}


def test_going_on_passes_the_slot_and_keeps_a_newer_attempt_of_the_finished_post() -> None:
    table = InFlight()
    first, following = (queue.Claim(post_id=n, attempt=1, account="akun-a", network="counting")
                        for n in (7, 8))
    table.add([first])
    table.pass_on(first, following)
    assert table.holds() == {8: following}
    newer = queue.Claim(post_id=8, attempt=2, account="akun-a", network="counting")
    table.add([newer])  # its lease lost, post 8 was claimed again meanwhile
    table.pass_on(following, first)
    assert table.holds() == {8: newer, 7: first}
