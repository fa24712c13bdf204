"""Siar uses only the public API of http.client, requests and urllib3.

Their private names (``_read_headers``, ``Response._content``, ``CaseInsensitiveDict._store``
...) change without notice between releases: a CPython or urllib3 upgrade would then
break every post at once. The code under ``channels/`` and ``scheduler/`` is read for
them here: names imported with a leading underscore, private attributes reached through
a name imported from those libraries, and any private attribute those libraries define
reached on anything but ``self``/``cls``.
"""

from __future__ import annotations

import ast
import http.client
import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import requests
import urllib3

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("http.client", "http", "requests", "urllib3")
#: named tuples' documented API (urllib3's Url is one), underscored to avoid field names
NAMEDTUPLE_API = frozenset({"_make", "_asdict", "_replace", "_fields", "_field_defaults"})


def _is_library(module: str | None) -> bool:
    return module is not None and any(module == lib or module.startswith(f"{lib}.")
                                      for lib in LIBRARIES)


@cache
def library_private_names() -> frozenset[str]:
    """Private attribute names the libraries define on their classes or assign to ``self``."""
    names: set[str] = set()
    modules: list[ModuleType] = [http.client]
    for package in (requests, urllib3):
        modules += [m for name, m in list(__import__("sys").modules.items())
                    if name == package.__name__ or name.startswith(f"{package.__name__}.")]
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            names.update(n for n in vars(cls) if n.startswith("_") and not n.startswith("__"))
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            continue
        names.update(re.findall(r"self\.(_[a-z]\w*)\s*[:=]", source))
    return frozenset(names - NAMEDTUPLE_API)


def violations(source: str, filename: str = "<code>") -> Iterator[str]:
    tree = ast.parse(source, filename)
    imported: set[str] = set()  # names bound to those libraries or their members
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_library(node.module) and node.level == 0:
            for alias in node.names:
                if alias.name.startswith("_"):
                    yield f"{filename}:{node.lineno}: from {node.module} import {alias.name}"
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_library(alias.name):
                    if any(part.startswith("_") for part in alias.name.split(".")):
                        yield f"{filename}:{node.lineno}: import {alias.name}"
                    imported.add(alias.asname or alias.name.split(".")[0])
    private = library_private_names()
    for cls in ast.walk(tree):  # a subclass of theirs reaching their internals on self
        if isinstance(cls, ast.ClassDef) and any(
                ast.unparse(base).split(".")[0] in imported for base in cls.bases):
            for node in ast.walk(cls):
                if (isinstance(node, ast.Attribute) and node.attr in private
                        and isinstance(node.value, ast.Name) and node.value.id == "self"):
                    yield f"{filename}:{node.lineno}: {ast.unparse(node)} (in {cls.name})"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") and node.attr.endswith("__"):
            continue
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        root_name = root.id if isinstance(root, ast.Name) else None
        if root_name in imported:
            yield f"{filename}:{node.lineno}: {ast.unparse(node)}"
        elif node.attr in private and root_name not in ("self", "cls") and not (
                isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "super"):
            yield f"{filename}:{node.lineno}: {ast.unparse(node)} (private in those libraries)"


@pytest.mark.parametrize("snippet", [
    "import http.client\nhttp.client._read_headers(fp)",
    "from requests.auth import _basic_auth_str",
    "from urllib3.response import _get_decoder",
    "from requests.models import PreparedRequest\nPreparedRequest._encode_params(data)",
    "def f(response):\n    response._content = b''",
    "def f(headers):\n    return headers._store",
    "def f(conn):\n    conn._buffer.append(b'')",
    "def f(raw):\n    return raw._original_response.msg",
    "import http.client\nclass R(http.client.HTTPResponse):\n"
    "    def begin(self):\n        self._read_status()",
])
def test_the_check_finds_private_use(snippet: str) -> None:
    assert list(violations(snippet))


def test_no_private_api_of_http_client_requests_or_urllib3_is_used() -> None:
    found = [v for folder in ("channels", "scheduler")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for v in violations(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []
