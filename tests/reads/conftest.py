"""Fixtures for the read side: one database on each backend holding a known set of rows.

The rows are written through the models (SQLAlchemy, as Siar's writes are) with times given
in several zones, NULLs, JSON with non-ASCII text; the named reads must give back the same
Python values from SQLite and from PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from scheduler.db import make_engine, open_database, session
from scheduler.models import AccountState, Alert, Attempt, AuditEntry, Node, Post, Release
from scheduler.reads import Reader, connect
from tests.conftest import drop_postgres_database, new_postgres_database

WITA = timezone(timedelta(hours=8))
#: every row's times are fixed, but for the daemons' heartbeats and the alerts (relative
#: to now, as status compares them with now)
NOW = datetime.now(UTC).replace(microsecond=123456)


def fill(engine: Engine) -> None:
    """The known rows (ids 1, 2, … on a fresh database)."""
    first_due = datetime(2026, 11, 10, 10, 0, tzinfo=WITA)  # 02:00 UTC
    second_due = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    with session(engine) as s:
        s.add(Release(title="Rakor: Kami Siap", body="Isi", source="rilis.md",
                      zone="Asia/Makassar", due_at=first_due, hashtags=["Pemasyarakatan"],
                      images=[], mentions=[], created_at=first_due - timedelta(days=1)))
        s.add(Release(title="Kunjungan “Kanwil”", body="Isi dua", source="dua.md",
                      zone="Asia/Jakarta", due_at=second_due, hashtags=[],
                      link="https://lapas.example/berita", images=[{"path": "a.jpg"}],
                      mentions=["@ditjenpas"], summary="Ringkas", repeat="0 9 * * 1",
                      created_at=second_due - timedelta(days=1)))
        s.flush()
        posts = [
            ("x-lapas", "x", 1, "published", first_due, "https://x.example/1", None),
            ("mastodon-lapas", "mastodon", 1, "unknown", first_due, None, "timeout: é"),
            ("x-lapas", "x", 2, "scheduled", second_due, None, None),
            ("telegram-lapas", "telegram", 2, "retry", second_due, None, "429"),
            ("mastodon-lapas", "mastodon", 2, "cancelled", second_due, None, None),
            ("web-lapas", "wordpress", 1, "published", first_due, "dry-run://web", None),
            ("bsky-lapas", "bluesky", 1, "missed", first_due, None, "daemon down"),
            ("console", "console", 2, "retry", second_due, None, None),  # no account state
        ]
        for index, (account, network, release, status, due, url, error) in enumerate(posts):
            s.add(Post(release_id=release, account=account, network=network,
                       variant={"account": account, "text": "Kegiatan ✓", "n": index},
                       status=status, due_at=due, not_before=due + timedelta(minutes=index),
                       attempt=1 if status != "scheduled" else 0,
                       publish_key=f"key-{index}", progress={"parts": [index]},
                       remote_url=url, remote_id="r1" if url else None, last_error=error,
                       link_from="web-lapas" if index == 3 else None,
                       created_at=first_due, updated_at=first_due + timedelta(seconds=index)))
        s.flush()
        s.add(Attempt(post_id=1, attempt=1, node="n1", started_at=first_due,
                      finished_at=datetime(2026, 11, 10, 2, 0, 1, 500, tzinfo=UTC),
                      outcome="published", http_status=200, remote_id="r1",
                      remote_url="https://x.example/1", detail={"ms": 12}))
        s.add(Attempt(post_id=2, attempt=1, node="n1", started_at=first_due, outcome="in_doubt",
                      error="timeout: é"))
        s.add(Attempt(post_id=6, attempt=1, node="n1", started_at=first_due,
                      finished_at=first_due, outcome="dry_run", remote_url="dry-run://web",
                      detail={"dry_run_requests": [{"method": "POST", "url": "https://w"}]}))
        s.add(AccountState(account="telegram-lapas", paused=True, paused_reason="401 token",
                           updated_at=first_due))
        s.add(AccountState(account="x-lapas", rate_limited_until=NOW + timedelta(hours=1),
                           updated_at=first_due))
        s.add(AccountState(account="mastodon-lapas", updated_at=first_due))
        s.add(Node(name="n1", host="h", pid=10, started_at=NOW, heartbeat_at=NOW))
        s.add(Node(name="n2", host="h", pid=11, started_at=NOW, heartbeat_at=NOW,
                   stopped_at=NOW))
        s.add(Alert(key="unknown:2:1", kind="unknown", subject="Ragu", message="m",
                    created_at=NOW - timedelta(hours=1), attempts=2, last_error="smtp: down",
                    next_try_at=NOW + timedelta(minutes=5), deliveries={"mail": "Failed"}))
        s.add(Alert(key="auth:x", kind="auth", subject="Token", message="m",
                    created_at=NOW - timedelta(hours=2), sent_at=NOW, attempts=1))
        s.add(Alert(key="old", kind="auth", subject="Lama", message="m",
                    created_at=NOW - timedelta(days=8), attempts=1, last_error="gone"))
        s.add(AuditEntry(at=first_due, actor="budi", action="queue", release_id=1,
                         accounts=["x-lapas"], detail={}))
        s.add(AuditEntry(at=second_due, actor="sari", action="cancel", release_id=2,
                         accounts=["mastodon-lapas"], detail={"komentar": "ganda ✓"}))


def _url(backend: str, folder: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'siar.db'}"
        open_database(url).dispose()
        return url
    url = new_postgres_database(request.getfixturevalue("postgres_url"))
    request.addfinalizer(lambda: drop_postgres_database(request.getfixturevalue("postgres_url"),
                                                        url))
    return url


# Module-scoped: the read tests only read, so one filled database per backend serves every
# test of a module (filling one costs far more than any read).
@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def filled_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database at head holding the known rows, on SQLite and on PostgreSQL."""
    url = _url(request.param, tmp_path_factory.mktemp("filled"), request)
    engine = make_engine(url)
    fill(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["reader", "engine"])
def source(request: pytest.FixtureRequest, filled_url: str) -> Iterator[Reader | Engine]:
    """What the read functions are given: a reader opened without SQLAlchemy (the read
    commands), or an engine (the daemon, the desk)."""
    if request.param == "reader":
        reader = connect(filled_url)
        assert reader is not None
        yield reader
        reader.close()
    else:
        engine = make_engine(filled_url)
        yield engine
        engine.dispose()
