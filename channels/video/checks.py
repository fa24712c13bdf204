"""What an adapter checks right before uploading a prepared video.

The file a post names was prepared and hashed at queue time; before any request of an
attempt, every video adapter calls :func:`refused_video`, so a file that was changed,
truncated or removed since is refused — the post rejected with the reason and nothing
sent — instead of published or retried forever. What was previewed is what is published.
"""

from __future__ import annotations

import os
from pathlib import Path

from channels.base import Rejected
from channels.i18n import _
from channels.stored_media import expected_digest, file_digest
from channels.variant import Variant
from channels.video.probe import VideoError


def _queue_again() -> str:
    """The fix every refusal names (translated when it is said)."""
    return _("queue the release again ('siar add')")


def check_prepared(path: str | Path, *, sha256: str | None = None,
                   size: int | None = None) -> Path:
    """``path`` itself when the file is there and is still the one that was queued: of
    ``size`` bytes when given, and with the SHA-256 its media-store folder names (read
    in chunks) — or, for a file outside the store, ``sha256`` when given.
    :class:`VideoError` otherwise, which an adapter turns into ``Rejected``."""
    path = Path(path)
    try:
        actual = os.stat(path)
    except OSError:
        actual = None
    if actual is None or not path.is_file():
        raise VideoError(_("prepared video not found: {path}").format(path=path),
                         hint=_queue_again())
    expected = expected_digest(path) or sha256
    changed = size is not None and actual.st_size != size
    if not changed and expected is not None:
        try:
            changed = file_digest(path) != expected
        except OSError as exc:
            raise VideoError(_("{file} cannot be read: {reason}").format(
                file=path.name, reason=exc.strerror or exc), hint=_queue_again()) from exc
    if changed:
        raise VideoError(_("{path} changed after it was queued").format(path=path.name),
                         hint=_queue_again())
    return path


def refused_video(variant: Variant) -> Rejected | None:
    """``Rejected`` when the post's prepared video is gone or no longer the file that was
    queued (see :func:`check_prepared`); ``None`` when it may be sent, or the post has no
    video. Adapters call it before the first request of an attempt."""
    video = next((m for m in variant.media if m.kind == "video"), None)
    if video is None:
        return None
    try:
        check_prepared(video.path, sha256=video.sha256, size=video.bytes)
    except VideoError as exc:
        return Rejected(_("the video cannot be sent: {problem}; {fix}").format(
            problem=exc.message, fix=exc.hint))
    return None
