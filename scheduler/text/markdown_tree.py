"""Markdown as the syntax tree the converters of :mod:`scheduler.text.markup` walk: built
from markdown-it's tokens, or — for the Markdown most releases hold — read without
markdown-it, to the same tree.

The Markdown read here: paragraphs, quotes (every line ``> …``) and lists (every line
``- …``, one line per item), separated by blank lines; text of ordinary characters and
single spaces, with ``**bold**`` around words. What it reads is what markdown-it reads
(tests/composer/test_fast_paths.py compares both on generated Markdown); anything else
(``None``) goes to markdown-it, which is about 40 ms of ``siar preview``'s start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token


class Node:
    """One node of the syntax tree: what markdown-it's ``SyntaxTreeNode`` offers the
    converters (type, tag, attrs, content, children), built in one pass."""

    __slots__ = ("attrs", "children", "content", "tag", "type")

    def __init__(self, kind: str, tag: str = "", attrs: dict | None = None, content: str = "",
                 children: list[Node] | None = None) -> None:
        self.type = kind
        self.tag = tag
        self.attrs = attrs if attrs is not None else {}
        self.content = content
        self.children = children if children is not None else []


def from_tokens(tokens: Sequence[Token]) -> Node:
    """The tokens nested as ``SyntaxTreeNode`` nests them: an ``x_open`` … ``x_close`` pair
    becomes one node of type ``x``; an inline token's own tokens become its children."""
    root = Node("root")
    open_nodes = [root]
    for token in tokens:
        if token.nesting == 1:
            node = Node(token.type.removesuffix("_open"), token.tag, token.attrs, token.content)
            open_nodes[-1].children.append(node)
            open_nodes.append(node)
        elif token.nesting == -1:
            open_nodes.pop()
        else:
            children = from_tokens(token.children).children if token.children else []
            open_nodes[-1].children.append(
                Node(token.type, token.tag, token.attrs, token.content, children))
    return root


# A character with no meaning in Markdown (nor white space: markdown-it drops or turns some
# of it); `**` opens after a space (or at the start) before a letter or digit and closes
# after one before a space, the end or punctuation: then it is bold, whatever the context.
_CHARACTER = r"[^\\`*_\[\]<&~\x00\s]"
_STRONG = (rf"(?<!\S)\*\*(?=[^\W_]){_CHARACTER}+(?: {_CHARACTER}+)*(?<=[^\W_])\*\*"
           r"(?=$|[ .,;:!?)\"”’'])")
# a line starting so starts no block (heading, list, quote, code, rule, table, HTML, …)
_LINE = re.compile(rf"(?=[^\W\d_]|[\"“‘]|\*\*)(?:{_STRONG}|{_CHARACTER})+"
                   rf"(?: (?:{_STRONG}|{_CHARACTER})+)*")
_SPLIT = re.compile(rf"({_STRONG})")
_BLOCK_BREAK = re.compile(r"\n\n+")
_KINDS = {"> ": "blockquote", "- ": "bullet_list"}


def simple(markdown: str) -> Node | None:
    """The syntax tree of ``markdown`` if it is only the Markdown read here, else None."""
    root = Node("root")
    previous = ""
    for block in _BLOCK_BREAK.split(markdown.strip("\n")):
        lines = block.split("\n")
        kind = _KINDS.get(block[:2], "paragraph")
        if kind == previous == "bullet_list":  # items apart: one loose list
            return None
        previous = kind
        if kind != "paragraph":
            if not all(line.startswith(block[:2]) for line in lines):
                return None
            lines = [line[2:] for line in lines]
        if not all(_LINE.fullmatch(line) for line in lines):
            return None
        if kind == "paragraph":
            root.children.append(_paragraph(lines))
        elif kind == "blockquote":
            root.children.append(Node("blockquote", "blockquote", children=[_paragraph(lines)]))
        else:
            root.children.append(Node("bullet_list", "ul", children=[
                Node("list_item", "li", children=[_paragraph([line])]) for line in lines]))
    return root


def _paragraph(lines: list[str]) -> Node:
    inline: list[Node] = []
    for number, line in enumerate(lines):
        if number:
            inline.append(Node("softbreak", "br"))
        for index, piece in enumerate(_SPLIT.split(line)):
            if index % 2:
                words = Node("text", content=piece[2:-2])
                inline.append(Node("strong", "strong", children=[words]))
            elif piece:
                inline.append(Node("text", content=piece))
    return Node("paragraph", "p", children=[Node("inline", content="\n".join(lines),
                                                 children=inline)])


def simple_html(root: Node) -> str:
    """What markdown-it's HTML renderer makes of a tree :func:`simple` read."""
    out = []
    for block in root.children:
        if block.type == "paragraph":
            out.append(f"<p>{_inline_html(block)}</p>\n")
        elif block.type == "blockquote":
            out.append(f"<blockquote>\n<p>{_inline_html(block.children[0])}</p>\n</blockquote>\n")
        else:  # a tight list: its paragraphs are not shown as such
            items = "".join(f"<li>{_inline_html(item.children[0])}</li>\n"
                            for item in block.children)
            out.append(f"<ul>\n{items}</ul>\n")
    return "".join(out).strip()


def _inline_html(paragraph: Node) -> str:
    out = []
    for node in paragraph.children[0].children:
        if node.type == "text":
            out.append(_escape(node.content))
        elif node.type == "softbreak":
            out.append("\n")
        else:
            out.append(f"<strong>{_escape(node.children[0].content)}</strong>")
    return "".join(out)


def _escape(text: str) -> str:
    # markdown-it escapes & < > "; & and < are never in text read here
    return text.replace(">", "&gt;").replace('"', "&quot;")
