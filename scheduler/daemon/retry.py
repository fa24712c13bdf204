"""The retry policy: what becomes of a post that was provably not sent.

Pure decisions from the daemon's settings (``max_attempts``, ``backoff_base``/``_max``,
``grace_minutes``): another try and when, given up, or missed. Nothing here reads or
writes the database; :mod:`scheduler.daemon.attempt` applies the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from channels.base import NotSent
from scheduler import backoff
from scheduler.i18n import _
from scheduler.settings import DaemonSettings
from scheduler.timeparse import to_db, utcnow

#: the longest wait followed as it is (seconds; a bigger Retry-After would overflow a date)
LONGEST_WAIT = 10_000 * 86400.0


@dataclass(frozen=True)
class NextTry:
    """What becomes of a post that was provably not sent: another try at ``retry_at``,
    given up (too many tries), or ``missed`` (why: it could not go out within the grace
    period after its time)."""

    retry_at: datetime | None = None
    give_up: bool = False
    missed: str | None = None


class RetryPolicy:
    """Bounded exponential backoff with jitter, the network's own wait where it names one,
    and never a try planned beyond the grace period after the post's time."""

    def __init__(self, cfg: DaemonSettings) -> None:
        self.cfg = cfg

    @property
    def grace(self) -> timedelta:
        """How long after its time a post may still go out."""
        return timedelta(minutes=self.cfg.grace_minutes)

    def next_try(self, outcome: NotSent, tries: int, due_at: datetime, *,
                 now: datetime | None = None) -> NextTry:
        """What a not-sent post does next, ``tries`` being its failed tries so far (this
        one included).

        Too many tries: give up. A wait the network asked for (``Retry-After``, a
        rate-limit reset) is followed only within the grace period after the post's time;
        beyond it the post is missed at once, naming the network's wait: a release is
        never sent late, and never kept waiting for a reset years away. Our own backoff
        is cut to the end of the grace period (one last try), missed once that is past.
        """
        now = now or utcnow()
        deadline = to_db(due_at) + self.grace
        retry_at, give_up = self.retry_time(outcome, tries, now=now)
        if give_up or retry_at is None:
            return NextTry(give_up=True)
        if retry_at <= deadline:
            return NextTry(retry_at)
        grace = _("{minutes:g} min").format(minutes=self.cfg.grace_minutes)
        if outcome.retry_after is not None:
            return NextTry(missed=(
                _("the network asked to wait {wait} (until {retry_at:%Y-%m-%d %H:%M:%S} UTC) "
                  "before another try: beyond the grace period of {grace} after its time, so it "
                  "is not sent late ({reason})").format(
                    wait=wait_text(outcome.retry_after), retry_at=retry_at, grace=grace,
                    reason=outcome.reason)))
        if deadline <= now:
            return NextTry(missed=(_("the grace period of {grace} after its time ended while it "
                                     "was being retried ({reason})").format(
                                       grace=grace, reason=outcome.reason)))
        return NextTry(deadline)

    def retry_time(self, outcome: NotSent, tries: int, *,
                   now: datetime | None = None) -> tuple[datetime | None, bool]:
        """When to try a not-sent post again, or give up after too many failed tries.

        A network's own reset time wins; otherwise :func:`scheduler.backoff.jittered`, so
        many posts failing together do not return together.
        """
        if tries >= self.cfg.max_attempts and not outcome.rate_limited:
            return None, True
        if outcome.retry_after is not None:
            wait = min(max(0.0, outcome.retry_after), LONGEST_WAIT)
        else:
            wait = backoff.jittered(tries, self.cfg.backoff_base, self.cfg.backoff_max)
        return (now or utcnow()) + timedelta(seconds=wait), False

    def account_reset(self, outcome: NotSent, plan: NextTry, now: datetime) -> datetime | None:
        """Until when claims skip the account of a rate-limited post: the network's reset,
        but never longer than the grace period (by then every post due now is missed
        anyway, and posts due later get a try, and, refused again, an alert of their own,
        instead of waiting silently for a reset years away). None: no wait is known."""
        if outcome.retry_after is not None:
            reset = now + timedelta(seconds=min(max(0.0, outcome.retry_after), LONGEST_WAIT))
        elif plan.retry_at is not None:
            reset = plan.retry_at
        else:
            return None
        return min(reset, now + self.grace)


def wait_text(seconds: float) -> str:
    """A network's wait for people: "30 s", "12 min", "5 h", "3,650 days"."""
    if seconds < 120:
        return _("{seconds:.0f} s").format(seconds=seconds)
    if seconds < 2 * 3600:
        return _("{minutes:.0f} min").format(minutes=seconds / 60)
    if seconds < 2 * 86400:
        return _("{hours:.0f} h").format(hours=seconds / 3600)
    return _("{days:,.0f} days").format(days=seconds / 86400)
