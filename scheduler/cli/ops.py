"""Commands for operators: the daemon, the database."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scheduler.cli import app, console, print_json, state
from scheduler.cli.accounts import accounts_group, warn_about_exposed_secrets
from scheduler.cli.actor import actor_option, who
from scheduler.errors import SiarError
from scheduler.i18n import _
from scheduler.states import label

if TYPE_CHECKING:  # imported when used: the CLI's start-up stays short
    from scheduler.status import Undelivered


@app.command()
@click.option("--dry-run", is_flag=True, help=_("Send nothing: record each would-be request in "
              "the attempt log and leave every post as it was (a rehearsal deployment, "
              "dry_run = true, ends posts as dry-run:// instead)."))
@click.option("--once", is_flag=True, help=_("Publish what is due now, then exit."))
@click.option("--until-drained", is_flag=True, help=_("Exit when no post is waiting or in "
              "flight."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the run summary as JSON."))
def daemon(dry_run: bool, once: bool, until_drained: bool, as_json: bool) -> None:
    """Publish each post at its time. Stop with Ctrl-C or SIGTERM (in-flight posts finish)."""
    # the collector, off for the CLI's short commands (see scheduler.cli.main), stays off
    # through the daemon's start-up: Daemon.run turns it on once that is frozen
    from scheduler.daemon.service import Daemon
    from scheduler.daemon.warmup import import_http_stack

    settings = state.settings
    # before the database is opened: the HTTP stack is imported while the first
    # connection is made (on PostgreSQL a server process starts for it), not after
    warm_up = import_http_stack(a.network for a in settings.enabled_accounts())
    runner = Daemon(settings, dry_run=dry_run, engine=state.engine, warm_up=warm_up)
    mode = (_("rehearsal: each due post shown, none sent, none changed") if runner.rehearsing
            else _("dry-run (nothing leaves this machine)") if runner.dry_run else _("live"))
    if not as_json:  # click, not Rich: importing Rich would delay the first post ~40 ms
        click.echo(_("siar daemon {node} started, {mode}").format(
            node=click.style(runner.node, bold=True), mode=mode))
    with runner.signals_stop_it():
        summary = runner.run(once=once, until_drained=until_drained)
    if as_json:
        print_json({"node": runner.node, "dry_run": runner.dry_run,
                    "rehearsal": runner.rehearsing, "rehearsed": summary.rehearsed,
                    "published": summary.published, "failed": summary.failed,
                    "retry": summary.retried, "unknown": summary.unknown,
                    "paused": summary.paused})
        return
    if runner.rehearsing:
        console.print(_("stopped: {count} post(s) rehearsed and left as they were; what each "
                        "would send is in its attempt log ('siar show ID')").format(
                            count=summary.rehearsed))
        return
    console.print(_("stopped: {published} published, {failed} failed, {retry} to retry, "
                    "{unknown} in doubt, {paused} paused").format(
                        published=summary.published, failed=summary.failed,
                        retry=summary.retried, unknown=summary.unknown, paused=summary.paused))


@app.command()
@click.option("--json", "as_json", is_flag=True, help=_("Print the status as JSON."))
def status(as_json: bool) -> None:
    """Is publishing healthy? Daemons alive, queue depth by state, oldest overdue post,
    and staff alerts that did not reach every notify account.

    Exits with 1 when due posts are not being picked up (for cron and monitoring), else 0;
    alerts not delivered are listed but do not change the exit code.
    """
    from rich.markup import escape

    from scheduler import queries
    from scheduler.status import snapshot, undelivered_alerts
    from scheduler.timeparse import iso, show

    settings = state.settings
    warn_about_exposed_secrets()
    snap = snapshot(state.reader, settings.daemon)
    zone = settings.timezone
    in_doubt = queries.in_doubt(state.reader, limit=20)
    undelivered = undelivered_alerts(state.reader, now=snap.now)
    overdue = snap.overdue
    if as_json:
        print_json({
            "daemons": [{"name": n.name, "host": n.host, "pid": n.pid, "alive": n.alive,
                         "heartbeat_at": iso(n.heartbeat_at, zone)} for n in snap.nodes],
            "queue": snap.depth,
            "overdue": {"count": overdue.count,
                        "oldest": (f"{overdue.oldest_release_id}/{overdue.oldest_account}"
                                   if overdue.oldest_post_id else None),
                        "oldest_due_at": iso(overdue.oldest_due, zone),
                        "waiting_seconds": round(overdue.seconds(snap.now), 1)},
            "stuck": snap.stuck,
            "paused_accounts": snap.paused_accounts,
            "rate_limited_until": {a: iso(t, zone) for a, t in snap.rate_limited.items()},
            "in_doubt": [f"{p.release_id}/{p.account}" for p in in_doubt],
            "alerts_undelivered": {
                "count": undelivered.count,
                "newest": [{"key": a.key, "kind": a.kind, "subject": a.subject,
                            "raised_at": iso(a.created_at, zone), "attempts": a.attempts,
                            "error": a.last_error, "next_try_at": iso(a.next_try_at, zone),
                            "gave_up": a.next_try_at is None} for a in undelivered.alerts]},
        })
    else:
        alive = snap.alive
        console.print(_("daemons alive: {count}").format(count=f"[bold]{len(alive)}[/]")
                      + (" — " + ", ".join(f"{n.name} (pid {n.pid})" for n in alive)
                         if alive else
                         " [red]— " + _("none: start one with 'siar daemon'") + "[/]"))
        depth = ", ".join(f"{label(k)} {v}" for k, v in snap.depth.items() if v) or _("empty")
        console.print(_("queue: {depth}").format(depth=depth))
        if overdue.oldest_post_id:
            colour = "red" if snap.stuck else "yellow"
            console.print(f"[{colour}]" + _(
                "overdue: {count}, oldest {post} due {due} ({seconds}s ago)").format(
                    count=overdue.count,
                    post=f"{overdue.oldest_release_id}/{overdue.oldest_account}",
                    due=show(overdue.oldest_due, zone),
                    seconds=f"{overdue.seconds(snap.now):.0f}") + "[/]")
        else:
            console.print(_("overdue: none"))
        paused = label("paused")
        for account, reason in snap.paused_accounts.items():
            console.print(f"[red]{paused}[/] {account}: {escape(reason or '-')} — "
                          + _("after fixing the credentials run 'siar accounts resume "
                              "{account}'").format(account=account))
        for account, until in snap.rate_limited.items():
            console.print(_("rate limited {account} until {time}").format(
                account=account, time=show(until, zone)))
        doubt = _("in doubt")
        for post in in_doubt:
            # an error text is the network's words: "[…]" in it is not Rich markup
            console.print(f"[yellow]{doubt}[/] {post.release_id}/{post.account}: "
                          f"{escape(post.last_error or '-')} — 'siar resolve "
                          f"{post.release_id}/{post.account} --published URL | --resend | "
                          "--abandon'")
        _print_undelivered(undelivered, settings.notify.accounts, zone)
    if snap.stuck:
        raise SystemExit(1)


def _print_undelivered(undelivered: Undelivered, notify_accounts: list[str], zone: str) -> None:
    from rich.markup import escape

    from scheduler.timeparse import show

    for a in undelivered.alerts:
        when = (_("next try {time}").format(time=show(a.next_try_at, zone)) if a.next_try_at
                else _("gave up after {count} attempt(s)").format(count=a.attempts))
        console.print("[red]" + _("alert not delivered") + "[/]: " + _(
            "“{subject}” (raised {time}): {error} — {when}").format(
                subject=escape(a.subject), time=show(a.created_at, zone),
                error=escape(a.last_error), when=when), highlight=False)
    if undelivered.count > len(undelivered.alerts):
        console.print(_("… and {count} more ('siar status --json')").format(
            count=undelivered.count - len(undelivered.alerts)))
    if undelivered.count:
        checks = ", ".join(f"'siar accounts check {n}'" for n in notify_accounts)
        where = checks or escape(_("[notify] accounts in siar.toml"))
        console.print(_("fix: make the notify account(s) work again ({where}); alerts are "
                        "tried again for a day after they were raised").format(where=where))


@app.command()
@click.argument("target", metavar="ID", help=_("The post in doubt: RELEASE/ACCOUNT "
                "(e.g. 12/x-lapas), or RELEASE if only one of its posts is."))
@click.option("--published", metavar="URL", help=_("It is on the network, here."))
@click.option("--resend", is_flag=True, help=_("It is not on the network: send it."))
@click.option("--abandon", is_flag=True, help=_("Give it up (marked failed)."))
@actor_option
def resolve(target: str, published: str | None, resend: bool, abandon: bool,
            actor: str | None) -> None:
    """Settle a post in doubt (its daemon stopped while sending and the network cannot tell)."""
    from scheduler import audit, queries, queue
    from scheduler.cli.releases import parse_target
    from scheduler.errors import NotFound
    from scheduler.models import Status

    release_id, account = parse_target(target)
    _release, posts = queries.release_with_posts(state.engine, release_id)
    candidates = [p for p in posts if (account is None or p.account == account)
                  and (account is not None or p.status == Status.UNKNOWN.value)]
    if len(candidates) != 1:
        names = ", ".join(f"{release_id}/{p.account}" for p in candidates) or _("none")
        raise NotFound(_("{target}: expected one post in doubt, found {posts}").format(
            target=target, posts=names),
            hint=_("name the post as RELEASE/ACCOUNT, e.g. 12/x-lapas"))
    post = candidates[0]
    new = queue.resolve(state.engine, post.id,  # type: ignore[arg-type]
                        published_url=published, resend=resend, abandon=abandon,
                        by=f"staff@{os.environ.get('USER', 'unknown')}")
    audit.record(state.engine, who(actor), "resolve", release_id, [post.account],
                 outcome=new.value, url=published)
    console.print(_("{post}: now {status}").format(post=f"{release_id}/{post.account}",
                                                   status=label(new.value)))
    if new == Status.RETRY:
        _warn_past_grace(queries.past_grace(state.engine, grace=_grace(),
                                            post_ids=[post.id]))  # type: ignore[list-item]


@accounts_group.command("resume")
@click.argument("name", help=_("The paused account."))
def resume_account(name: str) -> None:
    """Lift an account's pause after its credentials were fixed; its posts go out again."""
    from scheduler import queries, queue

    state.settings.account(name)  # raises with the list of accounts for a typo
    count = queue.resume_account(state.engine, name)
    late = queries.past_grace(state.engine, grace=_grace(), account=name)
    console.print(_("{account}: resumed; {count} paused post(s) go back to the queue "
                    "(missed ones stay missed: reschedule them)").format(account=name,
                                                                         count=count))
    _warn_past_grace(late)


def _grace() -> timedelta:
    return timedelta(minutes=state.settings.daemon.grace_minutes)


def _warn_past_grace(late: list[Any]) -> None:
    """Say which posts will be marked missed rather than sent: their time plus the grace
    period has passed (late press releases do more harm than good)."""
    if not late:
        return
    targets = ", ".join(f"{p.release_id}/{p.account}" for p in late[:10])
    more = " " + _("and {count} more").format(count=len(late) - 10) if len(late) > 10 else ""
    console.print("[yellow]" + _("{count} post(s) are past their time plus the grace period "
                                 "and will be marked missed, not sent: {posts}").format(
                      count=len(late), posts=targets + more) + "[/yellow]\n"
                  + _("to send one now anyway: 'siar reschedule RELEASE/ACCOUNT --at now'"),
                  markup=True)


@app.group("db", no_args_is_help=True)
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head", help=_("Target revision (default: head)."))
def db_upgrade(revision: str) -> None:
    """Apply migrations (also done automatically on first use)."""
    from scheduler import db

    engine = db.make_engine(state.settings.database_url)
    db.upgrade(engine, revision)
    console.print(_("database at revision {revision}").format(
        revision=db.current_revision(engine)))


@db_group.command("downgrade")
@click.argument("revision", help=_("Target revision, e.g. base."))
@click.option("--yes", is_flag=True, help=_("Do not ask for confirmation."))
def db_downgrade(revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION (drops what newer revisions added: back up first)."""
    from scheduler import db

    engine = db.make_engine(state.settings.database_url)
    question = _("revert the database from {current} down to {revision}? Columns and tables "
                 "added since are dropped, with their data").format(
                     current=db.current_revision(engine) or "base", revision=revision)
    try:
        confirmed = yes or click.confirm(question, err=True)
    except click.Abort:  # no terminal to answer on (a script, a service)
        confirmed = False
    if not confirmed:
        raise SiarError(_("downgrade not confirmed; nothing was changed"),
                        hint=_("back up the database first; --yes skips the question"))
    db.downgrade(engine, revision)
    console.print(_("database at revision {revision}").format(
        revision=db.current_revision(engine) or "base"))


@db_group.command("backup")
@click.argument("target", type=click.Path(path_type=Path), metavar="FILE")
@click.option("--force", is_flag=True, help=_("Overwrite FILE if it exists."))
def db_backup(target: Path, force: bool) -> None:
    """Write a consistent copy of the SQLite database to FILE, safe while daemons run."""
    from scheduler.backup import backup

    backup(state.settings.database_url, target, overwrite=force)
    console.print(_("backed up to {file}").format(file=f"[bold]{target}[/]"))


@db_group.command("current")
@click.option("--json", "as_json", is_flag=True)
def db_current(as_json: bool) -> None:
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
        console.print(_("{url}: revision {revision} (head {head})").format(
            url=url, revision=revision or _("none"), head=db.HEAD_REVISION))
