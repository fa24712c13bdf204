"""A release's front matter: YAML, read the way a release needs it.

Times stay text (YAML 1.1 would make ``10:00`` the number 600 and ``2026-12-10`` a date
without a time); the usual mistake (a colon inside an unquoted headline) gets the concrete
edit as its hint. Front matter of plain ``key: value`` lines, ``[a, b]`` lists and block
lists of them (a release's ``images:``) — what nearly every release has — is read without
the YAML parser, to the same values.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from scheduler.errors import ReleaseError
from scheduler.i18n import _

_INT, _FLOAT, _TIMESTAMP = (f"tag:yaml.org,2002:{t}" for t in ("int", "float", "timestamp"))
# YAML 1.1's int and float without their base-60 forms
_INT_PATTERN = (r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
                r"|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT_PATTERN = (r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
                  r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                  r"|\.(?:nan|NaN|NAN))$")


@cache
def _loader() -> Any:
    """The YAML loader of releases, made when a front matter first needs the parser (PyYAML
    is about 20 ms of start-up that plain ``key: value`` lines do not need).

    YAML 1.1 reads ``at: 10:00`` as the number 600 (base 60) and ``at: 2026-12-10`` as a
    date without a time: times in a release stay text, for the time grammar to read or
    refuse. Base-60 numbers go too; nothing in a release is one."""
    import yaml

    # libyaml's loader parses the same YAML ~10x faster than the pure-Python one (a content
    # calendar of 10,000 releases spent a third of `siar add` in the parser); PyYAML builds
    # without libyaml fall back to the pure-Python loader.
    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader: Any = type("_ReleaseLoader", (base,), {})
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT, _TIMESTAMP)]
        for first, resolvers in base.yaml_implicit_resolvers.items()}
    loader.add_implicit_resolver(_INT, re.compile(_INT_PATTERN), list("-+0123456789"))
    loader.add_implicit_resolver(_FLOAT, re.compile(_FLOAT_PATTERN), list("-+0123456789."))
    return loader


def read_front_matter(raw: str, source: str) -> dict[str, Any]:
    """The front matter's keys and values, as the YAML loader reads them; a
    :class:`ReleaseError` naming the line and the fix when it is not valid YAML."""
    if (simple := _simple(raw)) is not None:
        return simple
    import yaml

    try:
        data = yaml.load(raw, Loader=_loader())  # safe: no arbitrary Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = (_("line {number}").format(number=mark.line + 2) if mark
                 else _("front matter"))
        problem = getattr(exc, "problem", None) or str(exc)
        raise ReleaseError(source, _("front matter ({where})").format(where=where),
                           _("invalid YAML: {problem}").format(
                               problem=problem),
                           hint=_quote_hint(raw, mark.line if mark else None)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReleaseError(source, _("front matter"), _("must be a mapping of keys to values"),
                           hint=_("write 'key: value' lines, e.g. 'title: ...'"))
    return data


_KEY_VALUE = re.compile(r"^(\s*[A-Za-z_]+):\s+(.*\S)\s*$")


def _quote_hint(raw: str, line: int | None) -> str:
    """The concrete edit for the usual mistake: a colon inside an unquoted value (a headline
    such as "Kalapas: Kami Siap")."""
    lines = raw.splitlines()
    for index in (line, (line or 0) - 1):  # the parser may point at the next line
        if index is None or not 0 <= index < len(lines):
            continue
        match = _KEY_VALUE.match(lines[index])
        if match and ": " in match.group(2) and match.group(2)[0] not in "\"'[{":
            value = match.group(2).replace("\\", "\\\\").replace('"', '\\"')
            return _('write the value in double quotes: {line}').format(
                line=f'{match.group(1)}: "{value}"')
    return _("check indentation, colons and quotes")


# --- plain `key: value` lines, `[a, b]` and block lists, read without the parser ----------
# Only what YAML reads without any doubt is taken here; anything else (quotes, comments,
# blank lines, other indentation or nesting, a value the loader would make a number, a boolean
# or null, a colon-space or '#' inside, characters YAML treats as breaks) goes to the
# parser, which gives the same values or the error. tests/core/test_release_files.py
# compares both on generated front matter.
# the value ends at its last character but a space (greedy: a lazy ``.*?`` tried the
# trailing spaces after every character)
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): +((?:.*[^ ])?) *")
# the first character of a plain scalar may not be an indicator or white space
_START = r"[^-?:,\[\]{}#&*!|>'\"%@`\s]"
# YAML's printable characters, without '#' and its line breaks (NEL, LS, PS)
_CHARACTER = r"[^#\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
_SCALAR = re.compile(rf"{_START}(?:{_CHARACTER}*[^\s:#])?")
_OPENER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):")  # a key over a block list
_ENTRY = re.compile(r"( *)- (.*)")
_ITEM = re.compile(rf"{_START}(?:[^:,\[\]{{}}]*[^\s:,\[\]{{}}])?")  # in a [...] list


def _simple(raw: str) -> dict[str, Any] | None:
    """The mapping of ``raw`` if it is only plain ``key: value`` and ``key: [a, b]``
    lines, and ``key:`` lines over a block list of such values or of one-level mappings
    of them (``images:`` then ``  - path: foto.jpg`` / ``    alt: …``), whose every value
    YAML reads as text; None for anything else."""
    data: dict[str, Any] = {}
    lines = raw.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        # a key over a block list ends its line with the colon (most lines do not)
        if line[-1:] == ":" and (opener := _OPENER.fullmatch(line)) is not None:
            key, index = opener.group(1), index + 1
            entries, index = _block_list(lines, index)
            if entries is None or _typed_key(key):
                return None
            data[key] = entries
            continue
        if (match := _KEY.fullmatch(line)) is None or _typed_key(match.group(1)):
            return None
        value = _value(match.group(2))
        if value is None:
            return None
        data[match.group(1)] = value
        index += 1
    return data


def _value(value: str) -> str | list[str] | None:
    """A plain scalar or one-line flow list as YAML reads it; None for anything else."""
    if value.startswith("["):
        items = _items(value)
        return list(items) if items is not None else None
    if _SCALAR.fullmatch(value) and ": " not in value and not _typed(value):
        return value
    return None


def _block_list(lines: list[str], index: int) -> tuple[list[Any] | None, int]:
    """The entries of the block list starting at ``lines[index]`` (``- value`` or
    ``- key: value`` with more ``key: value`` lines two columns in, every dash in the
    same column), and the index after it; None for an empty list or any other shape."""
    entries: list[Any] = []
    indent: str | None = None
    while index < len(lines) and (entry := _ENTRY.fullmatch(lines[index])) is not None \
            and indent in (None, entry.group(1)):
        indent, rest = entry.group(1), entry.group(2)
        index += 1
        if (match := _KEY.fullmatch(rest)) is None:
            value = _value(rest)
            if value is None:
                return None, index
            entries.append(value)
            continue
        mapping: dict[str, Any] = {}
        inner = indent + "  "
        while True:
            key, text = match.groups()
            value = _value(text)
            if value is None or _typed_key(key):
                return None, index
            mapping[key] = value
            if index >= len(lines) or not lines[index].startswith(inner) \
                    or (match := _KEY.fullmatch(lines[index][len(inner):])) is None:
                break
            index += 1
        entries.append(mapping)
    # whatever follows must start a key of its own, in the first column
    if not entries or (index < len(lines) and lines[index][:1] in (" ", "-")):
        return None, index
    return entries, index


@lru_cache(maxsize=1024)
def _items(value: str) -> tuple[str, ...] | None:
    """The texts of a one-line flow list ``[a, b]`` of plain items; None for other lists.
    Remembered: a calendar's files name the same few accounts (``channels: [x]``)."""
    if not value.endswith("]"):
        return None
    inner = value[1:-1].strip(" ")
    if not inner:
        return ()
    items = tuple(item.strip(" ") for item in inner.split(","))
    if not all(_ITEM.fullmatch(item) and _CHARACTERS.fullmatch(item) and not _typed(item)
               for item in items):
        return None
    return items


_CHARACTERS = re.compile(rf"{_CHARACTER}*")


@lru_cache(maxsize=256)
def _typed_key(key: str) -> bool:
    """:func:`_typed` for a key: the same few keys come in every release."""
    return _typed(key)


def _typed(scalar: str) -> bool:
    """Whether the loader would read ``scalar`` as something other than text (a number, a
    boolean, null, a merge key …): it asks the loader's implicit resolvers (:data:`_TYPED`)."""
    # most values start with a letter no resolver looks at: no generator made for them
    patterns = _TYPED.get(scalar[:1])
    return patterns is not None and any(pattern.match(scalar) for pattern in patterns)


def _resolvers(*table: tuple[str, str, int]) -> dict[str, tuple[re.Pattern[str], ...]]:
    by_first: dict[str, list[re.Pattern[str]]] = {}
    for firsts, pattern, flags in table:
        for first in firsts.split(" "):
            by_first.setdefault(first, []).append(re.compile(pattern, flags))
    return {first: tuple(patterns) for first, patterns in by_first.items()}


#: first character → the patterns of a value the loader reads as other than text: its
#: implicit resolvers (PyYAML's, as :func:`_loader` changes them), written out so that
#: plain lines need no PyYAML; tests/core/test_front_matter.py compares the two tables
_TYPED = _resolvers(
    ("y Y n N t T f F o O", r"""^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$""", re.X),
    ("~ n N ", r"""^(?: ~
                    |null|Null|NULL
                    | )$""", re.X),
    ("<", r"^(?:<<)$", 0),
    ("=", r"^(?:=)$", 0),
    ("! & *", r"^(?:!|&|\*)$", 0),
    ("- + 0 1 2 3 4 5 6 7 8 9", _INT_PATTERN, 0),
    ("- + 0 1 2 3 4 5 6 7 8 9 .", _FLOAT_PATTERN, 0),
)
