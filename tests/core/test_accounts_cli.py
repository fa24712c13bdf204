"""`siar accounts`: credentials checked against the network; long-lived tokens refreshed."""

from __future__ import annotations

import json

import pytest

from tests.fakes.threads import ThreadsFake

TOKEN = "THAAold-token-123456"


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
    stored = (workspace / ".env").read_text()
    assert "SIAR_SECRET_THREADS_LAPAS_ACCESS_TOKEN=" in stored and TOKEN not in stored
    new_token = stored.strip().split("=", 1)[1]
    assert new_token not in result.out + result.err
    assert "Restart the daemon" in result.out


def test_refresh_of_a_network_without_expiring_tokens_is_a_clear_error(workspace, siar):
    result = siar("accounts", "refresh", "console")
    assert result.code == 1 and "do not need refreshing" in result.err
