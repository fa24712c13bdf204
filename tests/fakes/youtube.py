"""A fake YouTube Data API v3 with Google's OAuth 2 token endpoint.

Follows the API reference and guides:

* ``POST /token`` (Google's "Refreshing an access token"): form ``grant_type=refresh_token``,
  ``client_id``, ``client_secret``, ``refresh_token`` → ``{"access_token", "expires_in",
  "scope", "token_type": "Bearer"}``; ``400 {"error": "invalid_grant"}`` for a revoked
  refresh token, ``401 {"error": "invalid_client"}`` for a wrong client;
* the resumable upload protocol ("Resumable Uploads" guide): ``POST
  /upload/youtube/v3/videos?uploadType=resumable&part=…`` with the video resource and
  ``X-Upload-Content-Length`` → 200 and ``Location`` (the session URI, ``upload_id``);
  ``PUT`` chunks with ``Content-Range: bytes A-B/SIZE`` (every chunk but the last a
  multiple of 256 KiB) → ``308`` with ``Range: bytes=0-N`` until the last byte, then
  ``201`` with the video resource; ``Content-Range: bytes */SIZE`` asks the status;
  a session it does not know (expired) is 404;
* ``videos`` resource limits: title ≤ 100 characters, description ≤ 5,000 bytes, neither
  with ``<`` or ``>`` (``invalidTitle``, ``invalidDescription``), tags ≤ 500 characters
  counted with commas and the quotes of tags with spaces (``invalidTags``),
  ``privacyStatus`` public/unlisted/private;
* quota ("Quota costs"): ``videos.insert`` has its own daily bucket (``uploads_per_day``),
  everything else spends units (``units_per_day``; list 1, ``thumbnails.set`` 50);
  exhausted → ``403`` reason ``quotaExceeded`` (domain ``youtube.quota``);
* ``videos.list`` (``status.uploadStatus`` uploaded → processed after
  ``processing_polls`` reads, or failed/rejected with a reason), ``channels.list?mine``,
  ``playlistItems.list`` on the uploads playlist (newest first), ``thumbnails.set``
  (``403 forbidden`` for a channel not allowed custom thumbnails);
* an expired or unknown access token → ``401`` reason ``authError``.
"""

from __future__ import annotations

import itertools
import re
import secrets as random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeRequest, FakeServer, Response

UNIT = 256 * 1024
CHANNEL_ID = "UCx1lapasPangkalpinang0"
UPLOADS = "UU" + CHANNEL_ID[2:]
UPLOAD_PATH = "/upload/youtube/v3/videos"


def google_error(status: int, reason: str, message: str, domain: str = "youtube") -> Response:
    return status, {}, {"error": {"code": status, "message": message,
                                  "errors": [{"domain": domain, "reason": reason,
                                              "message": message}]}}


def tags_length(tags: list[str]) -> int:
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


@dataclass
class Session:
    id: str
    size: int
    resource: dict[str, Any]
    received: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass
class Video:
    id: str
    resource: dict[str, Any]
    data: bytes
    uploaded_at: datetime
    polls: int = 0
    thumbnail: bytes | None = None


class FakeYouTube(FakeServer):
    def __init__(self, *, client_id: str, client_secret: str, refresh_token: str,
                 uploads_per_day: int = 100, units_per_day: int = 10_000) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.uploads_per_day, self.units_per_day = uploads_per_day, units_per_day
        self._counter = itertools.count(1)
        self.reset()
        self.route("POST", "/token", self._token)
        self.route("POST", UPLOAD_PATH, self._authed(self._start))
        self.route("PUT", UPLOAD_PATH, self._authed(self._put))
        self.route("GET", "/youtube/v3/videos", self._authed(self._videos))
        self.route("GET", "/youtube/v3/channels", self._authed(self._channels))
        self.route("GET", "/youtube/v3/playlistItems", self._authed(self._playlist))
        self.route("POST", "/upload/youtube/v3/thumbnails/set", self._authed(self._thumbnail))

    # --- test helpers ---------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
        self.tokens: set[str] = set()
        self.sessions: dict[str, Session] = {}
        self.videos: list[Video] = []
        self.uploads_today = 0
        self.units_today = 0
        #: reads of videos.list before a video is processed
        self.processing_polls = 0
        #: what processing ends in: "processed", "failed" or "rejected"
        self.processing_result = "processed"
        #: the channel may set custom thumbnails (a verified channel)
        self.thumbnails_allowed = True
        #: privacy forced on every upload (an API project YouTube has not audited)
        self.forced_privacy: str | None = None

    def expire_tokens(self) -> None:
        """Every access token handed out so far is expired (an hour went by)."""
        self.tokens.clear()

    def forget_sessions(self) -> None:
        """Every upload session is gone (they last about a week)."""
        self.sessions.clear()

    def add_old_video(self, title: str, *, age: timedelta) -> Video:
        """A video already on the channel, uploaded ``age`` ago."""
        video = self._video({"snippet": {"title": title, "tags": []},
                             "status": {"privacyStatus": "public"}}, b"old")
        video.uploaded_at = datetime.now(UTC) - age
        return video

    # --- plumbing ---------------------------------------------------------------------------
    def _authed(self, handler: Any) -> Any:
        def checked(request: FakeRequest) -> Response:
            header = request.header("Authorization") or ""
            if not header.startswith("Bearer ") or header[7:] not in self.tokens:
                return google_error(401, "authError", "Invalid Credentials", domain="global")
            return handler(request)
        return checked

    def _spend(self, units: int) -> Response | None:
        if self.units_today + units > self.units_per_day:
            return google_error(403, "quotaExceeded", "The request cannot be completed "
                                "because you have exceeded your quota.", domain="youtube.quota")
        self.units_today += units
        return None

    def _video(self, resource: dict[str, Any], data: bytes) -> Video:
        video_id = f"v{next(self._counter):02d}{random.token_hex(4)}"[:11]
        status = dict(resource.get("status") or {})
        if self.forced_privacy:
            status["privacyStatus"] = self.forced_privacy
        status["uploadStatus"] = "uploaded"
        body = {"kind": "youtube#video", "etag": random.token_hex(8), "id": video_id,
                "snippet": {**resource.get("snippet", {}), "channelId": CHANNEL_ID,
                            "publishedAt": datetime.now(UTC).isoformat()},
                "status": status}
        video = Video(video_id, body, data, datetime.now(UTC))
        with self.lock:
            self.videos.append(video)
        return video

    # --- OAuth 2 ------------------------------------------------------------------------------
    def _token(self, request: FakeRequest) -> Response:
        form = {k: v[0] for k, v in request.form().items()}
        if form.get("grant_type") != "refresh_token":
            return 400, {}, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                 self.client_secret):
            return 401, {}, {"error": "invalid_client", "error_description": "Unauthorized"}
        if form.get("refresh_token") != self.refresh_token:
            return 400, {}, {"error": "invalid_grant",
                             "error_description": "Token has been expired or revoked."}
        token = f"ya29.{random.token_urlsafe(24)}"
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                         "scope": "https://www.googleapis.com/auth/youtube.upload"}

    # --- the resumable upload ----------------------------------------------------------------
    def _start(self, request: FakeRequest) -> Response:
        if request.query.get("uploadType") != ["resumable"]:
            return google_error(400, "badRequest", "uploadType must be resumable here")
        if self.uploads_today >= self.uploads_per_day:
            return google_error(403, "quotaExceeded", "The request cannot be completed "
                                "because you have exceeded your quota.", domain="youtube.quota")
        size = request.header("X-Upload-Content-Length")
        if size is None or not size.isdigit():
            return google_error(400, "badRequest", "X-Upload-Content-Length is required")
        resource = request.json() or {}
        if problem := self._invalid(resource):
            return problem
        self.uploads_today += 1
        session = Session(random.token_urlsafe(12), int(size), resource)
        self.sessions[session.id] = session
        part = ",".join(request.query.get("part", ["snippet,status"]))
        return 200, {"Location": f"{self.url}{UPLOAD_PATH}?uploadType=resumable"
                                 f"&upload_id={session.id}&part={part}"}, b""

    @staticmethod
    def _invalid(resource: dict[str, Any]) -> Response | None:
        snippet = resource.get("snippet") or {}
        title, description = snippet.get("title", ""), snippet.get("description", "")
        if not title or len(title) > 100 or re.search(r"[<>]", title):
            return google_error(400, "invalidTitle", "The request metadata specifies an "
                                "invalid or empty video title.")
        if len(description.encode()) > 5000 or re.search(r"[<>]", description):
            return google_error(400, "invalidDescription", "The request metadata specifies "
                                "an invalid video description.")
        tags = snippet.get("tags") or []
        if tags_length(tags) > 500:
            return google_error(400, "invalidTags", "The request metadata specifies "
                                "invalid video keywords.")
        privacy = (resource.get("status") or {}).get("privacyStatus", "public")
        if privacy not in ("public", "unlisted", "private"):
            return google_error(400, "invalidVideoMetadata", "invalid privacyStatus")
        if "publishAt" in (resource.get("status") or {}) and privacy != "private":
            return google_error(400, "invalidPublishAt", "publishAt needs a private video")
        return None

    def _put(self, request: FakeRequest) -> Response:
        session = self.sessions.get((request.query.get("upload_id") or [""])[0])
        if session is None:
            return 404, {}, {"error": {"code": 404, "message": "Not Found"}}
        ranged = request.header("Content-Range") or ""
        asked = re.fullmatch(r"bytes \*/(\d+)", ranged)
        if asked:
            return self._held(session)
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", ranged)
        if not match or int(match[3]) != session.size:
            return google_error(400, "badRequest", f"bad Content-Range {ranged!r}")
        first, last = int(match[1]), int(match[2])
        if last - first + 1 != len(request.body):
            return google_error(400, "badRequest", "Content-Range does not match the body")
        final = last + 1 == session.size
        if not final and len(request.body) % UNIT:
            return google_error(400, "badRequest", "chunks must be multiples of 256 KiB")
        if session.video_id is None and first == len(session.received):
            session.received += request.body
        if len(session.received) == session.size and session.video_id is None:
            session.video_id = self._video(session.resource, bytes(session.received)).id
        return self._held(session)

    def _held(self, session: Session) -> Response:
        if session.video_id is not None:
            return 201, {}, self.video(session.video_id).resource
        if not session.received:
            return 308, {}, b""
        return 308, {"Range": f"bytes=0-{len(session.received) - 1}"}, b""

    def video(self, video_id: str) -> Video:
        return next(v for v in self.videos if v.id == video_id)

    # --- reading -------------------------------------------------------------------------------
    def _videos(self, request: FakeRequest) -> Response:
        if problem := self._spend(1):
            return problem
        ids = ",".join(request.query.get("id", [""])).split(",")
        items = []
        for video in self.videos:
            if video.id not in ids:
                continue
            video.polls += 1
            status = video.resource["status"]
            if status["uploadStatus"] == "uploaded" and video.polls > self.processing_polls:
                status["uploadStatus"] = self.processing_result
                if self.processing_result == "failed":
                    status["failureReason"] = "codec"
                elif self.processing_result == "rejected":
                    status["rejectionReason"] = "duplicate"
            items.append(video.resource)
        return 200, {}, {"kind": "youtube#videoListResponse", "items": items}

    def _channels(self, request: FakeRequest) -> Response:
        if problem := self._spend(1):
            return problem
        if request.query.get("mine") != ["true"]:
            return google_error(400, "missingRequiredParameter", "mine=true expected")
        return 200, {}, {"items": [{
            "id": CHANNEL_ID,
            "snippet": {"title": "Lapas Pangkalpinang", "customUrl": "@lapaspangkalpinang"},
            "contentDetails": {"relatedPlaylists": {"uploads": UPLOADS}},
            "status": {"longUploadsStatus": "allowed" if self.thumbnails_allowed
                       else "eligible"}}]}

    def _playlist(self, request: FakeRequest) -> Response:
        if problem := self._spend(1):
            return problem
        if request.query.get("playlistId") != [UPLOADS]:
            return google_error(404, "playlistNotFound", "playlist not found")
        most = int((request.query.get("maxResults") or ["5"])[0])
        newest = sorted(self.videos, key=lambda v: v.uploaded_at, reverse=True)[:most]
        return 200, {}, {"items": [
            {"snippet": {"publishedAt": v.uploaded_at.isoformat().replace("+00:00", "Z"),
                         "title": v.resource["snippet"].get("title")},
             "contentDetails": {"videoId": v.id}} for v in newest]}

    def _thumbnail(self, request: FakeRequest) -> Response:
        if problem := self._spend(50):
            return problem
        if not self.thumbnails_allowed:
            return google_error(403, "forbidden", "The authenticated user doesn't have "
                                "permissions to upload and set custom video thumbnails.")
        video_id = (request.query.get("videoId") or [""])[0]
        video = next((v for v in self.videos if v.id == video_id), None)
        if video is None:
            return google_error(404, "videoNotFound", "video not found")
        if not request.body.startswith(b"\xff\xd8"):
            return google_error(400, "invalidImage", "the image is not a JPEG")
        video.thumbnail = request.body
        return 200, {}, {"items": [{"default": {"url": f"{self.url}/vi/{video_id}/0.jpg"}}]}
