"""``siar daemon`` starts importing the HTTP stack (scheduler.daemon.warmup) before it opens
its database, and the daemon does not start a second warm-up: the thread imports while the
main thread waits for the first connection (on PostgreSQL a server process is started for
it) and for the schema's revision, a wait that was otherwise lost. SQLite and PostgreSQL,
in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.daemon.conftest import write_config
from tests.daemon.processes import ROOT

#: ``siar daemon --once``, saying in order when a warm-up began and the database was opened
ORDER = """
import json, sys
from scheduler import db
from scheduler.daemon import warmup

order = []
import_http_stack, open_database = warmup.import_http_stack, db.open_database

def warming(networks):
    order.append("warm-up")
    return import_http_stack(networks)

def opening(url):
    order.append("database opened")
    return open_database(url)

warmup.import_http_stack, db.open_database = warming, opening
from scheduler.cli import main

sys.argv = ["siar", "--config", sys.argv[1], "daemon", "--once"]
try:
    main()
except SystemExit as stop:
    assert not stop.code, stop.code
print(json.dumps(order))
"""


def test_siar_daemon_starts_the_warm_up_before_it_opens_the_database(
        db_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "siar.toml", db_url, ["akun-a"], "http://127.0.0.1:9")
    done = subprocess.run([sys.executable, "-c", ORDER, str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["warm-up", "database opened"]
