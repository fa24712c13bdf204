"""How ``siar … --help`` lists commands: two things Siar wants that click does not do itself.

* Commands are listed in the order they are registered — a PR officer's commands first, the
  operator's after — rather than alphabetically.
* A command's line in that list is the whole first paragraph of its help, not click's cut at
  about 45 characters.
* A command's module is imported when the command is run or listed (:attr:`Group.lazy`):
  ``siar preview`` does not import the operator's commands.

And it speaks the interface language: a command's help is its docstring, translated like any
message; :func:`extract` hands the docstrings to Babel (``make messages``), which does not
read docstrings itself.
"""

from __future__ import annotations

import ast
import importlib
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

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, ...]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: command name → the modules that register it and its subcommands (imported on
        #: first use), in the order the help lists the commands
        self.lazy = dict(lazy or {})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module in self.lazy.get(cmd_name, ()):
            importlib.import_module(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for modules in self.lazy.values():
            for module in modules:
                importlib.import_module(module)
        return [*(name for name in self.lazy if name in self.commands),
                *(name for name in self.commands if name not in self.lazy)]


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
