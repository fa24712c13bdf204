"""Markdown (what officers write) into each network's own format.

``plain``     no markup (X, Mastodon, Bluesky, Threads, Facebook, Instagram …); lists
              become "• item" lines, emphasis is dropped, a link becomes "label (url)".
``little``    LinkedIn's "little" text format: ``plain`` with its reserved characters
              backslash-escaped, in links too; a hashtag is ``#`` and the escaped tag.
``telegram``  Telegram's HTML: only b, i, u, s, a, code, pre, blockquote; text escaped with
              ``& < >`` only (the entities Telegram accepts).
``html``      WordPress and e-mail: ordinary HTML (raw HTML in the release is escaped).
``mrkdwn``    Slack: *bold*, _italic_, ~strike~, <url|label>, ``& < >`` escaped.
``discord``   Discord markdown: **bold**, *italic*, ~~strike~~, [label](url), # headings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from scheduler.text import markdown_tree

if TYPE_CHECKING:
    from markdown_it.token import Token

DIALECTS = ("plain", "little", "telegram", "html", "mrkdwn", "discord")


@cache
def _parser():  # markdown-it is imported on first use to keep the CLI's start-up light
    from markdown_it import MarkdownIt

    # raw HTML is off, so its two rules would only ever answer "no": skip asking them
    return (MarkdownIt("commonmark", {"html": False, "linkify": False})
            .enable("strikethrough").disable(["html_block", "html_inline"]))


def _tg(text: str) -> str:
    return html.escape(text, quote=False)


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_URL_IN_TEXT = re.compile(r"https?://\S+")
_DISCORD_RESERVED = re.compile(r"([*_~`|])")


def _discord(text: str) -> str:
    """Markdown characters in plain text would turn into formatting; URLs stay intact."""
    out, position = [], 0
    for url in _URL_IN_TEXT.finditer(text):
        out.append(_DISCORD_RESERVED.sub(r"\\\1", text[position:url.start()]))
        out.append(url.group())
        position = url.end()
    out.append(_DISCORD_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(out)


def _plain_link(label: str, href: str) -> str:
    if not href or label.strip() in {href, href.split("://", 1)[-1]}:
        return href or label
    return f"{label} ({href})"


class _Dialect:
    """How one format writes each Markdown construct."""

    escape: Callable[[str], str] = staticmethod(lambda s: s)
    strong = em = strike = staticmethod(lambda s: s)
    code = staticmethod(lambda s: s)
    link = staticmethod(_plain_link)
    heading = staticmethod(lambda s, level: s)
    quote = staticmethod(lambda s: s if s[:1] in "\"“'‘«" else f"“{s}”")
    pre = staticmethod(lambda s: s.rstrip("\n"))
    bullet = "• "


class _Plain(_Dialect):
    pass


class _Telegram(_Dialect):
    escape = staticmethod(_tg)
    strong = staticmethod(lambda s: f"<b>{s}</b>")
    em = staticmethod(lambda s: f"<i>{s}</i>")
    strike = staticmethod(lambda s: f"<s>{s}</s>")
    code = staticmethod(lambda s: f"<code>{_tg(s)}</code>")
    link = staticmethod(lambda label, href: f'<a href="{html.escape(href)}">{label}</a>')
    heading = staticmethod(lambda s, level: f"<b>{s}</b>")
    quote = staticmethod(lambda s: f"<blockquote>{s}</blockquote>")
    pre = staticmethod(lambda s: f"<pre>{_tg(s.rstrip(chr(10)))}</pre>")


class _Mrkdwn(_Dialect):
    escape = staticmethod(_slack)
    strong = staticmethod(lambda s: f"*{s}*")
    em = staticmethod(lambda s: f"_{s}_")
    strike = staticmethod(lambda s: f"~{s}~")
    code = staticmethod(lambda s: f"`{s}`")
    link = staticmethod(lambda label, href: f"<{href}|{label}>" if label != href else f"<{href}>")
    heading = staticmethod(lambda s, level: f"*{s}*")
    quote = staticmethod(lambda s: "\n".join(f"> {line}" for line in s.split("\n")))
    pre = staticmethod(lambda s: f"```\n{s.rstrip(chr(10))}\n```")


class _Discord(_Dialect):
    escape = staticmethod(_discord)
    strong = staticmethod(lambda s: f"**{s}**")
    em = staticmethod(lambda s: f"*{s}*")
    strike = staticmethod(lambda s: f"~~{s}~~")
    code = staticmethod(lambda s: f"`{s}`")
    link = staticmethod(lambda label, href: f"[{label}]({href})" if label != href else href)
    heading = staticmethod(lambda s, level: f"{'#' * min(level, 3)} {s}")
    quote = staticmethod(lambda s: "\n".join(f"> {line}" for line in s.split("\n")))
    pre = staticmethod(lambda s: f"```\n{s.rstrip(chr(10))}\n```")


_DIALECT: dict[str, type[_Dialect]] = {
    "plain": _Plain, "telegram": _Telegram, "mrkdwn": _Mrkdwn, "discord": _Discord,
}


_LINE_END = re.compile(r"[.!?:;”\"')\]]\W*$")


def _keeps_lines(inline) -> bool:
    """A paragraph whose every line ends a sentence was typed one paragraph per line (as
    releases pasted from Word are): keep its line breaks. Otherwise the breaks only wrap
    long Markdown lines, and become spaces."""
    return _keeps(inline.content.split("\n"))


def _keeps(lines: list[str]) -> bool:
    return len(lines) > 1 and all(_LINE_END.search(line.rstrip()) for line in lines[:-1])


def _inline(node, d: type[_Dialect], keep_lines: bool | None = None) -> str:
    if keep_lines is None:
        keep_lines = _keeps_lines(node)
    out: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(d.escape(child.content))
        elif kind == "softbreak":
            out.append("\n" if keep_lines else " ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "strong":
            out.append(d.strong(_inline(child, d, keep_lines)))
        elif kind == "em":
            out.append(d.em(_inline(child, d, keep_lines)))
        elif kind == "s":
            out.append(d.strike(_inline(child, d, keep_lines)))
        elif kind == "code_inline":
            out.append(d.code(child.content))
        elif kind == "link":
            out.append(d.link(_inline(child, d, keep_lines), str(child.attrs.get("href", ""))))
        elif kind == "image":
            out.append(d.escape(child.content or str(child.attrs.get("alt", ""))))
        else:  # html_inline and anything new: keep its text, escaped
            out.append(d.escape(child.content))
    return "".join(out)


def _blocks(node, d: type[_Dialect]) -> list[str]:
    blocks: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "paragraph":
            blocks.append(_inline(child.children[0], d) if child.children else "")
        elif kind == "heading":
            level = int(child.tag[1:]) if child.tag[1:].isdigit() else 1
            blocks.append(d.heading(_inline(child.children[0], d), level))
        elif kind in ("bullet_list", "ordered_list"):
            start = int(child.attrs.get("start", 1) or 1)
            lines = []
            for number, item in enumerate(child.children, start=start):
                marker = f"{number}. " if kind == "ordered_list" else d.bullet
                text = "\n".join(_blocks(item, d))
                lines.append(marker + text.replace("\n", "\n   "))
            blocks.append("\n".join(lines))
        elif kind == "blockquote":
            blocks.append(d.quote("\n".join(_blocks(child, d))))
        elif kind in ("fence", "code_block"):
            blocks.append(d.pre(child.content))
        elif kind == "hr":
            blocks.append("———" if d is _Plain else "")
        elif kind == "html_block":
            blocks.append(d.escape(child.content.strip()))
    return [b for b in blocks if b]


@lru_cache(maxsize=64)
def _parsed(markdown: str) -> tuple[list[Token], markdown_tree.Node]:
    """(tokens, syntax tree) of ``markdown``: parsed once for every dialect."""
    tokens = _parser().parse(markdown)
    return tokens, markdown_tree.from_tokens(tokens)


@lru_cache(maxsize=256)
def convert(markdown: str, dialect: str) -> str:
    """``markdown`` in ``dialect``; paragraphs are separated by one blank line."""
    if dialect == "little":
        return linkedin_escape(convert(markdown, "plain"))
    if (paragraphs := _plain_paragraphs(markdown)) is not None:
        return _from_plain(paragraphs, dialect)
    if (tree := markdown_tree.simple(markdown)) is not None:
        return _from_tree(tree, dialect)
    return _from_tokens(markdown, dialect)


# Most releases are plain paragraphs, and then markdown-it has nothing to do (it was half
# the time of composing a short release): a line that starts with a letter starts no block
# (heading, list, quote, code, rule, table, HTML, link definition), and without \ ` * _ [
# ] < & ~ nothing inline happens either (escapes, code, emphasis, strikethrough, links,
# images, autolinks, entities). Spaces other than between words, and any other white
# space, take the long way (markdown-it drops some of them). tests/composer/test_fast_paths.py
# compares both ways on generated text.
_PLAIN_CHARACTER = r"[^\\`*_\[\]<&~\x00\s]"
_PLAIN_LINE = rf"[^\W\d_]{_PLAIN_CHARACTER}*(?: +{_PLAIN_CHARACTER}+)*"
_PLAIN_TEXT = re.compile(rf"(?:{_PLAIN_LINE})?(?:\n(?:{_PLAIN_LINE})?)*")
_PARAGRAPH_BREAK = re.compile(r"\n\n+")


def _plain_paragraphs(markdown: str) -> list[list[str]] | None:
    """The lines of each paragraph if ``markdown`` is only plain paragraphs, else None."""
    if not _PLAIN_TEXT.fullmatch(markdown):
        return None
    return [paragraph.split("\n") for paragraph in _PARAGRAPH_BREAK.split(markdown.strip("\n"))
            if paragraph]


def _from_plain(paragraphs: list[list[str]], dialect: str) -> str:
    """What :func:`_from_tokens` makes of plain paragraphs, without parsing."""
    if dialect == "html":  # markdown-it's renderer: softbreaks as they are, text escaped
        return "\n".join("<p>" + "\n".join(lines).replace(">", "&gt;").replace('"', "&quot;")
                         + "</p>" for lines in paragraphs)
    escape = _DIALECT[dialect].escape
    return "\n\n".join(("\n" if _keeps(lines) else " ").join(escape(line) for line in lines)
                        for lines in paragraphs)


def _from_tree(tree: markdown_tree.Node, dialect: str) -> str:
    """What :func:`_from_tokens` makes of Markdown :func:`markdown_tree.simple` read."""
    if dialect == "html":
        return markdown_tree.simple_html(tree)
    return "\n\n".join(_blocks(tree, _DIALECT[dialect]))


def _from_tokens(markdown: str, dialect: str) -> str:
    """``markdown`` in ``dialect``, through markdown-it's tokens."""
    tokens, tree = _parsed(markdown)
    if dialect == "html":
        parser = _parser()
        return parser.renderer.render(tokens, parser.options, {}).strip()
    return "\n\n".join(_blocks(tree, _DIALECT[dialect]))


def escape_for(dialect: str, text: str) -> str:
    """Escape plain text (a title, a tag) for ``dialect``."""
    if dialect in ("telegram",):
        return _tg(text)
    if dialect == "html":
        return html.escape(text)
    if dialect == "mrkdwn":
        return _slack(text)
    if dialect == "discord":
        return _discord(text)
    if dialect == "little":
        return linkedin_escape(text)
    return text


def escape_link(dialect: str, url: str) -> str:
    """A link as written in ``dialect``'s text: as it is, but for LinkedIn's format, where
    a reserved character would cut the post."""
    return linkedin_escape(url) if dialect == "little" else url


def hashtag(dialect: str, tag: str) -> str:
    """``#tag`` written in ``dialect``."""
    if dialect == "little":
        return linkedin_hashtag(tag)
    return escape_for(dialect, f"#{tag}")


# LinkedIn's "little" text format: these characters must be backslash-escaped or LinkedIn
# silently cuts the post at the first one while still answering 201 (its documentation)
_LINKEDIN_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


@lru_cache(maxsize=1024)
def linkedin_escape(text: str) -> str:
    return _LINKEDIN_RESERVED.sub(r"\\\1", text)  # a substitution runs in C, translate does not


def linkedin_hashtag(tag: str) -> str:
    # "#word" is LinkedIn's hashtag syntax (the longer form is {hashtag|\#|word}); an "_"
    # inside the tag is still a reserved character
    return "#" + linkedin_escape(tag)


_TELEGRAM_TAG = re.compile(r"<(/?)(b|i|u|s|a|code|pre|blockquote|tg-spoiler)\b[^>]*>")


def close_open_tags(text: str) -> str:
    """Close the Telegram HTML tags a cut left open (innermost first).

    Closing tags add no characters to the message as Telegram counts it, so a fitted
    text stays within its limit.
    """
    stack: list[str] = []
    for match in _TELEGRAM_TAG.finditer(text):
        closing, name = match.group(1), match.group(2)
        if not closing:
            stack.append(name)
        elif stack and stack[-1] == name:
            stack.pop()
    return text + "".join(f"</{name}>" for name in reversed(stack))
