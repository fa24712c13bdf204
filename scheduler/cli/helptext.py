"""How ``siar … --help`` lists commands: two things Siar wants that click does not do itself.

* Commands are listed in the order they are registered — a PR officer's commands first, the
  operator's after — rather than alphabetically.
* A command's line in that list is the whole first paragraph of its help, not click's cut at
  about 45 characters.
"""

from __future__ import annotations

import click


class Command(click.Command):
    """A ``siar`` command."""

    def get_short_help_str(self, limit: int = 45) -> str:
        first_paragraph = (self.short_help or self.help or "").split("\n\n")[0]
        return " ".join(first_paragraph.split())


class Group(Command, click.Group):
    """A ``siar`` command with subcommands, listed in the order they were added."""

    command_class = Command
    group_class = type  # click's convention: subgroups are of this same class

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)
