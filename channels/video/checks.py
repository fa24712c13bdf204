"""What an adapter checks right before uploading a prepared video."""

from __future__ import annotations

from pathlib import Path

from channels.i18n import _
from channels.stored_media import expected_digest
from channels.video.probe import VideoError


def check_prepared(path: str | Path) -> Path:
    """``path`` itself when it is there and, for a copy in the media store, still has the
    SHA-256 its folder names (read in chunks); :class:`VideoError` otherwise, which an
    adapter turns into ``Rejected``: a video changed after queueing is never published."""
    from channels.video.preparing import file_sha256

    path = Path(path)
    if not path.is_file():
        raise VideoError(_("prepared video not found: {path}").format(path=path),
                         hint=_("queue the release again ('siar add')"))
    expected = expected_digest(path)
    if expected is not None and file_sha256(path) != expected:
        raise VideoError(_("{path} changed after it was queued").format(path=path.name),
                         hint=_("queue the release again ('siar add')"))
    return path
