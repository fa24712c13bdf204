"""What was queued is what is published: `siar add` keeps each image in a content-addressed
store under the Siar home, the posts name that copy, and a copy changed afterwards is
refused at publish time (the post is rejected with the reason, never retried).

Run on SQLite and on the real PostgreSQL the tests start.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from PIL import Image

from channels.stored_media import expected_digest
from scheduler.media_store import MediaStore
from tests.fakes.mastodon import FakeMastodon


def photo(path: Path, colour: str, size: tuple[int, int] = (640, 480)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def show(siar, release: int) -> dict:
    shown = siar("show", str(release), "--json")
    assert shown.code == 0, shown.err
    return json.loads(shown.out)


def test_images_from_anywhere_are_copied_at_queue_time_and_the_posts_name_the_copies(
        workspace: Path, siar, database: str) -> None:
    outside = workspace / "arsip"
    above = photo(outside / "satu.jpg", "red")                 # reached by ../
    absolute = photo(outside / "dua.png", "green")             # an absolute path
    linked_to = photo(outside / "tiga.jpg", "blue")            # a symlink out of the folder
    folder = workspace / "rilis"
    folder.mkdir()
    (folder / "tiga.jpg").symlink_to(linked_to)
    (folder / "rilis.md").write_text(
        "---\ntitle: Rakor\nchannels: [console]\nimages:\n"
        "  - {path: ../arsip/satu.jpg, alt: Satu}\n"
        f"  - {{path: {absolute}, alt: Dua}}\n"
        "  - {path: tiga.jpg, alt: Tiga}\n---\nIsi rilis.\n", encoding="utf-8")
    originals = {"satu.jpg": sha256(above), "dua.png": sha256(absolute),
                 "tiga.jpg": sha256(linked_to)}

    added = siar("add", "rilis/rilis.md", "--at", "now", "--json")
    assert added.code == 0, added.err
    release = json.loads(added.out)["release"]
    [post] = show(siar, release)["posts"]
    media = post["variant"]["media"]
    store = workspace / "home" / "media"
    assert [Path(m["path"]).name for m in media] == ["satu.jpg", "dua.png", "tiga.jpg"]
    for item in media:
        stored = Path(item["path"])
        assert stored == store / originals[stored.name] / stored.name
        assert item["sha256"] == originals[stored.name] == sha256(stored)

    # the originals edited or gone: the queued release still names the copies as queued
    photo(above, "black")
    absolute.unlink()
    previewed = siar("preview", str(release), "--json")
    assert previewed.code == 0, previewed.err
    [variant] = json.loads(previewed.out)["variants"]
    assert variant["media"] == media
    assert all(sha256(Path(m["path"])) == m["sha256"] for m in media)


def test_preview_of_a_file_copies_nothing(workspace: Path, siar) -> None:
    photo(workspace / "foto.jpg", "red")
    (workspace / "foto.md").write_text(
        "---\ntitle: Rakor\nchannels: [console]\nimages: [{path: foto.jpg, alt: Foto}]\n---\n"
        "Isi rilis.\n", encoding="utf-8")
    previewed = siar("preview", "foto.md", "--json")
    assert previewed.code == 0, previewed.err
    [variant] = json.loads(previewed.out)["variants"]
    assert variant["media"][0]["path"] == str(workspace / "foto.jpg")
    assert not (workspace / "home" / "media").exists()


def test_an_image_changed_after_queueing_is_rejected_once_with_the_reason(
        workspace: Path, siar, database: str, mastodon: FakeMastodon) -> None:
    photo(workspace / "foto.jpg", "red")
    (workspace / "foto.md").write_text(
        "---\ntitle: Rakor\nchannels: [mastodon-lapas]\n"
        "images: [{path: foto.jpg, alt: Foto}]\n---\nIsi rilis.\n", encoding="utf-8")
    added = siar("add", "foto.md", "--at", "now", "--json")
    assert added.code == 0, added.err
    release = json.loads(added.out)["release"]
    [post] = show(siar, release)["posts"]
    stored = Path(post["variant"]["media"][0]["path"])
    os.chmod(stored, 0o644)
    photo(stored, "blue")  # someone replaced the stored copy

    daemon = siar("daemon", "--until-drained", "--json")
    assert daemon.code == 0, daemon.err

    [post] = show(siar, release)["posts"]
    assert post["status"] == "failed"
    assert "the image changed after it was queued" in post["error"]
    assert "foto.jpg" in post["error"] and "re-queue the release" in post["error"]
    assert post["attempts"] == 1
    assert mastodon.calls("POST") == []  # no upload, no status


def test_each_distinct_file_is_copied_once_per_call(tmp_path: Path) -> None:
    source = photo(tmp_path / "logo.png", "red")
    store = MediaStore(root=tmp_path / "media")
    first = store.keep(source)
    source.unlink()  # a second keep of the same file does not read it again
    assert store.keep(tmp_path / "logo.png") == first
    assert first.path.read_bytes() and expected_digest(first.path) == first.sha256


def test_only_paths_inside_a_media_store_promise_a_digest(tmp_path: Path) -> None:
    digest = "a" * 64
    assert expected_digest(tmp_path / "media" / digest / "foto.jpg") == digest
    assert expected_digest(tmp_path / "foto" / digest / "foto.jpg") is None
    assert expected_digest(tmp_path / "media" / "foto.jpg") is None
    assert expected_digest(tmp_path / "media" / ("A" * 64) / "foto.jpg") is None


def test_the_daemon_uploads_the_prepared_file_the_post_names_byte_for_byte(
        workspace: Path, siar, database: str, mastodon: FakeMastodon) -> None:
    """Prepared at queue time, kept, published as it is: a camera photo with EXIF
    orientation and a serial goes out as the stripped, upright file the preview showed."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0131] = "secret-serial-123"
    Image.new("RGB", (900, 600), "red").save(workspace / "foto.jpg", exif=exif.tobytes())
    (workspace / "foto.md").write_text(
        "---\ntitle: Rakor\nchannels: [mastodon-lapas]\n"
        "images: [{path: foto.jpg, alt: Foto}]\n---\nIsi rilis.\n", encoding="utf-8")
    previewed = siar("preview", "foto.md", "--json")
    assert previewed.code == 0, previewed.err
    [described] = json.loads(previewed.out)["variants"][0]["media"]
    added = siar("add", "foto.md", "--at", "now", "--json")
    assert added.code == 0, added.err
    [post] = show(siar, json.loads(added.out)["release"])["posts"]
    [item] = post["variant"]["media"]
    prepared = Path(item["path"]).read_bytes()
    assert item["sha256"] == described["sha256"] == hashlib.sha256(prepared).hexdigest()
    assert (item["width"], item["height"]) == (600, 900)  # upright
    assert b"secret-serial-123" not in prepared

    daemon = siar("daemon", "--until-drained", "--json")
    assert daemon.code == 0, daemon.err
    [upload] = mastodon.calls("POST", "/api/v2/media")
    assert prepared in upload.body  # the very bytes, inside the multipart form


def test_a_photo_several_releases_name_is_prepared_into_the_same_files(
        workspace: Path, siar) -> None:
    """A content calendar names the unit's banner in many releases: the posts of all of
    them name the same prepared file per network."""
    exif = Image.Exif()
    exif[0x0131] = "secret-serial-123"  # metadata: every network gets a prepared copy
    Image.new("RGB", (1200, 900), "green").save(workspace / "spanduk.jpg",
                                                exif=exif.tobytes())
    for day in (1, 2):
        (workspace / f"hari{day}.md").write_text(
            f"---\ntitle: Hari {day}\nchannels: [console, telegram-lapas]\n"
            f"at: 2099-09-2{day} 10:00 WIB\n"
            "images: [{path: spanduk.jpg, alt: Spanduk}]\n---\nIsi rilis.\n", encoding="utf-8")
    added = siar("add", "hari1.md", "hari2.md", "--json")
    assert added.code == 0, added.err
    named = [{p["account"]: p["variant"]["media"][0]["path"]
              for p in show(siar, item["release"])["posts"]}
             for item in json.loads(added.out)["releases"]]
    assert named[0] == named[1]
    for path in named[0].values():
        assert b"secret-serial-123" not in Path(path).read_bytes()
