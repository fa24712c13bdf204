"""The release link: UTM parameters per network, and finding links in a post's text."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex


def with_utm(url: str, params: dict[str, str] | None) -> str:
    """``url`` with the configured UTM parameters; ones already in the URL are kept."""
    if not params:
        return url
    return _with_params(url, tuple(params.items()))


@lru_cache(maxsize=256)
def _with_params(url: str, params: tuple[tuple[str, str], ...]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query += [(key, value) for key, value in params if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


# Bluesky's own link detection (atproto ``detectFacets``): a URL with a scheme, or a bare
# domain with a letter-only TLD, after the start, whitespace or "("; trailing punctuation
# is not part of it, nor a ")" that closes nothing.
_LINK = regex.compile(
    r"(?:^|(?<=[\s(]))(?:(https?://\S+)|([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+\S*))",
    regex.IGNORECASE,
)
_TLD = regex.compile(r"\.([a-z]{2,63})(?:[/:?#]|$)", regex.IGNORECASE)
# every link has "://" or a dot before a domain label: most text (a dot ends a sentence) has
# neither and is not searched with the slower pattern above
_DOT_LABEL = regex.compile(r"\.[a-z0-9-]", regex.IGNORECASE)
_TRAILING = regex.compile(r"[.,;:!?\"'”’]+$")


@lru_cache(maxsize=2048)
def find_links(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, uri) of each link in ``text`` (code-point offsets); bare domains get
    ``https://``."""
    if "://" not in text and not _DOT_LABEL.search(text):
        return ()
    found = []
    for match in _LINK.finditer(text):
        raw = match.group(0)
        raw = _TRAILING.sub("", raw)
        if raw.endswith(")") and "(" not in raw:
            raw = _TRAILING.sub("", raw[:-1])
        if match.group(2):
            host = raw.split("/", 1)[0]
            if not _TLD.search(host) or "@" in host:
                continue
            uri = f"https://{raw}"
        else:
            if len(raw) <= len("https://"):
                continue
            uri = raw
        found.append((match.start(), match.start() + len(raw), uri))
    return tuple(found)
