"""An adapter that lives outside Siar: found through the ``siar.channels`` entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from channels.base import Channel, CheckResult, Delivery, Outcome, Published, Rejected


class ExampleChannel(Channel):
    """Appends every part of a post to the JSON-lines file in the ``outbox`` option."""

    network = "example"

    @property
    def outbox(self) -> Path:
        return Path(self.account.options["outbox"])

    def publish(self, delivery: Delivery) -> Outcome:
        if "outbox" not in self.account.options:
            return Rejected("option 'outbox' is not set")
        with self.outbox.open("a", encoding="utf-8") as out:
            for index, text in enumerate(delivery.variant.parts):
                if delivery.done_part(index):
                    continue
                remote_id = f"{delivery.publish_key}-{index}"
                out.write(json.dumps({"id": remote_id, "text": text}) + "\n")
                delivery.part_published(index, remote_id, f"{self.outbox.as_uri()}#{remote_id}")
        first = delivery.done_part(0)
        assert first is not None
        return Published(first.remote_id, first.url)

    def check(self) -> CheckResult:
        return CheckResult(ok="outbox" in self.account.options, detail=f"outbox {self.outbox}")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        return [{"method": "APPEND", "url": str(self.account.options.get("outbox")),
                 "part": i, "text": t} for i, t in enumerate(delivery.variant.parts)]
