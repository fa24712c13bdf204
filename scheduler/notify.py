"""Staff alerts: say which release and account, what went wrong, and the command that fixes it.

An alert is stored once under a key (``auth:x-lapas:42:3``); storing it is what decides
who sends it, so several daemons and restarts never repeat one. It then goes out
through every account listed in ``[notify] accounts`` — any adapter will do (e-mail,
Telegram, webhook …) — from a single background thread, so a slow mail server never
holds up publishing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from channels.base import Delivery, Outcome, Published
from channels.http import redact
from scheduler import queue
from scheduler.db import is_sqlite
from scheduler.models import Alert, Post, Release
from scheduler.settings import Settings
from scheduler.timeparse import show, utcnow
from scheduler.variant import Variant

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
    title = f"“{release.title}”" if release else "(release deleted)"
    due = show(post.due_at, release.zone) if release else str(post.due_at)
    return f"release {post.release_id} {title}, account {post.account} ({post.network}), due {due}"


def auth_failed(post: Post, release: Release | None, error: str) -> Message:
    return Message(
        key=f"auth:{post.account}:{post.id}:{post.attempt}", kind="auth_failed",
        subject=f"Siar: account {post.account} paused — credentials refused",
        body=(f"{_post_line(post, release)}\n"
              f"error: {error}\n"
              f"Every post of {post.account} waits until the credentials are fixed.\n"
              f"fix: renew the token in SIAR_SECRET_* for {post.account}, check it with "
              f"'siar accounts check {post.account}', then run "
              f"'siar accounts resume {post.account}'"))


def rejected(post: Post, release: Release | None, error: str) -> Message:
    return Message(
        key=f"failed:{post.id}:{post.attempt}", kind="failed",
        subject=f"Siar: {post.account} refused release {post.release_id}",
        body=(f"{_post_line(post, release)}\n"
              f"error: {error}\n"
              f"The other accounts of this release are not affected.\n"
              f"fix: correct the text ('siar show {post.release_id}/{post.account}'), then "
              f"'siar reschedule {post.release_id}/{post.account} --at now'"))


def gave_up(post: Post, release: Release | None, error: str) -> Message:
    return Message(
        key=f"gave-up:{post.id}:{post.attempt}", kind="failed",
        subject=f"Siar: gave up on release {post.release_id} for {post.account}",
        body=(f"{_post_line(post, release)}\n"
              f"error after {post.attempt} attempts: {error}\n"
              f"fix: when the network is reachable again, "
              f"'siar reschedule {post.release_id}/{post.account} --at now'"))


def in_doubt(post: Post, release: Release | None) -> Message:
    target = f"{post.release_id}/{post.account}"
    return Message(
        key=f"unknown:{post.id}:{post.attempt}", kind="unknown",
        subject=f"Siar: is release {post.release_id} on {post.account}? Please check",
        body=(f"{_post_line(post, release)}\n"
              f"error: {post.last_error or 'the answer was lost'}\n"
              f"Siar will not send it again on its own: that could post it twice.\n"
              f"fix: look at {post.account}; then 'siar resolve {target} --published URL' "
              f"if it is there, 'siar resolve {target} --resend' if it is not, or "
              f"'siar resolve {target} --abandon'"))


def missed(posts: list[tuple[Post, Release | None]]) -> Message:
    lines = [f"  {_post_line(p, r)}" for p, r in posts[:20]]
    if len(posts) > 20:
        lines.append(f"  … and {len(posts) - 20} more ('siar queue --status missed')")
    first = posts[0][0]
    ids = ",".join(str(p.id) for p, _ in posts)
    return Message(
        key=f"missed:{hashlib.sha256(ids.encode()).hexdigest()[:32]}", kind="missed",
        subject=f"Siar: {len(posts)} post(s) missed their time",
        body=("These posts could not go out within the grace period after their time and "
              "were not sent (late press releases do more harm than good):\n"
              + "\n".join(lines)
              + f"\nfix: 'siar reschedule {first.release_id}/{first.account} --at now' "
                "(or another time) for each post that should still go out"))


def missed_at_once(post: Post, release: Release | None, reason: str) -> Message:
    """One post missed the moment it became clear it could not go out within its grace
    period (the network asked to wait beyond it): ``reason`` names the network's wait."""
    target = f"{post.release_id}/{post.account}"
    return Message(
        key=f"missed:{post.id}:{post.attempt}", kind="missed",
        subject=f"Siar: release {post.release_id} missed on {post.account} — it cannot go "
                "out in time",
        body=(f"{_post_line(post, release)}\n"
              f"why: {reason}\n"
              f"It was not sent, and Siar will not send it late on its own.\n"
              f"fix: if it should still go out, 'siar reschedule {target} --at now' (or "
              f"another time) once {post.account} accepts posts again"))


def token_expiring(account: str, network: str, expires_at: datetime, zone: str,
                   variables: list[str]) -> Message:
    fix = (f"'siar accounts refresh {account}' (it writes the new token to .env), then "
           "restart the daemon" if network == "threads" else
           f"issue a new token on {network} and put it in {', '.join(variables) or 'its secret'} "
           f"(environment or .env), check it with 'siar accounts check {account}', then "
           "restart the daemon")
    return Message(
        key=f"token:{account}:{expires_at.date().isoformat()}", kind="token_expiring",
        subject=f"Siar: the token of {account} expires {show(expires_at, zone)}",
        body=(f"account {account} ({network}): its access token expires "
              f"{show(expires_at, zone)}. After that every post of {account} fails.\n"
              f"fix: {fix}"))


def watchdog(count: int, oldest: datetime, zone: str) -> Message:
    return Message(
        key=f"watchdog:{oldest.isoformat()}", kind="watchdog",
        subject=f"Siar: {count} due post(s) are not being picked up",
        body=(f"The oldest has been due since {show(oldest, zone)}.\n"
              "fix: run 'siar status' to see which daemons are alive; start one with "
              "'siar daemon' (or restart the service)"))


# --- sending ---------------------------------------------------------------------------------


class Notifier:
    """Stores each alert once and sends it through the configured notify accounts."""

    def __init__(self, engine: Engine, settings: Settings, adapters: Any) -> None:
        self.engine = engine
        self.settings = settings
        self.adapters = adapters
        self._secrets = settings.all_secret_values()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siar-notify")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def alert(self, message: Message) -> bool:
        """Record ``message`` and send it, unless an alert with its key exists. True if new."""
        clean = Message(message.key, message.kind, redact(message.subject, self._secrets),
                        redact(message.body, self._secrets))
        if not self._store(clean):
            return False
        log.warning("%s\n%s", clean.subject, clean.body)
        future = self._pool.submit(self._send, clean)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()] + [future]
        return True

    def post_alert(self, post_id: int, build: Any, *args: Any) -> bool:
        """Alert about one post: ``build(post, release, *args)`` makes the message."""
        with queue.transaction(self.engine) as s:
            post = s.get(Post, post_id)
            release = s.get(Release, post.release_id) if post else None
        if post is None:
            return False
        return self.alert(build(post, release, *args))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for alerts still being sent (called when the daemon stops)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _store(self, message: Message) -> bool:
        dialect = sqlite if is_sqlite(self.engine) else postgresql
        with queue.transaction(self.engine) as s:
            inserted = s.execute(
                dialect.insert(Alert)
                .values(key=message.key[:250], kind=message.kind, subject=message.subject,
                        message=message.body, created_at=utcnow(), deliveries={})
                .on_conflict_do_nothing(index_elements=["key"])).rowcount
        return inserted == 1

    def _send(self, message: Message) -> None:
        deliveries: dict[str, Any] = {}
        for name in self.settings.notify.accounts:
            try:
                adapter = self.adapters.get(name)
                outcome: Outcome = adapter.publish(self._delivery(name, adapter.network,
                                                                  message))
                deliveries[name] = type(outcome).__name__
                if not isinstance(outcome, Published):
                    log.error("alert %s not delivered through %s: %s", message.key, name,
                              redact(str(outcome), self._secrets))
            except Exception as exc:  # an alert channel's failure must not stop the daemon
                deliveries[name] = redact(f"error: {exc}", self._secrets)
                log.error("alert %s not delivered through %s: %s", message.key, name,
                          deliveries[name])
        with queue.transaction(self.engine) as s:
            row = s.scalars(select(Alert).where(Alert.key == message.key[:250])).first()
            if row is not None:
                row.deliveries = deliveries
                if any(v == "Published" for v in deliveries.values()):
                    row.sent_at = utcnow()

    @staticmethod
    def _delivery(account: str, network: str, message: Message) -> Delivery:
        text = f"{message.subject}\n\n{message.body}"
        variant = Variant(account=account, channel=network, parts=[text], length=[len(text)],
                          limit=None, title=message.subject,
                          extra={"subject": message.subject})
        return Delivery(post_id=0, attempt=1, variant=variant,
                        publish_key="alert:" + message.key, due_at=utcnow())
