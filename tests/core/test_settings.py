"""Settings come from the TOML file, the environment and .env; secrets only from the latter."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.errors import ConfigError, MissingSecret
from scheduler.settings import Settings, load_settings


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


def test_dotenv_sets_settings_nested_ones_too_beside_its_secrets(workspace: Path):
    # .env is read for the settings' own variables only (its secrets are not settings)
    (workspace / ".env").write_text("SIAR_TIMEZONE=Asia/Jayapura\nSIAR_DAEMON__WORKERS=5\n"
                                    "SIAR_SECRET_X_LAPAS_API_KEY=from-dotenv\n")
    settings = load_settings()
    assert settings.timezone == "Asia/Jayapura"
    assert settings.daemon.workers == 5
    assert settings.secret(settings.account("x-lapas"), "api_key") == "from-dotenv"


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


def test_secrets_in_the_toml_file_are_refused_with_where_they_belong(workspace: Path):
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + '\n[secrets]\nx_lapas_api_key = "leaked"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "unknown key 'secrets'" in str(info.value)
    assert "SIAR_SECRET_<ACCOUNT>_<FIELD>" in str(info.value)


@pytest.mark.parametrize(("toml", "fragment"), [
    ('[[accounts]]\nname = "X Lapas"\nnetwork = "x"\n', "accounts.0.name"),
    ('[[accounts]]\nname = "a"\nnetwork = "x"\n[[accounts]]\nname = "a"\nnetwork = "x"\n',
     "used twice"),
    ('timezone = "Mars/Olympus"\n', "timezone"),
    ('[[accounts]]\nname = "a"\nnetwork = "x"\ncolour = "red"\n', "colour"),
    ('[accounts]\nname = "a"\nnetwork = "x"\n', "accounts"),
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


# --- every level of siar.toml is strict --------------------------------------------------------

@pytest.mark.parametrize(("toml", "message"), [
    ("dry_rum = true\n", "unknown key 'dry_rum' (did you mean 'dry_run'?)"),
    ('approvel = "required"\n', "unknown key 'approvel'"),
    ('timezon = "Asia/Jakarta"\n', "unknown key 'timezon' (did you mean 'timezone'?)"),
    ("[daemon]\nwrokers = 4\n", "[daemon] unknown key 'wrokers' (did you mean 'workers'?)"),
    ('[notify]\nacounts = ["x"]\n', "[notify] unknown key 'acounts' (did you mean 'accounts'?)"),
    ('[[accounts]]\nname = "x-lapas"\nnetwrok = "x"\n',
     "[[accounts]] #1 ('x-lapas'): unknown key 'netwrok' (did you mean 'network'?)"),
    ('[mentions.ditjenpas]\nname = "Ditjen"\nmastdon = "@d@m.social"\n',
     "[mentions.ditjenpas] unknown key 'mastdon' (did you mean 'mastodon'?)"),
    ('[utm.twiter]\nutm_source = "x"\n', "[utm] unknown network 'twiter'"),
])
def test_an_unknown_key_at_any_level_names_the_file_the_key_and_the_closest_one(
        workspace: Path, toml: str, message: str):
    (workspace / "siar.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(f"siar.toml: {message}")


def test_a_typo_in_siar_toml_stops_the_cli_with_exit_1_and_no_traceback(workspace, siar):
    config = workspace / "siar.toml"
    config.write_text("dry_rum = true\n" + config.read_text())
    result = siar("queue")
    assert result.code == 1
    assert "siar.toml: unknown key 'dry_rum' (did you mean 'dry_run'?)" in result.err
    assert "Traceback" not in result.err


def test_what_the_file_may_hold_is_accepted(workspace: Path):
    """Free-form tables stay free: handles and Bluesky DIDs per network, any UTM parameter,
    any adapter option; top-level keys match without regard to case, as before."""
    (workspace / "siar.toml").write_text(
        'DRY_RUN = true\nnode_name = "humas-1"\n'
        '[mentions.ditjenpas]\nname = "Ditjen"\nbluesky = "@d.bsky.social"\n'
        'bluesky_did = "did:plc:abc"\n'
        '[utm.x]\nutm_source = "x"\nutm_content = "rilis"\n'
        '[[accounts]]\nname = "a"\nnetwork = "webhook"\noptions = { anything = 1 }\n')
    settings = load_settings()
    assert settings.dry_run is True and settings.node_name == "humas-1"
    assert settings.utm == {"x": {"utm_source": "x", "utm_content": "rilis"}}


SHIPPED = Path(__file__).parents[2] / "config"


@pytest.mark.parametrize("name", ["demo.toml", "siar.example.toml"])
def test_the_shipped_config_files_load(workspace: Path, name: str):
    assert load_settings(SHIPPED / name).accounts


def test_the_file_siar_init_writes_loads(workspace: Path, siar):
    assert siar("init", "starter").code == 0
    assert load_settings(workspace / "starter" / "siar.toml").accounts


KNOWN = {item.name.lower() for item in dataclasses.fields(Settings)} - {"config_file"}


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
               max_size=20).filter(lambda key: key.lower() not in KNOWN))
def test_any_top_level_key_siar_does_not_read_is_refused(key: str):
    from scheduler.settings_check import check_known_keys

    with pytest.raises(ConfigError) as info:
        check_known_keys({key: 1}, Path("siar.toml"))
    assert f"unknown key {key!r}" in str(info.value)
