"""Sample image files for the adapter and image tests, generated once per session.

Noise makes JPEGs compress badly, like real photos of crowds and foliage do, so byte
limits are actually exercised; the files stay small enough to keep tests fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

EXIF_ORIENTATION = 0x0112


def _noise(size: tuple[int, int]) -> Image.Image:
    return Image.effect_noise(size, 90).convert("RGB")


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def photo_jpeg(image_dir: Path) -> Path:
    """An ordinary small landscape photo that every network accepts as it is."""
    path = image_dir / "kegiatan.jpg"
    Image.new("RGB", (800, 600), (30, 110, 60)).save(path, quality=90)
    return path


@pytest.fixture(scope="session")
def large_jpeg(image_dir: Path) -> Path:
    """3000×2000 noisy JPEG of several MB: above Bluesky's 1,000,000 bytes and X's 5 MB."""
    path = image_dir / "besar.jpg"
    _noise((3000, 2000)).save(path, quality=97)
    return path


@pytest.fixture(scope="session")
def png_with_alpha(image_dir: Path) -> Path:
    """A logo-like PNG with a transparent background."""
    path = image_dir / "logo.png"
    image = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    image.paste((200, 20, 20, 255), (150, 150, 450, 450))
    image.save(path)
    return path


@pytest.fixture(scope="session")
def tall_portrait(image_dir: Path) -> Path:
    """A 1:3 portrait (a banner photo), narrower than Instagram's 4:5."""
    path = image_dir / "tinggi.jpg"
    Image.new("RGB", (500, 1500), (90, 90, 160)).save(path, quality=90)
    return path


@pytest.fixture(scope="session")
def exif_rotated(image_dir: Path) -> Path:
    """Stored 400×200 (landscape) with EXIF orientation 6: it displays as 200×400.

    It also carries a GPS-like camera tag that must not survive preparation.
    """
    path = image_dir / "diputar.jpg"
    image = Image.new("RGB", (400, 200), (10, 10, 10))
    image.paste((250, 250, 250), (0, 0, 100, 200))  # left quarter white: shows the turn
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    exif[0x010F] = "KameraHumas"  # Make
    exif[0x0131] = "secret-serial-123"  # Software
    image.save(path, exif=exif.tobytes(), quality=95)
    return path


@pytest.fixture(scope="session")
def animated_gif(image_dir: Path) -> Path:
    path = image_dir / "animasi.gif"
    frames = [Image.new("RGB", (100, 100), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small press photo, fresh per test (adapters may be handed it by path)."""
    path = tmp_path / "rakor.jpg"
    Image.new("RGB", (640, 426), (30, 90, 160)).save(path, "JPEG")
    return path
