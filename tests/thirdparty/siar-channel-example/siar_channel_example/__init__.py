"""An adapter that lives outside Siar: found through the ``siar.channels`` entry point.

It declares its network's rules the way a built-in channel does — its own limit and way of
counting (UTF-8 bytes), and a field of its own added by the composer hook — and the
composer, ``siar preview``/``count`` and the daemon apply them like any built-in's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from channels.base import Channel, CheckResult, Delivery, Outcome, Published, Rejected
from channels.composing import Draft, Release
from channels.rules import Counting, PostRules, Unit


class ExampleChannel(Channel):
    """Appends every part of a post to the JSON-lines file in the ``outbox`` option."""

    network = "example"
    display_name = "Example outbox"
    accent_colour = "#2e7d32"
    # the outbox's reader takes at most 160 bytes a line; a longer post becomes a thread
    post_rules = PostRules(limit=160, counting=Counting(Unit.UTF8_BYTES),
                           unit_name="UTF-8 bytes", threads=True)
    docs = "https://example.invalid/siar-channel-example"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The outbox header: the release title in capitals and the number of parts."""
        return {"outbox_header": f"{release.title.upper()} ({len(draft.parts)})"}

    @property
    def outbox(self) -> Path:
        return Path(self.account.options["outbox"])

    def publish(self, delivery: Delivery) -> Outcome:
        if "outbox" not in self.account.options:
            return Rejected("option 'outbox' is not set")
        header = delivery.variant.extra.get("outbox_header")
        with self.outbox.open("a", encoding="utf-8") as out:
            for index, text in enumerate(delivery.variant.parts):
                if delivery.done_part(index):
                    continue
                remote_id = f"{delivery.publish_key}-{index}"
                line = {"id": remote_id, "text": text}
                if header is not None:
                    line["header"] = header
                out.write(json.dumps(line) + "\n")
                delivery.part_published(index, remote_id, f"{self.outbox.as_uri()}#{remote_id}")
        first = delivery.done_part(0)
        assert first is not None
        return Published(first.remote_id, first.url)

    def check(self) -> CheckResult:
        return CheckResult(ok="outbox" in self.account.options, detail=f"outbox {self.outbox}")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        return [{"method": "APPEND", "url": str(self.account.options.get("outbox")),
                 "part": i, "text": t} for i, t in enumerate(delivery.variant.parts)]
