"""What the daemon learns about a post: typed events, the run summary they add up to, and
the staff alert each one calls for.

An event is raised once the outcome of an attempt (or of a probe of a post in doubt) is
recorded in the database: never for an outcome that was superseded (a newer attempt or a
staff decision won), so counters and alerts describe what the queue says.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from channels.base import AuthFailed, InDoubt, NotSent, Outcome, Published, Rejected
from scheduler import notify


class OutcomeKind(StrEnum):
    """What an attempt came to; the value is the attempt log's and ``/metrics``' name."""

    PUBLISHED = "published"
    REJECTED = "rejected"
    NOT_SENT = "not_sent"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    IN_DOUBT = "in_doubt"

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomeKind:
        """The kind of an adapter's outcome (a rate limit is a ``NotSent`` of its own)."""
        match outcome:
            case NotSent(rate_limited=True):
                return cls.RATE_LIMITED
            case NotSent():
                return cls.NOT_SENT
            case Published():
                return cls.PUBLISHED
            case Rejected():
                return cls.REJECTED
            case AuthFailed():
                return cls.AUTH_FAILED
            case InDoubt():
                return cls.IN_DOUBT
        raise TypeError(f"not an outcome: {outcome!r}")


@dataclass(frozen=True)
class Recorded:
    """An outcome now in the database: an attempt's, or a probe's verdict on a post in doubt."""

    post: int
    account: str
    outcome: Outcome
    #: the post failed for good after too many tries
    give_up: bool = False
    #: why the post was missed at once (it could not go out within its grace period)
    missed: str | None = None
    #: the verdict of a probe, not of an attempt
    probed: bool = False
    #: what the outcome came to (set from it: read several times for every post)
    kind: OutcomeKind = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OutcomeKind.of(self.outcome))

    @property
    def counter(self) -> str:
        """Its name among ``/metrics``' outcomes: a probe's verdicts apart from attempts'."""
        return f"probe_{self.kind}" if self.probed else self.kind.value


@dataclass
class RunSummary:
    """What this daemon did since it started (``siar daemon`` prints it when it stops)."""

    published: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    paused: int = 0
    missed: int = 0
    #: posts a dry run on a live database rehearsed (and left as they were)
    rehearsed: int = 0
    #: posts a worker went on with straight after its account's previous one
    went_on: int = 0
    #: events by :attr:`Recorded.counter` (``/metrics``)
    counters: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, event: Recorded) -> None:
        """Add one recorded outcome (called from any thread)."""
        kind = event.kind
        counter = event.counter
        with self._lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1
            if kind is OutcomeKind.PUBLISHED:
                self.published += 1
            elif kind is OutcomeKind.REJECTED or event.give_up:
                self.failed += 1
            elif kind in (OutcomeKind.NOT_SENT, OutcomeKind.RATE_LIMITED) and not event.missed:
                self.retried += 1
            elif kind is OutcomeKind.IN_DOUBT:
                self.unknown += 1
            elif kind is OutcomeKind.AUTH_FAILED:
                self.paused += 1
            if event.missed:
                self.missed += 1

    def add(self, *, missed: int = 0, went_on: int = 0) -> None:
        """Count posts missed by housekeeping, or gone on with (any thread)."""
        with self._lock:
            self.missed += missed
            self.went_on += went_on

    def counters_now(self) -> dict[str, int]:
        """A copy of :attr:`counters` (for ``/metrics``, read while workers count)."""
        with self._lock:
            return dict(self.counters)


def staff_alert(event: Recorded) -> tuple[Any, ...] | None:
    """The alert an event calls for, as ``(message builder, *arguments)`` for
    :meth:`scheduler.notify.Notifier.post_alert`; None when staff need not hear of it."""
    outcome = event.outcome
    if isinstance(outcome, AuthFailed):
        return notify.auth_failed, outcome.reason
    if isinstance(outcome, Rejected):
        return notify.rejected, outcome.reason
    if event.give_up:
        return notify.gave_up, outcome.reason  # type: ignore[union-attr]
    if event.missed:
        return notify.missed_at_once, event.missed
    return None
