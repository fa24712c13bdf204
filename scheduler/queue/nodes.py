"""The daemons' node rows: each daemon's heartbeat, the daemons of this host that did not
say they stopped (a dead one is taken over at start), and a daemon's stop. Core
statements on :mod:`scheduler.tables` (here, not in :mod:`~scheduler.queue.statements`:
no post changes state): a restarted daemon writes its first heartbeat before the ORM is
imported."""

from __future__ import annotations

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.engine import Engine

from scheduler.db import connection
from scheduler.tables import NODE
from scheduler.timeparse import utcnow

#: this daemon alive; a row left by a predecessor under the same name is taken over
#: (a new pid starts anew)
NODE_ALIVE = (update(NODE).where(NODE.c.name == bindparam("b_node"))
              .values(host=bindparam("b_host"), pid=bindparam("b_pid"),
                      heartbeat_at=bindparam("b_clock"), stopped_at=None,
                      started_at=case((NODE.c.pid == bindparam("b_pid"), NODE.c.started_at),
                                      else_=bindparam("b_clock"))))
NODE_NEW = insert(NODE).values(name=bindparam("b_node"), host=bindparam("b_host"),
                               pid=bindparam("b_pid"), started_at=bindparam("b_clock"),
                               heartbeat_at=bindparam("b_clock"))
#: the other daemons of a host that have not said they stopped
NODES_RUNNING_ON = select(NODE.c.name, NODE.c.pid).where(
    NODE.c.host == bindparam("b_host"), NODE.c.stopped_at.is_(None),
    NODE.c.name != bindparam("b_node"))
NODE_STOPPED = (update(NODE).where(NODE.c.name == bindparam("b_node"))
                .values(stopped_at=bindparam("b_clock")))


def prove_alive(engine: Engine, node: str, *, host: str, pid: int) -> None:
    """``node`` is alive now, in process ``pid`` on ``host`` (its row is created, or taken
    over from a predecessor under the same name: a new pid starts anew)."""
    params = {"b_node": node, "b_host": host, "b_pid": pid, "b_clock": utcnow()}
    with connection(engine) as s:
        if not s.execute(NODE_ALIVE, params).rowcount:
            s.execute(NODE_NEW, params)


def running_on(engine: Engine, host: str, *, besides: str) -> list[tuple[str, int]]:
    """(name, pid) of the daemons on ``host`` other than ``besides`` whose rows do not say
    they stopped."""
    with connection(engine) as s:
        return [(row.name, row.pid) for row in s.execute(
            NODES_RUNNING_ON, {"b_host": host, "b_node": besides})]


def mark_stopped(engine: Engine, node: str) -> None:
    """``node``'s row says it stopped (``siar status`` no longer counts it)."""
    with connection(engine) as s:
        s.execute(NODE_STOPPED, {"b_node": node, "b_clock": utcnow()})
