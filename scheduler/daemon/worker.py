"""A worker: one claimed post from begin to recorded outcome, then on with its account's
next due post, in one straight line on one thread.

    begin    wait for the starter to commit the post as ``publishing`` (with every other
             post due by then, in one transaction), then for the post's time
    publish  the adapter call (:meth:`scheduler.daemon.attempt.Publisher.send`)
    record   hand the outcome to the committer and wait for it to be written (with the
             outcomes gathered meanwhile, in one transaction)
    go on    that same transaction may have begun the account's next due post for this
             worker: send it at once, from "publish"

The worker holds its slot in the in-flight table from the claim until its last outcome is
recorded; going on passes the slot from one post to the next. It never raises: whatever
goes wrong, the slot it held last is returned to the pump to be freed, and a post that
was begun but never answered waits for its lease to run out and the probe.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.attempt import Publisher
from scheduler.daemon.committer import Committer
from scheduler.daemon.events import RunSummary
from scheduler.daemon.inflight import InFlight

log = logging.getLogger("siar.daemon")


class Worker:
    """Runs posts on the daemon's worker threads (any number at once)."""

    def __init__(self, engine: Engine, node: str, *, publisher: Publisher,
                 committer: Committer, inflight: InFlight, summary: RunSummary,
                 stopping: threading.Event) -> None:
        self.engine = engine
        self.node = node
        self.publisher = publisher
        self.committer = committer
        self.inflight = inflight
        self.summary = summary
        self.stopping = stopping

    def run_post(self, claim: queue.Claim, begun: Future[queue.StartedPost | None]
                 ) -> queue.Claim:
        """Begin → publish → record → go on, for ``claim`` and whatever its account has
        due next. Returns the claim held last: its worker slot is free now."""
        try:
            post = begun.result()  # None: lost meanwhile (cancelled by staff) or given back
            if post is not None:
                # Begun a few milliseconds ahead (see starter.BEGIN_AHEAD); nothing leaves
                # before its time. Begun means in flight: a stop does not hold it back.
                _sleep_until(claim.not_before)
            while post is not None:
                item = self.publisher.send(post)
                receipt = self.committer.record(
                    item, go_on_with=post.account if self._may_go_on(post.account) else None)
                self._report(post, item, receipt.recorded)
                if receipt.following is None:
                    break
                claim, post = self._go_on(claim, receipt.following), receipt.following
                if self.stopping.is_set():
                    self._give_back(post)
                    break
        except Exception:
            # The lease runs out and housekeeping takes the post back safely.
            log.exception("worker failed on post %s", claim.post_id)
        return claim

    def _may_go_on(self, account: str) -> bool:
        """May this worker go on with its account's next due post (begun by the committer
        with this post's outcome)? Not while stopping, not while other accounts wait
        for a worker (then each finished post frees its worker for a claim round, which
        serves the accounts in turn), and not for an account the last claim round saw
        nothing more due of (a post that came due since is claimed by the next round)."""
        return not self.stopping.is_set() and self.inflight.may_go_on_with(account)

    def _report(self, post: queue.StartedPost, item: queue.Finalization,
                recorded: bool | None) -> None:
        try:
            self.publisher.report(post, item, recorded)
        except Exception:  # an alert that could not be raised must not strand the next post
            log.exception("reporting the outcome of post %s failed", post.id)

    def _go_on(self, finished: queue.Claim, following: queue.StartedPost) -> queue.Claim:
        """The worker slot passes from the finished post to its account's next one."""
        successor = queue.Claim(post_id=following.id, attempt=following.attempt,
                                account=following.account, network=following.network)
        self.inflight.pass_on(finished, successor)
        self.summary.add(went_on=1)
        return successor

    def _give_back(self, post: queue.StartedPost) -> None:
        """Begun but certainly not sent (the daemon began stopping): given back at once
        rather than left for its lease to run out and the probe."""
        try:
            queue.give_back_unsent(self.engine, [(post.id, post.attempt)], self.node)
        except Exception:
            log.exception("post %s was begun but not sent, and could not be given back; "
                          "its lease runs out and the probe settles it", post.id)


def _sleep_until(moment: datetime | None) -> None:
    if moment is None:
        return
    wait = moment.timestamp() - time.time()
    if wait > 0:
        time.sleep(wait)
