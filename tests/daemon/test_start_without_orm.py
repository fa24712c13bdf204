"""A restarted daemon's way to its first claim — heartbeat, a dead predecessor on this host
taken over, the accounts' rows, leases taken back, the first claim round — runs on Core
statements (``scheduler/tables.py``) and imports neither SQLAlchemy's ORM, nor SQLModel,
nor the models: they were a third of its CPU before the first post. SQLite and
PostgreSQL, in a fresh process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from sqlalchemy import select
from sqlalchemy.engine import Engine

from scheduler import queue
from scheduler.db import session
from scheduler.models import Node, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_post
from tests.daemon.processes import ROOT

#: the start of Daemon.run up to its first claim round, then what was imported
START = """
import json, sys
from scheduler import queue
from scheduler.daemon.service import Daemon
from scheduler.db import make_engine
from scheduler.settings import AccountSettings, DaemonSettings, Settings

url = sys.argv[1]
settings = Settings(database_url=url, node_name="restarted",
                    accounts=[AccountSettings(name="akun-a", network="counting")],
                    daemon=DaemonSettings(lease_seconds=60))
daemon = Daemon(settings, engine=make_engine(url))
daemon.jobs.heartbeat()
daemon.jobs.take_over_dead_local_daemons()
queue.ensure_accounts(daemon.engine, daemon.concurrency)
daemon.jobs.take_back()
claimed = [c.post_id for c in queue.claim_due(daemon.engine, "restarted", lease=60)]
print(json.dumps({"claimed": claimed, "imported": sorted(
    m for m in ("sqlalchemy.orm", "sqlmodel", "scheduler.models") if m in sys.modules)}))
"""


def test_a_restarted_daemon_reaches_its_first_claim_without_the_orm(engine: Engine) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with session(engine) as s:  # killed with -9 while publishing one post
        s.add(Node(name="killed", host=socket.gethostname(), pid=dead.pid))
    doubtful = queue_post(engine, "akun-a", utcnow())
    [claim] = queue.claim_due(engine, "killed", lease=3600)
    queue.begin_publishing(engine, claim, "killed", lease=3600)
    due = queue_post(engine, "akun-a", utcnow())
    done = subprocess.run([sys.executable, "-c", START, str(engine.url.render_as_string(
        hide_password=False))], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"claimed": [due], "imported": []}
    with session(engine) as s:
        # the dead daemon's post is in doubt (never sent blindly), its node row stopped
        assert s.get(Post, doubtful).status == Status.UNKNOWN  # type: ignore[union-attr]
        assert s.get(Node, "killed").stopped_at is not None  # type: ignore[union-attr]
        alive = s.get(Node, "restarted")
        assert alive is not None and alive.stopped_at is None
        assert s.scalar(select(Post.status).where(Post.id == due)) == Status.CLAIMED
