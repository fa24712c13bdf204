"""Rendering a template for many releases: the values a block only prints as they are.

A release's title, link and summary differ from one release to the next, so a template's
frame was rendered anew for every release: half the time of composing a short one. A
block that only ever prints a value as it is (``{{ title }}``, not tested, filtered,
measured or handed to anything) is rendered once with a stand-in for that value, and each
release's value takes the stand-in's place: the same text as rendering with the value.
Whatever could make a block's text depend on a value in another way (a macro, a call
block, ``self``, another template, a filter or ``set`` block around the output) leaves
the block to be rendered as usual. ``tests/composer/test_template_slots.py`` compares both.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from scheduler.text import template_limits

if TYPE_CHECKING:
    from scheduler.text.templating import Template

# random per process: no release, setting or template can hold it
_TOKEN = secrets.token_hex(8)
_SLOTS = re.compile(f"\x00slot-{_TOKEN}:([A-Za-z_][A-Za-z0-9_]*)\x00")
#: longer values are rendered as usual, where the render's own size bounds see them
LONGEST = 100_000


def render(template: Template, block: str, context: dict[str, Any],
           parse: Callable[[Template], Any],
           printed_only: Callable[[Template], dict[str, frozenset[str]]] | None = None) -> str:
    """Block ``block`` of ``template`` rendered with ``context``: from the frame of its
    printed-only values where it has any, else as usual. ``parse`` gives the template's
    syntax tree (None if it has none); ``printed_only``, if given, what :func:`analyse`
    finds in it (kept from an earlier run), and the tree is not needed."""
    printed = (printed_only(template) if printed_only is not None
               else _printed_only(template, parse)).get(block)
    if printed:
        values = {name: value for name, value in context.items()
                  if name in printed and type(value) is str and len(value) <= LONGEST}
        if values:
            stand_ins = tuple((name, _stand_in(name) if name in values else value)
                              for name, value in context.items())
            pieces = list(_pieces(_frame(template, block, stand_ins)))
            for index in range(1, len(pieces), 2):  # the stand-ins' places
                pieces[index] = values[pieces[index]]
            text = "".join(pieces)
            if len(text) <= template_limits.MAX_OUTPUT:  # else the usual render says why
                return text
    return template.blocks[block](context)


@lru_cache(maxsize=256)
def _stand_in(name: str) -> str:
    """The stand-in of value ``name``: one string object per name, its hash computed once
    (the stand-ins are part of :func:`_frame`'s key for every release)."""
    return f"\x00slot-{_TOKEN}:{name}\x00"


@lru_cache(maxsize=1024)
def _frame(template: Template, block: str, stand_ins: tuple[tuple[str, Any], ...]) -> str:
    return template.blocks[block](dict(stand_ins))


@lru_cache(maxsize=1024)
def _pieces(frame: str) -> tuple[str, ...]:
    """The frame cut at its stand-ins: its own text at even places, the names of the values
    at odd ones (joining them in is a fifth of the cost of a substitution per release)."""
    return tuple(_SLOTS.split(frame))


@lru_cache(maxsize=128)
def _printed_only(template: Template,
                  parse: Callable[[Template], Any]) -> dict[str, frozenset[str]]:
    """Block name → the variables it only prints as they are; empty if the template has
    anything that could use a value otherwise, out of the blocks' sight."""
    return analyse(parse(template))


def analyse(tree: Any) -> dict[str, frozenset[str]]:
    """:func:`_printed_only` of a template's syntax tree (None: no tree, nothing found)."""
    from jinja2 import nodes

    if tree is None or any(True for _ in tree.find_all(
            (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport, nodes.Macro,
             nodes.CallBlock))) or any(
            name.name in ("self", "super") for name in tree.find_all(nodes.Name)):
        return {}
    found = {}
    for block in tree.find_all(nodes.Block):
        printed: set[str] = set()
        used: set[str] = set()
        _walk(block.body, True, printed, used)
        found[block.name] = frozenset(printed - used)
    return found


def _walk(statements: Iterable[Any], straight: bool, printed: set[str],
          used: set[str]) -> None:
    """Sort the names read in ``statements``: printed as they are, straight to the
    block's output (``straight``: nothing between them and it but if, for and blocks),
    or used in any other way."""
    from jinja2 import nodes

    for node in statements:
        if isinstance(node, nodes.Output):
            for item in node.nodes:
                if straight and isinstance(item, nodes.Name) and item.ctx == "load":
                    printed.add(item.name)
                else:
                    _names(item, used)
        elif isinstance(node, nodes.If):
            _names(node.test, used)
            _walk(node.body, straight, printed, used)
            _walk(node.elif_, straight, printed, used)
            _walk(node.else_, straight, printed, used)
        elif isinstance(node, nodes.For):
            for part in (node.target, node.iter, node.test):
                if part is not None:
                    _names(part, used)
            # a recursive loop's body is printed through loop(), which may be filtered
            _walk(node.body, straight and not node.recursive, printed, used)
            _walk(node.else_, straight and not node.recursive, printed, used)
        elif isinstance(node, nodes.Block):
            _walk(node.body, straight, printed, used)
        elif isinstance(node, nodes.Stmt):  # set, with, filter, … : nothing goes straight
            _walk(node.iter_child_nodes(), False, printed, used)
        else:
            _names(node, used)


def _names(node: Any, used: set[str]) -> None:
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        used.add(node.name)
    used.update(name.name for name in node.find_all(nodes.Name))
