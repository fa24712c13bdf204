"""Records finished attempts in batches, from one thread.

Every post used to commit its outcome in a transaction of its own; under a burst the
workers then queued for the database (on SQLite for its single write lock) longer than
they waited for the network. Workers now hand the outcome over and the committer writes
whatever has gathered meanwhile in one transaction, each post still fenced by its attempt
(:func:`scheduler.queue.finalize_many`).

Nothing about sending changes: ``publishing`` is committed before a request leaves, as
before. A crash between an answer and its commit leaves the post ``publishing``; its lease
runs out and it becomes ``unknown`` for a probe, exactly like a crash during the request.
"""

from __future__ import annotations

import logging
import queue as fifo
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.queue import Finalization

log = logging.getLogger("siar.committer")

#: called once the outcome is settled: True recorded, False stale (the attempt was
#: superseded), None not recorded (a database error; the lease runs out)
OnRecorded = Callable[[bool | None], None]


class Committer:
    def __init__(self, engine: Engine, *, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._pending: fifo.SimpleQueue[tuple[Finalization, OnRecorded] | None] = (
            fifo.SimpleQueue())
        self._thread = threading.Thread(target=self._run, name="siar-committer", daemon=True)
        self._thread.start()

    def submit(self, item: Finalization, on_recorded: OnRecorded) -> None:
        self._pending.put((item, on_recorded))

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

    def _record(self, batch: list[tuple[Finalization, OnRecorded]]) -> None:
        results: list[bool | None]
        try:
            results = list(queue.finalize_many(self.engine, [item for item, _ in batch]))
        except Exception:
            # One bad row must not cost the others their outcome: record them one by one.
            log.exception("recording %d outcomes together failed; recording one by one",
                          len(batch))
            results = [self._record_one(item) for item, _ in batch]
        for (_, on_recorded), recorded in zip(batch, results, strict=True):
            try:
                on_recorded(recorded)
            except Exception:
                log.exception("handling a recorded outcome failed")

    def _record_one(self, item: Finalization) -> bool | None:
        try:
            return queue.finalize_many(self.engine, [item])[0]
        except Exception:
            log.exception("outcome of post %s (attempt %s) could not be recorded; its lease "
                          "runs out and it waits in doubt", item.post_id, item.attempt)
            return None
