"""Starting and watching daemon processes for the multi-daemon and crash tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from scheduler.db import session
from scheduler.models import Post

ROOT = Path(__file__).resolve().parents[2]


def start_daemon(config: Path, env: dict[str, str], *options: str, node: str | None = None
                 ) -> subprocess.Popen[bytes]:
    """``options``: more of run_daemon's, e.g. ``--verbose``."""
    extra = {"SIAR_NODE_NAME": node} if node else {}
    return subprocess.Popen([sys.executable, "-m", "tests.daemon.run_daemon", "--config",
                             str(config), *options], cwd=ROOT, env={**os.environ, **env, **extra},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def count_by_status(engine: Engine) -> dict[str, int]:
    with session(engine) as s:
        return dict(s.execute(select(Post.status, func.count())  # type: ignore[arg-type]
                              .group_by(Post.status)).all())


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_ready(engine: Engine, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until the daemon wrote its first heartbeat (its signal handlers are installed).
    ``timeout``: a safety net, generous for a loaded host (Python's start, the imports)."""
    from scheduler.models import Node

    def ready() -> bool:
        with session(engine) as s:
            return s.scalar(select(func.count()).select_from(Node)
                            .where(Node.pid == process.pid)) == 1

    wait_for(ready, timeout, f"daemon pid {process.pid} to start")


class Output:
    """Reads a daemon's stderr as it is written, so that a daemon that logs much never
    blocks on a full pipe (a log file would do, but not when the test makes the kernel
    refuse the daemon's writes to files)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        self._stream = process.stderr
        self._chunks: list[bytes] = []
        self._written = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._written:
                self._chunks.append(line)
                self._written.notify_all()

    def wait_for(self, text: str, timeout: float = 20) -> bool:
        """Until a line with ``text`` is written; False if none came within ``timeout``."""
        with self._written:
            return self._written.wait_for(
                lambda: any(text.encode() in line for line in self._chunks), timeout)

    def text(self, timeout: float = 10) -> str:
        """Everything written; wait for the end of the stream (the process ended)."""
        self._thread.join(timeout)
        return b"".join(self._chunks).decode(errors="replace")
