"""The schema revision this Siar expects, importable without SQLAlchemy or Alembic.

The read commands compare it with the database's ``alembic_version`` before anything heavy
is imported (:mod:`scheduler.reads`); :mod:`scheduler.db` brings an older database up to it.
"""

from __future__ import annotations

#: the newest migration (scheduler/migrations/versions)
HEAD_REVISION = "0009"
