"""The starter hands a begun post only to the claim of that very attempt — SQLite and
PostgreSQL. A claim whose lease was taken back (an outage, a stall) can wait in the starter
beside the same post's newer claim; handing the post to both would send it twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.daemon.starter import Starter
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_many

NODE = "node-a"


@pytest.mark.parametrize("newer_first", [True, False], ids=["newer first", "stale first"])
def test_a_stale_claim_beside_a_newer_one_of_the_same_post_gets_nothing(
        engine: Engine, newer_first: bool) -> None:
    queue_many(engine, [("akun-a", utcnow() - timedelta(seconds=1))])
    [stale] = queue.claim_due(engine, NODE, limit=1)
    queue.expire_leases_of(engine, NODE)  # its lease ran out and was taken back
    assert queue.reap_expired_leases(engine) == (1, 0)
    [newer] = queue.claim_due(engine, NODE, limit=1)
    assert (newer.post_id, newer.attempt) == (stale.post_id, stale.attempt + 1)
    starter = Starter(engine, NODE, lease=60)
    claims = [newer, stale] if newer_first else [stale, newer]
    # due together: one transaction begins them
    handed = {claim.attempt: begun.result(timeout=10)
              for claim, begun in zip(claims, starter.submit(claims), strict=True)}
    starter.close()
    begun = handed[newer.attempt]
    assert begun is not None and begun.attempt == newer.attempt
    assert handed[stale.attempt] is None  # not a second worker for the same post
