"""The three media stores, each against a real server: the WordPress fake's media
library, a local S3-compatible server (moto's server mode, a subprocess), and the
daemon's own HTTP server serving the ``siar`` store's directory; and the two networks
that fetch media from them (the Instagram and Threads fakes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from channels.base import AccountConfig
from channels.instagram import InstagramChannel
from channels.meta import ContainerChannel
from channels.threads import ThreadsChannel
from channels.variant import Media
from channels.wordpress import WordPressChannel
from scheduler.health import HealthServer
from scheduler.media_hosting.base import PublicStore
from scheduler.media_hosting.s3 import S3Store
from scheduler.media_hosting.siar import SiarStore
from scheduler.media_hosting.wordpress import WordPressStore
from tests.fakes.instagram import InstagramFake
from tests.fakes.meta import ContainerFake
from tests.fakes.s3 import free_port, s3_server
from tests.fakes.threads import ThreadsFake
from tests.fakes.wordpress import WordPressFake

S3_KEY_ID = "AKIASIARTESTKEY00001"
S3_SECRET = "s3cr3t-Siar-test-key/abcdefghijklmnopqrstu"
BUCKET = "humas-lapas"
WP_PASSWORD = "abcd EFGH 1234 ijkl"
STORES = ["wordpress", "s3", "siar"]
IG_TOKEN, TH_TOKEN = "IGQWRtoken123", "THAAtoken123"
USER = "17841405822304914"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free port, until the session ends."""
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bucket's keys, where Siar reads secrets from."""
    monkeypatch.setenv("SIAR_SECRET_MEDIA_ACCESS_KEY_ID", S3_KEY_ID)
    monkeypatch.setenv("SIAR_SECRET_MEDIA_SECRET_ACCESS_KEY", S3_SECRET)


@pytest.fixture
def s3_store(s3_endpoint: str, s3_keys: None) -> S3Store:
    store = S3Store(bucket=BUCKET, endpoint_url=s3_endpoint, region="us-east-1",
                    expires_seconds=300)
    with contextlib.suppress(store.client.exceptions.BucketAlreadyOwnedByYou):
        store.client.create_bucket(Bucket=BUCKET)
    return store


@pytest.fixture(scope="module")
def wordpress_site() -> Iterator[WordPressFake]:
    with WordPressFake(app_password=WP_PASSWORD) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def wordpress(wordpress_site: WordPressFake) -> WordPressFake:
    wordpress_site.reset()
    return wordpress_site


@pytest.fixture
def wordpress_store(wordpress: WordPressFake) -> Iterator[WordPressStore]:
    account = AccountConfig(name="wp-lapas", network="wordpress", base_url=wordpress.url,
                            options={"read_timeout": 2})
    site = WordPressChannel(account, {"username": "humas", "app_password": WP_PASSWORD})
    yield WordPressStore("wp-lapas", lambda: site)
    site.close()


@pytest.fixture
def siar_store(tmp_path: Path) -> Iterator[SiarStore]:
    """The store, served by the daemon's HTTP server (here reached directly, as the
    reverse proxy would forward to it)."""
    port = free_port()
    store = SiarStore(directory=tmp_path / "public-media",
                      public_base_url=f"http://127.0.0.1:{port}/", expires_seconds=600)
    server = HealthServer(port, snapshot=lambda: None,  # type: ignore[arg-type,return-value]
                          counters=dict, dispatcher_fresh=lambda: True, node="test",
                          files=store.serve).start()
    yield store
    server.stop()


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> PublicStore:
    """Each store in turn."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def photo(tmp_path: Path) -> Media:
    """A prepared photo as a post names it (a 1080×1350 JPEG, Instagram's 4:5)."""
    path = tmp_path / "rakor.jpg"
    Image.new("RGB", (1080, 1350), (30, 90, 160)).save(path, "JPEG")
    return Media(path=str(path), alt="Kalapas membuka rakor", mime="image/jpeg")


@pytest.fixture(scope="module")
def instagram_server() -> Iterator[InstagramFake]:
    with InstagramFake(token=IG_TOKEN, user_id=USER) as running:
        yield running  # type: ignore[misc]


@pytest.fixture(scope="module")
def threads_server() -> Iterator[ThreadsFake]:
    with ThreadsFake(token=TH_TOKEN, user_id=USER) as running:
        yield running  # type: ignore[misc]


@pytest.fixture(params=["instagram", "threads"])
def network(request: pytest.FixtureRequest) -> tuple[ContainerFake, ContainerChannel]:
    """Each fetch-by-URL network: its fake (reset), and an adapter for it with the test
    module's ``NETWORK_OPTIONS``."""
    name = request.param
    fake: ContainerFake = request.getfixturevalue(f"{name}_server")
    fake.reset()
    cls = InstagramChannel if name == "instagram" else ThreadsChannel
    token = IG_TOKEN if name == "instagram" else TH_TOKEN
    account = AccountConfig(name=f"{name}-lapas", network=name, base_url=fake.url,
                            options={"user_id": USER, "read_timeout": 2,
                                     **getattr(request.module, "NETWORK_OPTIONS", {})})
    channel = cls(account, {"access_token": token})
    request.addfinalizer(channel.close)
    return fake, channel


def served(url: str) -> bool:
    """Whether ``url`` is served (as Meta would fetch it)."""
    return requests.get(url, timeout=5).status_code == 200
