"""Releases come as Markdown with front matter, plain text, Word .docx, or stdin."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler import releases
from scheduler.errors import ReleaseError


def test_markdown_front_matter_is_read_into_a_release(tmp_path: Path):
    (tmp_path / "foto.jpg").write_bytes(b"\xff\xd8\xff")
    file = tmp_path / "rilis.md"
    file.write_text(
        "---\n"
        "title: Rakor Nasional\n"
        "at: 2024-09-24 10:00 WIB\n"
        "channels: [x, mastodon]\n"
        "hashtags: ['#HumasBergerakBersama', Pemasyarakatan]\n"
        "link: https://lapas.example.go.id/rakor\n"
        "images: [{path: foto.jpg, alt: Peserta rakor}]\n"
        "mentions: [ditjenpas]\n"
        "---\n"
        "Isi **rilis**.\n", encoding="utf-8")
    doc = releases.load(file, now=datetime(2024, 1, 1, tzinfo=UTC))
    assert doc.title == "Rakor Nasional"
    assert doc.at == datetime(2024, 9, 24, 3, 0, tzinfo=UTC)
    assert doc.zone == "Asia/Jakarta"
    assert doc.channels == ["x", "mastodon"]
    assert doc.hashtags == ["HumasBergerakBersama", "Pemasyarakatan"]
    assert doc.images[0].path == tmp_path / "foto.jpg" and doc.images[0].alt == "Peserta rakor"
    assert doc.mentions == ["ditjenpas"]
    assert doc.body == "Isi **rilis**."


@pytest.mark.parametrize(("written", "utc_hour", "zone"), [
    ("2024-09-24 10:00 WIB", 3, "Asia/Jakarta"),
    ("2024-09-24 10:00 WITA", 2, "Asia/Makassar"),
    ("2024-09-24 10:00 WIT", 1, "Asia/Jayapura"),
    ("2024-09-24 10:00 Asia/Makassar", 2, "Asia/Makassar"),
    ("2024-09-24T10:00:00+07:00", 3, "Asia/Jakarta"),
    ("2024-09-24 10:00", 3, "Asia/Jakarta"),
])
def test_times_are_read_in_indonesian_zones(tmp_path: Path, written, utc_hour, zone):
    file = tmp_path / "r.md"
    file.write_text(f"---\ntitle: T\nat: '{written}'\n---\nIsi.\n", encoding="utf-8")
    doc = releases.load(file)
    assert doc.at == datetime(2024, 9, 24, utc_hour, 0, tzinfo=UTC)
    assert doc.zone == zone


def test_plain_text_first_line_is_the_title(tmp_path: Path):
    file = tmp_path / "rilis.txt"
    file.write_text("Judul Rilis\nParagraf pertama.\n\nParagraf kedua.\n", encoding="utf-8")
    doc = releases.load(file)
    assert doc.title == "Judul Rilis"
    assert doc.body == "Paragraf pertama.\n\nParagraf kedua."


def test_markdown_heading_may_be_the_title(tmp_path: Path):
    file = tmp_path / "rilis.md"
    file.write_text("# Judul Rilis\n\nIsi.\n", encoding="utf-8")
    assert releases.load(file).title == "Judul Rilis"


def test_stdin_is_a_release_too():
    doc = releases.load("-", stdin_text="---\ntitle: Dari stdin\n---\nIsi.\n")
    assert doc.source == "<stdin>" and doc.title == "Dari stdin"


def test_text_is_normalised_to_nfc(tmp_path: Path):
    file = tmp_path / "r.md"
    file.write_text("---\ntitle: Cafe\u0301\n---\nIsi.\n", encoding="utf-8")
    assert releases.load(file).title == "Café"


def test_word_document_becomes_a_release(tmp_path: Path):
    import docx

    document = docx.Document()
    document.add_paragraph("Lapas Ikuti Rakor Nasional")
    document.add_paragraph("Paragraf pembuka rilis.")
    document.add_heading("Materi", level=2)
    document.add_paragraph("Penulisan siaran pers", style="List Bullet")
    path = tmp_path / "rilis.docx"
    document.save(str(path))
    doc = releases.load(path)
    assert doc.title == "Lapas Ikuti Rakor Nasional"
    assert doc.body == "Paragraf pembuka rilis.\n\n## Materi\n\n- Penulisan siaran pers"


def test_a_corrupt_word_file_names_the_file(tmp_path: Path):
    path = tmp_path / "rusak.docx"
    path.write_bytes(b"not a zip")
    with pytest.raises(ReleaseError, match=r"rusak\.docx.*cannot read the Word file"):
        releases.load(path)


def test_non_utf8_text_is_an_error_with_a_fix(tmp_path: Path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Judul\nSelamat pagi, caf\xe9".encode("latin-1"))
    with pytest.raises(ReleaseError) as info:
        releases.load(path)
    assert "not UTF-8" in str(info.value) and "save the file as UTF-8" in str(info.value)
