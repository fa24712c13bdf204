"""`siar report`: the publication recap for the regional office."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli import app, console, state
from scheduler.errors import SiarError
from scheduler.i18n import _

FORMATS = ("table", "csv", "xlsx", "json")


@app.command()
@click.option("--month", help=_("A month, e.g. 2026-11."))
@click.option("--week", help=_("A week number, e.g. 2026-W48 (Monday to Sunday)."))
@click.option("--from", "since", help=_("First day, e.g. 2026-11-01 (with --to)."))
@click.option("--to", "until", help=_("Last day, included, e.g. 2026-11-15."))
@click.option("--format", "file_format", type=click.Choice(FORMATS), default=None,
              help=_("Default: from the --output file's extension, else table."))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help=_("Write to this file instead of the terminal."))
def report(month: str | None, week: str | None, since: str | None, until: str | None,
           file_format: str | None, output: Path | None) -> None:
    """The publication recap of a period: every published post with its link, counts per
    platform and per release, and what failed or was missed."""
    from scheduler.report import period, recap

    chosen = file_format or _format_of(output)
    if chosen == "xlsx" and output is None:
        raise SiarError(_("an XLSX recap needs a file"), hint=_("add --output rekap.xlsx"))
    zone_name = state.settings.timezone
    data = recap(state.reader, period(month=month, week=week, since=since, until=until,
                                      zone_name=zone_name), zone_name)
    if chosen != "table":
        from scheduler import report_files
    if chosen == "xlsx":
        report_files.write_xlsx(data, output)  # type: ignore[arg-type]
    elif chosen == "csv":
        _out(report_files.write_csv(data, output), output)
    elif chosen == "json":
        _out(report_files.write_json(data, output), output)
    else:
        if output is not None:
            raise SiarError(_("a table is for the terminal"),
                            hint=_("use --format csv, xlsx or json with --output"))
        _print_table(data)
        return
    if output is not None:
        console.print(_("wrote {file}: {count} publication(s), {failed} failed or missed")
                      .format(file=f"[bold]{output}[/]", count=len(data.publications),
                              failed=len(data.failures)))


def _format_of(output: Path | None) -> str:
    suffix = output.suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in FORMATS else "table"


def _out(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)


def _print_table(data) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    heading = _("Publication recap")
    console.print(_("{title}: {count} post(s)").format(
        title=f"[bold]{heading} {escape(data.period.label)}[/]", count=len(data.publications)))
    if not data.publications and not data.failures:
        return  # a quiet period: no table to import
    from rich.table import Table

    from scheduler import report_files
    from scheduler.report import COLUMNS, FAILURE_COLUMNS, columns

    if data.publications:
        table = Table(*columns(COLUMNS), box=None, padding=(0, 1))
        for row in report_files.rows(data):
            *cells, url = (escape(str(c)) for c in row)
            table.add_row(*cells, url, end_section=False)
        table.columns[-1].overflow = "fold"  # a link is never cut
        table.columns[3].overflow = "fold"
        console.print(table)
        counts = ", ".join(f"{report_files.platform(n)} {c}"
                           for n, c in sorted(data.per_platform().items()))
        console.print(_("per platform: {counts}").format(counts=counts))
    if data.failures:
        console.print("\n[bold yellow]" + _("failed or missed: {count}").format(
            count=len(data.failures)) + "[/]")
        table = Table(*columns(FAILURE_COLUMNS), box=None, padding=(0, 1))
        for row in report_files.failure_rows(data):
            table.add_row(*(escape(str(c)) for c in row))
        console.print(table)
