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
