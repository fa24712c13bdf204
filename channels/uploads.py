"""What every network's video upload shares: the video of a post and its size, request
bodies read from disk while they are sent, a part retried on its own, and waiting for
the network to process an upload — bounded in time, ending "in doubt" for the probe to
settle.

A prepared video can be hundreds of megabytes: it is never read whole into memory. A
:class:`FileBody` is a file-like body of known length (requests sends its
``Content-Length`` and streams it; the transport grants the request time by its size);
:func:`read_part` reads one part of an upload in parts, wherever the network cut it
(chunk *i* of a fixed size, the byte range LinkedIn names, the offset Meta reports).

Waiting for processing (:func:`wait_until_processed`) asks the network again after the
wait it suggests (or ``every`` seconds), never for longer than ``limit`` seconds in all
(a network that only names a status, as Meta's and LinkedIn's do, is asked through
:func:`by_status`):
an attempt must end even when the network never finishes. What it returns when the time
is up, :class:`StillProcessing`, is turned by the adapter into ``InDoubt`` — the upload
is checkpointed, the probe settles the post, and the next attempt goes on waiting for
the same upload instead of sending the file again.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.base import InDoubt, NotSent, Outcome
from channels.i18n import _
from channels.variant import Media, Variant

__all__ = [
    "GRAPH_OPTION_NAMES",
    "TRIES",
    "FileBody",
    "Processed",
    "StillProcessing",
    "Waiting",
    "by_status",
    "multipart_body",
    "read_part",
    "retried",
    "size_text",
    "upload_options",
    "video_of",
    "video_size",
    "wait_until_processed",
]

T = TypeVar("T")

#: bytes read from disk per write while a body is streamed
BLOCK = 64 * 1024
#: tries of one step (a part, a one-request upload) before the attempt gives up; the
#: next attempt resumes from the checkpoint
TRIES = 3


def video_of(variant: Variant) -> Media | None:
    """The post's video (one per post), or ``None`` for a post without one."""
    return next((m for m in variant.media if m.kind == "video"), None)


def video_size(media: Media) -> int:
    """The prepared file's size in bytes (as recorded, else as it is on disk)."""
    return media.bytes if media.bytes is not None else os.path.getsize(media.path)


def size_text(size: int) -> str:
    """A byte count for people, in the megabytes of file managers and of Telegram's
    "50 MB" (1,048,576 bytes): ``48.2 MB``."""
    return f"{size / 1_048_576:,.1f} MB"


# --- bodies read from disk ----------------------------------------------------------------


class FileBody:
    """A request body streamed from ``path`` (``length`` bytes from ``offset``, the rest
    of the file by default), framed by ``head`` and ``tail`` bytes (a multipart form's
    other fields). It can be sent once; build a new one for each try."""

    def __init__(self, path: str | os.PathLike[str], *, offset: int = 0,
                 length: int | None = None, head: bytes = b"", tail: bytes = b"") -> None:
        self.path = os.fspath(path)
        self.offset = offset
        self.length = (os.path.getsize(self.path) - offset) if length is None else length
        self.head, self.tail = head, tail
        self._chunks: Iterator[bytes] | None = None
        self._pending = b""

    def __len__(self) -> int:
        return len(self.head) + self.length + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            left = self.length
            while left > 0:
                block = file.read(min(BLOCK, left))
                if not block:
                    raise OSError(_("{path} is shorter than expected (changed on disk?)").format(
                                      path=self.path))
                left -= len(block)
                yield block
        yield self.tail

    def read(self, size: int = -1) -> bytes:
        """File-like reading, as urllib3 sends a body that has ``read``."""
        if self._chunks is None:
            self._chunks = iter(self)
        out = [self._pending]
        have = len(self._pending)
        while size < 0 or have < size:
            block = next(self._chunks, None)
            if block is None:
                break
            out.append(block)
            have += len(block)
        data = b"".join(out)
        if size < 0:
            self._pending = b""
            return data
        self._pending = data[size:]
        return data[:size]


def multipart_body(fields: Mapping[str, str], file_field: str, path: str, filename: str,
                   mime: str, *, small_files: Mapping[str, tuple[str, bytes, str]] = (
                       {})) -> tuple[FileBody, str]:
    """A ``multipart/form-data`` body with ``fields``, ``small_files`` (field → (file
    name, bytes, type), held in memory: a cover, a thumbnail) and the file at ``path``
    last, streamed; and its ``Content-Type``."""
    boundary = f"siar-{uuid.uuid4().hex}"
    head = bytearray()

    def part(name: str, filename: str | None = None, kind: str | None = None) -> None:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename.replace(chr(34), "")}"'
        head.extend(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if kind:
            head.extend(f"Content-Type: {kind}\r\n".encode())
        head.extend(b"\r\n")

    for name, value in fields.items():
        part(name)
        head.extend(str(value).encode() + b"\r\n")
    for name, (small_name, data, kind) in small_files.items():
        part(name, small_name, kind)
        head.extend(data + b"\r\n")
    part(file_field, filename, mime)
    tail = f"\r\n--{boundary}--\r\n".encode()
    return (FileBody(path, head=bytes(head), tail=tail),
            f"multipart/form-data; boundary={boundary}")


def read_part(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes of the file from byte ``offset`` (fewer at its end): one part of
    an upload in parts, held in memory only while it is sent."""
    with open(path, "rb") as file:
        file.seek(offset)
        return file.read(size)


# --- one step retried on its own ----------------------------------------------------------


def retried(send: Callable[[], T | Outcome], *, tries: int = TRIES,
            pause: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> T | Outcome:
    """``send()`` (one chunk, or a one-request upload), sent again while it fails in a
    way another try can mend: nothing arrived, or the network failed (``NotSent`` that
    is not a rate limit). Uploads are not posts, so a resend duplicates nothing. Anything
    else — the answer, a refusal, a throttle, refused credentials — comes back at once.
    Up to ``tries`` in all, ``pause`` seconds apart, doubling."""
    result = send()
    for attempt in range(1, tries):
        if not (isinstance(result, NotSent) and not result.rate_limited):
            break
        sleep(pause * 2 ** (attempt - 1))
        result = send()
    return result


# --- waiting for processing ---------------------------------------------------------------


@dataclass(frozen=True)
class Processed:
    """The network is done with the upload; ``value`` is what the post needs of it."""

    value: Any


@dataclass(frozen=True)
class Waiting:
    """Still processing: ask again after ``after`` seconds (the network's suggestion,
    when it made one); ``progress`` for the message if the wait runs out."""

    after: float | None = None
    progress: str = ""


@dataclass(frozen=True)
class StillProcessing:
    """``limit`` seconds passed and the network had not finished."""

    waited: float
    progress: str = ""

    def in_doubt(self, what: str) -> InDoubt:
        """The outcome of an attempt that ran out of time waiting (the adapter has
        checkpointed the upload: the probe settles the post, the next attempt waits on)."""
        said = f" ({self.progress})" if self.progress else ""
        return InDoubt(_("{what} was uploaded but still being processed after {seconds:.0f} "
                         "s{said}; the post was not sent yet — the next attempt waits for the "
                         "same upload instead of sending it again").format(
                           what=what, seconds=self.waited, said=said))


def wait_until_processed(check: Callable[[], Processed | Waiting | Outcome], *,
                         limit: float, every: float, first: float | None = None,
                         sleep: Callable[[float], None] = time.sleep, misses: int = 3,
                         ) -> Processed | StillProcessing | Outcome:
    """Ask ``check()`` until it says :class:`Processed` or fails (an outcome, returned
    as it is), waiting ``first`` seconds before the first question (None: ask at once)
    and then what the network suggests (else ``every``); :class:`StillProcessing` once
    ``limit`` seconds have passed. A question that got no answer (``NotSent``, not a
    rate limit) is asked again, up to ``misses`` times in a row, before it ends the wait."""
    started = time.monotonic()
    wait = first
    progress = ""
    missed = 0
    while True:
        if wait:
            left = limit - (time.monotonic() - started)
            if left <= 0:
                return StillProcessing(time.monotonic() - started, progress)
            sleep(min(wait, left))
        answer = check()
        if isinstance(answer, NotSent) and not answer.rate_limited and missed + 1 < misses:
            missed += 1
            answer = Waiting()
        elif isinstance(answer, Waiting):
            missed = 0
        if not isinstance(answer, Waiting):
            return answer
        progress = answer.progress or progress
        if time.monotonic() - started >= limit:
            return StillProcessing(time.monotonic() - started, progress)
        wait = answer.after if answer.after is not None else every
        wait = max(wait, 0.01)


def by_status(read: Callable[[], str | Outcome],
              pending: Collection[str]) -> Callable[[], Processed | Waiting | Outcome]:
    """A :func:`wait_until_processed` question for a network that only names a status:
    a status in ``pending`` is :class:`Waiting` (the status is its ``progress``), any
    other is :class:`Processed` with the status as its value, an outcome stays one."""

    def check() -> Processed | Waiting | Outcome:
        status = read()
        if not isinstance(status, str):
            return status
        return Waiting(progress=status) if status in pending else Processed(status)
    return check


#: the option names of the accounts on Meta's networks and LinkedIn (as documented for
#: them), for :func:`upload_options`
GRAPH_OPTION_NAMES = {"limit": "video_poll_timeout", "every": "video_poll_interval",
                      "pause": "part_retry_wait"}


def upload_options(options: Mapping[str, Any], *, limit: str = "video_wait_seconds",
                   every: str = "video_poll_seconds",
                   pause: str = "upload_retry_pause") -> dict[str, float]:
    """An account's waiting rules for uploads, from the options named ``limit`` (the
    longest wait for processing per attempt, default 300 s), ``every`` (between
    questions when the network suggests nothing, default 5 s) and ``pause`` (before a
    failed part is sent again, default 1 s). The names are those each network's page
    documents: ``video_wait_seconds``, ``video_poll_seconds``, ``upload_retry_pause`` by
    default, :data:`GRAPH_OPTION_NAMES` for Facebook, Instagram, Threads and LinkedIn."""
    return {"limit": float(options.get(limit, 300.0)),
            "every": float(options.get(every, 5.0)),
            "pause": float(options.get(pause, 1.0))}
