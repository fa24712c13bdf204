"""Every media store gives a prepared image a public URL, serves it there, and deletes
it when told — each against a real server (WordPress fake, moto's S3, the daemon's HTTP
server)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from channels.image_host import HostingError
from channels.variant import Media
from scheduler.media_hosting import PreparedFile, StoreError, StoreHost, round_trip
from scheduler.media_hosting.null import NullStore
from scheduler.media_hosting.s3 import S3Store
from scheduler.media_hosting.siar import SiarStore
from tests.media_hosting.conftest import BUCKET, S3_KEY_ID, S3_SECRET


def fetch(url: str) -> requests.Response:
    return requests.get(url, timeout=5)


def test_a_stored_image_is_served_at_its_url_until_it_is_deleted(store, photo):
    url = store.put(PreparedFile.of(photo))

    served = fetch(url)
    assert served.status_code == 200
    assert served.content == Path(photo.path).read_bytes()  # as prepared, not re-encoded

    store.delete(url)
    assert fetch(url).status_code in (403, 404)


def test_every_put_gets_a_url_of_its_own_so_posts_sharing_an_image_never_collide(
        store, photo):
    first, second = (store.put(PreparedFile.of(photo)) for _ in range(2))
    assert first != second

    store.delete(first)

    assert fetch(second).status_code == 200
    store.delete(second)


def test_deleting_a_url_twice_is_not_an_error(store, photo):
    url = store.put(PreparedFile.of(photo))
    store.delete(url)
    store.delete(url)


def test_the_check_puts_a_tiny_image_fetches_it_back_and_deletes_it(store):
    detail = round_trip(store)

    assert "fetched back" in detail


def test_the_check_leaves_nothing_behind(wordpress, wordpress_store, s3_store, siar_store):
    for store in (wordpress_store, s3_store, siar_store):
        round_trip(store)

    assert wordpress.media == {}
    assert s3_store.client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert list(siar_store.directory.iterdir()) == []


# --- the WordPress media library ----------------------------------------------------------


def test_wordpress_gets_the_prepared_bytes_with_their_alt_text(wordpress, wordpress_store,
                                                               photo):
    url = wordpress_store.put(PreparedFile.of(photo))

    [item] = wordpress.media.values()
    assert item.data == Path(photo.path).read_bytes()
    assert item.alt_text == photo.alt and item.mime == "image/jpeg"
    assert url.endswith(f"/{item.filename}") and item.filename.startswith("siar-")


def test_a_wordpress_site_that_refuses_the_upload_is_a_store_error(wordpress,
                                                                   wordpress_store, photo):
    wordpress.fail_next(status=413, body="Request Entity Too Large", path=r".*/media")

    with pytest.raises(StoreError, match="could not be uploaded"):
        wordpress_store.put(PreparedFile.of(photo))


# --- S3 -----------------------------------------------------------------------------------


def test_s3_urls_are_presigned_and_expire(s3_store, photo):
    url = s3_store.put(PreparedFile.of(photo))

    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    assert S3_SECRET not in url
    [stored] = s3_store.client.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert stored["Key"].startswith("siar/")
    s3_store.delete(url)


def test_an_s3_bucket_that_is_not_there_is_reported_without_the_keys(s3_endpoint, s3_keys):
    store = S3Store(bucket="tidak-ada", endpoint_url=s3_endpoint, region="us-east-1")

    with pytest.raises(StoreError) as raised:
        round_trip(store)

    assert "tidak-ada" in str(raised.value)
    assert S3_SECRET not in str(raised.value) and S3_KEY_ID not in str(raised.value)


def test_an_s3_failure_is_told_in_the_officers_language(s3_endpoint, s3_keys, monkeypatch):
    monkeypatch.setenv("SIAR_LANG", "id")
    store = S3Store(bucket="tidak-ada", endpoint_url=s3_endpoint, region="us-east-1")

    with pytest.raises(StoreError) as raised:
        round_trip(store)

    assert "bucket 'tidak-ada'" in str(raised.value)
    assert str(raised.value).startswith("tidak dapat"), raised.value


# --- served by the daemon -----------------------------------------------------------------


def test_siar_paths_cannot_be_guessed_and_other_paths_are_not_served(siar_store, photo):
    url = siar_store.put(PreparedFile.of(photo))
    token = url.split("/media/", 1)[1].split("/")[0]

    assert len(token) >= 24
    base = url.split("/media/", 1)[0]
    for path in ("/media/", f"/media/{token}", "/media/../siar.db",
                 f"/media/{token}/../../etc/passwd", f"/media/{'A' * 24}/x.jpg"):
        assert fetch(base + path).status_code == 404
    siar_store.delete(url)


def test_a_siar_file_is_not_served_after_it_expired(siar_store, photo):
    url = siar_store.put(PreparedFile.of(photo))
    folder = next(siar_store.directory.iterdir())
    long_ago = time.time() - siar_store.expires_seconds - 60
    for path in (folder, *folder.iterdir()):
        os.utime(path, (long_ago, long_ago))

    assert fetch(url).status_code == 404
    siar_store.put(PreparedFile.of(photo))  # the next put sweeps expired folders away
    assert not folder.exists()


def test_a_siar_directory_that_cannot_be_written_is_a_store_error(tmp_path, photo):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    store = SiarStore(directory=blocker / "media", public_base_url="https://x.example")

    with pytest.raises(StoreError, match="cannot write"):
        store.check()


# --- the host adapters see ------------------------------------------------------------------


def test_with_keep_the_file_stays_after_the_network_fetched_it(store, photo):
    host = StoreHost(store, keep=True)
    url = host.url_for(photo)

    host.let_go(url)

    assert fetch(url).status_code == 200
    store.delete(url)


def test_a_file_that_is_gone_is_a_hosting_error_for_the_adapter(store, tmp_path):
    host = StoreHost(store)

    with pytest.raises(HostingError, match=r"gone\.jpg"):
        host.url_for(Media(path=str(tmp_path / "gone.jpg"), alt=""))


def test_a_dry_run_store_names_a_url_and_uploads_nothing(photo):
    url = NullStore("s3").put(PreparedFile.of(photo))

    assert url.startswith("dry-run://media/s3/") and url.endswith(".jpg")
