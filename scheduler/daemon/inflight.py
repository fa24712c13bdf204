"""The in-flight table: every post this daemon holds, from its claim until its outcome is
recorded (or it is given back), under the attempt it holds.

One table, one lock. It says how many workers are free (the pump claims no more), whose
leases the heartbeat renews, and whether a worker may go on with its account's next post.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from scheduler import queue


class InFlight:
    """The posts this daemon holds, by post id, each under the claim (attempt) it holds.

    A post claimed again elsewhere meanwhile (its lease lost, settled by a probe, retried)
    may come back under a newer attempt while an old worker still finishes: the table
    keeps the newer one, so the old attempt's end never drops it (its lease would then
    no longer be renewed)."""

    def __init__(self) -> None:
        self._claims: dict[int, queue.Claim] = {}
        self._changed = threading.Condition()
        #: True when the last claim round left accounts with room and due posts without
        #: a worker: workers then take turns between accounts instead of going on
        self.take_turns = True
        #: the accounts the last claim round saw with more due posts than it took (None:
        #: it could not tell). A worker goes on only with those: asking for an account
        #: with nothing due costs the committer's transaction a lock and a statement or
        #: two per post, which was most of the statements when posts trickle in.
        self.backlog: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self._claims)

    def add(self, claims: Iterable[queue.Claim]) -> None:
        """Hold these claims (a claim round's)."""
        with self._changed:
            for claim in claims:
                self._claims[claim.post_id] = claim

    def pass_on(self, finished: queue.Claim, following: queue.Claim) -> None:
        """A worker's post is recorded and it goes on with ``following``, begun for it."""
        with self._changed:
            self._drop(finished)
            self._claims[following.post_id] = following

    def finish(self, claim: queue.Claim) -> None:
        """No longer held here, unless the post is held under a newer attempt."""
        with self._changed:
            self._drop(claim)
            if not self._claims:
                self._changed.notify_all()

    def may_go_on_with(self, account: str) -> bool:
        """Whether a worker finishing a post of ``account`` should ask to go on with its
        next due post: not while accounts wait for a worker (``take_turns``), and only
        if the account may have one due."""
        if self.take_turns:
            return False
        backlog = self.backlog
        return backlog is None or account in backlog

    def holds(self) -> dict[int, queue.Claim]:
        """A copy of the table: post id → claim."""
        with self._changed:
            return dict(self._claims)

    def post_ids(self) -> list[int]:
        """The posts whose leases this daemon renews."""
        with self._changed:
            return list(self._claims)

    def wait_empty(self) -> None:
        """Until nothing is in flight."""
        with self._changed:
            while self._claims:
                self._changed.wait()

    def _drop(self, claim: queue.Claim) -> None:
        if self._claims.get(claim.post_id) == claim:
            del self._claims[claim.post_id]
