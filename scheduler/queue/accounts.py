"""The per-account state rows claims lock: created with the posts, paused on a refused
credential, rate limited until the network's reset."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from scheduler.db import Clock, connection
from scheduler.tables import ACCOUNT_STATE
from scheduler.timeparse import to_db, utcnow


def ensure_accounts(engine: Engine, accounts: Iterable[str]) -> None:
    """Create the per-account state rows claims lock (idempotent)."""
    with connection(engine) as s:
        # a daemon's start: the rows usually exist, and reading them is cheaper than
        # building the hundred-row insert that would do nothing
        ensure_account_rows(s, set(accounts) - set(s.scalars(select(ACCOUNT_STATE.c.account))))


def ensure_account_rows(s: Any, accounts: set[str]) -> None:
    """:func:`ensure_accounts` in the transaction of ``s`` (a session or connection)."""
    if not accounts:
        return
    # only the dialect in use: importing PostgreSQL's costs an SQLite process ~40 ms
    dialect = s.get_bind().dialect if hasattr(s, "get_bind") else s.dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    s.execute(upsert(ACCOUNT_STATE)
              .values([{"account": a, "paused": False, "updated_at": utcnow()}
                       for a in sorted(accounts)])
              .on_conflict_do_nothing(index_elements=["account"]))


def set_rate_limited(engine: Engine, account: str, until: datetime) -> None:
    """Claims skip ``account`` until ``until`` (the network's reset); others go on."""
    values = {"rate_limited_until": to_db(until), "updated_at": utcnow()}
    with connection(engine) as s:
        if not s.execute(update(ACCOUNT_STATE).where(ACCOUNT_STATE.c.account == account)
                         .values(**values)).rowcount:
            s.execute(insert(ACCOUNT_STATE).values(account=account, paused=False, **values))


def set_paused(s: Any, account: str, *, paused: bool, reason: str | None, now: Clock) -> None:
    """Pause (or resume) ``account`` in the transaction of ``s``."""
    values = {"paused": paused, "paused_reason": reason, "updated_at": now}
    if not s.execute(update(ACCOUNT_STATE).where(ACCOUNT_STATE.c.account == account)
                     .values(**values)).rowcount:
        s.execute(insert(ACCOUNT_STATE).values(account=account, **values))
