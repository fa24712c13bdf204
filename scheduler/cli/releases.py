"""Commands for PR staff: write, preview, queue, inspect and withdraw releases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scheduler.cli import app, console, err_console, print_json, state
from scheduler.cli.actor import actor_option, who
from scheduler.cli.previewing import read_release as _read_release
from scheduler.errors import NotFound, SiarError
from scheduler.i18n import _
from scheduler.states import label, outcome_label

#: how ``siar queue`` and ``siar show`` colour each state (scheduler.states.Status)
STATUS_STYLE = {
    "scheduled": "cyan", "claimed": "blue", "publishing": "blue", "published": "green",
    "retry": "yellow", "failed": "red", "unknown": "magenta", "cancelled": "dim",
    "missed": "red", "paused": "red", "waiting": "yellow", "awaiting_approval": "yellow",
    "declined": "red",
}


def parse_target(target: str) -> tuple[int, str | None]:
    """``12`` → release 12; ``12/x-lapas`` → that release's post for account x-lapas."""
    release, _slash, account = target.partition("/")
    if not release.isdigit():
        raise NotFound(_("{target} is not a release id").format(target=repr(target)),
                       hint=_("use the number shown by 'siar queue', e.g. 12 or 12/x-lapas"))
    return int(release), account or None


@app.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."),
                help=_("Where to write the starter files (default: .)."))
@click.option("--force", is_flag=True, help=_("Overwrite existing files."))
def init(directory: Path, force: bool) -> None:
    """Write a starter siar.toml and an example release (with its photo) to edit."""
    import shutil

    from scheduler.resources import config_dir

    directory.mkdir(parents=True, exist_ok=True)
    pairs = [(config_dir() / "siar.example.toml", directory / "siar.toml"),
             (config_dir() / "example-release.md", directory / "rilis-contoh.md"),
             (config_dir() / "foto-rakor.jpg", directory / "foto-rakor.jpg")]
    for _source, target in pairs:
        if target.exists() and not force:
            raise SiarError(_("{file} already exists").format(file=target),
                            hint=_("use --force to overwrite it"))
    for source, target in pairs:
        shutil.copyfile(source, target)
        console.print(_("wrote {file}").format(file=f"[bold]{target}[/]"))
    console.print(_("next: put the accounts' secrets in .env (see siar.toml), then {command}")
                  .format(command="[bold]siar preview rilis-contoh.md[/]"))


@app.command()
@click.argument("sources", metavar="FILE|- [FILE…]", nargs=-1, required=True,
                help=_("Release files (.md, .txt, .docx), or - for standard input. Several "
                "files are queued together, all or none."))
@click.option("--at", help=_("When: '2026-12-10 10.00 WIB', 'besok 09.00', 'Jumat 07.30', "
              "'+2 jam', 'now'. Overrides the front matter."))
@click.option("--channels", help=_("Comma-separated account or network names (default: front "
              "matter, else all)."))
@click.option("--next-slot", is_flag=True, help=_("Use the accounts' next posting slot (the "
              "latest of them, so all go out together)."))
@click.option("--now", "at_once", is_flag=True, help=_("Publish as soon as the daemon can "
              "(same as --at now)."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the queued posts as JSON."))
@actor_option
def add(sources: tuple[str, ...], at: str | None, channels: str | None, next_slot: bool,
        at_once: bool, as_json: bool, actor: str | None) -> None:
    """Queue releases: one post per account, composed now, published at its time (the
    release's 'at:', or --at / --next-slot / --now; a release without a time is refused)."""
    from scheduler import intake

    if sum((at is not None, next_slot, at_once)) > 1:
        raise SiarError(_("give one of --at, --next-slot and --now"),
                        hint=_("they all say when; keep the one you mean"))
    at = "now" if at_once else at
    if sources.count("-") > 1:
        raise SiarError(_("standard input (-) can be read only once"),
                        hint=_("name the other releases by their files"))
    names = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
    from scheduler.cli.add_plans import plan_sources
    from scheduler.cli.added import EarlyStore, get_ready, print_added

    # every release is read, composed and checked before anything is committed: a long
    # calendar's first releases are stored while the last are read, in a transaction
    # that a bad file rolls back
    with EarlyStore(actor) as early:
        plans = plan_sources(sources, _read_release, intake.Intake(state.settings), at=at,
                             channels=names, next_slot=next_slot, meanwhile=get_ready,
                             planned=early)
        # the posts name copies in the media store, so what is published is what was queued
        # (the media machinery imported only then: 30-60 ms of imports otherwise, at the
        # end of a calendar of text releases, while no other core has work left)
        if any(plan.doc.images or plan.doc.videos for plan in plans):
            from scheduler.media_store import MediaStore

            plans = intake.keep_media(plans, MediaStore())
        stored = early.rest(plans)
    print_added(plans, as_json, by=who(actor), stored=stored)


@app.command()
@click.argument("target", metavar="FILE|-|ID",
                help=_("A release file, - for stdin, or the id of a queued release."))
@click.option("--channels", help=_("Only these accounts or networks."))
@click.option("--json", "as_json", is_flag=True, help=_("Print {\"variants\": [...]} as JSON."))
@click.option("--html", type=click.Path(path_type=Path),
              help=_("Also write a self-contained HTML page with one card per account."))
def preview(target: str, channels: str | None, as_json: bool, html: Path | None) -> None:
    """Show exactly what each account would publish, without touching any network."""
    from scheduler.cli.previewing import show

    if code := show(target, channels, as_json, html):
        raise click.exceptions.Exit(code)


@app.command()
@click.argument("text", metavar="TEXT|-", help=_("The text to measure, or - for stdin."))
@click.option("--channel", multiple=True, help=_("Only these networks (repeatable)."))
@click.option("--json", "as_json", is_flag=True)
def count(text: str, channel: tuple[str, ...], as_json: bool) -> None:
    """Length and limit of a text on each network, counted the way that network counts."""
    from rich.table import Table

    from scheduler.preview import count_text

    if text == "-":
        text = sys.stdin.read()
    rows = count_text(text, list(channel) or None)
    if as_json:
        print_json(rows)
        return
    table = Table(_("network"), _("length"), _("limit"), _("fits"))
    yes, no = _("yes"), _("no")
    for row in rows:
        fits = f"[green]{yes}[/]" if row["fits"] else f"[red]{no}[/]"
        table.add_row(row["channel"], str(row["length"]), str(row["limit"] or "-"), fits)
    console.print(table)


@app.command("queue")
@click.option("--status", "-s", multiple=True, help=_("Only posts in this status (repeatable): "
              "scheduled, retry, published, failed, unknown, paused, missed, cancelled …"))
@click.option("--all", "include_done", is_flag=True, help=_("Include published and cancelled."))
@click.option("--limit", default=200)
@click.option("--json", "as_json", is_flag=True)
def list_queue(status: tuple[str, ...], include_done: bool, limit: int, as_json: bool) -> None:
    """List posts: pending ones first, by due time."""
    from scheduler import queries
    from scheduler.timeparse import iso, show

    rows = queries.posts(state.reader, statuses=list(status) or None, include_done=include_done,
                         limit=limit)
    pauses = queries.blocked_by_pause(state.reader)
    if as_json:
        print_json([{"id": f"{p.release_id}/{p.account}", "release": p.release_id,
                     "title": r.title, "account": p.account, "channel": p.network,
                     "status": p.status, "blocked": queries.blocked(p, pauses),
                     "due_at": iso(p.due_at, r.zone),
                     "not_before": iso(p.not_before, r.zone), "attempts": p.attempt,
                     "remote_url": p.remote_url, "error": p.last_error} for p, r in rows])
        return
    if not rows:
        console.print(_("the queue is empty") if not status else _("no posts in that status"))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    table.add_column(_("id"), no_wrap=True)  # the ID staff type next: never cut
    table.add_column(_("due"), no_wrap=True)
    for name in (_("status"), _("blocked"), _("network"), _("title")):
        table.add_column(name)
    table.add_column(_("note"), overflow="fold")
    paused_account = _("paused account")
    for post, release in rows:
        style = STATUS_STYLE.get(post.status, "")
        note = escape(post.remote_url or (post.last_error or "")[:60])
        if post.status == "retry":
            note = _("next try {time}").format(time=show(post.not_before, release.zone))
        elif post.status == "waiting":
            note = _("waits for {account}'s website post").format(account=post.link_from)
        why = queries.blocked(post, pauses)
        if why:  # waiting for staff, not for its time: say so, and how to lift it
            note = _("{why}; fix it, then 'siar accounts resume {account}'").format(
                why=escape(why[:60]), account=post.account)
        table.add_row(f"{post.release_id}/{post.account}", show(post.due_at, release.zone),
                      f"[{style}]{label(post.status)}[/]",
                      f"[red]{paused_account}[/]" if why else "",
                      post.network, escape(release.title[:40]), note)
    console.print(table)


@app.command("show")
@click.argument("target", metavar="ID", help=_("Release id (or ID/ACCOUNT)."))
@click.option("--json", "as_json", is_flag=True)
def show_release(target: str, as_json: bool) -> None:
    """A release with each account's post, status and full attempt log."""
    from rich.markup import escape
    from rich.table import Table

    from scheduler import queries
    from scheduler.timeparse import iso, show

    release_id, account = parse_target(target)
    release, posts = queries.release_with_posts(state.reader, release_id)
    posts = [p for p in posts if account is None or p.account == account]
    attempts = queries.attempts_for(state.reader, [p.id for p in posts])
    zone = release.zone
    upcoming = _next_occurrences(release.repeat, zone) if release.repeat else []
    # the posts carry the time: `siar reschedule` moves them, maybe one account only
    from scheduler import states

    waiting = [p.due_at for p in posts if p.status not in states.values(states.DONE)]
    due = min(waiting) if waiting else release.due_at
    if as_json:
        print_json({
            "id": release.id, "title": release.title, "source": release.source,
            "due_at": iso(due, zone), "zone": zone, "hashtags": release.hashtags,
            "link": release.link, "repeat": release.repeat,
            "next_occurrences": [iso(t, zone) for t in upcoming],
            "posts": [{
                "id": f"{release.id}/{p.account}", "account": p.account, "channel": p.network,
                "status": p.status, "due_at": iso(p.due_at, zone), "attempts": p.attempt,
                "link_from": p.link_from, "remote_id": p.remote_id,
                "remote_url": p.remote_url, "error": p.last_error, "variant": p.variant,
                "log": [{"attempt": a.attempt, "node": a.node,
                         "started_at": iso(a.started_at, zone),
                         "finished_at": iso(a.finished_at, zone), "outcome": a.outcome,
                         "http_status": a.http_status, "remote_url": a.remote_url,
                         "error": a.error} for a in attempts.get(p.id, [])],
            } for p in posts],
        })
        return
    console.print(f"[bold]{release.id}[/] “{escape(release.title)}”  " + _(
        "due {time}  from {source}").format(time=show(due, zone),
                                           source=escape(release.source)))
    if release.repeat:
        console.print("  " + _("repeats {rule}; next: {times}").format(
            rule=f"[bold]{escape(release.repeat)}[/]",
            times=", ".join(show(t, zone) for t in upcoming)), highlight=False)
    for post in posts:
        style = STATUS_STYLE.get(post.status, "")
        waits = (" " + _("for {account}'s website post").format(account=post.link_from)
                 if post.status == "waiting" else "")
        console.print(f"\n  [bold]{release.id}/{post.account}[/] ({post.network}) "
                      f"[{style}]{label(post.status)}{waits}[/]  "
                      + _("due {time}").format(time=show(post.due_at, zone))
                      + f"  {post.remote_url or ''}")
        if post.last_error:
            console.print(f"    [red]{escape(post.last_error)}[/]", highlight=False)
        log = attempts.get(post.id, [])
        if log:
            table = Table(_("attempt"), _("node"), _("started"), _("outcome"), "http",
                          _("detail"), box=None, padding=(0, 1))
            for a in log:
                table.add_row(str(a.attempt), a.node, show(a.started_at, zone),
                              outcome_label(a.outcome), str(a.http_status or ""),
                              escape(_attempt_detail(a)))
            console.print(table)


def _attempt_detail(a: Any) -> str:
    """The one line ``siar show`` gives an attempt: its URL, its error, or (a dry run) the
    first request it would have sent."""
    if a.remote_url or a.error:
        return a.remote_url or a.error[:70]
    requests = (a.detail or {}).get("dry_run_requests") or []
    if requests:
        first = requests[0]
        more = f" (+{len(requests) - 1})" if len(requests) > 1 else ""
        return _("would send {request}").format(
            request=f"{first.get('method', '')} {first.get('url', '')}{more}")[:90]
    return ""


@app.command()
@click.argument("target", metavar="ID", help=_("Release id, or ID/ACCOUNT for one post."))
@actor_option
def cancel(target: str, actor: str | None) -> None:
    """Withdraw a release's posts that have not gone out (published ones stay)."""
    from scheduler import audit, queries, queue
    from scheduler.states import CANCELLABLE

    release_id, account = parse_target(target)
    ids = queries.post_ids_in(state.engine, release_id, account, CANCELLABLE)
    if not ids:
        raise SiarError(_("release {target}: nothing left to cancel").format(target=target),
                        hint=_("'siar show ID' shows each post's status"))
    done = queue.cancel(state.engine, ids)
    _release, posts = queries.release_with_posts(state.engine, release_id)
    audit.record(state.engine, who(actor), "cancel", release_id,
                 [p.account for p in posts if p.id in done])
    console.print(_("cancelled {count} post(s) of release {id}").format(count=len(done),
                                                                         id=release_id))


def _next_occurrences(rule: str, zone: str, count: int = 3) -> list[Any]:
    from datetime import UTC, datetime, timedelta
    from itertools import islice

    from scheduler.cron import occurrences

    now = datetime.now(UTC)
    return list(islice(occurrences(rule, zone, now, now + timedelta(days=366)), count))


@app.command()
@click.argument("target", metavar="ID", help=_("Release id, or ID/ACCOUNT."))
@click.option("--at", required=True,
              help=_("The new time, e.g. 'besok 09.00' or '10/12/2026 10.00 WITA'."))
@actor_option
def reschedule(target: str, at: str, actor: str | None) -> None:
    """Move a release's pending (or missed/failed) posts to a new time; under approval
    they wait for the approver again."""
    from datetime import UTC, datetime

    from scheduler import approval, intake, queries
    from scheduler.errors import ReleaseError
    from scheduler.states import REAPPROVABLE, Status
    from scheduler.timeparse import TimeParseError, parse_when, show

    release_id, account = parse_target(target)
    try:
        when, zone = parse_when(at, default_zone=state.settings.timezone)
    except TimeParseError as exc:
        raise ReleaseError("--at", None, str(exc)) from exc
    if when < datetime.now(UTC) - intake.PAST_TOLERANCE:
        raise ReleaseError("--at", None, _("{time} is in the past").format(
            time=show(when, zone)), hint=_("give a future time or 'now'"))
    ids = queries.post_ids_in(state.engine, release_id, account, REAPPROVABLE)
    # a post in doubt may be on the network: a new time would send it again blindly
    doubtful = queries.post_ids_in(state.engine, release_id, account, (Status.UNKNOWN,))
    settle = _("posts in doubt (unknown) are settled first: 'siar status' shows the "
               "'siar resolve' command for each")
    if not ids:
        raise SiarError(_("release {target}: no post can be rescheduled").format(
            target=target), hint=settle if doubtful else
            _("published and cancelled posts stay as they are"))
    done = approval.reschedule(state.engine, state.settings, release_id, account, when,
                               by=who(actor))
    if not done:
        raise SiarError(_("release {target}: no post can be rescheduled").format(
            target=target), hint=_("posts awaiting approval or declined are rescheduled only "
                                   "where approval is required"))
    console.print(_("rescheduled {count} post(s) of release {id} to {time}").format(
        count=len(done), id=release_id, time=show(when, zone)))
    again = [p.account for p in done if state.settings.needs_approval(p.account)]
    if again:
        console.print(_("awaiting approval again: {accounts} ('siar approve {id}')").format(
            accounts=", ".join(again), id=release_id))
    if doubtful:
        err_console.print("[yellow]" + _("note") + ":[/] " + _(
            "{count} post(s) left as they are: {why}").format(count=len(doubtful), why=settle),
            highlight=False)


@app.command()
@click.option("--limit", default=50, help=_("At most this many attempts."))
@click.option("--since", help=_("From this time, e.g. '1/11/2026 00.00' or '-7 hari'."))
@click.option("--until", help=_("Before this time, e.g. '2026-12-01 00.00'."))
@click.option("--status", "outcomes", multiple=True,
              help=_("Only attempts with this outcome, e.g. published (repeatable)."))
@click.option("--account", "accounts", multiple=True, help=_("Only this account (repeatable)."))
@click.option("--wide", is_flag=True, help=_("Full errors too (links are never cut)."))
@click.option("--json", "as_json", is_flag=True)
def history(limit: int, since: str | None, until: str | None, outcomes: tuple[str, ...],
            accounts: tuple[str, ...], wide: bool, as_json: bool) -> None:
    """The attempt log, newest first: who published what, where, with what result."""
    from scheduler import queries
    from scheduler.timeparse import iso, show

    rows = queries.history(state.reader, limit=limit, since=_moment(since, "--since"),
                           until=_moment(until, "--until"), outcomes=outcomes,
                           accounts=accounts)
    if as_json:
        print_json([{"post": f"{p.release_id}/{p.account}", "title": r.title,
                     "account": p.account, "channel": p.network, "attempt": a.attempt,
                     "node": a.node, "started_at": iso(a.started_at, r.zone),
                     "finished_at": iso(a.finished_at, r.zone), "outcome": a.outcome,
                     "http_status": a.http_status, "remote_id": a.remote_id,
                     "remote_url": a.remote_url, "error": a.error,
                     "requests": (a.detail or {}).get("dry_run_requests")}
                    for a, p, r in rows])
        return
    if not rows:
        console.print(_("nothing in the log for that") if since or until or outcomes
                      or accounts else _("nothing has been published yet"))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, padding=(0, 1))
    table.add_column(_("when"), no_wrap=True)
    table.add_column(_("post"), no_wrap=True)  # the ID staff type next: never cut
    table.add_column(_("network"))
    table.add_column(_("outcome"))
    table.add_column(_("url / error"), overflow="fold")  # a link is folded, never cut
    for a, p, r in rows:
        style = "green" if a.outcome in ("published", "dry_run", "rehearsed") else "yellow"
        error = a.error or ""
        table.add_row(show(a.finished_at or a.started_at, r.zone), f"{p.release_id}/{p.account}",
                      p.network, f"[{style}]{outcome_label(a.outcome)}[/]",
                      escape(a.remote_url or (error if wide else error[:80])))
    console.print(table)


def _moment(text: str | None, option: str) -> Any:
    from scheduler.timeparse import TimeParseError, parse_when

    if text is None:
        return None
    try:
        return parse_when(text, default_zone=state.settings.timezone)[0]
    except TimeParseError as exc:
        raise SiarError(f"{option}: {exc}") from exc
