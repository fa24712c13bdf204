"""When a queued release goes out: always a time someone asked for, never a silent "now"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from tests.core.conftest import row_counts

UNTIMED = "---\ntitle: Kunjungan Kakanwil\nchannels: [console]\n---\nIsi rilis.\n"


def test_a_release_without_a_time_is_refused_and_nothing_is_written(workspace: Path, siar):
    (workspace / "tanpa-waktu.md").write_text(UNTIMED, encoding="utf-8")
    before = row_counts(workspace)
    result = siar("add", "tanpa-waktu.md")
    message = " ".join(result.err.split())
    assert result.code == 1 and "tanpa-waktu.md" in message and "no time given" in message
    assert all(fix in message for fix in ("at: besok 09.00", "--at", "--next-slot", "--now"))
    assert row_counts(workspace) == before


def test_now_must_be_asked_for(workspace: Path, siar):
    (workspace / "tanpa-waktu.md").write_text(UNTIMED, encoding="utf-8")
    added = siar("add", "tanpa-waktu.md", "--now", "--json")
    assert added.code == 0, added.err
    due = datetime.fromisoformat(json.loads(added.out)["due_at"])
    assert abs((due - datetime.now(UTC)).total_seconds()) < 3600


def test_one_way_of_saying_when_at_a_time(workspace: Path, siar):
    result = siar("add", "rilis.md", "--now", "--at", "besok 09.00")
    assert result.code == 1 and "one of --at, --next-slot and --now" in result.err


def test_a_deployment_may_choose_the_next_posting_slot_as_its_default(workspace: Path, siar):
    config = workspace / "siar.toml"
    config.write_text('default_when = "next-slot"\n' + config.read_text().replace(
        'name = "console"\nnetwork = "console"',
        'name = "console"\nnetwork = "console"\nslots = "Fri 07:30"'), encoding="utf-8")
    (workspace / "tanpa-waktu.md").write_text(UNTIMED, encoding="utf-8")
    added = siar("add", "tanpa-waktu.md", "--json")
    assert added.code == 0, added.err
    due = datetime.fromisoformat(json.loads(added.out)["due_at"])
    assert (due.weekday(), due.hour, due.minute) == (4, 7, 30)


def test_a_recurring_release_without_a_time_starts_at_its_first_occurrence(workspace: Path,
                                                                           siar):
    (workspace / "mingguan.md").write_text(
        '---\ntitle: Jumat Berkah\nchannels: [console]\nrepeat: "30 7 * * FRI"\n---\nIsi.\n',
        encoding="utf-8")
    added = siar("add", "mingguan.md", "--json")
    assert added.code == 0, added.err
    due = datetime.fromisoformat(json.loads(added.out)["due_at"])
    assert (due.weekday(), due.hour, due.minute) == (4, 7, 30)
    assert due.utcoffset().total_seconds() == 7 * 3600  # in WIB, the release's zone


def test_show_names_the_rule_of_a_recurring_release_and_its_next_three_times(workspace: Path,
                                                                             siar):
    (workspace / "mingguan.md").write_text(
        '---\ntitle: Jumat Berkah\nchannels: [console]\nrepeat: "30 7 * * FRI"\n---\nIsi.\n',
        encoding="utf-8")
    assert siar("add", "mingguan.md").code == 0
    shown = siar("show", "1")
    assert "repeats 30 7 * * FRI" in shown.out and shown.out.count("07:30 WIB") >= 4
    data = json.loads(siar("show", "1", "--json").out)
    assert data["repeat"] == "30 7 * * FRI"
    fridays = [datetime.fromisoformat(t) for t in data["next_occurrences"]]
    assert len(fridays) == 3 and all((t.weekday(), t.hour) == (4, 7) for t in fridays)
    assert [(b - a).days for a, b in pairwise(fridays)] == [7, 7]
