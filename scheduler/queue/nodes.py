"""The daemons' node rows: each daemon's heartbeat, the daemons of this host that did not
say they stopped (a dead one is taken over at start), and a daemon's stop. Core
statements: a restarted daemon writes its first heartbeat before the ORM is imported."""

from __future__ import annotations

from sqlalchemy.engine import Engine

import scheduler.queue.statements as sql
from scheduler.db import connection
from scheduler.timeparse import utcnow


def prove_alive(engine: Engine, node: str, *, host: str, pid: int) -> None:
    """``node`` is alive now, in process ``pid`` on ``host`` (its row is created, or taken
    over from a predecessor under the same name: a new pid starts anew)."""
    params = {"b_node": node, "b_host": host, "b_pid": pid, "b_clock": utcnow()}
    with connection(engine) as s:
        if not s.execute(sql.NODE_ALIVE, params).rowcount:
            s.execute(sql.NODE_NEW, params)


def running_on(engine: Engine, host: str, *, besides: str) -> list[tuple[str, int]]:
    """(name, pid) of the daemons on ``host`` other than ``besides`` whose rows do not say
    they stopped."""
    with connection(engine) as s:
        return [(row.name, row.pid) for row in s.execute(
            sql.NODES_RUNNING_ON, {"b_host": host, "b_node": besides})]


def mark_stopped(engine: Engine, node: str) -> None:
    """``node``'s row says it stopped (``siar status`` no longer counts it)."""
    with connection(engine) as s:
        s.execute(sql.NODE_STOPPED, {"b_node": node, "b_clock": utcnow()})
