"""Sending a video's bytes to TikTok (``source_info.source = FILE_UPLOAD``).

TikTok's "Media Transfer Guide": a file under 5 MB goes whole, as one chunk; otherwise in
chunks of 5–64 MB, the last of which takes the remainder and may reach 128 MB; at most
1,000 chunks; ``total_chunk_count`` is the size divided by the chunk size, rounded down.
Each chunk is a ``PUT`` to the ``upload_url`` of the init answer, in order, with
``Content-Range: bytes FIRST-LAST/TOTAL``; TikTok answers ``206`` until the last, which it
answers ``201``, and then processes and publishes the post. The file is read one block at a
time while a chunk is sent, never held whole in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from channels import http
from channels.base import NotSent, Outcome
from channels.http import answered
from channels.i18n import _

if TYPE_CHECKING:
    import requests

__all__ = ["MAX_CHUNK", "MIN_CHUNK", "ChunkPlan", "FileSlice", "plan_chunks", "upload"]

MB = 1024 * 1024
MIN_CHUNK = 5 * MB
MAX_CHUNK = 64 * MB
MAX_LAST_CHUNK = 128 * MB
MAX_CHUNKS = 1000
DEFAULT_CHUNK = 10 * MB


@dataclass(frozen=True)
class ChunkPlan:
    """``source_info`` of the init request, and the byte ranges it promises."""

    video_size: int
    chunk_size: int
    total_chunk_count: int

    def ranges(self) -> Iterator[tuple[int, int]]:
        """``(first, last)`` byte of each chunk, inclusive; the last takes the remainder."""
        for index in range(self.total_chunk_count):
            first = index * self.chunk_size
            last = (self.video_size if index == self.total_chunk_count - 1
                    else first + self.chunk_size) - 1
            yield first, last

    def source_info(self) -> dict[str, Any]:
        return {"source": "FILE_UPLOAD", "video_size": self.video_size,
                "chunk_size": self.chunk_size, "total_chunk_count": self.total_chunk_count}


def plan_chunks(size: int, preferred: int = DEFAULT_CHUNK) -> ChunkPlan:
    """How a file of ``size`` bytes is cut, by TikTok's rules (``preferred`` is moved into
    5–64 MB, and up when 1,000 chunks would not hold the file)."""
    if size <= 0:
        raise ValueError(_("an empty video cannot be uploaded"))
    if size < MIN_CHUNK:
        return ChunkPlan(size, size, 1)
    # a file smaller than the chunk goes whole (it is at most 64 MB then)
    chunk = min(max(preferred, MIN_CHUNK), MAX_CHUNK, size)
    while size // chunk > MAX_CHUNKS and chunk < MAX_CHUNK:
        chunk = min(chunk * 2, MAX_CHUNK)
    if size // chunk > MAX_CHUNKS:
        raise ValueError(_("a video of {size:,} bytes does not fit in {most} chunks").format(
                             size=size, most=MAX_CHUNKS))
    count = size // chunk
    last = size - (count - 1) * chunk
    if last > MAX_LAST_CHUNK:  # cannot happen with chunk <= 64 MB; kept as the rule says
        raise ValueError(_("the last chunk would exceed 128 MB"))
    return ChunkPlan(size, chunk, count)


class FileSlice:
    """Bytes ``first..last`` of a file as a request body of known length, read a block at
    a time by the HTTP client (so a 64 MB chunk is never in memory)."""

    BLOCK = 256 * 1024

    def __init__(self, handle: BinaryIO, first: int, last: int) -> None:
        self._handle = handle
        self._left = last - first + 1
        self._length = self._left
        handle.seek(first)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the slice (all that is left for a negative size)."""
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(wanted) if wanted else b""
        self._left -= len(data)
        return data


#: how a chunk's answer is turned into an outcome (the adapter's error mapping)
Failure = Callable[["requests.Response", str, bool], Outcome]


def upload(session: requests.Session, url: str, path: str, plan: ChunkPlan, *,
           mime: str, secrets: list[str], timeout: tuple[float, float],
           failure: Failure) -> Outcome | None:
    """PUT every chunk of ``path`` to ``url``; ``None`` once TikTok has the whole file.

    A chunk whose PUT fails is sent once more: nothing is published before the last chunk,
    so an earlier one may always be repeated. The last chunk is the request that makes the
    post (``create``); it is repeated only when it provably never left.
    """
    ranges = list(plan.ranges())
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size != plan.video_size:
            return NotSent(_("{name} changed size since the upload began").format(
                               name=os.path.basename(path)))
        for index, (first, last) in enumerate(ranges):
            final = index == len(ranges) - 1
            outcome: Outcome | None = None
            for _try in range(2):
                answer = http.request(
                    session, "PUT", url, secrets=secrets, timeout=timeout, create=final,
                    data=FileSlice(handle, first, last),
                    headers={"Content-Type": mime, "Content-Length": str(last - first + 1),
                             "Content-Range": f"bytes {first}-{last}/{plan.video_size}"})
                if answered(answer) and answer.status_code == (201 if final else 206):
                    outcome = None
                    break
                what = _("upload of chunk {number} of {chunks}").format(
                           number=index + 1, chunks=len(ranges))
                outcome = (failure(answer, what, final) if answered(answer) else answer)
                if final and not isinstance(outcome, NotSent):
                    return outcome  # it may have been applied: never sent twice
                if isinstance(outcome, NotSent) and outcome.rate_limited:
                    return outcome
            if outcome is not None:
                return outcome
    return None
