"""Every key of ``siar.toml`` is one Siar knows: a typo is refused, with the closest key.

Run by the settings loader (:mod:`scheduler.settings_loader`) on the file it read, before
pydantic-settings sees it.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from scheduler.errors import ConfigError
from scheduler.i18n import _
from scheduler.settings_models import (
    AccountSettings,
    DaemonSettings,
    MediaSettings,
    NotifySettings,
    Settings,
)

#: set by load_settings, never read from the file
_NOT_IN_FILE = {"config_file"}


def check_known_keys(data: dict[str, Any], path: Path) -> bool:
    """Refuse any key of the TOML file Siar does not read, at every level: a typo such as
    ``dry_rum = true`` silently ignored would publish for real what was meant as a rehearsal.
    The message names the file, where the key is, and the closest known key. Returns
    whether the verdict depended on Siar alone (``False``: on the installed packages too,
    when the file names a network Siar does not have)."""
    top = {item.name for item in fields(Settings) if item.name not in _NOT_IN_FILE}
    # pydantic-settings matches the file's top-level keys without regard to case
    for key in data:
        if key.lower() not in top:
            _unknown(path, "", key, top)
    data = {key.lower(): value for key, value in data.items()}
    tables: list[tuple[str, Any, type[Any]]] = [
        ("[daemon] ", data.get("daemon"), DaemonSettings),
        ("[notify] ", data.get("notify"), NotifySettings),
        ("[media] ", data.get("media"), MediaSettings)]
    accounts = data.get("accounts")
    if isinstance(accounts, list):
        tables += [(f"[[accounts]] #{number}{_named(entry)}: ", entry, AccountSettings)
                   for number, entry in enumerate(accounts, 1)]
    for where, table, model in tables:
        if isinstance(table, dict):
            known = {item.name for item in fields(model)}
            for key in table:
                if key not in known:
                    _unknown(path, where, key, known)
    return _check_network_tables(data, path)


def _check_network_tables(data: dict[str, Any], path: Path) -> bool:
    """``[mentions.<org>]`` has ``name`` and a handle (and Bluesky-style ``<network>_did``)
    per network; ``[utm.<network>]`` is keyed by network (its parameters are free). Returns
    whether Siar's own networks were enough to tell."""
    mentions, utm = data.get("mentions"), data.get("utm")
    if not (isinstance(mentions, dict) and mentions) and not (isinstance(utm, dict) and utm):
        return True
    from channels import registry

    # Siar's own networks as listed beside their entry points (a test keeps the two
    # equal): reading its distribution's metadata cost ~5 ms of every command
    networks = set(registry.BUILT_IN)
    own = _names_networks(mentions, utm) <= networks
    if not own:  # a third-party one, or a mistake
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
    return own


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
