"""The interface language, for the scheduler: see :mod:`channels.i18n` (it lives with the
adapters, which speak to staff too and never import the scheduler)."""

from channels.i18n import (
    DEFAULT_LANGUAGE,
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    _,
    language,
    ngettext,
    use_env_file_language,
)

__all__ = ["DEFAULT_LANGUAGE", "DOMAIN", "LANGUAGES", "LOCALE_DIR", "N_", "_", "language",
           "ngettext", "use_env_file_language"]
