"""The one table of transitions (scheduler.states.TRANSITIONS) is what the statements do.

Every statement that writes ``post`` is listed under its operation in
``scheduler.queue.statements``; its ``WHERE`` must accept exactly the operation's
from-states, and the state it sets must be one of the operation's to-states. Outside the
queue package nothing writes ``post.status``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Update

from scheduler.queue import statements
from scheduler.states import (
    ACTIVE,
    CANCELLABLE,
    CLAIMABLE,
    CLAIMABLE_SQL,
    IN_FLIGHT,
    RESCHEDULABLE,
    TRANSITIONS,
    Status,
)

ROOT = Path(__file__).resolve().parents[2]
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
#: ``status IN ('a', 'b')`` or ``status = 'a'``, with or without a table in front
STATUS_SET = re.compile(r"status\s+(?:IN\s*\(([^)]*)\)|=\s*('[a-z_]+'))")


def status_sets(sql_text: str) -> list[set[str]]:
    """Every set of states a piece of SQL compares ``status`` with."""
    return [set(re.findall(r"'([a-z_]+)'", listed or single))
            for listed, single in STATUS_SET.findall(sql_text)]


def sources(operation: str) -> set[str]:
    return {state.value for state in TRANSITIONS[operation].sources}


def written(operation: str) -> list[tuple[str, Any]]:
    return [(operation, statement) for statement in statements.WRITES[operation]]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("operation", "statement"),
                         [pair for op in statements.WRITES for pair in written(op)])
def test_each_statement_accepts_exactly_its_operations_from_states(
        operation: str, statement: Update, dialect: str) -> None:
    where = str(statement.whereclause.compile(dialect=DIALECTS[dialect]))
    found = status_sets(where)
    assert found, f"{operation}: its statement does not guard the status"
    assert all(states == sources(operation) for states in found), (operation, where)


@pytest.mark.parametrize(("operation", "statement"),
                         [pair for op in statements.WRITES for pair in written(op)])
def test_each_statement_sets_one_of_its_operations_to_states(
        operation: str, statement: Update) -> None:
    parameters = statement.compile().params
    targets = {state.value for state in TRANSITIONS[operation].targets}
    if not targets:  # a lease only: the status stays
        assert "status" not in parameters and "b_status" not in parameters
    elif "status" in parameters:
        assert parameters["status"] in targets
    else:  # the caller passes it, checked against the table (statements.target)
        assert "b_status" in parameters


@pytest.mark.parametrize("statement", [statements.go_on_in_one("now()"),
                                       statements.go_on_in_one(":clock"),
                                       statements.go_on_sqlite()],
                         ids=["postgresql now()", "postgresql :clock", "sqlite"])
def test_going_on_in_one_statement_guards_with_the_tables_states(statement: Any) -> None:
    text = str(statement)
    update = text[text.index("UPDATE post"):text.index("RETURNING")]
    where = update[update.index("WHERE"):]
    assert status_sets(where) and all(s == sources("go_on") for s in status_sets(where))
    [set_to] = status_sets(update[:update.index("WHERE")])
    assert set_to == {state.value for state in TRANSITIONS["go_on"].targets}


@pytest.mark.parametrize(("operation", "guard"), statements.BULK_GUARDS.items())
def test_statements_through_bulk_guard_with_the_tables_states(
        operation: str, guard: dict[str, tuple[str, ...]]) -> None:
    assert {value.strip("'") for value in guard["status"]} == sources(operation)


def test_every_operation_that_changes_the_status_has_its_statement() -> None:
    covered = set(statements.WRITES) | set(statements.BULK_GUARDS) | {"go_on"}
    assert covered == set(TRANSITIONS)


def test_an_operation_is_refused_a_state_the_table_does_not_allow() -> None:
    assert statements.target("settle", Status.RETRY) == "retry"
    with pytest.raises(ValueError, match="never leads to"):
        statements.target("settle", Status.CANCELLED)


def test_the_named_sets_agree_with_each_other() -> None:
    assert set(ACTIVE) == set(CLAIMABLE) | set(IN_FLIGHT)
    assert CLAIMABLE_SQL == "status IN ('scheduled', 'retry')"
    # a post in doubt may be on the network: staff settle it, a new time never resends it
    assert Status.UNKNOWN in CANCELLABLE and Status.UNKNOWN not in RESCHEDULABLE
    assert not set(IN_FLIGHT) & (set(CANCELLABLE) | set(RESCHEDULABLE))


#: SQL or ORM that would write ``post.status`` (or any column of ``post``)
WRITES_POST = re.compile(r"update\(\s*(?:Post|POST)\b|\bUPDATE\s+post\b|\bpost\.status\s*=(?!=)",
                         re.IGNORECASE)


def test_the_checks_see_what_they_look_for() -> None:
    assert status_sets("post.status IN ('scheduled', 'retry') AND +post.status = 'paused'"
                       ) == [{"scheduled", "retry"}, {"paused"}]
    assert all(WRITES_POST.search(line) for line in (
        "s.execute(update(Post).values(x=1))", "text('UPDATE post SET status = 1')",
        "post.status = Status.FAILED.value"))
    assert not WRITES_POST.search("if post.status == Status.UNKNOWN.value:")


def test_only_the_queue_writes_a_posts_status() -> None:
    offending = [f"{path.relative_to(ROOT)}:{number}"
                 for path in sorted((ROOT / "scheduler").rglob("*.py"))
                 if "queue" not in path.relative_to(ROOT / "scheduler").parts[:1]
                 and "migrations" not in path.parts
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if WRITES_POST.search(line)]
    assert offending == []
