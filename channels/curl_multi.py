"""One thread that carries every libcurl transfer of the process (libcurl's multi interface).

Each request of :mod:`channels.curl` used to run libcurl's easy ``perform`` on the thread
of its post; libcurl calls back into Python for the pre-request, each header line and each
body chunk, so with a hundred posts in flight a request cost about ten GIL hand-overs
between a hundred threads. Here one *driver* thread runs all transfers through one
``pycurl.CurlMulti`` (``socket_action`` on the sockets libcurl asks to watch, its timer):
the callbacks run on the driver thread, and the thread of a post hands its prepared handle
over and waits once for the transfer to end (:meth:`CurlDriver.transfer`).

What the transfer guarantees is set on the handle (:func:`channels.curl._configure`:
deadline, connect and read timeouts, the cap, TLS, no proxy) and in its callbacks (the
first byte written, no new connection once written), so it holds the same way here as in
an easy ``perform``. Two things differ, both libcurl's own: kept connections live in the
multi handle's cache (shared by the sessions of the process, matched by host, port and TLS
settings) instead of each easy handle's, and libcurl checks an idle connection before it
reuses it (a dead or readable one is closed). The driver is started by whoever runs many
requests at once (:func:`start`, the daemon); without it a request is carried on its own
thread as before.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import selectors
import socket
import threading
import time
from typing import Any

import pycurl

__all__ = ["CurlDriver", "running", "start", "stop"]

log = logging.getLogger("siar.http")

#: idle connections the multi handle keeps (libcurl's default is 4 per handle added,
#: which shrinks to a few between bursts); an account posting in sequence finds its own
MAX_CONNECTIONS = 512
#: what a transfer still running when the driver stops ends with: no answer was read
STOPPED = pycurl.E_ABORTED_BY_CALLBACK

_EVENTS = {pycurl.POLL_IN: selectors.EVENT_READ, pycurl.POLL_OUT: selectors.EVENT_WRITE,
           pycurl.POLL_INOUT: selectors.EVENT_READ | selectors.EVENT_WRITE}


class _Transfer:
    """One handle handed to the driver; ``error`` is libcurl's failure, if any."""

    __slots__ = ("done", "error", "handle")

    def __init__(self, handle: pycurl.Curl) -> None:
        self.handle = handle
        self.error: pycurl.error | None = None
        self.done = threading.Lock()  # held until the transfer ended: one wait, no Condition
        self.done.acquire()


class CurlDriver:
    """Runs the transfers handed to it (from any thread) on one thread of its own."""

    def __init__(self) -> None:
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._multi.setopt(pycurl.M_MAXCONNECTS, MAX_CONNECTIONS)
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._incoming: collections.deque[_Transfer] = collections.deque()
        self._woken = False
        self._stopping = False
        self._running: dict[pycurl.Curl, _Transfer] = {}
        self._watched: dict[int, int] = {}  # fd -> selector events
        #: when libcurl wants ``socket_action(SOCKET_TIMEOUT)`` (monotonic), None: never
        self._timer: float | None = None
        self._thread = threading.Thread(target=self._run, name="siar-curl", daemon=True)
        self._thread.start()

    # --- the caller's side ---------------------------------------------------------------

    def transfer(self, handle: pycurl.Curl) -> pycurl.error | None:
        """Carry ``handle``'s request (set up, not yet performed) to its end; libcurl's
        failure comes back as the ``pycurl.error`` ``perform`` would have raised."""
        job = _Transfer(handle)
        with self._lock:
            if self._stopping:
                return pycurl.error(STOPPED, "the HTTP driver has stopped")
            self._incoming.append(job)
            wake, self._woken = not self._woken, True
        if wake:
            self._wake_out.send(b"\0")
        job.done.acquire()
        return job.error

    def stop(self) -> None:
        """End the thread; transfers still running fail (as a broken connection would),
        those handed over later are refused at once."""
        with self._lock:
            self._stopping = True
        self._wake_out.send(b"\0")
        self._thread.join()

    # --- libcurl's callbacks (driver thread) -----------------------------------------------

    def _on_socket(self, what: int, fd: int, _multi: Any, _data: Any) -> None:
        if what == pycurl.POLL_REMOVE:
            if self._watched.pop(fd, None) is not None:
                self._forget(fd)
            return
        events = _EVENTS.get(what, 0)
        known = self._watched.get(fd)
        if known == events:
            return
        self._watched[fd] = events
        try:
            if known is None:
                self._selector.register(fd, events)
            else:
                self._selector.modify(fd, events)
        except (KeyError, OSError):
            # the number was watched for a socket closed without a POLL_REMOVE: start over
            self._forget(fd)
            self._selector.register(fd, events)

    def _forget(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(fd)

    def _on_timer(self, milliseconds: int) -> None:
        self._timer = None if milliseconds < 0 else time.monotonic() + milliseconds / 1000

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            timeout = None if self._timer is None else max(0.0, self._timer - time.monotonic())
            woken = False
            for key, mask in self._selector.select(timeout):
                if key.fileobj is self._wake_in:
                    # emptied before the hand-over list is taken: a hand-over after this
                    # point leaves a byte of its own (see transfer)
                    with contextlib.suppress(BlockingIOError):
                        self._wake_in.recv(4096)
                    woken = True
                    continue
                self._act(key.fd, (pycurl.CSELECT_IN if mask & selectors.EVENT_READ else 0)
                          | (pycurl.CSELECT_OUT if mask & selectors.EVENT_WRITE else 0))
            if woken and self._take_incoming():
                break
            if self._timer is not None and time.monotonic() >= self._timer:
                self._timer = None
                self._act(pycurl.SOCKET_TIMEOUT, 0)
            self._finish_done()
        self._close()

    def _take_incoming(self) -> bool:
        """Add the handles handed over meanwhile; True once the driver is stopping."""
        with self._lock:
            self._woken = False
            jobs, self._incoming = self._incoming, collections.deque()
            stopping = self._stopping
        for job in jobs:
            if stopping:
                self._end(job, pycurl.error(STOPPED, "the HTTP driver has stopped"))
                continue
            try:
                self._multi.add_handle(job.handle)
            except pycurl.error as exc:
                self._end(job, exc)
                continue
            self._running[job.handle] = job
        return stopping

    def _act(self, fd: int, events: int) -> None:
        try:
            self._multi.socket_action(fd, events)
        except pycurl.error:  # the multi handle's own trouble: each transfer tells its own
            log.exception("libcurl's multi handle failed")

    def _finish_done(self) -> None:
        while True:
            left, ok, failed = self._multi.info_read()
            for handle in ok:
                self._remove(handle, None)
            for handle, code, message in failed:
                self._remove(handle, pycurl.error(code, message))
            if not left:
                return

    def _remove(self, handle: pycurl.Curl, error: pycurl.error | None) -> None:
        self._multi.remove_handle(handle)
        job = self._running.pop(handle, None)
        if job is not None:
            self._end(job, error)

    @staticmethod
    def _end(job: _Transfer, error: pycurl.error | None) -> None:
        job.error = error
        job.done.release()

    def _close(self) -> None:
        for handle in list(self._running):
            self._remove(handle, pycurl.error(STOPPED, "the HTTP driver has stopped"))
        with self._lock:
            late, self._incoming = self._incoming, collections.deque()
        for job in late:
            self._end(job, pycurl.error(STOPPED, "the HTTP driver has stopped"))
        self._multi.close()  # its kept connections with it
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()


_driver: CurlDriver | None = None
_started = threading.Lock()


def start() -> CurlDriver:
    """Start the process's driver (once); :mod:`channels.curl` then carries its transfers
    on it."""
    global _driver
    with _started:
        if _driver is None:
            _driver = CurlDriver()
        return _driver


def stop() -> None:
    """Stop the process's driver, if started; later requests run on their own thread."""
    global _driver
    with _started:
        driver, _driver = _driver, None
    if driver is not None:
        driver.stop()


def running() -> CurlDriver | None:
    """The process's driver, or None when requests run on their own thread."""
    return _driver
