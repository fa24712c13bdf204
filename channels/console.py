"""The console channel and dry-run: the null objects of publishing.

``ConsoleChannel`` is a real network like any other (``network = "console"``) that
"publishes" by writing the post to a stream, which is handy for a first set-up.
``DryRunChannel`` wraps any adapter in dry-run mode: it records the requests the real
adapter *would* send (``Channel.dry_run_requests``) and succeeds without touching the
network, so the whole pipeline — claim, publish, finalize, history — runs for real.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from channels.base import AccountConfig, Channel, Delivery, Outcome, Published
from channels.i18n import _


class ConsoleChannel(Channel):
    """Writes each part to a stream: standard error by default, so that a command's own
    output on standard output (``siar daemon --json``) stays machine-readable."""

    network = "console"
    display_name = "Console"

    def __init__(self, account: AccountConfig, secrets: dict[str, str],
                 stream: TextIO | None = None) -> None:
        super().__init__(account, secrets)
        self.stream = stream or sys.stderr

    def publish(self, delivery: Delivery) -> Outcome:
        first: str | None = None
        for index, text in enumerate(delivery.variant.parts):
            if delivery.done_part(index):
                continue
            remote_id = f"console-{delivery.post_id}-{index}"
            header = _("── {account} · post {post} · part {number}/{total}").format(
                account=self.account.name, post=delivery.post_id, number=index + 1,
                total=len(delivery.variant.parts))
            self.stream.write(f"{header}\n{text}\n")
            delivery.part_published(index, remote_id)
            first = first or remote_id
        self.stream.flush()
        first = delivery.progress[0].remote_id if delivery.progress else first or "console"
        return Published(remote_id=first, url=f"console://{self.account.name}/{first}")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        return [{"method": "WRITE", "url": "stderr", "part": i, "text": t}
                for i, t in enumerate(delivery.variant.parts)]


class DryRunChannel(Channel):
    """Stands in for ``inner`` in dry-run mode: records, never sends."""

    network = "dry-run"

    def __init__(self, inner: Channel) -> None:
        super().__init__(inner.account, {})
        self.inner = inner
        self.network = inner.network  # type: ignore[misc]

    def publish(self, delivery: Delivery) -> Outcome:
        requests = self.inner.dry_run_requests(delivery)
        delivery.checkpoint(dry_run_requests=requests)
        for index in range(len(delivery.variant.parts)):
            if not delivery.done_part(index):
                delivery.part_published(index, f"dry-run-{delivery.post_id}-{index}")
        remote_id = f"dry-run-{delivery.post_id}"
        return Published(remote_id=remote_id,
                         url=f"dry-run://{self.account.network}/{self.account.name}/{remote_id}")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        return self.inner.dry_run_requests(delivery)
