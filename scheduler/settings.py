"""Settings: ``SIAR_*`` environment variables, ``.env``, and a TOML file.

Precedence (highest first): explicit overrides (CLI flags) → environment → ``.env`` →
TOML file (``--config`` / ``SIAR_CONFIG`` / ``./siar.toml`` / ``~/.config/siar/siar.toml``)
→ defaults. Accounts are declared in the TOML file; their secrets are read only from the
environment or ``.env`` as ``SIAR_SECRET_<ACCOUNT>_<FIELD>`` and never stored.
"""

from __future__ import annotations

import functools
import os
import re
import socket
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from scheduler.errors import ConfigError, MissingSecret
from scheduler.timeparse import DEFAULT_ZONE, TimeParseError, zone

_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def data_dir() -> Path:
    """Where the embedded SQLite database lives: ``$SIAR_HOME`` or the XDG data dir."""
    if home := os.environ.get("SIAR_HOME"):
        return Path(home)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "siar"


def cache_dir() -> Path:
    """Where files Siar can always rebuild are kept (compiled templates): ``$SIAR_HOME/cache``
    or the XDG cache dir, so that a scratch ``SIAR_HOME`` keeps them out of the user's."""
    if home := os.environ.get("SIAR_HOME"):
        return Path(home) / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "siar"


class AccountSettings(BaseModel):
    """One channel account, e.g. the prison's X account or its Telegram channel."""

    model_config = ConfigDict(extra="forbid")

    name: str
    network: str
    base_url: str | None = None
    enabled: bool = True
    timezone: str = DEFAULT_ZONE
    #: posting slots, e.g. "Mon-Fri 08:00,12:00,19:00; Sat 09:00" in the account's zone
    slots: str | None = None
    #: long text: "thread" where the network has threads, or one "truncate"d post + link
    long_text: Literal["thread", "truncate"] = "thread"
    #: network text limit override (e.g. a Mastodon instance allowing 1000)
    limit: int | None = None
    #: template file overriding the network's template, for this account only
    template: str | None = None
    #: at most this many posts of this account in flight at once
    concurrency: int = 1
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ACCOUNT_NAME.match(value):
            raise ValueError(
                f"{value!r}: use lower-case letters, digits, '-' and '_' (e.g. 'x-lapas')"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except TimeParseError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def secret_variable(self, field: str) -> str:
        """The environment variable that holds secret ``field`` of this account."""
        slug = re.sub(r"[^A-Za-z0-9]", "_", self.name).upper()
        return f"SIAR_SECRET_{slug}_{field.upper()}"


class DaemonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: worker threads publishing in parallel (one account's posts never run in parallel
    #: beyond its own ``concurrency``); unset: a worker for each post the enabled accounts
    #: may have in flight (their ``concurrency`` summed), at least 8 and at most 256
    workers: int | None = Field(default=None, ge=1)
    #: how often the dispatcher looks at the queue even when nothing woke it (seconds)
    poll_interval: float = 1.0
    #: how long a claim is valid before another daemon may take the post back (seconds)
    lease_seconds: float = 120.0
    #: overdue posts older than this after downtime become ``missed`` (minutes)
    grace_minutes: float = 60.0
    #: posts claimed per round
    batch: int = 64
    #: retry policy for "not sent" outcomes (exponential backoff with jitter)
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_max: float = 3600.0
    #: a daemon whose heartbeat is older than this is considered dead (seconds)
    heartbeat_seconds: float = 10.0
    #: alert when a due post has waited longer than this without being picked up (seconds)
    watchdog_seconds: float = 300.0
    #: serve /healthz and /metrics on this port (0 = off)
    http_port: int = 0
    #: claim a post this long before its time so the request leaves on the dot (seconds;
    #: nothing is sent early: the worker waits for the due time)
    lookahead_seconds: float = 0.3
    #: how often leases are reaped and overdue posts checked (seconds; default:
    #: a quarter of the lease, at most 5)
    housekeeping_seconds: float | None = None
    #: how often in-doubt posts are probed on their network (seconds)
    probe_seconds: float = 30.0
    #: recurring releases are materialised this far ahead (hours)
    recurrence_horizon_hours: float = 24.0
    #: how often each account's credentials are checked on its network (hours; 0 = never)
    token_check_hours: float = 12.0
    #: alert staff when a token expires within this many days
    token_warn_days: float = 7.0


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: account names (of any network: email, telegram, webhook …) that receive staff alerts
    accounts: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    """Everything Siar can be configured with. See ``config/siar.example.toml``."""

    model_config = SettingsConfigDict(
        env_prefix="SIAR_", env_file=".env", env_file_encoding="utf-8",
        extra="ignore", env_nested_delimiter="__",
    )

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{data_dir() / 'siar.db'}",
        description="SQLAlchemy URL; default: SQLite file in $SIAR_HOME or ~/.local/share/siar",
    )
    timezone: str = DEFAULT_ZONE
    dry_run: bool = False
    templates_dir: Path | None = None
    node_name: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    campaign_hashtags: list[str] = Field(default_factory=list)
    #: organisation key → network → handle, e.g. {"ditjenpas": {"x": "@ditjenpas"}}
    mentions: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: network → UTM parameters added to the release link
    utm: dict[str, dict[str, str]] = Field(default_factory=dict)
    accounts: list[AccountSettings] = Field(default_factory=list)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    #: where the config file was read from (set by :func:`load_settings`)
    config_file: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except TimeParseError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("accounts")
    @classmethod
    def _unique(cls, value: list[AccountSettings]) -> list[AccountSettings]:
        seen: set[str] = set()
        for account in value:
            if account.name in seen:
                raise ValueError(f"account name {account.name!r} is used twice")
            seen.add(account.name)
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _toml_file.get()
        toml = (TomlConfigSettingsSource(settings_cls, toml_file=toml_file) if toml_file
                else TomlConfigSettingsSource(settings_cls))
        return (init_settings, env_settings, dotenv_settings, toml)

    # --- accounts and secrets ------------------------------------------------------------

    def account(self, name: str) -> AccountSettings:
        for account in self.accounts:
            if account.name == name:
                return account
        from scheduler.errors import UnknownChannel

        raise UnknownChannel(
            f"no account named {name!r}",
            hint=f"configured accounts: {', '.join(a.name for a in self.accounts) or 'none'}"
                 f" (see {self.config_file or 'siar.toml'})",
        )

    def enabled_accounts(self) -> list[AccountSettings]:
        return [a for a in self.accounts if a.enabled]

    def secret(self, account: AccountSettings, field: str, *, required: bool = True) -> str | None:
        """A secret from the environment (or .env), never from the TOML file."""
        variable = account.secret_variable(field)
        value = os.environ.get(variable) or _dotenv().get(variable)
        if not value and required:
            raise MissingSecret(account.name, field, variable)
        return value or None

    def secrets(self, account: AccountSettings, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> dict[str, str]:
        found = {f: self.secret(account, f) for f in required}
        found |= {f: v for f in optional if (v := self.secret(account, f, required=False))}
        return {k: v for k, v in found.items() if v}

    def all_secret_values(self) -> list[str]:
        """Every SIAR_SECRET_* value known, so logs and errors can redact them."""
        values = {v for k, v in os.environ.items() if k.startswith("SIAR_SECRET_") and v}
        values |= {v for k, v in _dotenv().items() if k.startswith("SIAR_SECRET_") and v}
        return sorted(values)


def _dotenv() -> Mapping[str, str | None]:
    path = Path(os.environ.get("SIAR_ENV_FILE", ".env"))
    try:
        stat = path.stat()
    except OSError:
        return {}
    if not path.is_file():
        return {}
    return _parsed_dotenv(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parsed_dotenv(path: str, mtime_ns: int, size: int) -> Mapping[str, str | None]:
    """A .env file parsed once per version of it (``mtime_ns`` and ``size`` are the
    cache key: an edited file is read again). Parsing it per secret, with its variables
    expanded against the whole environment, cost a daemon with a hundred accounts about
    a second of start-up."""
    return MappingProxyType(dict(dotenv_values(path)))


#: the TOML file :func:`load_settings` is reading, for :meth:`Settings.settings_customise_sources`
#: (a variable, not a subclass per call: building a settings class costs ~20 ms of start-up)
_toml_file: ContextVar[Path | None] = ContextVar("siar_toml_file", default=None)


def config_candidates() -> list[Path]:
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("siar.toml"), home / "siar" / "siar.toml"]


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from every source; ``config`` (or ``SIAR_CONFIG``) names the TOML file."""
    path: Path | None = None
    if config or os.environ.get("SIAR_CONFIG"):
        path = Path(config or os.environ["SIAR_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} not found",
                              hint="run 'siar init' to write a starter siar.toml")
    else:
        path = next((p for p in config_candidates() if p.is_file()), None)

    reading = _toml_file.set(path)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(p) for p in error["loc"])
        raise ConfigError(
            f"{path or 'settings'}: {loc}: {error['msg'].removeprefix('Value error, ')}",
            hint="see config/siar.example.toml for every key",
        ) from exc
    except (OSError, ValueError) as exc:  # a TOML syntax error arrives as ValueError
        raise ConfigError(
            f"{path}: cannot read: {exc}",
            hint="check the TOML syntax (strings in quotes, [[accounts]] tables)") from exc
    finally:
        _toml_file.reset(reading)
    settings.config_file = path
    return settings
