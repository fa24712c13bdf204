"""The dispatcher: claims due posts, hands each to its adapter, applies the retry policy.

It decides *what happens next* from an adapter's outcome; :mod:`scheduler.queue`
records it. Adapters are built once per account and reused (one HTTP session each).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from channels import registry
from channels.base import (
    AccountConfig,
    AuthFailed,
    Channel,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    PartResult,
    Published,
    Rejected,
)
from channels.console import DryRunChannel
from channels.http import redact
from scheduler import queue
from scheduler.committer import Committer
from scheduler.errors import SiarError
from scheduler.models import Post
from scheduler.settings import AccountSettings, Settings
from scheduler.timeparse import from_db, utcnow
from scheduler.variant import Variant

log = logging.getLogger("siar.dispatcher")


def account_config(account: AccountSettings) -> AccountConfig:
    return AccountConfig(name=account.name, network=account.network, base_url=account.base_url,
                         enabled=account.enabled, timezone=account.timezone,
                         options=dict(account.options))


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
            return DryRunChannel(cls(account_config(account), {}))
        secrets = self.settings.secrets(account, cls.secret_fields, cls.optional_secret_fields)
        return cls(account_config(account), secrets)

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
        try:
            outcome = broken or adapter.publish(delivery)  # type: ignore[union-attr]
        except Exception as exc:  # an adapter bug: the request may have left
            log.exception("adapter %s crashed on post %s", post.network, post.id)
            outcome = InDoubt(redact(f"adapter error: {exc!r}", self._secrets))
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
        try:
            verdict = adapter.probe(self._delivery(post))
        except Exception:  # a probe must never take the housekeeping job down
            log.exception("probe of post %s (%s) failed", post.id, post.account)
            return None
        if not isinstance(verdict, Published | NotSent):
            return None
        if queue.settle_unknown(self.engine, post.id, verdict,  # type: ignore[arg-type]
                                by=f"probe@{self.node}"):
            self.on_event(f"probe_{queue.outcome_name(verdict)}",
                          {"post": post.id, "account": post.account, "outcome": verdict})
            return verdict
        return None

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
        retry_at: datetime | None = None
        give_up = False
        if isinstance(outcome, NotSent):
            retry_at, give_up = self.retry_time(outcome, attempt)
            if outcome.rate_limited and retry_at is not None:
                queue.set_rate_limited(self.engine, post.account, retry_at)
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
                                  retry_at=retry_at, give_up=give_up, outcome_label=label,
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
                                                    "give_up": item.give_up})
        if isinstance(outcome, AuthFailed | Rejected | InDoubt) or item.give_up:
            log.warning("post %s (%s): %s", post.id, post.account, outcome)

    def retry_time(self, outcome: NotSent, attempt: int) -> tuple[datetime | None, bool]:
        """When to try a not-sent post again, or give up after too many attempts.

        A network's own reset time wins; otherwise bounded exponential backoff with
        full jitter, so many posts failing together do not return together.
        """
        cfg = self.settings.daemon
        if attempt >= cfg.max_attempts and not outcome.rate_limited:
            return None, True
        if outcome.retry_after is not None:
            wait = outcome.retry_after
        else:
            ceiling = min(cfg.backoff_max, cfg.backoff_base * (2 ** (attempt - 1)))
            wait = random.uniform(ceiling / 2, ceiling)
        return utcnow() + timedelta(seconds=wait), False
