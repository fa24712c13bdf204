"""Commands about channel accounts: what is configured, and do the credentials work."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scheduler.cli import app, console, err_console, print_json, state
from scheduler.i18n import _

if TYPE_CHECKING:
    from channels.base import CheckResult
    from scheduler.media_hosting import PublicStore


def warn_about_exposed_secrets() -> None:
    """On stderr (JSON on stdout stays clean): each file holding secrets that group or
    others can read, with the command that fixes it."""
    from rich.markup import escape

    from scheduler.envfile import exposure_warnings

    for warning in exposure_warnings(state.settings):
        err_console.print("[yellow]" + _("warning") + f":[/] {escape(warning)}",
                          highlight=False)


@app.group("accounts", invoke_without_command=True,
           help=_("Channel accounts: list them, check their credentials."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the accounts as JSON."))
@click.pass_context
def accounts_group(ctx: click.Context, as_json: bool) -> None:
    """Without a subcommand: list configured accounts and whether their secrets are set
    (values never shown)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from channels import registry

    rows = []
    for account in state.settings.accounts:
        try:
            cls = registry.load(account.network)
            fields = cls.secret_fields
        except Exception as exc:  # an uninstalled third-party network is worth reporting
            rows.append((account, [], str(exc)))
            continue
        missing = [account.secret_variable(f) for f in fields
                   if not state.settings.secret(account, f, required=False)]
        rows.append((account, missing, None))
    warn_about_exposed_secrets()
    if as_json:
        print_json([{"name": a.name, "channel": a.network, "enabled": a.enabled,
                     "base_url": a.base_url, "timezone": a.timezone, "slots": a.slots,
                     "missing_secrets": missing, "error": error}
                    for a, missing, error in rows])
        return
    if not rows:
        console.print(_("no accounts configured; run {command} for a starter siar.toml")
                      .format(command="[bold]siar init[/]"))
        return
    table = Table(_("account"), _("network"), _("enabled"), _("secrets"), _("slots"))
    is_set, yes, no = _("set"), _("yes"), _("no")
    for account, missing, error in rows:
        secrets = (f"[red]{error}[/]" if error else f"[green]{is_set}[/]" if not missing
                   else "[red]" + _("missing {variables}").format(
                       variables=", ".join(missing)) + "[/]")
        table.add_row(account.name, account.network, yes if account.enabled else no,
                      secrets, account.slots or "-")
    console.print(table)


@accounts_group.command("check")
@click.argument("name", required=False, help=_("Only this account."))
@click.option("--json", "as_json", is_flag=True)
def check_accounts(name: str | None, as_json: bool) -> None:
    """Verify credentials against each network (nothing is posted); report token expiry.
    Without NAME, also the [media] store: a 1×1 image is put there, fetched back from its
    public URL and deleted."""
    from channels.base import CheckResult
    from scheduler.adapters import Adapters
    from scheduler.errors import SiarError
    from scheduler.timeparse import iso, show

    accounts = [state.settings.account(name)] if name else state.settings.enabled_accounts()
    adapters = Adapters(state.settings)
    results: list[tuple[str, str, CheckResult]] = []
    for account in accounts:
        try:
            result = adapters.get(account.name).check()
        except SiarError as exc:
            result = CheckResult(ok=False, detail=str(exc))
        results.append((account.name, account.network, result))
    if adapters.store is not None and name is None:
        results.append(("[media] store", adapters.store.name, check_store(adapters.store)))
    adapters.close()
    if as_json:
        print_json([{"account": n, "channel": c, "ok": r.ok, "detail": r.detail,
                     "identity": r.identity,
                     "expires_at": iso(r.expires_at) if r.expires_at else None}
                    for n, c, r in results])
    else:
        from rich.markup import escape

        ok, failed = _("ok"), _("FAILED")
        for account_name, network, r in results:
            mark = f"[green]{ok}[/]" if r.ok else f"[red]{failed}[/]"
            expiry = (", " + _("token expires {time}").format(time=show(r.expires_at))
                      if r.expires_at else "")
            who = " " + _("as {identity}").format(identity=r.identity) if r.identity else ""
            # escaped: "[media] store" and a network's "[...]" are text, not markup
            console.print(f"{mark}  " + escape(f"{account_name} ({network}){who}: "
                                               f"{r.detail}{expiry}"), highlight=False)
    if not all(r.ok for _name, _network, r in results):
        raise SystemExit(1)


def check_store(store: PublicStore) -> CheckResult:
    """The store's round trip as a check result (its error in words, never a secret)."""
    from channels.base import CheckResult
    from scheduler.envfile import redact
    from scheduler.media_hosting import StoreError, round_trip

    try:
        return CheckResult(ok=True, detail=round_trip(store))
    except StoreError as exc:
        return CheckResult(ok=False, detail=redact(str(exc)))


@accounts_group.command("refresh")
@click.argument("name", help=_("The account whose token to extend (e.g. Threads)."))
@click.option("--env-file", envvar="SIAR_ENV_FILE", show_envvar=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help=_("Where the new token is written (default: the .env secrets are read "
                   "from)."))
def refresh_account(name: str, env_file: Path | None) -> None:
    """Extend a long-lived token that expires (Threads: 60 days) and store it in .env.

    Secrets live outside the database, so the new token goes where secrets are read from;
    its value is never printed. Restart the daemon afterwards so it reads the new token.
    """
    from scheduler import envfile
    from scheduler.adapters import Adapters
    from scheduler.errors import SiarError
    from scheduler.timeparse import show

    account = state.settings.account(name)
    env_file = env_file or envfile.env_file_path()
    variable = account.secret_variable("access_token")
    # Checked before asking the network: a token it issues that cannot take effect, or
    # cannot be stored, would be reported as a success that is not one.
    if os.environ.get(variable):
        raise SiarError(
            _("{variable} is set in the environment, and the environment wins over {file}: a "
              "refreshed token written there would never be used. Nothing was refreshed")
            .format(variable=variable, file=env_file),
            hint=_("keep the token in {file} only: put it there, remove {variable} from the "
                   "environment (your shell, the service's unit file) and run this again")
            .format(variable=variable, file=env_file))
    if problem := envfile.writable_dir(env_file):
        raise SiarError(_("cannot write {file}: {problem}. Nothing was refreshed").format(
            file=env_file, problem=problem),
            hint=_("run as the user who owns {file}, or pass --env-file").format(file=env_file))
    adapter = Adapters(state.settings).get(account.name)
    refresh = getattr(adapter, "refresh_token", None)
    if refresh is None:
        raise SiarError(_("{account} ({network}): this network's tokens do not need "
                          "refreshing by Siar").format(account=name, network=account.network))
    try:
        result = refresh()
    finally:
        adapter.close()
    token = getattr(result, "access_token", None)
    if token is None:
        raise SiarError(_("{account}: the network refused to refresh the token: {answer}")
                        .format(account=name, answer=result),
                        hint=_("log in again on the network and put the new token in .env"))
    envfile.check_token(token, _("{name}: the token the network answered").format(name=name))
    written = envfile.write_secret(env_file, variable, token)
    where = (_("{file} (a link: written to {target})").format(
        file=env_file, target=written.target) if written.via_link else str(env_file))
    console.print(_("updated {variable} in {where}; the token now expires {time}. Restart the "
                    "daemon to use it.").format(variable=variable, where=where,
                                                time=show(result.expires_at, account.timezone)),
                  highlight=False)
    if written.tightened_from is not None:
        console.print(_("{file} was readable by others (mode {mode}): it is now 0600").format(
            file=written.target, mode=f"{written.tightened_from:04o}"), highlight=False)
    reads = envfile.env_file_path()
    if written.target != Path(os.path.realpath(reads)):
        console.print("[yellow]" + _("note") + ":[/] " + _(
            "secrets are read from {reads}, not {file}: start the daemon with "
            "SIAR_ENV_FILE={file}").format(reads=reads, file=env_file), highlight=False)
