"""Commands for operators: the daemon, the database."""

from __future__ import annotations

import typer

from scheduler.cli import app, console, print_json, state

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def daemon(
    dry_run: bool = typer.Option(False, "--dry-run", help="Run the whole pipeline but send "
                                 "nothing: record each would-be request instead."),
    once: bool = typer.Option(False, "--once", help="Publish what is due now, then exit."),
    until_drained: bool = typer.Option(False, "--until-drained", help="Exit when no post is "
                                       "waiting or in flight."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Publish each post at its time. Stop with Ctrl-C or SIGTERM (in-flight posts finish)."""
    from scheduler.daemon import Daemon

    runner = Daemon(state.settings, dry_run=dry_run, engine=state.engine)
    runner.install_signal_handlers()
    mode = "dry-run (nothing leaves this machine)" if runner.dry_run else "live"
    if not as_json:
        console.print(f"siar daemon [bold]{runner.node}[/] started, {mode}")
    summary = runner.run(once=once, until_drained=until_drained)
    if as_json:
        print_json({"node": runner.node, "dry_run": runner.dry_run,
                    "published": summary.published, "failed": summary.failed,
                    "retry": summary.retried, "unknown": summary.unknown,
                    "paused": summary.paused})
        return
    console.print(f"stopped: {summary.published} published, {summary.failed} failed, "
                  f"{summary.retried} to retry, {summary.unknown} in doubt, "
                  f"{summary.paused} paused")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (also done automatically on first use)."""
    from scheduler import db

    engine = db.make_engine(state.settings.database_url)
    db.upgrade(engine, revision)
    console.print(f"database at revision {db.current_revision(engine)}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Revert migrations down to REVISION."""
    from scheduler import db

    engine = db.make_engine(state.settings.database_url)
    db.downgrade(engine, revision)
    console.print(f"database at revision {db.current_revision(engine) or 'base'}")


@db_app.command("current")
def db_current(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the schema revision and where the database is."""
    from sqlalchemy.engine import make_url

    from scheduler import db

    engine = db.make_engine(state.settings.database_url)
    url = make_url(db.normalise_url(state.settings.database_url)).render_as_string(
        hide_password=True)
    revision = db.current_revision(engine)
    if as_json:
        print_json({"database": url, "revision": revision, "head": db.HEAD_REVISION})
    else:
        console.print(f"{url}: revision {revision or 'none'} (head {db.HEAD_REVISION})")
