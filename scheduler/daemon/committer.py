"""The committer: records finished attempts in batches, from one thread.

Every post used to commit its outcome in a transaction of its own; under a burst the
workers then queued for the database (on SQLite for its single write lock) longer than
they waited for the network. Workers now hand the outcome over (:meth:`Committer.record`
waits for it to be written) and the committer writes whatever has gathered meanwhile in
one transaction, each post still fenced by its attempt
(:func:`scheduler.queue.finalize_many`); a batch of fewer than ``SMALL_BATCH`` waits up
to ``GATHER_SECONDS`` for more, so that posts trickling in share transactions too.

Nothing about sending changes: ``publishing`` is committed before a request leaves, as
before. A crash between an answer and its commit leaves the post ``publishing``; its lease
runs out and it becomes ``unknown`` for a probe, exactly like a crash during the request.

A worker may ask to *go on*: in the same transaction the committer then begins the same
account's next post that is due by now (:func:`scheduler.queue.finalize_and_begin_next`)
and hands it back with the outcome, so the worker sends it at once. In a burst this
replaces a claim round, a starter transaction and two hand-overs per post.

A batch whose COMMIT is reported as failed may have committed all the same: the posts it
began are given back unsent before anything else is written, and an outcome found recorded
already when the batch is written again counts as recorded.

While the database is away (PostgreSQL restarting, the connection broken, SQLite's disk
full or read-only) the batch is kept in memory and written again, whole, with a capped
backoff until the database answers (:class:`scheduler.dbhealth.DatabaseHealth`): the
outcome of a post that went out is only lost if the process dies. Only an error of the
data itself (a constraint, a bad value) makes it record the batch's outcomes one by one,
so that one bad row does not cost the others theirs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from queue import Empty, SimpleQueue
from typing import NamedTuple, TypeVar

from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.db import DatabaseReplaced
from scheduler.dbhealth import DatabaseHealth, is_outage
from scheduler.errors import CommitUncertain
from scheduler.i18n import _
from scheduler.queue import Finalization, NextInLine, StartedPost

log = logging.getLogger("siar.committer")

T = TypeVar("T")

#: seconds a batch smaller than ``SMALL_BATCH`` waits for more outcomes before it is
#: written. When posts trickle in (167 a second) each outcome used to be recorded in a
#: transaction of its own; the answer is already in, so only the worker's next post (if
#: it goes on) waits these milliseconds, and a crash meanwhile leaves the post in doubt
#: exactly like a crash during the request.
GATHER_SECONDS = 0.005
SMALL_BATCH = 4


class Receipt(NamedTuple):
    """What became of an outcome handed to the committer."""

    #: True recorded, False stale (the attempt was superseded), None not recorded (the
    #: database refused its row; the lease runs out and the post waits in doubt)
    recorded: bool | None
    #: the post begun for the worker to go on with (None: it asked for none, or nothing
    #: of its account was due, or the batch had to be written again)
    following: StartedPost | None = None


class Pending:
    """A receipt to come: set once by the committer, waited for by one worker. A lock
    held until it is set, rather than a ``concurrent.futures.Future`` (a condition, a
    lock per waiter, callbacks): a third less CPU for the hand-over every post makes."""

    __slots__ = ("_receipt", "_set")

    def __init__(self) -> None:
        self._set = threading.Lock()
        self._set.acquire()
        self._receipt: Receipt | None = None

    def set_result(self, receipt: Receipt) -> None:
        """Set the receipt (once) and wake whoever waits for it."""
        self._receipt = receipt
        self._set.release()

    def done(self) -> bool:
        """Whether the receipt is set."""
        return self._receipt is not None

    def result(self, timeout: float | None = None) -> Receipt:
        """The receipt, once set; ``TimeoutError`` if it is not within ``timeout`` s."""
        if not self._set.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError("the committer has not recorded this outcome yet")
        self._set.release()  # set for good: any later call returns at once
        assert self._receipt is not None
        return self._receipt


#: what the committer holds for each outcome: it, its receipt, the account to go on with
_Pending = tuple[Finalization, Pending, str | None]


class Committer:
    """One thread that records the outcomes handed to it in shared transactions, and may
    begin each finished post's account's next due post in the same transaction."""

    def __init__(self, engine: Engine, *, max_batch: int = 256,
                 next_in_line: NextInLine | None = None,
                 health: DatabaseHealth | None = None,
                 gather: float = GATHER_SECONDS) -> None:
        """``next_in_line`` (its ``accounts`` left empty) says how posts to go on with are
        begun: this node, its lease and the accounts' concurrency. Without it, a request
        to go on is ignored. ``health`` is shared with the daemon's other threads.
        ``gather``: seconds a small batch waits for more outcomes (see ``GATHER_SECONDS``)."""
        self.engine = engine
        self.max_batch = max_batch
        self.gather = gather
        self.next_in_line = next_in_line
        self.health = health or DatabaseHealth()
        self._pending: SimpleQueue[_Pending | None] = SimpleQueue()
        self._closed = False
        #: (post id, attempt) begun by a transaction whose COMMIT failed, not yet given
        #: back (only this thread touches it)
        self._unsent: list[tuple[int, int]] = []
        self._thread = threading.Thread(target=self._run, name="siar-committer", daemon=True)
        self._thread.start()

    def submit(self, item: Finalization, *, go_on_with: str | None = None
               ) -> Pending:
        """Record ``item``; with ``go_on_with`` (an account), also begin that account's
        next due post, if any, for the same worker. The :class:`Receipt` it gives says
        what became of it."""
        receipt = Pending()
        if self._closed:  # a bug in the stop order: nothing reads the queue any more
            log.error("post %s: its outcome came after the committer stopped; its lease "
                      "runs out and it waits in doubt", item.post_id)
            receipt.set_result(Receipt(None))
        else:
            self._pending.put((item, receipt, go_on_with))
        return receipt

    def record(self, item: Finalization, *, go_on_with: str | None = None) -> Receipt:
        """:meth:`submit`, and wait until the outcome is written (with others gathered
        meanwhile) or could not be."""
        return self.submit(item, go_on_with=go_on_with).result()

    def close(self) -> None:
        """Record everything submitted so far, then stop the thread (while the database is
        away, this waits for it: an outcome is dropped only if the process dies)."""
        if self.health.down:
            log.warning("stopping: the outcomes waiting in memory are recorded as soon as "
                        "the database answers (stopping the process now would leave those "
                        "posts in doubt)")
        self._closed = True
        self._pending.put(None)
        self._thread.join()
        while True:  # submitted as it closed (a bug in the stop order): nobody waits for ever
            try:
                late = self._pending.get_nowait()
            except Empty:
                return
            if late is not None:
                late[1].set_result(Receipt(None))

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            gather_until = time.monotonic() + self.gather
            while len(batch) < self.max_batch:
                try:
                    more = self._pending.get_nowait()
                except Empty:
                    wait = gather_until - time.monotonic()
                    if len(batch) >= SMALL_BATCH or wait <= 0:
                        break
                    try:
                        more = self._pending.get(timeout=wait)
                    except Empty:
                        break
                if more is None:
                    closing = True
                    break
                batch.append(more)
            self._record(batch)

    @property
    def owes_give_back(self) -> bool:
        """Posts a failed COMMIT may have begun are not given back yet. Until they are,
        this node must claim nothing: a rolled-back begin leaves a post at its previous
        attempt, a new claim by this node would reach the same attempt number, and giving
        the old one back would then take the new one from its worker."""
        return bool(self._unsent)

    def _record(self, batch: list[_Pending]) -> None:
        items = [item for item, _receipt, _account in batch]
        go_on = [account for _item, _receipt, account in batch if account is not None]
        if self.next_in_line is None:
            go_on = []
        tries = 0

        def write() -> tuple[list[bool], list[StartedPost]]:
            nonlocal tries
            tries += 1
            self._give_back()  # first: until it went through, nothing is begun
            # after a failed try, begin nothing: the dispatcher's next round claims them
            if go_on and tries == 1:
                assert self.next_in_line is not None
                recorded, begun = queue.finalize_and_begin_next(
                    self.engine, items, replace(self.next_in_line, accounts=go_on))
                return list(recorded), begun
            return list(queue.finalize_many(self.engine, items)), []

        results: list[bool | None]
        begun: list[StartedPost] = []
        try:
            recorded, begun = self.health.retry(
                f"recording {len(items)} outcome(s)", lambda: self._uncertain(write),
                wrote=lambda result: any(result[0]) or bool(result[1]))
            results = list(recorded)
            if tries > 1:  # an earlier try may have committed: stale may mean recorded
                results = [ok or self._recorded_already(item)
                           for ok, item in zip(recorded, items, strict=True)]
                if any(results):  # the outcomes are in the database: that outage is over
                    self.health.answered()
        except DatabaseReplaced as exc:  # the daemon stops; nothing more can be written
            log.error("%d outcome(s) not recorded: %s", len(items), exc.message)
            results = [None] * len(items)
        except Exception:
            # The database answers but refuses something in the batch: one bad row must
            # not cost the others their outcome (and nothing is begun: the dispatcher's
            # next round claims those posts).
            log.exception("recording %d outcomes together failed; recording one by one",
                          len(batch))
            self.health.retry("giving back posts begun", self._give_back, wrote=lambda _: False)
            results = [self._record_one(item) for item in items]
        next_posts = {post.account: post for post in begun}
        for (_item, receipt, account), recorded_ok in zip(batch, results, strict=True):
            following = next_posts.pop(account, None) if account is not None else None
            receipt.set_result(Receipt(recorded_ok, following))

    def _uncertain(self, write: Callable[[], T]) -> T:
        """``write()``; posts begun by a transaction whose COMMIT failed are kept to be
        given back (they were never handed to a worker)."""
        try:
            return write()
        except CommitUncertain as exc:
            self._unsent.extend(exc.begun)
            raise

    def _give_back(self) -> None:
        """Give back posts a failed COMMIT may have begun (raises while the database is
        away: the caller waits and tries again)."""
        if not self._unsent or self.next_in_line is None:
            self._unsent.clear()
            return
        try:
            given = queue.give_back_unsent(
                self.engine, self._unsent, self.next_in_line.node,
                why=_("the transaction that began it reported a failed COMMIT; never sent"))
        except Exception as exc:
            if is_outage(exc):
                raise
            if not isinstance(exc, DatabaseReplaced):
                log.exception("%d post(s) begun by a failed COMMIT could not be given "
                              "back; their leases run out", len(self._unsent))
            self._unsent.clear()
            return
        if given:
            log.warning("%d post(s) begun by a COMMIT reported as failed were given back "
                        "unsent", given)
        self._unsent.clear()

    def _recorded_already(self, item: Finalization) -> bool:
        """Recorded by an earlier try whose COMMIT was reported as failed?"""
        return self.health.retry("checking an outcome",
                                 lambda: queue.outcome_recorded(self.engine, item),
                                 wrote=lambda _: False)

    def _record_one(self, item: Finalization) -> bool | None:
        try:
            # stale, or recorded already by a COMMIT that was reported as failed
            return self.health.retry(
                "recording an outcome",
                lambda: (queue.finalize_many(self.engine, [item])[0]
                         or queue.outcome_recorded(self.engine, item)), wrote=bool)
        except Exception:
            log.exception("outcome of post %s (attempt %s) could not be recorded; its lease "
                          "runs out and it waits in doubt", item.post_id, item.attempt)
            return None
