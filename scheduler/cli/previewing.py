"""``siar preview``: what it does, and how it starts without click.

:func:`show` is the command's work (the click command in :mod:`scheduler.cli.releases`
calls it). :func:`quick` reads the command lines an officer types — ``siar [-c FILE] [-v]
[--log-format F] preview TARGET [--json] [--channels X] [--html FILE]`` — and runs them
without building the click group (about 30 ms of each preview's start-up); any other
command line (help, a mistake, another command) is left to click, which reads it as before.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.cli import configure_logging, console, err_console, print_error, print_json, state
from scheduler.errors import ComposeError, SiarError
from scheduler.i18n import _

if TYPE_CHECKING:
    from scheduler.settings import AccountSettings


def read_release(source: str) -> Any:
    """The release in file ``source`` (``-``: standard input), in the deployment's zone."""
    from scheduler import releases

    tz = state.settings.timezone
    if source == "-":
        # the bytes, so that they are decoded (and bounded) like a file's
        limit = releases.MAX_RELEASE_BYTES + 1
        if (raw := getattr(sys.stdin, "buffer", None)) is not None:
            return releases.load("-", stdin_data=raw.read(limit), default_zone=tz)
        return releases.load("-", stdin_text=sys.stdin.read(limit), default_zone=tz)
    return releases.load(source, default_zone=tz)


def show(target: str, channels: str | None, as_json: bool, html: Path | None) -> int:
    """Show what each account would publish; the exit code (1: an account cannot take
    the release as it is, every other one shown)."""
    from channels.variant import Variant
    from scheduler import preview as render

    names = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
    variants: list[Variant] = []
    failed: list[tuple[AccountSettings, ComposeError]] = []
    if target.isdigit() and not Path(target).exists():
        from scheduler import queries

        release, posts = queries.release_with_posts(state.engine, int(target))
        posts = [p for p in posts if not names or p.account in names or p.network in names]
        variants = render.queued_variants(posts, state.settings)
        title = release.title
        files: dict[str, bytes] = {}  # queued: the media name their prepared files
        from scheduler.capacity import with_warnings
        from scheduler.timeparse import from_db

        variants = with_warnings(variants, state.settings.accounts,
                                 [(p.account, from_db(p.due_at)) for p in posts],
                                 lambda: state.engine, stored=True,
                                 grace=timedelta(minutes=state.settings.daemon.grace_minutes))
    else:
        from scheduler import intake
        from scheduler.compose import compose_each

        doc = read_release(target)
        from scheduler.cli.added import print_notes

        print_notes(doc)
        accounts = intake.select_accounts(state.settings, names or doc.channels,
                                          source=doc.source)
        if doc.link_from:  # website first: the others fitted with the expected address
            from scheduler import website_first

            doc = website_first.resolve(doc, accounts)
            results = website_first.compose_waiting(doc, accounts, state.settings,
                                                    doc.at or datetime.now(UTC), each=True)
        else:
            results = compose_each(doc, accounts, state.settings)
        for account, result in zip(accounts, results, strict=True):
            if isinstance(result, ComposeError):
                failed.append((account, result))
            else:
                variants.append(result)
        title = doc.title
        # a file's preview names the release's own files: their URLs are known once queued
        variants, files = render.with_prepared_media(doc, variants)
        from scheduler.capacity import with_warnings

        due = doc.at or datetime.now(UTC)
        variants = with_warnings(variants, accounts, [(v.account, due) for v in variants],
                                 lambda: state.engine,
                                 grace=timedelta(minutes=state.settings.daemon.grace_minutes))
    if html:
        try:
            html.write_text(render.render_html(variants, title=title, files=files),
                            encoding="utf-8")
        except OSError as exc:  # a folder, a missing folder, no permission
            raise SiarError(_("--html {file}: cannot write the page: {reason}").format(
                file=html, reason=exc.strerror or exc),
                hint=_("give the path of a new .html file in a folder you may write to")) from exc
        err_console.print(_("wrote {file}").format(file=html))
    if as_json:
        print_json({**render.variants_json(variants), "errors": [
            {"account": account.name, "channel": account.network, "error": exc.bare,
             "fix": exc.hint} for account, exc in failed]})
    else:
        render.render_console(variants, console.real)
        for _account, exc in failed:
            print_error(exc)
    return 1 if failed else 0  # every other account was shown; a failed one cannot be queued


# --- starting without click --------------------------------------------------------------

_GLOBAL_VALUES = {"--config": "config", "-c": "config", "--log-format": "log_format"}
_PREVIEW_VALUES = {"--channels": "channels", "--html": "html"}
_VERBOSE = re.compile(r"-v+")
#: click's shell completion asks through an environment variable (``_SIAR_COMPLETE``)
_COMPLETION = re.compile(r"_.*_COMPLETE")


def quick(args: list[str]) -> Callable[[], int | None] | None:
    """The preview ``args`` ask for, to run without click; None when click must read them
    (anything but the options above, help, a second file, a bad value)."""
    if any(_COMPLETION.fullmatch(name) for name in os.environ):
        return None
    found: dict[str, Any] = {"verbosity": 0, "as_json": False}
    rest = _options(args, _GLOBAL_VALUES, found, until="preview")
    if rest is None or found.setdefault("log_format", os.environ.get("SIAR_LOG_FORMAT")
                                        or "text") not in ("text", "json"):
        return None
    targets: list[str] = []
    if _options(rest, _PREVIEW_VALUES, found, targets=targets) is None or len(targets) != 1:
        return None
    config = found["config"] if "config" in found else os.environ.get("SIAR_CONFIG") or None
    html = found.get("html")
    if any(path is not None and os.path.exists(path) and not os.access(path, os.R_OK)
           for path in (config, html)):
        return None  # click refuses a path that is there but cannot be read

    def run() -> int | None:
        state.config = Path(config) if config is not None else None
        state.verbose = found["verbosity"] > 0
        configure_logging(found["verbosity"], found["log_format"])
        return show(targets[0], found.get("channels"), found["as_json"],
                    Path(html) if html is not None else None) or None

    return run


def _options(args: list[str], valued: dict[str, str], found: dict[str, Any], *,
             until: str | None = None, targets: list[str] | None = None) -> list[str] | None:
    """Read ``args`` into ``found`` as click would: options with a value (``--x V``,
    ``--x=V``), ``-v``/``--verbose`` (before the command) and ``--json`` (after it); the
    arguments after ``until``, or None for anything else."""
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, value = arg.partition("=")
        if name in valued and name.startswith("--") and equals:
            found[valued[name]] = value
        elif arg in valued and index + 1 < len(args):
            index += 1
            found[valued[arg]] = args[index]
        elif until is not None and (arg == "--verbose" or _VERBOSE.fullmatch(arg)):
            found["verbosity"] += 1 if arg == "--verbose" else len(arg) - 1
        elif until is None and arg == "--json":
            found["as_json"] = True
        elif until is not None and arg == until:
            return args[index + 1:]
        elif targets is not None and (arg == "-" or not arg.startswith("-")):
            targets.append(arg)
        else:
            return None
        index += 1
    return None if until is not None else []


def run_quick(start: Callable[[], int | None]) -> int | None:
    """Run a quick start, ending as a click command ends (see :func:`scheduler.cli._run`)."""
    try:
        return start()
    except (EOFError, KeyboardInterrupt) as exc:
        sys.stderr.write("\n")  # click closes the terminal's ^C echo so
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    except BrokenPipeError:  # a reader that stopped reading (siar preview … | head)
        sys.stdout = _Quiet(sys.stdout)
        sys.stderr = _Quiet(sys.stderr)
        return 1


class _Quiet:
    """A stream whose flush at exit does not complain that its reader has gone."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        with suppress(BrokenPipeError):
            self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
