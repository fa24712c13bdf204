"""What every media store is: somewhere a prepared image gets a public URL for a while.

Instagram and Threads (and any network that fetches by URL) download the image from a
URL Siar gives them. A :class:`PublicStore` puts the prepared file there, says its URL,
and deletes it once the network has fetched it. :class:`StoreHost` is how the daemon
hands a store to an adapter (``channels.image_host.ImageHost``: channels never import
``scheduler``), and :func:`round_trip` is ``siar accounts check``'s test of a store.
"""

from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from channels.image_host import HostingError, ImageHost
from channels.stored_media import file_digest
from channels.variant import Media
from scheduler.i18n import _

log = logging.getLogger("siar.media")

#: how long a check waits for the store and for its public URL (seconds)
CHECK_TIMEOUT = 15.0


class StoreError(Exception):
    """The store refused a file or could not be reached (the message names no secret)."""


@dataclass(frozen=True)
class PreparedFile:
    """A prepared image as a store needs it: the local file and what to say about it."""

    path: Path
    mime: str
    sha256: str
    alt: str = ""
    width: int | None = None
    height: int | None = None
    bytes: int | None = None

    @property
    def suffix(self) -> str:
        """The file name extension its MIME type calls for (``.jpg``), for stored names."""
        guessed = {"image/jpeg": ".jpg"}.get(self.mime) or mimetypes.guess_extension(self.mime)
        return guessed or self.path.suffix.lower() or ".bin"

    @classmethod
    def of(cls, media: Media) -> PreparedFile:
        """The prepared item a post names (its local path, MIME type, SHA-256 and alt;
        sizes when the preparation recorded them). Raises :class:`StoreError` when the
        file is not there."""
        path = Path(media.path)
        try:
            sha256 = media.sha256 or file_digest(path)  # in blocks: it may be a video
        except OSError as exc:
            raise StoreError(_("{file} cannot be read: {reason}").format(
                file=path.name, reason=exc.strerror or exc)) from exc
        mime = media.mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(path=path, mime=mime, sha256=sha256, alt=media.alt,
                   width=getattr(media, "width", None), height=getattr(media, "height", None),
                   bytes=getattr(media, "bytes", None))


class PublicStore(ABC):
    """A place prepared images are put for a network to fetch them by URL."""

    #: the store as configured (``wordpress:wp-lapas``, ``s3``, ``siar``)
    name: str

    @abstractmethod
    def put(self, prepared: PreparedFile) -> str:
        """Store ``prepared`` under a name of its own (every call a new one, so that two
        posts sharing an image never delete each other's copy) and return its public URL.

        Raises :class:`StoreError`."""

    @abstractmethod
    def delete(self, url: str) -> None:
        """Delete the file :meth:`put` made for ``url`` (a URL it never made, or one
        already deleted, is not an error). Raises :class:`StoreError`."""

    @abstractmethod
    def check(self) -> str:
        """A harmless look at the store (credentials, bucket, directory): a one-line
        description of it, or :class:`StoreError` saying what is wrong and the fix."""


class StoreHost(ImageHost):
    """A store as an adapter sees it: a URL per image, let go after the network fetched
    it — deleted, unless ``[media] keep = true``."""

    def __init__(self, store: PublicStore, *, keep: bool = False) -> None:
        self.store = store
        self.keep = keep
        self.name = store.name

    def url_for(self, media: Media) -> str:
        """The image put in the store (raises :class:`HostingError` if it could not be)."""
        try:
            return self.store.put(PreparedFile.of(media))
        except StoreError as exc:
            raise HostingError(f"{self.name}: {_redacted(exc)}") from exc

    def let_go(self, url: str) -> None:
        """Delete the hosted copy (kept with ``keep``); a failure is only logged: the
        file is public anyway, and the store's own clean-up may remove it later."""
        if self.keep:
            return
        try:
            self.store.delete(url)
        except StoreError as exc:
            log.warning("media store %s: could not delete %s: %s", self.name, url,
                        _redacted(exc))


def _redacted(exc: Exception) -> str:
    """The error's text with every known secret redacted (the secrets and python-dotenv
    are imported when a store failed, not with the daemon's modules)."""
    from scheduler.envfile import redact

    return redact(str(exc))


def probe_image() -> bytes:
    """A 1×1 JPEG: what :func:`round_trip` puts in the store."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (255, 255, 255)).save(buffer, "JPEG")
    return buffer.getvalue()


def round_trip(store: PublicStore) -> str:
    """Put a 1×1 image in ``store``, fetch it back over its public URL as a network
    would, and delete it: a line saying so, or :class:`StoreError` with what failed."""
    import requests

    described = store.check()
    data = probe_image()
    with tempfile.TemporaryDirectory(prefix="siar-check-") as folder:
        path = Path(folder) / "siar-check.jpg"
        path.write_bytes(data)
        url = store.put(PreparedFile(path=path, mime="image/jpeg",
                                     sha256=hashlib.sha256(data).hexdigest(),
                                     alt="Siar store check", width=1, height=1,
                                     bytes=len(data)))
    try:
        try:
            answer = requests.get(url, timeout=CHECK_TIMEOUT)
        except requests.RequestException as exc:
            raise StoreError(_("uploaded, but {url} cannot be fetched ({reason}): the networks "
                               "could not fetch it either").format(
                                   url=_shown(url), reason=type(exc).__name__)) from exc
        if answer.status_code != 200:
            raise StoreError(_("uploaded, but {url} answers HTTP {status}: the networks could "
                               "not fetch the image").format(url=_shown(url),
                                                             status=answer.status_code))
        if answer.content != data:
            raise StoreError(_("uploaded, but {url} answers with other bytes: the networks "
                               "could not fetch the image").format(url=_shown(url)))
    finally:
        store.delete(url)
    return _("{described}; a 1×1 image was uploaded, fetched back from its public URL "
             "and deleted").format(described=described)


def _shown(url: str) -> str:
    """``url`` without its query (a presigned URL's signature is not for a terminal)."""
    return url.split("?", 1)[0]
