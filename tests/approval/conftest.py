"""The daemon tests' fixtures (a database on SQLite and on PostgreSQL, the counting
network, tokens) for the approval tests."""

from tests.daemon.conftest import db_url, engine, network, sqlite_engine, tokens  # noqa: F401
