"""Logging set-up: every line written is stripped of secret values.

Redaction happens in the formatter, on the finished text (message *and* traceback), so
no record is mutated under other handlers' feet and nothing can slip through formatting.
"""

from __future__ import annotations

import logging


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


def configure(verbose: bool, secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
