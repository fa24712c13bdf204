"""Approval links (``siar approve --link ID``): a random token in a URL that opens one
release for one approver on a phone, without logging in. Only the token's SHA-256 is
stored; a link expires, and works once (the first approve or decline spends it, in one
conditional UPDATE, so two taps cannot both count)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from scheduler import queries
from scheduler.db import session
from scheduler.models import ApprovalLink
from scheduler.timeparse import to_db, utcnow
from scheduler.web.sessions import digest

LIFETIME = timedelta(hours=24)


def issue(engine: Engine, release_id: int, *, issued_to: str, issued_by: str,
          lifetime: timedelta = LIFETIME) -> str:
    """A new link's token for ``release_id`` (NotFound for a wrong id)."""
    queries.release_with_posts(engine, release_id)
    token = secrets.token_urlsafe(32)
    with session(engine) as s:
        s.add(ApprovalLink(token_hash=digest(token), release_id=release_id,
                           issued_to=issued_to, issued_by=issued_by,
                           expires_at=utcnow() + lifetime))
    return token


def valid(engine: Engine, token: str) -> ApprovalLink | None:
    """The link, if it is neither spent nor expired."""
    with session(engine) as s:
        link = s.get(ApprovalLink, digest(token))
    if link is None or link.used_at is not None or to_db(link.expires_at) <= utcnow():
        return None
    return link


def spend(engine: Engine, token: str) -> ApprovalLink | None:
    """Use the link up: the link if this call spent it, None if it was spent, expired or
    never existed."""
    now = utcnow()
    table = ApprovalLink.__table__  # type: ignore[attr-defined]
    with session(engine) as s:
        spent = s.execute(update(table).where(
            table.c.token_hash == digest(token), table.c.used_at.is_(None),
            table.c.expires_at > now).values(used_at=now)).rowcount
        link = s.get(ApprovalLink, digest(token)) if spent == 1 else None
    return link


def csrf_for(token: str) -> str:
    """The CSRF field of a link's form: bound to the link, unknown without it."""
    return digest(f"csrf:{token}")
