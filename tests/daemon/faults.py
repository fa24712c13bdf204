"""A COMMIT that fails as the driver reports it when the connection breaks during it: the
test decides, COMMIT by COMMIT, whether it goes through, fails after committing, or fails
instead of committing. SQLAlchemy's dialect ``do_commit`` is the seam (the same on SQLite
and PostgreSQL); nothing of Siar's own is replaced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy.engine import Engine

#: what one COMMIT does: go through, or fail after committing, or fail instead
Verdict = Literal["commit", "fail after committing", "fail"]


@contextmanager
def failing_commits(engine: Engine, verdict: Callable[[], Verdict], *,
                    message: str = "server closed the connection unexpectedly",
                    error: str = "OperationalError") -> Iterator[None]:
    """``error``: the driver's exception (PEP 249 name) a failing COMMIT raises."""
    dialect = engine.dialect
    real = dialect.do_commit

    def commit(dbapi_connection: Any) -> None:
        decided = verdict()
        if decided == "fail":
            dbapi_connection.rollback()
        else:
            real(dbapi_connection)
        if decided != "commit":
            raise getattr(dialect.loaded_dbapi, error)(message)

    dialect.do_commit = commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        dialect.do_commit = real  # type: ignore[method-assign]
