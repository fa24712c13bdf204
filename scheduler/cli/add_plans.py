"""Reading and planning the files of one ``siar add``: on every core when there are many.

A content calendar of thousands of files is read, composed and checked file by file, each
on its own; on a machine with several cores the files are split into consecutive parts,
the first planned here and the others in forked processes at the same time. The plans come
back in the files' order, and so does the first error: a file that cannot be queued stops
the command before anything is stored, whichever part it is in. Below
:data:`PARALLEL_FROM` files, or off Linux (where forking is unsafe or missing), everything
is planned here.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from scheduler.errors import SiarError
from scheduler.intake import Intake, Plan

#: fewer files are planned in this process: forking and sending plans back cost more
#: than a second core gives them
PARALLEL_FROM = 1_000
#: at most this many processes plan at once
MOST_PROCESSES = 4

# What forked processes plan with: set before the fork, so nothing of it is pickled
_JOB: tuple[Callable[[str], Any], Intake, dict[str, Any]] | None = None


def plan_sources(sources: Sequence[str], read: Callable[[str], Any], planner: Intake,
                 **options: Any) -> list[Plan]:
    """``planner.plan(read(source), **options)`` for every source, in their order; the
    first source that cannot be planned raises its error."""
    processes = _processes(sources)
    if processes == 1:
        return [planner.plan(read(source), **options) for source in sources]
    size = -(-len(sources) // processes)
    parts = [list(sources[i:i + size]) for i in range(0, len(sources), size)]
    global _JOB
    _JOB = (read, planner, options)
    try:
        with multiprocessing.get_context("fork").Pool(len(parts) - 1) as pool:
            later = [pool.apply_async(_plan_part, (part,)) for part in parts[1:]]
            plans = [planner.plan(read(source), **options) for source in parts[0]]
            named = {account.name: account for account in planner.settings.accounts}
            for result in later:
                plans += _received(result.get(), named)
    finally:
        _JOB = None
    return plans


def _processes(sources: Sequence[str]) -> int:
    # fork only on Linux: macOS libraries may not survive it, Windows has none
    if len(sources) < PARALLEL_FROM or "-" in sources or not sys.platform.startswith("linux"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return max(1, min(cores, MOST_PROCESSES, len(sources) // (PARALLEL_FROM // 2)))


def _plan_part(sources: list[str]) -> tuple[str, Any]:
    """In a forked process: the part's plans, with account names for the accounts (the
    settings are the same on both sides), or the first error as text."""
    assert _JOB is not None
    read, planner, options = _JOB
    sent = []
    try:
        for source in sources:
            plan = planner.plan(read(source), **options)
            sent.append((plan.doc, [a.name for a in plan.accounts], plan.variants,
                         plan.due_at, plan.zone, plan.notes))
    except SiarError as exc:
        return "error", (exc.message, exc.hint)
    except Exception:  # a bug: its traceback, for the command to show
        return "bug", traceback.format_exc()
    return "plans", sent


def _received(result: tuple[str, Any], named: dict[str, Any]) -> list[Plan]:
    kind, value = result
    if kind == "error":
        message, hint = value
        raise SiarError(message, hint=hint)
    if kind == "bug":
        raise RuntimeError(f"planning in another process failed:\n{value}")
    return [Plan(doc=doc, accounts=[named[name] for name in names], variants=variants,
                 due_at=due_at, zone=zone, notes=notes)
            for doc, names, variants, due_at, zone, notes in value]
