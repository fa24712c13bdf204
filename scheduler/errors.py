"""Every error Siar raises on purpose.

    SiarError                      anything Siar reports to a person (CLI exit code 1)
    ├── ConfigError                settings file, account table, environment
    │   └── MissingSecret          a secret the account needs is not in the environment / .env
    ├── ReleaseError               a release file that cannot be queued (names file, field, fix)
    ├── ComposeError               a release that cannot become a valid variant for a network
    ├── UnknownChannel             an account or network name nobody configured
    ├── NotFound                   a release or post id that does not exist
    └── InvalidTransition          a status change the queue's state machine forbids

    CommitUncertain                internal, queue → committer: a transaction that began
                                   posts failed at COMMIT, so it may have committed

Channel adapters do not raise for network trouble: they return an outcome
(see ``channels.base``). Only programming errors escape as other exceptions.
"""

from __future__ import annotations

# The base and the two errors adapters raise live with the adapters (channels never
# imports scheduler); they are part of this hierarchy all the same.
from typing import Any

from channels.errors import ConfigError, SiarError, UnknownChannel
from scheduler.i18n import N_, _

__all__ = [
    "CommitUncertain",
    "ComposeError",
    "ConfigError",
    "InvalidTransition",
    "MissingSecret",
    "NotFound",
    "ReleaseError",
    "SiarError",
    "UnknownChannel",
    "validation_message",
]

#: pydantic's error types that officers meet in release files and operators in siar.toml,
#: in plain words; other types keep pydantic's own English message
_VALIDATION_MESSAGES = {
    "missing": N_("is required"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list, e.g. [a, b]"),
    "dict_type": N_("must be a table of keys and values"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "literal_error": N_("must be one of {expected}"),
    "greater_than": N_("must be more than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "too_short": N_("needs at least {min_length} item(s)"),
    "too_long": N_("may have at most {max_length} item(s)"),
    "string_too_short": N_("needs at least {min_length} character(s)"),
    "string_too_long": N_("may have at most {max_length} character(s)"),
    # a key of a settings table that is not one of its fields (e.g. SIAR_DAEMON__WROKERS)
    "unexpected_keyword_argument": N_("is not a key Siar reads"),
}


def validation_message(error: Any) -> str:
    """One of pydantic's validation errors (an ``ErrorDetails``) in the interface language:
    our own ``ValueError`` messages as they were raised, the common types in plain words."""
    kind = error.get("type", "")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    template = _VALIDATION_MESSAGES.get(kind)
    if template is None:
        return str(error["msg"])
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return _(template).format(**context)
    except (KeyError, IndexError):
        return str(error["msg"])


class MissingSecret(ConfigError):
    """An account needs a secret that is not set in the environment or in .env."""

    def __init__(self, account: str, field: str, variable: str) -> None:
        super().__init__(
            _("account {account}: secret {field} is not set").format(
                account=repr(account), field=repr(field)),
            hint=_("set the environment variable {variable} (or put it in .env)").format(
                variable=variable),
        )
        self.account = account
        self.field = field
        self.variable = variable


class ReleaseError(SiarError):
    """A release file is malformed; the message names the file and the field."""

    def __init__(
        self, source: str, field: str | None, message: str, *, hint: str | None = None
    ) -> None:
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}", hint=hint)
        self.source = source
        self.field = field


class ComposeError(SiarError):
    """A release cannot be made into a valid post for some account."""

    def __init__(self, message: str, *, hint: str | None = None,
                 source: str | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message, hint=hint)
        self.bare = message
        self.source = source

    def in_file(self, source: str) -> ComposeError:
        """The same error, naming the release file it comes from."""
        if self.source is not None:
            return self
        return ComposeError(self.bare, hint=self.hint, source=source)


class NotFound(SiarError):
    """No release or post with that id."""


class InvalidTransition(SiarError):
    """The requested status change is not allowed from the post's current status."""


class CommitUncertain(Exception):
    """The COMMIT of a transaction that began posts failed: the database may have
    committed it all the same. Those posts were never handed to a worker, so whoever
    catches this gives them back (``queue.give_back_unsent``: fenced, so a no-op if the
    transaction did not commit). Not a :class:`SiarError`: it never reaches a person."""

    def __init__(self, begun: list[tuple[int, int]]) -> None:
        super().__init__(f"COMMIT failed after beginning {len(begun)} post(s)")
        #: (post id, attempt) of each post the transaction began
        self.begun = begun
