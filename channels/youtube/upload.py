"""Google's resumable upload protocol, as the YouTube Data API guide describes it.

1. ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the
   video resource as JSON and ``X-Upload-Content-Length`` / ``X-Upload-Content-Type``
   → 200 and the **session URI** in ``Location``;
2. ``PUT`` the bytes to the session URI in chunks, each a multiple of 256 KiB but the
   last, with ``Content-Range: bytes FIRST-LAST/SIZE``; the server answers
   ``308 Resume Incomplete`` with ``Range: bytes=0-N`` (what it holds) until the last
   byte, then 200/201 with the video resource;
3. after a break, ``PUT`` with ``Content-Range: bytes */SIZE`` and no body asks what the
   server holds: 308 (and the ``Range``, none if nothing arrived) or 200/201 with the
   video when it was complete; 404 or 410 means the session is gone.

Only the request that carries the last byte can create the video: it is the post's
create request (``create=True``). Earlier chunks that fail (5xx, 429, a broken
connection) are resumed here from what the server says it holds, a few times per chunk;
the last one is not — its failure leaves the post in doubt, and the probe asks the
session (step 3), which settles it without ever uploading twice.

The file is read one chunk at a time: a 500 MB video is never held in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.base import InDoubt, NotSent, Outcome
from channels.http import answered
from channels.i18n import _

if TYPE_CHECKING:
    import requests

__all__ = ["CHUNK_UNIT", "Complete", "Gone", "Held", "Sender", "chunk_size_of", "held_from",
           "nothing_created"]

#: chunks are multiples of this (the protocol's rule for every chunk but the last)
CHUNK_UNIT = 256 * 1024
#: the default chunk: 32 × 256 KiB = 8 MiB
DEFAULT_CHUNK = 32 * CHUNK_UNIT

Call = Callable[..., "requests.Response | Outcome"]


@dataclass(frozen=True)
class Held:
    """The server holds the first ``offset`` bytes of the file."""

    offset: int


@dataclass(frozen=True)
class Complete:
    """The upload is complete: the server answered with the video resource."""

    video: dict[str, Any]


@dataclass(frozen=True)
class Gone:
    """The session is gone (expired after about a week, or never known): start again."""

    status: int


def chunk_size_of(option: object) -> int:
    """The account's ``chunk_bytes`` rounded down to a multiple of 256 KiB (at least
    one unit)."""
    size = int(option) if isinstance(option, int | float | str) and str(option) else 0
    return max(CHUNK_UNIT, size // CHUNK_UNIT * CHUNK_UNIT) if size else DEFAULT_CHUNK


def held_from(response: requests.Response) -> Held | Complete | Gone | None:
    """What an answer of the session URI says, or ``None`` when it says none of these
    (an error the caller classifies)."""
    status = response.status_code
    if status in (200, 201):
        try:
            video = response.json()
        except ValueError:
            return None
        return Complete(video) if isinstance(video, dict) and video.get("id") else None
    if status == 308:
        ranges = response.headers.get("Range", "")
        # "bytes=0-524287": the server holds bytes 0 … 524287; no header: nothing yet
        last = ranges.rpartition("-")[2]
        return Held(int(last) + 1 if last.isdigit() else 0)
    if status in (404, 410):
        return Gone(status)
    return None


class Sender:
    """Sends one file to one session URI with ``call`` (the adapter's authorised request),
    resuming from what the server holds."""

    def __init__(self, call: Call, error: Callable[[requests.Response, str], Outcome], *,
                 uri: str, path: str, size: int, mime: str, chunk: int, retries: int,
                 backoff: float) -> None:
        self.call, self.error = call, error
        self.uri, self.path, self.size, self.mime = uri, path, size, mime
        self.chunk, self.retries, self.backoff = chunk, retries, backoff

    def ask(self) -> Held | Complete | Gone | Outcome:
        """What the server holds (step 3)."""
        response = self.call("PUT", self.uri, data=b"",
                             headers={"Content-Range": f"bytes */{self.size}"})
        if not answered(response):
            return response
        known = held_from(response)
        return known if known is not None else self.error(response, _("upload status"))

    def send(self, offset: int) -> Complete | Gone | Outcome:
        """Send the file from ``offset`` on; the video when the last chunk is taken."""
        failures = 0
        with open(self.path, "rb") as file:
            while True:
                file.seek(offset)
                data = file.read(self.chunk)
                last = offset + len(data) >= self.size
                response = self.call(
                    "PUT", self.uri, data=data, create=last,
                    headers={"Content-Type": self.mime,
                             "Content-Range": f"bytes {offset}-{offset + len(data) - 1}"
                                              f"/{self.size}"})
                known = held_from(response) if answered(response) else None
                if isinstance(known, Complete | Gone):
                    return known
                if isinstance(known, Held):
                    if known.offset > offset:
                        offset, failures = known.offset, 0
                        continue
                    broken: Outcome = NotSent(_("the server kept nothing of the chunk"),
                                              http_status=308)
                elif last:  # the create: its failure is for the probe to settle
                    return self._in_doubt(response)
                else:
                    broken = (response if not answered(response)
                              else self.error(response, "upload"))
                if not _resumable(broken) or failures >= self.retries:
                    return nothing_created(broken)
                failures += 1
                if self.backoff:
                    time.sleep(self.backoff * 2 ** (failures - 1))
                asked = self.ask()
                if isinstance(asked, Complete | Gone):
                    return asked
                if not isinstance(asked, Held):
                    return nothing_created(asked)
                offset = asked.offset

    def _in_doubt(self, response: requests.Response | Outcome) -> Outcome:
        if not answered(response):
            return response  # InDoubt from the HTTP layer (or NotSent: nothing left)
        if response.status_code in (200, 201):  # garbled: the video may exist
            return InDoubt(_("the last chunk was answered HTTP {status} without a readable video "
                             "resource").format(status=response.status_code),
                           http_status=response.status_code)
        # a 5xx is InDoubt (it may have been applied), a 4xx what it says
        return self.error(response, _("upload (last chunk)"))


def _resumable(outcome: Outcome) -> bool:
    """A chunk's failure the protocol resumes from: 5xx, 429, a broken connection."""
    if isinstance(outcome, InDoubt):
        return True
    return isinstance(outcome, NotSent) and (outcome.http_status is None
                                             or outcome.http_status >= 500
                                             or outcome.http_status in (308, 429))


def nothing_created(outcome: Outcome) -> Outcome:
    """``outcome`` of a request that cannot have made a video (a session opened, a chunk
    before the last, a status asked): doubt there is ``NotSent``."""
    if isinstance(outcome, InDoubt):
        return NotSent(_("{detail} (the upload is incomplete: no video exists yet; the next "
                         "attempt resumes it)").format(
                           detail=outcome.detail), http_status=outcome.http_status)
    return outcome
