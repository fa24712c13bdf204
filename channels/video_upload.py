"""What video uploads share: the post's video, its file read part by part, each part
retried on its own, and status polling with a bounded total time.

A prepared video can be hundreds of megabytes: it is never read whole. Each part is sent
as its own request of at most a few MiB, so each gets the HTTP layer's deadline plus time
for its size (:data:`channels.http.MIN_UPLOAD_RATE`) and none is mistaken for a hung
request; the daemon's heartbeat renews the post's lease meanwhile, however long the
whole upload takes. A part that fails for a passing reason (a 5xx, a broken connection)
is sent again a few times before the attempt gives up — the parts already taken stay
taken. Processing on the network's side is polled until it ends or a total time passes;
what an adapter makes of a timeout (in doubt, so the probe settles it) is its own call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from channels.base import NotSent, Outcome
from channels.variant import Media, Variant

__all__ = ["PART_TRIES", "TimedOut", "file_parts", "poll_until", "read_range", "retry_part",
           "video_of", "video_size"]

T = TypeVar("T")

#: tries of one part before the attempt gives up (the next attempt resumes)
PART_TRIES = 3


def video_of(variant: Variant) -> Media | None:
    """The post's video (one per post), or ``None`` for a post without one."""
    return next((m for m in variant.media if m.kind == "video"), None)


def video_size(media: Media) -> int:
    """The prepared file's size in bytes (as recorded, else as it is on disk)."""
    return media.bytes if media.bytes is not None else Path(media.path).stat().st_size


def file_parts(path: str, part_size: int, start: int = 0,
               end: int | None = None) -> Iterator[tuple[int, bytes]]:
    """``(offset, data)`` of each part of the file from byte ``start`` up to ``end``
    (exclusive; the file's end by default), read one part at a time."""
    with open(path, "rb") as file:
        file.seek(start)
        offset = start
        while end is None or offset < end:
            data = file.read(part_size if end is None else min(part_size, end - offset))
            if not data:
                return
            yield offset, data
            offset += len(data)


def read_range(path: str, first: int, last: int) -> bytes:
    """Bytes ``first`` to ``last`` (inclusive) of the file: one part as a network cut it."""
    with open(path, "rb") as file:
        file.seek(first)
        return file.read(last - first + 1)


def retry_part(send: Callable[[], T | Outcome], *, tries: int = PART_TRIES,
               wait: float = 1.0) -> T | Outcome:
    """Send one part, and again (up to ``tries`` in all, ``wait`` seconds more before
    each) while it fails for a passing reason: a ``NotSent`` that is not a throttle.
    Anything else — the part's answer, a refusal, a throttle — comes back at once."""
    result = send()
    for attempt in range(1, tries):
        if not (isinstance(result, NotSent) and not result.rate_limited):
            break
        time.sleep(wait * attempt)
        result = send()
    return result


@dataclass(frozen=True)
class TimedOut:
    """Processing did not end within the polling time."""

    last: str
    seconds: float


def poll_until(read: Callable[[], str | Outcome], pending: Collection[str], *,
               timeout: float, interval: float) -> str | Outcome | TimedOut:
    """Read a status until it leaves ``pending``: that status, the outcome that stopped
    the reading, or :class:`TimedOut` once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        status = read()
        if not isinstance(status, str) or status not in pending:
            return status
        if time.monotonic() >= deadline:
            return TimedOut(status, timeout)
        time.sleep(interval)
