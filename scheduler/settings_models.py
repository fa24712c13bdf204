"""The settings' models: what Siar can be configured with, and the checks of each value.

Standard-library dataclasses, so that a command whose settings come from the cache
(:mod:`scheduler.settings_cache`) never imports pydantic (~200 ms of each start). Their own
checks run in ``__post_init__`` and raise :class:`FieldError`; pydantic-settings
(:mod:`scheduler.settings_loader`) validates each field's type from its annotation before
that, and then calls ``__post_init__`` too. :mod:`scheduler.settings` reads them from their
sources and is where the rest of Siar imports them from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from scheduler import envfile, factories
from scheduler.errors import MissingSecret
from scheduler.i18n import _
from scheduler.timeparse import DEFAULT_ZONE, TimeParseError, zone

if TYPE_CHECKING:  # imported when used: the read commands never build an adapter's config
    from channels.base import AccountConfig

_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: pydantic's configuration of each table when pydantic-settings validates it (a plain dict:
#: pydantic's ``ConfigDict`` is a TypedDict): a key Siar does not read is an error
_STRICT_KEYS = {"extra": "forbid"}


class FieldError(ValueError):
    """A setting's value that its own check refuses: ``field`` (empty: the table as a
    whole) and what is wrong with it, in the interface language."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}" if name else problem)
        self.field = name
        self.problem = problem


def _one_of(owner: object, name: str, allowed: tuple[str | None, ...]) -> None:
    """A ``Literal`` field's value checked (pydantic checks it first when it reads a file;
    this is for settings built directly)."""
    if getattr(owner, name) not in allowed:
        expected = " or ".join(repr(v) for v in allowed if v is not None)
        raise FieldError(name, _("must be one of {expected}").format(expected=expected))


def _as_floats(owner: object, names: tuple[str, ...]) -> None:
    """Whole numbers given for ``float`` fields made floats, as pydantic makes them."""
    for name in names:
        value = getattr(owner, name)
        if type(value) is int:
            setattr(owner, name, float(value))


def _hostname() -> str:
    if hasattr(os, "uname"):  # what gethostname() returns, without importing socket (~5 ms)
        return os.uname().nodename
    import socket

    return socket.gethostname()


def known_zone(value: str) -> str:
    """``value`` if it names a time zone (an IANA name or WIB/WITA/WIT), else a
    ``ValueError`` that says so."""
    try:
        zone(value)
    except TimeParseError as exc:
        raise ValueError(str(exc)) from exc
    return value


def data_dir() -> Path:
    """Where the embedded SQLite database lives: ``$SIAR_HOME`` or the XDG data dir."""
    if home := os.environ.get("SIAR_HOME"):
        return Path(home)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "siar"


def _zone_field(owner: object, name: str) -> None:
    try:
        known_zone(getattr(owner, name))
    except ValueError as exc:
        raise FieldError(name, str(exc)) from exc


def cache_dir() -> Path:
    """Where files Siar can always rebuild are kept (compiled templates): ``$SIAR_HOME/cache``
    or the XDG cache dir, so that a scratch ``SIAR_HOME`` keeps them out of the user's."""
    if home := os.environ.get("SIAR_HOME"):
        return Path(home) / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "siar"


@dataclass
class AccountSettings:
    """One channel account, e.g. the prison's X account or its Telegram channel."""

    __pydantic_config__ = _STRICT_KEYS

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
    options: dict[str, Any] = field(default_factory=factories.no_entries)
    #: ``[media] store``, set by :class:`Settings` on each of its accounts (a class
    #: variable, not a field: no key of the account's table; the class's is the default)
    _media_store: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        """The account's own checks (pydantic-settings has checked the types)."""
        if not isinstance(self.name, str) or not _ACCOUNT_NAME.match(self.name):
            raise FieldError("name", _(
                "{name}: use lower-case letters, digits, '-' and '_' (e.g. 'x-lapas')").format(
                    name=repr(self.name)))
        _zone_field(self, "timezone")
        _one_of(self, "long_text", ("thread", "truncate"))
        _one_of(self, "alt_text", ("warn", "require"))
        _one_of(self, "approval", ("required", "off", None))

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


@dataclass
class DaemonSettings:
    """``[daemon]``: how the daemon claims, publishes, retries and watches."""

    __pydantic_config__ = _STRICT_KEYS

    #: worker threads publishing in parallel (one account's posts never run in parallel
    #: beyond its own ``concurrency``); unset: a worker for each post the enabled accounts
    #: may have in flight (their ``concurrency`` summed), at least 8 and at most 256
    workers: int | None = None
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

    def __post_init__(self) -> None:
        """``workers`` at least 1; whole numbers of seconds, minutes … made floats."""
        if self.workers is not None and self.workers < 1:
            raise FieldError("workers", _("must be at least {ge}").format(ge=1))
        _as_floats(self, _DAEMON_FLOATS)


@dataclass
class NotifySettings:
    """``[notify]``: who receives staff alerts."""

    __pydantic_config__ = _STRICT_KEYS

    #: account names (of any network: email, telegram, webhook …) that receive staff alerts
    accounts: list[str] = field(default_factory=factories.no_items)


@dataclass
class MediaSettings:
    """``[media]``: where Siar puts images for networks that fetch them by URL (Instagram,
    Threads). See README, "Instagram and Threads: where photos are hosted"."""

    __pydantic_config__ = _STRICT_KEYS

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
    expires_seconds: int = 3600
    #: siar: the public address of the daemon's HTTP server (``daemon.http_port``) behind
    #: the reverse proxy, e.g. "https://humas.example.go.id/siar"
    public_base_url: str | None = None
    #: siar: where the files being served are kept (default: $SIAR_HOME/public-media)
    directory: Path | None = None

    def __post_init__(self) -> None:
        """``expires_seconds`` between a minute and a week."""
        if self.expires_seconds < 60:
            raise FieldError("expires_seconds", _("must be at least {ge}").format(ge=60))
        if self.expires_seconds > _WEEK:
            raise FieldError("expires_seconds", _("must be at most {le}").format(le=_WEEK))
        if isinstance(self.directory, str):
            self.directory = Path(self.directory)

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


def _default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'siar.db'}"


def _default_node_name() -> str:
    return f"{_hostname()}-{os.getpid()}"


@dataclass
class Settings:
    """Everything Siar can be configured with. See ``config/siar.example.toml``.

    Read from its sources by :func:`load_settings`; built directly (tests, benchmarks) it
    reads nothing but its arguments."""

    #: SQLAlchemy URL; default: SQLite file in $SIAR_HOME or ~/.local/share/siar
    database_url: str = field(default_factory=_default_database_url)
    timezone: str = DEFAULT_ZONE
    #: when a release without a time goes out; unset: `siar add` refuses it
    default_when: Literal["now", "next-slot"] | None = None
    #: "required": nothing goes out before an approver says yes (``siar approve``); each
    #: account may say otherwise with its own ``approval``
    approval: Literal["required", "off"] = "off"
    dry_run: bool = False
    templates_dir: Path | None = None
    node_name: str = field(default_factory=_default_node_name)
    campaign_hashtags: list[str] = field(default_factory=factories.no_items)
    #: organisation key → network → handle, e.g. {"ditjenpas": {"x": "@ditjenpas"}}
    mentions: dict[str, dict[str, str]] = field(default_factory=factories.no_entries)
    #: network → UTM parameters added to the release link
    utm: dict[str, dict[str, str]] = field(default_factory=factories.no_entries)
    accounts: list[AccountSettings] = field(default_factory=factories.no_items)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    #: where the config file was read from (set by :func:`load_settings`)
    config_file: Path | None = None

    def __post_init__(self) -> None:
        """The checks across fields (each table has checked its own); each account is
        told the ``[media] store``."""
        _zone_field(self, "timezone")
        _one_of(self, "default_when", ("now", "next-slot", None))
        _one_of(self, "approval", ("required", "off"))
        for name in ("templates_dir", "config_file"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, Path(getattr(self, name)))
        seen: set[str] = set()
        for account in self.accounts:
            if account.name in seen:
                raise FieldError("accounts", _("account name {name} is used twice").format(
                    name=repr(account.name)))
            seen.add(account.name)
        if problem := self.media.problem(self.accounts, self.daemon.http_port):
            raise FieldError("", f"[media] {problem}")
        for account in self.accounts:
            account._media_store = self.media.store

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


_WEEK = 7 * 86400
_DAEMON_FLOATS = tuple(f for f, kind in DaemonSettings.__annotations__.items()
                       if kind in ("float", "float | None"))
