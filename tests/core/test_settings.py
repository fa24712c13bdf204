"""Settings come from the TOML file, the environment and .env; secrets only from the latter."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import ConfigError, MissingSecret
from scheduler.settings import load_settings


def test_toml_file_declares_accounts(workspace: Path):
    settings = load_settings()
    assert [a.name for a in settings.accounts] == ["console", "x-lapas", "mastodon-lapas",
                                                   "telegram-lapas"]
    assert settings.account("telegram-lapas").options == {"chat_id": "@lapas"}
    assert settings.timezone == "Asia/Jakarta"
    assert settings.database_url.endswith("home/siar.db")


def test_environment_overrides_the_file(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIAR_TIMEZONE", "Asia/Makassar")
    monkeypatch.setenv("SIAR_DAEMON__WORKERS", "3")
    settings = load_settings()
    assert settings.timezone == "Asia/Makassar"
    assert settings.daemon.workers == 3


def test_missing_secret_names_the_variable(workspace: Path):
    settings = load_settings()
    with pytest.raises(MissingSecret) as info:
        settings.secret(settings.account("x-lapas"), "access_token")
    assert "SIAR_SECRET_X_LAPAS_ACCESS_TOKEN" in str(info.value)
    assert "x-lapas" in str(info.value)


def test_secrets_come_from_env_or_dotenv(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    (workspace / ".env").write_text("SIAR_SECRET_X_LAPAS_API_KEY=from-dotenv\n")
    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_SECRET", "from-env")
    settings = load_settings()
    account = settings.account("x-lapas")
    assert settings.secret(account, "api_key") == "from-dotenv"
    assert settings.secret(account, "api_secret") == "from-env"
    assert set(settings.all_secret_values()) == {"from-dotenv", "from-env"}


def test_secrets_in_the_toml_file_are_not_read(workspace: Path):
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + '\n[secrets]\nx_lapas_api_key = "leaked"\n')
    settings = load_settings()
    with pytest.raises(MissingSecret):
        settings.secret(settings.account("x-lapas"), "api_key")


@pytest.mark.parametrize(("toml", "fragment"), [
    ('[[accounts]]\nname = "X Lapas"\nnetwork = "x"\n', "accounts.0.name"),
    ('[[accounts]]\nname = "a"\nnetwork = "x"\n[[accounts]]\nname = "a"\nnetwork = "x"\n',
     "used twice"),
    ('timezone = "Mars/Olympus"\n', "timezone"),
    ('[[accounts]]\nname = "a"\nnetwork = "x"\ncolour = "red"\n', "colour"),
    ("timezone = \n", "cannot read"),
])
def test_a_bad_config_file_is_a_clear_error(workspace: Path, toml: str, fragment: str):
    (workspace / "siar.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "siar.toml" in str(info.value) and fragment in str(info.value)


def test_a_missing_config_file_given_explicitly_is_an_error(workspace: Path):
    with pytest.raises(ConfigError, match=r"nowhere\.toml not found"):
        load_settings(workspace / "nowhere.toml")
