"""How ``siar … --help`` lists commands: two things Siar wants that click does not do itself.

* Commands are listed in the order they are registered — a PR officer's commands first, the
  operator's after — rather than alphabetically.
* A command's line in that list is the whole first paragraph of its help, not click's cut at
  about 45 characters.

And it speaks the interface language: a command's help is its docstring, translated like any
message; :func:`extract` hands the docstrings to Babel (``make messages``), which does not
read docstrings itself.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from io import BytesIO
from typing import IO, Any

import click

from scheduler.i18n import _


class Command(click.Command):
    """A ``siar`` command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:  # the message id is the docstring as click shows it: cleaned
            self.help = _(inspect.cleandoc(self.help))

    def get_short_help_str(self, limit: int = 45) -> str:
        first_paragraph = (self.short_help or self.help or "").split("\n\n")[0]
        return " ".join(first_paragraph.split())


class Group(Command, click.Group):
    """A ``siar`` command with subcommands, listed in the order they were added."""

    command_class = Command
    group_class = type  # click's convention: subgroups are of this same class

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
            options: dict[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extraction method: the messages of a CLI module (``_()`` calls, as Babel's
    Python method finds them) and the docstrings of its click commands, cleaned as click
    cleans them."""
    from babel.messages.extract import extract_python

    source = fileobj.read()
    yield from extract_python(BytesIO(source), keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _is_command(d) for d in node.decorator_list):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield node.lineno, "_", inspect.cleandoc(docstring), []


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr in {"command", "group"}) \
        or (isinstance(target, ast.Name) and target.id in {"command", "group"})
