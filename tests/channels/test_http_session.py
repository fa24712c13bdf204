"""The HTTP session every adapter uses: connections are kept alive and reused."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.http import make_session, request
from tests.fakes.server import FakeRequest, FakeServer, Response


class EchoServer(FakeServer):
    """Answers every request and remembers which client connection it came on."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.connections: set[tuple[str, int]] = set()
        self.route("POST", "/echo", self._echo)

    def _dispatch(self, h: Any) -> None:
        with self.lock:
            self.connections.add(h.client_address)
        super()._dispatch(h)

    def _echo(self, request: FakeRequest) -> Response:
        time.sleep(self.latency)
        return 200, {}, {"got": request.json()}


def test_one_account_posting_in_sequence_uses_one_connection() -> None:
    with EchoServer() as server:
        session = make_session()
        answers = [request(session, "POST", f"{server.url}/echo", json={"n": n})
                   for n in range(20)]
        assert [a.json()["got"]["n"] for a in answers] == list(range(20))  # type: ignore[union-attr]
        assert len(server.connections) == 1


def test_sixteen_posts_at_once_need_no_more_than_sixteen_connections() -> None:
    with EchoServer(latency=0.02) as server, ThreadPoolExecutor(16) as pool:
        session = make_session()

        def post(n: int) -> int:
            return request(session, "POST", f"{server.url}/echo",  # type: ignore[union-attr]
                           json={"n": n}).status_code

        assert set(pool.map(post, range(96))) == {200}
        # never more connections than requests at once: none was opened only to be thrown
        # away because the pool had no room to keep it
        assert len(server.connections) <= 16
