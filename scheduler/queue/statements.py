"""Every prebuilt statement of the queue, one named statement per transition.

Built once at import, with everything that varies as a parameter (``b_…``): building them
per call through the ORM entities cost about a third of the daemon's CPU per post, and two
thirds of a claim round's Python time. Each statement that writes ``post`` is listed in
:data:`WRITES` under its operation of :data:`scheduler.states.TRANSITIONS`, and guards
``status`` with exactly that operation's from-states (tests/daemon/test_transitions.py).
The states are literal SQL (:func:`scheduler.states.sql_in`): neither database uses the
partial index on claimable posts for a bound parameter.

Outcomes of one shape (and the attempt rows of many posts) are written through
:mod:`scheduler.bulk`, with :data:`RECORD_GUARD` and the like: one statement per batch.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    ARRAY,
    Integer,
    Interval,
    String,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from scheduler.queue.records import StartedPost
from scheduler.states import CLAIMABLE, IN_FLIGHT, TRANSITIONS, Status, sql_in, values
from scheduler.tables import ACCOUNT_STATE as STATE
from scheduler.tables import ATTEMPT, NODE, POST

STARTED_COLUMNS = [POST.c[name] for name in StartedPost._fields]


def guard(operation: str, column: Any = None) -> ColumnElement[bool]:
    """``status IN (…)``: the from-states of ``operation``, as literal SQL."""
    column = POST.c.status if column is None else column
    return column.in_([literal_column(f"'{state.value}'")
                       for state in TRANSITIONS[operation].sources])


def bulk_guard(operation: str) -> dict[str, tuple[str, ...]]:
    """The same guard for :func:`scheduler.bulk.update_from_rows`."""
    return {"status": tuple(f"'{state.value}'" for state in TRANSITIONS[operation].sources)}


def target(operation: str, state: Status) -> str:
    """``state`` as a statement of ``operation`` stores it; refuses a state the table does
    not allow the operation to reach."""
    if state not in TRANSITIONS[operation].targets:
        raise ValueError(f"{operation} never leads to {state}")
    return state.value


_in_flight = POST.c.status.in_(values(IN_FLIGHT))  # counted, not changed
_usable = and_(STATE.c.paused.is_(False),
               or_(STATE.c.rate_limited_until.is_(None),
                   STATE.c.rate_limited_until <= bindparam("b_clock")))
_accounts = bindparam("b_accounts", expanding=True)

# --- claim: scheduled | retry → claimed (queue.claims.claim_due) ------------------------

_due = and_(guard("claim"), POST.c.not_before <= bindparam("b_horizon"))
_first_due = (select(POST.c.account, func.min(POST.c.not_before).label("first"))
              .where(_due).group_by(POST.c.account).subquery())
# Accounts with fewer posts in flight come first: in a burst the accounts with posts in
# flight are also the ones due first, and a window full of them left nothing to claim for
# the free workers (and, with no worker free, hid an account waiting for one: see
# ClaimBatch.starved). On PostgreSQL this count only sorts, and spares full accounts the
# lock: the count that decides is read again after the lock.
_flying = (select(POST.c.account, func.count().label("n")).where(_in_flight)
           .group_by(POST.c.account).subquery())
#: the accounts with due posts, neither paused nor rate limited, fewest in flight first
DUE_ACCOUNTS = (
    select(STATE.c.account, func.coalesce(_flying.c.n, 0).label("in_flight"),
           _first_due.c.first)
    .join(_first_due, _first_due.c.account == STATE.c.account)
    .outerjoin(_flying, _flying.c.account == STATE.c.account)
    .where(_usable)
    .order_by(func.coalesce(_flying.c.n, 0), _first_due.c.first, STATE.c.account)
    .limit(bindparam("b_window")))
#: the same, each row also saying how many other daemons are alive (their heartbeat since
#: ``b_alive_since``, not stopped): a claim round's fair share, without a round trip more
DUE_ACCOUNTS_SHARED = DUE_ACCOUNTS.add_columns(
    select(func.count()).select_from(NODE)
    .where(NODE.c.stopped_at.is_(None), NODE.c.heartbeat_at >= bindparam("b_alive_since"),
           NODE.c.name != bindparam("b_node"))
    .scalar_subquery().label("others"))
#: their state rows, locked (PostgreSQL), skipping those another daemon is claiming for;
#: in the order the committer locks them too (NEXT_ACCOUNTS); at most ``b_lock_limit``
#: (a daemon taking its share locks no more accounts than it may take: others claiming
#: at the same moment then find theirs unlocked)
LOCK_ACCOUNTS = (select(STATE.c.account).where(STATE.c.account.in_(_accounts), _usable)
                 .order_by(STATE.c.account).limit(bindparam("b_lock_limit"))
                 .with_for_update(of=STATE, skip_locked=True))
#: posts in flight per account: a fresh statement after the lock, so that a claim another
#: daemon just committed counts
IN_FLIGHT_COUNTS = (select(POST.c.account, func.count())
                    .where(POST.c.account.in_(_accounts), _in_flight)
                    .group_by(POST.c.account))
_ranked = (
    select(POST.c.id, POST.c.account, POST.c.not_before, func.row_number().over(
        partition_by=POST.c.account, order_by=(POST.c.not_before, POST.c.id)).label("rank"))
    .where(_due, POST.c.account.in_(_accounts))
    .subquery())
#: each account's oldest due posts, round robin: every account's first before any second
CANDIDATES = (select(_ranked.c.id, _ranked.c.account, _ranked.c.rank, _ranked.c.not_before)
              .where(_ranked.c.rank <= bindparam("b_rank"))
              .order_by(_ranked.c.rank, _ranked.c.not_before, _ranked.c.id))
#: claim: the chosen posts, re-checking that they are still due
CLAIM = (update(POST).where(POST.c.id.in_(bindparam("b_ids", expanding=True)), _due)
         .values(status=target("claim", Status.CLAIMED), lease_owner=bindparam("b_node"),
                 lease_until=bindparam("b_lease_until"), attempt=POST.c.attempt + 1,
                 updated_at=bindparam("b_clock"))
         .returning(POST.c.id, POST.c.attempt, POST.c.account, POST.c.network,
                    POST.c.not_before))

#: the earliest ``not_before`` still ahead in each claimable state (an index seek on
#: ix_post_claim per state), and the earliest rate-limit reset still ahead: one statement
#: (each part was a round trip of its own, after every claim round)
NEXT_DUE = select(*(
    select(POST.c.not_before)
    .where(POST.c.status == literal_column(f"'{state.value}'"),
           POST.c.not_before > bindparam("b_clock"))
    .order_by(POST.c.not_before).limit(1).scalar_subquery()
    for state in sorted(CLAIMABLE, key=lambda state: state.value)
), select(func.min(STATE.c.rate_limited_until))
   .where(STATE.c.rate_limited_until > bindparam("b_clock")).scalar_subquery())

# --- begin: claimed → publishing (queue.claims.begin_publishing_many) -------------------

_begin = update(POST).where(
    tuple_(POST.c.id, POST.c.attempt).in_(bindparam("b_tokens", expanding=True)),
    guard("begin"), POST.c.lease_owner == bindparam("b_node"))
#: begin, at a given time (SQLite: this host's clock)
BEGIN = (_begin.values(status=target("begin", Status.PUBLISHING),
                       updated_at=bindparam("b_clock"), lease_until=bindparam("b_lease_until"))
         .returning(*STARTED_COLUMNS))
#: begin, at the database's now() (PostgreSQL: no round trip to read it first)
BEGIN_AT_NOW = (_begin.values(status=target("begin", Status.PUBLISHING), updated_at=func.now(),
                              lease_until=func.now() + bindparam("b_lease", type_=Interval()))
                .returning(*STARTED_COLUMNS))

# --- go on: scheduled | retry → publishing (queue.claims.finalize_and_begin_next) -------


def _open_accounts(clock: Any) -> Any:
    """The accounts that may go on, locked (PostgreSQL), skipping those another daemon is
    claiming for. The accounts are one array parameter: an expanding ``IN`` list was
    rendered into the SQL anew for every committer batch."""
    accounts = any_(bindparam("b_account_array", type_=ARRAY(String)))
    return (select(STATE.c.account)
            .where(STATE.c.account == accounts, STATE.c.paused.is_(False),
                   or_(STATE.c.rate_limited_until.is_(None),
                       STATE.c.rate_limited_until <= clock))
            .order_by(STATE.c.account)
            .with_for_update(of=STATE, skip_locked=True))


#: (PostgreSQL only: SQLite goes on in one statement, :func:`go_on_sqlite`)
NEXT_ACCOUNTS = _open_accounts(bindparam("b_clock"))
NEXT_ACCOUNTS_AT_NOW = _open_accounts(func.now())


@functools.lru_cache(maxsize=1)
@functools.cache
def go_on_sqlite() -> Any:
    """go on (SQLite, the write lock held): for each account of ``:room`` (JSON rows of
    account and concurrency) that is neither paused nor rate limited and has room under
    its concurrency after this transaction's outcomes, claim and begin its earliest post
    due by ``:clock`` (the first entry of ``ix_post_account_due``), in one statement.
    SQLite computes the ``IN`` list once, before any row changes. It replaced four
    statements (accounts, in-flight counts, the posts, the update) whose account and id
    lists were rendered into the SQL anew for every batch. Built once: the text and its
    bind parameters are the same for every batch."""
    columns = ", ".join(StartedPost._fields)
    state = STATE.name
    claimable = sql_in(TRANSITIONS["go_on"].sources)
    clock = bindparam("clock", type_=POST.c.not_before.type)
    return text(f"""
        WITH room AS (
            SELECT value ->> 'account' AS account, value ->> 'concurrency' AS concurrency
            FROM json_each(:room)
        ), flying AS (
            SELECT account, count(*) AS n FROM post
            WHERE account IN (SELECT account FROM room) AND {sql_in(IN_FLIGHT)}
            GROUP BY account
        ), chosen AS (
            SELECT (SELECT candidate.id FROM post AS candidate
                    WHERE candidate.account = room.account
                      AND candidate.{claimable} AND candidate.not_before <= :clock
                    ORDER BY candidate.not_before, candidate.id LIMIT 1) AS id
            FROM room JOIN {state} ON {state}.account = room.account
            LEFT JOIN flying ON flying.account = room.account
            WHERE NOT {state}.paused
              AND ({state}.rate_limited_until IS NULL
                   OR {state}.rate_limited_until <= :clock)
              AND coalesce(flying.n, 0) < room.concurrency
        )
        UPDATE post SET status = '{target("go_on", Status.PUBLISHING)}',
            lease_owner = :node, lease_until = :lease_until,
            attempt = attempt + 1, updated_at = :clock
        -- "+": by id, not from an index on the guarded columns (every due post)
        WHERE id IN (SELECT id FROM chosen) AND +{claimable} AND +not_before <= :clock
        RETURNING {columns}""").bindparams(
        clock, bindparam("lease_until", type_=POST.c.not_before.type)
    ).columns(*STARTED_COLUMNS)


@functools.lru_cache(maxsize=2)
def go_on_in_one(clock: str) -> Any:
    """go on (PostgreSQL): in-flight counts, each roomy account's earliest due post (the
    first entry of ``ix_post_account_due``), its claim-and-begin and its attempt row, as
    one statement whose snapshot is taken after the accounts' lock. The ids are chosen
    first (``ARRAY(…)``): joined inside the ``UPDATE``, PostgreSQL scanned every claimable
    post for them. ``clock`` is ``now()`` or ``:clock``."""
    columns = ", ".join(StartedPost._fields)
    claimable = sql_in(TRANSITIONS["go_on"].sources)
    return text(f"""
        WITH room AS (
            SELECT account, concurrency
            FROM json_to_recordset(CAST(:room AS json)) AS r(account varchar, concurrency int)
        ), flying AS (
            SELECT account, count(*) AS n FROM post
            WHERE account IN (SELECT account FROM room) AND {sql_in(IN_FLIGHT)}
            GROUP BY account
        ), begun AS (
            UPDATE post SET status = '{target("go_on", Status.PUBLISHING)}',
                lease_owner = :node, lease_until = {clock} + :lease,
                attempt = attempt + 1, updated_at = {clock}
            WHERE id = ANY(ARRAY(
                SELECT (SELECT candidate.id FROM post AS candidate
                        WHERE candidate.account = room.account
                          AND candidate.{claimable} AND candidate.not_before <= {clock}
                        ORDER BY candidate.not_before, candidate.id LIMIT 1)
                FROM room LEFT JOIN flying ON flying.account = room.account
                WHERE coalesce(flying.n, 0) < room.concurrency))
              AND {claimable} AND not_before <= {clock}
            RETURNING {columns}
        ), opened AS (
            INSERT INTO attempt (post_id, attempt, node, started_at)
            SELECT id, attempt, :node, {clock} FROM begun
        )
        SELECT {columns} FROM begun""").columns(*STARTED_COLUMNS)


# --- record: publishing → the outcome's state (queue.outcomes), through scheduler.bulk --

#: record: each post fenced by (id, attempt) and by the status
RECORD_GUARD = bulk_guard("record")
#: whether an attempt's row is closed, and with which outcome
ATTEMPT_OUTCOMES = select(ATTEMPT.c.outcome).where(
    ATTEMPT.c.post_id == bindparam("b_id"), ATTEMPT.c.attempt == bindparam("b_attempt"),
    ATTEMPT.c.finished_at.is_not(None))
#: the account of a post (an ``AuthFailed`` pauses it)
ACCOUNT_OF = select(POST.c.account).where(POST.c.id == bindparam("b_id"))
#: attempt-log outcomes of a try that provably sent nothing (a probe's "not sent" settles
#: a try that ended in doubt); a rate limit is the network's pace, not a failed try
_FAILED_TRY = ("not_sent", "settled_retry", "settled_failed", "settled_missed")
#: the attempt-log marks of staff sending a post again: the count of failed tries restarts
_STAFF_AGAIN = ("rescheduled", "resumed")
_probe = ATTEMPT.c.node.like("probe@%")
_since_staff = (select(func.coalesce(func.max(ATTEMPT.c.id), 0))
                .where(ATTEMPT.c.post_id == bindparam("b_id"),
                       or_(ATTEMPT.c.outcome.in_(_STAFF_AGAIN),
                           and_(ATTEMPT.c.outcome == "settled_retry", ~_probe)))
                .scalar_subquery())
#: a post's failed tries since staff last sent it again (queue.outcomes.failed_tries)
FAILED_TRIES = (select(func.count()).select_from(ATTEMPT)
                .where(ATTEMPT.c.post_id == bindparam("b_id"), ATTEMPT.c.id > _since_staff,
                       or_(ATTEMPT.c.outcome == "not_sent",
                           and_(ATTEMPT.c.outcome.in_(_FAILED_TRY[1:]), _probe))))
#: a post's progress while the attempt is its own, locked (PostgreSQL) for the change
PROGRESS = (select(POST.c.progress)
            .where(POST.c.id == bindparam("b_id"), POST.c.attempt == bindparam("b_attempt"))
            .with_for_update())
#: a thread part or an adapter checkpoint: fenced by the attempt only, not the status, so
#: that a part published by a worker whose post meanwhile went ``unknown`` is still known
#: to the next attempt (not a transition: the status stays)
RECORD_PROGRESS = (update(POST)
                   .where(POST.c.id == bindparam("b_id"), POST.c.attempt == bindparam("b_attempt"))
                   .values(progress=bindparam("b_progress"), updated_at=bindparam("b_clock")))

# --- give back: claimed | publishing → scheduled (queue.claims.give_back_unsent) --------

#: give back: posts (id, attempt) this node took and certainly never sent
GIVE_BACK = (update(POST)
             .where(tuple_(POST.c.id, POST.c.attempt).in_(bindparam("b_tokens", expanding=True)),
                    guard("give_back"), POST.c.lease_owner == bindparam("b_node"))
             .values(status=target("give_back", Status.SCHEDULED), lease_owner=None,
                     lease_until=None, updated_at=bindparam("b_clock"))
             .returning(POST.c.id, POST.c.attempt))

# --- leases (queue.recovery) ------------------------------------------------------------

#: the posts whose lease ran out, locked, skipping those another reaper holds
EXPIRED = (select(POST.c.id, POST.c.attempt, POST.c.status, POST.c.lease_owner)
           .where(POST.c.status.in_(values(IN_FLIGHT)), POST.c.lease_until < bindparam("b_clock"))
           .with_for_update(skip_locked=True))
#: reap a claim: nothing was sent, so it simply goes back to the queue
REAP_CLAIMED = (update(POST)
                .where(POST.c.id.in_(bindparam("b_ids", expanding=True)), guard("reap_claimed"),
                       POST.c.lease_until < bindparam("b_clock"))
                .values(status=target("reap_claimed", Status.SCHEDULED), lease_owner=None,
                        lease_until=None, updated_at=bindparam("b_clock"))
                .returning(POST.c.id))
#: reap a publishing post: it may be on the network, so it waits for a probe or staff
#: (through scheduler.bulk: each post's error names its daemon)
REAP_PUBLISHING_GUARD = bulk_guard("reap_publishing")
#: renew lease: the heartbeat's, for the posts this node has in flight. On PostgreSQL the
#: rows another transaction holds (a batch recording those very posts) are skipped, not
#: waited for: two UPDATEs locking the same rows in different orders deadlock, and a post
#: being recorded needs no longer lease; the next heartbeat renews what is still in flight
RENEW_LEASES = (update(POST)
                .where(POST.c.id.in_(
                    select(POST.c.id)
                    .where(POST.c.id.in_(bindparam("b_ids", expanding=True)),
                           POST.c.lease_owner == bindparam("b_node"), guard("renew_lease"))
                    .with_for_update(skip_locked=True)))
                .values(lease_until=bindparam("b_lease_until")))
#: expire lease: every lease a node known dead holds ends now (the reaper then takes them)
EXPIRE_LEASES = (update(POST)
                 .where(POST.c.lease_owner == bindparam("b_node"), guard("expire_lease"))
                 .values(lease_until=bindparam("b_lease_until")))

# --- miss: scheduled | retry → missed (queue.recovery.mark_missed) ----------------------

#: waiting posts past due_at + grace, locked, skipping those another daemon holds
LATE = (select(POST.c.id, POST.c.release_id, POST.c.account, POST.c.due_at, POST.c.attempt)
        .where(guard("miss"), POST.c.due_at < bindparam("b_late"))
        .order_by(POST.c.due_at, POST.c.id)
        .with_for_update(skip_locked=True))
#: the same, only among posts already past ``not_before`` (the claim index bounds it)
LATE_AND_DUE = LATE.where(POST.c.not_before <= bindparam("b_clock"))
#: miss: each post's error says what held its account
MISS_GUARD = bulk_guard("miss")

# --- what is left (queue.recovery.left_to_do: siar daemon --until-drained) --------------

_paused_accounts = select(STATE.c.account).where(STATE.c.paused.is_(True))
#: posts due or in flight, but not those a paused account blocks until staff resume it
UNDONE = (select(func.count()).select_from(POST)
          .where(POST.c.status.in_(values((*CLAIMABLE, *IN_FLIGHT))),
                 ~and_(POST.c.status.in_(values(CLAIMABLE)),
                       POST.c.account.in_(_paused_accounts))))
#: every post in doubt, by its attempt (a probe's verdict is about one attempt)
IN_DOUBT_KEYS = select(POST.c.id, POST.c.attempt).where(POST.c.status == Status.UNKNOWN.value)

# --- settle: unknown → published | retry | failed | missed (queue.recovery) --------------

#: settle: the probe's or staff's verdict; with ``b_attempt``, only while the post is still
#: in that attempt (a probe's verdict is about the attempt it looked at)
SETTLE = (update(POST)
          .where(POST.c.id == bindparam("b_id"), guard("settle"),
                 POST.c.attempt == func.coalesce(bindparam("b_attempt", type_=Integer()),
                                                 POST.c.attempt))
          .values(status=bindparam("b_status"), updated_at=bindparam("b_clock"),
                  last_error=bindparam("b_error"),
                  not_before=func.coalesce(bindparam("b_not_before", type_=POST.c.not_before.type),
                                           POST.c.not_before),
                  remote_id=func.coalesce(bindparam("b_remote_id", type_=POST.c.remote_id.type),
                                          POST.c.remote_id),
                  remote_url=func.coalesce(bindparam("b_remote_url",
                                                     type_=POST.c.remote_url.type),
                                           POST.c.remote_url))
          .returning(POST.c.attempt))

# --- staff (queue.staff) ----------------------------------------------------------------

#: the posts staff name, with their state now (locked on PostgreSQL: the log says "from")
STAFF_POSTS = (select(POST.c.id, POST.c.account, POST.c.status, POST.c.attempt)
               .where(POST.c.id.in_(bindparam("b_ids", expanding=True)))
               .with_for_update())
#: cancel: withdraw posts that have not gone out
CANCEL = (update(POST)
          .where(POST.c.id.in_(bindparam("b_ids", expanding=True)), guard("cancel"))
          .values(status=target("cancel", Status.CANCELLED), updated_at=bindparam("b_clock"))
          .returning(POST.c.id, POST.c.attempt))
#: reschedule: a new time, which sends them (revives missed and failed posts)
RESCHEDULE = (update(POST)
              .where(POST.c.id.in_(bindparam("b_ids", expanding=True)), guard("reschedule"))
              .values(status=target("reschedule", Status.SCHEDULED),
                      due_at=bindparam("b_due"), not_before=bindparam("b_due"),
                      last_error=None, updated_at=bindparam("b_clock"))
              .returning(POST.c.id, POST.c.attempt))
#: resume: the paused posts of an account whose credentials staff fixed go out again
RESUME = (update(POST)
          .where(POST.c.account == bindparam("b_account"), guard("resume"))
          .values(status=target("resume", Status.RETRY), not_before=bindparam("b_clock"),
                  updated_at=bindparam("b_clock"))
          .returning(POST.c.id, POST.c.attempt))

# --- website first (queue.website) -----------------------------------------------------

#: a waiting post gets its variant composed with the website post's address
LINK_ARRIVED = (update(POST)
                .where(POST.c.id == bindparam("b_id"), guard("link_arrived"))
                .values(status=target("link_arrived", Status.SCHEDULED),
                        variant=bindparam("b_variant", type_=POST.c.variant.type),
                        not_before=bindparam("b_not_before"), updated_at=bindparam("b_clock"))
                .returning(POST.c.id, POST.c.attempt))
#: a waiting post that cannot take the address (it no longer fits, even shortened)
LINK_UNUSABLE = (update(POST)
                 .where(POST.c.id == bindparam("b_id"), guard("link_unusable"))
                 .values(status=target("link_unusable", Status.FAILED),
                         last_error=bindparam("b_error"), updated_at=bindparam("b_clock"))
                 .returning(POST.c.id, POST.c.attempt))

# --- approval (queue.approvals) ----------------------------------------------------------

_awaiting = and_(POST.c.id.in_(bindparam("b_ids", expanding=True)), guard("approve"))
#: approve: an approver said yes; the post goes out at its time (its ``not_before`` stays:
#: approved after its time but within the grace, it goes out at once)
APPROVE = (update(POST).where(_awaiting, POST.c.link_from.is_(None))
           .values(status=target("approve", Status.SCHEDULED), updated_at=bindparam("b_clock"))
           .returning(POST.c.id, POST.c.attempt))
#: approve a post whose link is its website post's address: it waits for that post
APPROVE_WAITING = (update(POST).where(_awaiting, POST.c.link_from.is_not(None))
                   .values(status=target("approve", Status.WAITING),
                           updated_at=bindparam("b_clock"))
                   .returning(POST.c.id, POST.c.attempt))
#: decline: an approver said no; the comment is the post's error, for staff
DECLINE = (update(POST)
           .where(POST.c.id.in_(bindparam("b_ids", expanding=True)), guard("decline"))
           .values(status=target("decline", Status.DECLINED), last_error=bindparam("b_error"),
                   updated_at=bindparam("b_clock"))
           .returning(POST.c.id, POST.c.attempt))
#: resubmit: staff give a new time under approval; back to the approver
RESUBMIT = (update(POST)
            .where(POST.c.id.in_(bindparam("b_ids", expanding=True)), guard("resubmit"))
            .values(status=target("resubmit", Status.AWAITING_APPROVAL),
                    due_at=bindparam("b_due"), not_before=bindparam("b_due"),
                    last_error=None, updated_at=bindparam("b_clock"))
            .returning(POST.c.id, POST.c.attempt))
#: posts still awaiting approval at their time (for the staff alert), by release
UNAPPROVED_DUE = (select(POST.c.id, POST.c.release_id, POST.c.account, POST.c.due_at)
                  .where(guard("approve"), POST.c.due_at <= bindparam("b_clock"))
                  .order_by(POST.c.due_at, POST.c.id))
#: miss unapproved: never approved within the grace after their time
MISS_UNAPPROVED = (update(POST)
                   .where(guard("miss_unapproved"), POST.c.due_at < bindparam("b_late"))
                   .values(status=target("miss_unapproved", Status.MISSED),
                           last_error=bindparam("b_error"), updated_at=bindparam("b_clock"))
                   .returning(POST.c.id, POST.c.release_id, POST.c.attempt))

#: every statement that writes ``post``, by its operation in ``TRANSITIONS``; the
#: statements through scheduler.bulk by their guard
WRITES: dict[str, list[Any]] = {
    "claim": [CLAIM], "begin": [BEGIN, BEGIN_AT_NOW],
    "give_back": [GIVE_BACK], "reap_claimed": [REAP_CLAIMED], "renew_lease": [RENEW_LEASES],
    "expire_lease": [EXPIRE_LEASES], "settle": [SETTLE], "cancel": [CANCEL],
    "reschedule": [RESCHEDULE], "resume": [RESUME],
    "link_arrived": [LINK_ARRIVED], "link_unusable": [LINK_UNUSABLE],
    "approve": [APPROVE, APPROVE_WAITING], "decline": [DECLINE], "resubmit": [RESUBMIT],
    "miss_unapproved": [MISS_UNAPPROVED],
}
BULK_GUARDS: dict[str, dict[str, tuple[str, ...]]] = {
    "record": RECORD_GUARD, "reap_publishing": REAP_PUBLISHING_GUARD, "miss": MISS_GUARD,
}
