"""A cache of validated settings, so that a command starts without pydantic-settings.

pydantic-settings reads the settings (:mod:`scheduler.settings_loader`), but importing it is
~100–150 ms of every command. Its result depends only on inputs a command can look at
cheaply: the TOML file's path and bytes, the ``.env`` file's path and bytes (and the
variables of the environment it refers to as ``${NAME}``), the environment's ``SIAR_*`` and
``PYDANTIC_*`` variables but secrets, the overrides, the home and XDG folders, the user,
and the code that reads them (Siar's settings modules, Python, pydantic, pydantic-settings
and python-dotenv). After a full read, the validated settings are written to
``cache_dir()/settings-<digest of those inputs>.json``; the next command with the same
inputs builds the dataclasses of :mod:`scheduler.settings_models` from that JSON instead
(their own checks run again; pydantic is not imported).

What is written, and when:

- only what reads back as the very settings the loader made (compared field by field and
  type by type); top-level fields left to their defaults are not written, so what depends
  on the process (``node_name``: host and process id) or the folders is made afresh on a
  hit (the tables' defaults depend on neither, and are written);
- never a failure: a bad file always goes through the loader, and its error is the
  loader's;
- never a secret: nothing is written when the settings or the inputs (but the ``.env``
  file, of which only a digest enters the key) hold the value of a ``SIAR_SECRET_*``
  variable or a URL with a password (``database_url`` with one is not cached);
- not when the loader would have said more than its result: a ``.env`` that python-dotenv
  warns about, or ``PYDANTIC_SETTINGS_DEBUG`` set.

Files are written whole (a temporary file renamed over the old one), mode 0600; a few are
kept (:data:`KEEP`). Anything unreadable, malformed or not matching its key is a miss.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from scheduler import envfile, settings_models
from scheduler.settings_models import Settings, cache_dir

#: bump when what a cache file holds changes meaning
FORMAT = 2
#: settings files kept in the cache folder (one per set of inputs seen last)
KEEP = 4
PREFIX = "settings-"
#: Siar's modules whose code decides what the settings are: an edit is a miss
_CODE = ("settings.py", "settings_models.py", "settings_loader.py", "settings_check.py",
         "settings_cache.py", "envfile.py", "timeparse.py", "factories.py",
         "../channels/registry.py")
#: the folders defaults and config candidates are found from
_FOLDERS = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
#: ``${NAME}`` in .env: python-dotenv's interpolation
_REFERENCE = re.compile(rb"\$\{([^}:]*)")
#: a URL with a password: ``scheme://user:password@host``
_URL_PASSWORD = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s"\\]*:[^/?#@\s"\\]*@')


def _is_secret_name(name: str) -> bool:
    return name.upper().startswith(envfile.SECRET_PREFIX)


@dataclass
class Inputs:
    """Everything the settings loader reads, for one call of ``load_settings``."""

    path: Path | None
    #: the TOML file's bytes, as the loader is to read them (``None``: no file)
    config_bytes: bytes | None
    overrides: dict[str, Any]
    env_file: Path
    env_bytes: bytes | None
    #: the key material: never written (only its digest is, as the file name)
    material: dict[str, Any]
    #: the texts of the key material that may not hold a secret (the .env is a digest)
    texts: list[str] = field(default_factory=list)

    @classmethod
    def gather(cls, path: Path | None, overrides: dict[str, Any]) -> Inputs | None:
        """The inputs of reading the settings now, or ``None`` when the cache is not to be
        used (the loader's debug log asked for, inputs that cannot be read or named)."""
        if os.environ.get("PYDANTIC_SETTINGS_DEBUG", "").strip():
            return None
        try:
            overrides_text = json.dumps(overrides, sort_keys=True, ensure_ascii=False)
            config_bytes = path.read_bytes() if path is not None else None
            env_file = envfile.env_file_path()
            env_bytes = _env_bytes(env_file)
            code, libraries = _code_digest(), _libraries()
        except (OSError, TypeError, ValueError, ImportError):
            return None  # the loader says what is wrong (or reads what is not a file)
        environ = [[k, v] for k, v in os.environ.items()
                   if (k[:5].lower() == "siar_" and not _is_secret_name(k))
                   or k.startswith("PYDANTIC_")]
        referenced = []
        for name in dict.fromkeys(_REFERENCE.findall(env_bytes or b"")):
            text = name.decode("utf-8", "surrogateescape")
            if _is_secret_name(text):
                return None  # a secret's value may become a setting
            referenced.append([text, os.environ.get(text)])
        material = {
            "format": FORMAT, "code": code, "python": sys.version,
            "libraries": libraries,
            "config": [str(path), os.path.abspath(path),
                       hashlib.sha256(config_bytes).hexdigest()]
            if path is not None and config_bytes is not None else None,
            "env_file": [str(env_file), os.path.abspath(env_file),
                         hashlib.sha256(env_bytes).hexdigest() if env_bytes is not None
                         else None, referenced],
            "environ": environ,  # in the environment's order: case decides among equals
            "folders": [os.environ.get(name) for name in _FOLDERS],
            "user": os.getuid() if hasattr(os, "getuid") else None,
            "overrides": overrides_text,
        }
        texts = [v for _k, v in environ] + [v for _k, v in referenced if v] + [
            overrides_text, str(path), str(env_file),
            (config_bytes or b"").decode("utf-8", "surrogateescape")]
        return cls(path, config_bytes, overrides, env_file, env_bytes, material, texts)

    @functools.cached_property
    def key(self) -> str:
        """The digest of every input."""
        text = json.dumps(self.material, sort_keys=True)  # ASCII: any string encodes
        return hashlib.sha256(text.encode()).hexdigest()

    def _file(self) -> Path:
        return cache_dir() / f"{PREFIX}{self.key[:40]}.json"

    def cached(self) -> Settings | None:
        """The settings these inputs gave last time, if the cache has them."""
        try:
            raw = self._file().read_bytes()
            head, newline, body = raw.partition(b"\n")
            if not newline or head != _head(self.key, body):
                return None
            return _build(Settings, json.loads(body))
        except Exception:  # whatever is wrong: a miss (or not cacheable)
            return None

    def store(self, loaded: Settings, given: set[str]) -> Settings:
        """Cache ``loaded`` (what the loader made of these inputs; ``given``: the fields a
        source set) when that is safe, and return the settings a hit would give (``loaded``
        itself when they could differ)."""
        try:
            body = _dump({name: getattr(loaded, name) for name in sorted(given - {"config_file"})})
            settings = _build(Settings, json.loads(body))
        except Exception:  # whatever is wrong: a miss (or not cacheable)
            return loaded
        if not _same(settings, loaded):
            return loaded
        with contextlib.suppress(Exception):  # a cache that cannot be written is no error
            if self._writable(settings):
                _write(self._file(), _head(self.key, body.encode()) + b"\n" + body.encode())
        return settings

    def _writable(self, settings: Settings) -> bool:
        """Whether ``settings`` may be cached under this key: no secret in them nor in the
        key material, a .env python-dotenv reads without a warning, inputs that did not
        change while the loader read them."""
        entries = _dotenv_entries(self.env_bytes)
        if entries is None:
            return False
        secrets = {v for k, v in os.environ.items() if _is_secret_name(k) and v}
        secrets |= {v for k, v in entries.items() if _is_secret_name(k) and v}
        texts = [*_strings(json.loads(_dump(dataclasses.asdict(settings)))), *self.texts]
        if any(_holds_secret(text, secrets) for text in texts):
            return False
        again = Inputs.gather(self.path, self.overrides)
        return again is not None and again.config_bytes == self.config_bytes \
            and again.key == self.key


def _head(key: str, body: bytes) -> bytes:
    """A cache file's first line: its key and its body's digest (a file renamed, copied or
    damaged is a miss)."""
    return f"{FORMAT} {key} {hashlib.sha256(body).hexdigest()}".encode()


def _env_bytes(path: Path) -> bytes | None:
    """The .env file's bytes (``None``: there is none); anything but a readable file of UTF-8
    text raises, and the loader reads it (a named pipe, say, is read once: by the loader)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(path)
    data = path.read_bytes()
    data.decode("utf-8")  # the loader would fail on it
    return data


def _dotenv_entries(data: bytes | None) -> dict[str, str | None] | None:
    """The .env file read as the loader reads it, or ``None`` if python-dotenv warns about
    a line of it (the loader's warning must not be skipped by a hit)."""
    if data is None:
        return {}
    from dotenv.parser import parse_stream

    entries: dict[str, str | None] = {}
    for binding in parse_stream(_text(data)):
        if binding.error:
            return None
        if binding.key is not None:
            entries[binding.key] = binding.value
    return entries


def _text(data: bytes) -> io.TextIOWrapper:
    # as open(path, encoding="utf-8") reads it: universal newlines
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def _holds_secret(text: str, secrets: set[str]) -> bool:
    return bool(_URL_PASSWORD.search(text)) or any(secret in text for secret in secrets)


def _strings(value: Any) -> list[str]:
    """Every string in ``value`` (JSON data), keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


#: the dataclasses a cache file's tables become, by the name their fields' annotations use
_TABLES: dict[str, Any] = {name: getattr(settings_models, name) for name in (
    "AccountSettings", "DaemonSettings", "MediaSettings", "NotifySettings")}


def _dump(values: dict[str, Any]) -> str:
    """``values`` (settings' fields) as JSON: dataclasses as objects, paths as strings;
    anything else JSON has no type for raises (not cacheable)."""
    def other(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {item.name: getattr(value, item.name) for item in dataclasses.fields(value)}
        if isinstance(value, PurePath):
            return str(value)
        raise TypeError(type(value).__name__)

    # in the order read: the order of ``mentions``, ``options`` … is kept
    return json.dumps(values, default=other, ensure_ascii=False, allow_nan=False)


def _build(cls: Any, data: dict[str, Any]) -> Any:
    """The dataclass ``cls`` from a cache file's JSON: its tables (and lists of them) and
    paths made from the names in its fields' annotations (the only such types Siar's
    settings have); ``__post_init__`` checks what it gets, an unknown key raises."""
    kinds = {item.name: str(item.type).removesuffix(" | None") for item in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        kind = kinds[name]
        if value is not None and kind in _TABLES:
            value = _build(_TABLES[kind], value)
        elif kind.startswith("list[") and kind[5:-1] in _TABLES:
            value = [_build(_TABLES[kind[5:-1]], entry) for entry in value]
        elif value is not None and kind == "Path":
            value = Path(value)
        values[name] = value
    return cls(**values)


def _shape(value: Any) -> Any:
    """``value`` with the type of each part, to compare two settings type by type."""
    if dataclasses.is_dataclass(value):
        return (type(value).__name__, getattr(value, "_media_store", None),
                [(item.name, _shape(getattr(value, item.name)))
                 for item in dataclasses.fields(value)])
    if isinstance(value, dict):
        return ("dict", [(_shape(k), _shape(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_shape(v) for v in value])
    return (type(value).__name__, value)


def _same(cached: Settings, loaded: Settings) -> bool:
    """Whether ``cached`` is ``loaded`` in every field and type (and ``[media] store`` as
    each account was told it)."""
    return cached == loaded and _shape(cached) == _shape(loaded)


def _code_digest() -> str:
    digest = hashlib.sha256()
    folder = Path(__file__).parent
    for name in _CODE:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


#: the loader's libraries: import name, distribution name
_LIBRARIES = (("pydantic", "pydantic"), ("pydantic_core", "pydantic_core"),
              ("pydantic_settings", "pydantic_settings"), ("dotenv", "python_dotenv"))


def _libraries() -> list[Any]:
    """The versions of what reads and validates the settings, without importing them
    (~200 ms): each one's file identity (an upgrade rewrites it) and the name of its
    ``.dist-info`` folder (which holds the version)."""
    import importlib.util

    found: list[Any] = []
    listed: dict[str, list[str]] = {}
    for name, distribution in _LIBRARIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if not origin:
            found.append(None)
            continue
        info = os.stat(origin)
        folder = os.path.dirname(os.path.dirname(origin))  # site-packages
        if folder not in listed:
            listed[folder] = os.listdir(folder)
        versions = sorted(entry for entry in listed[folder]
                          if entry.startswith(f"{distribution}-")
                          and entry.endswith(".dist-info"))
        found.append([origin, info.st_mtime_ns, info.st_size, versions])
    return found


def _write(target: Path, data: bytes) -> None:
    """``data`` to ``target`` whole or not at all (mode 0600), then the oldest files beyond
    :data:`KEEP` removed; a cache that cannot be written is no error."""
    import tempfile

    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{PREFIX}", suffix=".tmp",
                                             dir=target.parent)  # mkstemp: mode 0600
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return
    _prune(target.parent)


def _prune(folder: Path) -> None:
    entries = []
    for path in folder.glob(f"{PREFIX}*.json"):
        try:
            entries.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _mtime, path in sorted(entries, reverse=True)[KEEP:]:
        path.unlink(missing_ok=True)
