"""A server that never finishes its answer cannot hold the daemon: the request ends at
its deadline, the post becomes ``unknown`` (the create may have been applied), and
SIGTERM stops the daemon instead of waiting for the server forever."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from sqlalchemy import select

from scheduler.db import open_database, session
from scheduler.models import Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_post, token_env, write_config
from tests.daemon.processes import start_daemon, wait_ready
from tests.faults.server import FaultServer


def test_sigterm_during_a_trickled_answer_stops_the_daemon_at_the_deadline(
        tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'siar.db'}")
    # the server gives up (and completes the answer) only after much longer than the
    # deadline: without one, the daemon would wait for it
    with FaultServer(give_up_after=120) as server:
        server.fault = "trickle"
        config = write_config(tmp_path / "siar.toml", str(engine.url), ["akun-a"], server.url,
                              options={"deadline_seconds": 1.0, "read_timeout": 30.0},
                              poll_interval=0.2)
        post_id = queue_post(engine, "akun-a", utcnow())
        daemon = start_daemon(config, token_env(["akun-a"]))
        try:
            wait_ready(engine, daemon)
            assert server.arrived.wait(30), "the post was never sent"
            daemon.send_signal(signal.SIGTERM)
            # a guard against hanging, not a measurement: the deadline is 1 s
            assert daemon.wait(timeout=60) == 0, daemon.stderr.read().decode()  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            raise AssertionError("SIGTERM did not stop the daemon: the request never "
                                 "ended") from None
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    with session(engine) as s:
        post = s.scalar(select(Post).where(Post.id == post_id))
        assert post is not None
        assert post.status == Status.UNKNOWN, post.status
        assert "deadline" in (post.last_error or "")
    engine.dispose()
