"""OAuth tokens a network rotates, kept in the database (the ``channel_token`` table).

A channel with ``keeps_tokens`` (TikTok) is given one :class:`DatabaseTokenStore` per
account (``scheduler/adapters.py``). The database is where they belong: every daemon of
the account shares it, it survives restarts, and writing a row is atomic. Once it holds
tokens, a SQLite database file is made readable by its owner only (the daemon's user);
on PostgreSQL the table is granted to nobody but its owner (migration 0008). ``.env``
stays the operator's: Siar never rewrites it behind their back every few hours.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from channels.tokens import StoredTokens, TokenStore
from scheduler import db
from scheduler.models import ChannelToken
from scheduler.timeparse import utcnow

__all__ = ["DatabaseTokenStore"]


class DatabaseTokenStore(TokenStore):
    """One account's row of ``channel_token``."""

    def __init__(self, engine: Engine, account: str) -> None:
        self.engine = engine
        self.account = account

    def load(self) -> StoredTokens | None:
        """The account's stored tokens, or ``None``."""
        with db.session(self.engine) as s:
            row = s.get(ChannelToken, self.account)
            if row is None:
                return None
            return StoredTokens(access_token=row.access_token, refresh_token=row.refresh_token,
                                access_expires_at=row.access_expires_at,
                                refresh_expires_at=row.refresh_expires_at, seed=row.seed)

    def save(self, tokens: StoredTokens, replacing: str | None) -> bool:
        """Store ``tokens`` unless another process stored newer ones first (see
        :meth:`channels.tokens.TokenStore.save`); the row is locked while it is compared."""
        try:
            with db.transaction(self.engine) as s:
                row = s.scalars(select(ChannelToken).where(
                    ChannelToken.account == self.account).with_for_update()).first()
                if row is None:
                    row = ChannelToken(account=self.account, access_token="",
                                       refresh_token="", access_expires_at=utcnow(), seed="")
                    s.add(row)
                elif row.seed == tokens.seed and row.refresh_token != replacing:
                    return False
                row.access_token = tokens.access_token
                row.refresh_token = tokens.refresh_token
                row.access_expires_at = tokens.access_expires_at
                row.refresh_expires_at = tokens.refresh_expires_at
                row.seed = tokens.seed
                row.updated_at = utcnow()
        except IntegrityError:  # another process inserted the account's first row
            return False
        owner_only(self.engine)
        return True


def owner_only(engine: Engine) -> None:
    """A SQLite database holding tokens is readable by its owner only (the daemon's user),
    with its WAL and shared-memory files; PostgreSQL's grants do that there (0008)."""
    if not db.is_sqlite(engine) or not engine.url.database \
            or engine.url.database == ":memory:":
        return
    main = Path(engine.url.database).expanduser()
    for path in (main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm")):
        with contextlib.suppress(OSError):  # not there (yet), or not ours to change
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                os.chmod(path, mode & 0o700)
