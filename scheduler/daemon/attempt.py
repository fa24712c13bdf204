"""One attempt at a post: its delivery, the adapter call, the outcome turned into the next
state by the retry policy; and the probe that settles a post in doubt.

It decides *what happens next*; :mod:`scheduler.queue` records it. Adapters are built once
per account and reused (one HTTP session each). Safe to use from many worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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
from channels.http import redact
from channels.variant import Variant
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.events import Recorded
from scheduler.daemon.retry import NextTry, RetryPolicy
from scheduler.errors import SiarError
from scheduler.i18n import _
from scheduler.settings import Settings
from scheduler.timeparse import from_db, utcnow

if TYPE_CHECKING:  # a type only: the daemon's start does not import the ORM's models
    from scheduler.models import Post

log = logging.getLogger("siar.attempt")

#: how much of an adapter's exception message is kept in the post's error
ERROR_CHARS = 300

#: where recorded outcomes are reported (the daemon counts them and alerts staff)
EventSink = Callable[[Recorded], None]


class Publisher:
    """Sends posts already begun (``publishing``) and probes posts in doubt."""

    def __init__(self, engine: Engine, settings: Settings, adapters: Adapters, node: str,
                 *, on_event: EventSink | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.adapters = adapters
        self.node = node
        self.policy = RetryPolicy(settings.daemon)
        self.on_event: EventSink = on_event or (lambda event: None)
        self._secrets = settings.all_secret_values()
        #: network → whether its adapter class knows a first-send state ahead
        self._first_send_networks: dict[str, bool] = {}

    def publish(self, claim: queue.Claim) -> Outcome | None:
        """One claimed post from begin to recorded outcome, alone and at once (the daemon
        batches begins and outcomes instead: :mod:`scheduler.daemon.worker`). Returns the
        outcome, or None if the claim was lost."""
        post = queue.begin_publishing(self.engine, claim, self.node,
                                      lease=self.settings.daemon.lease_seconds,
                                      first_send=self.first_send_state)
        if post is None:
            return None
        item = self.send(post)
        self.report(post, item, queue.finalize_many(self.engine, [item])[0])
        return item.outcome

    def send(self, post: queue.StartedPost) -> queue.Finalization:
        """Send a post already committed as ``publishing``; what to record (the outcome
        and, if it was not sent, the retry policy's plan). Never raises for the
        adapter's trouble: an exception of the adapter is an outcome too."""
        try:
            adapter: Channel | None = self.adapters.get(post.account)
            broken: Outcome | None = None
        except (SiarError, ImportError) as exc:
            # Nothing can be sent until staff fix the configuration (a missing secret,
            # an adapter that is not installed): pause the account like an auth failure.
            adapter, broken = None, AuthFailed(redact(_("configuration: {reason}").format(
                                                          reason=exc), self._secrets))
        delivery = self._delivery(post)
        with watch_sends() as watch:
            try:
                outcome = broken or adapter.publish(delivery)  # type: ignore[union-attr]
            except Exception as exc:  # an adapter bug, a garbled answer, a local error
                log.exception("adapter %s raised on post %s", post.network, post.id)
                outcome = self._raised(post.network, exc, create_unsettled=watch.create_unsettled)
        return self._finalization(post, outcome, delivery)

    def first_send_state(self, post: queue.StartedPost) -> dict[str, Any]:
        """What the post's adapter would checkpoint before its first request of this
        attempt, if known ahead (:meth:`channels.base.Channel.first_send_state`): the
        starter and the committer store it in the transaction that begins the post
        (:data:`scheduler.queue.FirstSend`), which spared a commit per post. Empty when
        nothing is known ahead, in a dry run, or if the hook fails (the adapter then
        checkpoints it itself, as it always may)."""
        adapter = self._adapter_with_first_send(post.account, post.network)
        if adapter is None:
            return {}
        try:
            return adapter.first_send_state(self._delivery(post), datetime.now(UTC))
        except Exception:  # never worse than without the hook: publish checkpoints it
            log.exception("first-send state of post %s (%s) failed", post.id, post.account)
            return {}

    def _adapter_with_first_send(self, account: str, network: str) -> Channel | None:
        """The account's adapter if its class overrides ``first_send_state`` (most do not:
        for them nothing is built or read per post). Decided on the class, before any
        adapter is built: the starter asks for every post of a transaction, and building
        the adapters of a restart's first batch (secrets, an HTTP session each) there held
        back its first request; each worker builds its own adapter when it sends."""
        if self.adapters.dry_run or not self._knows_ahead(network):
            return None
        try:
            return self.adapters.get(account)
        except (SiarError, ImportError):
            return None  # publish pauses the account

    def _knows_ahead(self, network: str) -> bool:
        """Whether ``network``'s adapter class overrides ``first_send_state`` (False when
        it cannot be loaded: publish reports that)."""
        known = self._first_send_networks.get(network)
        if known is None:
            try:
                cls = self.adapters.channel_classes.get(network) or registry.load(network)
            except (SiarError, ImportError):
                return False
            known = self._first_send_networks[network] = (
                cls.first_send_state is not Channel.first_send_state)
        return known

    def report(self, post: queue.StartedPost, item: queue.Finalization,
               recorded: bool | None) -> None:
        """Log what became of an attempt; raise its event if its outcome was recorded
        (``recorded`` False: superseded by a newer attempt or staff; None: the database
        refused it, and the post waits in doubt)."""
        outcome = item.outcome
        if not recorded:
            if recorded is False:
                log.warning("post %s: attempt %s was superseded; outcome %s dropped",
                            post.id, item.attempt, type(outcome).__name__)
            return
        self.on_event(Recorded(post=post.id, account=post.account, outcome=outcome,
                               give_up=item.give_up, missed=item.missed))
        if isinstance(outcome, AuthFailed | Rejected | InDoubt) or item.give_up:
            log.warning("post %s (%s): %s", post.id, post.account, outcome)
        elif item.missed:
            log.warning("post %s (%s) missed: %s", post.id, post.account, item.missed)

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
            plan = self.policy.next_try(verdict, self._tries(post.id, verdict),  # type: ignore[arg-type]
                                        from_db(post.due_at))
        if queue.settle_unknown(self.engine, post.id, verdict,  # type: ignore[arg-type]
                                by=f"probe@{self.node}", retry_at=plan.retry_at,
                                give_up=plan.give_up, missed=plan.missed,
                                attempt=post.attempt):
            self.on_event(Recorded(post=post.id, account=post.account,  # type: ignore[arg-type]
                                   outcome=verdict, give_up=plan.give_up, missed=plan.missed,
                                   probed=True))
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
            return InDoubt(_("the {network} adapter failed after the request that creates the "
                             "post was sent: {reason}").format(network=network, reason=error))
        return NotSent(_("not sent: the {network} adapter failed before any request that creates "
                         "the post: {reason}").format(network=network, reason=error))

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
            plan = self.policy.next_try(outcome, self._tries(post.id, outcome),  # type: ignore[arg-type]
                                        from_db(post.due_at), now=now)
            if outcome.rate_limited and (reset := self.policy.account_reset(
                    outcome, plan, now)) is not None:
                queue.set_rate_limited(self.engine, post.account, reset)
            if plan.missed and delivery.progress:  # a thread cut short: say what is out
                plan = NextTry(missed=_("{missed}; {done} of {parts} thread parts were already "
                                        "published and stay on the network").format(
                                          missed=plan.missed, done=len(delivery.progress),
                                          parts=len(delivery.variant.parts)))
        detail: dict[str, Any] | None = None
        if self.adapters.dry_run:
            detail = {"dry_run_requests": delivery.state.get("dry_run_requests", [])}
        label = "dry_run" if self.adapters.dry_run and isinstance(outcome, Published) else None
        progress: dict[str, Any] = {"parts": sorted(
            ({"index": p.index, "remote_id": p.remote_id, "url": p.url,
              "extra": dict(p.extra)} for p in delivery.progress),
            key=lambda p: p["index"])}
        if delivery.state:
            progress["state"] = dict(delivery.state)
        return queue.Finalization(post.id, attempt, outcome,  # type: ignore[arg-type]
                                  retry_at=plan.retry_at, give_up=plan.give_up,
                                  missed=plan.missed, outcome_label=label,
                                  detail=detail, progress=progress)

    def _tries(self, post_id: int, outcome: NotSent) -> int:
        """How many tries of this post failed without sending, this one included (a rate
        limit is the network's pace, not a failure: it does not count)."""
        return queue.failed_tries(self.engine, post_id) + (0 if outcome.rate_limited else 1)
