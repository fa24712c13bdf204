"""`siar report`: the publication recap for the regional office."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli import app, console, state
from scheduler.errors import SiarError

FORMATS = ("table", "csv", "xlsx", "json")


@app.command()
@click.option("--month", help="A month, e.g. 2026-11.")
@click.option("--week", help="An ISO week, e.g. 2026-W48 (Monday to Sunday).")
@click.option("--from", "since", help="First day, e.g. 2026-11-01 (with --to).")
@click.option("--to", "until", help="Last day, included, e.g. 2026-11-15.")
@click.option("--format", "file_format", type=click.Choice(FORMATS), default=None,
              help="Default: from the --output file's extension, else table.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of the terminal.")
def report(month: str | None, week: str | None, since: str | None, until: str | None,
           file_format: str | None, output: Path | None) -> None:
    """The publication recap of a period: every published post with its link, counts per
    platform and per release, and what failed or was missed."""
    from scheduler import report_files
    from scheduler.report import period, recap

    chosen = file_format or _format_of(output)
    if chosen == "xlsx" and output is None:
        raise SiarError("an XLSX recap needs a file", hint="add --output rekap.xlsx")
    zone_name = state.settings.timezone
    data = recap(state.engine, period(month=month, week=week, since=since, until=until,
                                      zone_name=zone_name), zone_name)
    if chosen == "xlsx":
        report_files.write_xlsx(data, output)  # type: ignore[arg-type]
    elif chosen == "csv":
        _out(report_files.write_csv(data, output), output)
    elif chosen == "json":
        _out(report_files.write_json(data, output), output)
    else:
        if output is not None:
            raise SiarError("a table is for the terminal", hint="use --format csv, xlsx or "
                                                                "json with --output")
        _print_table(data)
        return
    if output is not None:
        console.print(f"wrote [bold]{output}[/]: {len(data.publications)} publication(s), "
                      f"{len(data.failures)} failed or missed")


def _format_of(output: Path | None) -> str:
    suffix = output.suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in FORMATS else "table"


def _out(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)


def _print_table(data) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape
    from rich.table import Table

    from scheduler import report_files
    from scheduler.report import COLUMNS, FAILURE_COLUMNS

    console.print(f"[bold]Rekap publikasi {escape(data.period.label)}[/]: "
                  f"{len(data.publications)} unggahan")
    if data.publications:
        table = Table(*COLUMNS, box=None, padding=(0, 1))
        for row in report_files.rows(data):
            *cells, url = (escape(str(c)) for c in row)
            table.add_row(*cells, url, end_section=False)
        table.columns[-1].overflow = "fold"  # a link is never cut
        table.columns[3].overflow = "fold"
        console.print(table)
        counts = ", ".join(f"{report_files.platform(n)} {c}"
                           for n, c in sorted(data.per_platform().items()))
        console.print(f"per platform: {counts}")
    if data.failures:
        console.print(f"\n[bold yellow]gagal atau terlewat: {len(data.failures)}[/]")
        table = Table(*FAILURE_COLUMNS, box=None, padding=(0, 1))
        for row in report_files.failure_rows(data):
            table.add_row(*(escape(str(c)) for c in row))
        console.print(table)
