"""Settings: ``SIAR_*`` environment variables, ``.env``, and a TOML file.

Precedence (highest first): explicit overrides (CLI flags) → environment → ``.env`` →
TOML file (``--config`` / ``SIAR_CONFIG`` / ``./siar.toml`` / ``~/.config/siar/siar.toml``)
→ defaults. Accounts are declared in the TOML file; their secrets are read only from the
environment or ``.env`` as ``SIAR_SECRET_<ACCOUNT>_<FIELD>`` and never stored.

The models (:mod:`scheduler.settings_models`, re-exported here) are standard-library
dataclasses: pydantic-settings reads the sources through
:class:`scheduler.settings_loader.SettingsLoader`, a settings class with their fields, and
only when the validated result is not in the cache of :mod:`scheduler.settings_cache`
(importing pydantic and pydantic-settings costs ~250 ms of every command; see
docs/decisions.md, "Start-up").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scheduler import envfile
from scheduler.errors import ConfigError
from scheduler.i18n import _, use_env_file_language
from scheduler.settings_models import (
    AccountSettings,
    DaemonSettings,
    MediaSettings,
    NotifySettings,
    Settings,
    cache_dir,
    data_dir,
)

__all__ = ["AccountSettings", "DaemonSettings", "MediaSettings", "NotifySettings", "Settings",
           "cache_dir", "config_candidates", "config_path", "data_dir", "load_settings"]


def config_candidates() -> list[Path]:
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("siar.toml"), home / "siar" / "siar.toml"]


def config_path(config: str | Path | None = None) -> Path | None:
    """The TOML file to read: ``config``, else ``$SIAR_CONFIG``, else the first of
    :func:`config_candidates` that exists (``None``: there is none)."""
    if config or os.environ.get("SIAR_CONFIG"):
        path = Path(config or os.environ["SIAR_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(_("config file {path} not found").format(path=path),
                              hint=_("run 'siar init' to write a starter siar.toml"))
        return path
    return next((p for p in config_candidates() if p.is_file()), None)


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from every source; ``config`` (or ``SIAR_CONFIG``) names the TOML file.

    The validated settings of the same inputs (the file's bytes, the ``.env`` in use, the
    ``SIAR_*`` environment but secrets, ``overrides`` …) come from the cache without
    importing pydantic-settings; any other case is read by pydantic-settings, and the
    result cached when it holds no secret. Both give the same settings (and a bad file the
    same error: a failure is never cached)."""
    from scheduler import settings_cache

    path = config_path(config)
    envfile.read_beside(path)
    use_env_file_language(envfile.language())  # SIAR_LANG=en in .env, as operators write it
    inputs = settings_cache.Inputs.gather(path, overrides)
    settings = inputs.cached() if inputs is not None else None
    if settings is None:
        from scheduler.settings_loader import load_fully

        loaded, given, portable = load_fully(path, inputs.config_bytes if inputs else None,
                                             overrides)
        settings = inputs.store(loaded, given) if inputs is not None and portable else loaded
    settings.config_file = path
    return settings
