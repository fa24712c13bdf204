"""WordPress's text filters, as far as the fake WordPress needs them to store and show
titles, slugs and alt text the way a real site does (WordPress 6.x, no plugins).

* ``kses``: ``wp_kses`` with the tags allowed in titles and excerpts (``$allowedtags``),
  applied on save for users without the ``unfiltered_html`` capability (Authors, and
  everyone on a multisite network but super admins): other tags are removed, a stray
  ``<`` becomes ``&lt;`` (``wp_pre_kses_less_than``) and a bare ``&`` becomes ``&amp;``
  (``wp_kses_normalize_entities``).
* ``the_title``: what themes print in ``<h1>`` (``wptexturize``, ``convert_chars``: a
  bare ``&`` becomes ``&#038;``); it is HTML, printed without escaping.
* ``document_title``: ``<title>`` (``single_post_title`` strips tags, then ``esc_html``).
* ``rss_title``: ``the_title_rss`` (``strip_tags``, ``ent2ncr``, ``esc_html``).
* ``sanitize_title``: the slug WordPress stores (``remove_accents`` +
  ``sanitize_title_with_dashes``); ``unique_slug``: ``wp_unique_post_slug``'s ``-2``.
* ``sanitize_text_field``: what the REST API stores as an image's alt text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from html.entities import name2codepoint

#: $allowedtags of wp-includes/kses.php: what kses keeps in titles and excerpts
ALLOWED_TAGS = frozenset({"a", "abbr", "acronym", "b", "blockquote", "cite", "code", "del",
                          "em", "i", "q", "s", "strike", "strong"})
#: statuses whose slug WordPress leaves as given, without making it unique
UNSLUGGED_STATUSES = frozenset({"draft", "pending", "auto-draft"})
#: the database column post_name is varchar(200)
SLUG_MAX = 200

_TAG = re.compile(r"<(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_ENTITY = r"(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
_BARE_AMPERSAND = re.compile(rf"&(?!{_ENTITY})")


def strip_tags(text: str) -> str:
    return _TAG.sub("", text)


def _normalize_entities(text: str, ampersand: str = "&amp;") -> str:
    return _BARE_AMPERSAND.sub(ampersand, text)


def kses(text: str, allowed: Collection[str] = ALLOWED_TAGS) -> str:
    def keep_allowed(match: re.Match[str]) -> str:
        name = match.group(2).lower()
        return f"<{match.group(1)}{name}>" if name in allowed else ""

    text = _TAG.sub(keep_allowed, text)
    # what is left of < and > is not a tag: kses writes it as text
    kept = re.split(r"(</?[a-z]+>)", text)
    text = "".join(part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;")
                   for i, part in enumerate(kept))
    return _normalize_entities(text)


def esc_html(text: str) -> str:
    """``esc_html``/``esc_attr``: special characters encoded, existing entities kept."""
    text = _normalize_entities(text)
    return (text.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#039;"))


def the_title(stored: str) -> str:
    return _normalize_entities(stored, "&#038;").strip()


def document_title(stored: str) -> str:
    return esc_html(strip_tags(the_title(stored)))


def ent2ncr(text: str) -> str:
    """Named entities as numeric references (XML knows only five names)."""
    def numeric(match: re.Match[str]) -> str:
        code = name2codepoint.get(match.group(1))
        return f"&#{code};" if code is not None else match.group(0)

    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", numeric, text)


def rss_title(stored: str) -> str:
    return esc_html(ent2ncr(strip_tags(the_title(stored))))


def sanitize_title(title: str) -> str:
    """The slug WordPress makes of ``title`` (or of a ``slug`` given to the REST API)."""
    title = strip_tags(title)
    decomposed = unicodedata.normalize("NFKD", title)
    title = "".join(c for c in decomposed if not unicodedata.combining(c))  # remove_accents
    title = re.sub(r"%([a-fA-F0-9]{2})", r"---\1---", title).replace("%", "")
    title = re.sub(r"---([a-fA-F0-9]{2})---", r"%\1", title)
    title = "".join(c if ord(c) < 128 else "".join(f"%{b:02x}" for b in c.encode())
                    for c in title)
    title = title.lower()
    for dash in ("%c2%a0", "%e2%80%93", "%e2%80%94"):  # nbsp, en and em dash
        title = title.replace(dash, "-")
    title = re.sub(r"&.+?;", "", title).replace(".", "-")
    title = re.sub(r"[^%a-z0-9 _-]", "", title)
    title = re.sub(r"\s+", "-", title)
    return re.sub(r"-+", "-", title).strip("-")


def unique_slug(slug: str, status: str, taken: Collection[str]) -> str:
    """``wp_unique_post_slug``: a taken slug gets ``-2``, ``-3``… (drafts keep theirs)."""
    if status in UNSLUGGED_STATUSES or slug not in taken:
        return slug
    suffix = 2
    while True:
        candidate = f"{slug[:SLUG_MAX - len(str(suffix)) - 1]}-{suffix}"
        if candidate not in taken:
            return candidate
        suffix += 1


def sanitize_text_field(text: str) -> str:
    """What WordPress stores of a plain-text field such as an image's alt text."""
    if "<" in text:
        text = re.sub(r"<(?![a-zA-Z/!])", "&lt;", text)  # wp_pre_kses_less_than
        text = strip_tags(text)
    text = re.sub(r"\s+", " ", text).strip()
    while re.search(r"%[a-fA-F0-9]{2}", text):  # URL-encoded octets are removed
        text = re.sub(r"%[a-fA-F0-9]{2}", "", text)
    return re.sub(r" +", " ", text).strip()
