"""``--as NAME``: who the audit log names for a command (default: the OS user)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from scheduler.i18n import _

F = TypeVar("F", bound=Callable[..., Any])


def actor_option(command: F) -> F:
    """Add ``--as NAME`` (parameter ``actor``) to a command that the audit log records."""
    return click.option(
        "--as", "actor", metavar="NAME", envvar="SIAR_AS", show_envvar=True,
        help=_("Who does this, for the audit log (default: your login name)."))(command)


def who(actor: str | None) -> str:
    """The name recorded: ``--as`` if given, else the OS user."""
    from scheduler.audit import os_user

    name = (actor or "").strip()
    return name or os_user()
