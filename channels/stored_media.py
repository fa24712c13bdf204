"""How a copy in Siar's media store names its own content: ``…/media/<sha256>/<file name>``.

The store itself (copying at queue time) is ``scheduler.media_store``; adapters only need to
know, right before an upload, which hash a stored file must have
(:func:`channels.images.prepare_image` checks it).
"""

from __future__ import annotations

import re
from pathlib import Path

#: the name of the store's folder inside the data dir
FOLDER = "media"
#: an image file larger than this is refused (release files name photos, not videos: no
#: network takes more than 16 MB, and every accepted image is decoded for each network)
MAX_IMAGE_BYTES = 50 * 1024 * 1024

_DIGEST = re.compile(r"[0-9a-f]{64}")


def expected_digest(path: str | Path) -> str | None:
    """The SHA-256 the file at ``path`` must have if it is a stored copy (the name of its
    folder inside a ``media`` folder), or None for any other path."""
    folder = Path(path).parent
    if folder.parent.name == FOLDER and _DIGEST.fullmatch(folder.name):
        return folder.name
    return None


def digest(data: bytes) -> str:
    """The SHA-256 of ``data`` as the store names it (lower-case hex)."""
    import hashlib  # here, not at the top: OpenSSL's load costs every `siar` start ~20 ms

    return hashlib.sha256(data).hexdigest()


def file_digest(path: str | Path, *, block: int = 1024 * 1024) -> str:
    """The SHA-256 of the file at ``path``, read ``block`` bytes at a time (it may be a
    video of hundreds of megabytes)."""
    import hashlib

    hasher = hashlib.sha256()
    with open(path, "rb") as reading:
        while chunk := reading.read(block):
            hasher.update(chunk)
    return hasher.hexdigest()
