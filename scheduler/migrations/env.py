"""Alembic environment: runs against the engine Siar hands over (see scheduler.db).

The whole upgrade is one transaction that first takes the database's writer lock, so that
processes starting together on a new database (a daemon and ``siar add``) set it up once:
the others wait, then find the schema at head and do nothing. On SQLite, Siar's engines
begin every transaction with ``BEGIN IMMEDIATE`` (the writer lock); on PostgreSQL an
advisory lock held until the commit serialises them."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import scheduler.models  # noqa: F401  (registers the tables on SQLModel.metadata)

#: PostgreSQL advisory lock key of schema changes ("SIAR" in ASCII)
SCHEMA_LOCK = 0x53494152

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: build one from the ini URL
    from scheduler.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():  # inside ours: Alembic leaves the commit to it
        context.run_migrations()
