"""A restarted daemon's way to its first claim — the database opened, heartbeat, a dead
predecessor on this host taken over, the accounts' rows, leases taken back, the first claim
round — runs on Core statements (``scheduler/tables.py``) and imports neither SQLAlchemy's
ORM, nor SQLModel, nor the models: they were a third of its CPU before the first post. A
database at head is not handed to Alembic (one read of ``alembic_version``), and on SQLite
the PostgreSQL dialect is not loaded; a database behind head is upgraded as before. SQLite
and PostgreSQL, in a fresh process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from scheduler import db, queue
from scheduler.db import session
from scheduler.errors import ConfigError
from scheduler.models import Node, Post, Status
from scheduler.timeparse import utcnow
from tests.daemon.conftest import queue_post
from tests.daemon.processes import ROOT

#: the start of Daemon.run up to its first claim round, then what was imported
START = """
import json, sys
from scheduler import queue
from scheduler.daemon.service import Daemon
from scheduler.db import open_database
from scheduler.settings import AccountSettings, DaemonSettings, Settings

url = sys.argv[1]
settings = Settings(database_url=url, node_name="restarted",
                    accounts=[AccountSettings(name="akun-a", network="counting")],
                    daemon=DaemonSettings(lease_seconds=60))
daemon = Daemon(settings, engine=open_database(url))
daemon.jobs.heartbeat()
daemon.jobs.take_over_dead_local_daemons()
queue.ensure_accounts(daemon.engine, daemon.concurrency)
daemon.jobs.take_back()
claimed = [c.post_id for c in queue.claim_due(daemon.engine, "restarted", lease=60)]
heavy = ["sqlalchemy.orm", "sqlmodel", "scheduler.models", "alembic"]
if url.startswith("sqlite"):
    heavy.append("sqlalchemy.dialects.postgresql")
print(json.dumps({"claimed": claimed, "imported": sorted(m for m in heavy if m in sys.modules)}))
"""

#: a process opening the database as the daemon does: its revision after, and whether
#: Alembic was imported to get there
OPEN = """
import json, sys
from scheduler import db

engine = db.open_database(sys.argv[1])
print(json.dumps({"revision": db.current_revision(engine), "alembic": "alembic" in sys.modules}))
"""


def run_python(script: str, engine: Engine) -> dict[str, object]:
    """``script`` in a fresh interpreter given the database's URL; its last line, as JSON."""
    done = subprocess.run([sys.executable, "-c", script, str(engine.url.render_as_string(
        hide_password=False))], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_restarted_daemon_reaches_its_first_claim_without_the_orm(engine: Engine) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with session(engine) as s:  # killed with -9 while publishing one post
        s.add(Node(name="killed", host=socket.gethostname(), pid=dead.pid))
    doubtful = queue_post(engine, "akun-a", utcnow())
    [claim] = queue.claim_due(engine, "killed", lease=3600)
    queue.begin_publishing(engine, claim, "killed", lease=3600)
    due = queue_post(engine, "akun-a", utcnow())
    report = run_python(START, engine)
    assert report == {"claimed": [due], "imported": []}
    with session(engine) as s:
        # the dead daemon's post is in doubt (never sent blindly), its node row stopped
        assert s.get(Post, doubtful).status == Status.UNKNOWN  # type: ignore[union-attr]
        assert s.get(Node, "killed").stopped_at is not None  # type: ignore[union-attr]
        alive = s.get(Node, "restarted")
        assert alive is not None and alive.stopped_at is None
        assert s.scalar(select(Post.status).where(Post.id == due)) == Status.CLAIMED


def test_a_database_behind_head_is_upgraded_when_the_daemon_opens_it(engine: Engine) -> None:
    db.downgrade(engine, "0008")  # as an older Siar left it
    assert db.current_revision(engine) == "0008"
    assert run_python(OPEN, engine) == {"revision": db.HEAD_REVISION, "alembic": True}
    # at head now: the next start only reads the revision
    assert run_python(OPEN, engine) == {"revision": db.HEAD_REVISION, "alembic": False}


def test_a_database_of_a_newer_siar_is_refused_and_left_as_it_is(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigError, match="revision 9999, which this Siar does not know"):
        db.ensure_schema(engine)
    assert db.current_revision(engine) == "9999"


def test_a_revision_siar_does_not_know_is_named_with_the_ones_it_does(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="revision 0042") as raised:
        db.upgrade(engine, "0042")
    assert raised.value.hint is not None and db.HEAD_REVISION in raised.value.hint
    assert db.current_revision(engine) == db.HEAD_REVISION


def test_a_database_without_a_schema_has_no_revision_and_gets_every_table(
        engine: Engine) -> None:
    db.downgrade(engine, "base")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # as an empty database
    assert db.current_revision(engine) is None
    db.ensure_schema(engine)
    assert db.current_revision(engine) == db.HEAD_REVISION
