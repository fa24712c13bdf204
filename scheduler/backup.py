"""A consistent copy of a live SQLite database, for the operator's backups.

Copying ``siar.db`` with ``cp`` while a daemon runs is unsafe: in WAL mode the recent
commits are in ``siar.db-wal``, and a file copied mid-write can be torn. SQLite's online
backup API (``sqlite3.Connection.backup``) copies a consistent snapshot page by page
while daemons keep writing. PostgreSQL has its own tool for this, ``pg_dump``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from scheduler.db import normalise_url
from scheduler.errors import ConfigError, SiarError
from scheduler.i18n import _


def backup(database_url: str, target: Path, *, overwrite: bool = False) -> Path:
    """Write a consistent copy of the SQLite database at ``database_url`` to ``target``;
    the file appears whole or not at all."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "postgresql":
        plain = url.set(drivername="postgresql").render_as_string(hide_password=True)
        raise SiarError(_("PostgreSQL is backed up with its own tool, pg_dump"),
                        hint=f"pg_dump --format=custom --file={target} '{plain}'")
    source = Path(url.database or "")
    if not url.database or url.database == ":memory:" or not source.is_file():
        raise ConfigError(_("no database file at {path}").format(path=source),
                          hint=_("check SIAR_DATABASE_URL / database_url, or run siar db "
                                 "upgrade"))
    if target.exists() and not overwrite:
        raise SiarError(_("{file} already exists").format(file=target),
                        hint=_("name a new file, or use --force"))
    folder = target.resolve().parent
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    os.close(handle)
    try:
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as live, \
                closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)
        os.chmod(partial, 0o600)  # like the database: release texts, account names
        os.replace(partial, target)
    except sqlite3.Error as exc:
        Path(partial).unlink(missing_ok=True)
        raise SiarError(_("cannot back up {path}: {reason}").format(path=source, reason=exc),
                        hint=_("check that it is a Siar database and that you may read it")) \
            from exc
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target
