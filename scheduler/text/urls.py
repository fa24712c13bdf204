"""Finding URLs the way twitter-text does (X counts each as 23; Mastodon, with a scheme, too).

The rules are twitter-text's ``extractUrlsWithIndices``: a URL is an optional ``http(s)://``,
a domain ending in a known top-level domain (``data/tlds.txt``), an optional port, path and
query, and it must not follow a letter, digit, ``@``, ``$`` or ``#``. Without a scheme the
domain must be ASCII and must not follow ``- _ . /``. A domain whose IDNA (punycode) form is
invalid, e.g. a label over 63 characters, is no URL. The conformance cases and a property
test against PyPI ``twitter-text-parser`` keep this in step; see docs/composer.md for why
this is not simply that package.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

_LATIN_ACCENTS = ("\\xC0-\\xD6\\xD8-\\xF6\\xF8-\\xFF\\u0100-\\u024F\\u0253\\u0254\\u0256\\u0257"
                  "\\u0259\\u025B\\u0263\\u0268\\u026F\\u0272\\u0289\\u028B\\u02BB\\u0300-\\u036F"
                  "\\u1E00-\\u1EFF")
_CYRILLIC = "\\u0400-\\u04FF"
_PUNCTUATION = "\\!'#%&'\\(\\)*\\+,\\\\\\-\\.\\/:;<=>\\?@\\[\\]\\^_{|}~\\$/"
_SPACES = ("\\x09-\\x0D\\x20\\x85\\xA0\\u1680\\u180E\\u2000-\\u200A\\u2028\\u2029\\u202F"
           "\\u205F\\u3000")
_INVALID = "\\uFFFE\\uFEFF\\uFFFF"
_DIRECTIONAL = "\\u202A-\\u202E\\u061C\\u200E\\u200F\\u2066\\u2067\\u2068\\u2069"

_PRECEDING = f"(?:[^A-Za-z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
_DOMAIN_CHAR = f"[^{_PUNCTUATION}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_SUBDOMAIN = f"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_PUNYCODE = "(?:xn--[\\-0-9a-z]+)"
_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!\\*';:=\\+,\\.\\$\\/%#\\[\\]\\-\\u2013_~@\\|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = (f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)")
_PATH_END_CHAR = f"[\\+\\-a-z{_CYRILLIC}0-9=_#\\/{_LATIN_ACCENTS}]"
# twitter-text splices its "ending characters or balanced parens" pattern into the path
# pattern without a group around it, so the alternation splits the whole path piece: a piece
# is path characters ending in an ending character, OR balanced parens alone, OR @user/.
# Hence "example.com/w.(x)" ends before the dot. The reference implementations (JS and
# Python) behave so; we match them, not the pattern's apparent intent.
_PATH = (f"(?:(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END_CHAR})"
         f"|(?:{_BALANCED_PARENS})|(?:@{_PATH_CHAR}+/))")
_QUERY = "[a-z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
_QUERY_END = "[a-z0-9\\-_&=#/]"
_NO_SCHEME_PRECEDING = re.compile(r"[-_./]$")
_TCO = re.compile(f"^https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY}*{_QUERY_END})?", re.IGNORECASE)
MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG = 40


@cache
def _tld_lists() -> tuple[list[str], list[str]]:
    generic: list[str] = []
    country: list[str] = []
    target = generic
    for line in (Path(__file__).parent / "data" / "tlds.txt").read_text("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            target = generic if line == "[generic]" else country
            continue
        target.append(line)
    return generic, country


@cache
def _ascii_labels() -> re.Pattern[str]:
    """Compiled on first use: only a URL without a scheme needs it."""
    return re.compile(f"(?:[\\-a-z0-9{_LATIN_ACCENTS}]+\\.)+[\\-a-z0-9{_LATIN_ACCENTS}]+",
                      re.IGNORECASE)


#: :func:`_ascii_labels` for a domain that :meth:`str.isascii`, without its cost
_ASCII_ONLY_LABELS = re.compile("(?:[\\-a-zA-Z0-9]+\\.)+[\\-a-zA-Z0-9]+")


@cache
def _tld() -> str:
    generic, country = _tld_lists()
    return (f"(?:(?:{'|'.join(generic)}){_TLD_END}|(?:{'|'.join(country)}){_TLD_END}"
            f"|{_PUNYCODE})")


_TLD_END = "(?=[^0-9a-zA-Z@+-]|$)"
_URL_AFTER_DOMAIN = f"(?::([0-9]+))?(/{_PATH}*)?(\\?{_QUERY}*{_QUERY_END})?)"
_ALL_ASCII = re.compile("[a-z0-9]+")


@cache
def _url_pattern() -> re.Pattern[str]:
    """twitter-text's pattern, every top-level domain spelled out: about 25 ms to compile
    (1,500 of them), so only a run :func:`_quick_url_pattern` cannot decide needs it."""
    domain = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}{_tld()})"
    return re.compile(f"({_PRECEDING})((https?://)?({domain}){_URL_AFTER_DOMAIN}",
                      re.IGNORECASE)


@cache
def _ascii_tlds() -> frozenset[str]:
    generic, country = _tld_lists()
    return frozenset(tld for tld in generic + country if _ALL_ASCII.fullmatch(tld))


@cache
def _quick_url_pattern() -> re.Pattern[str]:
    """:func:`_url_pattern` with the 1,400 ASCII top-level domains replaced by any run of
    ASCII letters and digits (group 5), looked up in :func:`_ascii_tlds` afterwards.

    It gives the very same matches whenever that run is a known domain: an ASCII TLD must
    end where the run ends (the boundary after it excludes letters and digits), so at most
    one of them fits at a place; the other alternatives (the non-ASCII domains, in their
    order, and punycode) keep their order, and where one of them could match at the same
    place as a run ("vermögensberatung" after "verm"), that run is no known domain. Every
    step before the domain is the same, so both patterns try the same places in the same
    order and stop at the same first success. A run that is no known domain is left to
    the full pattern (tests/composer/test_url_pattern.py checks the assumption and
    compares both on generated text)."""
    generic, country = _tld_lists()
    others = [f"(?:{'|'.join(t for t in tlds if not _ALL_ASCII.fullmatch(t))}){_TLD_END}"
              for tlds in (generic, country)]
    tld = f"(?:([a-z0-9]+){_TLD_END}|{'|'.join(others)}|{_PUNYCODE})"
    domain = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}{tld})"
    return re.compile(f"({_PRECEDING})((https?://)?({domain}){_URL_AFTER_DOMAIN}",
                      re.IGNORECASE)


# The quick pattern for a text of ASCII characters only (most runs: Indonesian words, links),
# about a sixth of its compile time: each character class keeps its ASCII members (with
# both cases spelled out instead of IGNORECASE, whose case folding of the Cyrillic and Latin
# ranges was most of the cost), and the non-ASCII domains are left out. On ASCII text it
# matches exactly as the quick pattern: no character left out is, or folds to, an ASCII
# one (tests/composer/test_url_pattern.py checks each class on all 128 characters).
_ASCII_PRECEDING = "(?:[^A-Za-z0-9@$#]|^)"
_ASCII_DOMAIN_CHAR = f"[^{_PUNCTUATION}\\x09-\\x0D\\x20]"
_ASCII_PATH_CHAR = "[a-zA-Z0-9!\\*';:=\\+,\\.\\$\\/%#\\[\\]\\-_~@\\|&]"
_ASCII_PATH_END_CHAR = "[\\+\\-a-zA-Z0-9=_#\\/]"
_ASCII_QUERY = "[a-zA-Z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
_ASCII_QUERY_END = "[a-zA-Z0-9\\-_&=#/]"


@cache
def _ascii_url_pattern() -> re.Pattern[str]:
    """:func:`_quick_url_pattern` for text that :meth:`str.isascii` (same groups)."""
    char, path_char = _ASCII_DOMAIN_CHAR, _ASCII_PATH_CHAR
    subdomain = f"(?:(?:{char}(?:[_-]|{char})*)?{char}\\.)"
    domain_name = f"(?:(?:{char}(?:-|{char})*)?{char}\\.)"
    parens = f"\\((?:{path_char}+|(?:{path_char}*\\({path_char}+\\){path_char}*))\\)"
    path = (f"(?:(?:{path_char}*(?:{parens}{path_char}*)*{_ASCII_PATH_END_CHAR})"
            f"|(?:{parens})|(?:@{path_char}+/))")
    tld = f"(?:([a-zA-Z0-9]+){_TLD_END}|(?i:{_PUNYCODE}))"
    domain = f"(?:{subdomain}*{domain_name}{tld})"
    after = (f"(?::([0-9]+))?(/{path}*)?(\\?{_ASCII_QUERY}*{_ASCII_QUERY_END})?)")
    return re.compile(f"({_ASCII_PRECEDING})(((?i:https?://))?({domain}){after}")


def _matches(text: str) -> Iterator[tuple[str, str, str | None, str, str | None, int]]:
    """(preceding character, url, scheme, domain, path, end) of each URL match in ``text``."""
    quick = []
    known = _ascii_tlds()
    pattern = _ascii_url_pattern() if text.isascii() else _quick_url_pattern()
    for match in pattern.finditer(text):
        ascii_tld = match.group(5)
        if ascii_tld is not None and not (ascii_tld.isascii() and ascii_tld.lower() in known):
            break  # not a known domain here: the full pattern decides (it may look further)
        quick.append((match.group(1), match.group(2), match.group(3), match.group(4),
                      match.group(7), match.end()))
    else:
        yield from quick
        return
    for match in _url_pattern().finditer(text):
        yield (match.group(1), match.group(2), match.group(3), match.group(4), match.group(6),
               match.end())


@cache
def _ascii_domain() -> re.Pattern[str]:
    return re.compile(f"(?:(?:[\\-a-z0-9{_LATIN_ACCENTS}]+)\\.)+{_tld()}", re.IGNORECASE)


def _ascii_parts(domain: str) -> list[tuple[int, int]]:
    """The ASCII domains inside ``domain`` (a scheme-less URL must be ASCII)."""
    labels = _ASCII_ONLY_LABELS if domain.isascii() else _ascii_labels()
    if labels.fullmatch(domain):
        # the URL pattern already ended ``domain`` with a known TLD: it is one ASCII domain
        return [(0, len(domain))]
    return [(m.start(), m.end()) for m in _ascii_domain().finditer(domain)]


def _punycode_ok(domain: str) -> str | None:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


# A URL never contains whitespace: each run of non-whitespace characters that may hold one
# is searched on its own (and remembered), together with the whitespace character before it,
# which the pattern may take as the URL's preceding character. Every top-level domain begins
# with a letter right after a dot, so only runs with such a dot can hold a URL: most dots end
# sentences ("Pemasyarakatan. ") or sit in numbers ("Rp5.000") and cost nothing.
_DOT_LETTER = re.compile(r"\.[^\W\d_]")


@cache
def _run_with_dot() -> re.Pattern[str]:
    """Compiled on first use: only text with rare white space needs it."""
    return re.compile(f"(?:^|[{_SPACES}])[^{_SPACES}]*\\.[^{_SPACES}]*")


#: whitespace other than space, tab and line feed
_RARE_SPACE = re.compile("[" + _SPACES.replace("\\x09-\\x0D\\x20", "\\x0B-\\x0D") + "]")


def url_spans(text: str, *, without_protocol: bool = True) -> list[tuple[int, int]]:
    """(start, end) code-point offsets of the URLs in ``text``."""
    if not text or ("." not in text if without_protocol else ":" not in text):
        return []
    spans: list[tuple[int, int]] = []
    for offset, run in _runs_with_dot_letter(text):
        spans.extend((offset + a, offset + b) for a, b in _spans_in_run(run, without_protocol))
    return spans


def _runs_with_dot_letter(text: str) -> Iterator[tuple[int, str]]:
    """(offset, run) of each run with a dot before a letter, the run with the whitespace
    character before it (none at the start of ``text``)."""
    dots = [dot.start() for dot in _DOT_LETTER.finditer(text)]
    if not dots:
        return
    if _RARE_SPACE.search(text):
        for run in _run_with_dot().finditer(text):
            if _DOT_LETTER.search(run.group()):
                yield run.start(), run.group()
        return
    # only space, tab and line feed separate runs: found from each such dot with str methods
    done = 0
    for position in dots:
        if position < done:
            continue  # in the run just searched
        start = max(text.rfind(" ", 0, position), text.rfind("\n", 0, position),
                    text.rfind("\t", 0, position), 0)
        ends = [end for end in (text.find(" ", position), text.find("\n", position),
                                text.find("\t", position)) if end != -1]
        done = min(ends) if ends else len(text)
        yield start, text[start:done]


@lru_cache(maxsize=4096)
def _spans_in_run(text: str, without_protocol: bool) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for before, url, scheme, domain, path, end in _matches(text):
        start = end - len(url)
        puny = _punycode_ok(domain)
        if not puny or len(scheme or "https://") + len(url) + len(puny) - len(domain) > \
                MAX_URL_LENGTH:
            continue
        if scheme is None:
            if not without_protocol or _NO_SCHEME_PRECEDING.search(before):
                continue
            found = [(start + a, start + b) for a, b in _ascii_parts(domain)]
            if not found:
                continue
            if path:  # the path belongs to the last ASCII domain found
                found[-1] = (found[-1][0], end)
            spans.extend(found)
            continue
        tco = _TCO.search(url)
        if tco:
            if tco.group(1) and len(tco.group(1)) > _MAX_TCO_SLUG:
                continue
            end = start + len(tco.group(0))
        spans.append((start, end))
    return tuple(spans)
