"""Staff alerts raised while the database is away: kept in memory, stored once it answers.

Storing an alert is what decides who sends it (several daemons, restarts), so none can go
out before it is stored. An alert raised while the database cannot take it — the outcome
that raised it was just recorded and the database went away, or a job found the trouble
meanwhile — used to be lost with a traceback; it now waits, and the heartbeat stores (and
so sends) it as soon as the database answers again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from scheduler import notify
from scheduler.dbhealth import DatabaseHealth, is_outage

T = TypeVar("T")


class PatientNotifier(notify.Notifier):
    """A :class:`~scheduler.notify.Notifier` whose alerts wait for the database."""

    def __init__(self, *args: Any, health: DatabaseHealth, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.health = health
        self._waiting: list[Callable[[], object]] = []
        self._waiting_lock = threading.Lock()

    def alert(self, message: notify.Message) -> bool:
        return bool(self._or_later(lambda: super(PatientNotifier, self).alert(message)))

    def post_alert(self, post_id: int, build: Any, *args: Any) -> bool:
        return bool(self._or_later(
            lambda: super(PatientNotifier, self).post_alert(post_id, build, *args)))

    def store_waiting(self) -> None:
        """Store (and send) the alerts that waited for the database."""
        with self._waiting_lock:
            waiting, self._waiting = self._waiting, []
        for store in waiting:
            self._or_later(store)

    def _or_later(self, store: Callable[[], T]) -> T | None:
        try:
            return store()
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.health.failed(exc, "storing a staff alert")
            with self._waiting_lock:
                self._waiting.append(store)
            return None
