"""The recap written out: CSV, JSON and XLSX (one sheet of publications with live links,
one of counts per platform and per release, one of failures), the way a regional office
opens them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from scheduler import states
from scheduler.i18n import _
from scheduler.report import COLUMNS, FAILURE_COLUMNS, Recap, columns
from scheduler.timeparse import zone


def rows(recap: Recap) -> list[tuple[Any, ...]]:
    """One row per publication, in the recap's columns, times in the unit's zone."""
    tz = zone(recap.zone)
    out = []
    for number, p in enumerate(recap.publications, 1):
        local = p.published_at.astimezone(tz)
        out.append((number, f"{local:%Y-%m-%d}", f"{local:%H.%M} {local.tzname()}", p.title,
                    platform(p.network), p.account, p.url or ""))
    return out


def failure_rows(recap: Recap) -> list[tuple[Any, ...]]:
    tz = zone(recap.zone)
    return [(f"{f.due_at.astimezone(tz):%Y-%m-%d %H.%M}", f.title, platform(f.network),
             f.account, states.label(f.status), f.error or "") for f in recap.failures]


def platform(network: str) -> str:
    """The name an office reads (the network's own label where its channel gives one)."""
    from channels import registry
    from channels.errors import SiarError

    try:
        label = getattr(registry.load(network), "label", None)
    except SiarError:  # a network no longer installed: its name as stored
        label = None
    return label or network.capitalize()


def as_json(recap: Recap) -> dict[str, Any]:
    tz = zone(recap.zone)
    return {
        "period": recap.period.label,
        "from": recap.period.start.isoformat(), "to": recap.period.end.isoformat(),
        "publications": [
            {"published_at": p.published_at.astimezone(tz).isoformat(),
             "release": p.release_id, "title": p.title, "network": p.network,
             "account": p.account, "url": p.url} for p in recap.publications],
        "per_network": dict(sorted(recap.per_platform().items())),
        "per_release": [{"release": rid, "title": title, "posts": n}
                        for (rid, title), n in sorted(recap.per_release().items())],
        "failures": [
            {"due_at": f.due_at.astimezone(tz).isoformat(), "release": f.release_id,
             "title": f.title, "network": f.network, "account": f.account,
             "status": f.status, "error": f.error} for f in recap.failures],
    }


def write_json(recap: Recap, target: Path | None) -> str:
    text = json.dumps(as_json(recap), ensure_ascii=False, indent=2) + "\n"
    return _write_text(text, target)


def write_csv(recap: Recap, target: Path | None) -> str:
    """One row per publication; UTF-8 with a byte-order mark so that Excel shows the
    Indonesian text right when the file is double-clicked."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns(COLUMNS))
    writer.writerows(rows(recap))
    text = buffer.getvalue()
    return _write_text(("\ufeff" + text) if target else text, target)


def write_xlsx(recap: Recap, target: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Publications")
    sheet.append(columns(COLUMNS))
    for row in rows(recap):
        sheet.append(row)
        if row[-1]:
            cell = sheet.cell(row=sheet.max_row, column=len(COLUMNS))
            cell.hyperlink, cell.style = row[-1], "Hyperlink"
    _header(sheet, (5, 12, 11, 60, 12, 20, 60), Font)
    summary = book.create_sheet(_("Summary"))
    summary.append((_("Period"), recap.period.label))
    summary.append(())
    summary.append((_("Platform"), _("Count")))
    for name, count in sorted(recap.per_platform().items()):
        summary.append((platform(name), count))
    summary.append((_("Total"), len(recap.publications)))
    summary.append(())
    summary.append((_("Release"), _("Release title"), _("Posts")))
    for (release_id, title), count in sorted(recap.per_release().items()):
        summary.append((release_id, title, count))
    _header(summary, (14, 60, 16), Font, row=None)
    failures = book.create_sheet(_("Failed"))
    failures.append(columns(FAILURE_COLUMNS))
    for failure in failure_rows(recap):
        failures.append(failure)
    _header(failures, (17, 60, 12, 20, 10, 60), Font)
    _save(book, target)


def _header(sheet: Any, widths: tuple[int, ...], font: Any, *, row: int | None = 1) -> None:
    from openpyxl.utils import get_column_letter

    if row is not None:
        for cell in sheet[row]:
            cell.font = font(bold=True)
        sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _save(book: Any, target: Path) -> None:
    """Whole or not at all: a half-written spreadsheet is worse than none."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        book.save(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _write_text(text: str, target: Path | None) -> str:
    if target is not None:
        partial = target.with_name(f".{target.name}.partial")
        try:
            partial.write_text(text, encoding="utf-8", newline="")
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return text
