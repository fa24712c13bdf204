"""Files holding secrets that group or others can read are named, with the fix, wherever an
operator looks: `siar accounts`, `siar status`, and the daemon's start."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.settings import load_settings

TOKEN = "tg-bot-token-98765"


def exposure_warnings(settings):
    from scheduler.envfile import exposure_warnings

    return exposure_warnings(settings)


@pytest.fixture
def dotenv(workspace: Path) -> Path:
    env = workspace / ".env"
    env.write_text(f"SIAR_SECRET_TELEGRAM_LAPAS_BOT_TOKEN={TOKEN}\n")
    return env


@pytest.mark.parametrize("command", [("accounts",), ("accounts", "--json"), ("status",),
                                     ("daemon", "--once")])
def test_a_world_readable_dotenv_is_named_with_the_fix(dotenv, siar, command):
    dotenv.chmod(0o644)
    result = siar(*command)
    assert "Traceback" not in result.err
    assert (".env holds secrets and can be read or changed by group and others "
            "(mode 0644): run 'chmod 600 .env'") in " ".join(result.err.split())
    assert TOKEN not in result.out + result.err


@pytest.mark.parametrize("command", [("accounts",), ("status",), ("daemon", "--once")])
def test_no_warning_when_only_the_owner_can_read_it(dotenv, siar, command):
    dotenv.chmod(0o600)
    assert "chmod" not in siar(*command).err


def test_a_group_readable_dotenv_is_named_too(dotenv, workspace):
    dotenv.chmod(0o640)
    assert exposure_warnings(load_settings()) == [
        ".env holds secrets and can be read or changed by group (mode 0640): "
        "run 'chmod 600 .env'"]


def test_the_dotenv_named_by_siar_env_file_is_checked(workspace, monkeypatch):
    secrets = workspace / "secrets.env"
    secrets.write_text(f"SIAR_SECRET_TELEGRAM_LAPAS_BOT_TOKEN={TOKEN}\n")
    secrets.chmod(0o604)
    monkeypatch.setenv("SIAR_ENV_FILE", str(secrets))
    [warning] = exposure_warnings(load_settings())
    assert warning.startswith(f"{secrets} holds secrets") and "by others" in warning


def test_the_config_file_counts_when_it_holds_a_password(workspace):
    config = workspace / "siar.toml"
    config.chmod(0o644)
    assert exposure_warnings(load_settings()) == []  # siar.toml has no secret: no noise
    config.write_text('database_url = "postgresql://siar:s3cret-pw@db.example/siar"\n'
                      + config.read_text())
    [warning] = exposure_warnings(load_settings())
    assert warning.startswith("siar.toml holds secrets") and "chmod 600 siar.toml" in warning
