"""A fake TikTok user on ``open.tiktokapis.com`` (Content Posting API v2, direct post).

Follows TikTok for Developers: "Refresh a User Access Token" (``POST /v2/oauth/token/``,
form body; the refresh token is **rotated**: the old one stops working), "Query Creator
Info", "Direct Post" (``/v2/post/publish/video/init/`` with ``FILE_UPLOAD`` or
``PULL_FROM_URL``; "Photo Post" ``/v2/post/publish/content/init/``), the "Media Transfer
Guide" (chunks of 5–64 MB, the last up to 128 MB, a file under 5 MB whole; ``PUT`` in order
with ``Content-Range``; 206 until the last chunk, 201 for it) and "Get Post Status"
(``/v2/post/publish/status/fetch/``: PROCESSING_UPLOAD / PROCESSING_DOWNLOAD →
PUBLISH_COMPLETE or FAILED with ``fail_reason``). Answers are ``{"data", "error": {"code",
"message", "log_id"}}``. At most 6 video inits a minute per access token (429
``rate_limit_exceeded``). An unaudited app may post only ``SELF_ONLY``.
"""

from __future__ import annotations

import itertools
import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.server import FakeRequest, FakeServer, Response

MB = 1024 * 1024
INITS_PER_MINUTE = 6
RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def answer(data: dict[str, Any] | None = None, code: str = "ok", message: str = "",
           status: int = 200) -> Response:
    return status, {}, {"data": data or {},
                        "error": {"code": code, "message": message, "log_id": "2026120706"}}


@dataclass
class Publish:
    """One post being made: its upload, its processing, its end."""

    publish_id: str
    media_type: str
    privacy_level: str
    title: str
    video_size: int = 0
    chunk_size: int = 0
    chunks: int = 0
    received: int = 0
    upload_token: str = ""
    #: TikTok has everything it needs: it will publish (or fail) the post
    complete: bool = False
    polls: int = 0
    fail_reason: str | None = None
    post_id: str | None = None
    urls: list[str] = field(default_factory=list)


class FakeTikTok(FakeServer):
    def __init__(self, *, client_key: str = "awtiktokclientkey", client_secret: str =
                 "tiktok-client-secret-42", refresh_token: str = "rft.first-refresh-token",
                 username: str = "lapaspangkalpinang", audited: bool = True,
                 verified_prefixes: tuple[str, ...] = ("http://127.0.0.1",)) -> None:
        super().__init__()
        self.client_key, self.client_secret = client_key, client_secret
        self.refresh_token = self.first_refresh_token = refresh_token
        self.username = username
        self.audited = audited
        self.verified_prefixes = verified_prefixes
        self.access_ttl = 86400
        self.privacy_options = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        self.max_duration = 600
        #: set to a TikTok error code: creator_info says the creator cannot post now
        self.creator_error: str | None = None
        #: status fetches a finished upload stays in processing before it is published
        self.processing_polls = 2
        #: the next post fails processing with this reason
        self.fail_reason: str | None = None
        self.access_tokens: dict[str, float] = {}
        self.refreshes = 0
        self.publishes: dict[str, Publish] = {}
        self.inits: dict[str, list[float]] = {}
        self._ids = itertools.count(1)
        self.route("POST", "/v2/oauth/token/", self._token)
        self.route("POST", "/v2/post/publish/creator_info/query/", self._creator_info)
        self.route("POST", "/v2/post/publish/video/init/", self._video_init)
        self.route("POST", "/v2/post/publish/content/init/", self._content_init)
        self.route("POST", "/v2/post/publish/status/fetch/", self._status)
        self.route("PUT", "/video/", self._chunk)

    @property
    def posts(self) -> list[Publish]:
        """Posts TikTok has everything of (published, or on their way to it)."""
        return [p for p in self.publishes.values() if p.complete and not p.fail_reason]

    def reset(self) -> None:
        super().reset()
        with self.lock:  # a clean slate: the refresh token the account was set up with
            self.refresh_token = self.first_refresh_token
            self.publishes.clear()
            self.inits.clear()

    # --- OAuth ---------------------------------------------------------------------------
    def _token(self, request: FakeRequest) -> Response:
        form = {k: v[0] for k, v in request.form().items()}
        if (form.get("client_key"), form.get("client_secret")) != (self.client_key,
                                                                   self.client_secret):
            return 401, {}, {"error": "invalid_client",
                             "error_description": "Client key or secret is incorrect."}
        if form.get("grant_type") != "refresh_token":
            return 400, {}, {"error": "unsupported_grant_type", "error_description": ""}
        if form.get("refresh_token") != self.refresh_token:
            return 400, {}, {"error": "invalid_grant",
                             "error_description": "Refresh token is invalid or expired."}
        with self.lock:
            self.refreshes += 1
            access = f"act.access-{self.refreshes}-{next(self._ids)}"
            self.access_tokens[access] = time.time() + self.access_ttl
            self.refresh_token = f"rft.rotated-{self.refreshes}-{next(self._ids)}"
        return 200, {}, {"access_token": access, "expires_in": self.access_ttl,
                         "open_id": "_000humas", "refresh_token": self.refresh_token,
                         "refresh_expires_in": 31536000, "scope": "video.publish",
                         "token_type": "Bearer"}

    def expire_access_tokens(self) -> None:
        """Every access token handed out stops working (as after its expires_in)."""
        with self.lock:
            self.access_tokens.clear()

    def _authorised(self, request: FakeRequest) -> Response | None:
        token = (request.header("Authorization") or "").removeprefix("Bearer ")
        if self.access_tokens.get(token, 0) < time.time():
            return answer(code="access_token_invalid", status=401,
                          message="The access token is invalid or not found in the request.")
        return None

    # --- creator info --------------------------------------------------------------------
    def _creator_info(self, request: FakeRequest) -> Response:
        if refused := self._authorised(request):
            return refused
        if self.creator_error:
            return answer(code=self.creator_error, status=403,
                          message="The creator cannot make more posts now.")
        return answer({"creator_avatar_url": "https://p16.example/avatar.jpg",
                       "creator_username": self.username, "creator_nickname": "Lapas PKP",
                       "privacy_level_options": list(self.privacy_options),
                       "comment_disabled": False, "duet_disabled": True,
                       "stitch_disabled": False,
                       "max_video_post_duration_sec": self.max_duration})

    # --- init ----------------------------------------------------------------------------
    def _checked_post_info(self, request: FakeRequest, post_info: dict[str, Any],
                           title_limit: int) -> Response | None:
        token = (request.header("Authorization") or "").removeprefix("Bearer ")
        now = time.monotonic()
        recent = [t for t in self.inits.get(token, []) if now - t < 60]
        if len(recent) >= INITS_PER_MINUTE:
            return answer(code="rate_limit_exceeded", status=429,
                          message="API rate limit was exceeded.")
        self.inits[token] = [*recent, now]
        title = str(post_info.get("title", ""))
        if len(title.encode("utf-16-le")) // 2 > title_limit:
            return answer(code="invalid_params", status=400, message="title is too long")
        privacy = post_info.get("privacy_level")
        if privacy not in self.privacy_options:
            return answer(code="privacy_level_option_mismatch", status=403,
                          message="privacy_level is not among the creator's options")
        if not self.audited and privacy != "SELF_ONLY":
            return answer(code="unaudited_client_can_only_post_to_private_accounts",
                          status=403, message="Unaudited clients can only post privately.")
        return None

    def _verified(self, url: str) -> bool:
        return url.startswith(self.verified_prefixes)

    def _new(self, kind: str, post_info: dict[str, Any], **more: Any) -> Publish:
        number = next(self._ids)
        publish = Publish(publish_id=f"v_pub_{kind}~v2-1.{7300000000 + number}",
                          media_type=kind, privacy_level=post_info["privacy_level"],
                          title=str(post_info.get("title", "")), fail_reason=self.fail_reason,
                          **more)
        self.fail_reason = None
        self.publishes[publish.publish_id] = publish
        return publish

    def _video_init(self, request: FakeRequest) -> Response:
        if refused := self._authorised(request):
            return refused
        body = request.json()
        post_info, source = body.get("post_info") or {}, body.get("source_info") or {}
        if refused := self._checked_post_info(request, post_info, 2200):
            return refused
        if source.get("source") == "PULL_FROM_URL":
            url = str(source.get("video_url", ""))
            if not self._verified(url):
                return answer(code="url_ownership_unverified", status=403)
            publish = self._new("url", post_info, complete=True, urls=[url])
            if not _fetchable(url):
                publish.fail_reason = "video_pull_failed"
            return answer({"publish_id": publish.publish_id})
        size, chunk, count = (int(source.get(k, 0)) for k in
                              ("video_size", "chunk_size", "total_chunk_count"))
        if problem := _chunk_rules(size, chunk, count):
            return answer(code="invalid_params", status=400, message=problem)
        publish = self._new("file", post_info, video_size=size, chunk_size=chunk,
                            chunks=count, upload_token=f"upl{next(self._ids)}")
        upload_url = (f"{self.url}/video/?upload_id={publish.publish_id}"
                      f"&upload_token={publish.upload_token}")
        return answer({"publish_id": publish.publish_id, "upload_url": upload_url})

    def _content_init(self, request: FakeRequest) -> Response:
        if refused := self._authorised(request):
            return refused
        body = request.json()
        post_info, source = body.get("post_info") or {}, body.get("source_info") or {}
        if body.get("media_type") != "PHOTO" or body.get("post_mode") != "DIRECT_POST":
            return answer(code="invalid_params", status=400, message="media_type/post_mode")
        if len(str(post_info.get("description", ""))) > 4000:
            return answer(code="invalid_params", status=400, message="description too long")
        if refused := self._checked_post_info(request, post_info, 90):
            return refused
        urls = [str(u) for u in source.get("photo_images") or []]
        if not 1 <= len(urls) <= 35:
            return answer(code="invalid_params", status=400, message="1-35 photo_images")
        if not all(self._verified(u) for u in urls):
            return answer(code="url_ownership_unverified", status=403)
        publish = self._new("photo", post_info, complete=True, urls=urls)
        if not all(_fetchable(u) for u in urls):
            publish.fail_reason = "photo_pull_failed"
        return answer({"publish_id": publish.publish_id})

    # --- upload --------------------------------------------------------------------------
    def _chunk(self, request: FakeRequest) -> Response:
        publish = self.publishes.get(request.query.get("upload_id", [""])[0])
        if publish is None or request.query.get("upload_token", [""])[0] != \
                publish.upload_token:
            return 404, {}, {"error": "unknown upload"}
        match = RANGE.fullmatch(request.header("Content-Range") or "")
        if not match:
            return 400, {}, {"error": "Content-Range missing or malformed"}
        first, last, total = map(int, match.groups())
        index = first // publish.chunk_size if publish.chunk_size else 0
        final = index == publish.chunks - 1
        expected_last = (publish.video_size if final else first + publish.chunk_size) - 1
        if (total != publish.video_size or first != publish.received or last != expected_last
                or len(request.body) != last - first + 1):
            return 416, {}, {"error": f"expected bytes {publish.received}-"
                                      f"{expected_last}/{publish.video_size}"}
        publish.received = last + 1
        if final:
            publish.complete = True
            return 201, {}, b""
        return 206, {}, b""

    # --- status --------------------------------------------------------------------------
    def _status(self, request: FakeRequest) -> Response:
        if refused := self._authorised(request):
            return refused
        publish = self.publishes.get(str(request.json().get("publish_id")))
        if publish is None:
            return answer(code="invalid_publish_id", status=400)
        data: dict[str, Any] = {"uploaded_bytes": publish.received} \
            if publish.media_type == "file" else {"downloaded_bytes": 0}
        if not publish.complete or publish.polls < self.processing_polls:
            publish.polls += publish.complete
            status = ("PROCESSING_UPLOAD" if publish.media_type == "file"
                      else "PROCESSING_DOWNLOAD")
            return answer({**data, "status": status})
        if publish.fail_reason:
            return answer({**data, "status": "FAILED", "fail_reason": publish.fail_reason})
        if publish.post_id is None:
            publish.post_id = str(7450000000000000000 + next(self._ids))
        public = publish.privacy_level != "SELF_ONLY"
        return answer({**data, "status": "PUBLISH_COMPLETE",
                       "publicaly_available_post_id": [int(publish.post_id)] if public else []})


def _chunk_rules(size: int, chunk: int, count: int) -> str | None:
    """What breaks the Media Transfer Guide's rules, or None."""
    if size <= 0:
        return "video_size must be positive"
    if size < 5 * MB:
        return None if (chunk, count) == (size, 1) else "under 5 MB: one chunk of the size"
    if not 5 * MB <= chunk <= 64 * MB:
        return "chunk_size must be 5-64 MB"
    if count != size // chunk or not 1 <= count <= 1000:
        return "total_chunk_count must be video_size // chunk_size (1-1000)"
    if size - (count - 1) * chunk > 128 * MB:
        return "the last chunk may not exceed 128 MB"
    return None


def _fetchable(url: str) -> bool:
    """TikTok downloads the media: here from the test's own servers only."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        return False
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200 and reply.headers.get_content_type() != "text/html"
    except OSError:
        return False
