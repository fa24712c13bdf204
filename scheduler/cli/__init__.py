"""The ``siar`` command: a thin layer over the core, built on click.

Exit codes: 0 ok, 1 user error (a message, never a traceback), 2 usage error, 70 a bug (the
traceback, secrets redacted), 130 interrupted. Heavy modules (SQLAlchemy, adapters, Jinja2,
Rich) are imported inside the commands that need them, and a command's module when the
command runs (:data:`COMMANDS`), so ``siar preview FILE`` and ``--help`` start fast; the
preview command lines officers type run without building the click group at all
(scheduler/cli/previewing.py). See docs/decisions.md for why click and not Typer.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.errors import SiarError
from scheduler.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable

    import click
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from scheduler.reads import Reader
    from scheduler.settings import Settings

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

            # no emoji codes: Siar prints none, a release's text is shown as written, and
            # rendering with them loads Rich's table of them (~5 ms) at every print
            self._console = Console(stderr=self._stderr, emoji=False)
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
        self._reader: Reader | None = None

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

    @property
    def reader(self) -> Reader:
        """The database for commands that only read: opened with the DB-API driver, without
        SQLAlchemy, once it is at the expected schema (else first created or upgraded
        through :attr:`engine`)."""
        if self._reader is None:
            from scheduler.reads import open_or_migrate

            self._reader = open_or_migrate(self.settings.database_url, lambda: self.engine)
        return self._reader


state = State()


_CLI = "scheduler.cli."
#: each command and the modules that register it and its subcommands (they import ``app``
#: and ``state`` from here), in the order ``siar --help`` lists them: a PR officer's
#: commands, then the operator's. A command's modules are imported only when it is run or
#: listed (tests/core/test_cli_commands.py checks this table against the modules).
COMMANDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("init", "add", "preview", "count", "queue", "show", "cancel",
                     "reschedule", "history"), (_CLI + "releases",)),
    **dict.fromkeys(("approve", "reject", "audit"), (_CLI + "approval",)),
    "report": (_CLI + "report",),
    "accounts": (_CLI + "accounts", _CLI + "ops"),  # `accounts resume` is the operator's
    **dict.fromkeys(("daemon", "status", "resolve", "db"), (_CLI + "ops",)),
    **dict.fromkeys(("web", "users"), (_CLI + "desk",)),
}


def __getattr__(name: str) -> click.Group:
    """``app``, the ``siar`` click group, made on first use (scheduler/cli/group.py): the
    command modules register on it, and ``siar preview FILE`` runs without it."""
    if name == "app":
        return _submodule("group").app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def configure_logging(verbosity: int, log_format: str) -> None:
    """Log as :func:`scheduler.logs.configure` sets up, from the moment anything can log.

    Most commands never import :mod:`logging` (a preview, the read commands): importing it
    is about 9 ms of their start. So unless a module has imported it already, the set-up
    waits for the first import of it, and runs as that import ends, before the importing
    module can log a line."""
    if "logging" in sys.modules:
        _configure(verbosity, log_format)
        return
    pending = [f for f in sys.meta_path if isinstance(f, _AfterImport) and f.name == "logging"]
    if pending:  # configured again before the import: the last set-up wins, as it would
        pending[0].then = lambda: _configure(verbosity, log_format)
    else:
        sys.meta_path.insert(0, _AfterImport("logging", lambda: _configure(verbosity,
                                                                          log_format)))


def _configure(verbosity: int, log_format: str) -> None:
    from scheduler.logs import configure

    configure(verbosity, log_format=log_format)


class _AfterImport:
    """A :data:`sys.meta_path` finder that runs ``then`` once module ``name`` has been
    imported (found and loaded as usual), then leaves the import system as it was."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        """The module's usual spec, loaded through :class:`_ThenLoader`; None for others."""
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenLoader(spec.loader, self.then)
        return spec


class _ThenLoader:
    """Loads with ``loader``, puts it back as the module's loader, then runs ``then``."""

    def __init__(self, loader: Any, then: Callable[[], None]) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: Any) -> Any:
        """What the usual loader creates (None: a plain module)."""
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        """Run the module as the usual loader does, then ``then``."""
        self.loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self.loader
        self.then()


def print_json(data: Any) -> None:
    """JSON for scripts: UTF-8 text as is, one object, stable keys."""
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def main() -> None:
    """Run ``siar`` with the arguments in ``sys.argv`` and exit with its exit code."""
    # The first pydantic model built would read the entry points of every installed
    # distribution looking for pydantic plugins (about 10 ms of each start); Siar uses none.
    # Whoever sets the variable (e.g. to a plugin's name) still decides.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Start-up creates tens of thousands of objects that live as long as the process
    # (modules, classes, pydantic validators) and next to no garbage, yet the cyclic collector
    # walks them again and again: 122 passes, about 40 ms of a `siar preview` (gc.callbacks),
    # and once more at exit. So the collector is off while a command runs (`siar daemon`,
    # which runs for weeks, turns it back on), and what exists at the end is frozen rather
    # than walked by the first collection after enabling and by the one at exit: together
    # about 80 ms less CPU per preview.
    gc.disable()
    try:
        code = _run()
    finally:
        gc.freeze()
        gc.enable()
    raise SystemExit(code)


def _run() -> int | None:
    """Run the command; return the exit code its outcome means."""
    try:
        # `siar preview FILE …` as officers type it runs without building the click group
        previewing = _submodule("previewing")
        if (start := previewing.quick(sys.argv[1:])) is not None:
            return previewing.run_quick(start)
        return _run_click()
    except SiarError as exc:
        print_error(exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: show where, but never a secret
        import traceback

        err_console.print(_safe(traceback.format_exc()), highlight=False)
        err_console.print(_("[bold red]internal error[/]: please report this with the output "
                            "above"), highlight=False)
        return 70


def _run_click() -> int | None:
    """Run the command through click (every command line but the quick preview's)."""
    import click

    app = _submodule("group").app
    try:
        # Not click's standalone mode: it would turn Ctrl-C into "Aborted!" and exit code 1.
        return app.main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # `siar` alone: the help, on stdout
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return exc.exit_code
    except click.ClickException as exc:  # wrong usage: click's message, exit code 2
        exc.show()
        return exc.exit_code
    except click.Abort as exc:  # click's wrapping of Ctrl-C (and of end of input at a prompt)
        return 130 if isinstance(exc.__cause__, KeyboardInterrupt) else 1


def _submodule(name: str) -> Any:
    """``scheduler.cli.NAME``, imported by name as the commands' modules are (they import
    ``state``, ``console`` … from this package: it is their hub, not their client)."""
    import importlib

    return importlib.import_module(f"{__name__}.{name}")


def print_error(exc: SiarError) -> None:
    """An error for a person, on stderr, with every known secret redacted."""

    text = exc.message + ("\n  " + _("fix") + f": {exc.hint}" if exc.hint else "")
    err_console.print("[bold red]" + _("error") + f":[/] {_safe(text)}", highlight=False)


def _safe(text: str) -> str:
    """Redact every known secret (environment and .env) from a message before it reaches
    the terminal."""
    from rich.markup import escape

    from scheduler.envfile import redact

    return escape(redact(text))

