"""The secrets Siar knows, the ``.env`` file they may live in, and writing a secret there.

One place knows every secret value: ``SIAR_SECRET_*`` variables of the environment and of
``.env`` (``$SIAR_ENV_FILE``; else ``./.env``; else the ``.env`` beside the config file, so
that a service started from another folder finds the secrets kept with its ``siar.toml``).
Settings read secrets through it; logs, CLI error messages and alerts redact what
:func:`secret_values` returns, so a token that exists only in ``.env`` is redacted like one
in the environment.

``.env`` is read by python-dotenv (``dotenv_values``, as pydantic-settings reads it too):
values in single quotes decode only ``\\\\`` and ``\\'``, but ``${NAME}`` is expanded even
there. :func:`write_secret` therefore checks that the file it is about to write reads back
exactly as intended before anything touches the disk.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from scheduler.errors import ConfigError, SiarError
from scheduler.i18n import _

if TYPE_CHECKING:
    from scheduler.settings import Settings

SECRET_PREFIX = "SIAR_SECRET_"
#: secrets shorter than this are not redacted: replacing "ab" everywhere would garble text
#: and hide nothing worth hiding
MIN_REDACTED = 4
#: long-lived OAuth tokens are a few hundred characters; far more is not a token
MAX_TOKEN = 4096


#: the folder of the config file in use, set by ``load_settings``
_config_folder: Path | None = None


def read_beside(config_file: Path | None) -> None:
    """Let the ``.env`` beside ``config_file`` be found when there is none in the working
    directory (``SIAR_ENV_FILE`` still names one explicitly)."""
    global _config_folder
    _config_folder = config_file.resolve().parent if config_file is not None else None


def env_file_path() -> Path:
    """The ``.env`` file secrets are read from: ``$SIAR_ENV_FILE``, else ``./.env``, else
    the one beside the config file (``./.env`` when neither exists: where one is written)."""
    if named := os.environ.get("SIAR_ENV_FILE"):
        return Path(named)
    here = Path(".env")
    if here.exists() or _config_folder is None:
        return here
    beside = _config_folder / ".env"
    return beside if beside.exists() else here


def dotenv() -> Mapping[str, str | None]:
    """The variables of the ``.env`` file (empty when there is none)."""
    path = env_file_path()
    try:
        info = path.stat()
    except OSError:
        return {}
    if not stat.S_ISREG(info.st_mode):
        return {}
    try:
        return _parsed(str(path), info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_("{path}: cannot read: {reason}").format(path=path, reason=exc),
                          hint=_("make it readable by this user (chmod 600 {path}) and UTF-8")
                          .format(path=path)) from exc


@functools.lru_cache(maxsize=4)
def _parsed(path: str, device: int, inode: int, mtime_ns: int,
            size: int) -> Mapping[str, str | None]:
    """A .env file parsed once per version of it (the file's identity, ``mtime_ns`` and
    ``size`` are the cache key: an edited or replaced file is read again). Parsing it per
    secret, with its variables expanded against the whole environment, cost a daemon with
    a hundred accounts about a second of start-up; logging looks secrets up per line."""
    from dotenv import dotenv_values  # here: a command whose settings are cached reads no .env
    from dotenv.parser import parse_stream

    # python-dotenv skips a line it cannot read with a logged warning; our log formatter
    # redacts secrets by reading this file again, which warned again, without end. A line
    # it cannot read may also be a secret cut in two: refuse the file and name the line.
    with open(path, encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error:
                raise ConfigError(
                    _("{path}, line {line}: cannot read this line").format(
                        path=path, line=binding.original.line),
                    hint=_("write each setting as NAME=value on a line of its own, values "
                           "with spaces in quotes (NAME=\"a b\"), comments after #"))
    return MappingProxyType(dict(dotenv_values(path, encoding="utf-8")))


def language() -> str | None:
    """``SIAR_LANG`` as the ``.env`` file in use writes it (``None``: it does not). A file
    that does not name it is not parsed: most commands read their settings from the cache."""
    path = env_file_path()
    try:
        if not stat.S_ISREG(path.stat().st_mode) or b"SIAR_LANG" not in path.read_bytes():
            return None
    except OSError:
        return None
    return dotenv().get("SIAR_LANG")


def secret_values() -> list[str]:
    """Every ``SIAR_SECRET_*`` value of the environment and of ``.env``, longest first (so
    that redacting a secret never leaves the tail of a longer one that contains it)."""
    # keys first: os.environ decodes each value it is asked for (items() all of them)
    values = {os.environ[k] for k in os.environ if k.startswith(SECRET_PREFIX)} - {""}
    with contextlib.suppress(ConfigError):  # an unreadable .env has no secret to leak
        values |= {v for k, v in dotenv().items() if k.startswith(SECRET_PREFIX) and v}
    return sorted((v for v in values if len(v) >= MIN_REDACTED), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every known secret value replaced by ``***``."""
    for secret in secret_values():
        text = text.replace(secret, "***")
    return text


# --- writing a secret ------------------------------------------------------------------------

def check_token(token: str, what: str) -> None:
    """Refuse a token that is not one: an OAuth token is printable ASCII without spaces
    (RFC 6749 VSCHAR). A line break in it would add a line of its own to .env (the issue's
    ``"NEWtok\\nSIAR_DATABASE_URL=sqlite:///evil.db"`` redirected the database)."""
    problem = None
    if not token:
        problem = _("it is empty")
    elif len(token) > MAX_TOKEN:
        problem = _("it is {length} characters long (a token has at most {most})").format(
                      length=len(token), most=MAX_TOKEN)
    else:
        for position, char in enumerate(token, 1):
            if not "!" <= char <= "~":
                kind = (_("a line break") if char in "\r\n\x85\u2028\u2029"
                        else _("a control character") if unicodedata.category(char)[0] == "C"
                        else _("a space") if char.isspace() else _("a non-ASCII character"))
                name = unicodedata.name(char, f"U+{ord(char):04X}")
                problem = _("it contains {kind} ({name}) at position {position}").format(
                              kind=kind, name=name, position=position)
                break
    if problem:
        raise SiarError(_("{what} is not a usable token: {problem}; nothing was written").format(
                            what=what, problem=problem),
                        hint=_("a token is printable ASCII without spaces: check that the "
                               "account's base_url points at the real network; if the account "
                               "stops working, log in again there and put a new token in .env"))


@dataclass(frozen=True)
class Written:
    """Where a secret was written and what was changed about the file on the way."""

    #: the file itself (the target when ``path`` was a symbolic link)
    target: Path
    via_link: bool
    #: the file's permissions before, when they let group or others read or write it
    tightened_from: int | None


def write_secret(path: Path, variable: str, value: str) -> Written:
    """Set ``variable=value`` in the .env file ``path``: other lines kept as they are, the
    value quoted so it reads back exactly, mode 0600, and atomically: a new file in the
    same directory replaces the old one, so a reader sees the old file or the new one,
    never half of it. A symbolic link is written through (its target is replaced, not the
    link: the real secrets file must not go stale)."""
    target = Path(os.path.realpath(path))
    try:
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        info = target.stat() if target.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiarError(_("{path}: cannot read: {reason}; nothing was written").format(
            path=path, reason=exc),
            hint=_("make {path} a UTF-8 file this user can read and write").format(
                path=target)) from exc
    new = _with_variable(old, variable, value)
    if _read_back(new) != {**_read_back(old), variable: value}:
        raise SiarError(_("{variable}: the value cannot be written to {path} so that it reads "
                          "back unchanged (it contains '${{…}}' or quotes .env would interpret); "
                          "nothing was written").format(variable=variable, path=path),
                        hint=_("check that the account's base_url points at the real network"))
    _replace(target, new, info)
    mode = stat.S_IMODE(info.st_mode) if info else None
    return Written(target, path.is_symlink(),
                   mode if mode is not None and mode & 0o077 else None)


def writable_dir(path: Path) -> str | None:
    """Why ``path`` cannot be written (checked before asking a network for a new token, so
    that a token is never issued that cannot be stored), or ``None``."""
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        return _("the folder {folder} does not exist").format(folder=target.parent)
    if not os.access(target.parent, os.W_OK | os.X_OK):
        return _("this user cannot create files in {folder}").format(folder=target.parent)
    return None


def _quoted(value: str) -> str:
    # single quotes: the parser decodes only \\ and \' in them (backslashes first)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _with_variable(text: str, variable: str, value: str) -> str:
    """``text`` with the first assignment of ``variable`` replaced (later ones dropped, as
    they would win), or the assignment appended."""
    from dotenv.parser import parse_stream  # the parser set_key edits with

    line = f"{variable}={_quoted(value)}\n"
    out: list[str] = []
    done = False
    for binding in parse_stream(io.StringIO(text)):
        if binding.key == variable:
            if not done:
                out.append(line)
                done = True
            continue
        out.append(binding.original.string)
    if not done:
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append(line)
    return "".join(out)


def _read_back(text: str) -> dict[str, str | None]:
    from dotenv import dotenv_values

    return dict(dotenv_values(stream=io.StringIO(text)))


def _replace(target: Path, text: str, old: os.stat_result | None) -> None:
    """Write ``text`` to a new 0600 file next to ``target`` and move it over ``target``."""
    import tempfile

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                             dir=target.parent)  # mkstemp: mode 0600
    except OSError as exc:
        raise SiarError(_("cannot write {path}: {reason}; nothing was written").format(
            path=target, reason=exc),
            hint=_("run as the user who owns {folder}").format(folder=target.parent)) from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if old is not None and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            # keep the file's owner (root running it for a service user, say)
            with contextlib.suppress(OSError):
                os.chown(temporary, old.st_uid, old.st_gid)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise SiarError(_("cannot write {path}: {reason}; nothing was written").format(
            path=target, reason=exc)) from exc
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


# --- files others can read -------------------------------------------------------------------

def exposure_warnings(settings: Settings) -> list[str]:
    """A line per file holding secrets that group or others may read or write: ``.env``
    (that of ``$SIAR_ENV_FILE`` and ``./.env``) and the config file when it holds a secret
    (a password in ``database_url``, or a secret value pasted into it)."""
    warnings = []
    for path in dict.fromkeys((env_file_path(), Path(".env"))):
        if _holds_anything(path) and (mode := _loose_mode(path)) is not None:
            warnings.append(_warning(path, mode))
    config = settings.config_file
    if config is not None and (mode := _loose_mode(config)) is not None \
            and _config_holds_secret(config):
        warnings.append(_warning(config, mode))
    return warnings


def _warning(path: Path, mode: int) -> str:
    who = _(" and ").join(w for w, bits in ((_("group"), 0o070), (_("others"), 0o007))
                          if mode & bits)
    return _("{path} holds secrets and can be read or changed by {who} (mode {mode}): run "
             "'chmod 600 {path}'").format(path=path, who=who, mode=f"{mode:04o}")


def _loose_mode(path: Path) -> int | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o066 else None


def _holds_anything(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _config_holds_secret(path: Path) -> bool:
    import tomllib
    from urllib.parse import urlsplit

    try:
        text = path.read_text(encoding="utf-8")
        url = tomllib.loads(text).get("database_url")
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if isinstance(url, str) and urlsplit(url).password:
        return True
    return any(secret in text for secret in secret_values())
