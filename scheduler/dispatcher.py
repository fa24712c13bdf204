"""The dispatcher: claims due posts, hands each to its adapter, applies the retry policy.

It decides *what happens next* from an adapter's outcome; :mod:`scheduler.queue`
records it. Adapters are built once per account and reused (one HTTP session each).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from channels import registry
from channels.base import (
    AuthFailed,
    Channel,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    PartResult,
    Published,
    Rejected,
    watch_sends,
)
from channels.console import DryRunChannel
from channels.http import redact
from channels.variant import Variant
from scheduler import queue
from scheduler.committer import Committer
from scheduler.errors import SiarError
from scheduler.models import Post
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import from_db, to_db, utcnow

log = logging.getLogger("siar.dispatcher")

#: how much of an adapter's exception message is kept in the post's error
ERROR_CHARS = 300
#: the longest wait followed as it is (seconds; a bigger Retry-After would overflow a date)
LONGEST_WAIT = 10_000 * 86400.0


@dataclass(frozen=True)
class NextTry:
    """What becomes of a post that was provably not sent: another try at ``retry_at``,
    given up (too many tries), or ``missed`` (why: it could not go out within the grace
    period after its time)."""

    retry_at: datetime | None = None
    give_up: bool = False
    missed: str | None = None


class Adapters:
    """One adapter instance per account, built on first use (dry-run wraps each).

    ``channel_classes`` maps network names to adapter classes that take precedence over
    the installed entry points: the seam through which tests and benchmarks plug in an
    adapter of their own that still speaks real HTTP.
    """

    def __init__(self, settings: Settings, *, dry_run: bool = False,
                 channel_classes: Mapping[str, type[Channel]] | None = None) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.channel_classes = dict(channel_classes or {})
        self._built: dict[str, Channel] = {}
        self._lock = threading.Lock()

    def get(self, account_name: str) -> Channel:
        with self._lock:
            if account_name not in self._built:
                self._built[account_name] = self._build(self.settings.account(account_name))
            return self._built[account_name]

    def _build(self, account: AccountSettings) -> Channel:
        cls = self.channel_classes.get(account.network) or registry.load(account.network)
        if self.dry_run:
            return DryRunChannel(cls(account.channel_config(), {}))
        secrets = self.settings.secrets(account, cls.secret_fields, cls.optional_secret_fields)
        return cls(account.channel_config(), secrets)

    def close(self) -> None:
        with self._lock:
            for adapter in self._built.values():
                adapter.close()
            self._built.clear()


class Dispatcher:
    """Publishes claimed posts; safe to call from several worker threads."""

    def __init__(self, engine: Engine, settings: Settings, adapters: Adapters, node: str,
                 *, on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.adapters = adapters
        self.node = node
        self.on_event = on_event or (lambda kind, data: None)
        self._secrets = settings.all_secret_values()

    def publish(self, claim: queue.Claim) -> Outcome | None:
        """Publish one claimed post. Returns the outcome, or None if the claim was lost."""
        post = queue.begin_publishing(self.engine, claim, self.node,
                                      lease=self.settings.daemon.lease_seconds)
        if post is None:
            return None
        return self.publish_started(post)

    def publish_started(self, post: queue.StartedPost, *, committer: Committer | None = None,
                        on_done: Callable[[queue.StartedPost | None], None] | None = None,
                        go_on: bool = False) -> Outcome:
        """Send a post already committed as ``publishing`` and record the outcome: at once,
        or through ``committer`` (batched with other posts' outcomes). ``on_done`` is
        called once the outcome is recorded (or could not be), with the account's next
        post when ``go_on`` asked the committer to begin one and one was due."""
        try:
            adapter: Channel | None = self.adapters.get(post.account)
            broken: Outcome | None = None
        except (SiarError, ImportError) as exc:
            # Nothing can be sent until staff fix the configuration (a missing secret,
            # an adapter that is not installed): pause the account like an auth failure.
            adapter, broken = None, AuthFailed(redact(f"configuration: {exc}", self._secrets))
        delivery = self._delivery(post)
        with watch_sends() as watch:
            try:
                outcome = broken or adapter.publish(delivery)  # type: ignore[union-attr]
            except Exception as exc:  # an adapter bug, a garbled answer, a local error
                log.exception("adapter %s raised on post %s", post.network, post.id)
                outcome = self._raised(post.network, exc, create_unsettled=watch.create_unsettled)
        item = self._finalization(post, outcome, delivery)
        if committer is None:
            try:
                self._recorded(post, item, queue.finalize_many(self.engine, [item])[0])
            finally:
                if on_done is not None:
                    on_done(None)
            return outcome

        def recorded(ok: bool | None, following: queue.StartedPost | None) -> None:
            try:
                if ok is not None:
                    self._recorded(post, item, ok)
            finally:
                if on_done is not None:
                    on_done(following)

        committer.submit(item, recorded, go_on_with=post.account if go_on else None)
        return outcome

    def probe(self, post: Post) -> Outcome | None:
        """Ask the post's network whether an in-doubt post exists; settle it if it can tell.

        Returns the verdict that was applied (``Published`` or ``NotSent``), or ``None``
        when the network cannot tell (the post then waits for staff).
        """
        try:
            adapter = self.adapters.get(post.account)
        except (SiarError, ImportError):
            return None
        if not adapter.can_probe or self.adapters.dry_run:
            return None
        # A probe may send (Mastodon resends with the same idempotency key): its own
        # watch keeps its requests apart from anything else on this thread. A probe that
        # raises proves nothing about the earlier attempt: the post stays in doubt.
        with watch_sends():
            try:
                verdict = adapter.probe(self._delivery(post))
            except Exception:  # a probe must never take the housekeeping job down
                log.exception("probe of post %s (%s) failed", post.id, post.account)
                return None
        if not isinstance(verdict, Published | NotSent):
            return None
        plan = NextTry()
        if isinstance(verdict, NotSent):
            plan = self.next_try(verdict, self._tries(post.id, verdict),  # type: ignore[arg-type]
                                 from_db(post.due_at))
        if queue.settle_unknown(self.engine, post.id, verdict,  # type: ignore[arg-type]
                                by=f"probe@{self.node}", retry_at=plan.retry_at,
                                give_up=plan.give_up, missed=plan.missed,
                                attempt=post.attempt):
            self.on_event(f"probe_{queue.outcome_name(verdict)}",
                          {"post": post.id, "account": post.account, "outcome": verdict,
                           "give_up": plan.give_up, "missed": plan.missed})
            return verdict
        return None

    def _raised(self, network: str, exc: Exception, *, create_unsettled: bool) -> Outcome:
        """The outcome of an adapter that raised instead of answering. Only a request that
        creates the post, sent and not answered, can have left a post behind; anything
        else (a garbled answer to a media upload, an image the adapter cannot read, a
        header the e-mail library refuses) provably created nothing, and goes through the
        retry policy like any other "not sent"."""
        error = redact(f"{type(exc).__name__}: {exc}", self._secrets)[:ERROR_CHARS]
        if create_unsettled:
            return InDoubt(f"the {network} adapter failed after the request that creates "
                           f"the post was sent: {error}")
        return NotSent(f"not sent: the {network} adapter failed before any request that "
                       f"creates the post: {error}")

    def _delivery(self, post: Post | queue.StartedPost) -> Delivery:
        parts = [PartResult(index=p["index"], remote_id=p["remote_id"], url=p.get("url"),
                            extra=p.get("extra", {}))
                 for p in post.progress.get("parts", [])]
        attempt = post.attempt
        variant = Variant.from_json(post.variant)
        last = len(variant.parts) - 1

        def on_part(part: PartResult) -> None:
            # Parts before the last are committed at once: a later attempt must skip
            # them. The last one is committed with the outcome by finalize (one
            # transaction less per post); lost in a crash, the post is in doubt anyway.
            if part.index < last:
                queue.record_part(self.engine, post.id, attempt, part)  # type: ignore[arg-type]

        return Delivery(
            post_id=post.id, attempt=attempt,  # type: ignore[arg-type]
            variant=variant, publish_key=post.publish_key,
            due_at=from_db(post.due_at), progress=parts,
            state=dict(post.progress.get("state", {})),
            on_part=on_part,
            on_checkpoint=lambda state: queue.record_checkpoint(self.engine, post.id,
                                                                attempt, state),
        )

    def _finalization(self, post: queue.StartedPost, outcome: Outcome,
                      delivery: Delivery) -> queue.Finalization:
        attempt: int = post.attempt  # type: ignore[assignment]
        plan = NextTry()
        if isinstance(outcome, NotSent):
            now = utcnow()
            plan = self.next_try(outcome, self._tries(post.id, outcome),  # type: ignore[arg-type]
                                 from_db(post.due_at), now=now)
            if outcome.rate_limited:
                self._rate_limit_account(post.account, outcome, plan, now)
            if plan.missed and delivery.progress:  # a thread cut short: say what is out
                plan = NextTry(missed=f"{plan.missed}; {len(delivery.progress)} of "
                                      f"{len(delivery.variant.parts)} thread parts were "
                                      "already published and stay on the network")
        detail = None
        if self.adapters.dry_run:
            detail = {"dry_run_requests": delivery.state.get("dry_run_requests", [])}
        label = "dry_run" if self.adapters.dry_run and isinstance(outcome, Published) else None
        progress = {"parts": sorted(
            ({"index": p.index, "remote_id": p.remote_id, "url": p.url,
              "extra": dict(p.extra)} for p in delivery.progress),
            key=lambda p: p["index"])}
        if delivery.state:
            progress["state"] = dict(delivery.state)
        return queue.Finalization(post.id, attempt, outcome,  # type: ignore[arg-type]
                                  retry_at=plan.retry_at, give_up=plan.give_up,
                                  missed=plan.missed, outcome_label=label,
                                  detail=detail, progress=progress)

    def _recorded(self, post: queue.StartedPost, item: queue.Finalization, recorded: bool) -> None:
        outcome = item.outcome
        if not recorded:
            log.warning("post %s: attempt %s was superseded; outcome %s dropped",
                        post.id, item.attempt, type(outcome).__name__)
            return
        self.on_event(queue.outcome_name(outcome), {"post": post.id, "account": post.account,
                                                    "release": post.release_id,
                                                    "outcome": outcome,
                                                    "give_up": item.give_up,
                                                    "missed": item.missed})
        if isinstance(outcome, AuthFailed | Rejected | InDoubt) or item.give_up:
            log.warning("post %s (%s): %s", post.id, post.account, outcome)
        elif item.missed:
            log.warning("post %s (%s) missed: %s", post.id, post.account, item.missed)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.settings.daemon.grace_minutes)

    def _tries(self, post_id: int, outcome: NotSent) -> int:
        """How many tries of this post failed without sending, this one included (a rate
        limit is the network's pace, not a failure: it does not count)."""
        return queue.failed_tries(self.engine, post_id) + (0 if outcome.rate_limited else 1)

    def _rate_limit_account(self, account: str, outcome: NotSent, plan: NextTry,
                            now: datetime) -> None:
        """Claims skip the account until the network's reset, but never longer than the
        grace period: by then every post due now is missed anyway, and posts due later
        get a try (and, refused again, an alert of their own) instead of waiting
        silently for a reset years away."""
        if outcome.retry_after is not None:
            reset = now + timedelta(seconds=min(max(0.0, outcome.retry_after), LONGEST_WAIT))
        elif plan.retry_at is not None:
            reset = plan.retry_at
        else:
            return
        queue.set_rate_limited(self.engine, account, min(reset, now + self.grace))

    def next_try(self, outcome: NotSent, tries: int, due_at: datetime, *,
                 now: datetime | None = None) -> NextTry:
        """What a not-sent post does next, ``tries`` being its failed tries so far (this
        one included).

        Too many tries: give up. A wait the network asked for (``Retry-After``, a
        rate-limit reset) is followed only within the grace period after the post's time;
        beyond it the post is missed at once, naming the network's wait: a release is
        never sent late, and never kept waiting for a reset years away. Our own backoff
        is cut to the end of the grace period (one last try), missed once that is past.
        """
        now = now or utcnow()
        deadline = to_db(due_at) + self.grace
        retry_at, give_up = self.retry_time(outcome, tries, now=now)
        if give_up or retry_at is None:
            return NextTry(give_up=True)
        if retry_at <= deadline:
            return NextTry(retry_at)
        grace = f"{self.settings.daemon.grace_minutes:g} min"
        if outcome.retry_after is not None:
            return NextTry(missed=(
                f"the network asked to wait {wait_text(outcome.retry_after)} (until "
                f"{retry_at:%Y-%m-%d %H:%M:%S} UTC) before another try: beyond the grace "
                f"period of {grace} after its time, so it is not sent late ({outcome.reason})"))
        if deadline <= now:
            return NextTry(missed=(f"the grace period of {grace} after its time ended while "
                                   f"it was being retried ({outcome.reason})"))
        return NextTry(deadline)

    def retry_time(self, outcome: NotSent, tries: int, *,
                   now: datetime | None = None) -> tuple[datetime | None, bool]:
        """When to try a not-sent post again, or give up after too many failed tries.

        A network's own reset time wins; otherwise bounded exponential backoff with
        full jitter, so many posts failing together do not return together.
        """
        cfg = self.settings.daemon
        if tries >= cfg.max_attempts and not outcome.rate_limited:
            return None, True
        if outcome.retry_after is not None:
            wait = min(max(0.0, outcome.retry_after), LONGEST_WAIT)
        else:
            ceiling = min(cfg.backoff_max, cfg.backoff_base * (2 ** (max(tries, 1) - 1)))
            wait = random.uniform(ceiling / 2, ceiling)
        return (now or utcnow()) + timedelta(seconds=wait), False


def wait_text(seconds: float) -> str:
    """A network's wait for people: "30 s", "12 min", "5 h", "3,650 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:,.0f} days"
