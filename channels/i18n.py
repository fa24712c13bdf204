"""The language Siar speaks to people: Bahasa Indonesia or English.

Messages are written in English in the code, wrapped in :func:`_` (gettext message ids), and
translated in ``channels/locale/id/LC_MESSAGES/siar.po`` (compiled to ``siar.mo``,
committed, so a clean install needs no build step; ``make messages`` extracts, updates and
compiles, and ``tests/core/test_translations.py`` holds the catalog complete and the
compiled file current). The language is ``SIAR_LANG`` (``id`` or ``en``; in the environment,
or in the ``.env`` file once the settings have found it), else :data:`DEFAULT_LANGUAGE`. The
system locale is not consulted: servers and most laptops say ``en_US`` or ``C`` whatever
their user reads.

It lives with the adapters, like the errors (``channels.errors``): adapters speak to staff
too (why a post cannot go out, what was changed to fit), and ``channels`` never imports
``scheduler``. The scheduler uses it as ``scheduler.i18n``; one catalog holds both.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

#: the languages Siar has, the first of each pair the code SIAR_LANG takes
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
#: the officers' language; operators who prefer English set SIAR_LANG=en
DEFAULT_LANGUAGE = "id"
DOMAIN = "siar"
LOCALE_DIR = Path(__file__).parent / "locale"


#: ``SIAR_LANG`` as the ``.env`` file in use writes it (see :func:`use_env_file_language`)
_env_file_language = ""


def use_env_file_language(value: str | None) -> None:
    """Take ``SIAR_LANG`` from the ``.env`` file in use when the environment has none: an
    operator writes it there with the other settings (the settings loader calls this)."""
    global _env_file_language
    _env_file_language = value or ""


def language() -> str:
    """The interface language now: ``SIAR_LANG`` (from the environment, else from the
    ``.env`` file in use) if it names one Siar has."""
    wanted = (os.environ.get("SIAR_LANG") or _env_file_language).strip().lower().replace(
        "_", "-")
    code = wanted.split("-", 1)[0]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


@cache
def _catalog(code: str) -> gettext.NullTranslations:
    if code == "en":  # the message ids are the English
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)


def _(message: str) -> str:
    """``message`` in the interface language (its English is the message id)."""
    return _catalog(language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a message for ``count`` (Indonesian has one form for both)."""
    return _catalog(language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks ``message`` for extraction where it is defined; :func:`_` translates it where
    it is shown (tables of labels built at import, before the language is known)."""
    return message
