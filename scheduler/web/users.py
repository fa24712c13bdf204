"""The desk's people: a name, a role and an argon2 password hash (``siar users add``).

Roles: ``staf`` (reschedules and cancels), ``penyetuju`` (approves and declines),
``admin`` (both).
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from scheduler.db import session
from scheduler.errors import SiarError
from scheduler.i18n import _
from scheduler.models import DeskUser

ROLES = ("staf", "penyetuju", "admin")
#: who may approve or decline, and who may reschedule or cancel
APPROVERS = frozenset({"penyetuju", "admin"})
STAFF = frozenset({"staf", "admin"})
MIN_PASSWORD = 10
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against for an unknown name, so that a wrong name takes as long as a wrong
    password (no telling which names exist); made at the first login, not at import
    (argon2 costs ~0.3 s of CPU by design)."""
    return _HASHER.hash("siar-no-such-user")


def add_user(engine: Engine, name: str, role: str, password: str) -> DeskUser:
    """A new desk user; a clear error for a bad role, a taken name or a short password."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise SiarError(_("{name}: a user name is one word of at most 64 characters").format(
            name=repr(name)), hint=_("e.g. 'kasubag' or 'rina.humas'"))
    if role not in ROLES:
        raise SiarError(_("{role} is not a role").format(role=repr(role)),
                        hint=_("use one of: {roles}").format(roles=", ".join(ROLES)))
    if len(password) < MIN_PASSWORD:
        raise SiarError(_("the password is too short (at least {count} characters)").format(
            count=MIN_PASSWORD), hint=_("choose a longer one; a sentence works well"))
    with session(engine) as s:
        if s.get(DeskUser, name) is not None:
            raise SiarError(_("user {name} exists already").format(name=name),
                            hint=_("choose another name"))
        user = DeskUser(name=name, role=role, password_hash=_HASHER.hash(password))
        s.add(user)
    return user


def verify(engine: Engine, name: str, password: str) -> DeskUser | None:
    """The user if ``password`` is theirs, else None."""
    with session(engine) as s:
        user = s.get(DeskUser, name.strip())
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def get(engine: Engine, name: str) -> DeskUser | None:
    """The user named ``name``, if any."""
    with session(engine) as s:
        return s.get(DeskUser, name)


def list_users(engine: Engine) -> list[DeskUser]:
    """Every desk user, by name."""
    from sqlalchemy import select

    with session(engine) as s:
        return list(s.scalars(select(DeskUser).order_by(DeskUser.name)))
