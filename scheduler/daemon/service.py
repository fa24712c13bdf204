"""The daemon's life cycle: it starts its parts, runs their jobs on APScheduler's clock,
and stops them in the order that gives back what was not sent.

APScheduler 3.x (in-memory job store; its own stores cannot be shared between processes
and delete a job when it starts) runs the jobs; the database is the queue:

``dispatch``      claim rounds (:mod:`scheduler.daemon.pump`), moved to the moment the
                  next post is due, run at once on a wake-up, on a poll interval otherwise
``housekeeping``  leases taken back, posts missed, posts in doubt probed
``heartbeat``     this daemon alive, the leases of its posts in flight renewed
``watchdog``      alerts when due posts wait longer than ``watchdog_seconds``
``recurrences``   occurrences of recurring releases materialised
``alerts``        staff alerts that some notify account did not take, sent again
``tokens``        each account's credentials checked, staff warned before one lapses

Parts (:mod:`scheduler.daemon`): the pump claims, the starter begins, a worker per post
sends and goes on (:mod:`~scheduler.daemon.worker`), the committer records.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from channels.base import Channel
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.daemon.committer import Committer
from scheduler.daemon.events import OutcomeKind, Recorded, RunSummary, staff_alert
from scheduler.daemon.guard import DatabaseGuard
from scheduler.daemon.inflight import InFlight
from scheduler.daemon.jobs import Jobs
from scheduler.daemon.pump import Pump
from scheduler.daemon.starter import Starter
from scheduler.daemon.warmup import import_http_stack
from scheduler.daemon.worker import Worker
from scheduler.db import QueueListener, open_database
from scheduler.envfile import exposure_warnings
from scheduler.waiting_alerts import PatientNotifier

if TYPE_CHECKING:
    # imported once the first claim round is under way (see run)
    from apscheduler.schedulers.background import BackgroundScheduler

    from scheduler.settings import Settings  # a type: the caller loaded the settings

log = logging.getLogger("siar.daemon")

#: seconds a Python thread may hold the GIL while others wait: Python's default, set
#: explicitly because it was once lowered (see ``run``)
SWITCH_INTERVAL = 0.005

#: the first token check waits for start-up work (seconds)
TOKEN_CHECK_DELAY = 30.0
#: at most this long (seconds; and half a heartbeat) the rest of the start waits for the
#: first posts claimed to be sent and recorded: they come first, but a slow network must
#: not hold back the probes of the posts in doubt, or the job scheduler, for longer
FIRST_POST_WAIT = 1.0


class Daemon:
    """One daemon process's parts, wired together; :meth:`run` until stopped."""

    def __init__(self, settings: Settings, *, dry_run: bool = False,
                 engine: Engine | None = None,
                 channel_classes: Mapping[str, type[Channel]] | None = None,
                 warm_up: threading.Thread | None = None) -> None:
        """``warm_up``: the HTTP stack's import (:mod:`scheduler.daemon.warmup`), if the
        caller started it already (``siar daemon`` does, before opening the database);
        else :meth:`run` starts it."""
        self.settings = settings
        self.cfg = cfg = settings.daemon
        self.dry_run = dry_run or settings.dry_run
        self.engine = engine or open_database(settings.database_url)
        self.node = node = settings.node_name
        #: set to stop (a signal, ``--until-drained``, the database file gone)
        self.stop_event = threading.Event()
        #: set once stopping began: nothing new is claimed, begun or gone on with
        self.stopping = threading.Event()
        self.summary = RunSummary()
        #: set once an outcome was recorded (or stopping): the start's rest may go on
        self._first_recorded = threading.Event()
        self.adapters = Adapters(settings, dry_run=self.dry_run, channel_classes=channel_classes,
                                engine=self.engine)
        self.guard = DatabaseGuard(self.engine, node, stop=self.stop_event)
        self.notifier = PatientNotifier(self.engine, settings, self.adapters,
                                        health=self.guard.health)
        self.publisher = Publisher(self.engine, settings, self.adapters, node,
                                   on_event=self._on_event)
        self.concurrency = {a.name: a.concurrency for a in settings.accounts}
        #: with a worker for every post the accounts may have in flight, workers can go on
        #: with their own account's backlog instead of taking turns
        self.workers = cfg.workers or min(256, max(8, sum(
            a.concurrency for a in settings.enabled_accounts())))
        self.inflight = InFlight()
        self._warm_up = warm_up
        self.jobs = Jobs(self.engine, settings, node=node, guard=self.guard,
                         publisher=self.publisher, adapters=self.adapters,
                         notifier=self.notifier, summary=self.summary, inflight=self.inflight,
                         wake=self.wake, stopping=self.stopping)
        # The threads start in run(): a Daemon built to run one job alone starts none.
        self._scheduler: BackgroundScheduler | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._starter: Starter | None = None
        self._committer: Committer | None = None
        self._pump: Pump | None = None

    @property
    def housekeeping_seconds(self) -> float:
        """How often housekeeping runs: a quarter lease, within 0.2–5 s, unless set."""
        if self.cfg.housekeeping_seconds is not None:
            return self.cfg.housekeeping_seconds
        return min(5.0, max(0.2, self.cfg.lease_seconds / 4))

    @property
    def lookahead_seconds(self) -> float:
        """Claim posts this long before their time so the request leaves on the dot."""
        return min(self.cfg.lookahead_seconds, self.cfg.lease_seconds / 4)

    # --- life cycle ----------------------------------------------------------------------

    @contextlib.contextmanager
    def signals_stop_it(self) -> Iterator[None]:
        """Within the block, SIGTERM and SIGINT stop the daemon gracefully (see
        :meth:`run`); the handlers before it come back after it (a daemon run inside a
        longer-lived process, such as the tests', must not leave its handler behind)."""
        def _stop(signum: int, _frame: object) -> None:
            log.info("signal %s: finishing in-flight posts, then stopping", signum)
            self.stop()

        before = {number: signal.signal(number, _stop)
                  for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for number, handler in before.items():
                signal.signal(number, handler)

    def stop(self) -> None:
        """Ask the daemon to stop (from any thread); :meth:`run` then returns."""
        self.stop_event.set()
        self._first_recorded.set()

    def wake(self) -> None:
        """Run a claim round soon: posts became claimable."""
        if self._pump is not None:
            self._pump.wake()

    def run(self, *, once: bool = False, until_drained: bool = False) -> RunSummary:
        """Publish until stopped (``once``: what is due now; ``until_drained``: until
        nothing waits that this daemon could send). On the way out the posts in flight are
        finished, claims not begun given back, and pending alerts sent. Raises
        :class:`SiarError` if the daemon had to stop because its database file went away."""
        if self.rehearsing:  # each due post rehearsed once ("drained"), none consumed
            self._warn_exposed()
            return self._rehearse(once=once or until_drained)
        phases = StartPhases()
        if self._warm_up is None:  # what the first send imports, while the start below
            # waits on the database
            self._warm_up = import_http_stack(
                a.network for a in self.settings.enabled_accounts()
                if a.network not in self.adapters.channel_classes)
        # Only what a claim depends on comes before the first claim round: this daemon
        # alive (heartbeat), a dead predecessor's posts taken back, the accounts' rows,
        # posts past their grace missed. Then one claim round; the job scheduler, the
        # probes of the posts in doubt, approvals, website links, recurrences and the
        # adapters of accounts with nothing due wait for the first posts to go out (after
        # a kill -9 they took most of a second before any new post could).
        self.jobs.heartbeat()
        phases.done("heartbeat")
        self.jobs.take_over_dead_local_daemons()
        queue.ensure_accounts(self.engine, self.concurrency)
        self.jobs.take_back()
        phases.done("leases taken back, missed posts marked")
        # A hundred worker threads share one GIL. A lower switch interval (0.5 ms) once
        # sped up claim rounds, which every free worker waited for; since workers go on
        # with their account's next post, rounds are off a burst's path, and the forced
        # switches cost more than they gave (5,000-post burst, SQLite: 1,120 posts/s and
        # 0.81 ms CPU a post at 5 ms, 790/s and 1.18 ms at 0.5 ms; lateness p99 3 → 8 ms,
        # within its 25 ms target).
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._pump = self._start_parts()
        try:
            if once:
                self._settle_in(phases)
                self._pump.run_until_idle()
                while self.jobs.website_links():  # posts that waited for a website post
                    self._pump.run_until_idle()   # published just now go out as well
            else:
                # up before the first claim: it serves the photos that networks which
                # fetch images by URL (Instagram, Threads) download while a post is sent
                health = self._start_health_server(self._pump)
                # one claim round (the job scheduler's dispatch runs the next ones)
                self.guard.guarded("claiming due posts", self._pump.round)
                phases.done("first claim round")
                if len(self.inflight):
                    # The first posts go out before the rest of the start competes with
                    # them for the GIL (APScheduler's import, a hundred probes and alerts
                    # after a crash): at most half a heartbeat, as the heartbeat job that
                    # renews their leases runs once the job scheduler is started.
                    self._first_recorded.wait(min(FIRST_POST_WAIT,
                                                  self.cfg.heartbeat_seconds / 2))
                    phases.done("first outcome recorded")
                try:
                    self._run_scheduled(self._pump, phases, until_drained=until_drained)
                finally:
                    if health is not None:
                        health.stop()
            # a website post that failed just now: staff hear of the posts waiting for it
            self.guard.guarded("website first", self.jobs.website_links)
        finally:
            self._shutdown()
        if self.guard.fatal is not None:
            raise self.guard.fatal
        return self.summary

    def _settle_in(self, phases: StartPhases) -> None:
        """The start-up work no claim waits for: housekeeping (approvals, probes of the
        posts in doubt, on their own pool), recurrences, every account's adapter."""
        # here, not first: with a config file others can read, this parses it and the
        # .env again (tens of ms a restart's first post need not wait for)
        self._warn_exposed()
        self.jobs.housekeeping()
        self.jobs.recurrences()
        self.jobs.build_adapters()
        # Imports, adapters and caches built so far live as long as the daemon; keeping
        # them out of the collector's full scans shortens the pauses that stop every
        # thread (measured: the slowest posts of a busy minute came after such a pause).
        # `siar daemon` starts with the collector off (as every command), so start-up does
        # not walk these objects over and over either; the daemon runs for weeks: on now.
        gc.freeze()
        gc.enable()
        phases.done("settled in")

    def _warn_exposed(self) -> None:
        for warning in exposure_warnings(self.settings):  # secrets others can read
            log.warning("%s", warning)

    def _start_parts(self) -> Pump:
        """The worker pool, the starter, the committer, and the pump that feeds them."""
        lease = self.cfg.lease_seconds
        health = self.guard.health
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="siar-worker")
        first_send = self.publisher.first_send_state  # stored with each begin
        self._committer = Committer(self.engine, next_in_line=queue.NextInLine(
            accounts=(), node=self.node, lease=lease, concurrency=self.concurrency,
            first_send=first_send), health=health)
        self._starter = Starter(self.engine, self.node, lease=lease, health=health,
                                first_send=first_send)
        worker = Worker(self.engine, self.node, publisher=self.publisher,
                        committer=self._committer, inflight=self.inflight,
                        summary=self.summary, stopping=self.stopping)
        return Pump(self.engine, node=self.node, workers=self.workers, batch=self.cfg.batch,
                    lease=lease, lookahead=self.lookahead_seconds,
                    concurrency=self.concurrency, inflight=self.inflight,
                    starter=self._starter, committer=self._committer, worker=worker,
                    pool=self._pool, guard=self.guard, stopping=self.stopping,
                    alive_window=3 * self.cfg.heartbeat_seconds)  # as siar status counts

    @property
    def rehearsing(self) -> bool:
        """A dry run on a live database (the deployment is not ``dry_run = true``): posts
        are rehearsed, never consumed (:mod:`scheduler.daemon.rehearsal`)."""
        return self.dry_run and not self.settings.dry_run

    def _rehearse(self, *, once: bool) -> RunSummary:
        from scheduler.daemon.rehearsal import Rehearsal

        gc.enable()  # off during start-up (see run)

        done = Rehearsal(self.engine, self.settings, self.node, self.adapters).run(
            self.stop_event, once=once)
        self.summary.rehearsed = len(done)
        self.adapters.close()
        return self.summary

    def _run_scheduled(self, pump: Pump, phases: StartPhases, *, until_drained: bool) -> None:
        # APScheduler's import reads the entry points of every installed distribution
        # (tens of ms): done here, after the first claim round has been handed out
        from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        guarded = self.guard.guarded
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": JobExecutor(6)},
            job_defaults={"coalesce": True, "max_instances": 4, "misfire_grace_time": None})
        now = datetime.now(UTC)
        every = self.housekeeping_seconds
        scheduler.add_job(pump.dispatch, "interval", seconds=self.cfg.poll_interval,
                          id="dispatch", next_run_time=now)
        scheduler.add_job(self.jobs.housekeeping, "interval", seconds=every, id="housekeeping")
        scheduler.add_job(self.jobs.heartbeat, "interval", seconds=self.cfg.heartbeat_seconds,
                          id="heartbeat", next_run_time=now)  # the first claims' leases
        scheduler.add_job(self.jobs.watchdog, "interval",
                          seconds=max(1.0, self.cfg.watchdog_seconds / 4), id="watchdog")
        scheduler.add_job(self.jobs.recurrences, "interval", seconds=60, id="recurrences")
        scheduler.add_job(lambda: guarded("sending alerts again", self.notifier.retry_due),
                          "interval", id="alerts", seconds=every, next_run_time=now)
        if self.cfg.token_check_hours > 0 and not self.dry_run:
            scheduler.add_job(self.jobs.check_tokens, "interval",
                              seconds=self.cfg.token_check_hours * 3600, id="tokens",
                              next_run_time=now + timedelta(seconds=TOKEN_CHECK_DELAY))
        self._scheduler = scheduler
        # before the start: the dispatch job runs at once, and the wake-up its round sets
        # for the next due post would be lost (with a long poll, the post waited for it)
        pump.move_dispatch = lambda when: self._move_job("dispatch", when)
        scheduler.start()
        listener = QueueListener(self.engine, pump.wake).start()
        phases.done("job scheduler started")
        try:
            self._settle_in(phases)
            while not self.stop_event.wait(0.1 if until_drained else 1.0):
                if until_drained and guarded("checking the queue", self.drained):
                    break
        finally:
            self.stopping.set()
            pump.move_dispatch = None
            self._starter.close()  # type: ignore[union-attr]  # posts not begun: given back
            scheduler.shutdown(wait=True)
            listener.stop()

    def _move_job(self, job_id: str, when: datetime) -> None:
        """Run job ``job_id`` at ``when`` if that is before its next run."""
        if self._scheduler is None or self.stopping.is_set():
            return
        # JobLookupError/SchedulerNotRunning while shutting down: nothing left to move.
        with contextlib.suppress(Exception):
            job = self._scheduler.get_job(job_id)
            if job is not None and (job.next_run_time is None or when < job.next_run_time):
                self._scheduler.modify_job(job_id, next_run_time=when)

    def _shutdown(self) -> None:
        """Finish in-flight posts; claims whose worker has not started are given back."""
        self.stopping.set()
        if self._starter is not None:
            self._starter.close()  # claims not begun yet are given back, never sent
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.jobs.close_probes()
        if self._committer is not None:
            self._committer.close()  # every answer received is recorded before we stop
        self.notifier.store_waiting()
        self.notifier.flush()
        self.notifier.close()
        if self.guard.fatal is None and self.guard.guarded(
                "marking this daemon stopped", self.jobs.mark_stopped, writes=True) is None:
            log.warning("the database did not answer: this daemon is not marked stopped; "
                        "'siar status' counts it as gone after three missed heartbeats")
        self.adapters.close()

    def drained(self) -> bool:
        """Nothing is left that this daemon could still do by itself: no post due, none in
        flight, and none in doubt whose probe has not answered yet (it may find the post
        absent and send it again). The posts of a paused account are blocked until staff
        resume it, not waiting; a post in doubt whose probe could not tell is parked for
        staff (alerted once, settled with ``siar resolve``): nothing more to wait for."""
        from scheduler.queue import website

        undone, in_doubt = queue.left_to_do(self.engine)
        if undone or len(self.inflight) or self.jobs.awaiting_probe(in_doubt):
            return False
        # posts waiting for a website post that is on its way or out will go out too
        return not website.still_coming(self.engine)

    def _start_health_server(self, pump: Pump) -> Any:
        if not self.cfg.http_port:
            return None
        from scheduler.health import HealthServer
        from scheduler.status import snapshot

        fresh = max(5.0, 3 * self.cfg.poll_interval)
        return HealthServer(
            self.cfg.http_port, node=self.node,
            snapshot=lambda: snapshot(self.engine, self.cfg),
            counters=self.summary.counters_now,
            dispatcher_fresh=lambda: time.monotonic() - pump.last_round < fresh,
            files=getattr(self.adapters.store, "serve", None),
        ).start()

    # --- outcomes ------------------------------------------------------------------------

    def _on_event(self, event: Recorded) -> None:
        """An outcome is recorded: count it, say what went out (INFO, for ``-v`` and the
        journal), and alert staff or probe soon if it calls for it."""
        self.summary.count(event)
        if not self._first_recorded.is_set():  # set() takes a lock and wakes: once is enough
            self._first_recorded.set()
        if event.kind is OutcomeKind.PUBLISHED:
            if not event.probed and log.isEnabledFor(logging.INFO):
                url = getattr(event.outcome, "url", None) or ""
                log.info("post %s (%s) published %s", event.post, event.account, url,
                         extra={"post": event.post, "account": event.account, "url": url})
            if event.account in self.jobs.link_sources:
                # a website post others wait for: they get its address now, not at the
                # next tick
                self._move_job("housekeeping", datetime.now(UTC))
            return  # a published post calls for no alert and no probe
        if (alert := staff_alert(event)) is not None:
            self.notifier.post_alert(event.post, *alert)
        elif event.kind is OutcomeKind.IN_DOUBT:
            # probe a fresh in-doubt post soon instead of at the next housekeeping tick
            self._move_job("housekeeping", datetime.now(UTC))


class StartPhases:
    """The start-up's phases at DEBUG (``siar -vv daemon``): when each ended, the wall time
    since :meth:`Daemon.run` began and the process's CPU time since it started (imports
    and settings included), to see what stands between a restart and the first post."""

    def __init__(self) -> None:
        self._began = time.monotonic()

    def done(self, phase: str) -> None:
        """Log that ``phase`` ended."""
        log.debug("start-up: %s after %.0f ms (process CPU %.0f ms)", phase,
                  (time.monotonic() - self._began) * 1000, time.process_time() * 1000)
