"""Whether the database answers: outages told from bad data, waited out, logged once.

PostgreSQL restarting, a broken connection, an SQLite file on a full or read-only disk:
while the database cannot take a transaction at all, retrying the same work is right and
trying it differently (one row at a time) only repeats the failure. Every thread of the
daemon that meets such an error reports it here and waits with a capped backoff; the first
report of an outage is logged once, and so is the first success after it, which also wakes
every waiting thread at once: what was kept in memory is written as soon as it can be.

A lease cannot be renewed while the database is away, so at its return every daemon's
leases may have run out although the daemons live. :meth:`DatabaseHealth.steady_for` lets
the reaper wait one lease after an outage before it takes leases back: a live daemon
renews its own in that time, a dead one does not.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from scheduler import backoff
from scheduler.errors import CommitUncertain

log = logging.getLogger("siar.database")

T = TypeVar("T")

#: seconds of the first wait after a failure, doubled after each until ``MAX_DELAY``
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database could not do any work (down, restarting, the
    connection broken, the disk full or read-only, a lock or a pool that timed out), as
    opposed to refusing this data (a constraint, a bad value, a bug in a statement)."""
    if isinstance(error, CommitUncertain) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, sa_exc.DBAPIError):
        # InternalError: PostgreSQL in a read-only transaction (a standby after failover)
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.InternalError)
    return isinstance(error, sa_exc.TimeoutError)  # no pooled connection came free


def delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """first, 2 × first, … up to ``cap``, then ``cap`` for ever (:func:`backoff.ceiling`)."""
    return (backoff.ceiling(tries, first, cap) for tries in itertools.count(1))


class DatabaseHealth:
    """Shared by the daemon's threads: is the database away, since when, back since when."""

    def __init__(self, *, first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._clock = clock
        self._changed = threading.Condition()
        self._down_since: float | None = None
        #: when the last outage ended (None: none yet)
        self._back_since: float | None = None
        self._failures = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException, doing: str, began: float | None = None) -> None:
        """Report a failure of the database while ``doing`` something (logged once an
        outage). ``began``: when the work began (:meth:`now`); work begun before the last
        outage ended does not start another: its connection was from before (tried again,
        it takes a new one)."""
        with self._changed:
            if (self._down_since is None and began is not None
                    and self._back_since is not None and began < self._back_since):
                return
            self._failures += 1
            if self._down_since is not None:
                return
            self._down_since = self._clock()
        log.error("the database does not answer (%s: %s); Siar keeps what it has to "
                  "write in memory and tries again until it answers", doing, _summary(error))

    def now(self) -> float:
        """The health's clock: read it before a piece of work, for :meth:`answered`."""
        return self._clock()

    def answered(self, began: float | None = None) -> None:
        """Report a transaction that wrote something and went through (logged once, at the
        end of an outage). Reads do not count: on a full or read-only disk SQLite still
        answers them. ``began``: when the work began (:meth:`now`); work begun before the
        outage was reported does not end it: its connection may have written just before
        the server went (threads report in any order), and the outage was then logged
        twice for one restart."""
        if self._down_since is None:  # the usual case, without taking the lock
            return
        with self._changed:
            if self._down_since is None or (began is not None and began < self._down_since):
                return
            now = self._clock()
            away, failures = now - self._down_since, self._failures
            self._down_since, self._back_since, self._failures = None, now, 0
            self._changed.notify_all()
        log.warning("the database answers again after %.1f s (%d failed tries); "
                    "carrying on", away, failures)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the database answers meanwhile."""
        with self._changed:
            if self._down_since is not None:
                self._changed.wait(seconds)

    def steady_for(self, seconds: float) -> bool:
        """True when the database answers and has done so for ``seconds`` since the last
        outage (or there was none)."""
        if self._down_since is not None:
            return False
        return self._back_since is None or self._clock() - self._back_since >= seconds

    def retry(self, doing: str, work: Callable[[], T], *,
              wrote: Callable[[T], bool] = lambda _: True) -> T:
        """``work()``, again after each outage error (waiting with backoff) until it
        goes through. Other errors are raised. ``wrote(result)`` says whether the work
        wrote something: only a write proves the database back (an SQLite file on a full
        or read-only disk still answers reads, and a write that changed nothing)."""
        waits = delays(self.first_delay, self.max_delay)
        while True:
            began = self._clock()
            try:
                result = work()
            except Exception as error:
                if not is_outage(error):
                    raise
                self.failed(error, doing, began)
                self.wait(next(waits))
                continue
            if wrote(result):
                self.answered(began)
            return result


def _summary(error: BaseException) -> str:
    """The error's first line, without SQLAlchemy's statement dump and background link."""
    if isinstance(error, CommitUncertain) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
