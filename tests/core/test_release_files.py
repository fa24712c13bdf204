"""Releases come as Markdown with front matter, plain text, Word .docx, or stdin."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def test_windows_1252_text_is_read_as_such_with_a_note(tmp_path: Path):
    """Notepad's "ANSI" on Indonesian Windows: curly quotes and é are bytes 0x93/0x94/0xE9."""
    path = tmp_path / "ansi.txt"
    path.write_bytes("Judul café\nKepala Lapas: “Selamat pagi”.".encode("cp1252"))
    doc = releases.load(path)
    assert doc.title == "Judul café"
    assert doc.body == "Kepala Lapas: “Selamat pagi”."
    assert any("Windows-1252" in note for note in doc.notes)


def test_utf8_text_is_read_without_a_note(tmp_path: Path):
    path = tmp_path / "utf8.txt"
    path.write_text("Judul café\nIsi “kutip”.", encoding="utf-8")
    assert releases.load(path).notes == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_text_with_a_byte_order_mark_is_decoded(tmp_path: Path, encoding: str):
    path = tmp_path / "bom.txt"
    path.write_bytes("Judul café\nIsi rilis.".encode(encoding))
    doc = releases.load(path)
    assert (doc.title, doc.body, doc.notes) == ("Judul café", "Isi rilis.", [])


def test_utf16_without_a_byte_order_mark_is_refused_never_queued_full_of_nul(tmp_path: Path):
    path = tmp_path / "u16.txt"
    path.write_bytes("Judul\nIsi rilis.".encode("utf-16-le"))
    with pytest.raises(ReleaseError) as info:
        releases.load(path)
    assert "u16.txt" in str(info.value) and "UTF-16" in str(info.value)
    assert "save the file as UTF-8" in str(info.value)


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused(tmp_path: Path):
    path = tmp_path / "aneh.txt"
    path.write_bytes(b"Judul\nIsi \x81\x8d rilis.")  # undefined in Windows-1252
    with pytest.raises(ReleaseError, match=r"aneh\.txt.*not UTF-8.*not Windows-1252"):
        releases.load(path)


@given(st.binary(max_size=300))
def test_no_bytes_ever_become_a_release_with_control_characters(data: bytes):
    try:
        text, _notes = releases.decode(data, "x.txt")
    except ReleaseError:
        return
    assert not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", text)


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(tmp_path: Path):
    path = tmp_path / "besar.md"
    with path.open("wb") as handle:  # sparse: 3 MB that cost nothing to write
        handle.truncate(releases.MAX_RELEASE_BYTES + 1)
    with pytest.raises(ReleaseError, match=r"besar\.md.*larger than 2 MB"):
        releases.load(path)


def test_front_matter_longer_than_64_kb_is_refused_before_yaml_reads_it(tmp_path: Path):
    path = tmp_path / "fm.md"
    path.write_text("---\ntitle: Judul\nsummary: " + "a" * 70_000 + "\n---\nIsi.\n",
                    encoding="utf-8")
    with pytest.raises(ReleaseError, match=r"fm\.md: front matter: longer than 64 KB"):
        releases.load(path)


def test_standard_input_is_held_to_the_same_size_and_encoding_rules():
    with pytest.raises(ReleaseError, match=r"<stdin>.*larger than 2 MB"):
        releases.load("-", stdin_data=b"a" * (releases.MAX_RELEASE_BYTES + 1))
    with pytest.raises(ReleaseError, match=r"<stdin>.*UTF-16"):
        releases.load("-", stdin_data="Judul\nIsi.".encode("utf-16-le"))
    assert releases.load("-", stdin_data="Judul\nIsi café.".encode("cp1252")).body == "Isi café."


def test_a_folder_is_not_a_release(tmp_path: Path):
    (tmp_path / "rilis.md").mkdir()
    with pytest.raises(ReleaseError, match=r"rilis\.md: is a folder"):
        releases.load(tmp_path / "rilis.md")


def test_an_image_larger_than_the_cap_is_refused(tmp_path: Path):
    with (tmp_path / "raksasa.jpg").open("wb") as handle:
        handle.truncate(releases.MAX_IMAGE_BYTES + 1)
    path = tmp_path / "foto.md"
    path.write_text("---\ntitle: Judul\nimages: [raksasa.jpg]\n---\nIsi.\n", encoding="utf-8")
    with pytest.raises(ReleaseError, match=r"foto\.md: images\[0\]\.path: 'raksasa\.jpg' has"):
        releases.load(path)


@pytest.mark.parametrize(("written", "instant"), [
    ("10:00", datetime(2026, 12, 7, 3, 0, tzinfo=UTC)),  # YAML 1.1 would read 600 (base 60)
    ("2026-12-10 10:00:00", datetime(2026, 12, 10, 3, 0, tzinfo=UTC)),  # not a naive stamp
    ("besok 09.00", datetime(2026, 12, 8, 2, 0, tzinfo=UTC)),
])
def test_an_unquoted_time_in_the_front_matter_stays_a_time(tmp_path: Path, written, instant):
    monday_morning = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 WIB
    doc = releases.parse_text(f"---\ntitle: T\nat: {written}\n---\nIsi.\n", source="r.md",
                              base_dir=tmp_path, now=monday_morning)
    assert doc.at == instant


@given(st.lists(st.text(alphabet="ab.x_- ", min_size=1, max_size=6), min_size=1, max_size=3))
def test_a_files_type_is_read_from_its_name_as_pathlib_reads_it(parts: list[str]) -> None:
    from pathlib import PurePath

    from scheduler.releases import _suffix

    path = "/".join(parts)
    if PurePath(path).name != parts[-1]:  # "." or "..": never the name of a regular file
        return
    assert _suffix(path) == PurePath(path).suffix
