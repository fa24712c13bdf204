"""``SIAR_*`` variables as settings values, by the rules of pydantic-settings' environment
and ``.env`` sources, which Siar used until its import (~80 ms, a fifth of a command's
start) and its per-variable work on a ``.env`` of a hundred accounts' secrets outweighed
what Siar needed of it.

The rules kept: names are case-insensitive, ``SIAR_`` + the field's name; a list, dict or
model field's value is JSON; ``__`` reaches into a nested field (``SIAR_DAEMON__WORKERS=4``),
merged into that field's JSON value when there is one; variables that name no field are
ignored; a ``.env`` variable without ``=`` counts as unset. Sources are merged key by key
in nested tables (:func:`deep_update`), later ones winning.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

PREFIX = "siar_"
NESTED = "__"


class SettingsValueError(ValueError):
    """A variable's value is not the JSON its field needs (pydantic-settings' wording)."""

    def __init__(self, field: str, source: str) -> None:
        super().__init__(f'error parsing value for field "{field}" from source "{source}"')


def deep_update(base: dict[str, Any], *updates: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by each of ``updates`` in turn; tables in both are merged."""
    merged = dict(base)
    for update in updates:
        for key, value in update.items():
            if isinstance(merged.get(key), dict) and isinstance(value, dict):
                merged[key] = deep_update(merged[key], value)
            else:
                merged[key] = value
    return merged


def by_field_name(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (keyword arguments, the TOML file's top level) with each key that names a
    field without regard to case renamed to the field's name (the first such key wins);
    other keys are kept as they are."""
    fields = {name.lower(): name for name in model.model_fields}
    named: dict[str, Any] = {}
    for key, value in values.items():
        named.setdefault(fields.get(key.lower(), key), value)
    return named


def dotenv_variables(path: Path) -> dict[str, str | None]:
    """The variables of a ``.env`` file, none if there is no such file."""
    path = path.expanduser()
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return dict(dotenv_values(path, encoding="utf-8"))


def settings_values(model: type[BaseModel], variables: Mapping[str, str | None],
                    source: str) -> dict[str, Any]:
    """The values ``variables`` give the fields of ``model`` (``source`` names them in
    errors: ``EnvSettingsSource`` or ``DotEnvSettingsSource``)."""
    lowered = {name.lower(): value for name, value in variables.items()
               if name[:len(PREFIX)].lower() == PREFIX}
    if not lowered:
        return {}
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        variable = PREFIX + name.lower()
        value = lowered.get(variable)
        complex_, may_fail = _is_complex(field)
        if not complex_:
            if value is not None:
                found[name] = value
            continue
        if value is not None:
            try:
                value = _decode(value)
            except ValueError as exc:
                if not may_fail:
                    raise SettingsValueError(name, source) from exc
        nested = _nested(field, variable + NESTED, lowered, source)
        if value is None:
            if nested:
                found[name] = nested
        elif isinstance(value, dict):
            found[name] = deep_update(value, nested)
        else:
            found[name] = value
    return found


def _decode(value: str) -> Any:
    return json.loads(value)


def _nested(field: FieldInfo, prefix: str, variables: Mapping[str, str | None],
            source: str) -> dict[str, Any]:
    """``SIAR_<FIELD>__<KEY>[__<KEY>…]`` variables as a table for ``field``."""
    is_dict = _origin_is_dict(field.annotation)
    result: dict[str, Any] = {}
    for variable, value in variables.items():
        if not variable.startswith(prefix) or value is None:
            continue
        *keys, last = variable[len(prefix):].split(NESTED)
        table: Any = result
        target: FieldInfo | None = field
        for key in keys:
            target = _sub_field(target, key)
            if isinstance(table, dict):
                table = table.setdefault(key, {})
        target = _sub_field(target, last)
        decoded: Any = value
        if (target is not None or is_dict) and value:
            complex_, may_fail = _is_complex(target) if target is not None else (True, True)
            if complex_:
                try:
                    decoded = _decode(value)
                except ValueError as exc:
                    if not may_fail:
                        raise SettingsValueError(last, source) from exc
        if isinstance(table, dict):
            table[last] = decoded
    return result


def _sub_field(field: FieldInfo | None, key: str) -> FieldInfo | None:
    """The field ``key`` of the model ``field`` holds (of any model of a union), if any."""
    if field is None:
        return None
    annotation = field.annotation
    candidates = get_args(annotation) if _is_union(annotation) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, sub in candidate.model_fields.items():
                if name.lower() == key:
                    return sub
    return None


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (typing.Union, types.UnionType)


def _origin_is_dict(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return annotation is dict or (isinstance(origin, type) and issubclass(origin, dict))


def _annotation_is_complex(annotation: Any) -> bool:
    """A model, a mapping, a collection (not text) or a dataclass: its variable holds JSON."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _annotation_is_complex(get_args(annotation)[0])
    return any(_complex_type(candidate) for candidate in (annotation, origin))


def _complex_type(candidate: Any) -> bool:
    if not isinstance(candidate, type):
        return False
    if issubclass(candidate, str | bytes):
        return False
    return issubclass(candidate, (BaseModel, Mapping, Sequence, AbstractSet, tuple, set,
                                  frozenset, deque)) or dataclasses.is_dataclass(candidate)


def _is_complex(field: FieldInfo) -> tuple[bool, bool]:
    """(its variable holds JSON, a value that is not JSON is passed on as text): the
    second for a union of a collection with a plain type."""
    annotation = field.annotation
    if _annotation_is_complex(annotation):
        return True, False
    if _is_union(annotation) and any(_annotation_is_complex(a) for a in get_args(annotation)):
        return True, True
    return False, False
