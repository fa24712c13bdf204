"""Builders and asserts shared by the adapter tests.

``make_delivery`` builds a :class:`~channels.base.Delivery` the way the dispatcher does,
with the callbacks recording what the adapter reported, so a test can check both what
the fake received and what the adapter told the queue; ``attempt`` publishes it the way
the dispatcher does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from channels import base
from channels.base import Channel, Delivery, Outcome, PartResult, Variant
from channels.variant import Media

FIXED_DUE = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def make_variant(parts: str | Sequence[str], *, account: str = "test",
                 channel: str = "webhook", media: Sequence[Media] = (),
                 link: str | None = None, title: str = "", limit: int | None = None,
                 **extra: Any) -> Variant:
    texts = [parts] if isinstance(parts, str) else list(parts)
    return Variant(account=account, channel=channel, parts=texts,
                   length=[len(t) for t in texts], limit=limit, media=list(media),
                   link=link, title=title, extra=dict(extra))


def make_delivery(variant_or_parts: Variant | str | Sequence[str], *, post_id: int = 7,
                  attempt: int = 1, publish_key: str = "pk-2026-11-28-lapas-7",
                  due_at: datetime = FIXED_DUE, progress: Iterable[PartResult] = (),
                  state: dict[str, Any] | None = None, **variant_kw: Any) -> Delivery:
    """A delivery whose ``on_part``/``on_checkpoint`` record into ``.reported``."""
    variant = (variant_or_parts if isinstance(variant_or_parts, Variant)
               else make_variant(variant_or_parts, **variant_kw))
    reported: dict[str, list[Any]] = {"parts": [], "checkpoints": []}
    delivery = Delivery(post_id=post_id, attempt=attempt, variant=variant,
                        publish_key=publish_key, due_at=due_at, progress=list(progress),
                        state=dict(state or {}),
                        on_part=reported["parts"].append,
                        on_checkpoint=reported["checkpoints"].append)
    delivery.reported = reported  # type: ignore[attr-defined]
    return delivery


@dataclasses.dataclass
class Attempt:
    outcome: Outcome
    #: create requests that left during the attempt
    creates: int
    #: the adapter raised (the outcome is the dispatcher's reading of that)
    raised: bool = False


def attempt(channel: Channel, delivery: Delivery) -> Attempt:
    """One publishing attempt as the dispatcher sees it (channels/base.py): an adapter
    that raises after its create request left leaves the post in doubt, before that it
    sent nothing."""
    with base.watch_sends() as watch:
        try:
            outcome = channel.publish(delivery)
        except Exception as exc:
            kind = base.InDoubt if watch.create_unsettled else base.NotSent
            return Attempt(kind(f"raised {exc!r}"), watch.creates, raised=True)
    return Attempt(outcome, watch.creates)


def as_text(value: Any) -> str:
    """Everything an outcome, a check result or dry-run output could show to a person."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return repr(value) + json.dumps(dataclasses.asdict(value), default=str)
    if isinstance(value, dict | list | tuple):
        return repr(value) + json.dumps(value, default=str)
    return str(value)


def assert_no_secret(value: Any, secrets: dict[str, str] | Iterable[str]) -> None:
    values = secrets.values() if isinstance(secrets, dict) else secrets
    text = as_text(value)
    for secret in values:
        assert secret not in text, f"a secret leaked into: {text[:300]}"
