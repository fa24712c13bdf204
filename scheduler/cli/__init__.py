"""The ``siar`` command: a thin layer over the core.

Exit codes: 0 ok, 1 user error (a message, never a traceback), 2 usage error.
Heavy modules (SQLAlchemy, adapters, Jinja2) are imported inside the commands that
need them, so ``siar preview FILE`` and ``--help`` start fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from scheduler.errors import SiarError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from scheduler.settings import Settings

app = typer.Typer(
    name="siar",
    help="Siar — schedule one press release to every channel, on time, never twice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a rich traceback would print locals, secrets included
    rich_markup_mode="rich",
)


class _ConsoleOnFirstUse:
    """A Rich console made when first used: importing Rich takes about 30 ms of start-up
    that commands printing JSON never need."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        """The Rich console itself, for code that needs the object (e.g. a live display)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probes must not build (or recurse into) it
            raise AttributeError(name)
        return getattr(self.real, name)


console = _ConsoleOnFirstUse()
err_console = _ConsoleOnFirstUse(stderr=True)


class State:
    """What every command may need, built on first use."""

    def __init__(self) -> None:
        self.config: Path | None = None
        self.verbose = False
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from scheduler.settings import load_settings

            self._settings = load_settings(self.config)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from scheduler.db import open_database

            self._engine = open_database(self.settings.database_url)
        return self._engine


state = State()


@app.callback()
def _root(
    config: Path | None = typer.Option(
        None, "--config", "-c", envvar="SIAR_CONFIG",
        help="TOML settings file (default: ./siar.toml, then ~/.config/siar/siar.toml)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the daemon does."),
) -> None:
    state.config = config
    state.verbose = verbose
    from scheduler.logs import configure

    configure(verbose)


def print_json(data: Any) -> None:
    """JSON for scripts: UTF-8 text as is, one object, stable keys."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def main() -> None:
    try:
        app()
    except SiarError as exc:
        err_console.print(f"[bold red]error:[/] {_safe(str(exc))}", highlight=False)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception:  # a bug: show where, but never a secret
        import traceback

        err_console.print(_safe(traceback.format_exc()), highlight=False)
        err_console.print("[bold red]internal error[/]: please report this with the "
                          "output above", highlight=False)
        raise SystemExit(70) from None


def _safe(text: str) -> str:
    """Redact every known secret from a message before it reaches the terminal."""
    from rich.markup import escape

    secrets = [v for k, v in os.environ.items() if k.startswith("SIAR_SECRET_") and v]
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return escape(text)


# Registering the commands last: the modules import ``app`` and ``state`` from here.
from scheduler.cli import accounts, ops, releases  # noqa: E402, F401
