"""The long-running daemon: APScheduler keeps the time, the database is the queue.

APScheduler 3.x (in-memory job store; its own stores cannot be shared between
processes and delete a job when it starts) runs a handful of jobs:

``dispatch``      claims due posts and hands them to the worker pool. It runs on a poll
                  interval as a safety net, but is normally moved to the exact moment the
                  next post is due, and run at once when a worker frees up, when the CLI
                  queued something (PostgreSQL ``LISTEN/NOTIFY``) or a recurrence was added.
``housekeeping``  takes back expired leases, probes posts in doubt, marks posts missed
                  after downtime.
``heartbeat``     proves this daemon alive and renews the leases of its in-flight posts,
                  so a lease measures liveness, not how long a slow network may take.
``watchdog``      alerts when due posts wait longer than ``watchdog_seconds``.
``recurrences``   materialises occurrences of recurring releases.
``alerts``        sends again the staff alerts that some notify account did not take.

Claims are made a little ahead of time; the starter (:mod:`scheduler.starter`) marks them
``publishing`` when they are due, then publishing itself happens in a worker pool of
``daemon.workers`` threads, and the committer (:mod:`scheduler.committer`) records the
outcomes. The account concurrency limits are enforced by the claim in :mod:`scheduler.queue`.

While the database is away every job skips its turn (the outage is logged once, by
:class:`scheduler.dbhealth.DatabaseHealth`), the committer keeps the outcomes, alerts that
could not be stored wait in memory, and leases are not taken back for one lease after the
database returns: the daemons that hold them could not renew them meanwhile. An SQLite
file deleted or replaced under the daemon stops it with an error (exit code 1), so that a
supervisor starts it again on the file now at that path.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from channels import registry
from channels.base import Channel
from scheduler import intake, notify, queue
from scheduler.committer import Committer
from scheduler.db import (
    DatabaseReplaced,
    QueueListener,
    database_file_changed,
    disown_file,
    open_database,
)
from scheduler.dbhealth import DatabaseHealth, is_outage
from scheduler.dispatcher import Adapters, Dispatcher
from scheduler.envfile import exposure_warnings
from scheduler.errors import SiarError
from scheduler.models import AccountState, Node, Post, Release
from scheduler.recurrences import materialise_recurrences
from scheduler.settings import Settings
from scheduler.starter import Starter
from scheduler.states import ACTIVE as ACTIVE_STATES
from scheduler.states import CLAIMABLE, values
from scheduler.status import overdue_posts, snapshot
from scheduler.timeparse import utcnow
from scheduler.waiting_alerts import PatientNotifier

log = logging.getLogger("siar.daemon")

T = TypeVar("T")

#: seconds a Python thread may hold the GIL while others wait: Python's default, set
#: explicitly because it was once lowered (see ``run``)
SWITCH_INTERVAL = 0.005

#: a finished post wakes the dispatcher this much later (seconds), so that the posts
#: finishing meanwhile share its claim round
FINISHED_WAKE_DELAY = 0.01

#: outcomes kept in memory for the run summary (counters are kept for every outcome)
#: the first token check waits for start-up work (seconds)
TOKEN_CHECK_DELAY = 30.0
KEEP_OUTCOMES = 1000

ACTIVE = values(ACTIVE_STATES)
CLAIMABLE_SQL_VALUES = values(CLAIMABLE)


@dataclass
class RunSummary:
    published: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    paused: int = 0
    missed: int = 0
    #: posts a worker went on with straight after its account's previous one
    went_on: int = 0
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


class Daemon:
    def __init__(self, settings: Settings, *, dry_run: bool = False,
                 engine: Engine | None = None,
                 channel_classes: Mapping[str, type[Channel]] | None = None) -> None:
        self.settings = settings
        self.cfg = settings.daemon
        self.dry_run = dry_run or settings.dry_run
        self.engine = engine or open_database(settings.database_url)
        self.node = settings.node_name
        self.adapters = Adapters(settings, dry_run=self.dry_run, channel_classes=channel_classes)
        self.summary = RunSummary()
        self.dispatcher = Dispatcher(self.engine, settings, self.adapters, self.node,
                                     on_event=self._on_event)
        self.health = DatabaseHealth()  # shared by every thread that writes
        self.notifier = PatientNotifier(self.engine, settings, self.adapters,
                                        health=self.health)
        self.concurrency = {a.name: a.concurrency for a in settings.accounts}
        #: with a worker for every post the accounts may have in flight, workers can go on
        #: with their own account's backlog instead of taking turns (see ``_may_go_on``)
        self.workers = self.cfg.workers or min(256, max(8, sum(
            a.concurrency for a in settings.enabled_accounts())))
        self.stop_event = threading.Event()
        self.stopping = False
        self._inflight: dict[int, queue.Claim] = {}
        self._lock = threading.Lock()
        self._dispatch_lock = threading.Lock()
        self._wake_pending = threading.Event()
        #: a delayed wake asked for while a round was running (seconds after it)
        self._wake_later: float | None = None
        self._last_dispatch = time.monotonic()
        self._free_slots_at_start = 0
        self._held_back: set[str] = set()
        #: posts due up to this moment were looked at by the last claim round
        self._horizon: datetime | None = None
        #: False until the first round: then every finished post wakes the dispatcher
        self._held_back_known = False
        #: True when the last claim round left accounts without a worker: workers then
        #: take turns between accounts instead of going on with their own
        self._workers_short = True
        self._probed: dict[tuple[int, int], float] = {}
        #: True once mark_missed looked at every waiting post (at start)
        self._swept = False
        self._alerted: set[str] = set()
        self._scheduler: BackgroundScheduler | None = None
        self._workers: ThreadPoolExecutor | None = None
        self._committer: Committer | None = None
        self._starter: Starter | None = None
        #: why the daemon must stop with an error (its SQLite file went away)
        self._fatal: SiarError | None = None

    # --- settings derived from DaemonSettings ---------------------------------------------

    @property
    def housekeeping_seconds(self) -> float:
        if self.cfg.housekeeping_seconds is not None:
            return self.cfg.housekeeping_seconds
        return min(5.0, max(0.2, self.cfg.lease_seconds / 4))

    @property
    def lookahead_seconds(self) -> float:
        """Claim posts this long before their time so the request leaves on the dot."""
        return min(self.cfg.lookahead_seconds, self.cfg.lease_seconds / 4)

    @property
    def probe_seconds(self) -> float:
        return self.cfg.probe_seconds

    @property
    def recurrence_horizon(self) -> timedelta:
        return timedelta(hours=self.cfg.recurrence_horizon_hours)

    # --- life cycle ----------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: object) -> None:
            log.info("signal %s: finishing in-flight posts, then stopping", signum)
            self.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    def stop(self) -> None:
        self.stop_event.set()

    def run(self, *, once: bool = False, until_drained: bool = False) -> RunSummary:
        for warning in exposure_warnings(self.settings):  # secrets others can read
            log.warning("%s", warning)
        self._refuse_a_dry_run_that_would_swallow_real_posts()
        self._heartbeat()
        self._take_over_dead_local_daemons()
        queue.ensure_accounts(self.engine, self.concurrency)
        self._build_adapters()
        # Imports, adapters and caches built so far live as long as the daemon; keeping
        # them out of the collector's full scans shortens the pauses that stop every
        # thread (measured: the slowest posts of a busy minute came after such a pause).
        gc.freeze()
        # A hundred worker threads share one GIL. A lower switch interval (0.5 ms) once
        # sped up claim rounds, which every free worker waited for; since workers go on
        # with their account's next post, rounds are off a burst's path, and the forced
        # switches cost more than they gave (5,000-post burst, SQLite: 1,120 posts/s and
        # 0.81 ms CPU a post at 5 ms, 790/s and 1.18 ms at 0.5 ms; lateness p99 3 → 8 ms,
        # within its 25 ms target).
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._workers = ThreadPoolExecutor(max_workers=self.workers,
                                           thread_name_prefix="siar-worker")
        self._committer = Committer(self.engine, next_in_line=queue.NextInLine(
            accounts=(), node=self.node, lease=self.cfg.lease_seconds,
            concurrency=self.concurrency), health=self.health)
        self._starter = Starter(self.engine, self.node, lease=self.cfg.lease_seconds,
                                hand_over=self._begun, health=self.health)
        try:
            self.housekeeping()
            self.recurrences()
            if once:
                self._run_once()
            else:
                self._run_scheduled(until_drained=until_drained)
        finally:
            self._shutdown()
        if self._fatal is not None:
            raise self._fatal
        return self.summary

    def _refuse_a_dry_run_that_would_swallow_real_posts(self) -> None:
        """A dry run ends each post it handles as published (``dry-run://``), so on a
        database whose accounts can really publish it would take real posts out of the queue
        for good. Unless the configuration itself says ``dry_run = true`` (a rehearsal
        deployment), a dry run starts only where no waiting post belongs to an account whose
        secrets are all set."""
        if not self.dry_run or self.settings.dry_run:
            return
        with queue.transaction(self.engine) as s:
            waiting = set(s.scalars(select(Post.account).where(Post.status.in_(ACTIVE))
                                    .distinct()))
        accounts = [a for a in self.settings.accounts if a.name in waiting]
        missing = intake.missing_secrets(self.settings, accounts)
        live = sorted(a.name for a in accounts  # console and the like need no secrets
                      if a.name not in missing and registry.load(a.network).secret_fields)
        if live:
            raise SiarError(
                f"a dry run here would mark the waiting posts of {', '.join(live)} as "
                "published without sending them, and they would never go out: these "
                "accounts have their secrets set, so this looks like a live database",
                hint="rehearse on a scratch database (e.g. SIAR_HOME=/tmp/siar-dry with the "
                     "same config), or look with 'siar preview' / 'siar show ID'")

    def _run_once(self) -> None:
        """Publish everything due now (an account's posts one after another), then return."""
        while not self.stop_event.is_set():
            claimed = self._guarded("claiming due posts", self._round) or 0
            self._wait_inflight()
            if not claimed:
                break

    def _run_scheduled(self, *, until_drained: bool) -> None:
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": JobExecutor(6)},
            job_defaults={"coalesce": True, "max_instances": 4, "misfire_grace_time": None})
        now = datetime.now(UTC)
        scheduler.add_job(self.dispatch, "interval", seconds=self.cfg.poll_interval,
                          id="dispatch", next_run_time=now)
        scheduler.add_job(self.housekeeping, "interval", seconds=self.housekeeping_seconds,
                          id="housekeeping")
        scheduler.add_job(self._heartbeat, "interval", seconds=self.cfg.heartbeat_seconds,
                          id="heartbeat")
        scheduler.add_job(self.watchdog, "interval",
                          seconds=max(1.0, self.cfg.watchdog_seconds / 4), id="watchdog")
        scheduler.add_job(self.recurrences, "interval", seconds=60, id="recurrences")
        scheduler.add_job(
            lambda: self._guarded("sending alerts again", self.notifier.retry_due),
            "interval", id="alerts", seconds=self.housekeeping_seconds, next_run_time=now)
        if self.cfg.token_check_hours > 0 and not self.dry_run:
            scheduler.add_job(self.check_tokens, "interval",
                              seconds=self.cfg.token_check_hours * 3600, id="tokens",
                              next_run_time=now + timedelta(seconds=TOKEN_CHECK_DELAY))
        self._scheduler = scheduler
        scheduler.start()
        listener = QueueListener(self.engine, self.wake).start()
        health = self._start_health_server()
        try:
            while not self.stop_event.wait(0.1 if until_drained else 1.0):
                if until_drained and self._guarded("checking the queue", self._drained):
                    break
        finally:
            self.stopping = True
            self._starter.close()  # type: ignore[union-attr]  # posts not begun: given back
            scheduler.shutdown(wait=True)
            listener.stop()
            if health is not None:
                health.stop()

    def _shutdown(self) -> None:
        """Finish in-flight posts; claims whose worker has not started are given back."""
        self.stopping = True
        if self._starter is not None:
            self._starter.close()  # claims not begun yet are given back, never sent
        if self._workers is not None:
            self._workers.shutdown(wait=True)
        if self._committer is not None:
            self._committer.close()  # every answer received is recorded before we stop
        self.notifier.store_waiting()
        self.notifier.flush()
        self.notifier.close()
        if self._fatal is None and self._guarded("marking this daemon stopped",
                                                 self._mark_stopped, writes=True) is None:
            log.warning("the database did not answer: this daemon is not marked stopped; "
                        "'siar status' counts it as gone after three missed heartbeats")
        self.adapters.close()

    def _mark_stopped(self) -> bool:
        with queue.transaction(self.engine) as s:
            node = s.get(Node, self.node)
            if node:
                node.stopped_at = utcnow()
        return True

    # --- dispatching ---------------------------------------------------------------------

    def wake(self, delay: float = 0.0) -> None:
        """Run the dispatcher now (right after the round in progress, if any), or in
        ``delay`` seconds (counted from the end of the round in progress): wakes close
        together then share one claim round."""
        if delay <= 0:
            self._wake_pending.set()
        elif self._wake_later is None or delay < self._wake_later:
            self._wake_later = delay
        if self._dispatch_lock.locked() or self._scheduler is None or self.stopping:
            return  # the round in progress (or the next) picks the wake up
        self._wake_later = None
        when = datetime.now(UTC) + timedelta(seconds=max(delay, 0.0))
        # JobLookupError/SchedulerNotRunning while shutting down: nothing left to wake.
        with contextlib.suppress(Exception):
            job = self._scheduler.get_job("dispatch")
            if job is not None and (job.next_run_time is None or when < job.next_run_time):
                self._scheduler.modify_job("dispatch", next_run_time=when)

    def dispatch(self) -> None:
        """The ``dispatch`` job: claim rounds until nothing more can be claimed (none
        while the database is away)."""
        self._guarded("claiming due posts", self._claim_rounds)

    def _claim_rounds(self) -> None:
        while not self.stopping:
            if not self._dispatch_lock.acquire(blocking=False):
                return  # the round in progress sees the wake flag and goes again
            try:
                while not self.stopping:
                    self._wake_pending.clear()
                    claimed = self._round()
                    # A round that took a whole batch suggests more is due: go again before
                    # sleeping. A round that filled the free workers need not: each worker
                    # finishing wakes the dispatcher (after a short delay, so that one
                    # round, which reads every due post, claims for several).
                    full = 0 < claimed == self._free_slots_at_start == self.cfg.batch
                    if not (full or self._wake_pending.is_set()):
                        break
                self._schedule_next_wake()
            finally:
                self._dispatch_lock.release()
            if self._wake_pending.is_set():
                continue
            if (later := self._wake_later) is not None:
                self.wake(later)  # asked for during the round: from now on
            return

    def _round(self) -> int:
        """Claim what is due for the free workers; returns how many posts were claimed."""
        self._last_dispatch = time.monotonic()
        if not self._check_database_file():
            return 0
        if self._committer is not None and self._committer.owes_give_back:
            return 0  # see Committer.owes_give_back; it is given back once the database answers
        with self._lock:
            free = self.workers - len(self._inflight)
        limit = min(free, self.cfg.batch)
        self._free_slots_at_start = limit
        if limit <= 0 or self.stopping:
            self._held_back_known = False  # every finished post may free a worker for us
            self._horizon = None
            if not self.stopping:
                # Every worker busy: does an account with room wait for one? (Then workers
                # going on with their own accounts would keep it waiting.) A round that
                # claims nothing answers it; it looks at a handful of accounts, free first.
                self._workers_short = queue.claim_due(
                    self.engine, self.node, limit=0, lease=self.cfg.lease_seconds,
                    concurrency=self.concurrency, lookahead=self.lookahead_seconds).starved
            return 0
        claims = queue.claim_due(self.engine, self.node, limit=limit,
                                 lease=self.cfg.lease_seconds, concurrency=self.concurrency,
                                 lookahead=self.lookahead_seconds)
        if self.stopping:
            for claim in claims:
                queue.give_back_claim(self.engine, claim, self.node)
            return 0
        self._horizon = claims.horizon
        self._held_back = set(claims.held_back)
        self._held_back_known = len(claims) < limit and not claims.truncated
        self._workers_short = claims.starved
        with self._lock:
            for claim in claims:
                self._inflight[claim.post_id] = claim
        # Every claimed post has a free worker; the starter begins each (with every other
        # post due by then, in one transaction) when its time comes.
        self._starter.submit(claims)  # type: ignore[union-attr]
        return len(claims)

    def _begun(self, claim: queue.Claim, post: queue.StartedPost | None) -> None:
        """The starter's hand-over: a post now ``publishing`` goes to a worker."""
        if post is None:
            self._finished(claim)  # lost meanwhile (cancelled by staff) or given back
            return
        try:
            self._workers.submit(self._work, claim, post)  # type: ignore[union-attr]
        except RuntimeError:  # the pool is gone: a bug in the stop order; the lease runs out
            log.exception("post %s was begun after the workers stopped", claim.post_id)
            self._finished(claim)

    def _work(self, claim: queue.Claim, post: queue.StartedPost) -> None:
        handed_over = False
        try:
            # Begun a few milliseconds ahead (see starter.BEGIN_AHEAD); nothing leaves
            # before its time. Begun means in flight: a stop does not hold it back.
            if claim.not_before is not None:
                wait = claim.not_before.timestamp() - time.time()
                if wait > 0:
                    time.sleep(wait)
            # The post stays in flight (its lease renewed) until its outcome is committed.
            self.dispatcher.publish_started(
                post, committer=self._committer, go_on=self._may_go_on(),
                on_done=lambda following: self._done(claim, following))
            handed_over = True
        except Exception:
            # The lease runs out and housekeeping takes the post back safely.
            log.exception("worker failed on post %s", claim.post_id)
        finally:
            if not handed_over:
                self._finished(claim)

    def _may_go_on(self) -> bool:
        """May a worker go on with its account's next due post (begun by the committer
        with this post's outcome)? Not while stopping, and not while other accounts wait
        for a worker: then each finished post frees its worker for a claim round, which
        serves the accounts in turn."""
        return not (self.stopping or self._workers_short)

    def _done(self, claim: queue.Claim, following: queue.StartedPost | None) -> None:
        """A post's outcome is recorded; ``following`` is its account's next post, begun
        for the same worker (the worker slot passes from one to the other)."""
        if following is None:
            self._finished(claim)
            return
        successor = queue.Claim(post_id=following.id, attempt=following.attempt,
                                account=following.account, network=following.network)
        with self._lock:
            self._forget(claim)
            self._inflight[successor.post_id] = successor
            self.summary.went_on += 1
        if not self.stopping:
            try:
                self._workers.submit(self._work, successor, following)  # type: ignore[union-attr]
                return
            except RuntimeError:  # the pool is shutting down: nothing may start any more
                pass
        # begun but certainly not sent: give it back rather than leave it in doubt
        try:
            queue.give_back_unsent(self.engine, [(following.id, following.attempt)], self.node)
        except Exception:
            log.exception("post %s was begun but not sent, and could not be given back; "
                          "its lease runs out and the probe settles it", following.id)
        self._finished(successor)

    def _forget(self, claim: queue.Claim) -> None:
        """No longer in flight here (under ``_lock``) — unless the post was claimed again
        meanwhile (its lease lost, settled, retried): the newer attempt stays."""
        if self._inflight.get(claim.post_id) == claim:
            del self._inflight[claim.post_id]

    def _finished(self, claim: queue.Claim) -> None:
        with self._lock:
            self._forget(claim)
        # Only a post that held others back frees something to claim; everything else
        # due soon is already claimed or has its own wake-up time.
        if claim.account in self._held_back or not self._held_back_known:
            self.wake(delay=FINISHED_WAKE_DELAY)

    def _schedule_next_wake(self) -> None:
        if self._scheduler is None or self.stopping:
            return
        # After the posts the last round could see, not after a fresh look-ahead: the
        # posts that came into the look-ahead while the round ran would otherwise have no
        # wake-up at all (measured: the last post of a busy minute waited for the poll).
        horizon = self._horizon or datetime.now(UTC) + timedelta(seconds=self.lookahead_seconds)
        due = queue.next_due(self.engine, now=horizon)
        if due is None:
            return  # nothing waits, or it waits for a busy account (a worker wakes us)
        # Half the look-ahead before it is due: each round then claims half a window of
        # posts at once instead of one post per round.
        due -= timedelta(seconds=self.lookahead_seconds / 2)
        job = self._scheduler.get_job("dispatch")
        if job is not None and (job.next_run_time is None or due < job.next_run_time):
            self._scheduler.modify_job("dispatch", next_run_time=due)

    def _wait_inflight(self) -> None:
        while True:
            with self._lock:
                if not self._inflight:
                    return
            time.sleep(0.01)

    def _drained(self) -> bool:
        """Nothing waits that this daemon could still send: the posts of a paused account
        are blocked until staff resume it, not waiting."""
        paused = select(AccountState.account).where(AccountState.paused.is_(True))
        blocked = and_(Post.status.in_(CLAIMABLE_SQL_VALUES), Post.account.in_(paused))
        with queue.transaction(self.engine) as s:
            active = s.scalar(select(func.count()).select_from(Post)
                              .where(Post.status.in_(ACTIVE), ~blocked))
        with self._lock:
            running = bool(self._inflight)
        return not active and not running

    # --- housekeeping --------------------------------------------------------------------

    def housekeeping(self) -> None:
        try:
            # After an outage, every daemon's leases may have run out while none could
            # renew them: wait one lease, in which the live ones renew theirs, before
            # taking any back (a post whose outcome waited in memory would otherwise be
            # in doubt, or given to another daemon).
            if self.health.steady_for(self.cfg.lease_seconds):
                requeued, stranded = queue.reap_expired_leases(self.engine, node=self.node)
                if requeued:
                    self.wake()
                if stranded:
                    log.warning("%d post(s) were in flight on a stopped daemon: now in "
                                "doubt", stranded)
            self._mark_missed()
            self._probe_in_doubt()
        except Exception as exc:
            if not self._database_trouble(exc, "housekeeping"):
                log.exception("housekeeping failed; it runs again shortly")

    def _mark_missed(self) -> None:
        # The first time, every waiting post is looked at: a retry set years ahead by an
        # older version (a Retry-After followed as it was) is found too.
        missed = queue.mark_missed(self.engine, timedelta(minutes=self.cfg.grace_minutes),
                                   node=self.node, sweep=not self._swept)
        self._swept = True
        if not missed:
            return
        self.summary.missed += len(missed)
        with queue.transaction(self.engine) as s:
            rows = [(s.get(Post, m.post_id), s.get(Release, m.release_id)) for m in missed]
        self.notifier.alert(notify.missed([(p, r) for p, r in rows if p is not None]))

    def _probe_in_doubt(self) -> None:
        now = time.monotonic()
        doubtful = queue.in_doubt(self.engine, limit=50)
        current = {(p.id, p.attempt) for p in doubtful}
        self._probed = {k: v for k, v in self._probed.items() if k in current}
        for post in doubtful:
            token = (post.id, post.attempt)  # type: ignore[assignment]
            if now - self._probed.get(token, -1e9) < self.probe_seconds:  # type: ignore[arg-type]
                continue
            self._probed[token] = now  # type: ignore[index]
            verdict = self.dispatcher.probe(post)
            if verdict is not None:
                self.wake()
                continue
            key = f"unknown:{post.id}:{post.attempt}"
            if key not in self._alerted:
                self._alerted.add(key)
                self.notifier.post_alert(post.id, notify.in_doubt)  # type: ignore[arg-type]

    def watchdog(self) -> None:
        overdue = self._guarded("looking for overdue posts", lambda: overdue_posts(self.engine))
        if overdue is None:
            return
        if overdue.oldest_due and overdue.seconds(utcnow()) > self.cfg.watchdog_seconds:
            self.notifier.alert(notify.watchdog(overdue.count, overdue.oldest_due,
                                                self.settings.timezone))

    def recurrences(self) -> None:
        try:
            created = materialise_recurrences(
                self.engine, horizon=self.recurrence_horizon,
                grace=timedelta(minutes=self.cfg.grace_minutes))
        except Exception as exc:
            if not self._database_trouble(exc, "materialising recurring releases"):
                log.exception("recurring releases could not be materialised; retrying later")
            return
        if created:
            log.info("materialised %d occurrence(s) of recurring releases", len(created))
            self.wake()

    def check_tokens(self) -> None:
        """Ask each account's network whether its credentials still work and until when,
        and warn staff days before a token lapses, rather than on the first failed post."""
        warn = timedelta(days=self.cfg.token_warn_days)
        for account in self.settings.enabled_accounts():
            if self.stopping:
                return
            try:
                result = self.adapters.get(account.name).check()
            except Exception as exc:  # one account's trouble must not stop the others
                log.warning("credentials of %s could not be checked: %s", account.name,
                            type(exc).__name__)
                continue
            if not result.ok:
                # a refused token pauses the account (with an alert) when a post is due;
                # here a failed check may as well be the network being away for a moment
                log.warning("credentials of %s: %s", account.name, result.detail)
            elif result.expires_at is not None and result.expires_at - utcnow() < warn:
                adapter = self.adapters.get(account.name)
                variables = [account.secret_variable(f) for f in adapter.secret_fields]
                self.notifier.alert(notify.token_expiring(
                    account.name, account.network, result.expires_at, account.timezone,
                    variables))

    def _build_adapters(self) -> None:
        """Build every account's adapter now rather than when its first post is due:
        reading secrets and opening sessions for a hundred accounts took a second, which
        made the first posts after start late."""
        for account in self.settings.enabled_accounts():
            # a broken account is reported (and paused) when one of its posts is due
            with contextlib.suppress(SiarError, ImportError):
                self.adapters.get(account.name)

    def _take_over_dead_local_daemons(self) -> None:
        """A daemon restarted after ``kill -9`` need not wait for its predecessor's leases
        to run out: on this host, a node whose process is gone is certainly dead."""
        host = socket.gethostname()
        with queue.transaction(self.engine) as s:
            nodes = list(s.scalars(select(Node).where(Node.host == host,
                                                      Node.stopped_at.is_(None),
                                                      Node.name != self.node)))
        for node in nodes:
            if _process_alive(node.pid):
                continue
            taken = queue.expire_leases_of(self.engine, node.name)
            with queue.transaction(self.engine) as s:
                row = s.get(Node, node.name)
                if row is not None:
                    row.stopped_at = utcnow()
            if taken:
                log.warning("daemon %s (pid %s) died holding %d post(s); taking them back",
                            node.name, node.pid, taken)

    def _heartbeat(self) -> None:
        """The ``heartbeat`` job: the database file is still ours, this daemon is alive,
        its leases renewed, and alerts that waited for the database are stored now."""
        if not self._check_database_file():
            return
        self._guarded("renewing leases", self._prove_alive, writes=True)
        if not self.health.down:
            self.notifier.store_waiting()

    def _check_database_file(self) -> bool:
        """False (and the daemon stopping with an error) if the SQLite file was deleted or
        replaced: what it does on the old file, nobody sees, and the posts queued in the
        new one wait for a daemon that works on it (a supervisor restarts this one).
        Checked by every claim round and heartbeat: one ``stat``."""
        if self._fatal is not None:
            return False
        changed = database_file_changed(self.engine)
        if changed is None:
            return True
        self._fatal = SiarError(
            f"{changed} while daemon {self.node} was running; it stopped rather than go "
            "on with a database nobody else sees",
            hint="start 'siar daemon' again (a service manager does it by itself) so that "
                 "it works on the file now at that path")
        log.error("%s", self._fatal)
        disown_file(self.engine, self.node, os.getpid())
        self.stop()
        return False

    def _guarded(self, doing: str, work: Callable[[], T], *, writes: bool = False
                 ) -> T | None:
        """``work()``; None if the database is away (reported: logged once an outage).
        ``writes``: the work always writes, so its success proves the database back."""
        try:
            result = work()
        except Exception as exc:
            if not self._database_trouble(exc, doing):
                raise
            return None
        if writes:
            self.health.answered()
        return result

    def _database_trouble(self, error: Exception, doing: str) -> bool:
        """Whether ``error`` is the database being away (reported: logged once an outage)
        or its file gone (the daemon is stopping and says why once)."""
        if isinstance(error, DatabaseReplaced):
            return True
        if is_outage(error):
            self.health.failed(error, doing)
            return True
        return False

    def _prove_alive(self) -> None:
        with queue.transaction(self.engine) as s:
            node = s.get(Node, self.node) or Node(name=self.node, host=socket.gethostname(),
                                                  pid=os.getpid())
            node.heartbeat_at = utcnow()
            node.stopped_at = None
            s.add(node)
        with self._lock:
            ids = list(self._inflight)
        queue.renew_leases(self.engine, self.node, ids, lease=self.cfg.lease_seconds)
        self.notifier.renew_lease()

    def _start_health_server(self) -> Any:
        if not self.cfg.http_port:
            return None
        from scheduler.health import HealthServer

        fresh = max(5.0, 3 * self.cfg.poll_interval)
        return HealthServer(
            self.cfg.http_port, node=self.node,
            snapshot=lambda: snapshot(self.engine, self.cfg),
            counters=lambda: dict(self.summary.counters),
            dispatcher_fresh=lambda: time.monotonic() - self._last_dispatch < fresh,
        ).start()

    # --- outcomes ------------------------------------------------------------------------

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self.summary.counters[kind] = self.summary.counters.get(kind, 0) + 1
            self.summary.outcomes.append((data["post"], data["account"], kind))
            if len(self.summary.outcomes) > 2 * KEEP_OUTCOMES:  # a daemon runs for months
                del self.summary.outcomes[:-KEEP_OUTCOMES]
            if kind in ("published", "probe_published"):
                self.summary.published += 1
            elif kind == "rejected" or data.get("give_up"):
                self.summary.failed += 1
            elif kind in ("not_sent", "rate_limited") and not data.get("missed"):
                self.summary.retried += 1
            elif kind == "in_doubt":
                self.summary.unknown += 1
            elif kind == "auth_failed":
                self.summary.paused += 1
            if data.get("missed"):
                self.summary.missed += 1
        outcome = data["outcome"]
        if kind == "auth_failed":
            self.notifier.post_alert(data["post"], notify.auth_failed, outcome.reason)
        elif kind == "rejected":
            self.notifier.post_alert(data["post"], notify.rejected, outcome.reason)
        elif data.get("give_up"):
            self.notifier.post_alert(data["post"], notify.gave_up, outcome.reason)
        elif data.get("missed"):
            self.notifier.post_alert(data["post"], notify.missed_at_once, data["missed"])
        elif kind == "in_doubt":
            self.wake_housekeeping()

    def wake_housekeeping(self) -> None:
        """Probe a fresh in-doubt post soon instead of at the next housekeeping tick."""
        if self._scheduler is not None and not self.stopping:
            with contextlib.suppress(Exception):
                self._scheduler.modify_job("housekeeping", next_run_time=datetime.now(UTC))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
