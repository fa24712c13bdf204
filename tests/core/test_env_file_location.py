"""Which .env is read: $SIAR_ENV_FILE, else ./.env, else the one beside the config file; one
file, for secrets and settings alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.settings import load_settings

CONFIG = '[[accounts]]\nname = "tg"\nnetwork = "telegram"\noptions = { chat_id = "@humas" }\n'
VARIABLE = "SIAR_SECRET_TG_BOT_TOKEN"


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """/etc/siar-like folder with siar.toml and .env; the process runs elsewhere."""
    for key in list(__import__("os").environ):
        if key.startswith("SIAR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SIAR_LANG", "en")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "siar.toml").write_text(CONFIG, encoding="utf-8")
    (etc / ".env").write_text(f"{VARIABLE}=123456:beside-the-config\nSIAR_DRY_RUN=true\n",
                              encoding="utf-8")
    elsewhere = tmp_path / "var"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return etc


def secret(settings) -> str | None:  # type: ignore[no-untyped-def]
    return settings.secret(settings.account("tg"), "bot_token", required=False)


def test_a_service_started_elsewhere_reads_the_env_beside_its_config(service: Path):
    settings = load_settings(service / "siar.toml")
    assert secret(settings) == "123456:beside-the-config" and settings.dry_run


def test_an_env_in_the_working_directory_comes_first(service: Path):
    Path(".env").write_text(f"{VARIABLE}=123456:working-directory\n", encoding="utf-8")
    settings = load_settings(service / "siar.toml")
    assert secret(settings) == "123456:working-directory"
    assert not settings.dry_run  # one file is read, not two merged


def test_siar_env_file_names_the_one_file_read(service: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    named = tmp_path / "named.env"
    named.write_text(f"{VARIABLE}=123456:named\n", encoding="utf-8")
    Path(".env").write_text("SIAR_DRY_RUN=true\n", encoding="utf-8")
    monkeypatch.setenv("SIAR_ENV_FILE", str(named))
    settings = load_settings(service / "siar.toml")
    assert secret(settings) == "123456:named"
    assert not settings.dry_run  # ./.env is not read as well


@pytest.mark.parametrize("command", [["status"], ["-v", "status"], ["accounts"]])
def test_a_line_python_dotenv_cannot_read_stops_the_command_and_is_named(
        service: Path, command: list[str]):
    """python-dotenv skips such a line with a logged warning; redacting that warning read
    the file again, which warned again (a RecursionError and a traceback)."""
    import os
    import subprocess
    import sys

    env_file = service / ".env"
    env_file.write_text(f"{VARIABLE}=123456:beside-the-config\nthis is not a line\n",
                        encoding="utf-8")
    env_file.chmod(0o600)
    home = service.parent / "home"
    result = subprocess.run(
        [sys.executable, "-m", "scheduler", "-c", str(service / "siar.toml"), *command],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "SIAR_HOME": str(home), "COLUMNS": "1000"})
    assert result.returncode == 1, result.stderr
    said = " ".join(result.stderr.split())
    assert f"{env_file}, line 2: cannot read this line" in said
    assert "NAME=value" in said and "Traceback" not in said
    assert "123456:beside-the-config" not in result.stdout + result.stderr
    assert not (home / "cache").exists() or not any((home / "cache").glob("settings-*"))


@pytest.fixture
def language_reset():  # type: ignore[no-untyped-def]
    """The .env's language is process state: forget it after the test."""
    from scheduler.i18n import use_env_file_language

    yield
    use_env_file_language(None)


@pytest.mark.parametrize(("environment", "in_env_file", "spoken"), [
    (None, "en", "en"),  # an operator writes SIAR_LANG=en in .env with the rest
    (None, "id", "id"),
    ("en", "id", "en"),  # the environment wins, as for every setting
    (None, None, "id"),  # nobody says: the officers' language
])
def test_siar_lang_in_the_env_file_is_the_interface_language(
        service: Path, monkeypatch: pytest.MonkeyPatch, language_reset: None,
        environment: str | None, in_env_file: str | None, spoken: str):
    from scheduler.errors import UnknownChannel
    from scheduler.i18n import language

    if environment is None:
        monkeypatch.delenv("SIAR_LANG")
    else:
        monkeypatch.setenv("SIAR_LANG", environment)
    if in_env_file is not None:
        with (service / ".env").open("a", encoding="utf-8") as env:
            env.write(f"SIAR_LANG={in_env_file}\n")
    settings = load_settings(service / "siar.toml")
    assert language() == spoken
    with pytest.raises(UnknownChannel) as refused:
        settings.account("fb")
    english = "no account named 'fb'"
    assert (english in str(refused.value)) == (spoken == "en")
