"""Media hosting: where images go for networks that fetch them by URL (``[media]``).

One module per store — :mod:`~scheduler.media_hosting.wordpress` (the unit's WordPress
media library), :mod:`~scheduler.media_hosting.s3` (a bucket, presigned URLs),
:mod:`~scheduler.media_hosting.siar` (the daemon serves them) and
:mod:`~scheduler.media_hosting.null` (dry runs) — behind one interface,
:class:`~scheduler.media_hosting.base.PublicStore`. :func:`open_store` builds the one
``[media] store`` names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scheduler.media_hosting.base import (
    PreparedFile,
    PublicStore,
    StoreError,
    StoreHost,
    round_trip,
)

if TYPE_CHECKING:  # a type only: whoever opens a store has loaded the settings
    from scheduler.settings import MediaSettings

__all__ = ["PreparedFile", "PublicStore", "StoreError", "StoreHost", "open_store",
           "round_trip"]


def open_store(media: MediaSettings, *, adapter: Callable[[str], Any],
               dry_run: bool = False) -> PublicStore | None:
    """The store ``media.store`` names (``None`` when unset). ``adapter(name)`` gives an
    account's adapter (the WordPress store uploads through it); a dry run gets the
    :class:`~scheduler.media_hosting.null.NullStore`, which uploads nothing."""
    if not media.store:
        return None
    if dry_run:
        from scheduler.media_hosting.null import NullStore

        return NullStore(media.store)
    kind, _, account = media.store.partition(":")
    if kind == "wordpress":
        from scheduler.media_hosting.wordpress import WordPressStore

        return WordPressStore(account, lambda: adapter(account))
    if kind == "s3":
        from scheduler.media_hosting.s3 import S3Store

        return S3Store(bucket=str(media.bucket), prefix=media.prefix,
                       endpoint_url=media.endpoint_url, region=media.region,
                       expires_seconds=media.expires_seconds)
    from scheduler.media_hosting.siar import SiarStore
    from scheduler.settings import data_dir

    return SiarStore(directory=media.directory or data_dir() / "public-media",
                     public_base_url=str(media.public_base_url),
                     expires_seconds=media.expires_seconds)
