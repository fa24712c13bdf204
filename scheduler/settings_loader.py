"""Reading the settings from their sources with pydantic-settings (the design card's loader).

:class:`SettingsLoader` is :class:`~scheduler.settings.Settings` with pydantic-settings'
sources: the ``SIAR_*`` environment, the ``.env`` file :mod:`scheduler.envfile` chose, the
TOML file and explicit overrides. Imported only when the settings are not in the cache
(:mod:`scheduler.settings_cache`): importing pydantic-settings (with asyncio, argparse and
``importlib.metadata``) is ~100–150 ms of a command's start.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from scheduler import envfile
from scheduler.errors import ConfigError, validation_message
from scheduler.i18n import _
from scheduler.settings_check import check_known_keys
from scheduler.settings_models import FieldError, Settings

#: the TOML file :func:`load_fully` read, for :meth:`SettingsLoader.settings_customise_sources`
#: (a variable, not a subclass per call: building a settings class costs ~20 ms of start-up)
_toml_data: ContextVar[dict[str, Any] | None] = ContextVar("siar_toml_data", default=None)


class _Sources(BaseSettings):
    """Where :class:`SettingsLoader` reads from (its fields are :class:`Settings`')."""

    model_config = SettingsConfigDict(
        env_prefix="SIAR_", env_file=".env", env_file_encoding="utf-8",
        extra="ignore", env_nested_delimiter="__", validate_default=True,
        # .env holds every account's secrets: pydantic-settings would otherwise match each
        # line against every field as a possible extra (which ``extra="ignore"`` then
        # drops), ~40 ms of each start with 100 accounts
        dotenv_filtering="only_existing",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Overrides, then the environment, then ``.env``, then the TOML file."""
        # the TOML file as load_fully read (and checked) it
        toml = InitSettingsSource(settings_cls, init_kwargs=dict(_toml_data.get() or {}))
        return (init_settings, env_settings, dotenv_settings, toml)


def _fields() -> dict[str, Any]:
    """:class:`Settings`' fields as pydantic's ``create_model`` takes them: the annotations
    resolved, each default or default factory kept (a factory runs only when a field is
    not given: ``node_name`` and ``database_url`` depend on the process and the folders)."""
    types = typing.get_type_hints(Settings)
    found: dict[str, Any] = {}
    for item in dataclasses.fields(Settings):
        if item.default_factory is not dataclasses.MISSING:
            found[item.name] = (types[item.name], Field(default_factory=item.default_factory))
        else:
            found[item.name] = (types[item.name], item.default)
    return found


#: :class:`Settings`' fields read from every source (the tables are validated as the
#: dataclasses they are: their types, then their ``__post_init__``)
SettingsLoader = create_model("SettingsLoader", __base__=_Sources, **_fields())


def load_fully(path: Path | None, content: bytes | None,
               overrides: dict[str, Any]) -> tuple[Settings, set[str], bool]:
    """Settings read by pydantic-settings from every source; ``content`` is the TOML file
    ``path`` as already read (``None``: read it here). Also the names of the fields a source
    gave (the others took their defaults), and whether the outcome depends only on the
    inputs :mod:`scheduler.settings_cache` keys on (``False`` when the file names a network
    only an installed package may know)."""
    data: dict[str, Any] = {}
    portable = True
    if path is not None:
        try:
            # tomllib.load decodes the bytes the same way: the same errors
            data = tomllib.loads((path.read_bytes() if content is None else content).decode())
        except (OSError, ValueError) as exc:  # a TOML syntax error is a ValueError
            raise ConfigError(
                _("{path}: cannot read: {reason}").format(path=path, reason=exc),
                hint=_("check the TOML syntax (strings in quotes, [[accounts]] tables)")) from exc
        portable = check_known_keys(data, path)
    envfile.dotenv()  # a .env line python-dotenv cannot read stops here, with its number
    reading = _toml_data.set(data)
    try:
        # the .env file envfile chose (pydantic-settings alone would read ./.env only)
        loaded = SettingsLoader(_env_file=envfile.env_file_path(), **overrides)
        settings = Settings(**{name: getattr(loaded, name) for name in type(loaded).model_fields})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise _invalid(path, error["loc"], error, error.get("ctx", {}).get("error")) from exc
    except FieldError as exc:  # a check across fields, in Settings.__post_init__
        raise _invalid(path, (), None, exc) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(_("{path}: cannot read: {reason}").format(
            path=path or "settings", reason=exc),
            hint=_("see config/siar.example.toml for every key")) from exc
    finally:
        _toml_data.reset(reading)
    return settings, set(loaded.model_fields_set), portable


def _invalid(path: Path | None, loc: tuple[Any, ...], error: Any,
             cause: BaseException | None) -> ConfigError:
    """The file, where in it (e.g. ``accounts.0.name``) and what is wrong: a table's own
    check (:class:`FieldError`) adds its field to where pydantic found the table."""
    if isinstance(cause, FieldError):
        loc = (*loc, cause.field) if cause.field else loc
        message = cause.problem
    else:
        message = validation_message(error)
    where = ".".join(str(p) for p in loc)
    return ConfigError(f"{path or 'settings'}: {where + ': ' if where else ''}{message}",
                       hint=_("see config/siar.example.toml for every key"))
