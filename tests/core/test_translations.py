"""Siar speaks Bahasa Indonesia: every message in the code has its Indonesian, the compiled
catalog is the one the sources say, and what officers read comes out in Indonesian."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "channels" / "locale" / "id" / "LC_MESSAGES" / "siar.po"
#: where messages are written (one catalog for both)
PACKAGES = ("scheduler", "channels")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
#: as babel.cfg says (``make messages``): the CLI's command docstrings are messages too
METHODS = [("cli/**.py", "scheduler.cli.helptext:extract"), ("**.py", "python"),
           ("web/templates/**.html", "jinja2")]


def _catalog():
    with CATALOG.open("rb") as f:
        return read_po(f, locale="id")


def _ids(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_every_message_in_the_code_has_its_indonesian() -> None:
    in_code = {m[2] if isinstance(m[2], str) else m[2][0]
               for package in PACKAGES
               for m in extract_from_dir(ROOT / package, method_map=METHODS, keywords=KEYWORDS)}
    translated = {_ids(m): m for m in _catalog() if m.id}
    missing = sorted(i for i in in_code if i not in translated
                     or not translated[i].string or translated[i].fuzzy)
    assert not missing, f"translate these in {CATALOG} ('make messages'): {missing}"


def test_translations_keep_every_placeholder() -> None:
    for message in _catalog():
        if not message.id or not message.string:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set(re.findall(r"\{\w*\}", ids[0]))
        for text in strings:
            assert set(re.findall(r"\{\w*\}", text)) == wanted, (ids[0], text)


def test_the_compiled_catalog_is_the_one_the_sources_say() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    assert compiled.getvalue() == CATALOG.with_suffix(".mo").read_bytes(), (
        "run 'make messages' (or pybabel compile) and commit siar.mo")


def test_times_are_shown_as_officers_write_them_and_read_back(monkeypatch) -> None:
    from datetime import UTC, datetime

    from scheduler.timeparse import parse_when, show

    moment = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    monkeypatch.setenv("SIAR_LANG", "id")
    shown = show(moment, "Asia/Jakarta")
    assert shown == "Senin, 7 Des 2026 09.00 WIB"
    assert parse_when(shown, default_zone="Asia/Jakarta",
                      now=datetime(2026, 12, 1, tzinfo=UTC))[0] == moment
    monkeypatch.setenv("SIAR_LANG", "en")
    assert show(moment, "Asia/Jakarta") == "2026-12-07 09:00 WIB"


@pytest.mark.parametrize(("lang", "says"), [
    ("id", ["daemon aktif: 0", "antrean: terjadwal 4", "terlambat: tidak ada"]),
    ("en", ["daemons alive: 0", "queue: scheduled 4", "overdue: none"]),
])
def test_status_speaks_the_officers_language(workspace: Path, siar, monkeypatch, lang: str,
                                             says: list[str]) -> None:
    assert siar("add", "rilis.md").code == 0
    monkeypatch.setenv("SIAR_LANG", lang)
    out = " ".join(siar("status").out.split())
    assert all(text in out for text in says), out
    # --json is for scripts: the same keys and values in every language
    assert json.loads(siar("status", "--json").out)["queue"]["scheduled"] == 4


def test_a_rehearsal_says_what_it_did_in_indonesian(workspace: Path, siar,
                                                     monkeypatch) -> None:
    assert siar("add", "rilis.md", "--now").code == 0
    monkeypatch.setenv("SIAR_LANG", "id")
    out = " ".join(siar("daemon", "--dry-run", "--once").out.split())
    assert "gladi" in out and "berhenti: 4 unggahan digladikan" in out


def test_queue_show_and_history_speak_indonesian(workspace: Path, siar, monkeypatch) -> None:
    assert siar("add", "rilis.md", "--now", "--channels", "console").code == 0
    monkeypatch.setenv("SIAR_LANG", "id")
    queue = " ".join(siar("queue").out.split())
    assert "jadwal" in queue and "terjadwal" in queue and "judul" in queue
    assert siar("daemon", "--once").code == 0
    shown = " ".join(siar("show", "1").out.split())
    assert "terbit" in shown and "percobaan" in shown and "hasil" in shown
    history = " ".join(siar("history").out.split())
    assert "waktu" in history and "terbit" in history
    # what scripts read stays as stored
    assert json.loads(siar("history", "--json").out)[0]["outcome"] == "published"


def test_add_says_what_it_queued_in_indonesian(workspace: Path, siar, monkeypatch) -> None:
    monkeypatch.setenv("SIAR_LANG", "id")
    out = " ".join(siar("add", "rilis.md").out.split())
    assert "rilis 1 “Rakor Humas Pemasyarakatan” masuk antrean untuk Kamis, 24 Sep 2099" in out
    assert "di 4 akun" in out


def test_accounts_cancel_and_reschedule_speak_indonesian(workspace: Path, siar,
                                                         monkeypatch) -> None:
    assert siar("add", "rilis.md").code == 0
    monkeypatch.setenv("SIAR_LANG", "id")
    listing = " ".join(siar("accounts").out.split())
    assert "akun" in listing and "belum diisi: SIAR_SECRET_X_LAPAS" in listing
    moved = " ".join(siar("reschedule", "1", "--at", "2099-10-01 09.00").out.split())
    assert "4 unggahan dari rilis 1 dijadwal ulang ke Kamis, 1 Okt 2099 09.00 WIB" in moved
    cancelled = " ".join(siar("cancel", "1").out.split())
    assert "4 unggahan dari rilis 1 dibatalkan" in cancelled
    again = " ".join(siar("cancel", "1").err.split())
    assert "tidak ada lagi yang bisa dibatalkan" in again


def test_staff_alerts_are_written_in_indonesian(monkeypatch) -> None:
    from datetime import UTC, datetime

    from scheduler import notify
    from scheduler.models import Post, Release

    due = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    release = Release(id=5, title="Rakor Humas", body="Isi", zone="Asia/Jakarta", due_at=due)
    post = Post(id=9, release_id=5, account="x-lapas", network="x", variant={}, due_at=due,
                not_before=due, publish_key="k", attempt=1, status="unknown")
    monkeypatch.setenv("SIAR_LANG", "id")
    message = notify.in_doubt(post, release)
    assert message.subject == "Siar: apakah rilis 5 sudah ada di x-lapas? Mohon dicek"
    assert "jadwal Senin, 7 Des 2026 09.00 WIB" in message.body
    assert "perbaikan: periksa x-lapas; lalu 'siar resolve 5/x-lapas --published URL'" in (
        message.body)
    assert message.key == "unknown:9:1"  # the same alert whatever the language


def test_a_time_that_cannot_be_read_is_explained_in_indonesian(workspace: Path, siar,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("SIAR_LANG", "id")
    result = siar("add", "rilis.md", "--at", "Senin, 10 Desember 2026 pukul 10.00 WIB")
    message = " ".join(result.err.split())
    assert result.code == 1
    assert message.startswith("galat: --at: 'Senin, 10 Desember 2026 pukul 10.00 WIB': "
                              "2026-12-10 jatuh pada hari Kamis, bukan Senin")
    monkeypatch.setenv("SIAR_LANG", "en")
    assert "error: --at:" in " ".join(siar("add", "rilis.md", "--at", "kemarin").err.split())


def test_no_message_hides_inside_an_f_string() -> None:
    # Babel's extractor does not look inside f-strings: such a message would never be
    # translated, and the completeness test above would not see it
    hidden = [f"{path.relative_to(ROOT)}:{number}" for package in PACKAGES
              for path in (ROOT / package).rglob("*.py")
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"\{_\(", line)]
    assert not hidden, f"write the message outside the f-string: {hidden}"


def test_no_module_that_translates_rebinds_the_underscore() -> None:
    """``text, _ = ...`` in a module that imports ``_`` turns the next message into a crash
    (or into the value just unpacked), only in the language that reaches that line."""
    import ast

    rebound = []
    for path in sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = any(isinstance(n, ast.ImportFrom)
                      and n.module in {"scheduler.i18n", "channels.i18n"}
                      and any(a.name == "_" for a in n.names) for n in ast.walk(tree))
        if not imports:
            continue
        for node in ast.walk(tree):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.For | ast.comprehension)
                       else [])
            for target in targets:
                names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
                if "_" in names:
                    rebound.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}")
    assert not rebound, f"name the unused value otherwise (e.g. _rest): {rebound}"
