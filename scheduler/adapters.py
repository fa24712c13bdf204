"""Adapters by account: each account's channel built once, from its settings and secrets.

Used wherever Siar talks to a network: the daemon's publishing and probes, staff alerts,
``siar accounts check``. What an adapter is told about its account is
:meth:`AccountSettings.channel_config` (queue-time code uses that alone).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from channels import registry
from channels.base import Channel
from channels.console import DryRunChannel
from channels.tokens import TokenStore
from scheduler.media_hosting import StoreHost, open_store

if TYPE_CHECKING:  # types only: the settings are loaded before any adapter is built
    from sqlalchemy.engine import Engine

    from scheduler.settings import AccountSettings, Settings


class Adapters:
    """One adapter instance per account, built on first use (dry-run wraps each).

    ``channel_classes`` maps network names to adapter classes that take precedence over
    the installed entry points: the seam through which tests and benchmarks plug in an
    adapter of their own that still speaks real HTTP.
    """

    def __init__(self, settings: Settings, *, dry_run: bool = False,
                 channel_classes: Mapping[str, type[Channel]] | None = None,
                 engine: Engine | None = None) -> None:
        self.settings = settings
        #: the database of rotated tokens (opened on first need when not given)
        self._engine = engine
        self.dry_run = dry_run
        self.channel_classes = dict(channel_classes or {})
        self._built: dict[str, Channel] = {}
        self._lock = threading.Lock()
        #: ``[media] store``, handed to every adapter of a network that fetches images by
        #: URL, or whose readers do (a dry run's uploads nothing)
        self.store = open_store(settings.media, adapter=self.get, dry_run=dry_run)
        self.image_host = StoreHost(self.store, keep=settings.media.keep) if self.store \
            else None

    def get(self, account_name: str) -> Channel:
        """The account's adapter (raises ``SiarError``/``ImportError`` when it cannot be
        built: a missing secret, an adapter that is not installed)."""
        with self._lock:
            if account_name not in self._built:
                self._built[account_name] = self._build(self.settings.account(account_name))
            return self._built[account_name]

    def _build(self, account: AccountSettings) -> Channel:
        cls = self.channel_classes.get(account.network) or registry.load(account.network)
        if self.dry_run:
            inner = self._hosted(cls(account.channel_config(), {}))
            return DryRunChannel(inner)
        secrets = self.settings.secrets(account, cls.secret_fields, cls.optional_secret_fields)
        channel = self._hosted(cls(account.channel_config(), secrets))
        if cls.keeps_tokens:
            channel.token_store = self._token_store(account.name)  # type: ignore[attr-defined]
        return channel

    def _token_store(self, account: str) -> TokenStore:
        """Where the account's rotated tokens live: the database every process of this
        deployment shares (a CLI check that refreshes must store what it got too)."""
        from scheduler.db import open_database
        from scheduler.token_store import DatabaseTokenStore

        if self._engine is None:
            self._engine = open_database(self.settings.database_url)
        return DatabaseTokenStore(self._engine, account)

    def _hosted(self, channel: Channel) -> Channel:
        if self.image_host is not None and (channel.fetches_media_by_url
                                            or channel.links_media):
            channel.image_host = self.image_host  # type: ignore[attr-defined]
        return channel

    def close(self) -> None:
        """Close every adapter built (their HTTP sessions)."""
        with self._lock:
            for adapter in self._built.values():
                adapter.close()
            self._built.clear()
