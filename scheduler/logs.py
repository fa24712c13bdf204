"""Logging set-up: every record passes a filter that removes secret values."""

from __future__ import annotations

import logging
import os


class RedactSecrets(logging.Filter):
    """Replaces every ``SIAR_SECRET_*`` value in a record's message and traceback."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        found = secrets if secrets is not None else [
            v for k, v in os.environ.items() if k.startswith("SIAR_SECRET_") and v]
        self.secrets = sorted((s for s in found if len(s) >= 4), key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(verbose: bool, secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
