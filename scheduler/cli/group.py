"""The ``siar`` click group: its global options, and its commands listed in
:data:`scheduler.cli.COMMANDS` (each module registers its own on first use)."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli import COMMANDS, configure_logging, state
from scheduler.cli.helptext import Group
from scheduler.i18n import _


@click.group(
    "siar", cls=Group, no_args_is_help=True, lazy=COMMANDS,
    # Typer showed defaults; so does this CLI ("[default: 200]"), except False for flags.
    context_settings={"show_default": True},
)
@click.option("--config", "-c", type=click.Path(path_type=Path), envvar="SIAR_CONFIG",
              show_envvar=True,
              help=_("TOML settings file (default: ./siar.toml, then ~/.config/siar/siar.toml)."))
@click.option("--verbose", "-v", "verbosity", count=True,
              help=_("Log what the daemon does (-vv: everything, the scheduler's wake-ups too)."))
@click.option("--log-format", type=click.Choice(("text", "json")), default="text",
              envvar="SIAR_LOG_FORMAT", show_envvar=True,
              help=_("json: one object per line, for a log collector."))
@click.version_option(package_name="siar", message="siar %(version)s")
def app(config: Path | None, verbosity: int, log_format: str) -> None:
    """Siar — schedule one press release to every channel, on time, never twice."""
    state.config = config
    state.verbose = verbosity > 0
    configure_logging(verbosity, log_format)


