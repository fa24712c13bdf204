"""A prepared video is never held whole in memory on its way out: the media stores put
it and the daemon serves it in blocks, and upload bodies read it a block at a time.

Each test moves a 48 MiB file (sparse: nothing to encode) and measures the most memory
Python allocated meanwhile (``tracemalloc``, every thread): a small fraction of the file.
The WordPress fake keeps what it receives, so that upload is measured in a process of
its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import pytest
import requests

from channels.uploads import FileBody
from scheduler.media_hosting.base import PreparedFile
from scheduler.media_hosting.s3 import S3Store
from scheduler.media_hosting.siar import SiarStore
from tests.fakes.wordpress import WordPressFake
from tests.media_hosting.conftest import BUCKET, WP_PASSWORD

SIZE = 48 * 1024 * 1024
#: the most a transfer may allocate while it runs: a sixteenth of the file
CEILING = SIZE // 16
T = TypeVar("T")


@pytest.fixture
def large_video(tmp_path: Path) -> PreparedFile:
    """A 48 MiB "video" as a store receives it: an MP4's first box, then nothing
    (sparse: no disk filled)."""
    path = tmp_path / "rakor-panjang.mp4"
    with path.open("wb") as writing:
        writing.write(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
        writing.truncate(SIZE)
    return PreparedFile(path=path, mime="video/mp4", sha256="5e" * 32, bytes=SIZE)


def peak_while(action: Callable[[], T]) -> tuple[T, int]:
    """What ``action`` returns, and the most memory Python allocated while it ran."""
    tracemalloc.start()
    try:
        result = action()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def fetched_in_blocks(url: str) -> Iterator[bytes]:
    with requests.get(url, stream=True, timeout=30) as answer:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "video/mp4"
        assert int(answer.headers["Content-Length"]) == SIZE
        yield from answer.iter_content(64 * 1024)


def test_the_daemon_hosts_and_serves_a_large_video_in_blocks(
        siar_store: SiarStore, large_video: PreparedFile) -> None:
    def host_and_fetch() -> int:
        url = siar_store.put(large_video)
        return sum(len(block) for block in fetched_in_blocks(url))

    received, peak = peak_while(host_and_fetch)

    assert received == SIZE
    assert peak < CEILING


def test_a_bucket_receives_a_large_video_in_blocks(s3_store: S3Store,
                                                    large_video: PreparedFile) -> None:
    url, peak = peak_while(lambda: s3_store.put(large_video))

    assert peak < CEILING
    key = unquote(urlsplit(url).path).removeprefix(f"/{BUCKET}/")
    stored = s3_store.client.head_object(Bucket=BUCKET, Key=key)
    assert stored["ContentLength"] == SIZE
    s3_store.delete(url)


def test_an_upload_body_reads_the_file_a_block_at_a_time(large_video: PreparedFile) -> None:
    def send() -> int:
        body = FileBody(large_video.path, head=b"--form\r\n", tail=b"\r\n--form--\r\n")
        sent = 0
        while block := body.read(256 * 1024):  # as urllib3 sends a body with read()
            sent += len(block)
        return sent

    sent, peak = peak_while(send)

    assert sent == SIZE + len(b"--form\r\n") + len(b"\r\n--form--\r\n")
    assert peak < CEILING


#: run in a process of its own: puts the file in the WordPress store, prints the peak
WORDPRESS_PUT = textwrap.dedent("""
    import json, sys, tracemalloc
    from pathlib import Path
    from channels.base import AccountConfig
    from channels.wordpress import WordPressChannel
    from scheduler.media_hosting.base import PreparedFile
    from scheduler.media_hosting.wordpress import WordPressStore

    url, password, path, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    site = WordPressChannel(AccountConfig(name="wp-lapas", network="wordpress",
                                          base_url=url, options={"read_timeout": 30}),
                            {"username": "humas", "app_password": password})
    store = WordPressStore("wp-lapas", lambda: site)
    prepared = PreparedFile(path=Path(path), mime="video/mp4", sha256="5e" * 32,
                            bytes=size)
    site.check()  # the session is made before measuring: only the upload is measured
    tracemalloc.start()
    hosted = store.put(prepared)
    print(json.dumps({"url": hosted, "peak": tracemalloc.get_traced_memory()[1]}))
""")


def test_the_wordpress_store_uploads_a_large_video_in_blocks(
        wordpress: WordPressFake, large_video: PreparedFile) -> None:
    done = subprocess.run([sys.executable, "-c", WORDPRESS_PUT, wordpress.url, WP_PASSWORD,
                           str(large_video.path), str(SIZE)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    hosted = json.loads(done.stdout)

    assert hosted["peak"] < CEILING
    [item] = wordpress.media.values()
    assert len(item.data) == SIZE and item.mime == "video/mp4"
    assert hosted["url"].endswith(item.filename)
