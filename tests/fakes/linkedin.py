"""A fake LinkedIn organization page on the versioned REST API.

Follows LinkedIn's Community Management documentation (learn.microsoft.com/linkedin):
"Posts API" (``POST /rest/posts`` → 201, empty body, the URN in ``x-restli-id``;
``GET /rest/posts?q=author&author=…``), "Images API" (``POST
/rest/images?action=initializeUpload`` → ``value.uploadUrl``/``value.image``, then a
``PUT`` of the bytes), "Versioning" (``Linkedin-Version: YYYYMM`` required — 400
``VERSION_MISSING``, 426 ``NONEXISTENT_VERSION`` — and ``X-Restli-Protocol-Version:
2.0.0``), "Little text format" (reserved characters ``\\ | { } @ [ ] ( ) < > # * _ ~``
must be escaped; as LinkedIn's documentation records, the real API **truncates the post
at the first unescaped one and still answers 201**, and so does this fake), and the error
shape ``{"status", "code", "serviceErrorCode", "message"}``. A bare 429 carries no
headers, as documented. Limits: commentary ≤ 3,000 characters.

Videos follow the "Videos API": ``POST /rest/videos?action=initializeUpload
{initializeUploadRequest: {owner, fileSizeBytes, uploadCaptions, uploadThumbnail}}`` →
``value {video, uploadToken, uploadUrlsExpireAt, uploadInstructions: [{uploadUrl,
firstByte, lastByte}], thumbnailUploadUrl?}`` with the file cut in ``video_part_bytes``
parts (LinkedIn's 4 MiB by default); ``PUT`` of each part's exact bytes answers its
``ETag``; ``POST /rest/videos?action=finalizeUpload {finalizeUploadRequest: {video,
uploadToken, uploadedPartIds}}`` needs every ETag in part order and a readable MP4;
``GET /rest/videos/{urn}`` reads ``WAITING_UPLOAD`` before that, then ``PROCESSING`` for
``video_polls`` reads, then ``AVAILABLE`` (or ``PROCESSING_FAILED`` with
``processingFailureReason`` when ``video_fails``). A post's ``content.media.id`` may name
a video once it is finalized (the documentation does not say what LinkedIn does with one
still processing; this fake takes it, as the post is shown once the video is ready).
"""

from __future__ import annotations

import io
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from PIL import Image

from tests.fakes.processing import Processing
from tests.fakes.server import FakeRequest, FakeServer, Response
from tests.fakes.video_check import check_video

COMMENTARY_LIMIT = 3000
ACTIVE_VERSIONS = {f"2025{m:02d}" for m in range(11, 13)} | {
    f"2026{m:02d}" for m in range(1, 12)}
# a reserved character not preceded by a backslash; "#word" is hashtag syntax
UNESCAPED_RESERVED = re.compile(r"(?<!\\)(?:[|{}@\[\]()<>*_~]|#(?!\w)|\\(?![\\|{}@\[\]()<>#*_~]))")


def li_error(status: int, code: str, message: str, service_code: int | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return status, {}, body


@dataclass
class LIVideo:
    urn: str
    size: int
    part_bytes: int
    token: str
    parts: dict[int, bytes] = field(default_factory=dict)
    etags: dict[int, str] = field(default_factory=dict)
    thumbnail: bytes | None = None
    wants_thumbnail: bool = False
    #: set once the upload is finalized
    processing: Processing | None = None

    @property
    def part_count(self) -> int:
        return max(1, -(-self.size // self.part_bytes))

    @property
    def status(self) -> str:
        """The Videos API's ``status`` of the video."""
        if self.processing is None:
            return "WAITING_UPLOAD"
        return {"in_progress": "PROCESSING", "succeeded": "AVAILABLE",
                "failed": "PROCESSING_FAILED"}[self.processing.state]


@dataclass
class LIPost:
    urn: str
    author: str
    commentary: str
    content: dict[str, Any] | None
    created: float = field(default_factory=time.time)


#: the "little" text templates that may contain reserved characters: hashtags and mentions
LITTLE_ELEMENT = re.compile(r"\{hashtag\|\\#\|(?:[^\\{}|]|\\.)+\}"
                            r"|@\[(?:[^\\\]]|\\.)*\]\(urn:li:(?:person|organization):\d+\)")


class LinkedInFake(FakeServer):
    def __init__(self, *, token: str = "AQVlinkedintoken123",
                 author: str = "urn:li:organization:2414183") -> None:
        super().__init__()
        self.token = token
        self.author = author
        self.posts: list[LIPost] = []
        self.images: dict[str, bytes | None] = {}
        self.can_read_posts = True
        self.videos: dict[str, LIVideo] = {}
        self.video_part_bytes = 4 * 1024 * 1024
        self.video_polls = 2
        self.video_fails = False
        self._ids = itertools.count(7100000000000000001)
        self.route("POST", "/rest/videos", self._video_action)
        self.route("GET", "/rest/videos/{urn}", self._video_status)
        self.route("PUT", "/dms-uploads/video/{video}/part/{index}", self._video_part)
        self.route("PUT", "/dms-uploads/video/{video}/thumbnail", self._video_thumbnail)
        self.route("POST", "/rest/images", self._initialize_upload)
        self.route("PUT", "/dms-uploads/{image}", self._upload)
        self.route("POST", "/rest/posts", self._create)
        self.route("GET", "/rest/posts", self._by_author)
        self.route("GET", "/v2/userinfo", self._userinfo)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
        self.posts.clear()
        self.images.clear()
        self.can_read_posts = True
        self.videos.clear()
        self.video_part_bytes = 4 * 1024 * 1024
        self.video_polls = 2
        self.video_fails = False


    # --- checks every call gets -----------------------------------------------------------
    def _auth(self, request: FakeRequest) -> Response | None:
        if request.header("Authorization") != f"Bearer {self.token}":
            return li_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        return None

    def _versioned(self, request: FakeRequest) -> Response | None:
        if problem := self._auth(request):
            return problem
        version = request.header("Linkedin-Version")
        if not version:
            return li_error(400, "VERSION_MISSING", "A version must be present. Please "
                            "specify a version by adding the LinkedIn-Version header.")
        if version not in ACTIVE_VERSIONS:
            return li_error(426, "NONEXISTENT_VERSION", f"Requested version {version} is "
                                                        "not active")
        if request.header("X-Restli-Protocol-Version") != "2.0.0":
            return li_error(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is "
                                                     "required")
        return None

    # --- images ---------------------------------------------------------------------------
    def _initialize_upload(self, request: FakeRequest) -> Response:
        if problem := self._versioned(request):
            return problem
        if request.query.get("action") != ["initializeUpload"]:
            return li_error(400, "ILLEGAL_ARGUMENT", "Unsupported action")
        owner = ((request.json() or {}).get("initializeUploadRequest") or {}).get("owner")
        if owner != self.author:
            return li_error(403, "ACCESS_DENIED", f"Not enough permissions to upload for "
                                                  f"{owner}")
        image_id = f"D4E10AQ{next(self._ids)}"
        self.images[image_id] = None
        return 200, {}, {"value": {
            "uploadUrlExpiresAt": int(time.time() * 1000) + 86_400_000,
            "uploadUrl": f"{self.url}/dms-uploads/{image_id}",
            "image": f"urn:li:image:{image_id}"}}

    def _upload(self, request: FakeRequest) -> Response:
        if problem := self._auth(request):
            return problem
        image_id = request.params["image"]
        if image_id not in self.images:
            return 404, {}, ""
        try:
            with Image.open(io.BytesIO(request.body)) as image:
                image.verify()
        except Exception:
            return 400, {}, {"message": "uploaded bytes are not an image"}
        self.images[image_id] = request.body
        return 201, {}, b""

    # --- videos ---------------------------------------------------------------------------
    def _video_action(self, request: FakeRequest) -> Response:
        if problem := self._versioned(request):
            return problem
        action = (request.query.get("action") or [""])[0]
        body = request.json() or {}
        if action == "initializeUpload":
            return self._initialize_video(body.get("initializeUploadRequest") or {})
        if action == "finalizeUpload":
            return self._finalize_video(body.get("finalizeUploadRequest") or {})
        return li_error(400, "ILLEGAL_ARGUMENT", "Unsupported action")

    def _initialize_video(self, ask: dict[str, Any]) -> Response:
        if ask.get("owner") != self.author:
            return li_error(403, "ACCESS_DENIED", f"Not enough permissions to upload for "
                                                  f"{ask.get('owner')}")
        size = ask.get("fileSizeBytes")
        if not isinstance(size, int) or not 0 < size <= 500 * 1024 * 1024:
            return li_error(422, "UNPROCESSABLE_ENTITY", "fileSizeBytes must be 1 byte to "
                                                         "500 MB")
        video_id = f"C5F10AQ{next(self._ids)}"
        video = LIVideo(urn=f"urn:li:video:{video_id}", size=size,
                        part_bytes=self.video_part_bytes, token=f"tok-{video_id}",
                        wants_thumbnail=bool(ask.get("uploadThumbnail")))
        self.videos[video.urn] = video
        parts = [{"uploadUrl": f"{self.url}/dms-uploads/video/{video_id}/part/{i}",
                  "firstByte": i * video.part_bytes,
                  "lastByte": min((i + 1) * video.part_bytes, size) - 1}
                 for i in range(video.part_count)]
        value: dict[str, Any] = {"uploadUrlsExpireAt": int(time.time() * 1000) + 86_400_000,
                                 "video": video.urn, "uploadInstructions": parts,
                                 "uploadToken": video.token}
        if video.wants_thumbnail:
            value["thumbnailUploadUrl"] = f"{self.url}/dms-uploads/video/{video_id}/thumbnail"
        return 200, {}, {"value": value}

    def _upload_target(self, request: FakeRequest) -> LIVideo | Response:
        if problem := self._auth(request):
            return problem
        video = self.videos.get(f"urn:li:video:{request.params['video']}")
        if video is None or video.status != "WAITING_UPLOAD":
            return 404, {}, ""
        return video

    def _video_part(self, request: FakeRequest) -> Response:
        video = self._upload_target(request)
        if not isinstance(video, LIVideo):
            return video
        index = int(request.params["index"])
        first = index * video.part_bytes
        expected = min(video.part_bytes, video.size - first)
        if index >= video.part_count or len(request.body) != expected:
            return 400, {}, {"message": f"part {index} must be {expected} bytes"}
        video.parts[index] = request.body
        video.etags[index] = f"/AQJ{index}{len(request.body)}-{video.urn[-6:]}"
        return 201, {"ETag": video.etags[index]}, b""

    def _video_thumbnail(self, request: FakeRequest) -> Response:
        video = self._upload_target(request)
        if not isinstance(video, LIVideo):
            return video
        try:
            with Image.open(io.BytesIO(request.body)) as image:
                image.verify()
        except Exception:
            return 400, {}, {"message": "the thumbnail is not an image"}
        video.thumbnail = request.body
        return 201, {}, b""

    def _finalize_video(self, ask: dict[str, Any]) -> Response:
        video = self.videos.get(str(ask.get("video")))
        if video is None or ask.get("uploadToken") != video.token:
            return li_error(400, "ILLEGAL_ARGUMENT", "unknown video or uploadToken")
        if video.status != "WAITING_UPLOAD":
            return li_error(400, "ILLEGAL_ARGUMENT", "the upload was already finalized")
        expected = [video.etags.get(i) for i in range(video.part_count)]
        if ask.get("uploadedPartIds") != expected:
            return li_error(400, "ILLEGAL_ARGUMENT", "uploadedPartIds must list every "
                                                    "part's ETag in order")
        if problem := check_video(b"".join(video.parts[i] for i in range(video.part_count))):
            return li_error(400, "ILLEGAL_ARGUMENT", f"the uploaded file: {problem}")
        video.processing = Processing(polls=self.video_polls, fails=(
            "Video format is not supported" if self.video_fails else None))
        return 200, {}, b""

    def _video_status(self, request: FakeRequest) -> Response:
        if problem := self._versioned(request):
            return problem
        video = self.videos.get(unquote(request.params["urn"]))
        if video is None:
            return li_error(404, "NOT_FOUND", "no such video")
        if video.processing is not None:
            video.processing.ask()
        body: dict[str, Any] = {"id": video.urn, "owner": self.author, "status": video.status}
        if video.processing is not None and video.processing.state == "failed":
            body["processingFailureReason"] = video.processing.fails
        return 200, {}, body

    # --- posts ----------------------------------------------------------------------------
    def _create(self, request: FakeRequest) -> Response:
        if problem := self._versioned(request):
            return problem
        body = request.json()
        required = ("author", "commentary", "visibility", "distribution", "lifecycleState")
        missing = [name for name in required if name not in (body or {})]
        if missing:
            return li_error(422, "UNPROCESSABLE_ENTITY",
                            f"Field /{missing[0]} is required but missing")
        if body["author"] != self.author:
            return li_error(403, "ACCESS_DENIED", "Not enough permissions to access: "
                                                  "partnerApiPostsExternal.CREATE.20261001")
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return li_error(422, "UNPROCESSABLE_ENTITY", "Invalid visibility")
        if (body["distribution"] or {}).get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            return li_error(422, "UNPROCESSABLE_ENTITY", "Invalid feedDistribution")
        if body["lifecycleState"] != "PUBLISHED":
            return li_error(422, "UNPROCESSABLE_ENTITY", "lifecycleState must be PUBLISHED")
        commentary = body["commentary"]
        if not isinstance(commentary, str) or len(commentary) > COMMENTARY_LIMIT:
            return li_error(422, "UNPROCESSABLE_ENTITY",
                            "commentary must be a string of at most 3000 characters")
        if problem := self._check_content(body.get("content")):
            return problem
        kept = self.little_text_kept(commentary)
        for post in self.posts:
            if post.author == self.author and post.commentary == kept:
                return li_error(422, "DUPLICATE_POST",
                                f"Content is a duplicate of {post.urn}")
        post = LIPost(urn=f"urn:li:share:{next(self._ids)}", author=body["author"],
                      commentary=kept, content=body.get("content"))
        self.posts.append(post)
        return 201, {"x-restli-id": post.urn}, b""

    @staticmethod
    def little_text_kept(commentary: str) -> str:
        """What LinkedIn keeps of a commentary: everything before an unescaped reserved
        character (the documented silent truncation)."""
        templates = [m.span() for m in LITTLE_ELEMENT.finditer(commentary)]
        for match in UNESCAPED_RESERVED.finditer(commentary):
            if not any(start <= match.start() < end for start, end in templates):
                return commentary[:match.start()]
        return commentary

    def _check_content(self, content: Any) -> Response | None:
        if content is None:
            return None
        images: list[dict[str, Any]] = []
        if "media" in content:
            images = [content["media"]]
        elif "multiImage" in content:
            images = content["multiImage"].get("images", [])
            if not 2 <= len(images) <= 20:
                return li_error(422, "UNPROCESSABLE_ENTITY", "multiImage needs 2 to 20 images")
        elif "article" in content:
            article = content["article"]
            if not str(article.get("source", "")).startswith(("http://", "https://")) \
                    or not article.get("title"):
                return li_error(422, "UNPROCESSABLE_ENTITY", "article needs source and title")
            return None
        else:
            return li_error(422, "UNPROCESSABLE_ENTITY", "unsupported content")
        for image in images:
            if str(image.get("id", "")).startswith("urn:li:video:"):
                video = self.videos.get(image["id"])
                if video is None or video.status == "WAITING_UPLOAD":
                    return li_error(422, "UNPROCESSABLE_ENTITY",
                                    f"video {image['id']} was not uploaded")
                continue
            image_id = str(image.get("id", "")).removeprefix("urn:li:image:")
            if self.images.get(image_id) is None:
                return li_error(422, "UNPROCESSABLE_ENTITY",
                                f"image {image.get('id')} was not uploaded")
        return None

    def _by_author(self, request: FakeRequest) -> Response:
        if problem := self._versioned(request):
            return problem
        if not self.can_read_posts:
            return li_error(403, "ACCESS_DENIED", "Not enough permissions to access: "
                                                  "partnerApiPostsExternal.FINDER-author")
        if request.query.get("q") != ["author"]:
            return li_error(400, "ILLEGAL_ARGUMENT", "finder q=author required")
        author = request.query.get("author", [""])[0]
        elements = [{"id": p.urn, "author": p.author, "commentary": p.commentary,
                     "lifecycleState": "PUBLISHED", "createdAt": int(p.created * 1000)}
                    for p in reversed(self.posts) if p.author == author]
        return 200, {}, {"elements": elements, "paging": {"start": 0, "count": 20}}

    def _userinfo(self, request: FakeRequest) -> Response:
        if problem := self._auth(request):
            return problem
        return 200, {}, {"sub": "782bbtaQ", "name": "Humas Lapas Pangkalpinang",
                         "email_verified": True}
