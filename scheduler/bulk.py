"""Many rows written at once: every multi-row write of the queue goes through here.

Two transports, each the faster one for its job (measured, 50,000 posts queued in batches
of 20,000: the driver's own is 2–2.5× faster there; the JSON one is a single statement
for the few rows of the hot path, where the SQL sets columns such as ``now()``):

* :func:`update_from_rows`, :func:`insert_rows`: the rows travel as a single JSON
  parameter that the database unpacks — for the daemon's batches (outcomes, attempt rows);
* :func:`copy_rows`: rows of driver-ready values through ``COPY`` (PostgreSQL) or one
  prepared statement run per row (SQLite) — for queueing thousands of posts.

``executemany`` runs a statement once per row. Under a burst that cost the committer
more than the work itself (measured, docs/architecture.md "Claims and leases"): on
SQLite every row is a step of its own, and each step lets go of the GIL and then waits
behind a hundred worker threads to take it back; on PostgreSQL psycopg sends the rows
through its pipeline, whose Python-side bookkeeping was a sixth of the daemon's time
holding the GIL. Here the database unpacks the rows itself (PostgreSQL
``json_to_recordset``, SQLite ``json_each``), so a batch is one statement, one round trip
and one step whatever its size.

The statements are built per table, columns and database once, then cached. Values are
converted by each column's own type (a time is stored exactly as the ORM stores it), so
rows written here read back like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, DateTime, Table, TextClause, TypeDecorator, text
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.exc import DBAPIError

#: ``json.dumps`` for the rows' JSON texts (a variant, an audit row's accounts and detail):
#: the same text, without the check for containers that hold themselves (rows never do),
#: which was a third of encoding each one, three times per post of a content calendar
json_text = json.JSONEncoder(check_circular=False).encode


def update_from_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                     *, match: Sequence[str], fixed: Mapping[str, str] | None = None,
                     guard: Mapping[str, str | tuple[str, ...] | None] | None = None,
                     returning: Sequence[str] = (),
                     params: Mapping[str, Any] | None = None) -> list[Row[Any]]:
    """``UPDATE table SET … FROM rows WHERE table.<match> = row.<match> AND <guard>``.

    Every row has the same keys: the ``match`` columns and the columns to set to the
    row's value. ``fixed`` sets columns to the same SQL for every row (``NULL``,
    ``now()``, ``:clock`` with ``params``); ``guard`` is what the table's rows must hold
    besides (column → SQL literal, a tuple of them for any of them, None for NULL).
    Returns the ``returning`` columns of the rows changed: which rows matched is the
    caller's fence.
    """
    if not rows:
        return []
    dialect = connection.dialect
    columns = tuple(rows[0])
    statement = _statement(dialect.name, table, columns, tuple(match),
                           tuple(sorted((fixed or {}).items())),
                           tuple(sorted((guard or {}).items())), tuple(returning))
    result = connection.execute(statement, {"bulk_rows": _payload(dialect, table, rows),
                                            **(params or {})})
    return list(result) if returning else []


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                fixed: Mapping[str, str] | None = None,
                params: Mapping[str, Any] | None = None) -> None:
    """``INSERT INTO table SELECT … FROM rows``: every row has the same keys; ``fixed``
    gives more columns the same SQL for every row, as in :func:`update_from_rows`."""
    if not rows:
        return
    columns = tuple(rows[0])
    statement = _insert_statement(connection.dialect.name, table, columns,
                                  tuple(sorted((fixed or {}).items())))
    connection.execute(statement, {"bulk_rows": _payload(connection.dialect, table, rows),
                                   **(params or {})})


def copy_rows(connection: Connection, table: Table, columns: Sequence[str],
              rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert ``rows`` of driver-ready values (in the order of ``columns``) the driver's
    own bulk way, in the connection's transaction: binary ``COPY … FROM STDIN`` on
    PostgreSQL, one prepared statement run for every row on SQLite. ``rows`` may be a
    generator: PostgreSQL stores the first while later ones are still being made. A
    failure raises SQLAlchemy's exception classes, as any statement does."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    names = ", ".join(quote.format_column(table.c[name]) for name in columns)
    driver = connection.connection
    if dialect.name == "postgresql":
        statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN (FORMAT BINARY)"
        # Binary: a third of the client's CPU per row of text COPY, and the server parses
        # no times. JSON columns get their text (json's binary form is its text).
        types = ["text" if isinstance(table.c[name].type, JSON)
                 else table.c[name].type.compile(dialect=dialect).lower() for name in columns]
    else:
        statement = (f"INSERT INTO {quote.format_table(table)} ({names}) "
                     f"VALUES ({', '.join('?' * len(columns))})")
    try:
        if dialect.name == "postgresql":
            with driver.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        else:
            with closing(driver.cursor()) as cursor:
                cursor.executemany(statement, rows)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from exc


def _payload(dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]) -> str:
    columns = tuple(rows[0])
    convert = [_converter(table.c[name].type, dialect) for name in columns]
    return json.dumps([{name: to_json(row[name]) if to_json else row[name]
                        for name, to_json in zip(columns, convert, strict=True)}
                       for row in rows])


def _converter(column_type: Any, dialect: Dialect) -> Any:
    """How a value becomes JSON for a column: a time as the column stores it (SQLite: its
    text form), anything else as it is (a JSON column takes the object itself)."""
    if isinstance(column_type, JSON):
        return None
    stored_as = (column_type.impl_instance if isinstance(column_type, TypeDecorator)
                 else column_type)
    if not isinstance(stored_as, DateTime):
        return None
    process = column_type.dialect_impl(dialect).bind_processor(dialect)

    def to_json(value: Any) -> Any:
        if value is None:
            return None
        stored = process(value) if process else value
        return stored.isoformat() if isinstance(stored, datetime) else stored
    return to_json


@lru_cache(maxsize=64)
def _statement(dialect: str, table: Table, columns: tuple[str, ...], match: tuple[str, ...],
               fixed: tuple[tuple[str, str], ...],
               guard: tuple[tuple[str, str | tuple[str, ...] | None], ...],
               returning: tuple[str, ...]) -> TextClause:
    name = table.name
    settings = [f"{column} = bulk.{column}" for column in columns if column not in match]
    settings += [f"{column} = {sql}" for column, sql in fixed]
    conditions = [f"{name}.{column} = bulk.{column}" for column in match]
    # SQLite would start from an index on a guarded column (every post publishing) and
    # scan the JSON rows for each: "+" keeps it to the rows, then their primary key
    unindexed = "+" if dialect == "sqlite" else ""
    conditions += [f"{unindexed}{name}.{column} {_condition(value)}" for column, value in guard]
    sql = (f"UPDATE {name} SET {', '.join(settings)} "
           f"FROM {_rows(dialect, table, columns)} "
           f"WHERE {' AND '.join(conditions)}")
    if returning:
        sql += " RETURNING " + ", ".join(f"{name}.{column}" for column in returning)
    return text(sql)


def _condition(value: str | tuple[str, ...] | None) -> str:
    if value is None:
        return "IS NULL"
    if isinstance(value, tuple):
        return f"= {value[0]}" if len(value) == 1 else f"IN ({', '.join(value)})"
    return f"= {value}"


@lru_cache(maxsize=16)
def _insert_statement(dialect: str, table: Table, columns: tuple[str, ...],
                      fixed: tuple[tuple[str, str], ...]) -> TextClause:
    names = [*columns, *(column for column, _ in fixed)]
    values = [f"bulk.{column}" for column in columns] + [sql for _, sql in fixed]
    return text(f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} FROM {_rows(dialect, table, columns)}")


def _rows(dialect: str, table: Table, columns: tuple[str, ...]) -> str:
    """The rows of the JSON parameter as a table named ``bulk``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg = postgresql.dialect()
        declared = ", ".join(f"{column} {table.c[column].type.compile(dialect=pg)}"
                             for column in columns)
        return f"json_to_recordset(CAST(:bulk_rows AS json)) AS bulk({declared})"
    # SQLite: ->> gives a number, text or NULL as SQL; -> a JSON column's text
    picked = ", ".join(
        f"value {'->' if isinstance(table.c[column].type, JSON) else '->>'} '{column}' "
        f"AS {column}" for column in columns)
    return f"(SELECT {picked} FROM json_each(:bulk_rows)) AS bulk"
