"""``store = "siar"``: the daemon serves the images itself, behind the reverse proxy.

For a unit with neither a WordPress site nor a bucket: the daemon's HTTP server
(``[daemon] http_port``, which also serves ``/healthz``) answers ``GET /media/<token>/
<name>`` and the proxy publishes it as ``public_base_url`` (with or without passing that
URL's path on). Each put makes a fresh random
token (144 bits), so a path cannot be guessed and two posts sharing an image never share
a path; a file is served until it is deleted after the network fetched it, and never
longer than ``expires_seconds`` after it was put. The files live in ``directory``
(default ``$SIAR_HOME/public-media``), so ``siar accounts check`` — another process —
puts its test image where the daemon serves it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

from scheduler.i18n import _
from scheduler.media_hosting.base import PreparedFile, PublicStore, StoreError

#: the path the daemon's HTTP server answers under
ROUTE = "/media/"
#: the Content-Type of each file a store holds (images, and the videos Instagram, Threads
#: and TikTok fetch), by the suffix :meth:`SiarStore.put` gave it
SERVED_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                ".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4"}
_SERVED = re.compile(r"^/media/(?P<token>[A-Za-z0-9_-]{24,64})/(?P<name>[A-Za-z0-9._-]{1,100})$")


@dataclass(frozen=True)
class ServedFile:
    """A hosted file being answered: open for reading, ``size`` bytes of ``kind``."""

    file: BinaryIO
    size: int
    kind: str


class SiarStore(PublicStore):
    """Files in a directory, one random-token folder each, served by :meth:`serve`."""

    name = "siar"

    def __init__(self, *, directory: Path, public_base_url: str,
                 expires_seconds: int = 3600) -> None:
        self.directory = directory
        self.public_base_url = public_base_url.rstrip("/")
        self.expires_seconds = expires_seconds

    def put(self, prepared: PreparedFile) -> str:
        """Copy the file to ``<directory>/<token>/<sha256 prefix>.<ext>``; its URL."""
        self.sweep()
        token = secrets.token_urlsafe(18)
        name = f"{prepared.sha256[:16]}{prepared.suffix}"
        folder = self.directory / token
        try:
            folder.mkdir(parents=True, mode=0o750)
            shutil.copyfile(prepared.path, folder / name)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise StoreError(_("cannot write {folder}: {reason}").format(
                folder=folder, reason=exc.strerror or exc)) from exc
        return f"{self.public_base_url}{ROUTE}{token}/{quote(name)}"

    def delete(self, url: str) -> None:
        """Remove the file's folder: its path answers 404 from now on."""
        path = unquote(urlsplit(url).path)
        found = _SERVED.search(path[path.find(ROUTE):]) if ROUTE in path else None
        if found is not None:
            shutil.rmtree(self.directory / found["token"], ignore_errors=True)

    def check(self) -> str:
        """The directory can be written."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
            probe = self.directory / f".check-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(_("cannot write {folder}: {reason}; make it writable by the user "
                               "the daemon runs as").format(folder=self.directory,
                                                            reason=exc.strerror or exc)) from exc
        return _("served by the daemon at {url}{route} from {directory}").format(
                   url=self.public_base_url, route=ROUTE, directory=self.directory)

    def serve(self, path: str) -> ServedFile | None:
        """The file the daemon answers for request ``path``, opened for reading (the
        caller sends it in blocks and closes it: a hosted video is never read whole), or
        ``None`` (404) for anything not put, deleted, expired, or not a served path."""
        # a proxy that passes public_base_url's path on (nginx ``proxy_pass`` without a
        # trailing slash) is served as well as one that strips it
        prefix = urlsplit(self.public_base_url).path
        found = _SERVED.match(path.removeprefix(prefix) if prefix else path)
        if found is None:
            return None
        file = self.directory / found["token"] / found["name"]
        try:
            reading = file.open("rb")
        except OSError:
            return None
        try:  # the open file's own facts: deleted or replaced meanwhile, it is still whole
            facts = os.fstat(reading.fileno())
            if time.time() - facts.st_mtime > self.expires_seconds:
                reading.close()
                return None
        except OSError:
            reading.close()
            return None
        kind = SERVED_TYPES.get(file.suffix.lower(), "application/octet-stream")
        return ServedFile(file=reading, size=facts.st_size, kind=kind)

    def sweep(self) -> None:
        """Remove folders past their expiry (left by a daemon stopped mid-publish)."""
        if not self.directory.is_dir():
            return
        limit = time.time() - self.expires_seconds
        for folder in self.directory.iterdir():
            try:
                if folder.is_dir() and folder.stat().st_mtime < limit:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue
