"""``SIAR_*`` variables become settings by the rules of pydantic-settings' environment and
``.env`` sources, which Siar no longer imports at start-up: the same values, or the same
error, for each kind of variable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scheduler.envsource import deep_update, dotenv_variables, settings_values
from scheduler.settings import Settings

pydantic_settings = pytest.importorskip("pydantic_settings")

#: what Settings was declared as before (the reference the rules are compared with)
Reference: Any = type("Reference", (pydantic_settings.BaseSettings,), {
    "__annotations__": {name: field.annotation for name, field in Settings.model_fields.items()},
    "model_config": pydantic_settings.SettingsConfigDict(
        env_prefix="SIAR_", extra="ignore", env_nested_delimiter="__"),
})

CASES: list[dict[str, str]] = [
    {"SIAR_TIMEZONE": "Asia/Makassar"},
    {"siar_dry_run": "true", "Siar_Node_Name": "humas-1"},
    {"SIAR_NODE_NAME": ""},
    {"SIAR_TEMPLATES_DIR": "/srv/templates", "SIAR_DEFAULT_WHEN": "next-slot"},
    {"SIAR_DAEMON__WORKERS": "3", "SIAR_DAEMON__LEASE_SECONDS": "60"},
    {"SIAR_DAEMON": '{"workers": 2, "batch": 5}', "SIAR_DAEMON__WORKERS": "3"},
    {"SIAR_DAEMON__NO_SUCH_KEY": "1"},
    {"SIAR_CAMPAIGN_HASHTAGS": '["#WBP", "#Lapas"]'},
    {"SIAR_MENTIONS__DITJENPAS": '{"x": "@ditjenpas"}'},
    {"SIAR_MENTIONS__DITJENPAS__X": "@ditjenpas"},
    {"SIAR_UTM__X": "not json"},
    {"SIAR_ACCOUNTS": '[{"name": "a", "network": "webhook"}]'},
    {"SIAR_MEDIA__STORE": "local", "SIAR_NOTIFY": "{}"},
    {"SIAR_SECRET_A_TOKEN": "s3cret", "SIAR_HOME": "/tmp/x", "SIAR_ENV_FILE": "/tmp/.env",
     "OTHER": "1"},
]


def _only(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.upper().startswith("SIAR_")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("variables", CASES)
def test_environment_variables_give_what_pydantic_settings_gave(
        variables: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    _only(monkeypatch, variables)
    expected = pydantic_settings.EnvSettingsSource(Reference)()
    assert settings_values(Settings, os.environ, "EnvSettingsSource") == expected


@pytest.mark.parametrize("variables", CASES)
def test_dotenv_variables_give_what_pydantic_settings_gave(
        variables: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _only(monkeypatch, {})
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}='{v}'\n" for k, v in variables.items()) + "BARE\n")
    found = pydantic_settings.DotEnvSettingsSource(Reference, env_file=env_file)()
    # it also passed on variables that name no field, which Settings ignores (extra="ignore")
    expected = {k: v for k, v in found.items() if k in Settings.model_fields}
    assert settings_values(Settings, dotenv_variables(env_file),
                           "DotEnvSettingsSource") == expected


@pytest.mark.parametrize("value", ["not json", "[1, 2", '{"workers": }'])
def test_a_table_that_is_not_json_is_the_same_error(value: str, monkeypatch):
    _only(monkeypatch, {"SIAR_DAEMON": value})
    with pytest.raises(ValueError) as reference:
        pydantic_settings.EnvSettingsSource(Reference)()
    with pytest.raises(ValueError) as ours:
        settings_values(Settings, os.environ, "EnvSettingsSource")
    assert str(ours.value) == str(reference.value)


def test_sources_merge_table_by_table():
    toml = {"daemon": {"workers": 2, "batch": 5}, "timezone": "Asia/Jakarta"}
    assert deep_update(toml, {"daemon": {"workers": 3}}, {"timezone": "Asia/Jayapura"}) == {
        "daemon": {"workers": 3, "batch": 5}, "timezone": "Asia/Jayapura"}


def test_keyword_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIAR_DAEMON__WORKERS", "3")
    monkeypatch.setenv("SIAR_TIMEZONE", "Asia/Makassar")
    (tmp_path / ".env").write_text("SIAR_TIMEZONE=Asia/Jayapura\nSIAR_DRY_RUN=true\n")
    settings = Settings(timezone="Asia/Jakarta", database_url="sqlite://")
    assert settings.timezone == "Asia/Jakarta"
    assert settings.daemon.workers == 3
    assert settings.dry_run is True  # from ./.env, as before
