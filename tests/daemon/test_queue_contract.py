"""The queue's state machine, specified once and run against SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from channels.base import AuthFailed, InDoubt, NotSent, Published, Rejected
from scheduler import queue
from scheduler.db import session
from scheduler.errors import InvalidTransition
from scheduler.models import AccountState, Attempt, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_many, queue_post

NODE = "node-a"


def status_of(engine: Engine, post_id: int) -> str:
    with session(engine) as s:
        return s.get(Post, post_id).status  # type: ignore[union-attr]


def log_of(engine: Engine, post_id: int) -> list[str | None]:
    with session(engine) as s:
        return list(s.scalars(select(Attempt.outcome).where(Attempt.post_id == post_id)
                              .order_by(Attempt.id)))


def publish(engine: Engine, claim: queue.Claim, outcome: object, **kwargs: object) -> bool:
    assert queue.begin_publishing(engine, claim, NODE) is not None
    return queue.finalize(engine, claim.post_id, claim.attempt, outcome, **kwargs)  # type: ignore[arg-type]


def test_a_due_post_is_claimed_once_with_a_new_fencing_token(engine: Engine) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE)
    assert (claim.post_id, claim.attempt) == (post, 1)
    assert status_of(engine, post) == Status.CLAIMED
    assert queue.claim_due(engine, "node-b") == []


def test_a_post_is_not_claimed_before_its_time(engine: Engine) -> None:
    queue_post(engine, "akun-a", utcnow() + timedelta(minutes=5))
    assert queue.claim_due(engine, NODE) == []
    assert queue.next_due(engine) is not None


def test_the_next_due_moment_is_the_earliest_post_or_rate_limit_reset_ahead(
        engine: Engine) -> None:
    now = utcnow()
    assert queue.next_due(engine, now=now) is None
    queue_post(engine, "akun-a", now - timedelta(minutes=1))  # due already: not ahead
    queue_post(engine, "akun-b", now + timedelta(minutes=10))
    assert queue.next_due(engine, now=now) == now + timedelta(minutes=10)
    queue.ensure_accounts(engine, {"akun-c": 1})
    queue.set_rate_limited(engine, "akun-c", now + timedelta(minutes=3))
    assert queue.next_due(engine, now=now) == now + timedelta(minutes=3)


def test_an_account_never_has_more_posts_in_flight_than_its_concurrency(engine: Engine) -> None:
    now = utcnow() - timedelta(seconds=5)
    queue_many(engine, [("akun-a", now + timedelta(milliseconds=i)) for i in range(5)])
    first = queue.claim_due(engine, NODE, limit=10)
    assert len(first) == 1
    assert queue.claim_due(engine, "node-b", limit=10) == []
    more = queue.claim_due(engine, "node-b", limit=10, concurrency={"akun-a": 3})
    assert len(more) == 2


def test_one_accounts_backlog_never_starves_another(engine: Engine) -> None:
    old = utcnow() - timedelta(minutes=10)
    queue_many(engine, [("akun-busy", old + timedelta(seconds=i)) for i in range(50)])
    other = queue_post(engine, "akun-quiet", utcnow() - timedelta(seconds=1))
    claims = queue.claim_due(engine, NODE, limit=2, concurrency={"akun-busy": 10})
    assert other in {c.post_id for c in claims}


def test_claims_come_in_due_order_within_an_account(engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=1)
    late = queue_post(engine, "akun-a", base + timedelta(seconds=30))
    early = queue_post(engine, "akun-a", base)
    [claim] = queue.claim_due(engine, NODE)
    assert claim.post_id == early
    assert publish(engine, claim, Published("r1"))
    [claim] = queue.claim_due(engine, NODE)
    assert claim.post_id == late


def test_a_paused_account_is_skipped_while_others_proceed(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_post(engine, "akun-paused", due)
    [claim] = queue.claim_due(engine, NODE)
    assert publish(engine, claim, AuthFailed("HTTP 401: token revoked"))
    queue_post(engine, "akun-paused", due)
    free = queue_post(engine, "akun-free", due)
    assert [c.post_id for c in queue.claim_due(engine, NODE, limit=10)] == [free]


def test_a_rate_limited_account_waits_for_its_reset_while_others_proceed(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    limited = queue_post(engine, "akun-limited", due)
    free = queue_post(engine, "akun-free", due)
    queue.set_rate_limited(engine, "akun-limited", utcnow() + timedelta(minutes=15))
    claims = queue.claim_due(engine, NODE, limit=10)
    assert [c.post_id for c in claims] == [free]
    later = utcnow() + timedelta(minutes=16)
    assert [c.post_id for c in queue.claim_due(engine, NODE, now=later)] == [limited]


def test_finalize_is_fenced_by_the_attempt_number(engine: Engine) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE)
    assert queue.begin_publishing(engine, claim, NODE) is not None
    assert not queue.finalize(engine, post, claim.attempt + 1, Published("late"))
    assert queue.finalize(engine, post, claim.attempt, Published("ok"))
    assert not queue.finalize(engine, post, claim.attempt, Rejected("stale answer"))
    assert status_of(engine, post) == Status.PUBLISHED


@pytest.mark.parametrize(("outcome", "status"), [
    (Published("r1", "https://x/r1"), Status.PUBLISHED),
    (Rejected("HTTP 422: text too long"), Status.FAILED),
    (NotSent("connection refused"), Status.RETRY),
    (AuthFailed("HTTP 401"), Status.PAUSED),
    (InDoubt("no answer in 30s"), Status.UNKNOWN),
])
def test_each_outcome_has_one_next_state_and_is_logged(engine: Engine, outcome: object,
                                                       status: Status) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE)
    assert publish(engine, claim, outcome)
    assert status_of(engine, post) == status
    assert log_of(engine, post) == [queue.outcome_name(outcome)]  # type: ignore[arg-type]


def test_an_expired_claim_goes_back_but_an_expired_publish_becomes_unknown(
        engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    claimed = queue_post(engine, "akun-a", due)
    publishing = queue_post(engine, "akun-b", due)
    claims = {c.post_id: c for c in queue.claim_due(engine, NODE, lease=0.5, limit=10)}
    assert queue.begin_publishing(engine, claims[publishing], NODE, lease=0.5) is not None
    later = utcnow() + timedelta(seconds=5)
    assert queue.reap_expired_leases(engine, now=later) == (1, 1)
    assert status_of(engine, claimed) == Status.SCHEDULED
    assert status_of(engine, publishing) == Status.UNKNOWN
    assert log_of(engine, claimed) == ["lease_expired"]
    assert log_of(engine, publishing) == ["crashed"]
    # the crashed worker's late answer must not overwrite the verdict
    assert not queue.finalize(engine, publishing, claims[publishing].attempt, Published("x"))


def test_an_unknown_post_is_never_claimed_again_until_settled(engine: Engine) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE)
    assert publish(engine, claim, InDoubt("reset after send"))
    assert queue.claim_due(engine, NODE) == []
    assert queue.resolve(engine, post, resend=True) == Status.RETRY
    [again] = queue.claim_due(engine, NODE)
    assert again.attempt == claim.attempt + 1


def test_staff_resolve_accepts_exactly_one_choice_and_only_for_unknown_posts(
        engine: Engine) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    with pytest.raises(InvalidTransition):
        queue.resolve(engine, post, abandon=True)
    [claim] = queue.claim_due(engine, NODE)
    assert publish(engine, claim, InDoubt("timeout"))
    with pytest.raises(InvalidTransition):
        queue.resolve(engine, post, resend=True, abandon=True)
    assert queue.resolve(engine, post, published_url="https://x.com/humas/status/1"
                         ) == Status.PUBLISHED
    with session(engine) as s:
        stored = s.get(Post, post)
    assert stored.remote_url == "https://x.com/humas/status/1"  # type: ignore[union-attr]
    assert log_of(engine, post)[-1] == "settled_published"


def test_posts_older_than_the_grace_period_become_missed_not_sent(engine: Engine) -> None:
    now = utcnow()
    stale = queue_post(engine, "akun-a", now - timedelta(hours=3))
    fresh = queue_post(engine, "akun-b", now - timedelta(minutes=10))
    missed = queue.mark_missed(engine, timedelta(hours=1))
    assert [m.post_id for m in missed] == [stale]
    assert status_of(engine, stale) == Status.MISSED
    assert log_of(engine, stale) == ["missed"]
    assert [c.post_id for c in queue.claim_due(engine, NODE, limit=10)] == [fresh]


def test_resuming_an_account_sends_its_paused_posts_again(engine: Engine) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE)
    assert publish(engine, claim, AuthFailed("HTTP 401"))
    with session(engine) as s:
        assert s.get(AccountState, "akun-a").paused  # type: ignore[union-attr]
    assert queue.resume_account(engine, "akun-a") == 1
    [again] = queue.claim_due(engine, NODE)
    assert again.post_id == post
    assert log_of(engine, post) == ["auth_failed", "resumed"]


def test_a_graceful_stop_gives_back_claims_not_yet_sent(engine: Engine) -> None:
    post = queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, NODE)
    assert queue.give_back_claim(engine, claim, NODE)
    assert status_of(engine, post) == Status.SCHEDULED
    assert log_of(engine, post) == ["given_back"]


def test_concurrent_claimers_never_claim_a_post_twice(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    accounts = [f"akun-{i}" for i in range(10)]
    queue_many(engine, [(accounts[i % 10], due + timedelta(milliseconds=i)) for i in range(200)])
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(node: str) -> None:
        for _ in range(60):
            claims = queue.claim_due(engine, node, limit=5)
            for claim in claims:
                assert queue.begin_publishing(engine, claim, node) is not None
                assert queue.finalize(engine, claim.post_id, claim.attempt, Published("r"))
            with lock:
                claimed.extend(c.post_id for c in claims)

    threads = [threading.Thread(target=claimer, args=(f"node-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed))
    with session(engine) as s:
        left = s.scalars(select(Post.id).where(Post.status != Status.PUBLISHED)).all()
    assert len(claimed) + len(left) == 200


def test_a_claim_round_reports_the_accounts_it_held_back(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_many(engine, [("akun-a", due), ("akun-a", due + timedelta(milliseconds=1)),
                        ("akun-b", due)])
    batch = queue.claim_due(engine, NODE, limit=10)
    assert {c.account for c in batch} == {"akun-a", "akun-b"}
    assert batch.held_back == {"akun-a"}  # its second post waits for the first


def test_claims_may_look_ahead_but_carry_the_time_to_send(engine: Engine) -> None:
    now = utcnow()  # the rounds' clock, fixed: a slow host must not make the post due
    due = now + timedelta(seconds=0.5)
    post = queue_post(engine, "akun-a", due)
    assert queue.claim_due(engine, NODE, now=now) == []
    [claim] = queue.claim_due(engine, NODE, lookahead=1.0, now=now)
    assert claim.post_id == post
    assert claim.not_before is not None and abs((claim.not_before - due).total_seconds()) < 1e-3


def test_busy_accounts_due_first_do_not_keep_a_small_round_from_idle_accounts(
        engine: Engine) -> None:
    # A burst: every account has several posts due at once, eight of them already have
    # their one post in flight, and a single worker is free (a window of 4 accounts).
    due = utcnow() - timedelta(seconds=1)
    names = [f"akun-{i:02d}" for i in range(12)]
    queue_many(engine, [(name, due) for _ in range(3) for name in names])
    in_flight = queue.claim_due(engine, NODE, limit=8)
    assert len(in_flight) == 8
    [claim] = queue.claim_due(engine, NODE, limit=1)
    assert claim.account not in {c.account for c in in_flight}


def test_a_round_that_saw_only_some_accounts_says_so(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_many(engine, [(f"akun-{i:02d}", due) for i in range(6)])
    assert queue.claim_due(engine, NODE, limit=1).truncated  # a window of 4 of 6 accounts
    assert not queue.claim_due(engine, NODE, limit=10).truncated


def test_outcomes_recorded_together_are_each_fenced_by_their_attempt(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_many(engine, [("akun-a", due), ("akun-b", due), ("akun-c", due)])
    claims = queue.claim_due(engine, NODE, limit=10)
    assert set(queue.begin_publishing_many(engine, claims, NODE)) == {c.post_id for c in claims}
    a, b, c = claims
    recorded = queue.finalize_many(engine, [
        queue.Finalization(a.post_id, a.attempt, Published("ok")),
        queue.Finalization(b.post_id, b.attempt + 1, Published("stale")),
        queue.Finalization(c.post_id, c.attempt, NotSent("busy"), retry_at=utcnow()),
    ])
    assert recorded == [True, False, True]
    assert [status_of(engine, x.post_id) for x in claims] == [
        Status.PUBLISHED, Status.PUBLISHING, Status.RETRY]
    assert log_of(engine, a.post_id) == ["published"]
    assert log_of(engine, b.post_id) == [None]  # its attempt is still open


def test_alike_outcomes_recorded_together_keep_each_posts_own_answer(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_many(engine, [(f"akun-{i}", due) for i in range(5)])
    claims = queue.claim_due(engine, NODE, limit=10)
    queue.begin_publishing_many(engine, claims, NODE)
    recorded = queue.finalize_many(engine, [
        queue.Finalization(c.post_id, c.attempt, Published(f"remote-{c.post_id}"),
                           progress={"parts": []}) for c in claims])
    assert recorded == [True] * 5
    with session(engine) as s:
        for c in claims:
            post = s.get(Post, c.post_id)
            assert (post.status, post.remote_id) == (Status.PUBLISHED, f"remote-{c.post_id}")
            [attempt] = s.scalars(select(Attempt).where(Attempt.post_id == c.post_id))
            assert (attempt.outcome, attempt.remote_id) == ("published", f"remote-{c.post_id}")
            assert attempt.finished_at is not None


def test_one_stale_outcome_among_alike_ones_costs_the_others_nothing(engine: Engine) -> None:
    due = utcnow() - timedelta(seconds=1)
    queue_many(engine, [(f"akun-{i}", due) for i in range(5)])
    claims = queue.claim_due(engine, NODE, limit=10)
    queue.begin_publishing_many(engine, claims, NODE)
    stale = claims[2]
    recorded = queue.finalize_many(engine, [
        queue.Finalization(c.post_id, c.attempt + (c is stale), Published(f"remote-{c.post_id}"))
        for c in claims])
    assert recorded == [c is not stale for c in claims]
    assert [status_of(engine, c.post_id) for c in claims] == [
        Status.PUBLISHING if c is stale else Status.PUBLISHED for c in claims]
    assert [log_of(engine, c.post_id) for c in claims] == [
        [None] if c is stale else ["published"] for c in claims]


def test_a_round_without_workers_to_give_says_whether_an_account_waits_for_one(
        engine: Engine) -> None:
    now = utcnow() - timedelta(seconds=1)
    queue_many(engine, [("akun-a", now), ("akun-a", now), ("akun-b", now)])
    assert queue.claim_due(engine, NODE, limit=0).starved  # both accounts wait
    assert len(queue.claim_due(engine, NODE, limit=2)) == 2
    # each account has its post in flight: the next posts wait for them, not for a worker
    nothing = queue.claim_due(engine, NODE, limit=0)
    assert (list(nothing), nothing.starved) == ([], False)


def test_an_account_waiting_for_a_worker_is_seen_whatever_the_others_concurrency(
        engine: Engine) -> None:
    base = utcnow() - timedelta(minutes=5)
    busy = ["akun-a", "akun-b", "akun-c", "akun-d"]
    queue_many(engine, [(a, base + timedelta(seconds=i)) for i, a in enumerate(busy * 2)])
    # one configured account may have two posts in flight, so no busy account is "at the
    # highest concurrency"; each has one post in flight and older ones waiting
    concurrency = {"akun-big": 2}
    assert len(queue.claim_due(engine, NODE, limit=4, concurrency=concurrency)) == 4
    queue_post(engine, "akun-e", utcnow() - timedelta(seconds=1))  # due last, none in flight
    # no worker free: does anyone wait for one? akun-e does, though four older accounts
    # fill the round's window
    assert queue.claim_due(engine, NODE, limit=0, concurrency=concurrency).starved
