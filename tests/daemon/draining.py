"""Running a daemon in this process until it has nothing left to send."""

from __future__ import annotations

import threading

from scheduler.daemon.service import Daemon


def run_until_drained(daemon: Daemon, timeout: float = 60.0) -> None:
    """Run the daemon until nothing is left to send; fail (and stop it) if it spins on."""
    thread = threading.Thread(target=daemon.run, kwargs={"until_drained": True}, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        daemon.stop()
        thread.join(30)
        raise AssertionError(f"the daemon was still busy after {timeout} s")
