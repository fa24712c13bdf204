"""What ``siar status``, ``/healthz``, ``/metrics`` and the watchdog read: is publishing healthy?

"Healthy" means what staff care about — due posts are actually being picked up — not
merely that a process answers. A daemon is alive while its heartbeat is fresh; the
watchdog compares the oldest post that *could* be claimed (account neither paused nor
rate limited) with ``watchdog_seconds``. Staff alerts that a notify account did not take
are listed too (they do not make publishing unhealthy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scheduler.reads import Reader, reading
from scheduler.reads.rows import AccountStateRow, AlertRow, NodeRow, build
from scheduler.states import CLAIMABLE, Status, values
from scheduler.timeparse import to_db, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from scheduler.settings import DaemonSettings


@dataclass(frozen=True)
class NodeStatus:
    name: str
    host: str
    pid: int
    heartbeat_at: datetime
    alive: bool


@dataclass(frozen=True)
class Overdue:
    """Posts that could go out now but have not, and the oldest of them."""

    count: int
    oldest_post_id: int | None = None
    oldest_release_id: int | None = None
    oldest_account: str | None = None
    oldest_due: datetime | None = None

    def seconds(self, now: datetime) -> float:
        return (to_db(now) - self.oldest_due).total_seconds() if self.oldest_due else 0.0


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    nodes: list[NodeStatus]
    depth: dict[str, int]
    overdue: Overdue
    paused_accounts: dict[str, str | None] = field(default_factory=dict)
    rate_limited: dict[str, datetime] = field(default_factory=dict)
    #: true when due posts have waited longer than ``watchdog_seconds``
    stuck: bool = False
    #: staff alerts whose delivery failed (see :func:`undelivered_alerts`)
    alerts_undelivered: int = 0

    @property
    def alive(self) -> list[NodeStatus]:
        return [n for n in self.nodes if n.alive]


def alive_cutoff(settings: DaemonSettings, now: datetime) -> datetime:
    """Heartbeats older than this mean the daemon is gone (three missed beats)."""
    return to_db(now) - timedelta(seconds=3 * settings.heartbeat_seconds)


def snapshot(db: Reader | Engine, settings: DaemonSettings, *,
             now: datetime | None = None) -> Snapshot:
    """Everything ``siar status``, ``/healthz`` and ``/metrics`` report, read at one moment
    of the database."""
    now = to_db(now or utcnow())
    cutoff = alive_cutoff(settings, now)
    with reading(db) as r, r.snapshot():
        nodes = [NodeStatus(n.name, n.host, n.pid, n.heartbeat_at,
                            n.stopped_at is None and n.heartbeat_at >= cutoff)
                 for n in (build(NodeRow, row, "node") for row in r.rows("nodes"))]
        depth = {row["status"]: row["posts"] for row in r.rows("depth")}
        states = [build(AccountStateRow, row, "accountstate")
                  for row in r.rows("account_states")]
        overdue = overdue_posts(r, now=now)
        undelivered = undelivered_alerts(r, now=now, limit=0).count
    return Snapshot(
        now=now, nodes=nodes, depth={st.value: depth.get(st.value, 0) for st in Status},
        overdue=overdue,
        paused_accounts={a.account: a.paused_reason for a in states if a.paused},
        rate_limited={a.account: a.rate_limited_until for a in states
                      if a.rate_limited_until and a.rate_limited_until > now},
        stuck=overdue.seconds(now) > settings.watchdog_seconds,
        alerts_undelivered=undelivered,
    )


def overdue_posts(db: Reader | Engine, *, now: datetime | None = None) -> Overdue:
    """Claimable posts past their time whose account is free to publish."""
    now = to_db(now or utcnow())
    with reading(db) as r:
        found = r.rows("overdue", claimable=values(CLAIMABLE), now=now)
    if not found:
        return Overdue(count=0)
    oldest = found[0]
    return Overdue(count=oldest["overdue"], oldest_post_id=oldest["id"],
                   oldest_release_id=oldest["release_id"], oldest_account=oldest["account"],
                   oldest_due=oldest["not_before"])


#: an alert that was never delivered stays listed this long after it was raised (it is
#: tried for a day, see ``notify.GIVE_UP_AFTER``)
UNDELIVERED_LISTED = timedelta(days=7)


@dataclass(frozen=True)
class UndeliveredAlert:
    key: str
    kind: str
    subject: str
    created_at: datetime
    attempts: int
    #: each notify account that has not taken it, and why
    last_error: str
    #: None: given up (no further try)
    next_try_at: datetime | None


@dataclass(frozen=True)
class Undelivered:
    """Alerts a notify account did not take: the newest ``limit`` of ``count``."""

    count: int
    alerts: list[UndeliveredAlert]


def undelivered_alerts(db: Reader | Engine, *, now: datetime | None = None,
                       limit: int = 20) -> Undelivered:
    """Alerts whose delivery failed and that are not delivered yet: still being retried, or
    given up; listed for :data:`UNDELIVERED_LISTED` after they were raised. An alert on its
    first try is not among them until that try fails."""
    since = to_db(now or utcnow()) - UNDELIVERED_LISTED
    with reading(db) as r, r.snapshot():
        count = r.scalar("undelivered_count", since=since) or 0
        rows = [build(AlertRow, row, "alert")
                for row in r.rows("undelivered_alerts", since=since, limit=limit)] \
            if limit else []
    return Undelivered(count, [
        UndeliveredAlert(a.key, a.kind, a.subject, a.created_at, a.attempts,
                         a.last_error or "", a.next_try_at) for a in rows])
