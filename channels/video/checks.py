"""What an adapter checks right before uploading a prepared video."""

from __future__ import annotations

from pathlib import Path

from channels.stored_media import expected_digest
from channels.video.probe import VideoError


def check_prepared(path: str | Path) -> Path:
    """``path`` itself when it is there and, for a copy in the media store, still has the
    SHA-256 its folder names (read in chunks); :class:`VideoError` otherwise, which an
    adapter turns into ``Rejected``: a video changed after queueing is never published."""
    from channels.video.preparing import file_sha256

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"prepared video not found: {path}",
                         hint="queue the release again ('siar add')")
    expected = expected_digest(path)
    if expected is not None and file_sha256(path) != expected:
        raise VideoError(f"{path.name} changed after it was queued",
                         hint="queue the release again ('siar add')")
    return path
