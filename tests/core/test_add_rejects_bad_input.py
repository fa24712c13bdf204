"""`siar add` refuses bad input with exit 1, a message naming file and field, and no writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.conftest import RELEASE, row_counts


def write(workspace: Path, name: str, text: str) -> str:
    (workspace / name).write_text(text, encoding="utf-8")
    return name


CASES = {
    "broken YAML": (
        "---\ntitle: [unclosed\nat: 2099-01-01 10:00 WIB\n---\nIsi rilis.\n",
        ["bad.md", "front matter (line", "invalid YAML"]),
    "unknown key": (
        "---\ntitle: Judul\nauthor: Humas\n---\nIsi rilis.\n",
        ["bad.md", "author", "unknown key", "allowed keys"]),
    "unknown channel": (
        "---\ntitle: Judul\nchannels: [x, tiktok]\n---\nIsi rilis.\n",
        ["bad.md", "channels", "tiktok", "configured accounts"]),
    "time in the past": (
        "---\ntitle: Judul\nat: 2020-01-01 10:00 WIB\n---\nIsi rilis.\n",
        ["bad.md", "at", "in the past"]),
    "unparseable time": (
        "---\ntitle: Judul\nat: kapan-kapan\n---\nIsi rilis.\n",
        ["bad.md", "at", "cannot read 'kapan-kapan'", "besok 09.00"]),
    "day without an hour": (
        "---\ntitle: Judul\nat: besok pagi\n---\nIsi rilis.\n",
        ["bad.md", "at", "'besok pagi' has no time of day"]),
    "date without a time of day": (
        "---\ntitle: Judul\nat: 2099-01-01\n---\nIsi rilis.\n",
        ["bad.md", "at", "no time of day"]),
    "weekday that does not match the date": (
        "---\ntitle: Judul\nat: Senin, 1 Januari 2099 pukul 10.00 WIB\n---\nIsi rilis.\n",
        ["bad.md", "at", "is a Kamis, not a Senin"]),
    "headline with an unquoted colon": (
        "---\ntitle: Kalapas: Kami Siap\n---\nIsi rilis.\n",
        ["bad.md", "front matter (line 2)", 'title: "Kalapas: Kami Siap"']),
    "unknown zone": (
        "---\ntitle: Judul\nat: 2099-01-01 10:00 CEST\n---\nIsi rilis.\n",
        ["bad.md", "at", "unknown time zone 'CEST'"]),
    "empty body": (
        "---\ntitle: Judul\n---\n\n   \n",
        ["bad.md", "body", "no text"]),
    "no title": (
        "---\nhashtags: [A]\n---\n",
        ["bad.md", "title"]),
    "missing image": (
        "---\ntitle: Judul\nimages: [{path: foto.jpg, alt: Foto}]\n---\nIsi rilis.\n",
        ["bad.md", "images[0].path", "foto.jpg", "not found"]),
    "image that is not an image": (
        "---\ntitle: Judul\nimages: [laporan.pdf]\n---\nIsi rilis.\n",
        ["bad.md", "images[0].path", "not an image"]),
    "all-digit hashtag": (
        "---\ntitle: Judul\nhashtags: [HUT, '2024']\n---\nIsi rilis.\n",
        ["bad.md", "hashtags", "'2024'", "not all digits"]),
    "link that is not a URL": (
        "---\ntitle: Judul\nlink: lapas.go.id\n---\nIsi rilis.\n",
        ["bad.md", "link", "https://"]),
    "front matter not a mapping": (
        "---\n- a\n- b\n---\nIsi rilis.\n",
        ["bad.md", "front matter", "mapping"]),
    "front matter not closed": (
        "---\ntitle: Judul\nIsi rilis tanpa penutup.\n",
        ["bad.md", "front matter", "not closed"]),
    "bad recurrence": (
        "---\ntitle: Judul\nrepeat: every monday\n---\nIsi rilis.\n",
        ["bad.md", "repeat", "5 parts"]),
    "wrong type": (
        "---\ntitle: Judul\nhashtags: {a: 1}\n---\nIsi rilis.\n",
        ["bad.md", "hashtags"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_release_exits_1_names_file_and_field_and_writes_nothing(case, workspace, siar):
    text, expected = CASES[case]
    write(workspace, "bad.md", text)
    before = row_counts(workspace)
    result = siar("add", "bad.md")
    assert result.code == 1, result
    assert "Traceback" not in result.err
    message = " ".join(result.err.split())
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert row_counts(workspace) == before


def test_past_time_given_on_the_command_line_is_refused(workspace, siar):
    result = siar("add", "rilis.md", "--at", "2001-01-01 08:00 WITA")
    assert result.code == 1
    assert "--at" in result.err and "in the past" in result.err
    assert row_counts(workspace)["post"] == 0


def test_unknown_channel_on_the_command_line_is_refused(workspace, siar):
    result = siar("add", "rilis.md", "--channels", "x,friendster")
    assert result.code == 1
    assert "friendster" in result.err and "--channels" in result.err
    assert row_counts(workspace)["post"] == 0


def test_missing_file_and_wrong_file_type_are_refused(workspace, siar):
    missing = siar("add", "tidak-ada.md")
    assert missing.code == 1 and "tidak-ada.md" in missing.err and "not found" in missing.err
    write(workspace, "rilis.pdf", "%PDF")
    wrong = siar("add", "rilis.pdf")
    assert wrong.code == 1 and "unsupported file type" in wrong.err


def test_a_headline_too_long_for_x_is_queued_shortened_not_refused(workspace, siar):
    title = "Judul " * 80  # a 480-character headline cannot fit in one X post
    write(workspace, "panjang.md", f"---\ntitle: {title}\nchannels: [x]\n---\nIsi.\n")
    preview = siar("preview", "panjang.md")
    assert preview.code == 0 and "title shortened" in " ".join(preview.out.split())
    result = siar("add", "panjang.md", "--at", "now")
    assert result.code == 0, result.err
    assert "warning(s)" in result.out and row_counts(workspace)["post"] == 1


def test_usage_errors_exit_2(workspace, siar):
    assert siar("add").code == 2
    assert siar("add", "rilis.md", "--bogus").code == 2


def test_a_good_release_is_queued_after_all_the_failures(workspace, siar):
    write(workspace, "ok.md", RELEASE)
    result = siar("add", "ok.md")
    assert result.code == 0, result.err
    assert row_counts(workspace) == {"release": 1, "post": 4, "attempt": 0}


def test_an_image_instagram_needs_changed_is_prepared_at_queue_time_not_refused(
        workspace, siar):
    """Instagram fetches the file Siar prepared (a JPEG padded to 4:5), not the original:
    a tall PNG is queued with a note, where it used to be refused (issue 14)."""
    from PIL import Image

    Image.new("RGB", (600, 1800), "white").save(workspace / "tinggi.png")
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + '\n[[accounts]]\nname = "ig-lapas"\n'
                      'network = "instagram"\noptions = { user_id = "1789", '
                      'public_media_base_url = "https://lapas.example.go.id/media" }\n')
    write(workspace, "foto.md", "---\ntitle: Judul\nchannels: [ig-lapas]\n"
                                "images: [{path: tinggi.png, alt: Foto}]\n---\nIsi.\n")
    result = siar("add", "foto.md", "--now")
    assert result.code == 0, result.err
    message = " ".join(result.err.split())
    assert "ig-lapas" in message and "PNG will be converted to JPEG" in message
    assert "padded" in message
    assert row_counts(workspace)["post"] == 1


@pytest.mark.parametrize("command", ["add", "preview"])
def test_a_folder_given_as_the_release_is_an_error_not_a_traceback(workspace, siar, command):
    (workspace / "rilis-september").mkdir()
    result = siar(command, "rilis-september")
    assert result.code == 1, result
    assert "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "rilis-september: is a folder" in message and "fix:" in message
    assert row_counts(workspace)["post"] == 0


def test_utf16_text_without_a_byte_order_mark_is_refused_not_queued(workspace, siar):
    (workspace / "u16.txt").write_bytes("Judul\nIsi rilis.".encode("utf-16-le"))
    result = siar("add", "u16.txt", "--at", "now")
    assert result.code == 1
    assert "u16.txt" in result.err and "UTF-16" in result.err and "UTF-8" in result.err
    assert row_counts(workspace)["post"] == 0


def test_windows_1252_text_is_queued_decoded_with_a_note(workspace, siar):
    (workspace / "ansi.txt").write_bytes("Judul café\nIsi “kutip”.".encode("cp1252"))
    result = siar("add", "ansi.txt", "--at", "now", "--channels", "console", "--json")
    assert result.code == 0, result.err
    assert "ansi.txt" in result.err and "Windows-1252" in result.err
    assert '"title": "Judul café"' in result.out


def test_a_release_file_over_the_size_cap_is_refused(workspace, siar):
    with (workspace / "besar.md").open("wb") as handle:
        handle.truncate(3 * 1024 * 1024)
    result = siar("add", "besar.md")
    assert result.code == 1
    assert "besar.md" in result.err and "larger than 2 MB" in result.err
    assert row_counts(workspace)["post"] == 0


def test_a_200_megapixel_image_is_refused_naming_the_image_and_the_limit(workspace, siar):
    from tests.channels.test_images import png_header_only

    png_header_only(workspace / "raksasa.png", 16_330, 12_250)
    write(workspace, "foto.md", "---\ntitle: Judul\nchannels: [x]\n"
                                "images: [{path: raksasa.png, alt: Foto}]\n---\nIsi.\n")
    result = siar("add", "foto.md", "--at", "now")
    assert result.code == 1, result
    assert "Traceback" not in result.err
    message = " ".join(result.err.split())
    assert "foto.md: images[0]" in message and "raksasa.png" in message
    assert "120 megapixels" in message and "scale it down" in message
    assert row_counts(workspace)["post"] == 0
    assert not (workspace / "home" / "media").exists()


def test_a_108_megapixel_photo_is_queued_without_pillows_raw_warning(workspace):
    """Through the console script in its own process, where a warning would reach stderr."""
    import os
    import subprocess
    import sys

    from PIL import Image

    Image.new("1", (12_000, 9_000), 1).save(workspace / "hp.png")
    write(workspace, "foto.md", "---\ntitle: Judul\nchannels: [x]\n"
                                "images: [{path: hp.png, alt: Foto}]\n---\nIsi.\n")
    completed = subprocess.run(
        [sys.executable, "-m", "scheduler.cli", "add", "foto.md", "--at", "now"],
        cwd=workspace, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "Warning" not in completed.stderr and "decompression" not in completed.stderr
    assert "scaled down from 12000×9000" in " ".join(completed.stderr.split())


def test_standard_input_is_decoded_and_checked_like_a_file(workspace):
    """Through the console script, whose standard input is bytes."""
    import os
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "scheduler.cli", "add", "-", "--at", "now"],
        input="Judul\nIsi rilis.\n".encode("utf-16-le"), cwd=workspace, env=dict(os.environ),
        capture_output=True, timeout=120)
    stderr = " ".join(completed.stderr.decode().split())
    assert completed.returncode == 1, stderr
    assert "<stdin>: looks like UTF-16 text without a byte-order mark" in stderr
    assert row_counts(workspace)["post"] == 0


def test_a_folder_given_as_the_html_page_of_a_preview_is_an_error(workspace, siar):
    (workspace / "halaman").mkdir()
    result = siar("preview", "rilis.md", "--html", "halaman")
    assert result.code == 1, result
    assert "--html halaman: cannot write the page" in " ".join(result.err.split())
