"""Logged-in browsers and the login rate limit.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure behind HTTPS);
the database keeps only its SHA-256, so a copy of the database logs no one in. A new
token is made at every login (an old one, planted before, is worth nothing after it:
no session fixation). Each session has its own CSRF token, which every form carries.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from scheduler.db import session
from scheduler.models import DeskSession, DeskUser
from scheduler.timeparse import to_db, utcnow

COOKIE = "siar_sesi"
LIFETIME = timedelta(hours=12)


def digest(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Visitor:
    """The logged-in user of a request and the CSRF token of their session."""

    name: str
    role: str
    csrf: str


def start(engine: Engine, user: DeskUser) -> str:
    """A new session for ``user``; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    with session(engine) as s:
        s.add(DeskSession(token_hash=digest(token), user_name=user.name,
                          csrf=secrets.token_urlsafe(32), expires_at=utcnow() + LIFETIME))
    return token


def find(engine: Engine, token: str | None) -> Visitor | None:
    """The visitor whose cookie this is, while the session lasts."""
    if not token:
        return None
    with session(engine) as s:
        row = s.get(DeskSession, digest(token))
        if row is None or to_db(row.expires_at) <= utcnow():
            return None
        user = s.get(DeskUser, row.user_name)
        if user is None:
            return None
        return Visitor(name=user.name, role=user.role, csrf=row.csrf)


def end(engine: Engine, token: str | None) -> None:
    """Log out: the session is gone (and every expired one with it)."""
    with session(engine) as s:
        if token:
            s.execute(delete(DeskSession).where(DeskSession.token_hash == digest(token)))
        s.execute(delete(DeskSession).where(DeskSession.expires_at <= utcnow()))


class LoginLimiter:
    """At most ``attempts`` failed logins per name and per address in ``window`` seconds;
    then logins from there (or for that name) are refused until the window moves on."""

    def __init__(self, attempts: int = 5, window: float = 900.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def allowed(self, address: str, name: str) -> bool:
        """Whether a login from ``address`` for ``name`` may be tried now."""
        now = time.monotonic()
        with self._lock:
            return all(len(self._recent(key, now)) < self.attempts
                       for key in (f"ip:{address}", f"user:{name.lower()}"))

    def failed(self, address: str, name: str) -> None:
        """Count a failed login."""
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{address}", f"user:{name.lower()}"):
                self._recent(key, now).append(now)
