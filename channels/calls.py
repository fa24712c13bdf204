"""One HTTP request as a *call*: its total deadline, and what the connection reports
about it (the first byte written, an answer over the cap).

requests' and urllib3's timeouts apply to each socket operation, so a server trickling a
byte every few seconds never times out. Each :func:`channels.http.request` runs as a
:class:`Call` on its thread; one watchdog thread for the whole process shuts the call's
socket down when its deadline passes, the blocked read or write returns at once, and the
request ends as :class:`DeadlineExceeded`. The connection classes of
:mod:`channels.transport` tell the call which socket it uses and when the first byte of
the request left.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from urllib3.connection import HTTPConnection


class DeadlineExceeded(Exception):
    """The request's total deadline passed before its answer was complete."""


class ResponseTooLarge(Exception):
    """The answer is larger than the account's cap; the rest was not read."""

    def __init__(self, cap: int, announced: int | None = None) -> None:
        super().__init__(cap, announced)
        self.cap = cap
        #: the Content-Length the server announced, when that is how it was known
        self.announced = announced


class Call:
    """One :func:`channels.http.request` call, as the transport sees it (on one thread).

    A lookup may follow redirects: every hop shares the call's deadline.
    """

    def __init__(self, *, create: bool = False) -> None:
        self.create = create
        self.started = time.monotonic()
        #: when the deadline passes (monotonic); set when the first request is prepared
        self.expires: float | None = None
        #: the seconds the call was given (the deadline, plus time for an upload)
        self.allowed: float | None = None
        #: the connection in use, so the watchdog can shut its socket down
        self.connection: HTTPConnection | None = None
        #: the first byte of a request was written (a create may have been applied)
        self.written = False
        #: the watchdog ended the call (its deadline passed)
        self.expired = False
        #: the answer was refused as larger than the cap
        self.too_large: ResponseTooLarge | None = None
        #: the call is over: the watchdog must leave its (pooled) socket alone
        self.done = False
        self.connecting = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        assert self.expires is not None
        return self.expires - time.monotonic()

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            self.connection = connection
            expired = self.expired
        if expired:
            _cut(connection)

    def expire(self) -> None:
        """The deadline passed: end whatever the call is blocked in."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            connection = self.connection
            # Shutting the socket down under the lock: ``finish`` cannot hand it back to
            # another call meanwhile.
            if connection is not None:
                _cut(connection)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self.connection = None


def _cut(connection: HTTPConnection) -> None:
    """Shut the socket down: a read or write blocked on it returns at once."""
    sock = connection.sock
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


_local = threading.local()


def current_call() -> Call | None:
    return getattr(_local, "call", None)


def calling(call: Call) -> _Calling:
    """Run one request as ``call`` on this thread (``with calling(call):``); its deadline
    is disarmed at the end."""
    return _Calling(call)


class _Calling:
    """:func:`calling`'s context: a class, not a generator (a fifth of the cost, once per
    request)."""

    __slots__ = ("call", "outer")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.outer: Call | None = None

    def __enter__(self) -> Call:
        self.outer = getattr(_local, "call", None)
        _local.call = self.call
        return self.call

    def __exit__(self, *_: object) -> None:
        _local.call = self.outer
        WATCHDOG.disarm(self.call)


class _Watchdog:
    """One thread for the whole process that expires calls whose deadline passed.

    A heap of (deadline, call); finished calls stay in it until they come up or until
    the heap is mostly finished calls, then it is rebuilt (arming costs a push, not a
    thread or a timer per request).
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, Call]] = []
        self._order = itertools.count()
        self._live = 0
        self._thread: threading.Thread | None = None

    def arm(self, call: Call) -> None:
        assert call.expires is not None
        with self._wake:
            heapq.heappush(self._heap, (call.expires, next(self._order), call))
            self._live += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="siar-http-deadline",
                                                daemon=True)
                self._thread.start()
            if self._heap[0][2] is call:  # sooner than what the thread waits for
                self._wake.notify()

    def disarm(self, call: Call) -> None:
        if call.done:
            return
        call.finish()
        if call.expires is None:
            return  # never armed (failed before its request was prepared)
        with self._wake:
            self._live -= 1
            if len(self._heap) > 64 and len(self._heap) > 4 * self._live:
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)

    def _run(self) -> None:
        with self._wake:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                expires, _, call = self._heap[0]
                if call.done:
                    heapq.heappop(self._heap)
                    continue
                wait = expires - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
                call.expire()


WATCHDOG = _Watchdog()
