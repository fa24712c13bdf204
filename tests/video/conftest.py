"""Fixtures for the video tests: the two acceptance clips, made once and cached, and
each prepared for every network that takes video.

The clips are made with :func:`tests.clips.make_clip` at one or two frames a second (the
length, picture size and codecs are the real ones; only the motion is sparse) and kept
in pytest's cache folder, so a second run does not encode 4K HEVC again. Preparing uses
x264's ``ultrafast`` preset (``SIAR_VIDEO_PRESET``), as a slow host would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels import registry
from channels.video import PreparedVideo, prepare_videos
from tests.clips import make_clip
from tests.core.conftest import database, siar, workspace  # noqa: F401 - shared fixtures
from tests.media_hosting.conftest import (  # noqa: F401 - the media stores, on real servers
    s3_endpoint,
    s3_keys,
    s3_store,
    siar_store,
    wordpress,
    wordpress_site,
)

#: bump when the clips' recipe changes, so a stale cached clip is not used
CLIPS_VERSION = "1"


def video_networks() -> list[str]:
    """Every installed network that takes video."""
    return [n for n in registry.networks() if registry.load(n).video_rules is not None]


@pytest.fixture(scope="session")
def clip_folder(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)
    if cache is None:  # pytest run with -p no:cacheprovider
        return tmp_path_factory.mktemp("clips")
    return Path(cache.mkdir(f"siar-video-clips-{CLIPS_VERSION}"))


def _cached(path: Path, **recipe: object) -> Path:
    if not path.is_file():
        # one partial file per process: test workers (pytest -n) may make the same clip
        partial = path.with_suffix(f".{os.getpid()}.partial.mp4")
        make_clip(partial, **recipe)  # type: ignore[arg-type]
        partial.replace(path)  # a run stopped halfway leaves no broken clip behind
    return path


@pytest.fixture(scope="session")
def phone_clip(clip_folder: Path) -> Path:
    """60 s, 1080×1920, H.264/AAC: what a phone films upright."""
    return _cached(clip_folder / "tegak-60s.mp4", seconds=60, width=1080, height=1920,
                   codec="h264", fps=2)


@pytest.fixture(scope="session")
def camera_clip(clip_folder: Path) -> Path:
    """90 s, 3840×2160, HEVC/AAC: a 4K camera's landscape clip."""
    return _cached(clip_folder / "kamera-4k-90s.mp4", seconds=90, width=3840, height=2160,
                   codec="hevc", fps=1)


@pytest.fixture(scope="session")
def fast_encoding() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIAR_VIDEO_PRESET", "ultrafast")
        yield


@pytest.fixture(autouse=True)
def _ultrafast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every video test encodes at x264's fastest (set again after ``workspace``
    cleared the SIAR_ variables, by tests that use it)."""
    monkeypatch.setenv("SIAR_VIDEO_PRESET", "ultrafast")


@pytest.fixture(scope="session")
def prepared_phone(phone_clip: Path, fast_encoding: None,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, PreparedVideo]:
    return prepare_videos(phone_clip, video_networks(), tmp_path_factory.mktemp("phone"))


@pytest.fixture(scope="session")
def prepared_camera(camera_clip: Path, fast_encoding: None,
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, PreparedVideo]:
    return prepare_videos(camera_clip, video_networks(), tmp_path_factory.mktemp("camera"))


@pytest.fixture(scope="session")
def short_clip(clip_folder: Path) -> Path:
    """4 s, 640×360 landscape H.264/AAC: small enough for the command-line tests."""
    return _cached(clip_folder / "pendek-4s.mp4", seconds=4, width=640, height=360, fps=5)
