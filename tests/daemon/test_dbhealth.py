"""Telling a database outage from bad data, the backoff while it lasts, and the lease's
grace after it (scheduler.dbhealth)."""

from __future__ import annotations

import itertools
import logging
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import exc as sa_exc

from scheduler.dbhealth import DatabaseHealth, delays, is_outage
from scheduler.errors import CommitUncertain


def wrapped(kind: type[sa_exc.DBAPIError], message: str, *,
            invalidated: bool = False) -> sa_exc.DBAPIError:
    return kind("UPDATE post …", {}, sqlite3.OperationalError(message),
                connection_invalidated=invalidated)


@pytest.mark.parametrize("error", [
    wrapped(sa_exc.OperationalError, "server closed the connection unexpectedly"),
    wrapped(sa_exc.OperationalError, "database or disk is full"),
    wrapped(sa_exc.OperationalError, "attempt to write a readonly database"),
    wrapped(sa_exc.InterfaceError, "connection already closed"),
    wrapped(sa_exc.InternalError, "cannot execute UPDATE in a read-only transaction"),
    wrapped(sa_exc.DatabaseError, "terminating connection", invalidated=True),
    sa_exc.TimeoutError("QueuePool limit reached"),
], ids=["closed", "disk full", "read-only file", "interface", "read-only transaction",
        "invalidated", "pool timeout"])
def test_the_database_being_unable_to_work_is_an_outage(error: Exception) -> None:
    assert is_outage(error)
    uncertain = CommitUncertain([(1, 1)])
    uncertain.__cause__ = error
    assert is_outage(uncertain)  # a COMMIT that failed for that reason


@pytest.mark.parametrize("error", [
    wrapped(sa_exc.IntegrityError, "UNIQUE constraint failed"),
    wrapped(sa_exc.DataError, "invalid input syntax"),
    wrapped(sa_exc.ProgrammingError, "syntax error"),
    ValueError("a bug"),
], ids=["constraint", "bad value", "bad statement", "bug"])
def test_a_refusal_of_the_data_is_not_an_outage(error: Exception) -> None:
    assert not is_outage(error)


@given(first=st.floats(0.001, 1.0), cap=st.floats(1.0, 60.0), n=st.integers(1, 200))
def test_the_wait_doubles_from_the_first_up_to_the_cap(first: float, cap: float,
                                                       n: int) -> None:
    waits = list(itertools.islice(delays(first, cap), n))
    assert waits[0] == first
    assert all(w <= cap for w in waits)
    assert all(b == min(cap, a * 2) for a, b in itertools.pairwise(waits))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    health = DatabaseHealth()
    error = wrapped(sa_exc.OperationalError, "connection refused")
    with caplog.at_level(logging.WARNING, logger="siar.database"):
        for _ in range(50):
            health.failed(error, "recording outcomes")
        health.answered()
        health.answered()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "does not answer (recording outcomes: OperationalError: connection refused)" \
        in messages[0]
    assert "answers again" in messages[1] and "50 failed tries" in messages[1]


def test_leases_get_one_lease_of_grace_after_an_outage() -> None:
    clock = Clock()
    health = DatabaseHealth(clock=clock)
    assert health.steady_for(120)  # no outage yet: reaping as usual
    health.failed(wrapped(sa_exc.OperationalError, "down"), "heartbeat")
    assert not health.steady_for(120)
    clock.now += 300
    health.answered()
    assert not health.steady_for(120)  # every lease ran out meanwhile: renew first
    clock.now += 119
    assert not health.steady_for(120)
    clock.now += 1
    assert health.steady_for(120)


def test_work_is_tried_again_until_the_database_answers() -> None:
    health = DatabaseHealth(first_delay=0.001, max_delay=0.002)
    answers = iter([wrapped(sa_exc.OperationalError, "down")] * 5 + [None])

    def work() -> str:
        error = next(answers)
        if error is not None:
            raise error
        return "recorded"

    assert health.retry("recording outcomes", work) == "recorded"
    assert not health.down

    def refused() -> str:
        raise wrapped(sa_exc.IntegrityError, "UNIQUE constraint failed")

    with pytest.raises(sa_exc.IntegrityError):  # a refusal is not waited out
        health.retry("recording outcomes", refused)


def test_only_work_begun_after_the_outage_was_reported_ends_it(
        caplog: pytest.LogCaptureFixture) -> None:
    # One restart of the server: a thread whose transaction went through just before the
    # server went may report its success after another thread reported the failure.
    clock = Clock()
    health = DatabaseHealth(clock=clock)
    began = health.now()
    clock.now += 0.01
    with caplog.at_level(logging.WARNING, logger="siar.database"):
        health.failed(wrapped(sa_exc.OperationalError, "terminating connection"), "heartbeat")
        clock.now += 0.01
        health.answered(began)  # a write begun before: it says nothing of the outage
        assert health.down
        health.failed(wrapped(sa_exc.OperationalError, "connection refused"), "heartbeat")
        clock.now += 5
        health.answered(health.now())  # a write begun since: the server is back
    assert not health.down
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "does not answer" in messages[0] and "answers again after 5.0 s" in messages[1]


def test_work_tried_again_ends_the_outage_although_its_first_try_began_before_it() -> None:
    clock = Clock()
    health = DatabaseHealth(first_delay=0.001, max_delay=0.002, clock=clock)
    tries = iter([wrapped(sa_exc.OperationalError, "down"), None])

    def work() -> str:
        clock.now += 1
        if (error := next(tries)) is not None:
            raise error
        return "recorded"

    assert health.retry("recording outcomes", work) == "recorded"
    assert not health.down


def test_work_begun_while_the_database_was_away_does_not_start_another_outage(
        caplog: pytest.LogCaptureFixture) -> None:
    # a thread that held a connection across the restart learns of it only once the
    # server is back: that is the same outage, not another
    clock = Clock()
    health = DatabaseHealth(clock=clock)
    held = health.now()
    with caplog.at_level(logging.WARNING, logger="siar.database"):
        health.failed(wrapped(sa_exc.OperationalError, "terminating connection"), "heartbeat")
        clock.now += 4
        health.answered(health.now())
        health.failed(wrapped(sa_exc.OperationalError, "server closed the connection"),
                      "recording outcomes", held)
        assert not health.down
        clock.now += 1
        # work begun since the database came back: a new outage
        health.failed(wrapped(sa_exc.OperationalError, "connection refused"), "heartbeat",
                      health.now())
    assert health.down
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" (")[0].split(" after")[0] for m in messages] == [
        "the database does not answer", "the database answers again",
        "the database does not answer"], messages
