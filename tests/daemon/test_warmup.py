"""The daemon's start imports the HTTP stack and the accounts' adapters on a thread of its
own (scheduler.daemon.warmup), so that a restart's first send finds them imported."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from scheduler.daemon.warmup import import_http_stack

#: a safety net for waits on events: generous, never a measure of speed
PATIENCE = 60.0


def test_the_http_stack_and_the_adapters_are_imported_on_a_thread_of_their_own() -> None:
    # a fresh interpreter: in the test process these modules are imported already
    script = textwrap.dedent("""
        import sys, threading
        from scheduler.daemon.warmup import import_http_stack
        thread = import_http_stack(["mastodon", "webhook", "mastodon"])
        print(thread is not threading.current_thread(), thread.daemon)
        thread.join()
        print(*(name in sys.modules for name in (
            "requests", "pycurl", "channels.curl", "channels.mastodon", "channels.webhook")))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=PATIENCE, check=True)
    assert done.stdout.split() == ["True"] * 7


def test_a_network_without_an_adapter_leaves_the_warm_up_to_the_others(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="siar.daemon"):
        thread = import_http_stack(["no-such-network", "webhook"])
        thread.join(PATIENCE)
    assert not thread.is_alive()
    messages = [r.getMessage() for r in caplog.records]
    assert any("adapter for no-such-network not imported" in m for m in messages), messages
    assert "warm-up: HTTP stack and 1 adapter(s) imported" in messages
