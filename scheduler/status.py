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

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.models import AccountState, Alert, Node, Post, Status
from scheduler.settings import DaemonSettings
from scheduler.states import CLAIMABLE, values
from scheduler.timeparse import to_db, utcnow


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


def snapshot(engine: Engine, settings: DaemonSettings, *,
             now: datetime | None = None) -> Snapshot:
    now = to_db(now or utcnow())
    cutoff = alive_cutoff(settings, now)
    with queue.transaction(engine) as s:
        nodes = [NodeStatus(n.name, n.host, n.pid, n.heartbeat_at,
                            n.stopped_at is None and to_db(n.heartbeat_at) >= cutoff)
                 for n in s.scalars(select(Node).order_by(Node.name))]
        depth = {status: count for status, count in s.execute(
            select(Post.status, func.count()).group_by(Post.status)).all()}
        states = list(s.scalars(select(AccountState)))
    overdue = overdue_posts(engine, now=now)
    return Snapshot(
        now=now, nodes=nodes, depth={st.value: depth.get(st.value, 0) for st in Status},
        overdue=overdue,
        paused_accounts={a.account: a.paused_reason for a in states if a.paused},
        rate_limited={a.account: to_db(a.rate_limited_until) for a in states
                      if a.rate_limited_until and to_db(a.rate_limited_until) > now},
        stuck=overdue.seconds(now) > settings.watchdog_seconds,
        alerts_undelivered=undelivered_alerts(engine, now=now, limit=0).count,
    )


def overdue_posts(engine: Engine, *, now: datetime | None = None) -> Overdue:
    """Claimable posts past their time whose account is free to publish."""
    now = to_db(now or utcnow())
    free = or_(AccountState.account.is_(None),
               and_(AccountState.paused.is_(False),
                    or_(AccountState.rate_limited_until.is_(None),
                        AccountState.rate_limited_until <= now)))
    waiting = (select(Post)
               .join(AccountState, AccountState.account == Post.account, isouter=True)
               .where(Post.status.in_(values(CLAIMABLE)), Post.not_before <= now,
                      free))
    with queue.transaction(engine) as s:
        count = s.scalar(select(func.count()).select_from(waiting.subquery())) or 0
        oldest = s.scalars(waiting.order_by(Post.not_before, Post.id).limit(1)).first()
    if oldest is None:
        return Overdue(count=0)
    return Overdue(count=count, oldest_post_id=oldest.id, oldest_release_id=oldest.release_id,
                   oldest_account=oldest.account, oldest_due=to_db(oldest.not_before))


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


def undelivered_alerts(engine: Engine, *, now: datetime | None = None,
                       limit: int = 20) -> Undelivered:
    """Alerts whose delivery failed and that are not delivered yet: still being retried, or
    given up; listed for :data:`UNDELIVERED_LISTED` after they were raised. An alert on its
    first try is not among them until that try fails."""
    since = to_db(now or utcnow()) - UNDELIVERED_LISTED
    failed = (Alert.sent_at.is_(None), Alert.last_error.is_not(None),  # type: ignore[union-attr]
              Alert.created_at >= since)
    with queue.transaction(engine) as s:
        count = s.scalar(select(func.count()).select_from(Alert).where(*failed)) or 0
        rows = list(s.scalars(select(Alert).where(*failed)
                              .order_by(Alert.created_at.desc()).limit(limit))) if limit else []
    return Undelivered(count, [
        UndeliveredAlert(a.key, a.kind, a.subject, to_db(a.created_at), a.attempts,
                         a.last_error or "", to_db(a.next_try_at) if a.next_try_at else None)
        for a in rows])
