"""The HTML part of an e-mail: one document, whatever the template wrote.

The e-mail template writes a whole document: the inline images (``cid:``) go at the end
of its body. A fragment (another template's, or the text's paragraphs) is wrapped into a
document with them.
"""

from __future__ import annotations

import html
import re

__all__ = ["document", "inline_images", "one_document", "paragraphs"]

_DOCUMENT = re.compile(r"\A\s*(?:<!doctype\b|<html\b)", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HTML_END = re.compile(r"</html\s*>", re.IGNORECASE)


def paragraphs(text: str) -> str:
    """Plain text as HTML paragraphs (a line break within one as ``<br>``)."""
    return "".join(f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
                   for block in text.split("\n\n") if block.strip())


def document(title: str, body: str) -> str:
    """A whole HTML document around ``body``."""
    return (f'<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body>{body}</body></html>\n")


def one_document(title: str, body_html: str, inline: str) -> str:
    """The HTML part: the template's own document with ``inline`` (the images) at the end
    of its body, or a fragment wrapped into a document with them."""
    if not _DOCUMENT.match(body_html):
        return document(title, body_html + inline)
    ends = ([m.start() for m in _BODY_END.finditer(body_html)]
            or [m.start() for m in _HTML_END.finditer(body_html)])
    if not ends:
        return body_html + inline
    return body_html[:ends[-1]] + inline + body_html[ends[-1]:]


def inline_images(cids: list[str], alts: list[str], link: str | None = None) -> str:
    """A paragraph per inline image (``cid:``) with its alt text; ``link``: where the first
    one (a video's cover) leads."""
    blocks = []
    for n, (cid, alt) in enumerate(zip(cids, alts, strict=True)):
        image = f'<img src="cid:{cid}" alt="{html.escape(alt)}">'
        if link and n == 0:
            image = f'<a href="{html.escape(link)}">{image}</a>'
        blocks.append(f"<p>{image}</p>")
    return "".join(blocks)
