"""A fake Facebook Page on the Graph API.

Follows Meta's reference pages "Page Feed" (``POST /{page-id}/feed``: ``message``,
``link``, ``published``, ``attached_media`` as ``attached_media[i]={"media_fbid": …}``;
answer ``{"id": "{page-id}_{post-id}"}``), "Page Photos" (``POST /{page-id}/photos``:
multipart ``source`` or ``url``, ``message``, ``alt_text_custom``, ``published``;
answer ``{"id": photo-id, "post_id": …}`` when published, ``{"id": photo-id}`` when not)
and "Page Posts" (``GET /{page-id}/posts?fields=…&since=…``), plus the shared Graph
behaviour of :mod:`tests.fakes.meta`. Limits from Meta's Graph API documentation: message
63,206 characters; photos under 4 MB.

Videos follow "Publish with the Video API" and the Graph "Upload a file" guide (the
Resumable Upload API): ``POST /{app-id}/uploads {file_name, file_length, file_type}`` →
``{"id": "upload:<session>?sig=…"}`` (a User or System User token, never the Page's);
``POST /upload:<session>`` with ``Authorization: OAuth``, a ``file_offset`` header equal
to what the session holds, and bytes from there; ``GET /upload:<session>`` →
``{"id", "file_offset"}``. The answer that completes the file is ``{"h": handle}``; the
guide shows no answer to a part that leaves the file incomplete, so this fake answers it
as the GET would (``{"id", "file_offset"}``). ``POST /{page-id}/videos {description,
title, fbuploader_video_file_chunk, published}`` (+ a ``thumb`` file) → ``{"id"}`` of a
video whose ``status.video_status`` reads ``processing`` for ``video_polls`` reads, then
``ready`` (or ``error`` with the phase's ``errors`` when ``video_fails``); a ready video is
on the Page (``GET /{page-id}/videos``).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tests.fakes.meta import GraphFake, GraphParams, check_image, graph_error
from tests.fakes.processing import Processing
from tests.fakes.server import FakeRequest, Response
from tests.fakes.video_check import check_video

MESSAGE_LIMIT = 63_206
PHOTO_MAX_BYTES = 4_000_000


def graph_time(timestamp: float) -> str:
    """A time as the Graph API writes it (``2026-11-28T02:00:00+0000``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class PagePhoto:
    id: str
    data: bytes
    alt: str | None
    published: bool
    attached_to: str | None = None


@dataclass
class PagePost:
    id: str
    message: str
    link: str | None
    created: float
    photos: list[str] = field(default_factory=list)


@dataclass
class UploadSession:
    id: str
    file_name: str
    length: int
    data: bytearray = field(default_factory=bytearray)


@dataclass
class PageVideo:
    id: str
    description: str
    title: str | None
    data: bytes
    processing: Processing
    created: float
    thumb: bytes | None = None

    @property
    def status(self) -> str:
        """``status.video_status`` of the video."""
        return {"in_progress": "processing", "succeeded": "ready",
                "failed": "error"}[self.processing.state]


class FacebookFake(GraphFake):
    def __init__(self, *, page_id: str = "104857600123", token: str = "EAAPageToken123",
                 version: str = "v26.0", page_name: str = "Lapas Pangkalpinang",
                 app_id: str = "901234567890123",
                 user_token: str = "EAAUserToken456") -> None:
        super().__init__(version=version, token=token)
        self.page_id = page_id
        self.page_name = page_name
        self.app_id = app_id
        self.user_token = user_token
        self.posts: list[PagePost] = []
        self.photos: dict[str, PagePhoto] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.handles: dict[str, bytes] = {}
        self.videos: dict[str, PageVideo] = {}
        #: status reads a video stays ``processing``; whether its processing fails
        self.video_polls = 2
        self.video_fails = False
        self._sessions = itertools.count(1)
        self.graph_route("POST", "/{page}/feed", self._feed)
        self.graph_route("POST", "/{page}/photos", self._photos)
        self.graph_route("GET", "/{page}/posts", self._list_posts)
        self.graph_route("POST", "/{page}/videos", self._create_video)
        self.graph_route("GET", "/{page}/videos", self._list_videos)
        self.graph_route("GET", "/me", self._me)
        self.route("POST", f"/{version}/{{app}}/uploads", self._open_session)
        self.route("POST", f"/{version}/upload:{{session}}", self._receive)
        self.route("GET", f"/{version}/upload:{{session}}", self._session_offset)
        self.add_debug_token(page_id, ["pages_manage_posts", "pages_read_engagement",
                                       "pages_show_list"])
        self.graph_route("GET", "/{video}", self._read_video)

    def forget_objects(self) -> None:
        self.posts.clear()
        self.photos.clear()
        self.sessions.clear()
        self.handles.clear()
        self.videos.clear()
        self.video_polls = 2
        self.video_fails = False

    # --- the Resumable Upload API ---------------------------------------------------------
    def _user_token(self, request: FakeRequest) -> Response | None:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        if scheme != "OAuth" or not value:
            return graph_error(190, "An access token in the Authorization header "
                                    "(OAuth <token>) is required")
        if value.strip() == self.token:
            return graph_error(190, "(#190) A Page access token cannot open an upload "
                                    "session: use a User or System User token")
        if value.strip() != self.user_token:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        return None

    def _open_session(self, request: FakeRequest) -> Response:
        if problem := self._user_token(request):
            return problem
        if request.params["app"] != self.app_id:
            return graph_error(100, f"(#100) Unknown app {request.params['app']}")
        params = self.params(request)
        try:
            length = int(params.get("file_length") or "")
        except ValueError:
            return graph_error(100, "(#100) file_length must be an integer")
        if params.get("file_type") not in ("video/mp4", "image/jpeg", "image/png",
                                           "image/jpg", "application/pdf"):
            return graph_error(100, "(#100) file_type is not supported")
        if not params.get("file_name"):
            return graph_error(100, "(#100) file_name is required")
        session = f"upload:MTphdHRhY2htZW50{next(self._sessions):04d}?sig=ARZqkGCA"
        self.sessions[session.split("?")[0]] = UploadSession(session, params.get(
            "file_name") or "", length)
        return 200, {}, {"id": session}

    def _session(self, request: FakeRequest) -> UploadSession | Response:
        if problem := self._user_token(request):
            return problem
        found = self.sessions.get(f"upload:{request.params['session']}")
        if found is None or request.query.get("sig") != ["ARZqkGCA"]:
            return graph_error(100, "(#100) Invalid upload session")
        return found

    def _receive(self, request: FakeRequest) -> Response:
        session = self._session(request)
        if not isinstance(session, UploadSession):
            return session
        offset = request.header("file_offset")
        if offset is None or not offset.isdigit():
            return graph_error(100, "(#100) The file_offset header is required")
        if int(offset) != len(session.data):
            return graph_error(100, f"(#100) file_offset {offset} does not match the "
                                    f"{len(session.data)} bytes received")
        session.data += request.body
        if len(session.data) > session.length:
            return graph_error(100, "(#100) more bytes than file_length")
        if len(session.data) < session.length:
            return 200, {}, {"id": session.id, "file_offset": len(session.data)}
        handle = f"4::aW1hZ2UvanBlZw=={len(self.handles) + 1}:ARb"
        self.handles[handle] = bytes(session.data)
        return 200, {}, {"h": handle}

    def _session_offset(self, request: FakeRequest) -> Response:
        session = self._session(request)
        if not isinstance(session, UploadSession):
            return session
        return 200, {}, {"id": session.id, "file_offset": len(session.data)}

    # --- Page videos ------------------------------------------------------------------------
    def _create_video(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        data = self.handles.get(params.get("fbuploader_video_file_chunk") or "")
        if data is None:
            return graph_error(100, "(#100) fbuploader_video_file_chunk is not an uploaded "
                                    "file handle")
        if problem := check_video(data):
            return graph_error(351, f"(#351) Sorry, there was a problem with your video "
                                    f"file: {problem}")
        description = params.get("description") or ""
        if len(description) > MESSAGE_LIMIT:
            return graph_error(100, "(#100) description is too long")
        thumb = params.files.get("thumb")
        if thumb is not None and (problem := check_image(thumb.data)):
            return graph_error(100, f"(#100) thumb: {problem}")
        video = PageVideo(id=self.new_id(), description=description,
                          title=params.get("title"), data=data,
                          processing=Processing(polls=self.video_polls, fails=(
                              "Video could not be processed: unsupported audio sample rate"
                              if self.video_fails else None)),
                          created=time.time(), thumb=thumb.data if thumb else None)
        self.videos[video.id] = video
        return 200, {}, {"id": video.id}

    def _read_video(self, request: FakeRequest, params: GraphParams) -> Response:
        video = self.videos.get(request.params["video"])
        if video is None:
            return graph_error(100, f"(#100) Object with ID '{request.params['video']}' does "
                                    "not exist", error_type="GraphMethodException")
        video.processing.ask()
        processing: dict[str, object] = {"status": {"processing": "in_progress",
                                                    "ready": "complete",
                                                    "error": "error"}[video.status]}
        if video.status == "error":
            processing["errors"] = [{"code": 1363008, "message": video.processing.fails}]
        status = {"video_status": video.status, "uploading_phase": {"status": "complete"},
                  "processing_phase": processing,
                  "publishing_phase": {"status": "complete" if video.status == "ready"
                                       else "not_started"}}
        answer = {"id": video.id, "status": status,
                  "permalink_url": f"/{self.page_id}/videos/{video.id}/"}
        fields = set((params.get("fields") or "id").split(","))
        return 200, {}, {k: v for k, v in answer.items() if k in fields or k == "id"}

    def _list_videos(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        since = float(params.get("since") or 0)
        data = [{"id": v.id, "description": v.description,
                 "created_time": graph_time(v.created)}
                for v in reversed(self.videos.values()) if v.created >= since]
        return 200, {}, {"data": data, "paging": {}}

    @property
    def published_videos(self) -> list[PageVideo]:
        return [v for v in self.videos.values() if v.status == "ready"]

    def _wrong_page(self, request: FakeRequest) -> Response | None:
        if request.params["page"] != self.page_id:
            return graph_error(100, "(#100) Unsupported post request. Object with ID "
                                    f"'{request.params['page']}' does not exist",
                               error_type="GraphMethodException")
        return None

    def _new_post(self, message: str, link: str | None, photos: list[str]) -> PagePost:
        post = PagePost(id=f"{self.page_id}_{self.new_id()}", message=message, link=link,
                        created=time.time(), photos=photos)
        self.posts.append(post)
        return post

    def _feed(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        message = params.get("message") or ""
        link = params.get("link")
        attached: list[str] = []
        index = 0
        while (raw := params.get(f"attached_media[{index}]")) is not None:
            try:
                attached.append(str(json.loads(raw)["media_fbid"]))
            except (ValueError, KeyError, TypeError):
                return graph_error(100, f"(#100) param attached_media[{index}] must be an "
                                        "object with media_fbid")
            index += 1
        if not (message or link or attached):
            return graph_error(100, "(#100) Missing message or attachment")
        if len(message) > MESSAGE_LIMIT:
            return graph_error(100, "(#100) Message is too long")
        if link and urlsplit(link).scheme not in ("http", "https"):
            return graph_error(100, "(#100) link URL is not properly formatted")
        for photo_id in attached:
            photo = self.photos.get(photo_id)
            if photo is None or photo.published or photo.attached_to:
                return graph_error(100, f"(#100) attached_media {photo_id} is not an "
                                        "unpublished photo of this Page")
        post = self._new_post(message, link, attached)
        for photo_id in attached:
            self.photos[photo_id].attached_to = post.id
        return 200, {}, {"id": post.id}

    def _photos(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        source = params.files.get("source")
        if source is None:
            return graph_error(324, "(#324) Requires upload file", error_type="OAuthException")
        if problem := check_image(source.data, max_bytes=PHOTO_MAX_BYTES):
            return graph_error(324, f"(#324) {problem}")
        published = (params.get("published") or "true").lower() != "false"
        photo = PagePhoto(id=self.new_id(), data=source.data,
                          alt=params.get("alt_text_custom"), published=published)
        self.photos[photo.id] = photo
        if not published:
            return 200, {}, {"id": photo.id}
        post = self._new_post(params.get("message") or "", None, [photo.id])
        return 200, {}, {"id": photo.id, "post_id": post.id}

    def _list_posts(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        since = float(params.get("since") or 0)
        data = [{"id": p.id, "message": p.message, "created_time": graph_time(p.created),
                 "permalink_url": f"https://www.facebook.com/{p.id}"}
                for p in reversed(self.posts) if p.created >= since]
        return 200, {}, {"data": data, "paging": {}}

    def _me(self, request: FakeRequest, params: GraphParams) -> Response:
        return 200, {}, {"id": self.page_id, "name": self.page_name}
