"""Commands for Siar Desk: ``siar web`` (the web pages) and ``siar users`` (who may log in).
The web stack (Starlette, uvicorn, argon2) is imported only inside these commands."""

from __future__ import annotations

import click

from scheduler.cli import app, console, print_json, state
from scheduler.cli.helptext import Group
from scheduler.errors import SiarError
from scheduler.i18n import _


@app.command()
@click.option("--host", default="127.0.0.1",
              help=_("Address to listen on; keep 127.0.0.1 behind a reverse proxy."))
@click.option("--port", default=8470, type=click.IntRange(1, 65535), help=_("Port."))
@click.option("--proxy", "proxies", default="127.0.0.1", metavar="ADDRESSES",
              help=_("Reverse proxies trusted to say the visitor's address and HTTPS "
                     "(X-Forwarded-For/-Proto), comma-separated."))
def web(host: str, port: int, proxies: str) -> None:
    """Serve Siar Desk: calendar, releases with approval, status (for a browser or phone)."""
    import uvicorn

    from scheduler.web.app import build
    from scheduler.web.logs import quiet_access_log

    _check_free(host, port)  # uvicorn would only log the failure and exit
    application = build(state.settings, state.engine)
    console.print(_("Siar Desk on http://{host}:{port}/ (Ctrl-C stops it)").format(
        host=host, port=port))
    quiet_access_log()
    # The CLI runs with the cyclic collector off (scheduler.cli.main); a server that runs
    # for weeks needs it. What start-up built lives as long as the process: frozen, it is
    # not walked again by every full collection (a month's calendar had a p95 twice its
    # median from those walks).
    import gc

    gc.freeze()
    gc.enable()
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning",
                proxy_headers=True, forwarded_allow_ips=proxies, server_header=False)


def _check_free(host: str, port: int) -> None:
    """A clear error now if the address cannot be listened on (taken, or not this host's)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise SiarError(_("cannot listen on {host}:{port}: {reason}").format(
            host=host, port=port, reason=exc.strerror or exc),
            hint=_("choose another --port, or stop what uses it")) from exc


@app.group("users", cls=Group)
def users_group() -> None:
    """Who may log in to Siar Desk, and with which role."""


@users_group.command("add")
@click.argument("name", help=_("The user's name (one word), e.g. kasubag."))
@click.option("--role", required=True, type=click.Choice(("staf", "penyetuju", "admin")),
              help=_("staf: reschedule and cancel; penyetuju: approve and decline; admin: both."))
@click.option("--password-stdin", is_flag=True,
              help=_("Read the password from standard input (for scripts)."))
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a desk user; the password is asked for (never given on the command line)."""
    import sys

    from scheduler.web import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    users.add_user(state.engine, name, role, password)
    console.print(_("added {name} ({role})").format(name=name.strip(), role=role))


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    """The desk's users and their roles (never their passwords)."""
    from scheduler.web import users

    found = users.list_users(state.engine)
    if as_json:
        print_json([{"name": u.name, "role": u.role} for u in found])
        return
    for u in found:
        console.print(f"{u.name}  {u.role}")
