"""Logging set-up: every line written is stripped of secret values.

Redaction happens in the formatter, on the finished text (message *and* traceback), so
no record is mutated under other handlers' feet and nothing can slip through formatting.
Lines are text for a terminal or the journal, or one JSON object each for a log collector
(``siar --log-format json``). With ``-v`` Siar says what it does (INFO); the scheduler
library's own chatter (a line per wake-up) only with ``-vv``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


def known_secrets() -> list[str]:
    """Every secret value of the environment and of ``.env``."""
    from scheduler import envfile  # when a line is logged: most commands never log one

    return envfile.secret_values()


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces every secret value with ``***``.

    Without ``secrets`` the values are looked up at each record, in the environment and
    ``.env`` (parsed once per version of the file): a token refreshed into ``.env`` while
    the process runs is redacted too."""

    def __init__(self, fmt: str | None = None, secrets: list[str] | None = None) -> None:
        super().__init__(fmt)
        self.secrets = (None if secrets is None else
                        sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in known_secrets() if self.secrets is None else self.secrets:
            text = text.replace(secret, "***")
        return text


#: attributes every LogRecord has; anything else was passed with ``extra=`` and is a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message",
                                                                         "asctime"}


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``error`` (a traceback, if any) and the fields given with ``extra=``
    (e.g. ``release``, ``account``, ``url``). Secrets are removed from each value before
    encoding, where they are still written as they are."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(), "logger": record.name,
            "message": self._redact(record.getMessage())}
        if record.exc_info:
            entry["error"] = self._redact(self.formatException(record.exc_info))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = self._redact(value) if isinstance(value, str) else value
        return json.dumps(entry, ensure_ascii=False, default=str)

    def _redact(self, text: str) -> str:
        for secret in known_secrets() if self.secrets is None else self.secrets:
            text = text.replace(secret, "***")
        return text


class StandardErrorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to ``sys.stderr`` as it is when the record comes, not as it was
    when logging was set up (as Python's own last-resort handler does): a command run
    with its standard error captured, then released, leaves no handler writing to a
    closed file for whatever logs next in the process (the test suite's SMTP server)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass  # always sys.stderr


def configure(verbosity: int | bool, secrets: list[str] | None = None, *,
              log_format: str = "text") -> None:
    """Log to standard error: warnings only; ``verbosity`` 1 adds what Siar does (INFO),
    2 everything, the scheduler library's wake-ups included (DEBUG)."""
    level = int(verbosity)
    handler = StandardErrorHandler()
    handler.setFormatter(JsonFormatter(secrets=secrets) if log_format == "json" else
                         RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel({0: logging.WARNING, 1: logging.INFO}.get(level, logging.DEBUG))
    # APScheduler logs each wake-up and job run at INFO: twice a second on a busy daemon
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level >= 2 else logging.WARNING)
