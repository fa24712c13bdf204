"""Settings: ``SIAR_*`` environment variables, ``.env``, and a TOML file.

Precedence (highest first): explicit overrides (CLI flags) → environment → ``.env`` →
TOML file (``--config`` / ``SIAR_CONFIG`` / ``./siar.toml`` / ``~/.config/siar/siar.toml``)
→ defaults. Accounts are declared in the TOML file; their secrets are read only from the
environment or ``.env`` as ``SIAR_SECRET_<ACCOUNT>_<FIELD>`` and never stored.
"""

from __future__ import annotations

import os
import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from scheduler import envfile, factories
from scheduler.errors import ConfigError, MissingSecret, validation_message
from scheduler.i18n import _
from scheduler.timeparse import DEFAULT_ZONE, TimeParseError, zone

if TYPE_CHECKING:  # imported when used: the read commands never build an adapter's config
    from channels.base import AccountConfig

_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _hostname() -> str:
    import socket  # only for a daemon's node name

    return socket.gethostname()


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
    #: an image without alt text: "warn" (queued, with a warning) or "require" (refused)
    alt_text: Literal["warn", "require"] = "warn"
    #: "required": this account's posts wait for an approver's yes; unset: the deployment's
    approval: Literal["required", "off"] | None = None
    options: dict[str, Any] = Field(default_factory=factories.no_entries)
    #: ``[media] store``, set by :class:`Settings` (not a key of the account's table)
    _media_store: str | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ACCOUNT_NAME.match(value):
            raise ValueError(_(
                "{name}: use lower-case letters, digits, '-' and '_' (e.g. 'x-lapas')").format(
                    name=repr(value)))
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

    def channel_config(self) -> AccountConfig:
        """What an adapter is given about this account: everything but its secrets (and,
        when ``[media] store`` is set, its name as the option ``media_store``, so that
        queue-time checks know the images will have a public URL)."""
        from channels.base import AccountConfig
        from channels.image_host import HOSTED_OPTION

        options = dict(self.options)
        if self._media_store:
            options.setdefault(HOSTED_OPTION, self._media_store)
        return AccountConfig(name=self.name, network=self.network, base_url=self.base_url,
                             enabled=self.enabled, timezone=self.timezone, options=options)


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
    accounts: list[str] = Field(default_factory=factories.no_items)


class MediaSettings(BaseModel):
    """``[media]``: where Siar puts images for networks that fetch them by URL (Instagram,
    Threads). See README, "Instagram and Threads: where photos are hosted"."""

    model_config = ConfigDict(extra="forbid")

    #: "wordpress:ACCOUNT" (that site's media library), "s3" (a bucket) or "siar" (the
    #: daemon serves them); unset: each account's ``public_media_base_url``
    store: str | None = None
    #: keep hosted files after the network fetched them (default: delete them)
    keep: bool = False
    #: s3: the bucket, its endpoint (any S3-compatible service), region and key prefix;
    #: keys: SIAR_SECRET_MEDIA_ACCESS_KEY_ID / _SECRET_ACCESS_KEY (or boto3's usual sources)
    bucket: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    prefix: str = "siar/"
    #: s3: presigned URLs expire after this (seconds); siar: served files after this
    expires_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    #: siar: the public address of the daemon's HTTP server (``daemon.http_port``) behind
    #: the reverse proxy, e.g. "https://humas.example.go.id/siar"
    public_base_url: str | None = None
    #: siar: where the files being served are kept (default: $SIAR_HOME/public-media)
    directory: Path | None = None

    def problem(self, accounts: list[AccountSettings], http_port: int) -> str | None:
        """What is wrong with this table and how to fix it, or ``None``."""
        store = self.store
        if store is None:
            return None
        kind, _colon, account = store.partition(":")
        if kind == "wordpress":
            sites = [a.name for a in accounts if a.network == "wordpress"]
            if account not in sites:
                known = ", ".join(sites) or _(
                    'none (add an account with network = "wordpress")')
                return _('store {store}: no WordPress account named {account}; write '
                         'store = "wordpress:NAME" with one of: {known}').format(
                             store=repr(store), account=repr(account), known=known)
        elif kind == "s3" and not account:
            if not self.bucket:
                return _('store "s3" needs bucket = "NAME" (and endpoint_url for a non-AWS '
                         'service)')
        elif kind == "siar" and not account:
            if not (self.public_base_url or "").startswith(("https://", "http://")):
                return _('store "siar" needs public_base_url = "https://…", the address at '
                         "which the reverse proxy forwards to the daemon's http_port")
            if not http_port:
                return _('store "siar" needs [daemon] http_port (e.g. 9464): the files are '
                         "served by the daemon's HTTP server")
        else:
            return _('store {store} is not one Siar knows: use "wordpress:ACCOUNT", "s3" '
                     'or "siar"').format(store=repr(store))
        return None


class Settings(BaseSettings):
    """Everything Siar can be configured with. See ``config/siar.example.toml``."""

    model_config = SettingsConfigDict(
        env_prefix="SIAR_", env_file=".env", env_file_encoding="utf-8",
        extra="ignore", env_nested_delimiter="__",
        # .env holds every account's secrets: pydantic-settings would otherwise match each
        # line against every field as a possible extra (which ``extra="ignore"`` then
        # drops), ~40 ms of each start with 100 accounts
        dotenv_filtering="only_existing",
    )

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{data_dir() / 'siar.db'}",
        description="SQLAlchemy URL; default: SQLite file in $SIAR_HOME or ~/.local/share/siar",
    )
    timezone: str = DEFAULT_ZONE
    #: when a release without a time goes out; unset: `siar add` refuses it
    default_when: Literal["now", "next-slot"] | None = None
    #: "required": nothing goes out before an approver says yes (``siar approve``); each
    #: account may say otherwise with its own ``approval``
    approval: Literal["required", "off"] = "off"
    dry_run: bool = False
    templates_dir: Path | None = None
    node_name: str = Field(default_factory=lambda: f"{_hostname()}-{os.getpid()}")
    campaign_hashtags: list[str] = Field(default_factory=factories.no_items)
    #: organisation key → network → handle, e.g. {"ditjenpas": {"x": "@ditjenpas"}}
    mentions: dict[str, dict[str, str]] = Field(default_factory=factories.no_entries)
    #: network → UTM parameters added to the release link
    utm: dict[str, dict[str, str]] = Field(default_factory=factories.no_entries)
    accounts: list[AccountSettings] = Field(default_factory=factories.no_items)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
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
                raise ValueError(_("account name {name} is used twice").format(
                    name=repr(account.name)))
            seen.add(account.name)
        return value

    @model_validator(mode="after")
    def _media_store(self) -> Settings:
        if problem := self.media.problem(self.accounts, self.daemon.http_port):
            raise ValueError(f"[media] {problem}")
        for account in self.accounts:
            account._media_store = self.media.store
        return self

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the TOML file as load_settings read (and checked) it
        toml = InitSettingsSource(settings_cls, init_kwargs=dict(_toml_data.get() or {}))
        return (init_settings, env_settings, dotenv_settings, toml)

    def needs_approval(self, account: str) -> bool:
        """Whether ``account``'s posts wait for an approver (its own setting, else the
        deployment's); an account not configured follows the deployment."""
        own = next((a.approval for a in self.accounts if a.name == account), None)
        return (own or self.approval) == "required"

    # --- accounts and secrets ------------------------------------------------------------

    def account(self, name: str) -> AccountSettings:
        for account in self.accounts:
            if account.name == name:
                return account
        from scheduler.errors import UnknownChannel

        raise UnknownChannel(
            _("no account named {name}").format(name=repr(name)),
            hint=_("configured accounts: {names} (see {file})").format(
                names=", ".join(a.name for a in self.accounts) or _("none"),
                file=self.config_file or "siar.toml"),
        )

    def enabled_accounts(self) -> list[AccountSettings]:
        return [a for a in self.accounts if a.enabled]

    def secret(self, account: AccountSettings, field: str, *, required: bool = True) -> str | None:
        """A secret from the environment (or .env), never from the TOML file."""
        variable = account.secret_variable(field)
        value = os.environ.get(variable) or envfile.dotenv().get(variable)
        if not value and required:
            raise MissingSecret(account.name, field, variable)
        return value or None

    def secrets(self, account: AccountSettings, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> dict[str, str]:
        found = {f: self.secret(account, f) for f in required}
        found |= {f: v for f in optional if (v := self.secret(account, f, required=False))}
        return {k: v for k, v in found.items() if v}

    def all_secret_values(self) -> list[str]:
        """Every SIAR_SECRET_* value known (environment and .env), so logs and errors can
        redact them."""
        return envfile.secret_values()


#: the TOML file :func:`load_settings` read, for :meth:`Settings.settings_customise_sources`
#: (a variable, not a subclass per call: building a settings class costs ~20 ms of start-up)
_toml_data: ContextVar[dict[str, Any] | None] = ContextVar("siar_toml_data", default=None)


def config_candidates() -> list[Path]:
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("siar.toml"), home / "siar" / "siar.toml"]


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from every source; ``config`` (or ``SIAR_CONFIG``) names the TOML file."""
    path: Path | None = None
    if config or os.environ.get("SIAR_CONFIG"):
        path = Path(config or os.environ["SIAR_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(_("config file {path} not found").format(path=path),
                              hint=_("run 'siar init' to write a starter siar.toml"))
    else:
        path = next((p for p in config_candidates() if p.is_file()), None)

    data: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as file:
                data = tomllib.load(file)
        except (OSError, ValueError) as exc:  # a TOML syntax error is a ValueError
            raise ConfigError(
                _("{path}: cannot read: {reason}").format(path=path, reason=exc),
                hint=_("check the TOML syntax (strings in quotes, [[accounts]] tables)")) from exc
        check_known_keys(data, path)
    reading = _toml_data.set(data)
    envfile.read_beside(path)
    try:
        # the .env file envfile chose (pydantic-settings alone would read ./.env only)
        settings = Settings(_env_file=envfile.env_file_path(), **overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = "".join(f"{p}: " for p in [".".join(str(p) for p in error["loc"])] if p)
        raise ConfigError(
            f"{path or 'settings'}: {loc}{validation_message(error)}",
            hint=_("see config/siar.example.toml for every key"),
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(_("{path}: cannot read: {reason}").format(
            path=path or "settings", reason=exc),
            hint=_("see config/siar.example.toml for every key")) from exc
    finally:
        _toml_data.reset(reading)
    settings.config_file = path
    return settings


# --- every key of the TOML file is one Siar knows ----------------------------------------------

#: set by load_settings, never read from the file
_NOT_IN_FILE = {"config_file"}


def check_known_keys(data: dict[str, Any], path: Path) -> None:
    """Refuse any key of the TOML file Siar does not read, at every level: a typo such as
    ``dry_rum = true`` silently ignored would publish for real what was meant as a rehearsal.
    The message names the file, where the key is, and the closest known key."""
    top = {name for name in Settings.model_fields if name not in _NOT_IN_FILE}
    # pydantic-settings matches the file's top-level keys without regard to case
    for key in data:
        if key.lower() not in top:
            _unknown(path, "", key, top)
    data = {key.lower(): value for key, value in data.items()}
    tables: list[tuple[str, Any, type[BaseModel]]] = [
        ("[daemon] ", data.get("daemon"), DaemonSettings),
        ("[notify] ", data.get("notify"), NotifySettings),
        ("[media] ", data.get("media"), MediaSettings)]
    accounts = data.get("accounts")
    if isinstance(accounts, list):
        tables += [(f"[[accounts]] #{number}{_named(entry)}: ", entry, AccountSettings)
                   for number, entry in enumerate(accounts, 1)]
    for where, table, model in tables:
        if isinstance(table, dict):
            for key in table:
                if key not in model.model_fields:
                    _unknown(path, where, key, set(model.model_fields))
    _check_network_tables(data, path)


def _check_network_tables(data: dict[str, Any], path: Path) -> None:
    """``[mentions.<org>]`` has ``name`` and a handle (and Bluesky-style ``<network>_did``)
    per network; ``[utm.<network>]`` is keyed by network (its parameters are free)."""
    mentions, utm = data.get("mentions"), data.get("utm")
    if not (isinstance(mentions, dict) and mentions) and not (isinstance(utm, dict) and utm):
        return
    from channels import registry

    # Siar's own networks as listed beside their entry points (a test keeps the two
    # equal): reading its distribution's metadata cost ~5 ms of every command
    networks = set(registry.BUILT_IN)
    if not _names_networks(mentions, utm) <= networks:  # a third-party one, or a mistake
        networks = set(registry.networks())
    if isinstance(mentions, dict):
        known = {"name"} | networks | {f"{n}_did" for n in networks}
        for org, entry in mentions.items():
            if isinstance(entry, dict):
                for key in entry:
                    if key not in known:
                        _unknown(path, f"[mentions.{org}] ", key, known)
    if isinstance(utm, dict):
        for key in utm:
            if key not in networks:
                _unknown(path, "[utm] ", key, networks, what="network")


def _names_networks(mentions: Any, utm: Any) -> set[str]:
    """The network names ``[mentions.<org>]`` and ``[utm]`` use as keys."""
    names = set(utm) if isinstance(utm, dict) else set()
    for entry in (mentions.values() if isinstance(mentions, dict) else ()):
        if isinstance(entry, dict):
            names |= {key.removesuffix("_did") for key in entry if key != "name"}
    return names


def _named(entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f" ({name!r})" if isinstance(name, str) else ""


def _unknown(path: Path, where: str, key: str, known: set[str], what: str = "key") -> None:
    import difflib  # only for a mistake

    close = difflib.get_close_matches(key.lower(), sorted(known), n=1)
    guess = _(" (did you mean {key}?)").format(key=repr(close[0])) if close else ""
    if where == "" and key.lower() == "secrets":
        hint = _("secrets are never read from the config file: set them in the environment "
                 "or .env as SIAR_SECRET_<ACCOUNT>_<FIELD>, and remove them from here")
    elif what == "network":
        hint = _("known networks here: {known}; see config/siar.example.toml").format(
            known=", ".join(sorted(known)))
    else:
        hint = _("known keys here: {known}; see config/siar.example.toml").format(
            known=", ".join(sorted(known)))
    problem = (_("unknown network {key}") if what == "network" else _("unknown key {key}"))
    raise ConfigError(f"{path}: {where}{problem.format(key=repr(key))}{guess}", hint=hint)
