"""A post a daemon gave back unsent is logged ``given_back`` (it once read ``released``,
a word staff took for the press release): migration 0006 rewrites the old rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from scheduler import db, queue
from scheduler.models import Attempt
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_post


def outcomes(engine: Engine) -> list[str | None]:
    with db.session(engine) as s:
        return list(s.scalars(select(Attempt.outcome).order_by(Attempt.id)))


def test_old_released_rows_read_given_back_after_the_migration_and_back_again(
        engine: Engine) -> None:
    queue_post(engine, "akun-a", utcnow() - timedelta(seconds=1))
    [claim] = queue.claim_due(engine, "node-a")
    assert queue.give_back_claim(engine, claim, "node-a")
    db.downgrade(engine, "0005")
    with db.session(engine) as s:  # as a daemon before the rename logged it
        s.execute(update(Attempt).values(outcome="released"))

    db.upgrade(engine)
    assert outcomes(engine) == ["given_back"]
    db.downgrade(engine, "0005")
    assert outcomes(engine) == ["released"]
    db.upgrade(engine)
    assert db.current_revision(engine) == db.HEAD_REVISION
