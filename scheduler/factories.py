"""Default factories for the settings' dataclass fields and for pydantic and SQLModel fields
(``field(default_factory=no_items)``, ``Field(default_factory=no_items)``).

Python functions, not the builtins ``list`` and ``dict``: pydantic (on a settings-cache
miss, and for the models) reads each factory's signature, a builtin's signature is parsed
from its text by the tokenize module, and the first use of that compiles a large pattern
(~20 ms of each command that reads the settings or opens the database; measured with ``-X
importtime`` and a profile of ``siar queue``).
"""

from __future__ import annotations

from typing import Any


def no_items() -> list[Any]:
    """A new empty list."""
    return []


def no_entries() -> dict[str, Any]:
    """A new empty dict."""
    return {}
