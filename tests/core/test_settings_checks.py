"""Each setting's own check holds however the settings are made: built directly (tests,
benchmarks, the web desk) it is a ``ValueError`` naming the field; read from siar.toml it
stops the command with the file, where in it, and what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scheduler.errors import ConfigError
from scheduler.settings import (
    AccountSettings,
    DaemonSettings,
    MediaSettings,
    Settings,
    load_settings,
)


def account(**values: Any) -> AccountSettings:
    return AccountSettings(**{"name": "x-lapas", "network": "x", **values})


def in_toml(key: str, value: str) -> str:
    """An account table of siar.toml with ``key = value`` added."""
    return f'[[accounts]]\nname = "x-lapas"\nnetwork = "x"\n{key} = "{value}"\n'


def bad_account(key: str, value: str, said: str) -> tuple[Callable[[], object], str, str, str]:
    """A check of an account's field: built directly, in siar.toml, where, what is said."""
    return (lambda: account(**{key: value}), in_toml(key, value), f"accounts.0.{key}", said)


#: (built directly, the same in siar.toml, where it is named, what is said)
CHECKS: list[tuple[Callable[[], object], str, str, str]] = [
    (lambda: account(name="X Lapas"), '[[accounts]]\nname = "X Lapas"\nnetwork = "x"\n',
     "accounts.0.name", "'X Lapas': use lower-case letters, digits, '-' and '_'"),
    bad_account("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    bad_account("long_text", "cut", "must be one of 'thread' or 'truncate'"),
    bad_account("alt_text", "sometimes", "must be one of 'warn' or 'require'"),
    bad_account("approval", "maybe", "must be one of 'required' or 'off'"),
    (lambda: DaemonSettings(workers=0), "[daemon]\nworkers = 0\n",
     "daemon.workers", "must be at least 1"),
    (lambda: MediaSettings(expires_seconds=59), "[media]\nexpires_seconds = 59\n",
     "media.expires_seconds", "must be at least 60"),
    (lambda: MediaSettings(expires_seconds=7 * 86400 + 1), "[media]\nexpires_seconds = 604801\n",
     "media.expires_seconds", "must be at most 604800"),
    (lambda: Settings(timezone="Mars/Olympus"), 'timezone = "Mars/Olympus"\n',
     "timezone", "unknown time zone 'Mars/Olympus'"),
    (lambda: Settings(default_when="later"), 'default_when = "later"\n',
     "default_when", "must be one of 'now' or 'next-slot'"),
    (lambda: Settings(approval="maybe"), 'approval = "maybe"\n',
     "approval", "must be one of 'required' or 'off'"),
    (lambda: Settings(accounts=[account(), account()]),
     '[[accounts]]\nname = "x-lapas"\nnetwork = "x"\n' * 2,
     "accounts", "account name 'x-lapas' is used twice"),
    (lambda: Settings(media=MediaSettings(store="ftp")), '[media]\nstore = "ftp"\n',
     "", "[media] store 'ftp' is not one Siar knows"),
    (lambda: Settings(media=MediaSettings(store="siar", public_base_url="https://h.example")),
     '[media]\nstore = "siar"\npublic_base_url = "https://h.example"\n',
     "", "[media] store \"siar\" needs [daemon] http_port"),
]
IDS = [f"{where or 'media'}:{said[:20]}" for _b, _t, where, said in CHECKS]


@pytest.mark.parametrize(("build", "_toml", "where", "said"), CHECKS, ids=IDS)
def test_a_value_built_directly_is_refused_naming_its_field(
        monkeypatch: pytest.MonkeyPatch, build, _toml: str, where: str, said: str):
    monkeypatch.setenv("SIAR_LANG", "en")
    field = where.rpartition(".")[2]
    with pytest.raises(ValueError) as info:
        build()
    assert str(info.value).startswith(f"{field}: " if field else said)
    assert said in str(info.value)


@pytest.mark.parametrize(("_build", "toml", "where", "said"), CHECKS, ids=IDS)
def test_the_same_value_in_siar_toml_names_the_file_and_where_it_is(
        workspace: Path, _build, toml: str, where: str, said: str):
    (workspace / "siar.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings()
    located = f"siar.toml: {where}: " if where else "siar.toml: "
    assert str(info.value).startswith(located + said[:12]) and said in str(info.value)


def test_a_bad_value_stops_the_cli_with_exit_1_and_no_traceback(workspace: Path, siar):
    (workspace / "siar.toml").write_text("[daemon]\nworkers = 0\n")
    result = siar("queue")
    assert result.code == 1
    assert "siar.toml: daemon.workers: must be at least 1" in result.err
    assert "Traceback" not in result.err


def test_a_key_no_table_has_from_the_environment_is_refused(
        workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIAR_DAEMON__WROKERS", "4")
    with pytest.raises(ConfigError, match=r"daemon\.wrokers: is not a key Siar reads"):
        load_settings()


def test_whole_numbers_become_floats_and_strings_paths_as_when_read():
    daemon = DaemonSettings(poll_interval=2, lease_seconds=60)
    assert (daemon.poll_interval, daemon.lease_seconds) == (2.0, 60.0)
    assert type(daemon.poll_interval) is float and type(daemon.lease_seconds) is float
    settings = Settings(templates_dir="templates",  # type: ignore[arg-type]
                        media=MediaSettings(directory="/srv/media"))  # type: ignore[arg-type]
    assert settings.templates_dir == Path("templates")
    assert settings.media.directory == Path("/srv/media")


def test_each_account_is_told_the_media_store():
    settings = Settings(accounts=[account(network="instagram")],
                        media=MediaSettings(store="s3", bucket="humas"))
    assert settings.accounts[0].channel_config().options["media_store"] == "s3"
