"""Logging set-up: every line written is stripped of secret values.

Redaction happens in the formatter, on the finished text (message *and* traceback), so
no record is mutated under other handlers' feet and nothing can slip through formatting.
"""

from __future__ import annotations

import logging
import os


def known_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if k.startswith("SIAR_SECRET_") and v]


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces every secret value with ``***``."""

    def __init__(self, fmt: str | None = None, secrets: list[str] | None = None) -> None:
        super().__init__(fmt)
        found = known_secrets() if secrets is None else secrets
        self.secrets = sorted((s for s in found if len(s) >= 4), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def configure(verbose: bool, secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
