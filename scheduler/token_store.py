"""OAuth tokens a network rotates, kept in the database (the ``channel_token`` table).

A channel with ``keeps_tokens`` (TikTok) is given one :class:`DatabaseTokenStore` per
account (``scheduler/adapters.py``). The database is where they belong: every daemon of
the account shares it, it survives restarts, its file (SQLite) or its grants
(PostgreSQL) already keep it to the daemon's user, and writing a row is atomic. ``.env``
stays the operator's: Siar never rewrites it behind their back every few hours.
"""

from __future__ import annotations

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
            return True
        except IntegrityError:  # another process inserted the account's first row
            return False
