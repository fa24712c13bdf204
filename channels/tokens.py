"""Where a channel keeps OAuth tokens that the network rotates.

Most networks' tokens are secrets the operator puts in ``.env`` and Siar only reads. Some
networks hand out a short-lived access token and a refresh token that is **replaced on
every refresh** (TikTok): the new refresh token must outlive the process that got it, or
the account is locked out at the next start. Such a channel sets ``keeps_tokens = True``
and is given a :class:`TokenStore` for its account before it publishes (by the daemon and
by every CLI command that builds adapters; ``channels/`` never imports ``scheduler/``, so
the store is handed in and this module only says what it must do).

The operator's ``.env`` stays the seed: the store remembers a digest of the refresh token
it grew from, and a different one in ``.env`` (the operator logged in again) wins over
what the store holds.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

__all__ = ["StoredTokens", "TokenStore", "seed_of"]


def seed_of(refresh_token: str) -> str:
    """A digest naming the ``.env`` refresh token a stored one descends from (the token
    itself is never stored twice, and this cannot be turned back into it)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class StoredTokens:
    """One account's current tokens."""

    access_token: str
    refresh_token: str
    #: when the access token stops working (UTC)
    access_expires_at: datetime
    #: when the refresh token stops working, if the network said
    refresh_expires_at: datetime | None
    #: :func:`seed_of` the ``.env`` refresh token these descend from
    seed: str

    def __repr__(self) -> str:  # never a token in a log line or a traceback
        return (f"StoredTokens(access_token='***', refresh_token='***', "
                f"access_expires_at={self.access_expires_at.isoformat()})")


class TokenStore(ABC):
    """The current tokens of one account, shared by every process that publishes for it."""

    @abstractmethod
    def load(self) -> StoredTokens | None:
        """The tokens stored for the account, or ``None`` when none are."""

    @abstractmethod
    def save(self, tokens: StoredTokens, replacing: str | None) -> bool:
        """Store ``tokens`` unless another process stored newer ones first: they are
        stored when nothing is, when what is stored grew from another seed (an older
        ``.env`` token), or when its refresh token is still ``replacing`` (the one the
        caller just spent). ``False``: the caller loads and uses the stored ones."""
