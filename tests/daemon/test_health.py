"""The health server stands up to monitoring: crowds of scrapers, idle connections, clients
that hang up — over real sockets."""

from __future__ import annotations

import logging
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from scheduler.health import HealthServer
from scheduler.status import Overdue, Snapshot

SCRAPERS = 200
#: a safety net for waits on the network: generous, never a measure of speed
PATIENCE = 15.0


def quiet_queue() -> Snapshot:
    return Snapshot(now=datetime.now(UTC), nodes=[], depth={"scheduled": 2},
                    overdue=Overdue(count=0))


@pytest.fixture
def make_server() -> Iterator[Callable[..., HealthServer]]:
    made: list[HealthServer] = []

    def make(snapshot: Callable[[], Snapshot] = quiet_queue, **kwargs: float) -> HealthServer:
        server = HealthServer(0, node="n1", snapshot=snapshot, counters=lambda: {},
                              dispatcher_fresh=lambda: True, **kwargs)  # type: ignore[arg-type]
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


def get(port: int, path: str) -> bytes:
    """One request over a fresh connection; the whole answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return read_all(client)


def read_all(client: socket.socket) -> bytes:
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    return answer


def wait_connected(sockets: list[socket.socket]) -> list[socket.socket]:
    """Wait until the kernel completed every handshake; returns those that did. (A selector,
    not ``select.select``: in a long test process the sockets' numbers pass 1024.)"""
    done = []
    deadline = time.monotonic() + PATIENCE
    with selectors.DefaultSelector() as selector:
        for s in sockets:
            selector.register(s, selectors.EVENT_WRITE)
        while selector.get_map() and time.monotonic() < deadline:
            for key, _events in selector.select(0.5):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                selector.unregister(s)
                done.append(s)
    return done


def test_two_hundred_scrapers_arriving_at_once_are_all_taken_in_and_answered(
        make_server: Callable[..., HealthServer]) -> None:
    server = make_server()  # listening, not yet accepting: as when its thread is busy
    clients = []
    for _ in range(SCRAPERS):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", server.port))
        clients.append(client)
    try:
        # the listen backlog holds them all (with a backlog of 5, six got in)
        assert len(wait_connected(clients)) == SCRAPERS
        server.start()
        answers = []
        for client in clients:
            client.setblocking(True)
            client.settimeout(PATIENCE)
            client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        for client in clients:
            answers.append(read_all(client))
    finally:
        for client in clients:
            client.close()
    assert all(a.startswith(b"HTTP/1.0 200") and b"siar_posts" in a for a in answers)


def test_two_hundred_concurrent_metrics_requests_are_served_side_by_side(
        make_server: Callable[..., HealthServer]) -> None:
    together = threading.Barrier(SCRAPERS, timeout=PATIENCE)

    def snapshot_once_all_are_in() -> Snapshot:
        together.wait()  # every request is being served at the same time
        return quiet_queue()

    server = make_server(snapshot_once_all_are_in).start()
    answers: list[bytes] = []
    threads = [threading.Thread(target=lambda: answers.append(get(server.port, "/metrics")))
               for _ in range(SCRAPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == SCRAPERS
    assert all(a.startswith(b"HTTP/1.0 200") for a in answers)


def test_an_idle_connection_does_not_block_healthz_and_is_closed_after_the_timeout(
        make_server: Callable[..., HealthServer]) -> None:
    # a second: the healthz request below is sent whole well within it on a loaded host
    server = make_server(timeout=1.0).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE) as idle, \
            socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE) as slow:
        slow.sendall(b"GET /hea")  # a request that never ends
        assert get(server.port, "/healthz").startswith(b"HTTP/1.0 200")
        assert idle.recv(1) == b""  # the server hung up on it
        assert slow.recv(1) == b""


class HealthLog(logging.Handler):
    """Keeps the health server's records, and tells when one says something."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()

    def wait_for(self, text: str) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: any(text in r.getMessage() for r in self.records), PATIENCE)


@pytest.fixture
def health_log() -> Iterator[HealthLog]:
    """The health server's logger down to debug, kept to itself: its records do not go on
    to handlers that other tests left on the root logger."""
    logger, keep = logging.getLogger("siar.health"), HealthLog()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield keep
    logger.removeHandler(keep)
    logger.setLevel(level)
    logger.propagate = propagate


def test_a_client_hanging_up_early_is_a_debug_line_not_a_traceback(
        make_server: Callable[..., HealthServer], health_log: HealthLog,
        capfd: pytest.CaptureFixture[str]) -> None:
    hung_up = threading.Event()

    def snapshot_after_the_client_left() -> Snapshot:
        hung_up.wait(PATIENCE)
        return quiet_queue()

    server = make_server(snapshot_after_the_client_left).start()
    client = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
    client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    # close with a reset, as a scraper that timed out does: the answer has nowhere to go
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    hung_up.set()
    assert health_log.wait_for("went away")
    assert [r.levelno for r in health_log.records if r.levelno > logging.DEBUG] == []
    assert "Traceback" not in capfd.readouterr().err
    assert get(server.port, "/healthz").startswith(b"HTTP/1.0 200")  # still serving


def test_an_unreadable_queue_is_a_503_with_the_reason_not_a_dropped_connection(
        make_server: Callable[..., HealthServer]) -> None:
    def broken() -> Snapshot:
        raise OperationalError("SELECT 1", {}, Exception("the database system is starting up"))

    server = make_server(broken).start()
    answer = get(server.port, "/healthz")
    assert answer.startswith(b"HTTP/1.0 503") and b"cannot read the queue" in answer
