"""`siar add` of many files plans them on several cores, and stores exactly what planning
them one by one stores; the first bad file, wherever it is, stops it with nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from scheduler import bulk
from scheduler.cli import add_plans
from tests.core.conftest import row_counts

FILES = 40


@pytest.fixture
def calendar(workspace: Path) -> list[str]:
    names = []
    for number in range(FILES):
        name = f"rilis-{number:03d}.md"
        front = [f"title: Kegiatan {number}", f"at: 2099-10-{1 + number % 28:02d} 09:00 WITA"]
        if number % 3 == 0:
            front += ["hashtags: [Pemasyarakatan]", "link: https://lapas.example.go.id/b"]
        body = ("Humas Lapas melaporkan kegiatan.\n\n**Penting**: hadir semua." if number % 2
                else f"Kegiatan ke-{number} di Lapas berjalan lancar.")
        (workspace / name).write_text("---\n" + "\n".join(front) + "\n---\n" + body + "\n",
                                      encoding="utf-8")
        names.append(name)
    return names


def _rows(workspace: Path, database: str, query: str) -> list[tuple]:
    """The rows of ``query`` in the database the CLI used, each value as text."""
    url = (os.environ["SIAR_DATABASE_URL"] if database == "postgresql"
           else f"sqlite:///{workspace / 'home' / 'siar.db'}")
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(query)).all()
    engine.dispose()
    return [tuple(str(value) for value in row) for row in rows]


def _stored(workspace: Path, database: str) -> list[tuple]:
    """Each release with its posts as stored, in the order queued (ids, keys and times of
    writing left out)."""
    return _rows(workspace, database,
                 "SELECT r.title, r.body, r.source, r.zone, r.due_at, r.hashtags, r.link, "
                 "p.account, p.network, p.variant, p.status, p.due_at, p.not_before "
                 "FROM release r JOIN post p ON p.release_id = r.id ORDER BY r.id, p.account")


def test_planned_on_several_cores_is_stored_as_planned_here(
        workspace: Path, database: str, calendar: list[str], siar,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(add_plans, "PARALLEL_FROM", 10**9)
    assert siar("add", *calendar).code == 0
    alone = _stored(workspace, database)
    monkeypatch.setattr(add_plans, "PARALLEL_FROM", 8)
    together = siar("add", *calendar)
    assert together.code == 0, together.err
    both = _stored(workspace, database)
    assert len(alone) == FILES * 4 and both == alone + alone


def _audited(workspace: Path, database: str) -> list[tuple]:
    """The audit log's rows, in order (ids and times of writing left out)."""
    return _rows(workspace, database,
                 "SELECT actor, action, accounts, detail FROM audit_log ORDER BY id")


def test_a_calendar_is_stored_as_its_files_queued_one_by_one(
        workspace: Path, database: str, calendar: list[str], siar,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk path (Core statements, rows made once) and the one-release path (the
    ORM) store the same releases, posts and audit rows."""
    few = calendar[:6]
    for name in few:
        assert siar("add", name).code == 0
    alone, audited = _stored(workspace, database), _audited(workspace, database)
    monkeypatch.setattr(add_plans, "PARALLEL_FROM", 2)
    together = siar("add", *few)
    assert together.code == 0, together.err
    assert len(alone) == len(few) * 4
    assert _stored(workspace, database) == alone + alone
    assert _audited(workspace, database) == audited + audited


@pytest.mark.parametrize("bad", [[30], [5, 30], [30, 35]])
def test_the_first_bad_file_is_named_and_nothing_is_stored(
        workspace: Path, database: str, calendar: list[str], siar,
        monkeypatch: pytest.MonkeyPatch, bad: list[int]) -> None:
    monkeypatch.setattr(add_plans, "PARALLEL_FROM", 8)
    for number in bad:
        (workspace / calendar[number]).write_text(
            "---\ntitle: Rusak\nat: kemarin sore\n---\nIsi.\n", encoding="utf-8")
    result = siar("add", *calendar)
    assert result.code == 1
    assert calendar[bad[0]] in result.err and "at" in result.err
    assert all(calendar[number] not in result.err for number in bad[1:])
    assert "Traceback" not in result.err
    assert _stored(workspace, database) == [] if database == "postgresql" \
        else row_counts(workspace)["post"] == 0


@given(files=st.integers(min_value=1, max_value=300), chunks=st.integers(1, 40),
       bad=st.one_of(st.none(), st.integers(0, 299)))
def test_chunks_are_handed_out_once_in_order_and_none_after_a_bad_one(
        files: int, chunks: int, bad: int | None) -> None:
    """Whoever takes them, the chunks cover the files once, in order; once a chunk holds
    a bad file, no later chunk is handed out (an earlier error would win anyway)."""
    sources = [f"rilis-{number}.md" for number in range(files)]
    hand_out = add_plans._Chunks(sources, chunks)
    taken: list[str] = []
    while (number := hand_out.take()) is not None:
        part = hand_out.part(number)
        if bad is not None and sources[min(bad, files - 1)] in part:
            hand_out.failed(number)
        taken += part
    if bad is None:
        assert taken == sources
    else:
        last = sources.index(taken[-1])
        assert taken == sources[:last + 1] and last >= min(bad, files - 1)
        assert last < min(bad, files - 1) + hand_out.size


def _plans(names: list[str]) -> list:
    """The plans ``siar add`` makes of these files, in this process."""
    from scheduler import intake
    from scheduler.cli import state
    from scheduler.cli.previewing import read_release

    planner = intake.Intake(state.settings)
    return [planner.plan(read_release(name)) for name in names]


def test_every_plan_is_handed_on_once_in_the_files_order_while_planning(
        workspace: Path, calendar: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What may be stored before the last file is planned is always the next files, in
    order: what is handed on is the head of what is returned, whoever planned it."""
    from scheduler import intake
    from scheduler.cli import state
    from scheduler.cli.previewing import read_release

    monkeypatch.setattr(add_plans, "PARALLEL_FROM", 8)
    state.__init__()
    handed: list[list] = []
    plans = add_plans.plan_sources(calendar, read_release, intake.Intake(state.settings),
                                   planned=handed.append)
    assert [plan.doc.source for plan in plans] == calendar
    assert handed and all(handed)
    given = [plan for batch in handed for plan in batch]
    assert [p.doc.source for p in given] == calendar[:len(given)]


def test_releases_stored_early_are_not_committed_when_a_later_file_is_bad(
        workspace: Path, database: str, calendar: list[str], siar) -> None:
    from scheduler.cli import state
    from scheduler.cli.added import EarlyStore
    from scheduler.errors import SiarError

    assert siar("accounts").code == 0  # the database exists, with its schema
    state.__init__()
    plans = _plans(calendar[:6])
    with pytest.raises(SiarError), EarlyStore(None) as early:
        early(plans[:3])
        early(plans[3:])
        assert len(early.ids) == 6  # stored, in the transaction still open
        raise SiarError("a bad file further on")
    assert _stored(workspace, database) == []


def test_releases_with_photos_and_those_after_them_are_stored_only_at_the_end(
        workspace: Path, database: str, calendar: list[str], siar) -> None:
    """Their photos are copied into the media store once every file is planned, so that a
    bad file leaves no copies; the releases are stored in the files' order all the same."""
    from dataclasses import replace

    from scheduler.cli import state
    from scheduler.cli.added import EarlyStore
    from scheduler.releases import ImageRef

    assert siar("accounts").code == 0
    state.__init__()
    plans = _plans(calendar[:6])
    plans[2] = replace(plans[2], doc=replace(plans[2].doc, images=[ImageRef(workspace / "a.jpg")]))
    with EarlyStore(None) as early:
        early(plans[:2])
        early(plans[2:4])
        early(plans[4:])
        assert len(early.ids) == 2
        ids = early.rest(plans)
    assert ids is not None and len(ids) == 6 and ids == sorted(ids)
    stored = _stored(workspace, database)
    assert [row[2] for row in stored[::4]] == calendar[:6]


def test_nothing_stored_early_leaves_storing_to_the_usual_path(
        workspace: Path, calendar: list[str]) -> None:
    from scheduler.cli import state
    from scheduler.cli.added import EarlyStore

    state.__init__()
    with EarlyStore(None) as early:
        assert early.rest(_plans(calendar[:2])) is None


def _imported_by_add(workspace: Path, calendar: list[str], modules: tuple[str, ...]) -> str:
    """Which of ``modules`` a ``siar add`` of the calendar imported (comma-separated)."""
    import subprocess
    import sys

    from tests.composer.test_preview_stays_light import PROBE

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(modules), "add", *calendar],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr.rsplit("imported:", 1)[1].splitlines()[0]


def test_a_calendar_of_text_releases_is_queued_without_the_media_machinery(
        workspace: Path, calendar: list[str]) -> None:
    """Photos and videos are copied and prepared only for releases that have them: the
    modules that do it are not even imported (the last moments of a long add)."""
    media = ("channels.video", "scheduler.media_prep", "scheduler.video_prep",
             "scheduler.media_store")
    assert _imported_by_add(workspace, calendar, media) == ""


def test_a_calendar_is_stored_without_the_orm(workspace: Path, calendar: list[str],
                                              siar) -> None:
    """Releases, posts and audit rows go in through Core statements: importing the ORM
    and the models cost a third of a second of a long add (a database at the schema's
    head, as deployed: creating one runs the migrations, which use the models)."""
    assert siar("db", "upgrade").code == 0
    assert _imported_by_add(workspace, calendar,
                            ("sqlmodel", "sqlalchemy.orm", "scheduler.models")) == ""


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


@given(value=_json)
def test_the_json_of_bulk_rows_is_the_text_json_dumps_writes(value: object) -> None:
    """Variants and audit rows stored in bulk have the JSON text the ORM path writes."""
    assert bulk.json_text(value) == json.dumps(value)
