"""The ``requests.Response`` of an answer read through libcurl (:mod:`channels.answers`):
its headers are requests' case-insensitive mapping, filled when first used, and read the
same whichever way they are first reached."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
import requests

from channels.answers import build_response

HEAD = [b"HTTP/1.1 201 Created\r\n", b"Content-Type: application/json; charset=utf-8\r\n",
        b"Vary: Accept\r\n", b"X-Note: one\r\n", b"  and more\r\n", b"vary: Origin\r\n",
        b"Content-Length: 2\r\n", b"\r\n"]
EXPECTED = {"content-type": "application/json; charset=utf-8", "vary": "Accept, Origin",
            "x-note": "one and more", "content-length": "2"}


def _answer(head: list[bytes] = HEAD, body: bytes = b"{}") -> requests.Response:
    prepared = requests.Request("POST", "http://127.0.0.1:1/x", json={}).prepare()
    return build_response(prepared, head, body, None)


FIRST_USES: dict[str, Callable[[Any], Any]] = {
    "get": lambda headers: headers.get("VARY"), "len": len, "iter": list,
    "contains": lambda headers: "x-note" in headers, "eq": lambda headers: headers == {},
    "copy": lambda headers: headers.copy(), "repr": repr, "items": lambda h: list(h.items()),
    "set": lambda headers: headers.__setitem__("Vary", "Accept, Origin"),
    "copy module": copy.copy, "deepcopy": copy.deepcopy,
    "pickle": lambda headers: pickle.loads(pickle.dumps(headers))}


@pytest.mark.parametrize("first", FIRST_USES.values(), ids=FIRST_USES.keys())
def test_the_headers_read_alike_whatever_reaches_them_first(first: Callable[[Any], Any],
                                                             ) -> None:
    """Repeated names are joined with a comma under the name first given, a folded line
    is joined to the value before it; a copy made before the headers were read reads the
    same."""
    headers = _answer().headers
    made = first(headers)
    for found in (headers, made):
        if isinstance(found, requests.structures.CaseInsensitiveDict):
            assert dict(found.lower_items()) == EXPECTED
            assert list(found) == ["Content-Type", "Vary", "X-Note", "Content-Length"]


def test_an_answer_reads_its_encoding_status_and_body() -> None:
    answer = _answer()
    assert (answer.status_code, answer.reason, answer.encoding) == (201, "Created", "utf-8")
    assert answer.json() == {}
    assert answer.headers["content-length"] == "2"


@pytest.mark.parametrize("kinds", [
    [b"Content-Type: text/plain\r\n", b"Content-Type: text/html; charset=latin-2\r\n"],
    [b"Content-Type: text/plain;\r\n", b"\tcharset=latin-2\r\n"]], ids=["repeated", "folded"])
def test_a_content_type_given_twice_or_folded_is_read_as_parsed(kinds: list[bytes]) -> None:
    """As requests reads the joined value: the charset named last wins."""
    answer = _answer([b"HTTP/1.1 200 OK\r\n", *kinds, b"\r\n"], b"x")
    assert answer.encoding == "latin-2"


def test_cookies_an_answer_sets_are_in_its_jar() -> None:
    answer = _answer([b"HTTP/1.1 200 OK\r\n", b"Set-Cookie: a=1; Path=/\r\n",
                      b"set-cookie: b=2\r\n", b"\r\n"], b"")
    assert answer.cookies.get_dict() == {"a": "1", "b": "2"}
    assert answer.headers["Set-Cookie"] == "a=1; Path=/, b=2"


@pytest.mark.parametrize(("lines", "encoding"), [
    ([b"Content-Type: text/plain; charset=latin-2\r\n"], "latin-2"),
    ([b"X-Content-Type-Options: nosniff\r\n", b"content-TYPE:text/html\n"], "ISO-8859-1"),
    ([b"Content-Type : text/html; charset=utf-8\r\n"], "utf-8"),
    ([b"Content-Type: text/plain; charset=utf-8\r\n", b"X-Name: caf\xe9\r\n"], "utf-8"),
    ([b"X-Note: a\x1fb\r\n", b"Content-Type: application/json\r\n"], "utf-8"),
    ([b"X-Content-Type: text/html\r\n"], None)],
    ids=["plain", "near names", "space before colon", "latin-1", "control", "none"])
def test_the_encoding_is_read_from_the_content_type_as_requests_reads_it(
        lines: list[bytes], encoding: str | None) -> None:
    answer = _answer([b"HTTP/1.1 200 OK\r\n", *lines, b"\r\n"], b"{}")
    assert answer.encoding == encoding
    kind = answer.headers.get("content-type")
    assert (kind is None) == (encoding is None)
