"""The long-running daemon: wakes when posts are due and publishes them through workers."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.db import open_database, session
from scheduler.dispatcher import Adapters, Dispatcher
from scheduler.models import AccountState, Node, Post, Status
from scheduler.settings import Settings
from scheduler.timeparse import utcnow

log = logging.getLogger("siar.daemon")

ACTIVE = (Status.SCHEDULED.value, Status.RETRY.value, Status.CLAIMED.value,
          Status.PUBLISHING.value)


@dataclass
class RunSummary:
    published: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    paused: int = 0
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)


class Daemon:
    def __init__(self, settings: Settings, *, dry_run: bool = False,
                 engine: Engine | None = None) -> None:
        self.settings = settings
        self.dry_run = dry_run or settings.dry_run
        self.engine = engine or open_database(settings.database_url)
        self.node = settings.node_name
        self.adapters = Adapters(settings, dry_run=self.dry_run)
        self.summary = RunSummary()
        self.dispatcher = Dispatcher(self.engine, settings, self.adapters, self.node,
                                     on_event=self._count)
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self._inflight: dict[int, tuple[str, Future]] = {}
        self._lock = threading.Lock()

    def _count(self, kind: str, data: dict) -> None:
        with self._lock:
            self.summary.outcomes.append((data["post"], data["account"], kind))
            if kind in ("published",):
                self.summary.published += 1
            elif kind == "rejected":
                self.summary.failed += 1
            elif kind in ("not_sent", "rate_limited"):
                self.summary.retried += 1
            elif kind == "in_doubt":
                self.summary.unknown += 1
            elif kind == "auth_failed":
                self.summary.paused += 1

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: object) -> None:
            log.info("signal %s: finishing in-flight posts, then stopping", signum)
            self.stop_event.set()
            self.wake.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    def run(self, *, once: bool = False, until_drained: bool = False) -> RunSummary:
        cfg = self.settings.daemon
        self._heartbeat()
        with ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="siar-worker") as pool:
            while not self.stop_event.is_set():
                queue.reap_expired_leases(self.engine)
                self._dispatch_round(pool)
                if once:
                    self._wait_inflight()
                    break
                if until_drained and self._drained():
                    break
                self._heartbeat()
                self.wake.wait(cfg.poll_interval)
                self.wake.clear()
            self._wait_inflight()
        self._stopped()
        self.adapters.close()
        return self.summary

    def _dispatch_round(self, pool: ThreadPoolExecutor) -> None:
        with self._lock:
            self._inflight = {k: v for k, v in self._inflight.items() if not v[1].done()}
            busy = {account for account, _ in self._inflight.values()}
        free = self.settings.daemon.workers - len(self._inflight)
        if free <= 0:
            return
        claims = queue.claim_due(self.engine, self.node, limit=free,
                                 lease=self.settings.daemon.lease_seconds,
                                 exclude_accounts=busy | self._blocked_accounts())
        for claim in claims:
            future = pool.submit(self.dispatcher.publish, claim)
            future.add_done_callback(lambda _f: self.wake.set())
            with self._lock:
                self._inflight[claim.post_id] = (claim.account, future)

    def _blocked_accounts(self) -> set[str]:
        now = utcnow()
        with session(self.engine) as s:
            states = s.scalars(select(AccountState)).all()
        return {st.account for st in states
                if st.paused or (st.rate_limited_until and st.rate_limited_until > now)}

    def _wait_inflight(self) -> None:
        with self._lock:
            futures = [f for _, f in self._inflight.values()]
        for future in futures:
            future.result()

    def _drained(self) -> bool:
        with session(self.engine) as s:
            active = s.scalar(select(func.count()).select_from(Post)
                              .where(Post.status.in_(ACTIVE)))
        with self._lock:
            running = any(not f.done() for _, f in self._inflight.values())
        return not active and not running

    def _heartbeat(self) -> None:
        with session(self.engine) as s:
            node = s.get(Node, self.node) or Node(name=self.node, host=socket.gethostname(),
                                                  pid=os.getpid())
            node.heartbeat_at = utcnow()
            node.stopped_at = None
            s.add(node)

    def _stopped(self) -> None:
        with session(self.engine) as s:
            node = s.get(Node, self.node)
            if node:
                node.stopped_at = utcnow()
