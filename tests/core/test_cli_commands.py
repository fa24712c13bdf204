"""The table of ``siar``'s commands (scheduler.cli.COMMANDS) is what the command modules
register: each command (and each of its subcommands) comes from one of the modules the
table names for it, so that running a command imports only those modules."""

from __future__ import annotations

import click

from scheduler.cli import COMMANDS, app


def test_every_registered_command_is_in_the_table_with_the_module_that_registers_it() -> None:
    ctx = click.Context(app)
    assert app.list_commands(ctx) == list(COMMANDS)  # every module imported: nothing else
    for name, modules in COMMANDS.items():
        command = app.get_command(ctx, name)
        assert command is not None and command.callback is not None
        assert command.callback.__module__ == modules[0], name
        for sub in getattr(command, "commands", {}).values():
            assert sub.callback is not None and sub.callback.__module__ in modules, \
                (name, sub.name)


def test_a_command_not_in_the_table_is_unknown() -> None:
    assert app.get_command(click.Context(app), "no-such-command") is None
