"""What an adapter checks right before sending a prepared video (``check_prepared``):
the file is there, of the size recorded when it was queued, with the SHA-256 its media
store folder names — or, outside the store, the one recorded. Anything else is refused
with the fix; nothing about the file is trusted that was not recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from channels.base import Rejected
from channels.variant import Media, Variant
from channels.video import VideoError, check_prepared, refused_video

DATA = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 8
SHA256 = hashlib.sha256(DATA).hexdigest()


def written(path: Path, data: bytes = DATA) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_the_file_as_it_was_queued_is_sent(tmp_path: Path) -> None:
    stored = written(tmp_path / "media" / SHA256 / "klip.mp4")
    outside = written(tmp_path / "rilis" / "klip.mp4")

    assert check_prepared(stored, size=len(DATA)) == stored
    assert check_prepared(outside, sha256=SHA256, size=len(DATA)) == outside
    assert check_prepared(outside) == outside  # nothing recorded: nothing to compare


@pytest.mark.parametrize("edit", [lambda d: d[:-1] + b"\x01", lambda d: d + b"\x00"])
def test_a_file_outside_the_store_is_held_to_what_was_recorded(tmp_path: Path,
                                                                edit) -> None:
    path = written(tmp_path / "klip.mp4", edit(DATA))

    with pytest.raises(VideoError, match=r"klip\.mp4 changed after it was queued") as caught:
        check_prepared(path, sha256=SHA256, size=len(DATA))
    assert caught.value.hint == "queue the release again ('siar add')"


def test_a_truncated_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = written(tmp_path / "media" / SHA256 / "klip.mp4", DATA[:100])

    with pytest.raises(VideoError, match="changed after it was queued"):
        check_prepared(path, size=len(DATA))


def test_a_missing_file_or_a_folder_is_not_found(tmp_path: Path) -> None:
    for path in (tmp_path / "hilang.mp4", tmp_path):
        with pytest.raises(VideoError, match="prepared video not found"):
            check_prepared(path)


def test_an_adapter_gets_a_refusal_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    path = written(tmp_path / "media" / SHA256 / "klip.mp4", b"edited by hand")
    video = Media(path=str(path), kind="video", bytes=len(DATA), sha256=SHA256)
    post = Variant(account="x-lapas", channel="x", parts=["Rakor"], length=[5], limit=280,
                   media=[video])

    refused = refused_video(post)

    assert isinstance(refused, Rejected)
    assert refused.reason == ("the video cannot be sent: klip.mp4 changed after it was "
                              "queued; queue the release again ('siar add')")
    assert refused_video(Variant(account="x-lapas", channel="x", parts=["Rakor"],
                                 length=[5], limit=280)) is None  # no video: nothing to check
