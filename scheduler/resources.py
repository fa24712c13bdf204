"""Where the shipped templates and example configuration are, installed or not.

In a wheel they live inside the package (``scheduler/_data/``); in a source checkout
(editable install) they are the top-level ``templates/`` and ``config/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def templates_dir() -> Path:
    """The built-in Jinja2 templates, one per network."""
    return _shipped("templates")


def config_dir() -> Path:
    """The annotated example configuration and the example release."""
    return _shipped("config")
