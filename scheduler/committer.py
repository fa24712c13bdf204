"""Records finished attempts in batches, from one thread.

Every post used to commit its outcome in a transaction of its own; under a burst the
workers then queued for the database (on SQLite for its single write lock) longer than
they waited for the network. Workers now hand the outcome over and the committer writes
whatever has gathered meanwhile in one transaction, each post still fenced by its attempt
(:func:`scheduler.queue.finalize_many`).

Nothing about sending changes: ``publishing`` is committed before a request leaves, as
before. A crash between an answer and its commit leaves the post ``publishing``; its lease
runs out and it becomes ``unknown`` for a probe, exactly like a crash during the request.

A worker may ask to *go on*: in the same transaction the committer then begins the same
account's next post that is due by now (:func:`scheduler.queue.finalize_and_begin_next`)
and hands it back with the outcome, so the worker sends it at once. In a burst this
replaces a claim round, a starter transaction and two hand-overs per post.

A batch whose COMMIT is reported as failed may have committed all the same: the posts it
began are given back unsent (now, or with a later batch once the database answers), and
its outcomes are recorded one by one, an outcome found recorded already counting as such.
"""

from __future__ import annotations

import logging
import queue as fifo
import threading
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.errors import CommitUncertain
from scheduler.queue import Finalization, NextInLine, StartedPost

log = logging.getLogger("siar.committer")

#: called once the outcome is settled: True recorded, False stale (the attempt was
#: superseded), None not recorded (a database error; the lease runs out); and the post
#: begun for the worker to go on with (None: it asked for none, or nothing was due)
OnRecorded = Callable[[bool | None, StartedPost | None], None]
#: what the committer holds for each outcome: it, its callback, the account to go on with
_Pending = tuple[Finalization, OnRecorded, str | None]


class Committer:
    def __init__(self, engine: Engine, *, max_batch: int = 256,
                 next_in_line: NextInLine | None = None) -> None:
        """``next_in_line`` (its ``accounts`` left empty) says how posts to go on with are
        begun: this node, its lease and the accounts' concurrency. Without it, a request
        to go on is ignored."""
        self.engine = engine
        self.max_batch = max_batch
        self.next_in_line = next_in_line
        self._pending: fifo.SimpleQueue[_Pending | None] = fifo.SimpleQueue()
        #: (post id, attempt) begun by a transaction whose COMMIT failed, not yet given
        #: back (only this thread touches it)
        self._unsent: list[tuple[int, int]] = []
        self._thread = threading.Thread(target=self._run, name="siar-committer", daemon=True)
        self._thread.start()

    def submit(self, item: Finalization, on_recorded: OnRecorded, *,
               go_on_with: str | None = None) -> None:
        """Record ``item``; with ``go_on_with`` (an account), also begin that account's
        next due post, if any, for the same worker."""
        self._pending.put((item, on_recorded, go_on_with))

    def close(self) -> None:
        """Record everything submitted so far, then stop the thread."""
        self._pending.put(None)
        self._thread.join()

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._pending.get_nowait()
                except fifo.Empty:
                    break
                if more is None:
                    closing = True
                    break
                batch.append(more)
            self._record(batch)

    def _record(self, batch: list[_Pending]) -> None:
        items = [item for item, _, _ in batch]
        go_on = [account for _, _, account in batch if account is not None]
        results: list[bool | None]
        begun: list[StartedPost] = []
        self._give_back()
        try:
            if go_on and self.next_in_line is not None:
                recorded, begun = queue.finalize_and_begin_next(
                    self.engine, items, replace(self.next_in_line, accounts=go_on))
                results = list(recorded)
            else:
                results = list(queue.finalize_many(self.engine, items))
        except Exception as exc:
            # One bad row must not cost the others their outcome: record them one by one
            # (and begin nothing: the dispatcher's next round claims those posts).
            log.exception("recording %d outcomes together failed; recording one by one",
                          len(batch))
            if isinstance(exc, CommitUncertain):  # begun, maybe committed, never sent
                self._unsent.extend(exc.begun)
                self._give_back()
            results = [self._record_one(item) for item in items]
        next_posts = {post.account: post for post in begun}
        for (_, on_recorded, account), recorded in zip(batch, results, strict=True):
            following = next_posts.pop(account, None) if account is not None else None
            try:
                on_recorded(recorded, following)
            except Exception:
                # a post begun for it stays in flight until its lease runs out; then it is
                # in doubt and the probe finds it was never sent
                log.exception("handling a recorded outcome failed")

    def _give_back(self) -> None:
        """Give back posts a failed COMMIT may have begun (until the database takes it)."""
        if not self._unsent or self.next_in_line is None:
            return
        try:
            given = queue.give_back_unsent(
                self.engine, self._unsent, self.next_in_line.node,
                why="the transaction that began it reported a failed COMMIT; never sent")
        except Exception:
            log.exception("%d post(s) begun by a failed COMMIT could not be given back yet",
                          len(self._unsent))
            return
        if given:
            log.warning("%d post(s) begun by a COMMIT reported as failed were given back "
                        "unsent", given)
        self._unsent.clear()

    def _record_one(self, item: Finalization) -> bool | None:
        try:
            # stale, or recorded already by a COMMIT that was reported as failed
            return (queue.finalize_many(self.engine, [item])[0]
                    or queue.outcome_recorded(self.engine, item))
        except Exception:
            log.exception("outcome of post %s (attempt %s) could not be recorded; its lease "
                          "runs out and it waits in doubt", item.post_id, item.attempt)
            return None
