"""Commands for approvers: approve or decline a release queued under approval, and read
the audit log of who did what."""

from __future__ import annotations

import click

from scheduler.cli import app, console, print_json, state
from scheduler.cli.actor import actor_option, who
from scheduler.cli.releases import parse_target
from scheduler.i18n import _


@app.command()
@click.argument("target", metavar="ID", help=_("Release id, or ID/ACCOUNT for one post."))
@click.option("--comment", help=_("A note for staff and the audit log."))
@click.option("--link", is_flag=True, help=_("Do not approve: print a one-time link that "
              "opens the release for an approver on a phone."))
@click.option("--to", "recipient", metavar="NAME",
              help=_("With --link: the approver the link is for (the approval names them)."))
@click.option("--hours", default=24.0, type=click.FloatRange(0.1, 24 * 14),
              help=_("With --link: how long the link works."))
@click.option("--base-url", envvar="SIAR_WEB_URL", show_envvar=True,
              default="http://127.0.0.1:8470",
              help=_("With --link: the address staff reach 'siar web' at."))
@actor_option
def approve(target: str, comment: str | None, link: bool, recipient: str | None,
            hours: float, base_url: str, actor: str | None) -> None:
    """Approve a release awaiting approval: it goes out at its time (or, with --link,
    send an approver a link to approve it from a phone)."""
    from scheduler import approval

    release_id, account = parse_target(target)
    if link:
        _print_link(release_id, account, recipient, hours, base_url, who(actor))
        return
    posts = approval.approve(state.engine, release_id, account, by=who(actor),
                             comment=comment)
    console.print(_("approved {count} post(s) of release {id}: {accounts}").format(
        count=len(posts), id=release_id, accounts=", ".join(p.account for p in posts)))


def _print_link(release_id: int, account: str | None, recipient: str | None, hours: float,
                base_url: str, by: str) -> None:
    """Issue an approval link and print its URL (the only place the token ever is)."""
    from datetime import timedelta

    from scheduler import queries
    from scheduler.errors import SiarError
    from scheduler.web import links

    if not recipient or not recipient.strip():
        raise SiarError(_("--link needs --to NAME: the approver the link is for"),
                        hint=_("e.g. siar approve --link {id} --to kasubag").format(
                            id=release_id))
    if account:
        raise SiarError(_("a link opens a whole release, not one account"),
                        hint=_("give the release id alone, e.g. {id}").format(id=release_id))
    if not base_url.startswith(("http://", "https://")):
        raise SiarError(_("--base-url {url} is not an http(s) address").format(
            url=repr(base_url)), hint=_("e.g. https://siar.lapas.example.go.id"))
    _release, posts = queries.release_with_posts(state.engine, release_id)
    if not any(p.status == "awaiting_approval" for p in posts):
        raise SiarError(_("release {id}: no post is awaiting approval").format(id=release_id),
                        hint=_("'siar show {id}' shows each post's status").format(
                            id=release_id))
    token = links.issue(state.engine, release_id, issued_to=recipient.strip(), issued_by=by,
                        lifetime=timedelta(hours=hours))
    console.print(f"{base_url.rstrip('/')}/tautan/{token}", highlight=False, soft_wrap=True)


@app.command()
@click.argument("target", metavar="ID", help=_("Release id, or ID/ACCOUNT for one post."))
@click.option("--comment", required=True, help=_("Why, for the staff who correct it."))
@actor_option
def reject(target: str, comment: str, actor: str | None) -> None:
    """Decline a release awaiting approval, with the reason; staff correct it and give it
    a new time ('siar reschedule'), which asks for approval again."""
    from scheduler import approval

    release_id, account = parse_target(target)
    posts = approval.decline(state.engine, release_id, account, by=who(actor),
                             comment=comment)
    console.print(_("declined {count} post(s) of release {id}: {accounts}").format(
        count=len(posts), id=release_id, accounts=", ".join(p.account for p in posts)))


@app.command("audit")
@click.option("--since", help=_("From this time, e.g. '1/11/2026 00.00' or '-7 hari'."))
@click.option("--release", "release_id", type=int, help=_("Only this release."))
@click.option("--limit", default=500, help=_("At most this many entries (the newest)."))
@click.option("--json", "as_json", is_flag=True)
def audit_log(since: str | None, release_id: int | None, limit: int, as_json: bool) -> None:
    """Who queued, approved, declined, rescheduled, cancelled or resolved what, and when."""
    from rich.markup import escape
    from rich.table import Table

    from scheduler import queries
    from scheduler.cli.releases import _moment
    from scheduler.timeparse import iso, show

    zone = state.settings.timezone
    rows = queries.audit_entries(state.reader, since=_moment(since, "--since"),
                                 release_id=release_id, limit=limit)
    if as_json:
        print_json([{"at": iso(e.at, zone), "actor": e.actor, "action": e.action,
                     "release": e.release_id, "accounts": e.accounts, "detail": e.detail}
                    for e in rows])
        return
    if not rows:
        console.print(_("nothing in the audit log for that") if since or release_id
                      else _("the audit log is empty"))
        return
    table = Table(box=None, padding=(0, 1))
    for heading in (_("when"), _("who"), _("action"), _("release"), _("accounts")):
        table.add_column(heading, no_wrap=True)
    table.add_column(_("detail"), overflow="fold")
    for e in rows:
        detail = "; ".join(f"{k}: {v}" for k, v in e.detail.items())
        table.add_row(show(e.at, zone), escape(e.actor), e.action, str(e.release_id or "-"),
                      ", ".join(e.accounts), escape(detail))
    console.print(table)
