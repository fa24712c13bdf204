"""The starter: begins claimed posts at their time, many in one transaction, from one thread.

Claims are made ahead of time (the claim is the expensive statement); a post may only be
marked ``publishing`` — and then sent — once it is due. Each worker used to wait for its
own post and begin it in a transaction of its own: at 170 posts a second that was one
transaction per post, and in a burst sixty-odd workers queued for the database at the same
instant. The starter keeps every waiting claim in one heap ordered by time and, whenever
the earliest is nearly due (``BEGIN_AHEAD``), begins *all* claims due by then and within
``BEGIN_WINDOW`` after it together (:func:`scheduler.queue.begin_publishing_many`); each
worker, waiting on its claim's future, sends its post at the post's time, not before.
Posts that come due while a transaction is running share the next one, so batches grow
with the load; the window (posts begun a little earlier, never sent earlier) makes
posts that trickle in share transactions too, and makes nothing late.

Guarantees are those of ``begin_publishing``: ``publishing``, the attempt row and what
the adapter would checkpoint before its first request (its first-send state) are committed
before a post is handed to a worker, so before its request leaves. A claim the
starter never began (the daemon is stopping) is given back at once (``given_back``); one
lost in a crash expires back to ``scheduled``. When beginning fails (the COMMIT may have
gone through all the same) the claims are given back unsent, and while the database is
away the starter keeps trying to give them back, their leases renewed meanwhile (they stay
in flight), instead of letting them run out and wait in doubt.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future

from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.db import DatabaseReplaced
from scheduler.dbhealth import DatabaseHealth, is_outage
from scheduler.i18n import _
from scheduler.queue import Claim, FirstSend, StartedPost

log = logging.getLogger("siar.starter")

#: seconds before its time a post is begun; its worker then waits for the time itself.
#: The transaction is then off the path of the request (under load it waited behind a
#: batch of outcomes or a claim round for the database) and posts due within these
#: milliseconds share it. A crash in between leaves a post in doubt that was never sent,
#: which the probe settles like any other. 20 ms was less than a durable COMMIT takes at
#: its slow end (one post begun alone on SQLite: 18 ms median, 31 ms p90 at load 14), and
#: the transaction may first wait for another's COMMIT: the slowest 1 % of posts were late
#: by about that much.
BEGIN_AHEAD = 0.05
#: seconds beyond ``BEGIN_AHEAD`` whose posts join the transaction of the earliest: when
#: posts trickle in (167 a second) each used to be begun alone, one transaction per post;
#: with this window about three share one. Nothing leaves earlier for it: a post begun
#: ahead waits for its time on its worker (only a crash in between leaves it in doubt).
BEGIN_WINDOW = 0.015


class Starter:
    """One thread that begins waiting claims at their time, all nearly-due ones together.

    Each claim gets a future that its worker waits on: the post once begun, or None when
    it was not (lost meanwhile, e.g. cancelled by staff, or given back because the daemon
    stops)."""

    def __init__(self, engine: Engine, node: str, *, lease: float,
                 health: DatabaseHealth | None = None,
                 first_send: FirstSend | None = None) -> None:
        """``first_send``: what each post's adapter would checkpoint before its first
        request, stored in the transaction that begins it (see :data:`queue.FirstSend`)."""
        self.engine = engine
        self.node = node
        self.lease = lease
        self.first_send = first_send
        self.health = health or DatabaseHealth()
        #: (due epoch seconds, tie breaker, claim, its future), earliest first
        self._waiting: list[tuple[float, int, Claim, Future[StartedPost | None]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="siar-starter", daemon=True)
        self._thread.start()

    def submit(self, claims: Iterable[Claim]) -> list[Future[StartedPost | None]]:
        """Begin these claims at their ``not_before`` (at once when it has passed); one
        future per claim, in their order, that gives the post once begun (None: it was
        not, and will not be)."""
        waiting = [(claim, Future[StartedPost | None]()) for claim in claims]
        with self._changed:
            if not self._closing:
                for claim, begun in waiting:
                    due = claim.not_before.timestamp() if claim.not_before else 0.0
                    heapq.heappush(self._waiting, (due, next(self._order), claim, begun))
                self._changed.notify()
                return [begun for _claim, begun in waiting]
        self._give_back(waiting)  # closed meanwhile: nothing may be sent any more
        return [begun for _claim, begun in waiting]

    def close(self) -> None:
        """Stop beginning posts; claims still waiting are given back (never sent)."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join()
        with self._changed:
            waiting = [(claim, begun) for _due, _order, claim, begun in self._waiting]
            self._waiting.clear()
        self._give_back(waiting)

    def _run(self) -> None:
        while True:
            due = self._next_due()
            if due is None:
                return
            # A claim whose lease was taken back may wait here beside the same post's
            # newer claim: only the newest of a post is begun, and only its claim gets it.
            newest: dict[int, Claim] = {}
            for claim, _begun in due:
                if claim.post_id not in newest or claim.attempt > newest[claim.post_id].attempt:
                    newest[claim.post_id] = claim
            began = self.health.now()
            try:
                started = queue.begin_publishing_many(self.engine, list(newest.values()),
                                                      self.node, lease=self.lease,
                                                      first_send=self.first_send)
                if started:
                    self.health.answered(began)
            except Exception as exc:
                # Nothing was sent. The COMMIT may have gone through all the same, so the
                # posts are given back whichever state they are in.
                self._report(exc, f"beginning {len(due)} post(s)", began)
                self._give_back_unsent([claim for claim, _begun in due])
                started = {}
            for claim, begun in due:
                post = started.get(claim.post_id)
                # fenced by the attempt, not the id alone (two workers would send it)
                begun.set_result(post if post is not None
                                 and post.attempt == claim.attempt else None)

    def _next_due(self) -> list[tuple[Claim, Future[StartedPost | None]]] | None:
        """Wait until the earliest claim is nearly due (``BEGIN_AHEAD``); return every
        claim due within ``BEGIN_WINDOW`` after it (None: closing)."""
        with self._changed:
            while not self._closing:
                if self._waiting:
                    horizon = time.time() + BEGIN_AHEAD
                    wait = self._waiting[0][0] - horizon
                    if wait <= 0:
                        due: list[tuple[Claim, Future[StartedPost | None]]] = []
                        horizon += BEGIN_WINDOW
                        while self._waiting and self._waiting[0][0] <= horizon:
                            _due, _order, claim, begun = heapq.heappop(self._waiting)
                            due.append((claim, begun))
                        return due
                    self._changed.wait(wait)
                else:
                    self._changed.wait()
            return None

    def _report(self, error: Exception, doing: str, began: float | None = None) -> None:
        if is_outage(error):
            self.health.failed(error, doing, began)  # logged once an outage
        elif not isinstance(error, DatabaseReplaced):  # the daemon says so and stops
            log.exception("%s failed; giving them back", doing)

    def _give_back_unsent(self, claims: list[Claim]) -> None:
        """Give the claims back, waiting for the database if it is away (they stay in
        flight meanwhile, so the heartbeat renews their leases once it answers); if it
        refuses, their leases run out (a begun post then waits in doubt for the probe)."""
        tokens = [(c.post_id, c.attempt) for c in claims]
        try:
            self.health.retry("giving back posts not begun", lambda: queue.give_back_unsent(
                self.engine, tokens, self.node, why=_("beginning it failed; never sent")),
                wrote=bool)
        except DatabaseReplaced:
            pass  # nothing can be written any more; the daemon says why and stops
        except Exception:
            log.exception("%d post(s) could not be given back; their leases run out",
                          len(claims))

    def _give_back(self, waiting: list[tuple[Claim, Future[StartedPost | None]]]) -> None:
        for claim, begun in waiting:
            try:
                queue.give_back_claim(self.engine, claim, self.node)
            except DatabaseReplaced:
                pass  # nothing can be written any more; the daemon says why and stops
            except Exception:
                log.exception("claim of post %s could not be given back; it expires",
                              claim.post_id)
            begun.set_result(None)
