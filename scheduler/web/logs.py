"""What the desk writes to the log: never a secret. An approval link's token is in its
URL, so request lines are not logged by the server; the desk logs its own events
(logins, failed logins) with names only."""

from __future__ import annotations

import logging
import re

#: a link's token in a path, as logged by anything that logs request lines
_TOKEN = re.compile(r"(/tautan/)[A-Za-z0-9_-]+")


def redact_path(text: str) -> str:
    """``text`` with every approval-link token replaced."""
    return _TOKEN.sub(r"\1[…]", text)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_path(str(record.msg))
        if record.args:
            record.args = tuple(redact_path(str(a)) if isinstance(a, str) else a
                                for a in (record.args if isinstance(record.args, tuple)
                                          else (record.args,)))
        return True


def quiet_access_log() -> None:
    """Make uvicorn's loggers redact link tokens, should anyone turn access logs on."""
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "siar.web"):
        logging.getLogger(name).addFilter(_RedactTokens())
