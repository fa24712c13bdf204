"""The errors adapters raise on purpose, for a person to read (the base of Siar's whole
hierarchy, which ``scheduler.errors`` extends and describes)."""

from __future__ import annotations

from channels.i18n import _


class SiarError(Exception):
    """Base of every error meant for a person rather than a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return self.message + "\n  " + _("fix: {what}").format(what=self.hint)
        return self.message


class ConfigError(SiarError):
    """The configuration (TOML file, environment, .env) is wrong or incomplete."""


class UnknownChannel(SiarError):
    """A release or command names an account or network that is not configured."""
