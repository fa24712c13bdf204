"""Secret values never reach logs, error messages or tracebacks."""

from __future__ import annotations

import logging

from scheduler.logs import RedactingFormatter

SECRET = "tok-3f9a8b7c6d5e"


def test_log_records_and_tracebacks_are_redacted(caplog):
    logger = logging.getLogger("siar.test")
    caplog.handler.setFormatter(RedactingFormatter(secrets=[SECRET]))
    try:
        raise RuntimeError(f"server said: invalid token {SECRET}")
    except RuntimeError:
        logger.exception("publishing with %s failed", SECRET)
    text = caplog.text
    assert SECRET not in text
    assert "publishing with *** failed" in text and "invalid token ***" in text


def test_cli_error_messages_are_redacted(workspace, siar, monkeypatch):
    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_KEY", SECRET)
    result = siar("add", f"{SECRET}.md")
    assert result.code == 1
    assert SECRET not in result.err and "***" in result.err


def test_an_internal_error_prints_a_redacted_traceback_and_exits_70(workspace, siar,
                                                                     monkeypatch):
    from scheduler import queries

    def broken(*args, **kwargs):
        raise RuntimeError(f"bug while holding {SECRET}")

    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_KEY", SECRET)
    monkeypatch.setattr(queries, "history", broken)
    result = siar("history")
    assert result.code == 70
    assert "RuntimeError" in result.err and SECRET not in result.err


# --- a secret that lives only in .env is as secret as one in the environment -------------------

def test_a_secret_only_in_dotenv_is_redacted_from_cli_errors(workspace, siar):
    (workspace / ".env").write_text(f"SIAR_SECRET_X_LAPAS_API_KEY={SECRET}\n")
    result = siar("add", f"{SECRET}.md")
    assert result.code == 1
    assert SECRET not in result.err and "***" in result.err


def test_a_secret_only_in_dotenv_is_redacted_from_tracebacks(workspace, siar, monkeypatch):
    from scheduler import queries

    def broken(*args, **kwargs):
        raise RuntimeError(f"bug while holding {SECRET}")

    (workspace / ".env").write_text(f"SIAR_SECRET_X_LAPAS_API_KEY='{SECRET}'\n")
    monkeypatch.setattr(queries, "history", broken)
    result = siar("history")
    assert result.code == 70
    assert "RuntimeError" in result.err and SECRET not in result.err


def test_a_secret_only_in_dotenv_is_redacted_from_logs(workspace, caplog):
    """The formatter the CLI installs looks secrets up where settings do: environment and
    .env, including a token written to .env after the process started."""
    logger = logging.getLogger("siar.test")
    caplog.handler.setFormatter(RedactingFormatter())
    (workspace / ".env").write_text(f"SIAR_SECRET_THREADS_LAPAS_ACCESS_TOKEN={SECRET}\n")
    logger.warning("refreshed token %s", SECRET)
    assert SECRET not in caplog.text and "refreshed token ***" in caplog.text


def test_redaction_and_settings_know_the_same_secrets(workspace, monkeypatch):
    from scheduler.envfile import secret_values
    from scheduler.settings import load_settings

    (workspace / ".env").write_text("SIAR_SECRET_X_LAPAS_API_KEY=only-in-dotenv\n"
                                    "SIAR_TIMEZONE=Asia/Makassar\n")
    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_SECRET", "only-in-environment")
    settings = load_settings()
    assert set(secret_values()) == set(settings.all_secret_values()) == {
        "only-in-dotenv", "only-in-environment"}
