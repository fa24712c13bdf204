"""YouTube adapter (YouTube Data API v3): one prepared video per post, uploaded resumably.

1. an access token from the account's refresh token (:mod:`channels.youtube.api`);
2. ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the
   title, description, tags and privacy → a session URI, **checkpointed** before a byte
   of the video is sent; then the bytes in chunks (:mod:`channels.youtube.upload`);
3. the cover, when the video has one: ``POST /upload/youtube/v3/thumbnails/set`` (a
   channel YouTube has not verified may not set one: a 403 there is noted, the post
   stands);
4. ``GET /youtube/v3/videos?part=status,processingDetails`` until YouTube has processed
   it (a failed or rejected video is ``Rejected``), at most ``processing_timeout`` s.

The post's marker (a tag derived from its publish key) lets the probe find the video in
the channel's uploads when the session can no longer tell (:mod:`channels.youtube.probe`).
Siar does the timing: ``publishAt`` is never sent.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, ClassVar

from channels.base import (
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
    Variant,
    describe,
)
from channels.composing import Draft, Release
from channels.http import answered
from channels.i18n import N_, _
from channels.rules import (
    MIB,
    Counting,
    DailyCapacity,
    HashtagRules,
    ImageRules,
    PostRules,
    Unit,
    VideoRules,
)
from channels.variant import Media
from channels.youtube import metadata
from channels.youtube.api import GoogleChannel
from channels.youtube.probe import ProbeMixin
from channels.youtube.quota import capacity_of
from channels.youtube.upload import (
    Complete,
    Gone,
    Held,
    Sender,
    chunk_size_of,
    nothing_created,
)

if TYPE_CHECKING:
    import logging

__all__ = ["YouTubeChannel"]


def _log() -> logging.Logger:
    """This module's logger; logging is imported when a line is logged, which composing
    and previewing (they import every configured adapter) never do."""
    import logging

    return logging.getLogger(__name__)

PRIVACY = ("public", "unlisted", "private")
#: a tag the probe looks for: "siar" and 12 hex digits of the publish key's hash
MARKER_LENGTH = 16
#: vertical (or square) and at most this long: YouTube shows it as a Short
SHORTS_SECONDS = 180
#: an account YouTube has not verified uploads at most 15 minutes
UNVERIFIED_SECONDS = 15 * 60


def marker_of(publish_key: str) -> str:
    """The tag that names a post on YouTube (the probe searches for it)."""
    return "siar" + GoogleChannel.derive_key(publish_key, "youtube", length=12)


def is_short(video: Media) -> bool:
    """Vertical or square and at most three minutes: YouTube shows it as a Short (it
    needs no flag or #Shorts for that)."""
    return bool(video.width and video.height and video.width <= video.height
                and video.duration is not None and video.duration <= SHORTS_SECONDS)


class YouTubeChannel(ProbeMixin, GoogleChannel):
    """Options: ``privacy`` (``public``, ``unlisted``, ``private``; default public),
    ``category_id`` (default 25, News & Politics), ``long_uploads`` (the channel is
    verified: videos over 15 minutes), ``quota_uploads_per_day``, ``quota_units_per_day``,
    ``upload_cost_units``, ``chunk_bytes``, ``chunk_retries``, ``chunk_backoff``,
    ``processing_timeout``/``processing_interval`` (s), ``token_url``."""

    network = "youtube"
    display_name = "YouTube"
    accent_colour = "#ff0000"
    docs = "docs/channels/youtube.md"
    default_base_url = "https://www.googleapis.com"
    can_probe = True
    # the post's text is the video's description: at most 5,000 UTF-8 bytes
    post_rules = PostRules(limit=metadata.DESCRIPTION_BYTES,
                           counting=Counting(Unit.UTF8_BYTES), unit_name=N_("bytes"),
                           max_images=0)
    # YouTube ignores every hashtag of a video that has too many; the first three show
    # above the title. Fifteen is the number its help pages have long advised.
    hashtag_rules = HashtagRules(max_tags=15)
    # covers: thumbnails.set takes JPEG or PNG up to 2 MB, 1280×720 recommended
    image_rules = ImageRules(max_bytes=2 * 1000 * 1000, formats=frozenset({"JPEG", "PNG"}),
                             max_side=1280)
    # H.264/AAC MP4 at YouTube's recommended 1080p bit rate (8 Mbit/s, 12 at 50-60 fps);
    # any shape (YouTube letterboxes itself); 12 hours is the API's limit for a verified
    # channel (unverified: 15 minutes, checked by preflight)
    video_rules = VideoRules(max_bytes=128 * 1024 * MIB, max_seconds=12 * 3600.0,
                             max_fps=60.0, max_video_kbps=12_000, cover=True)

    secret_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret",
                                                "refresh_token")

    # --- composing -------------------------------------------------------------------
    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The video's title (≤ 100 characters), description (≤ 5,000 bytes) and tags
        (≤ 500 characters as YouTube counts them, room kept for the post's marker)."""
        # the video's own title (videos: [{title: …}]) names it, else the release's
        named = (release.videos[0].title if release.videos else None) or release.title
        title = metadata.title_of(named)
        if title != metadata.title_of(named, limit=len(named) + 1):
            draft.warn(_("the YouTube title is cut to {limit} characters: {title!r}").format(
                           limit=metadata.TITLE_LIMIT, title=title))
        text = "\n\n".join(draft.parts)
        description = metadata.description_of(text)
        tags, dropped = metadata.fit_tags(draft.tags,
                                          metadata.TAGS_LIMIT - MARKER_LENGTH - 1)
        if dropped:
            draft.warn(_("YouTube tags left out (500 characters in all): {tags}").format(
                tags=", ".join(dropped)))
        extra: dict[str, Any] = {"title": title, "tags": tags, "language": release.language}
        if description != text.strip():  # < > replaced or cut: else it is the post's text
            extra["description"] = description
        return extra

    # --- what the post needs -------------------------------------------------------------
    def preflight(self, variant: Variant) -> str | None:
        """Why the post cannot go to YouTube: no video, several, a bad option, a video
        too long for an unverified channel."""
        videos = [m for m in variant.media if m.kind == "video"]
        if not videos:
            return (_("YouTube posts need a video, and this release has none: add one to the "
                      "release, or leave this account out"))
        if len(videos) > 1:
            return _("YouTube takes one video per post: the release names several")
        privacy = self.account.options.get("privacy", "public")
        if privacy not in PRIVACY:
            return (_("options.privacy is {privacy!r}: use one of {choices}").format(
                        privacy=privacy, choices=', '.join(PRIVACY)))
        duration = videos[0].duration
        if (duration is not None and duration > UNVERIFIED_SECONDS
                and not self.account.options.get("long_uploads")):
            return (_("the video is {minutes:.0f} minutes long, and a YouTube channel uploads at "
                      "most 15 minutes until it is verified: verify it (youtube.com/verify) and "
                      "set options.long_uploads = true").format(minutes=duration / 60))
        try:
            self.daily_capacity()
        except ValueError as exc:
            return str(exc)
        return None

    def daily_capacity(self) -> DailyCapacity | None:
        """Uploads a Pacific day: the ``videos.insert`` bucket (``quota_uploads_per_day``,
        100), and, where uploads are charged in units (``upload_cost_units``, 1,600 on
        older projects), what ``quota_units_per_day`` (10,000) pays for."""
        return capacity_of(self.account.options)

    @staticmethod
    def video_of(variant: Variant) -> Media | None:
        return next((m for m in variant.media if m.kind == "video"), None)

    def resource(self, delivery: Delivery) -> dict[str, Any]:
        """The video resource sent with the upload: snippet (with the marker tag) and
        status. ``publishAt`` is never set: Siar publishes at the post's time."""
        variant = delivery.variant
        extra = variant.extra
        video = self.video_of(variant)
        # the video's own title (videos: [{title: …}]) before the release's
        title = metadata.title_of((video.title if video else None) or extra.get("title")
                                  or variant.title or variant.parts[0])
        description = metadata.description_of(extra.get("description")
                                              or "\n\n".join(variant.parts))
        tags, _dropped = metadata.fit_tags(list(extra.get("tags", [])),
                                    metadata.TAGS_LIMIT - MARKER_LENGTH - 1)
        snippet: dict[str, Any] = {
            "title": title, "description": description,
            "tags": [*tags, marker_of(delivery.publish_key)],
            "categoryId": str(self.account.options.get("category_id", "25"))}
        if language := extra.get("language"):
            snippet["defaultLanguage"] = language
        return {"snippet": snippet,
                "status": {"privacyStatus": self.account.options.get("privacy", "public"),
                           "selfDeclaredMadeForKids": False}}

    # --- publishing -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        from channels.video.checks import refused_video
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        if problem := self.preflight(delivery.variant):
            return Rejected(problem)
        video = self.video_of(delivery.variant)
        assert video is not None  # preflight
        video_id = delivery.state.get("youtube_video_id")
        if video_id is None:
            if refused := refused_video(delivery.variant):
                return refused  # changed or removed since it was queued: nothing sent
            uploaded = self._upload(delivery, video)
            if not isinstance(uploaded, str):
                return uploaded
            video_id = uploaded
        if video.cover and "youtube_thumbnail" not in delivery.state:
            delivery.checkpoint(youtube_thumbnail=self._thumbnail(video_id, video.cover))
        processed = self._wait_for_processing(video_id)
        if processed is not None:
            return processed
        url = self.video_url(video_id, video)
        delivery.part_published(0, video_id, url,
                                thumbnail=delivery.state.get("youtube_thumbnail"))
        return Published(video_id, url)

    def video_url(self, video_id: str, video: Media | None) -> str:
        if video is not None and is_short(video):
            return f"https://www.youtube.com/shorts/{video_id}"
        return f"https://www.youtube.com/watch?v={video_id}"

    def sender(self, uri: str, video: Media) -> Sender:
        options = self.account.options
        return Sender(self.google, self.error, uri=uri, path=video.path,
                      size=self.size_of(video), mime=video.mime or "video/mp4",
                      chunk=chunk_size_of(options.get("chunk_bytes", 0)),
                      retries=int(options.get("chunk_retries", 5)),
                      backoff=float(options.get("chunk_backoff", 1.0)))

    @staticmethod
    def size_of(video: Media) -> int:
        return video.bytes if video.bytes is not None else os.path.getsize(video.path)

    def _upload(self, delivery: Delivery, video: Media) -> str | Outcome:
        """The video's id once YouTube holds every byte; resumes a checkpointed session."""
        try:
            size = self.size_of(video)
        except OSError as exc:
            return Rejected(_("the prepared video cannot be read: {reason}").format(
                                reason=exc.strerror or exc))
        session = delivery.state.get("youtube_session")
        result: Complete | Gone | Outcome | None = None
        if session and session.get("size") == size:
            sender = self.sender(session["uri"], video)
            asked = sender.ask()
            if isinstance(asked, Held):
                result = sender.send(asked.offset)
            elif isinstance(asked, Complete | Gone):
                result = asked
            else:
                return nothing_created(asked)
            if isinstance(result, Gone):  # it may have completed before it expired
                found = self.find_by_marker(delivery, since=session.get("started"))
                if isinstance(found, str):
                    result = Complete({"id": found})
                elif found is None:  # a new upload now could be a second video
                    return InDoubt(_("the upload session is gone and the channel's uploads "
                                     "cannot tell yet whether it completed"))
        if result is None or isinstance(result, Gone):
            started = self._start(delivery, size, video)
            if not isinstance(started, str):
                return started
            result = self.sender(started, video).send(0)
        if isinstance(result, Gone):
            delivery.checkpoint(youtube_session=None)
            return NotSent(_("the upload session expired during the upload; the next attempt "
                             "starts a new one"))
        if not isinstance(result, Complete):
            return result
        video_id = str(result.video["id"])
        delivery.checkpoint(youtube_video_id=video_id)
        privacy = (result.video.get("status") or {}).get("privacyStatus")
        wanted = self.account.options.get("privacy", "public")
        if privacy and privacy != wanted:
            _log().warning("%s: YouTube made video %s %s, not %s (an API project YouTube has "
                        "not audited may only upload private videos)", self.account.name,
                        video_id, privacy, wanted)
        return video_id

    def _start(self, delivery: Delivery, size: int, video: Media) -> str | Outcome:
        """Open a resumable session and checkpoint its URI before any byte is sent."""
        from datetime import UTC, datetime

        response = self.google(
            "POST", f"{self.base_url}/upload/youtube/v3/videos",
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=self.resource(delivery),
            headers={"X-Upload-Content-Length": str(size),
                     "X-Upload-Content-Type": video.mime or "video/mp4"})
        if not answered(response):
            return nothing_created(response)
        if response.status_code != 200 or not response.headers.get("Location"):
            # opening a session creates no video: whatever happened, none exists
            return nothing_created(self.error(response, _("upload session")))
        uri = response.headers["Location"]
        delivery.checkpoint(youtube_session={"uri": uri, "size": size,
                                             "started": datetime.now(UTC).isoformat()})
        return uri

    def _thumbnail(self, video_id: str, cover: str) -> str:
        """"set", or why not (a channel YouTube has not verified may not set one)."""
        try:
            with open(cover, "rb") as file:
                data = file.read()
        except OSError as exc:
            return _("not set: the cover cannot be read ({reason})").format(
                       reason=exc.strerror or exc)
        response = self.google("POST", f"{self.base_url}/upload/youtube/v3/thumbnails/set",
                               params={"videoId": video_id, "uploadType": "media"},
                               data=data, headers={"Content-Type": "image/jpeg"})
        if answered(response) and response.status_code == 200:
            return "set"
        reason = describe(response if not answered(response)
                          else self.error(response, "thumbnails.set"))
        _log().warning("%s: the cover of video %s was not set: %s", self.account.name,
                    video_id, reason)
        return _("not set: {reason}").format(reason=reason)

    def _wait_for_processing(self, video_id: str) -> Outcome | None:
        """None once YouTube has processed the video (or is still at it when the wait
        ends: it is on the channel either way); ``Rejected`` when processing failed."""
        options = self.account.options
        interval = float(options.get("processing_interval", 5.0))
        deadline = time.monotonic() + float(options.get("processing_timeout", 120.0))
        while True:
            found = self.video_status(video_id)
            if isinstance(found, dict):
                status = found.get("status") or {}
                upload = status.get("uploadStatus")
                if upload in ("failed", "rejected"):
                    why = status.get("failureReason") or status.get("rejectionReason")
                    return Rejected(_("YouTube {status} the video {video_id}: {reason}").format(
                                        status=upload, video_id=video_id, reason=why))
                if upload == "processed":
                    return None
            if time.monotonic() + interval > deadline:
                return None  # uploaded: YouTube goes on processing without us
            time.sleep(interval)

    def video_status(self, video_id: str) -> dict[str, Any] | Outcome | None:
        """The video resource (status, processing details, tags), ``None`` if YouTube
        does not know it."""
        response = self.google("GET", f"{self.base_url}/youtube/v3/videos",
                               params={"part": "snippet,status,processingDetails",
                                       "id": video_id})
        if not answered(response):
            return response
        if response.status_code != 200:
            return self.error(response, "videos.list")
        items = response.json().get("items") or []
        return items[0] if items else None

    # --- checking and describing -------------------------------------------------------------
    def check(self) -> CheckResult:
        """The channel the refresh token speaks for, and whether it may upload long videos."""
        response = self.google("GET", f"{self.base_url}/youtube/v3/channels",
                               params={"part": "snippet,status", "mine": "true"})
        if not answered(response):
            return CheckResult(ok=False, detail=describe(response))
        if response.status_code != 200:
            return CheckResult(ok=False, detail=describe(self.error(response, "channels")))
        items = response.json().get("items") or []
        if not items:
            return CheckResult(ok=False, detail=_("the Google account has no YouTube channel"))
        channel = items[0]
        snippet = channel.get("snippet") or {}
        identity = snippet.get("customUrl") or snippet.get("title") or channel.get("id")
        long_uploads = (channel.get("status") or {}).get("longUploadsStatus", "unknown")
        capacity = self.daily_capacity()
        detail = (_("token valid for {title} ({identity}); long uploads: {long_uploads}; privacy "
                    "{privacy}").format(
                      title=snippet.get('title'), identity=identity, long_uploads=long_uploads,
                      privacy=self.account.options.get('privacy', 'public')))
        if capacity is not None:
            detail += _("; {uploads} uploads a day by the quota settings").format(
                          uploads=capacity.posts)
        return CheckResult(ok=True, detail=detail, identity=str(identity))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        """Token, session, chunks, cover and processing; no secret."""
        video = self.video_of(delivery.variant)
        size = video.bytes if video is not None and video.bytes is not None else 0
        chunk = chunk_size_of(self.account.options.get("chunk_bytes", 0))
        planned: list[dict[str, Any]] = [
            {"method": "POST", "url": self.token_url,
             "data": {"grant_type": "refresh_token"}},
            {"method": "POST", "url": f"{self.base_url}/upload/youtube/v3/videos",
             "params": {"uploadType": "resumable", "part": "snippet,status"},
             "headers": {"X-Upload-Content-Length": str(size),
                         "X-Upload-Content-Type": (video.mime if video else None)
                         or "video/mp4"},
             "json": self.resource(delivery)},
            {"method": "PUT", "url": "<session URI>", "file": video.path if video else None,
             "bytes": size, "chunks": max(1, -(-size // chunk)),
             "short": bool(video and is_short(video))}]
        if video is not None and video.cover:
            planned.append({"method": "POST",
                            "url": f"{self.base_url}/upload/youtube/v3/thumbnails/set",
                            "params": {"videoId": "<video id>"}, "file": video.cover})
        planned.append({"method": "GET", "url": f"{self.base_url}/youtube/v3/videos",
                        "params": {"part": "snippet,status,processingDetails",
                                   "id": "<video id>"}})
        return planned
