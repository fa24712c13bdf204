"""Through the daemon, on both databases: with ``[media] store = "siar"`` the daemon's own
HTTP server serves a queued post's photo, Instagram (its fake) fetches it from the public
URL, and the file is gone once the post is published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import Engine

from channels.variant import Media, Variant
from scheduler import queue
from scheduler.daemon.service import Daemon
from scheduler.db import session
from scheduler.models import Post, Status
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, DaemonSettings, MediaSettings, Settings
from scheduler.timeparse import utcnow
from tests.fakes.instagram import InstagramFake
from tests.fakes.s3 import free_port

TOKEN, USER = "IGQWRtoken123", "17841405822304914"
CAPTION = "Rakor Agen Informasi #HumasBergerakBersama"


@pytest.fixture
def instagram() -> Iterator[InstagramFake]:
    with InstagramFake(token=TOKEN, user_id=USER) as fake:
        yield fake  # type: ignore[misc]


def _publish_a_photo(engine: Engine, db_url: str, instagram: InstagramFake, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch, *, keep: bool) -> tuple[Settings, int, str]:
    """One Instagram post with a photo, published by a daemon whose own HTTP server hosts
    the photo (``[media] store = "siar"``): (settings, post id, the public URL's start)."""
    port = free_port()
    public = f"http://127.0.0.1:{port}/siar"  # as the reverse proxy would forward it
    account = AccountSettings(name="ig-lapas", network="instagram", base_url=instagram.url,
                              options={"user_id": USER, "poll_interval": 0.01})
    settings = Settings(database_url=db_url, node_name="node-a", accounts=[account],
                        daemon=DaemonSettings(http_port=port, poll_interval=0.2,
                                              token_check_hours=0),
                        media=MediaSettings(store="siar", public_base_url=public, keep=keep,
                                            directory=tmp_path / "public-media"))
    monkeypatch.setenv(account.secret_variable("access_token"), TOKEN)
    photo = tmp_path / "rakor.jpg"
    Image.new("RGB", (1080, 1080), (20, 120, 60)).save(photo, "JPEG")
    variant = Variant(account="ig-lapas", channel="instagram", parts=[CAPTION],
                      length=[len(CAPTION)], limit=2200,
                      media=[Media(path=str(photo), alt="Rakor", mime="image/jpeg")])
    _, [post] = queue.enqueue(engine, ReleaseDoc(source="test", title="Rakor", body="Isi"),
                              [variant], utcnow())
    Daemon(settings, engine=engine).run(until_drained=True)
    return settings, post.id, public  # type: ignore[return-value]


def test_the_daemon_serves_the_photo_instagram_fetches_and_then_removes_it(
        engine: Engine, db_url: str, instagram: InstagramFake, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, post_id, public = _publish_a_photo(engine, db_url, instagram, tmp_path, monkeypatch,
                                          keep=False)

    with session(engine) as s:
        stored = s.get(Post, post_id)
        assert stored is not None and stored.status == Status.PUBLISHED
    [fetched] = instagram.fetched
    assert fetched.startswith(f"{public}/media/")
    assert instagram.published[0].params["image_url"] == fetched
    assert list((tmp_path / "public-media").iterdir()) == []


def test_a_kept_photo_shows_its_hosted_url_in_the_posts_preview(
        engine: Engine, db_url: str, instagram: InstagramFake, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler.preview import variants_json, with_public_urls

    settings, post_id, _ = _publish_a_photo(engine, db_url, instagram, tmp_path, monkeypatch,
                                            keep=True)

    with session(engine) as s:
        stored = s.get(Post, post_id)
        assert stored is not None
        shown = with_public_urls([Variant.from_json(stored.variant)], settings,
                                 {"ig-lapas": stored.progress.get("state", {})})
    [fetched] = instagram.fetched
    assert variants_json(shown)["variants"][0]["media"][0]["url"] == fetched
