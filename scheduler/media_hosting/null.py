"""The store of a dry run: it names the URL a file would get and stores nothing."""

from __future__ import annotations

from scheduler.i18n import _
from scheduler.media_hosting.base import PreparedFile, PublicStore


class NullStore(PublicStore):
    """Dry runs and previews: ``dry-run://media/<store>/<sha256 prefix>.<ext>``."""

    def __init__(self, name: str = "none") -> None:
        self.name = name

    def put(self, prepared: PreparedFile) -> str:
        """A placeholder URL; nothing is uploaded."""
        return f"dry-run://media/{self.name}/{prepared.sha256[:16]}{prepared.suffix}"

    def delete(self, url: str) -> None:
        """Nothing was stored: nothing to delete."""

    def check(self) -> str:
        """Always fine: it touches nothing."""
        return _("dry run: images would be hosted by {store}").format(store=self.name)
