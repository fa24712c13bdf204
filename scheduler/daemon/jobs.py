"""The daemon's periodic jobs besides claiming: housekeeping (leases taken back, posts
missed, posts in doubt probed), the heartbeat, the watchdog, recurring releases and the
token check; and taking over the posts of a dead daemon on this host at start.

Probes run on a pool of their own, a few per network at a time, while new posts go out:
after a restart with a hundred posts in doubt, asking each network one after another
(a lookup each, at network latency) held back every new post for tens of seconds.

Every job skips its turn while the database is away (:class:`DatabaseGuard`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from channels.base import Published
from scheduler import notify, queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.daemon.events import RunSummary
from scheduler.daemon.guard import DatabaseGuard
from scheduler.daemon.inflight import InFlight
from scheduler.errors import SiarError
from scheduler.timeparse import utcnow
from scheduler.waiting_alerts import PatientNotifier

if TYPE_CHECKING:  # types only: the daemon's start does not import the ORM's models
    from scheduler.models import Post
    from scheduler.settings import Settings

log = logging.getLogger("siar.daemon")

#: posts in doubt one housekeeping run looks at, at most
PROBES_PER_RUN = 100
#: probes running at once, and at once on one network (a lookup each: not a flood on a
#: network that has just failed to answer)
PROBE_WORKERS = 8
PROBES_PER_NETWORK = 4


class Jobs:
    """What the job scheduler runs besides claim rounds (any one of them may run on its
    own thread, at the same time as the others)."""

    def __init__(self, engine: Engine, settings: Settings, *, node: str, guard: DatabaseGuard,
                 publisher: Publisher, adapters: Adapters, notifier: PatientNotifier,
                 summary: RunSummary, inflight: InFlight, wake: Callable[[], None],
                 stopping: threading.Event) -> None:
        """``wake`` asks for a claim round soon (posts became claimable)."""
        self.engine = engine
        self.settings = settings
        self.cfg = settings.daemon
        self.node = node
        self.guard = guard
        self.health = guard.health
        self.publisher = publisher
        self.adapters = adapters
        self.notifier = notifier
        self.summary = summary
        self.inflight = inflight
        self.wake = wake
        self.stopping = stopping
        #: (post, attempt) in doubt → when it was last probed (``time.monotonic``)
        self._probed: dict[tuple[int, int], float] = {}
        #: (post, attempt) whose probe is queued or running
        self._probing: set[tuple[int, int]] = set()
        #: (post, attempt) whose probe ended and could not tell: parked for staff
        self._parked: set[tuple[int, int]] = set()
        self._probe_lock = threading.Lock()
        self._probe_pool = ThreadPoolExecutor(max_workers=PROBE_WORKERS,
                                              thread_name_prefix="siar-probe")
        self._per_network: defaultdict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(PROBES_PER_NETWORK))
        #: keys of the in-doubt alerts raised by this daemon
        self._alerted: set[str] = set()
        #: True once mark_missed looked at every waiting post (at start)
        self._swept = False
        #: the accounts whose next publication gives waiting posts their link
        self.link_sources: frozenset[str] = frozenset()

    # --- housekeeping ------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Take back expired leases, mark posts missed, probe posts in doubt."""
        try:
            self._take_back()
            self._approvals()
            self._probe_in_doubt()
            self.website_links()
        except Exception as exc:
            if not self.guard.trouble(exc, "housekeeping"):
                log.exception("housekeeping failed; it runs again shortly")

    def take_back(self) -> None:
        """The part of housekeeping a claim depends on, for the daemon's start: expired
        leases taken back (a dead daemon's posts in flight no longer fill their accounts'
        concurrency) and posts past their grace marked missed (a claim does not look at
        the grace: what it takes goes out). The rest (approvals, probes, website links)
        may come after the first claim round."""
        try:
            self._take_back()
        except Exception as exc:
            if not self.guard.trouble(exc, "housekeeping"):
                log.exception("housekeeping failed; it runs again shortly")

    def _take_back(self) -> None:
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

    def _mark_missed(self) -> None:
        # The first time, every waiting post is looked at: a retry set years ahead by an
        # older version (a Retry-After followed as it was) is found too.
        missed = queue.mark_missed(self.engine, timedelta(minutes=self.cfg.grace_minutes),
                                   node=self.node, sweep=not self._swept)
        self._swept = True
        if not missed:
            return
        self.summary.add(missed=len(missed))
        from scheduler.models import Post, Release  # the ORM: only when staff hear of it

        with queue.transaction(self.engine) as s:
            rows = [(s.get(Post, m.post_id), s.get(Release, m.release_id)) for m in missed]
        self.notifier.alert(notify.missed([(p, r) for p, r in rows if p is not None]))

    def _approvals(self) -> None:
        """Releases due and not approved: held (staff alerted), missed past the grace."""
        from scheduler import approval  # with the release parser: off the start's path

        missed = approval.housekeeping(self.engine, self.settings, self.node, self.notifier,
                                       alerted=self._alerted)
        if missed:
            self.summary.add(missed=missed)

    def website_links(self) -> bool:
        """Posts waiting for their website post's address get it once it is out; staff
        hear of a website post that will not come out by itself. True if any got it."""
        # imported here: the composer they bring is needed only once a website post is out
        from scheduler import website_first
        from scheduler.queue import website

        delivered = website_first.deliver_links(self.engine, self.settings, self.node)
        if delivered:
            self.wake()
        self.link_sources = website.link_sources(self.engine)
        for message in website_first.stuck_alerts(self.engine):
            self.notifier.alert(message)
        return any(item.error is None for item in delivered)

    def _probe_in_doubt(self) -> None:
        """Hand each post in doubt not probed lately to the probe pool; returns at once."""
        now = time.monotonic()
        # read past the posts parked for staff: behind a hundred of them, the posts in
        # doubt after them were never probed (and --until-drained waits for those)
        limit = PROBES_PER_RUN + len(self._parked)
        doubtful = queue.in_doubt(self.engine, limit=limit)
        current = {(p.id, p.attempt) for p in doubtful}
        with self._probe_lock:
            self._probed = {k: v for k, v in self._probed.items()
                            if k in current or k in self._probing}
            if len(doubtful) < limit:  # every post in doubt is in ``current``
                self._parked &= current
            due = [p for p in doubtful if (p.id, p.attempt) not in self._probing
                   and now - self._probed.get((p.id, p.attempt), -1e9) >= self.cfg.probe_seconds]
            # those never probed (or settled by a probe since) first, oldest first
            due = sorted(due, key=lambda p: (p.id, p.attempt) in self._parked)[:PROBES_PER_RUN]
            for post in due:
                self._probing.add((post.id, post.attempt))
                self._probed[(post.id, post.attempt)] = now  # type: ignore[index]
        for post in due:
            self._probe_pool.submit(self._probe_one, post)

    def _probe_one(self, post: Post) -> None:
        """One probe, on the probe pool: settle the post if its network can tell, else
        alert staff once."""
        token = (post.id, post.attempt)
        try:
            with self._network_slot(post.network):
                if self.stopping.is_set():
                    return
                verdict = self.publisher.probe(post)
            if verdict is not None:
                log.info("post %s (%s) was in doubt: the network says it is %s", post.id,
                         post.account, "there" if isinstance(verdict, Published) else
                         "not there, so it goes out again", extra={"post": post.id,
                                                                   "account": post.account})
                self.wake()
                return
            with self._probe_lock:
                self._parked.add(token)  # type: ignore[arg-type]
            key = f"unknown:{post.id}:{post.attempt}"
            if key not in self._alerted:
                self._alerted.add(key)
                # the other end of a probe, logged like a settlement (once per attempt)
                log.info("post %s (%s) is in doubt and its network cannot tell: held for "
                         "staff ('siar resolve')", post.id, post.account,
                         extra={"post": post.id, "account": post.account})
                self.notifier.post_alert(post.id, notify.in_doubt)  # type: ignore[arg-type]
        except Exception as exc:  # a probe must never take its pool thread down
            if not self.guard.trouble(exc, "probing a post in doubt"):
                log.exception("probe of post %s (%s) failed; it is probed again later",
                              post.id, post.account)
        finally:
            with self._probe_lock:
                self._probing.discard(token)  # type: ignore[arg-type]

    def awaiting_probe(self, in_doubt: Iterable[tuple[int, int]]) -> bool:
        """Whether any of these posts in doubt (post, attempt) has not yet had a probe
        that ended without a verdict, or is being probed again: the probe may still settle
        it (not yet handed to the probe pool, queued, running, or stopped by the database's
        trouble)."""
        with self._probe_lock:
            return any(key not in self._parked or key in self._probing for key in in_doubt)

    @contextlib.contextmanager
    def _network_slot(self, network: str) -> Iterator[None]:
        with self._per_network[network]:
            yield

    def close_probes(self) -> None:
        """Wait for the probes running (those not started yet are dropped: the posts stay
        in doubt, and the next daemon probes them)."""
        self._probe_pool.shutdown(wait=True, cancel_futures=True)

    # --- watchdog, recurrences, tokens ---------------------------------------------------

    def watchdog(self) -> None:
        """Alert staff when due posts wait longer than ``watchdog_seconds``."""
        from scheduler.status import overdue_posts

        overdue = self.guard.guarded("looking for overdue posts",
                                     lambda: overdue_posts(self.engine))
        if overdue is None:
            return
        if overdue.oldest_due and overdue.seconds(utcnow()) > self.cfg.watchdog_seconds:
            self.notifier.alert(notify.watchdog(overdue.count, overdue.oldest_due,
                                                self.settings.timezone))

    def recurrences(self) -> None:
        """Materialise the coming occurrences of recurring releases."""
        from scheduler.recurrences import materialise_recurrences

        try:
            created = materialise_recurrences(
                self.engine, horizon=timedelta(hours=self.cfg.recurrence_horizon_hours),
                grace=timedelta(minutes=self.cfg.grace_minutes))
        except Exception as exc:
            if not self.guard.trouble(exc, "materialising recurring releases"):
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
            if self.stopping.is_set():
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

    # --- this daemon's node ------------------------------------------------------------

    def heartbeat(self) -> None:
        """The database file is still ours, this daemon is alive, the leases of its posts
        in flight renewed, and alerts that waited for the database are stored now."""
        if not self.guard.file_still_ours():
            return
        self.guard.guarded("renewing leases", self._prove_alive, writes=True)
        if not self.health.down:
            self.notifier.store_waiting()

    def _prove_alive(self) -> None:
        # a daemon restarted under a fixed node name takes its predecessor's row over, with
        # this pid (the dead one's would make this live process look dead to the next
        # daemon here)
        queue.prove_alive(self.engine, self.node, host=socket.gethostname(), pid=os.getpid())
        queue.renew_leases(self.engine, self.node, self.inflight.post_ids(),
                           lease=self.cfg.lease_seconds)
        self.notifier.renew_lease()

    def take_over_dead_local_daemons(self) -> None:
        """A daemon restarted after ``kill -9`` need not wait for its predecessor's leases
        to run out: on this host, a node whose process is gone is certainly dead."""
        for name, pid in queue.running_on(self.engine, socket.gethostname(),
                                          besides=self.node):
            if _process_alive(pid):
                continue
            taken = queue.expire_leases_of(self.engine, name)
            queue.mark_stopped(self.engine, name)
            if taken:
                log.warning("daemon %s (pid %s) died holding %d post(s); taking them back",
                            name, pid, taken)

    def mark_stopped(self) -> bool:
        """This daemon's node row says it stopped (``siar status`` no longer waits for it)."""
        queue.mark_stopped(self.engine, self.node)
        return True

    def build_adapters(self) -> None:
        """Build every account's adapter now rather than when its first post is due:
        reading secrets and opening sessions for a hundred accounts took a second, which
        made the first posts after start late."""
        for account in self.settings.enabled_accounts():
            # a broken account is reported (and paused) when one of its posts is due
            with contextlib.suppress(SiarError, ImportError):
                self.adapters.get(account.name)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
