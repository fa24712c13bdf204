"""A rehearsal on a live database: ``siar daemon --dry-run`` where the deployment is not a
rehearsal deployment (``dry_run = true``).

Each post as it comes due is shown to its channel's :meth:`~channels.base.Channel.
dry_run_requests`, and what would be sent is written to the attempt log (outcome
``rehearsed``). No post changes: same status, same due time, same attempt number, so the
real daemon later publishes each of them exactly once. Nothing is claimed and nothing is
sent; the rehearsal needs no secrets (adapters are built from the account's settings alone).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from channels.base import Delivery
from channels.variant import Variant
from scheduler import states
from scheduler.adapters import Adapters
from scheduler.db import transaction
from scheduler.models import Attempt, Post
from scheduler.settings import Settings
from scheduler.timeparse import from_db

log = logging.getLogger("siar.daemon")

#: the attempt log's outcome of a rehearsed post
REHEARSED = "rehearsed"
#: rehearsal rows carry attempt 0: real attempts count from 1, and what the daemon reads
#: of an attempt's outcomes (the probe, the settling of a post in doubt) never sees them
REHEARSAL_ATTEMPT = 0

CLAIMABLE = states.values(states.CLAIMABLE)


@dataclass(frozen=True)
class Rehearsed:
    """One post rehearsed: the requests its channel would have sent."""

    post_id: int
    release_id: int
    account: str
    network: str
    requests: list[dict[str, Any]]


@dataclass
class Rehearsal:
    """Rehearses the due posts of a live database; see the module's docstring."""

    engine: Engine
    settings: Settings
    node: str
    #: built with ``dry_run=True``: from the account's settings alone, no secrets
    adapters: Adapters
    #: (post id, due time) of the posts already rehearsed in this run
    seen: set[tuple[int, datetime]] = field(default_factory=set)

    def run(self, stop: threading.Event, *, once: bool) -> list[Rehearsed]:
        """Rehearse what is due now (``once``), or each post as it comes due until
        ``stop`` is set; every post once."""
        done = self.rehearse_due(datetime.now(UTC))
        while not once and not stop.wait(self.settings.daemon.poll_interval):
            done += self.rehearse_due(datetime.now(UTC))
        return done

    def rehearse_due(self, now: datetime) -> list[Rehearsed]:
        """Every post due by ``now`` and not yet rehearsed: its requests, logged."""
        with transaction(self.engine) as s:
            posts = [p for p in s.scalars(select(Post).where(
                Post.status.in_(CLAIMABLE), Post.due_at <= now
            ).order_by(Post.due_at, Post.id)) if (p.id, p.due_at) not in self.seen]
            done = [self._rehearse(post) for post in posts]
            s.add_all(Attempt(post_id=r.post_id, attempt=REHEARSAL_ATTEMPT, node=self.node,
                              started_at=now, finished_at=now, outcome=REHEARSED,
                              detail={"dry_run_requests": r.requests}) for r in done)
            self.seen.update((p.id, p.due_at) for p in posts)
        for item in done:
            log.info("rehearsed post %s/%s (%s): %d request(s), nothing sent",
                     item.release_id, item.account, item.network, len(item.requests),
                     extra={"post": item.post_id, "account": item.account})
        return done

    def _rehearse(self, post: Post) -> Rehearsed:
        delivery = Delivery(post_id=post.id, attempt=post.attempt + 1,  # type: ignore[arg-type]
                            variant=Variant.from_json(post.variant),
                            publish_key=post.publish_key, due_at=from_db(post.due_at))
        requests = self.adapters.get(post.account).dry_run_requests(delivery)
        return Rehearsed(post_id=post.id, release_id=post.release_id,  # type: ignore[arg-type]
                         account=post.account, network=post.network, requests=requests)
