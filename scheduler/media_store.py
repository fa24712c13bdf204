"""The media store: every image a queued release names, kept by its content.

``siar add`` copies each image into ``<data dir>/media/<sha256>/<file name>`` — the data
dir is ``$SIAR_HOME`` (default ``~/.local/share/siar``), where the SQLite database lives —
and the queued posts name that copy, so what was queued is what is published even if the
original is edited, replaced or deleted, or lives outside the release's folder (``../``,
an absolute path, a symlink). The folder's name is the SHA-256 of the bytes, so a stored
file vouches for itself: :func:`channels.images.prepare_image` checks it right before
every upload, and a copy changed after queueing is refused (the post is rejected with the
reason) instead of published or retried forever. The original file name is kept inside the
folder because networks show it (the WordPress media library, an e-mail attachment) and
Instagram/Threads build their public URL from it.

The files prepared for each network from those images (``scheduler/media_prep.py``:
converted, scaled, stripped of metadata) are kept the same way, by :meth:`MediaStore.put`,
and the posts name them: the original stays for the record and for re-preparing.

Nothing is removed here: a file is shared by every post of a release, by every occurrence
of a recurring release and by every release that names the same photo. Copies left by a
``siar add`` that failed after copying are harmless (content-addressed, reused next time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from channels.stored_media import FOLDER, MAX_IMAGE_BYTES
from scheduler.errors import SiarError
from scheduler.i18n import _

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A file kept in the store: where it is and the SHA-256 of its bytes."""

    path: Path
    sha256: str


def default_root() -> Path:
    """The store of this Siar home: ``<data dir>/media``, next to the SQLite database."""
    from scheduler.settings import data_dir  # settings pulls in pydantic; only when needed

    return data_dir() / FOLDER


@dataclass
class MediaStore:
    """One ``siar add``'s use of the store: each distinct source file is read, hashed and
    copied once however many releases and accounts name it (a content calendar often
    names the same logo a hundred times)."""

    root: Path = field(default_factory=default_root)
    _kept: dict[Path, StoredFile] = field(default_factory=dict, repr=False)

    def keep(self, source: Path, *, limit: int = MAX_IMAGE_BYTES) -> StoredFile:
        """Copy ``source`` into the store (once per call) and return the stored copy.

        The bytes are hashed while they are copied, so the name always matches what was
        written; the copy is synced to disk before the posts naming it are committed, and
        moved into place atomically. Raises :class:`SiarError` naming the file and the fix.
        """
        key = source.resolve()
        if (kept := self._kept.get(key)) is not None:
            return kept
        try:
            stored = self._copy(key, source.name, limit)
        except OSError as exc:
            raise SiarError(_("{source}: cannot keep a copy in the media store "
                              "{store}: {reason}").format(
                                source=source, store=self.root, reason=exc.strerror or exc),
                            hint=_("check the free space and permissions there, or set SIAR_HOME "
                                   "to a writable place")) from exc
        self._kept[key] = stored
        return stored

    def put(self, data: bytes, name: str) -> StoredFile:
        """Keep ``data`` (a prepared image) as ``<sha256>/<name>``: written once, however
        many times the same bytes are put (a file already there is trusted: its folder
        names its content, and publishing checks it)."""
        import hashlib

        sha256 = hashlib.sha256(data).hexdigest()
        target = self.root / sha256 / name
        if target.is_file() and target.stat().st_size == len(data):
            return StoredFile(path=target, sha256=sha256)
        def fill(writing: BinaryIO) -> str:
            writing.write(data)
            return sha256

        try:
            return self._write(name, fill)
        except OSError as exc:
            raise SiarError(_("{name}: cannot keep the prepared image in the media store "
                              "{store}: {reason}").format(
                                name=name, store=self.root, reason=exc.strerror or exc),
                            hint=_("check the free space and permissions there, or set SIAR_HOME "
                                   "to a writable place")) from exc

    def adopt(self, prepared: Path, name: str, sha256: str) -> StoredFile:
        """Move ``prepared`` (a video prepared in :meth:`work_folder`, whose SHA-256 was
        taken as it was written) into the store as ``<sha256>/<name>``: a rename, however
        large the file; one already there is kept and ``prepared`` removed."""
        target = self.root / sha256 / name
        try:
            if target.is_file() and target.stat().st_size == prepared.stat().st_size:
                prepared.unlink()
                return StoredFile(path=target, sha256=sha256)
            with prepared.open("rb") as reading:
                os.fsync(reading.fileno())
            target.parent.mkdir(exist_ok=True)
            os.replace(prepared, target)
            os.chmod(target, 0o444)
            _sync_folder(target.parent)
            _sync_folder(self.root)
        except OSError as exc:
            raise SiarError(_("{name}: cannot keep the prepared video in the media store "
                              "{store}: {reason}").format(
                                name=name, store=self.root, reason=exc.strerror or exc),
                            hint=_("check the free space and permissions there, or set SIAR_HOME "
                                   "to a writable place")) from exc
        return StoredFile(path=target, sha256=sha256)

    def work_folder(self) -> Path:
        """A new temporary folder inside the store (the same file system, so
        :meth:`adopt` is a rename); the caller removes it."""
        import tempfile

        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root, prefix=".preparing-"))

    def _copy(self, source: Path, name: str, limit: int = MAX_IMAGE_BYTES) -> StoredFile:
        """Stream ``source`` into the store while hashing it (see :meth:`_write`)."""
        import hashlib

        def copy(writing: BinaryIO) -> str:
            hasher = hashlib.sha256()
            size = 0
            with source.open("rb") as reading:
                while chunk := reading.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:  # it grew since the release was checked
                        raise SiarError(_("{source}: larger than {limit:,} bytes").format(
                                            source=source, limit=limit),
                                        hint=_("export a smaller file"))
                    hasher.update(chunk)
                    writing.write(chunk)
            return hasher.hexdigest()

        return self._write(name, copy)

    def _write(self, name: str, fill: Callable[[BinaryIO], str]) -> StoredFile:
        """Write a temporary file in the store with ``fill`` (which returns the SHA-256 of
        what it wrote), sync it, then move it to ``<sha256>/<name>``; the temporary file
        never outlives a failure."""
        import tempfile

        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as writing:
                sha256 = fill(writing)
                writing.flush()
                os.fsync(writing.fileno())
            folder = self.root / sha256
            folder.mkdir(exist_ok=True)
            target = folder / name
            # replacing an existing copy is harmless (same bytes) and mends one edited by hand
            os.replace(temporary, target)
            os.chmod(target, 0o444)  # a stored copy is never edited in place
            _sync_folder(folder)
            _sync_folder(self.root)
            return StoredFile(path=target, sha256=sha256)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    """Make a new entry in ``folder`` survive a power loss (POSIX; elsewhere a no-op)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some filesystems cannot sync a folder; the file itself is synced
    finally:
        os.close(handle)
