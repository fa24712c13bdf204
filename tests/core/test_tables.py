"""The Core tables of the daemon's statements (``scheduler/tables.py``) are the models'
tables column for column, and their time type stores and reads every time as SQLModel's
does (``tests/daemon/test_start_without_orm.py``: what they are for)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.sql.sqltypes import UTCDateTime as SQLModelTime

from scheduler import models, tables
from scheduler.tables import UTCDateTime

PAIRS = [(tables.POST, models.Post), (tables.ATTEMPT, models.Attempt),
         (tables.ACCOUNT_STATE, models.AccountState), (tables.NODE, models.Node),
         (tables.RELEASE, models.Release), (tables.AUDIT_LOG, models.AuditEntry)]
DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("core", "model"), PAIRS, ids=lambda t: getattr(t, "name", ""))
def test_each_core_table_has_its_models_columns(core: object, model: type) -> None:
    declared = model.__table__  # type: ignore[attr-defined]
    assert core.name == declared.name  # type: ignore[attr-defined]
    assert list(core.c.keys()) == list(declared.c.keys())  # type: ignore[attr-defined]
    for column in declared.c:
        ours = core.c[column.name]  # type: ignore[attr-defined]
        assert (ours.nullable, ours.primary_key) == (column.nullable, column.primary_key), \
            column.name
        assert isinstance(ours.type, UTCDateTime) == isinstance(column.type, SQLModelTime), \
            column.name
        for dialect in DIALECTS:  # the type as the database sees it
            assert ours.type.compile(dialect=dialect) == column.type.compile(dialect=dialect), \
                (column.name, dialect.name)


aware = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=7)),
                                                timezone(timedelta(hours=-9, minutes=-30))]))


@given(aware)
def test_a_time_is_stored_and_read_as_sqlmodel_does(moment: datetime) -> None:
    ours, theirs = UTCDateTime(), SQLModelTime()
    for dialect in DIALECTS:
        stored = ours.process_bind_param(moment, dialect)
        assert stored == theirs.process_bind_param(moment, dialect)
        assert stored is not None and stored.utcoffset() == timedelta(0)
        naive = stored.replace(tzinfo=None)  # as SQLite gives it back
        assert ours.process_result_value(naive, dialect) == \
            theirs.process_result_value(naive, dialect) == moment
        assert ours.process_result_value(moment, dialect) == \
            theirs.process_result_value(moment, dialect)


def test_a_naive_time_is_refused_as_sqlmodel_refuses_it() -> None:
    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 12, 7, 10), sqlite.dialect())
    assert UTCDateTime().process_bind_param(None, sqlite.dialect()) is None

