"""The daemon's guard against its database going away: an outage waited out and logged
once, an SQLite file deleted or replaced stopping the daemon with an error.

While the database is away every job skips its turn (the outage is logged once, by
:class:`scheduler.dbhealth.DatabaseHealth`, shared with the starter and the committer,
which keep what they have to write in memory). An SQLite file deleted or replaced under
the daemon stops it with an error (exit code 1), so that a supervisor starts it again on
the file now at that path: what it did on the old file, nobody would see.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine

from scheduler.db import DatabaseReplaced, database_file_changed, disown_file
from scheduler.dbhealth import DatabaseHealth, is_outage
from scheduler.errors import SiarError
from scheduler.i18n import _

log = logging.getLogger("siar.daemon")

T = TypeVar("T")


class DatabaseGuard:
    """Runs the daemon's work so that database trouble is reported, not raised; holds why
    the daemon must stop with an error, if it must."""

    def __init__(self, engine: Engine, node: str, *, stop: threading.Event,
                 health: DatabaseHealth | None = None) -> None:
        self.engine = engine
        self.node = node
        self.health = health or DatabaseHealth()
        #: set to make the daemon stop
        self.stop = stop
        #: why the daemon must stop with an error (its SQLite file went away)
        self.fatal: SiarError | None = None

    def guarded(self, doing: str, work: Callable[[], T], *, writes: bool = False) -> T | None:
        """``work()``; None if the database is away (reported: logged once an outage).
        ``writes``: the work always writes, so its success proves the database back."""
        began = self.health.now()
        try:
            result = work()
        except Exception as exc:
            if not self.trouble(exc, doing, began):
                raise
            return None
        if writes:
            self.health.answered(began)
        return result

    def trouble(self, error: Exception, doing: str, began: float | None = None) -> bool:
        """Whether ``error`` is the database being away (reported: logged once an outage)
        or its file gone (the daemon is stopping and says why once). ``began``: when the
        work began (:meth:`DatabaseHealth.failed`)."""
        if isinstance(error, DatabaseReplaced):
            return True
        if is_outage(error):
            self.health.failed(error, doing, began)
            return True
        return False

    def file_still_ours(self) -> bool:
        """False (and the daemon stopping with an error) if the SQLite file was deleted or
        replaced: what it does on the old file, nobody sees, and the posts queued in the
        new one wait for a daemon that works on it (a supervisor restarts this one).
        Checked by every claim round and heartbeat: one ``stat``."""
        if self.fatal is not None:
            return False
        changed = database_file_changed(self.engine)
        if changed is None:
            return True
        self.fatal = SiarError(
            _("{change} while daemon {node} was running; it stopped rather than go on with "
              "a database nobody else sees").format(change=changed, node=self.node),
            hint=_("start 'siar daemon' again (a service manager does it by itself) so that "
                   "it works on the file now at that path"))
        log.error("%s", self.fatal)
        disown_file(self.engine, self.node, os.getpid())
        self.stop.set()
        return False
