"""The ``requests.Response`` of an answer read through libcurl (:mod:`channels.curl`),
built as requests' adapter builds one, with less work where nobody looks.

A published post's answer is read for its body alone: the head is scanned once for what
the body needs (its ``Content-Type``) and whether it sets cookies; the headers become
requests' ``CaseInsensitiveDict`` only when something first looks at them
(:class:`AnswerHeaders`). Several fields of one name read as one, comma-joined, as urllib3
reads them; an obsolete folded line is joined to the value before it.
"""

from __future__ import annotations

import email.message
import io
from typing import Any

import requests
from requests.cookies import MockRequest, MockResponse
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

__all__ = ["AnswerHeaders", "build_response"]

#: the encoding requests reads from each Content-Type seen (a bound, not a cache)
_ENCODINGS: dict[str, str | None] = {}


def build_response(prepared: requests.PreparedRequest, head: list[bytes], body: bytes,
                   adapter: Any) -> requests.Response:
    """requests' ``Response`` for an answer: ``head`` its lines as libcurl gave them (the
    status line first), ``body`` all of it, decoded; the body is read into it now.
    An answer that sets cookies has them parsed at once, into ``response.cookies``."""
    status, *lines = head
    status_line = status.decode("latin-1").rstrip("\r\n").split(" ", 2)
    response = requests.Response()
    response.status_code = int(status_line[1])
    response.reason = status_line[2] if len(status_line) > 2 else ""
    kind, cookies = _scan(lines)
    response.headers = headers = AnswerHeaders(lines)
    if kind is False:  # folded or repeated: as parsed (comma-joined, unfolded)
        kind = headers.get("content-type")
    response.encoding = _encoding(kind)  # type: ignore[arg-type]
    response.raw = io.BytesIO(body)
    response.url = prepared.url or ""
    response.request = prepared
    response.connection = adapter
    if cookies:
        message = email.message.Message()
        for name, values in _fields(lines):
            if name.lower() in ("set-cookie", "set-cookie2"):
                for value in values:
                    message[name] = value
        response.cookies.extract_cookies(MockResponse(message), MockRequest(prepared))
    response.content  # noqa: B018 - read now: the whole answer is in memory already
    return response


def _scan(lines: list[bytes]) -> tuple[str | bool | None, bool]:
    """The answer's ``Content-Type`` (``None``: none; ``False``: folded or repeated, to be
    read from the parsed headers) and whether it sets cookies, from the raw lines."""
    kind: str | bool | None = None
    cookies = False
    for raw in lines:
        if raw[:1] in (b" ", b"\t"):  # an obsolete folded line: read the parsed headers
            kind = False
        name, _, value = raw.partition(b":")
        name = name.strip().lower()
        if name == b"content-type":
            kind = value.decode("latin-1").strip() if kind is None else False
        elif name in (b"set-cookie", b"set-cookie2"):
            cookies = True
    return kind, cookies


def _fields(lines: list[bytes]) -> list[tuple[str, list[str]]]:
    """The head's fields: each name (as first given) with its values in order; an
    obsolete folded line is joined to the value before it."""
    fields: dict[str, tuple[str, list[str]]] = {}  # by lower-case name
    last: list[str] | None = None
    for raw in lines:
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line:
            continue
        if line[0] in " \t" and last is not None:
            last[-1] = f"{last[-1]} {line.strip()}"
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        field = fields.get(name.lower())
        if field is None:
            field = fields[name.lower()] = (name, [])
        last = field[1]
        last.append(value)
    return list(fields.values())


class AnswerHeaders(CaseInsensitiveDict):  # type: ignore[type-arg]
    """``Response.headers`` of an answer read through libcurl: requests' own
    ``CaseInsensitiveDict``, filled from the answer's head lines the first time anything
    of it is used (several of one name read as one, comma-joined, as urllib3 does).

    It keeps no state of requests' own: until first used, the mapping's storage is not
    there, and the lookup of it (any method of the mapping) fills it."""

    def __init__(self, lines: list[bytes]) -> None:  # the mapping itself: on first use
        self._pending = lines

    def __getattr__(self, name: str) -> Any:
        lines = self.__dict__.pop("_pending", None)
        if lines is None:
            raise AttributeError(name)
        super().__init__((field, ", ".join(values)) for field, values in _fields(lines))
        return getattr(self, name)


def _encoding(kind: str | None) -> str | None:
    """requests' ``get_encoding_from_headers`` for a ``Content-Type``, once per value: an
    account's answers name the same one or two again and again."""
    if not kind:
        return None
    known = _ENCODINGS.get(kind, False)
    if known is False:
        known = get_encoding_from_headers(CaseInsensitiveDict({"content-type": kind}))
        if len(_ENCODINGS) >= 256:
            _ENCODINGS.clear()
        _ENCODINGS[kind] = known
    return known
