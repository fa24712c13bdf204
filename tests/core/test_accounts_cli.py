"""`siar accounts`: credentials checked against the network; long-lived tokens refreshed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.fakes.threads import ThreadsFake

TOKEN = "THAAold-token-123456"
VARIABLE = "SIAR_SECRET_THREADS_LAPAS_ACCESS_TOKEN"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def threads(workspace, monkeypatch):
    with ThreadsFake(token=TOKEN, user_id="1789") as fake:
        config = workspace / "siar.toml"
        config.write_text(config.read_text() + f'\n[[accounts]]\nname = "threads-lapas"\n'
                          f'network = "threads"\nbase_url = "{fake.url}"\n'
                          'options = { user_id = "1789" }\n')
        (workspace / ".env").write_text(f"SIAR_SECRET_THREADS_LAPAS_ACCESS_TOKEN={TOKEN}\n")
        yield fake


def test_check_verifies_credentials_and_reports_expiry(threads, siar):
    result = siar("accounts", "check", "threads-lapas", "--json")
    assert result.code == 0, result.err
    [row] = json.loads(result.out)
    assert row["ok"] is True and row["channel"] == "threads"
    assert TOKEN not in result.out


def test_a_failing_check_exits_1(threads, siar, workspace):
    (workspace / ".env").write_text("SIAR_SECRET_THREADS_LAPAS_ACCESS_TOKEN=wrong-token\n")
    result = siar("accounts", "check", "threads-lapas")
    assert result.code == 1
    assert "FAILED" in result.out and "wrong-token" not in result.out


def test_refresh_stores_the_new_token_in_dotenv_without_printing_it(threads, siar, workspace):
    result = siar("accounts", "refresh", "threads-lapas")
    assert result.code == 0, result.err
    stored = dotenv_values(workspace / ".env")
    assert stored == {VARIABLE: threads.refreshed_token}
    assert threads.refreshed_token not in result.out + result.err
    assert "Restart the daemon" in result.out


def test_refresh_keeps_the_other_lines_of_dotenv(threads, siar, workspace):
    env = workspace / ".env"
    env.write_text(f"# secrets of the Humas office\nSIAR_SECRET_X_LAPAS_API_KEY=x-key-1234\n"
                   f"{VARIABLE}={TOKEN}\nSIAR_SECRET_EMAIL_HUMAS_PASSWORD='pa ss\\'word'\n")
    assert siar("accounts", "refresh", "threads-lapas").code == 0
    assert env.read_text().startswith("# secrets of the Humas office\n")
    assert dotenv_values(env) == {"SIAR_SECRET_X_LAPAS_API_KEY": "x-key-1234",
                                  VARIABLE: threads.refreshed_token,
                                  "SIAR_SECRET_EMAIL_HUMAS_PASSWORD": "pa ss'word"}


def test_refresh_refuses_when_the_environment_would_keep_the_old_token(
        threads, siar, workspace, monkeypatch):
    """The environment wins over .env: writing .env and reporting success would be untrue
    (the next run reads the old token), so nothing is refreshed at all."""
    monkeypatch.setenv(VARIABLE, TOKEN)
    before = (workspace / ".env").read_bytes()
    result = siar("accounts", "refresh", "threads-lapas")
    assert result.code == 1
    assert f"{VARIABLE} is set in the environment" in result.err
    assert "Nothing was refreshed" in result.err and "Traceback" not in result.err
    assert (workspace / ".env").read_bytes() == before
    assert threads.token == TOKEN  # the network was not asked for a new token


def test_refresh_creates_a_file_readable_by_its_owner_only(threads, siar, workspace):
    result = siar("accounts", "refresh", "threads-lapas", "--env-file", "fresh.env")
    assert result.code == 0, result.err
    assert mode(workspace / "fresh.env") == 0o600
    assert dotenv_values(workspace / "fresh.env") == {VARIABLE: threads.refreshed_token}
    # written elsewhere than where secrets are read from: said, with the fix
    assert "secrets are read from .env, not fresh.env" in result.out
    assert "SIAR_ENV_FILE=fresh.env" in result.out


def test_refresh_tightens_a_world_readable_dotenv_and_says_so(threads, siar, workspace):
    env = workspace / ".env"
    env.chmod(0o644)
    result = siar("accounts", "refresh", "threads-lapas")
    assert result.code == 0, result.err
    assert mode(env) == 0o600
    assert "was readable by others (mode 0644): it is now 0600" in result.out


def test_refresh_writes_through_a_symlinked_dotenv(threads, siar, workspace):
    """A .env that links to the real secrets file (e.g. /etc/siar/secrets.env) stays a link;
    the file it points at gets the new token, so nothing goes stale."""
    vault = workspace / "vault"
    vault.mkdir()
    real = vault / "secrets.env"
    (workspace / ".env").rename(real)
    (workspace / ".env").symlink_to(real)
    result = siar("accounts", "refresh", "threads-lapas")
    assert result.code == 0, result.err
    assert (workspace / ".env").is_symlink() and (workspace / ".env").resolve() == real
    assert dotenv_values(real) == {VARIABLE: threads.refreshed_token}
    assert mode(real) == 0o600
    assert os.listdir(vault) == ["secrets.env"]  # no temporary file left behind
    assert f"written to {real}" in result.out


@pytest.mark.parametrize(("answer", "problem"), [
    ("NEWtok\nSIAR_DATABASE_URL=sqlite:///evil.db", "a line break"),
    ("NEWtok\rSIAR_DATABASE_URL=sqlite:///evil.db", "a line break"),
    ("NEWtok\x1b[2J", "a control character"),
    ("NEW tok", "a space"),
    ("x" * 5000, "5000 characters long"),
    ("", "it is empty"),
])
def test_refresh_refuses_a_token_that_would_not_read_back_as_sent(
        threads, siar, workspace, answer, problem):
    """The issue's attack: a refresh answer with a newline added a line of its own to .env
    and redirected the database. Such a token is refused, and .env is not touched."""
    threads.refreshed_token = answer
    before = (workspace / ".env").read_bytes()
    result = siar("accounts", "refresh", "threads-lapas")
    assert result.code == 1 and "Traceback" not in result.err
    assert "is not a usable token" in result.err and problem in result.err
    assert "nothing was written" in result.err
    assert (workspace / ".env").read_bytes() == before
    assert "evil.db" not in result.out + result.err
    assert sorted(p.name for p in workspace.iterdir() if p.name.startswith(".")) == [".env"]


def test_refresh_of_a_network_without_expiring_tokens_is_a_clear_error(workspace, siar):
    result = siar("accounts", "refresh", "console")
    assert result.code == 1 and "do not need refreshing" in result.err
