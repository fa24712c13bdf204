"""A commit Siar makes is on disk before it returns, on both databases: the ``publishing``
committed before a request leaves must survive a power loss or an OS crash, not only a
crash of the daemon, or the post would be sent again (docs/decisions.md)."""

from __future__ import annotations

from sqlalchemy.engine import Engine


def test_every_commit_waits_for_the_disk(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        else:
            # the test server runs with synchronous_commit=off; Siar's sessions do not
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
