"""Alt text (issue 14 item 4): an account may require it, and it is cut to the shortest
limit the network has — for the post or for the image upload (Instagram declares only
the latter) — with a warning; markup characters are the officer's words, kept as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.compose import compose
from scheduler.errors import ComposeError
from scheduler.settings import AccountSettings
from tests.composer.conftest import make_release, make_settings


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    (tmp_path / "foto.jpg").write_bytes(b"\xff\xd8\xff")
    return tmp_path


def test_an_account_that_requires_alt_text_refuses_an_image_without_it(
        photo_folder: Path) -> None:
    release = make_release("Isi.", base_dir=photo_folder, images=["foto.jpg"])
    strict = AccountSettings(name="ig-lapas", network="instagram", alt_text="require")
    with pytest.raises(ComposeError) as info:
        compose(release, strict, make_settings())
    message = str(info.value)
    assert "ig-lapas" in message and "foto.jpg" in message and "requires alt text" in message
    assert "alt:" in message  # the fix names the field
    lenient = AccountSettings(name="x-lapas", network="x")  # the default: warn
    variant = compose(release, lenient, make_settings())
    assert any("foto.jpg has no alt text" in w for w in variant.warnings)


def test_an_unknown_alt_policy_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="alt_text"):
        AccountSettings(name="x-lapas", network="x", alt_text="sometimes")


@pytest.mark.parametrize(("network", "limit"), [("instagram", 1000), ("bluesky", 2000),
                                                ("x", 1000), ("mastodon", 1500),
                                                ("discord", 1024), ("linkedin", 4086)])
def test_alt_text_is_cut_to_the_networks_shortest_alt_limit(photo_folder: Path, network: str,
                                                            limit: int) -> None:
    alt = "Kalapas memberi sambutan di depan peserta rakor. " * 100
    release = make_release("Isi.", base_dir=photo_folder,
                           images=[{"path": "foto.jpg", "alt": alt}])
    variant = compose(release, AccountSettings(name="a", network=network), make_settings())
    [media] = variant.media
    assert len(media.alt) <= limit and len(media.alt) > limit - 60
    assert any(f"cut to {limit} characters" in w for w in variant.warnings)


def test_markup_characters_in_alt_text_are_kept_for_each_network_to_escape(
        photo_folder: Path) -> None:
    release = make_release("Isi.", base_dir=photo_folder,
                           images=[{"path": "foto.jpg", "alt": "Foto <utama> & 100%AB"}])
    for network in ("wordpress", "instagram", "telegram", "email"):
        variant = compose(release, AccountSettings(name="a", network=network),
                          make_settings())
        assert variant.media[0].alt == "Foto <utama> & 100%AB"
