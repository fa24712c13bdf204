"""``store = "wordpress:ACCOUNT"``: the unit's own WordPress media library.

Most Humas units already run a WordPress site with an application password for Siar, so
this store needs nothing new: each image is uploaded as it was prepared (never
re-encoded) and its ``source_url`` — public as soon as it exists — goes to the network.
After the network fetched it, the item is deleted for good (``force=true``: attachments
cannot be trashed), unless ``[media] keep = true`` leaves it in the library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from channels.wordpress import MediaUploadError, WordPressChannel
from scheduler.i18n import _
from scheduler.media_hosting.base import PreparedFile, PublicStore, StoreError


class WordPressStore(PublicStore):
    """Uploads through the WordPress account's adapter (its credentials, its session)."""

    def __init__(self, account: str, adapter: Callable[[], Any]) -> None:
        self.name = f"wordpress:{account}"
        self.account = account
        self._adapter = adapter
        #: source_url → media id of the files this process put (deleted by id)
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def site(self) -> WordPressChannel:
        """The account's adapter; :class:`StoreError` if it is not a WordPress one."""
        try:
            adapter = self._adapter()
        except Exception as exc:  # a missing secret names its variable, never its value
            raise StoreError(str(exc)) from exc
        if not isinstance(adapter, WordPressChannel):
            raise StoreError(_("account {account} is not a WordPress account").format(
                account=repr(self.account)))
        return adapter

    def put(self, prepared: PreparedFile) -> str:
        """Upload the file as ``siar-<sha256 prefix>.<ext>`` (WordPress adds ``-1``, ``-2``
        … to a name already used) with its alt text."""
        site = self.site()
        try:  # streamed from disk: a hosted video is never read whole
            uploaded = site.host_path(str(prepared.path), mime=prepared.mime,
                                      filename=f"siar-{prepared.sha256[:16]}{prepared.suffix}",
                                      alt=prepared.alt)
        except OSError as exc:
            raise StoreError(_("{file} cannot be read: {reason}").format(
                file=prepared.path.name, reason=exc.strerror)) from exc
        except MediaUploadError as exc:
            raise StoreError(str(exc)) from exc
        url = str(uploaded["url"])
        with self._lock:
            self._ids[url] = int(uploaded["id"])
        return url

    def delete(self, url: str) -> None:
        """Delete the library item behind ``url``. An item put by another process (the
        daemon restarted in between) is unknown here and stays in the library."""
        with self._lock:
            media_id = self._ids.pop(url, None)
        if media_id is None:
            return
        try:
            self.site().delete_media(media_id)
        except MediaUploadError as exc:
            raise StoreError(str(exc)) from exc

    def check(self) -> str:
        """The account's own check (``GET /wp/v2/users/me``)."""
        result = self.site().check()
        if not result.ok:
            raise StoreError(_("WordPress account {account}: {detail}").format(
                account=repr(self.account), detail=result.detail))
        return _("WordPress media library of {account} ({identity})").format(
                   account=self.account, identity=result.identity)
