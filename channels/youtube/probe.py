"""Settling a YouTube post in doubt, cheapest question first.

1. the video's id was checkpointed: ``videos.list`` says whether it is there (1 unit);
2. a session URI was checkpointed: asking the session (``Content-Range: bytes */SIZE``)
   answers with the video when the upload completed, or with what it holds — then no
   video exists and the next attempt resumes the session (no quota);
3. the session is gone: the channel's uploads playlist (``channels.list`` →
   ``playlistItems.list``, 1 unit each) and ``videos.list`` on those ids (1 unit for 50)
   are searched for the post's marker tag.

``search.list`` is not used: it costs 100 units, has a bucket of only 100 calls a day of
its own, and its index lags behind new uploads, so a missing answer proves nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from channels.base import Delivery, NotSent, Outcome, Published
from channels.http import answered
from channels.i18n import _
from channels.youtube.upload import Complete, Held

if TYPE_CHECKING:
    from channels.youtube import YouTubeChannel

__all__ = ["ProbeMixin"]

#: the newest uploads the marker search reads (one page)
PAGE = 50


class ProbeMixin:
    """:meth:`probe` and :meth:`find_by_marker` of :class:`~channels.youtube.YouTubeChannel`."""

    def probe(self: YouTubeChannel, delivery: Delivery) -> Outcome | None:  # type: ignore[misc]
        """``Published`` when the video is on the channel, ``NotSent`` when it provably is
        not (the upload never completed), ``None`` when YouTube cannot tell now."""
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        video = self.video_of(delivery.variant)
        state = delivery.state
        if video_id := state.get("youtube_video_id"):
            found = self.video_status(video_id)
            # not found: deleted on YouTube since, or not asked: staff decide
            return _published(self, delivery, video_id) if isinstance(found, dict) else None
        session = state.get("youtube_session")
        if not session:
            return NotSent(_("the upload never began (no session was opened)"))
        if video is not None:
            asked = self.sender(session["uri"], video).ask()
            if isinstance(asked, Complete):
                delivery.checkpoint(youtube_video_id=str(asked.video["id"]))
                return _published(self, delivery, str(asked.video["id"]))
            if isinstance(asked, Held):
                return NotSent(_("the upload is incomplete ({done:,} of {size:,} bytes): no "
                                 "video exists, and the next attempt resumes it").format(
                                   done=asked.offset, size=session.get('size', 0)))
            if isinstance(asked, Outcome):  # YouTube could not be asked
                return None
            # the session is gone: it may have completed before it expired
        found = self.find_by_marker(delivery, since=session.get("started"))
        if isinstance(found, str):
            delivery.checkpoint(youtube_video_id=found)
            return _published(self, delivery, found)
        if found is False:
            delivery.checkpoint(youtube_session=None)  # gone: the next attempt starts anew
            return NotSent(_("the session is gone and the channel's uploads since it began hold "
                             "no video with the post's marker"))
        return None

    def find_by_marker(self: YouTubeChannel, delivery: Delivery,  # type: ignore[misc]
                       since: str | None) -> str | bool | None:
        """The id of the channel's video tagged with the post's marker; ``False`` when the
        newest uploads reach back before ``since`` (ISO time) without it; ``None`` when
        YouTube could not be asked or the page does not reach back that far."""
        from channels.youtube import marker_of

        marker = marker_of(delivery.publish_key)
        mine = self.google("GET", f"{self.base_url}/youtube/v3/channels",
                           params={"part": "contentDetails", "mine": "true"})
        if not answered(mine) or mine.status_code != 200:
            return None
        items = mine.json().get("items") or []
        uploads = (((items[0] if items else {}).get("contentDetails") or {})
                   .get("relatedPlaylists") or {}).get("uploads")
        if not uploads:
            return None
        listing = self.google("GET", f"{self.base_url}/youtube/v3/playlistItems",
                              params={"part": "snippet,contentDetails",
                                      "playlistId": uploads, "maxResults": str(PAGE)})
        if not answered(listing) or listing.status_code != 200:
            return None
        entries: list[dict[str, Any]] = listing.json().get("items") or []
        ids = [str((e.get("contentDetails") or {}).get("videoId")) for e in entries]
        if ids:
            videos = self.google("GET", f"{self.base_url}/youtube/v3/videos",
                                 params={"part": "snippet", "id": ",".join(ids)})
            if not answered(videos) or videos.status_code != 200:
                return None
            for item in videos.json().get("items") or []:
                if marker in ((item.get("snippet") or {}).get("tags") or []):
                    return str(item["id"])
        if since is None:
            return None
        began = datetime.fromisoformat(since)
        times = [datetime.fromisoformat(str((e.get("snippet") or {}).get("publishedAt"))
                                        .replace("Z", "+00:00")) for e in entries]
        # every upload since the session began is on this page only if the page is not
        # full, or its oldest entry is older than the session
        if len(entries) < PAGE or (times and min(times) < began):
            return False
        return None


def _published(channel: YouTubeChannel, delivery: Delivery, video_id: str) -> Published:
    url = channel.video_url(video_id, channel.video_of(delivery.variant))
    delivery.part_published(0, video_id, url)
    return Published(video_id, url)
