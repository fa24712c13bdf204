"""Reading and planning the files of one ``siar add``: on every core when there are many.

A content calendar of thousands of files is read, composed and checked file by file, each
on its own; on a machine with several cores the files are cut into consecutive chunks
that this process and forked ones take in turn, the next free chunk first, until none is
left. A process that finishes early (or that a busy host runs more often) takes more
chunks, so no core waits for another's share; this process first does what storing will
need anyway (``meanwhile``: importing the database layer), while the others plan. Each
chunk's plans come back as soon as it is planned, to be unpickled here between chunks
rather than all at the end.

The plans come back in the files' order, and so does the first error: a file that cannot
be queued stops the command before anything is stored, whichever chunk it is in. Below
:data:`PARALLEL_FROM` files, or off Linux (where forking is unsafe or missing),
everything is planned here.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scheduler.errors import SiarError
from scheduler.intake import Intake, Plan

if TYPE_CHECKING:  # imported when files are planned in several processes: most adds are not
    import multiprocessing.pool

#: fewer files are planned in this process: forking and sending plans back cost more
#: than a second core gives them
PARALLEL_FROM = 1_000
#: at most this many processes plan at once
MOST_PROCESSES = 4
#: chunks per process at least, so that an early finisher finds work left ...
CHUNKS_PER_PROCESS = 8
#: ... and files per chunk at most: the last chunk, which another process may wait for,
#: takes a few hundredths of a second; taking one (a lock) and sending it back, far less
MOST_CHUNK_FILES = 200


class _Chunks:
    """Consecutive chunks of the sources, handed out in order to whichever process asks:
    shared memory set up before the fork, so every process sees the same counters."""

    def __init__(self, sources: Sequence[str], count: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.size = -(-len(sources) // count)
        self.count = -(-len(sources) // self.size)
        self.sources = sources
        self._next = context.Value("i", 0)
        # chunks from the first bad one on need no planning: an earlier error wins
        self._stop = context.Value("i", self.count, lock=False)

    def take(self) -> int | None:
        """The next chunk's number, or None when every chunk worth planning is taken."""
        with self._next.get_lock():
            number = self._next.value
            if number >= min(self.count, self._stop.value):
                return None
            self._next.value = number + 1
            return number

    def taken(self) -> int:
        """How many chunks were taken so far (all of them once :meth:`take` said None)."""
        with self._next.get_lock():
            return int(self._next.value)

    def failed(self, number: int) -> None:
        """Chunk ``number`` holds a bad file: later chunks are not planned."""
        with self._next.get_lock():
            self._stop.value = min(self._stop.value, number)

    def part(self, number: int) -> Sequence[str]:
        return self.sources[number * self.size:(number + 1) * self.size]


# What forked processes plan with, and the queue they send each chunk's plans by: set
# before the fork, so nothing of it is pickled
_JOB: tuple[Callable[[str], Any], Intake, dict[str, Any], _Chunks, Any] | None = None


def plan_sources(sources: Sequence[str], read: Callable[[str], Any], planner: Intake, *,
                 meanwhile: Callable[[], object] | None = None,
                 planned: Callable[[list[Plan]], object] | None = None,
                 **options: Any) -> list[Plan]:
    """``planner.plan(read(source), **options)`` for every source, in their order; the
    first source that cannot be planned raises its error. ``meanwhile`` runs here while
    other processes plan, if any do (work the caller would do next anyway, with no effect
    that a bad file should have prevented). ``planned(plans)``, if given, is called here
    while other processes plan, with the plans of the next files in order as soon as they
    are all planned (what the caller can store before the last file is read: in a
    transaction that a later bad file rolls back); the plans returned include them."""
    processes = _processes(sources)
    if processes == 1:
        return [planner.plan(read(source), **options) for source in sources]
    # the first file here, before the fork: what planning imports and caches on first use
    # (the composer, the networks' modules) is then done once, not in every process
    first = planner.plan(read(sources[0]), **options)
    chunks = _Chunks(sources[1:], max(processes * CHUNKS_PER_PROCESS,
                                      -(-len(sources) // MOST_CHUNK_FILES)))
    received = _Received({account.name: account for account in planner.settings.accounts})
    handed = _Handed(first, received, planned)
    with _pool(processes - 1, lambda queue: (read, planner, options, chunks, queue)) \
            as (pool, queue):
        others = [pool.apply_async(_plan_chunks) for _ in range(processes - 1)]
        if meanwhile is not None:
            meanwhile()
        mine = 0
        while (number := chunks.take()) is not None:
            mine += 1
            try:
                received.done[number] = [planner.plan(read(source), **options)
                                         for source in chunks.part(number)]
            except SiarError as exc:
                received.failures[number] = exc
                chunks.failed(number)
                break
            # the others' chunks so far, while they plan on: not all at the end
            received.drain(queue)
            handed.more()
        # every chunk is taken: each of the others' comes back as one message; those
        # handed on one by one while the last are planned
        while handed.planned is not None and received.count < chunks.taken() - mine:
            received.drain(queue, until=received.count + 1)
            handed.more()
        sent = sum(result.get() for result in others)
        received.drain(queue, until=sent)
    if received.failures:
        raise received.failures[min(received.failures)]
    return [first, *(plan for number in range(chunks.count) for plan in received.done[number])]


class _Handed:
    """Hands the plans to ``planned`` in the files' order, chunk after chunk, as soon as
    every chunk before them is planned (the first file's plan first; nothing before the
    fork, so that no database is opened in the processes that plan)."""

    def __init__(self, first: Plan, received: _Received,
                 planned: Callable[[list[Plan]], object] | None) -> None:
        self.received = received
        self.planned = planned
        self.first: list[Plan] = [first]  # handed with the first chunks, after the fork
        self.next = 0  # the next chunk to hand over

    def more(self) -> None:
        """Every chunk planned next in order since the last call, in one list."""
        if self.planned is None:
            return
        done = self.received.done
        ready, self.first = self.first, []
        while self.next in done and not self.received.failures:
            ready += done[self.next]
            self.next += 1
        if ready:
            self.planned(ready)


class _Received:
    """The chunks planned so far, by number, and the failed ones with their error."""

    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named
        self.done: dict[int, list[Plan]] = {}
        self.failures: dict[int, Exception] = {}
        self.count = 0

    def drain(self, queue: Any, *, until: int | None = None) -> None:
        """Take what the other processes sent: what is there, or (``until``) everything
        until that many chunks came from them."""
        from queue import Empty

        while until is None or self.count < until:
            try:
                number, kind, value = queue.get() if until is not None else queue.get_nowait()
            except Empty:
                return
            self.count += 1
            if kind == "plans":
                self.done[number] = [
                    Plan(doc=doc, accounts=[self.named[name] for name in names],
                         variants=variants, due_at=due_at, zone=zone, notes=notes)
                    for doc, names, variants, due_at, zone, notes in value]
            else:
                self.failures[number] = _failure(kind, value)


@contextmanager
def _pool(processes: int, job: Callable[[Any], Any]
          ) -> Iterator[tuple[multiprocessing.pool.Pool, Any]]:
    """Forked workers, and the queue they send results by as they come; ``job(queue)`` is
    what they plan with (set before the fork)."""
    import multiprocessing

    global _JOB
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    _JOB = job(queue)
    try:
        with context.Pool(processes) as pool:
            yield pool, queue
    finally:
        _JOB = None
        queue.close()


def _processes(sources: Sequence[str]) -> int:
    # fork only on Linux: macOS libraries may not survive it, Windows has none
    if len(sources) < PARALLEL_FROM or "-" in sources or not sys.platform.startswith("linux"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return max(1, min(cores, MOST_PROCESSES, len(sources) // (PARALLEL_FROM // 2)))


def _plan_chunks() -> int:
    """In a forked process: chunks taken in turn until none is left, each sent as soon as
    planned with its plans (account names for the accounts: the settings are the same on
    both sides), or the chunk's first error as text. Returns how many chunks it sent."""
    assert _JOB is not None
    read, planner, options, chunks, queue = _JOB
    count = 0
    while (number := chunks.take()) is not None:
        sent = []
        count += 1
        try:
            for source in chunks.part(number):
                plan = planner.plan(read(source), **options)
                sent.append((plan.doc, [a.name for a in plan.accounts], plan.variants,
                             plan.due_at, plan.zone, plan.notes))
        except SiarError as exc:
            queue.put((number, "error", (exc.message, exc.hint)))
        except Exception:  # a bug: its traceback, for the command to show
            queue.put((number, "bug", traceback.format_exc()))
        else:
            queue.put((number, "plans", sent))
            continue
        chunks.failed(number)
        break
    return count


def _failure(kind: str, value: Any) -> Exception:
    if kind == "error":
        message, hint = value
        return SiarError(message, hint=hint)
    return RuntimeError(f"planning in another process failed:\n{value}")
