"""The pump: claim rounds for the free workers, and the wake-ups that start them.

A claim round (:func:`scheduler.queue.claim_due`) takes as many due posts as this daemon
has free workers, a short look-ahead before their time; the starter begins them when due
and a worker per claim sends each (:mod:`scheduler.daemon.worker`). Rounds run when the
``dispatch`` job fires: on a poll interval as a safety net, but normally moved to the
moment the next post is due, and run at once when a worker frees up, the CLI queued
something (PostgreSQL ``LISTEN/NOTIFY``) or a recurrence was added.

While other daemons are alive (their heartbeat within ``alive_window``), a round takes no
more than this daemon's fair share of what is due, and wakes again when what it left to
the others would become anyone's (``SHARE_WAIT`` after its time).

What this daemon holds is one table, :class:`scheduler.daemon.inflight.InFlight`: the
pump adds a round's claims, workers pass their slot on or free it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.committer import Committer
from scheduler.daemon.guard import DatabaseGuard
from scheduler.daemon.inflight import InFlight
from scheduler.daemon.starter import Starter
from scheduler.daemon.worker import Worker

log = logging.getLogger("siar.daemon")

#: a finished post wakes the dispatcher this much later (seconds), so that the posts
#: finishing meanwhile share its claim round
FINISHED_WAKE_DELAY = 0.01
#: seconds a due post left to another daemon as its share waits for it; then any daemon
#: takes it. Every daemon's round for a post comes within the look-ahead of its time, so
#: this is slack for a busy host; beyond it a post would be late for fairness' sake (a
#: daemon killed elsewhere counts as alive for three heartbeats).
SHARE_WAIT = 1.0


class Pump:
    """Claim rounds for the free workers, each claim handed to the starter and to a worker
    thread; and when to run the next round."""

    def __init__(self, engine: Engine, *, node: str, workers: int, batch: int, lease: float,
                 lookahead: float, concurrency: dict[str, int], inflight: InFlight,
                 starter: Starter, committer: Committer, worker: Worker,
                 pool: ThreadPoolExecutor, guard: DatabaseGuard,
                 stopping: threading.Event, alive_window: float | None = None) -> None:
        """``alive_window``: seconds within which another daemon's heartbeat counts it
        alive; while others are, a round claims at most this daemon's fair share of
        what is due (None: take whatever the free workers can)."""
        self.engine = engine
        self.node = node
        self.workers = workers
        self.batch = batch
        self.lease = lease
        self.lookahead = lookahead
        self.concurrency = concurrency
        self.inflight = inflight
        self.starter = starter
        self.committer = committer
        self.worker = worker
        self.pool = pool
        self.guard = guard
        self.stopping = stopping
        self.alive_window = alive_window
        #: when posts left to other daemons become anyone's (the last round's)
        self._deferred_until: datetime | None = None
        #: moves the ``dispatch`` job to a moment if that is earlier than its next run
        #: (set while the job scheduler runs; None: nothing to wake)
        self.move_dispatch: Callable[[datetime], Any] | None = None
        #: when the last round started (``time.monotonic``): ``/healthz`` checks it
        self.last_round = time.monotonic()
        self._rounds = threading.Lock()
        self._wake_pending = threading.Event()
        #: a delayed wake asked for while a round was running (seconds after it)
        self._wake_later: float | None = None
        self._free_at_start = 0
        self._held_back: set[str] = set()
        #: posts due up to this moment were looked at by the last claim round
        self._horizon: datetime | None = None
        #: False until the first round: then every finished post wakes the dispatcher
        self._held_back_known = False

    def wake(self, delay: float = 0.0) -> None:
        """Run a round now (right after the round in progress, if any), or in ``delay``
        seconds (counted from the end of the round in progress): wakes close together then
        share one claim round."""
        if delay <= 0:
            self._wake_pending.set()
        elif self._wake_later is None or delay < self._wake_later:
            self._wake_later = delay
        move = self.move_dispatch
        if self._rounds.locked() or move is None or self.stopping.is_set():
            return  # the round in progress (or the next) picks the wake up
        self._wake_later = None
        move(datetime.now(UTC) + timedelta(seconds=max(delay, 0.0)))

    def dispatch(self) -> None:
        """The ``dispatch`` job: claim rounds until nothing more can be claimed (none
        while the database is away)."""
        self.guard.guarded("claiming due posts", self._claim_rounds)

    def round(self) -> int:
        """One claim round for the free workers; returns how many posts were claimed."""
        self.last_round = time.monotonic()
        if not self.guard.file_still_ours():
            return 0
        if self.committer.owes_give_back:
            return 0  # see Committer.owes_give_back; it is given back once the database answers
        limit = min(self.workers - len(self.inflight), self.batch)
        self._free_at_start = limit
        if limit <= 0 or self.stopping.is_set():
            self._held_back_known = False  # every finished post may free a worker for us
            self._horizon = None
            self._deferred_until = None  # a worker freed wakes us for those too
            self.inflight.backlog = None  # a round for no worker reads only a few accounts
            if not self.stopping.is_set():
                # Every worker busy: does an account with room wait for one? (Then workers
                # going on with their own accounts would keep it waiting.) A round that
                # claims nothing answers it; it looks at a handful of accounts, free first.
                self.inflight.take_turns = self._claim(0).starved
            return 0
        claims = self._claim(limit)
        if self.stopping.is_set():
            for claim in claims:
                queue.give_back_claim(self.engine, claim, self.node)
            return 0
        self._horizon = claims.horizon
        self._deferred_until = claims.deferred_until
        self._held_back = set(claims.held_back)
        self._held_back_known = len(claims) < limit and not claims.truncated
        self.inflight.take_turns = claims.starved
        self.inflight.backlog = frozenset(self._held_back) if self._held_back_known else None
        self.inflight.add(claims)
        # Every claimed post has a free worker: it waits for the starter to begin its post
        # (with every other post due by then, in one transaction) when its time comes.
        for claim, begun in zip(claims, self.starter.submit(claims), strict=True):
            self._start_worker(claim, begun)
        return len(claims)

    def run_until_idle(self) -> None:
        """Rounds until one claims nothing, each waited out (``siar daemon --once``)."""
        while not self.stopping.is_set():
            claimed = self.guard.guarded("claiming due posts", self.round) or 0
            self.inflight.wait_empty()
            if not claimed:
                break

    def _claim(self, limit: int) -> queue.ClaimBatch:
        share = None
        if self.alive_window is not None:
            alive_since = datetime.now(UTC) - timedelta(seconds=self.alive_window)
            holding = Counter(claim.account for claim in self.inflight.holds().values())
            share = queue.Share(alive_since=alive_since, holding=holding, wait=SHARE_WAIT)
        return queue.claim_due(self.engine, self.node, limit=limit, lease=self.lease,
                               concurrency=self.concurrency, lookahead=self.lookahead,
                               share=share)

    def _start_worker(self, claim: queue.Claim, begun: Future[queue.StartedPost | None]
                      ) -> None:
        try:
            self.pool.submit(self._work, claim, begun)
        except RuntimeError:  # the pool is gone: a bug in the stop order; the lease runs out
            log.exception("post %s was claimed after the workers stopped", claim.post_id)
            self.finished(claim)

    def _work(self, claim: queue.Claim, begun: Future[queue.StartedPost | None]) -> None:
        self.finished(self.worker.run_post(claim, begun))

    def finished(self, claim: queue.Claim) -> None:
        """A worker's slot is free again (its last post recorded, or given back)."""
        self.inflight.finish(claim)
        # Only a post that held others back frees something to claim; everything else
        # due soon is already claimed or has its own wake-up time.
        if claim.account in self._held_back or not self._held_back_known:
            self.wake(delay=FINISHED_WAKE_DELAY)

    def _claim_rounds(self) -> None:
        while not self.stopping.is_set():
            if not self._rounds.acquire(blocking=False):
                return  # the round in progress sees the wake flag and goes again
            try:
                while not self.stopping.is_set():
                    self._wake_pending.clear()
                    claimed = self.round()
                    # A round that took a whole batch suggests more is due: go again before
                    # sleeping. A round that filled the free workers need not: each worker
                    # finishing wakes the dispatcher (after a short delay, so that one
                    # round, which reads every due post, claims for several).
                    full = 0 < claimed == self._free_at_start == self.batch
                    if not (full or self._wake_pending.is_set()):
                        break
                self._schedule_next_wake()
            finally:
                self._rounds.release()
            if self._wake_pending.is_set():
                continue
            if (later := self._wake_later) is not None:
                self.wake(later)  # asked for during the round: from now on
            return

    def _schedule_next_wake(self) -> None:
        move = self.move_dispatch
        if move is None or self.stopping.is_set():
            return
        # After the posts the last round could see, not after a fresh look-ahead: the
        # posts that came into the look-ahead while the round ran would otherwise have no
        # wake-up at all (measured: the last post of a busy minute waited for the poll).
        horizon = self._horizon or datetime.now(UTC) + timedelta(seconds=self.lookahead)
        due = queue.next_due(self.engine, now=horizon)
        # Half the look-ahead before it is due: each round then claims half a window of
        # posts at once instead of one post per round.
        moments = [due - timedelta(seconds=self.lookahead / 2)] if due is not None else []
        # posts left to other daemons: if still unclaimed then, this daemon takes them
        if self._deferred_until is not None:
            moments.append(self._deferred_until)
        if moments:  # else nothing waits, or it waits for a busy account (a worker wakes us)
            move(min(moments))
