"""Staff alerts: say which release and account, what went wrong, and the command that fixes it.

An alert is stored once under a key (``auth:x-lapas:42:3``); storing it is what decides
who sends it, so several daemons and restarts never repeat one. It then goes out
through every account listed in ``[notify] accounts`` — any adapter will do (e-mail,
Telegram, webhook …) — from a single background thread, so a slow mail server never
holds up publishing. An account that does not take it (down, refusing, misconfigured)
gets it again with backoff, across restarts, for up to a day (:class:`Notifier`); until
then ``siar status`` lists the alert with the error.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from channels.base import Delivery, Outcome, Published, describe
from channels.http import redact
from channels.variant import Variant
from scheduler import backoff, queue
from scheduler.db import clock, is_sqlite
from scheduler.i18n import _
from scheduler.settings import Settings
from scheduler.states import label
from scheduler.timeparse import show, to_db, utcnow

if TYPE_CHECKING:  # the models are imported where an alert is stored or sent: a daemon's
    # start, which only sets up its notifier, does not import the ORM for them
    from scheduler.models import Post, Release

log = logging.getLogger("siar.notify")


@dataclass(frozen=True)
class Message:
    """What staff read: a subject line and a body that ends with the fix."""

    key: str
    kind: str
    subject: str
    body: str


# --- the messages ----------------------------------------------------------------------------


def _post_line(post: Post, release: Release | None) -> str:
    title = f"“{release.title}”" if release else _("(release deleted)")
    due = show(post.due_at, release.zone) if release else str(post.due_at)
    return _("release {id} {title}, account {account} ({network}), due {time}").format(
        id=post.release_id, title=title, account=post.account, network=post.network, time=due)


def _lines(*lines: str) -> str:
    return "\n".join(lines)


def _fix(text: str) -> str:
    return _("fix: {what}").format(what=text)


def auth_failed(post: Post, release: Release | None, error: str) -> Message:
    account = post.account
    return Message(
        key=f"auth:{account}:{post.id}:{post.attempt}", kind="auth_failed",
        subject=_("Siar: account {account} paused — credentials refused").format(
            account=account),
        body=_lines(
            _post_line(post, release), _("error: {error}").format(error=error),
            _("Every post of {account} waits until the credentials are fixed.").format(
                account=account),
            _fix(_("renew the token in SIAR_SECRET_* for {account}, check it with 'siar "
                   "accounts check {account}', then run 'siar accounts resume {account}'")
                 .format(account=account))))


def rejected(post: Post, release: Release | None, error: str) -> Message:
    target = f"{post.release_id}/{post.account}"
    return Message(
        key=f"failed:{post.id}:{post.attempt}", kind="failed",
        subject=_("Siar: {account} refused release {id}").format(account=post.account,
                                                                  id=post.release_id),
        body=_lines(
            _post_line(post, release), _("error: {error}").format(error=error),
            _("The other accounts of this release are not affected."),
            _fix(_("correct the text ('siar show {target}'), then 'siar reschedule {target} "
                   "--at now'").format(target=target))))


def gave_up(post: Post, release: Release | None, error: str) -> Message:
    return Message(
        key=f"gave-up:{post.id}:{post.attempt}", kind="failed",
        subject=_("Siar: gave up on release {id} for {account}").format(
            id=post.release_id, account=post.account),
        body=_lines(
            _post_line(post, release),
            _("error after {count} attempts: {error}").format(count=post.attempt, error=error),
            _fix(_("when the network is reachable again, 'siar reschedule {target} --at now'")
                 .format(target=f"{post.release_id}/{post.account}"))))


def in_doubt(post: Post, release: Release | None) -> Message:
    target = f"{post.release_id}/{post.account}"
    return Message(
        key=f"unknown:{post.id}:{post.attempt}", kind="unknown",
        subject=_("Siar: is release {id} on {account}? Please check").format(
            id=post.release_id, account=post.account),
        body=_lines(
            _post_line(post, release),
            _("error: {error}").format(error=post.last_error or _("the answer was lost")),
            _("Siar will not send it again on its own: that could post it twice."),
            _fix(_("look at {account}; then 'siar resolve {target} --published URL' if it is "
                   "there, 'siar resolve {target} --resend' if it is not, or 'siar resolve "
                   "{target} --abandon'").format(account=post.account, target=target))))


def missed(posts: list[tuple[Post, Release | None]]) -> Message:
    lines = [f"  {_post_line(p, r)}" for p, r in posts[:20]]
    if len(posts) > 20:
        lines.append("  " + _("… and {count} more ('siar queue --status missed')").format(
            count=len(posts) - 20))
    first = posts[0][0]
    ids = ",".join(str(p.id) for p, _r in posts)
    return Message(
        key=f"missed:{hashlib.sha256(ids.encode()).hexdigest()[:32]}", kind="missed",
        subject=_("Siar: {count} post(s) missed their time").format(count=len(posts)),
        body=_lines(
            _("These posts could not go out within the grace period after their time and "
              "were not sent (late press releases do more harm than good):"),
            *lines,
            _fix(_("'siar reschedule {target} --at now' (or another time) for each post that "
                   "should still go out").format(target=f"{first.release_id}/{first.account}"))))


def missed_at_once(post: Post, release: Release | None, reason: str) -> Message:
    """One post missed the moment it became clear it could not go out within its grace
    period (the network asked to wait beyond it): ``reason`` names the network's wait."""
    target = f"{post.release_id}/{post.account}"
    return Message(
        key=f"missed:{post.id}:{post.attempt}", kind="missed",
        subject=_("Siar: release {id} missed on {account} — it cannot go out in time").format(
            id=post.release_id, account=post.account),
        body=_lines(
            _post_line(post, release), _("why: {reason}").format(reason=reason),
            _("It was not sent, and Siar will not send it late on its own."),
            _fix(_("if it should still go out, 'siar reschedule {target} --at now' (or another "
                   "time) once {account} accepts posts again").format(target=target,
                                                                      account=post.account))))


def website_stuck(post: Post, release: Release | None, waiting: int) -> Message:
    """The website post of a release will not come out by itself, and ``waiting`` posts
    of the release wait for its address."""
    target = f"{post.release_id}/{post.account}"
    fixes = {
        "unknown": _("'siar resolve {target} --published URL' if it is on the website, else "
                     "'siar resolve {target} --resend'"),
        "paused": _("fix the credentials of {account}, then 'siar accounts resume {account}'"),
        "cancelled": _("'siar cancel {id}' if the release should not go out"),
    }
    fix = fixes.get(post.status, _("'siar reschedule {target} --at now' once {account} "
                                   "accepts posts again"))
    state = label(post.status)
    return Message(
        key=f"website:{post.id}:{post.attempt}:{post.status}", kind="website",
        subject=_("Siar: {count} post(s) of release {id} wait for the website post "
                  "({status})").format(count=waiting, id=post.release_id, status=state),
        body=_lines(
            _post_line(post, release),
            _("The website post is {status}").format(status=state)
            + (f": {post.last_error}" if post.last_error else ""),
            _("{count} other post(s) of the release link to it and wait: they are never "
              "published without that link.").format(count=waiting),
            _fix(fix.format(target=target, account=post.account, id=post.release_id))))


def token_expiring(account: str, network: str, expires_at: datetime, zone: str,
                   variables: list[str]) -> Message:
    from channels import registry

    # a network whose channel can extend its own tokens (Threads) is refreshed by Siar
    refreshable = callable(getattr(registry.lookup(network), "refresh_token", None))
    fix = (_("'siar accounts refresh {account}' (it writes the new token to .env), then "
             "restart the daemon").format(account=account) if refreshable else
           _("issue a new token on {network} and put it in {variables} (environment or .env), "
             "check it with 'siar accounts check {account}', then restart the daemon").format(
               network=network, variables=", ".join(variables) or _("its secret"),
               account=account))
    when = show(expires_at, zone)
    return Message(
        key=f"token:{account}:{expires_at.date().isoformat()}", kind="token_expiring",
        subject=_("Siar: the token of {account} expires {time}").format(account=account,
                                                                         time=when),
        body=_lines(
            _("account {account} ({network}): its access token expires {time}. After that "
              "every post of {account} fails.").format(account=account, network=network,
                                                        time=when),
            _fix(fix)))


def watchdog(count: int, oldest: datetime, zone: str) -> Message:
    return Message(
        key=f"watchdog:{oldest.isoformat()}", kind="watchdog",
        subject=_("Siar: {count} due post(s) are not being picked up").format(count=count),
        body=_lines(
            _("The oldest has been due since {time}.").format(time=show(oldest, zone)),
            _fix(_("run 'siar status' to see which daemons are alive; start one with 'siar "
                   "daemon' (or restart the service)"))))


# --- sending ---------------------------------------------------------------------------------

#: no delivery attempt starts later than this after the alert was raised; it then stays
#: listed by ``siar status`` as not delivered
GIVE_UP_AFTER = timedelta(hours=24)
#: alerts one retry round takes on, so that a stopping daemon waits for few deliveries
RETRY_BATCH = 20
#: what ``deliveries`` holds for a notify account that has taken the alert
TAKEN = Published.__name__


@dataclass(frozen=True)
class Claim:
    """This daemon may send alert ``key`` while its lease lasts (``daemon.lease_seconds``,
    renewed by the heartbeat like a post's); ``attempt`` fences it."""

    key: str
    attempt: int


class Notifier:
    """Stores each alert once and sends it through the configured notify accounts; an
    alert that some account did not take is tried again with backoff, across restarts,
    by whichever daemon claims it, and only through the accounts that have not taken it."""

    def __init__(self, engine: Engine, settings: Settings, adapters: Any, *,
                 give_up_after: timedelta = GIVE_UP_AFTER) -> None:
        self.engine = engine
        self.settings = settings
        self.adapters = adapters
        self.give_up_after = give_up_after
        self.lease = timedelta(seconds=settings.daemon.lease_seconds)
        self._secrets = settings.all_secret_values()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siar-notify")
        self._pending: list[Future[None]] = []
        self._retrying: Future[None] | None = None
        #: the claim being delivered now, whose lease the heartbeat renews
        self._current: Claim | None = None
        self._current_lock = threading.Lock()
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def alert(self, message: Message) -> bool:
        """Record ``message`` and send it, unless an alert with its key exists. True if new."""
        clean = Message(message.key, message.kind, redact(message.subject, self._secrets),
                        redact(message.body, self._secrets))
        claim = self._store(clean)
        if claim is None:
            return False
        log.warning("%s\n%s", clean.subject, clean.body)
        if claim.attempt:  # there are notify accounts: this daemon makes the first attempt
            future = self._pool.submit(self._deliver_logged, claim)
            with self._lock:
                self._pending = [f for f in self._pending if not f.done()] + [future]
        return True

    def post_alert(self, post_id: int, build: Any, *args: Any) -> bool:
        """Alert about one post: ``build(post, release, *args)`` makes the message."""
        from scheduler.models import Post, Release

        with queue.transaction(self.engine) as s:
            post = s.get(Post, post_id)
            release = s.get(Release, post.release_id) if post else None
        if post is None:
            return False
        return self.alert(build(post, release, *args))

    def retry_due(self) -> None:
        """Send again the alerts whose next try has come (a daemon job; returns at once)."""
        if not self.settings.notify.accounts or self._closed.is_set():
            return
        with self._lock:
            if self._retrying is not None and not self._retrying.done():
                return  # the round in progress goes on to the next due alert itself
            try:
                self._retrying = self._pool.submit(self._retry_round)
            except RuntimeError:  # closed meanwhile: the next daemon retries them
                return

    def claim_due(self, *, now: datetime | None = None) -> Claim | None:
        """Claim the alert whose next try is the oldest due, if any: one conditional
        ``UPDATE`` that moves its next try a lease ahead and counts the attempt, so no other
        daemon sends it while this one does (PostgreSQL skips rows another daemon is
        claiming at that moment)."""
        from scheduler.models import Alert

        with queue.transaction(self.engine) as s:
            moment = clock(self.engine, now, s)
            oldest_due = (select(Alert.key).where(Alert.next_try_at <= moment)
                          .order_by(Alert.next_try_at).limit(1)
                          .with_for_update(skip_locked=True).scalar_subquery())
            row = s.execute(
                update(Alert).where(Alert.key == oldest_due, Alert.next_try_at <= moment)
                .values(attempts=Alert.attempts + 1,
                        next_try_at=moment + self.lease)
                .returning(Alert.key, Alert.attempts)
                .execution_options(synchronize_session=False)).first()
        return Claim(row[0], row[1]) if row else None

    def deliver(self, claim: Claim) -> None:
        """One delivery attempt: through every notify account that has not taken the alert
        yet; then delivered, due again after a backoff, or given up. Does nothing when
        another daemon took the alert over (its lease ran out)."""
        from scheduler.models import Alert

        with queue.transaction(self.engine) as s:
            row = s.get(Alert, claim.key)
            if row is None or row.attempts != claim.attempt:
                return
            message = Message(row.key, row.kind, row.subject, row.message)
            deliveries, created_at = dict(row.deliveries), to_db(row.created_at)
        errors: dict[str, str] = {}
        with self._current_lock:
            self._current = claim
        try:
            for name in self.settings.notify.accounts:
                if deliveries.get(name) == TAKEN:
                    continue
                deliveries[name], error = self._send_through(name, message, claim.attempt)
                if error:
                    errors[name] = error
        finally:
            with self._current_lock:  # a renewal under way ends before the outcome is saved
                self._current = None
        self._finish(claim, deliveries, errors, created_at)

    def renew_lease(self) -> None:
        """Keep the claim of the alert being delivered (the daemon's heartbeat): a lease
        measures that this daemon lives, not how long the notify accounts take."""
        with self._current_lock:
            claim = self._current
            if claim is None:
                return
            from scheduler.models import Alert

            with queue.transaction(self.engine) as s:
                s.execute(update(Alert)
                          .where(Alert.key == claim.key, Alert.attempts == claim.attempt)
                          .values(next_try_at=clock(self.engine, None, s) + self.lease)
                          .execution_options(synchronize_session=False))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for first deliveries still being sent (called when the daemon stops)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout=timeout)

    def close(self) -> None:
        """Stop retrying (the alert being sent finishes) and end the sending thread."""
        self._closed.set()
        self._pool.shutdown(wait=True)

    def _store(self, message: Message) -> Claim | None:
        """Insert the alert unless its key exists; ``RETURNING`` says whether this call
        inserted it (a row count after ``ON CONFLICT DO NOTHING`` is not reliable: psycopg 3
        through the ORM reports -1). With notify accounts configured, the inserting daemon
        holds the first attempt's claim."""
        from scheduler.models import Alert

        # only the dialect in use: importing PostgreSQL's costs an SQLite process ~40 ms
        if is_sqlite(self.engine):
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:
            from sqlalchemy.dialects.postgresql import insert as upsert
        sending = bool(self.settings.notify.accounts)
        with queue.transaction(self.engine) as s:
            now = clock(self.engine, None, s)
            inserted = s.execute(
                upsert(Alert)
                .values(key=message.key[:250], kind=message.kind, subject=message.subject,
                        message=message.body, created_at=now, deliveries={},
                        attempts=1 if sending else 0,
                        next_try_at=now + self.lease if sending else None)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(Alert.key, Alert.attempts)).first()
        return Claim(inserted[0], inserted[1]) if inserted else None

    def _retry_round(self) -> None:
        for _round in range(RETRY_BATCH):
            if self._closed.is_set():
                return
            try:
                claim = self.claim_due()
            except Exception as exc:  # the database is away: the next round tries again
                log.warning("due alerts could not be claimed: %s", type(exc).__name__)
                return
            if claim is None:
                return
            self._deliver_logged(claim)

    def _deliver_logged(self, claim: Claim) -> None:
        """:meth:`deliver` in the sending thread: a database error leaves the alert claimed,
        and it is tried again when the lease runs out, so it is logged, not raised (which
        would surface in whatever waits for the thread, e.g. the daemon stopping)."""
        try:
            self.deliver(claim)
        except Exception:
            log.exception("alert %s: its delivery could not be recorded; tried again "
                          "after its lease", claim.key)

    def _send_through(self, name: str, message: Message, attempt: int) -> tuple[str, str]:
        """What to record for account ``name`` and, unless it took the alert, why not."""
        try:
            adapter = self.adapters.get(name)
            outcome: Outcome = adapter.publish(self._delivery(name, adapter.network, message,
                                                              attempt))
        except Exception as exc:  # an alert channel's failure must not stop the daemon
            error = redact(f"error: {exc}", self._secrets)
            log.error("alert %s not delivered through %s: %s", message.key, name, error)
            return error, error
        if isinstance(outcome, Published):
            return TAKEN, ""
        error = redact(f"{type(outcome).__name__}: {describe(outcome)}", self._secrets)
        log.error("alert %s not delivered through %s: %s", message.key, name, error)
        return type(outcome).__name__, error

    def _finish(self, claim: Claim, deliveries: dict[str, Any], errors: dict[str, str],
                created_at: datetime) -> None:
        from scheduler.models import Alert

        with queue.transaction(self.engine) as s:
            now = clock(self.engine, None, s)
            if not errors:
                changes: dict[str, Any] = {"sent_at": now, "next_try_at": None,
                                           "last_error": None}
            else:
                next_try: datetime | None = now + self._backoff(claim.attempt)
                if next_try > created_at + self.give_up_after:  # type: ignore[operator]
                    next_try = None
                    log.error("alert %s: gave up after %d attempts; 'siar status' lists it",
                              claim.key, claim.attempt)
                changes = {"next_try_at": next_try,
                           "last_error": "; ".join(f"{n}: {e}" for n, e in errors.items())}
            s.execute(update(Alert)
                      .where(Alert.key == claim.key, Alert.attempts == claim.attempt)
                      .values(deliveries=deliveries, **changes)
                      .execution_options(synchronize_session=False))

    def _backoff(self, attempt: int) -> timedelta:
        """The posts' retry backoff, jitter included, so alerts failing together spread out."""
        cfg = self.settings.daemon
        return timedelta(seconds=backoff.jittered(attempt, cfg.backoff_base, cfg.backoff_max))

    @staticmethod
    def _delivery(account: str, network: str, message: Message, attempt: int) -> Delivery:
        text = f"{message.subject}\n\n{message.body}"
        variant = Variant(account=account, channel=network, parts=[text], length=[len(text)],
                          limit=None, title=message.subject,
                          extra={"subject": message.subject})
        # the same publish key every attempt: receivers that honour idempotency keys
        # (webhooks) take a repeated alert once
        return Delivery(post_id=0, attempt=attempt, variant=variant,
                        publish_key="alert:" + message.key, due_at=utcnow())
