"""Optional ``/healthz`` and Prometheus ``/metrics`` for the daemon (``daemon.http_port``),
and the files ``[media] store = "siar"`` hosts under ``/media/`` (streamed).

``/healthz`` answers 503 when due posts are not being picked up or this daemon's
dispatcher has not run lately — a check that cannot stay green while posts are stuck.
Monitoring may open many connections at once, or leave one open: a thread per
connection, a listen backlog that takes a crowd, and a timeout for idle connections.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Protocol

from scheduler.status import Snapshot

#: counters the daemon keeps for this process (outcome name → count)
Counters = Callable[[], dict[str, int]]
#: bytes read from a hosted file per write to the client
SEND_BLOCK = 256 * 1024


class Hosted(Protocol):
    """A hosted file being answered (:class:`scheduler.media_hosting.siar.ServedFile`)."""

    file: BinaryIO
    size: int
    kind: str


#: a request path → the hosted file there, open for reading, or None for 404
Files = Callable[[str], Hosted | None]

log = logging.getLogger("siar.health")


def render_metrics(snap: Snapshot, counters: dict[str, int], *, node: str) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    lines = [
        "# HELP siar_posts Posts in the queue by status.",
        "# TYPE siar_posts gauge",
        *(f'siar_posts{{status="{status}"}} {count}' for status, count in snap.depth.items()),
        "# HELP siar_overdue_posts Posts past their time that could be claimed now.",
        "# TYPE siar_overdue_posts gauge",
        f"siar_overdue_posts {snap.overdue.count}",
        "# HELP siar_oldest_overdue_seconds How long the oldest claimable post has waited.",
        "# TYPE siar_oldest_overdue_seconds gauge",
        f"siar_oldest_overdue_seconds {snap.overdue.seconds(snap.now):.3f}",
        "# HELP siar_daemons_alive Daemons with a fresh heartbeat.",
        "# TYPE siar_daemons_alive gauge",
        f"siar_daemons_alive {len(snap.alive)}",
        "# HELP siar_accounts_paused Accounts paused after an authentication failure.",
        "# TYPE siar_accounts_paused gauge",
        f"siar_accounts_paused {len(snap.paused_accounts)}",
        "# HELP siar_alerts_undelivered Staff alerts a notify account has not taken yet.",
        "# TYPE siar_alerts_undelivered gauge",
        f"siar_alerts_undelivered {snap.alerts_undelivered}",
        "# HELP siar_outcomes_total Publishing outcomes seen by this daemon.",
        "# TYPE siar_outcomes_total counter",
        *(f'siar_outcomes_total{{node="{node}",outcome="{name}"}} {count}'
          for name, count in sorted(counters.items())),
    ]
    return "\n".join(lines) + "\n"


#: connections the kernel completes while the server is busy accepting others (the
#: default of 5 dropped most of 200 scrapers arriving together; the kernel caps it at
#: ``net.core.somaxconn``)
BACKLOG = 1024
#: an open connection that sends no complete request within this is closed (seconds)
CONNECTION_TIMEOUT = 10.0


class _Server(ThreadingHTTPServer):
    """A thread per connection, so a slow or idle client holds only its own thread."""

    request_queue_size = BACKLOG
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (closed early, reset, timed out) is routine: a debug
        line, not socketserver's traceback on stderr; anything else is logged with it."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("health client %s went away: %s", client_address[0],
                      type(error).__name__)
        else:
            log.exception("health request from %s failed", client_address[0])


class HealthServer:
    """Serves the two endpoints from a background thread."""

    def __init__(self, port: int, *, snapshot: Callable[[], Snapshot], counters: Counters,
                 dispatcher_fresh: Callable[[], bool], node: str,
                 host: str = "127.0.0.1", timeout: float = CONNECTION_TIMEOUT,
                 files: Files | None = None) -> None:
        self.snapshot = snapshot
        #: ``[media] store = "siar"``: the images it serves under ``/media/``
        self.files = files
        self.counters = counters
        self.dispatcher_fresh = dispatcher_fresh
        self.node = node
        server = self
        idle_timeout = timeout

        class _Handler(BaseHTTPRequestHandler):
            #: socketserver sets it on each connection's socket: an idle or trickling
            #: client is dropped (http.server logs "Request timed out" through log_message)
            timeout = idle_timeout

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health %s: " + format, self.address_string(), *args)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                served = server.files(path) if server.files and path not in (
                    "/healthz", "/metrics") else None
                if served is not None:  # a file hosted for a network to fetch
                    with served.file:  # sent in blocks: a video is never read whole
                        self.send_response(200)
                        self.send_header("Content-Type", served.kind)
                        self.send_header("Content-Length", str(served.size))
                        self.end_headers()
                        shutil.copyfileobj(served.file, self.wfile, SEND_BLOCK)
                    return
                status, kind, body = server.safe_answer(path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = _Server((host, port), _Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="siar-http",
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() of a server never started waits forever
            self._httpd.shutdown()
        self._httpd.server_close()

    def safe_answer(self, path: str) -> tuple[int, str, str]:
        """:meth:`answer`, or 503 with the reason when the database cannot be read (a
        monitor then sees the trouble instead of a dropped connection)."""
        try:
            return self.answer(path)
        except Exception as exc:
            log.warning("health %s: %s: %s", path, type(exc).__name__, exc)
            return 503, "text/plain", f"cannot read the queue: {type(exc).__name__}\n"

    def answer(self, path: str) -> tuple[int, str, str]:
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(
                self.snapshot(), self.counters(), node=self.node)
        if path == "/healthz":
            snap = self.snapshot()
            problems = []
            if snap.stuck:
                problems.append(f"{snap.overdue.count} due post(s) not picked up; oldest "
                                f"waiting {snap.overdue.seconds(snap.now):.0f}s")
            if not self.dispatcher_fresh():
                problems.append("this daemon's dispatcher has not run recently")
            body = json.dumps({"ok": not problems, "node": self.node, "problems": problems,
                               "overdue": snap.overdue.count,
                               "daemons_alive": len(snap.alive)})
            return (503 if problems else 200), "application/json", body
        return 404, "text/plain", "not found: try /healthz or /metrics\n"
