"""Claims and begins: which due posts a daemon takes, and ``publishing`` before sending.

A claim is one transaction (docs/architecture.md, "Claims and leases"): the accounts with
due posts and room, their state rows locked (PostgreSQL, ``SKIP LOCKED``), the in-flight
count read again after the lock, each account's oldest posts round robin, and an
``UPDATE … RETURNING`` that re-checks the status. Every claim increments ``attempt``, the
fencing token every later statement presents. While other daemons are alive, a round
takes (and locks) no more than its fair share (:class:`Share`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

import scheduler.queue.statements as sql
from scheduler import bulk
from scheduler.db import Clock, ClockSQL, clock, connection, is_sqlite, statement_clock
from scheduler.i18n import N_, _
from scheduler.queue.log import log_changes, open_attempts
from scheduler.queue.progress import store_first_sends
from scheduler.queue.records import (
    Claim,
    ClaimBatch,
    FirstSend,
    NextInLine,
    Share,
    StartedPost,
)
from scheduler.timeparse import to_db


def claim_due(engine: Engine, node: str, *, limit: int = 64, lease: float = 120.0,
              concurrency: Mapping[str, int] | None = None, default_concurrency: int = 1,
              lookahead: float = 0.0, now: datetime | None = None,
              share: Share | None = None) -> ClaimBatch:
    """Atomically lease up to ``limit`` due posts, in due order, fair between accounts.

    ``lookahead`` seconds lets a daemon claim posts shortly *before* their time, so the
    request can leave at the exact moment (the claim is the expensive part); nothing is
    sent before ``Claim.not_before``, and a claim that dies unsent simply expires back.

    An account takes part only if it is neither paused nor waiting for a rate-limit
    reset, and gets at most its ``concurrency`` (default ``default_concurrency``) posts
    in flight across *all* daemons. On PostgreSQL claims lock the state rows of the
    accounts with room first (``FOR UPDATE SKIP LOCKED``), so two daemons never claim for
    the same account at once and each daemon takes different accounts; the in-flight
    count is read again after the lock, in a fresh snapshot. SQLite: the transaction
    began with ``BEGIN IMMEDIATE``, so the single writer makes all of it atomic.

    With ``share``, a round takes at most this daemon's fair share while other daemons
    are alive: the posts the accounts with due posts may have in flight, divided by the
    daemons alive, less what this daemon holds of them (:func:`_fair_share`). What it
    leaves is the others' to claim; a post still unclaimed ``share.wait`` seconds after
    its time is anyone's (``ClaimBatch.deferred_until`` says when the first is).
    """
    concurrency = dict(concurrency or {})
    window = max(limit, 1) * 4
    with connection(engine) as s:
        moment = clock(engine, now, s)
        horizon = moment + timedelta(seconds=lookahead)
        params = {"b_horizon": horizon, "b_clock": moment, "b_window": window}
        if share is None:
            due = s.execute(sql.DUE_ACCOUNTS, params).all()
        else:
            due = s.execute(sql.DUE_ACCOUNTS_SHARED, {
                **params, "b_alive_since": to_db(share.alive_since), "b_node": node}).all()
        if not due:
            return ClaimBatch.of([], held_back=set(), truncated=False, horizon=horizon)
        truncated = len(due) == window
        fair = (None if share is None
                else _fair_share(due, share, concurrency, default_concurrency))
        overdue = moment - timedelta(seconds=share.wait if share else 0)
        # Accounts already full are held back without being locked: a lock would only
        # make their own workers, going on with them meanwhile, skip them (and each such
        # worker then needed a claim round of its own: measured, 200 of a 5,000-post burst).
        busy = {a for a, n, *_rest in due if n >= concurrency.get(a, default_concurrency)}
        roomy = [a for a, *_rest in due if a not in busy]
        waiting = set(roomy)  # with due posts and room: claimed here, or left to others
        in_flight: dict[str, int] = {}
        if roomy and not is_sqlite(engine):
            cap = len(roomy) if fair is None else min(len(roomy), fair + sum(
                1 for row in due if row.account in waiting and to_db(row.first) <= overdue))
            roomy = list(s.scalars(sql.LOCK_ACCOUNTS, {
                "b_accounts": roomy, "b_clock": moment, "b_lock_limit": cap})) if cap else []
            # read after the lock: a claim another daemon just committed counts
            in_flight = (dict(s.execute(sql.IN_FLIGHT_COUNTS, {"b_accounts": roomy}).all())
                         if roomy else {})
        elif roomy:  # SQLite: the write lock was taken first, so the counts read are current
            in_flight = {a: n for a, n, *_rest in due if a in roomy}
        quota = {a: concurrency.get(a, default_concurrency) - in_flight.get(a, 0)
                 for a in roomy}
        busy |= {a for a, q in quota.items() if q <= 0}
        quota = {a: q for a, q in quota.items() if q > 0}
        candidates = s.execute(sql.CANDIDATES, {
            "b_horizon": horizon, "b_accounts": list(quota),
            # one more than any quota: shows which accounts this round holds back
            "b_rank": max(quota.values()) + 1}).all() if quota else []
        fitting = [row for row in candidates if row.rank <= quota[row.account]]
        # beyond the share: only what waited too long for the daemon it was left to
        mine = fitting if fair is None else (
            fitting[:fair] + [row for row in fitting[fair:] if to_db(row.not_before) <= overdue])
        ids = [row.id for row in mine[:limit]]
        busy |= {row.account for row in candidates if row.rank > quota[row.account]}
        busy |= {row.account for row in mine[limit:]}
        starved = bool(mine[limit:]) or (truncated and 0 < limit == len(ids))
        deferred_until = None
        if share is not None and fair is not None:
            left = waiting - {row.account for row in mine[:limit]}
            deferred_until = _left_until(due, left, overdue, share)
        if not ids:
            return ClaimBatch.of([], held_back=busy, truncated=truncated, horizon=horizon,
                                 starved=starved, deferred_until=deferred_until)
        rows = s.execute(sql.CLAIM, {"b_ids": ids, "b_horizon": horizon, "b_node": node,
                                     "b_lease_until": moment + timedelta(seconds=lease),
                                     "b_clock": moment}).all()
    order = {post_id: i for i, post_id in enumerate(ids)}
    claims = [Claim(post_id=r[0], attempt=r[1], account=r[2], network=r[3],
                    not_before=to_db(r[4])) for r in rows]
    return ClaimBatch.of(sorted(claims, key=lambda c: order[c.post_id]), held_back=busy,
                         truncated=truncated, horizon=horizon, starved=starved,
                         deferred_until=deferred_until)


def _left_until(due: Sequence[Any], left: set[str], overdue: datetime,
                share: Share) -> datetime | None:
    """When the due posts of the accounts ``left`` to other daemons become anyone's:
    ``share.wait`` after the first of them is due (None: none is left, or those left are
    anyone's already and were not taken for want of a worker)."""
    firsts = [to_db(row.first) for row in due if row.account in left]
    pending = [first for first in firsts if first > overdue]
    return min(pending) + timedelta(seconds=share.wait) if pending else None


def _fair_share(due: Sequence[Any], share: Share, concurrency: Mapping[str, int],
                default_concurrency: int) -> int | None:
    """How many more posts this daemon may claim: the posts the accounts with due posts
    may have in flight (their concurrency), over the daemons alive, rounded up, less
    what this daemon holds of them; None when it is alone (nothing to share). Each
    daemon comes out with about as many accounts as the others, and since a worker goes
    on with its account's backlog, with about as much of a burst."""
    others = due[0].others
    if not others:
        return None
    slots = sum(concurrency.get(account, default_concurrency) for account, *_rest in due)
    held = sum(share.holding.get(account, 0) for account, *_rest in due)
    return max(0, -(-slots // (others + 1)) - held)


def next_due(engine: Engine, *, now: datetime | None = None) -> datetime | None:
    """The next future moment a post may become claimable: the earliest ``not_before``
    still ahead, or an account's rate-limit reset; ``None`` when nothing is ahead.

    Posts already due but held back (their account busy, paused or rate limited) are not
    considered: a worker finishing, the reset time or the poll brings them. Each part is
    an index seek, so this stays cheap with a million posts queued.
    """
    with connection(engine) as s:
        moment = clock(engine, now, s)
        candidates = s.execute(sql.NEXT_DUE, {"b_clock": moment}).one()
    times = [to_db(t) for t in candidates if t is not None]
    return min(times) if times else None


def begin_publishing(engine: Engine, claim: Claim, node: str, *, lease: float = 120.0,
                     now: datetime | None = None, first_send: FirstSend | None = None
                     ) -> StartedPost | None:
    """claimed → publishing, committed before the request leaves; opens the attempt row
    and stores what the adapter would checkpoint before its first request
    (``first_send``, see :func:`scheduler.queue.progress.store_first_sends`).

    Returns the post, or ``None`` if the claim is no longer ours (lease lost).
    """
    return begin_publishing_many(engine, [claim], node, lease=lease, now=now,
                                 first_send=first_send).get(claim.post_id)


def begin_publishing_many(engine: Engine, claims: Sequence[Claim], node: str, *,
                          lease: float = 120.0, now: datetime | None = None,
                          first_send: FirstSend | None = None) -> dict[int, StartedPost]:
    """:func:`begin_publishing` for many claims in one transaction.

    Returns post id → post for the claims still ours; their ``publishing`` status,
    attempt rows and first-send state are committed before this returns, so before any
    request leaves.
    """
    if not claims:
        return {}
    tokens = {c.post_id: c.attempt for c in claims}
    with connection(engine) as s:
        moment = statement_clock(engine, now)
        params: dict[str, Any] = {"b_tokens": list(tokens.items()), "b_node": node}
        if isinstance(moment, datetime):
            statement = sql.BEGIN
            params |= {"b_clock": moment, "b_lease_until": moment + timedelta(seconds=lease)}
        else:  # the database's now(), read inside the statements
            statement = sql.BEGIN_AT_NOW
            params["b_lease"] = timedelta(seconds=lease)
        begun = [StartedPost._make(row) for row in s.execute(statement, params)]
        open_attempts(s, begun, node, moment)
        begun = store_first_sends(s, begun, first_send)
    return {post.id: post for post in begun}


def begin_next_in_line(s: Connection, moment: Clock, line: NextInLine) -> list[StartedPost]:
    """Go on: begin each account's earliest post due by ``moment`` in the transaction of
    ``s`` (see :func:`scheduler.queue.finalize_and_begin_next`)."""
    if s.dialect.name == "postgresql":
        return _begin_next_in_one(s, moment, line)
    # SQLite: the write lock is held already, and the clock is this host's (a value);
    # counted in the statement, after this transaction's outcomes: the posts just
    # finished no longer count, a claim another daemon committed meanwhile does
    assert isinstance(moment, datetime)
    posts = [StartedPost._make(row) for row in s.execute(sql.go_on_sqlite(), {
        "room": _room(line, sorted(set(line.accounts))), "node": line.node,
        "clock": moment, "lease_until": moment + timedelta(seconds=line.lease)})]
    if not posts:
        return []
    open_attempts(s, posts, line.node, moment)
    return store_first_sends(s, posts, line.first_send)


def _room(line: NextInLine, accounts: Sequence[str]) -> str:
    """The accounts to go on with and their concurrency, as the JSON rows the go-on
    statements read."""
    return json.dumps([{"account": a,
                        "concurrency": line.concurrency.get(a, line.default_concurrency)}
                       for a in accounts])


def _begin_next_in_one(s: Connection, moment: Clock, line: NextInLine) -> list[StartedPost]:
    """PostgreSQL: lock the accounts, then everything else in one statement (its snapshot
    is taken after the lock, so a claim another daemon just committed counts)."""
    at = ClockSQL.of(s, moment)
    times: dict[str, Any] = {"b_clock": moment} if isinstance(moment, datetime) else {}
    open_accounts = list(s.scalars(
        sql.NEXT_ACCOUNTS if isinstance(moment, datetime) else sql.NEXT_ACCOUNTS_AT_NOW,
        {"b_account_array": sorted(set(line.accounts)), **times}))
    if not open_accounts:
        return []
    posts = [StartedPost._make(row) for row in s.execute(sql.go_on_in_one(at.sql), {
        "room": _room(line, open_accounts), "node": line.node,
        "lease": timedelta(seconds=line.lease), **at.params})]
    return store_first_sends(s, posts, line.first_send)


#: why posts are given back when none is given: the daemon is stopping
STOPPING = N_("daemon stopping: given back before sending")


def give_back_unsent(engine: Engine, tokens: Sequence[tuple[int, int]], node: str, *,
                     why: str | None = None) -> int:
    """claimed or publishing → scheduled for posts (id, attempt) that this node took and
    certainly never sent: each attempt row is closed (or, for a claim, logged) as
    ``given_back`` with ``why``. Fenced by the attempt and the lease owner, so a post
    another daemon, staff or the reaper took meanwhile is left alone. Returns how many
    were given back.

    For a stopping daemon's claims and posts begun for a worker that then could not send
    them, and for a transaction whose COMMIT failed: it may have committed all the same,
    and the posts it began were never handed to a worker. Given back, they go out in the
    next claim round instead of waiting for their lease to run out and then, where the
    network has no lookup, for staff."""
    if not tokens:
        return 0
    why = why or _(STOPPING)
    with connection(engine) as s:
        moment = clock(engine, None, s)
        given = [tuple(row) for row in s.execute(sql.GIVE_BACK, {
            "b_tokens": list(tokens), "b_node": node, "b_clock": moment})]
        at = ClockSQL.of(s, moment)
        rows = [{"post_id": i, "attempt": a, "outcome": "given_back", "error": why}
                for i, a in given]
        closed = {tuple(row) for row in bulk.update_from_rows(
            s, sql.ATTEMPT, rows, match=("post_id", "attempt"), fixed={"finished_at": at.sql},
            guard={"finished_at": None}, returning=("post_id", "attempt"), params=at.params)}
        # claims have no attempt row yet: log one
        log_changes(s, [row for row in rows if (row["post_id"], row["attempt"]) not in closed],
                    node, moment)
    return len(given)


def give_back_claim(engine: Engine, claim: Claim, node: str) -> bool:
    """claimed → scheduled for one claim of a stopping daemon (nothing was sent)."""
    return give_back_unsent(engine, [(claim.post_id, claim.attempt)], node,
                            why=_("daemon stopping: claim given back before sending")) == 1
