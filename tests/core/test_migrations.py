"""The schema is managed by Alembic: from empty to head, and back down and up again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from scheduler import db

TABLES = {"release", "post", "attempt", "accountstate", "node"}


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(tmp_path: Path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'siar.db'}")
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.HEAD_REVISION
    assert tables(engine) >= TABLES


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'siar.db'}")
    db.upgrade(engine)
    db.downgrade(engine, "base")
    assert tables(engine) == set()
    db.upgrade(engine)
    assert tables(engine) >= TABLES


def test_the_head_revision_siar_expects_is_alembics_head():
    """``scheduler/revision.py`` names the newest migration without importing Alembic (a
    daemon at head never loads it): it must be the head of ``scheduler/migrations``."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db._alembic_config(db.make_engine("sqlite://")))
    assert script.get_heads() == [db.HEAD_REVISION]


def test_schema_is_applied_on_first_use(tmp_path: Path):
    engine = db.open_database(f"sqlite:///{tmp_path / 'nested' / 'siar.db'}")
    assert db.current_revision(engine) == db.HEAD_REVISION


def test_models_and_migrations_agree(tmp_path: Path):
    """Autogenerate finds nothing to do: no model change lacks its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import scheduler.models  # noqa: F401

    engine = db.make_engine(f"sqlite:///{tmp_path / 'siar.db'}")
    db.upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
