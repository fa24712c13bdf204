"""What the fakes of Facebook, Instagram and Threads share: a strict Graph API host.

Follows the Graph API documentation that all three products share:

* "Graph API > Overview > Versions": every path starts with the version (``/v26.0``).
* "Access tokens": the token comes as ``access_token`` (query or form) or in an
  ``Authorization: Bearer``/``OAuth`` header; a bad one is error 190 (OAuthException),
  an expired one 190/463.
* "Handling errors": ``{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id"}}`` with HTTP 400 (or 403/500).
* "Rate limiting": throttling is error 4/17/32/613/80001 on an HTTP 400, with the
  ``X-Business-Use-Case-Usage`` header carrying ``estimated_time_to_regain_access``
  (minutes); see :func:`rate_limit_fault`.
* "debug_token": ``{"data": {"is_valid", "expires_at", "scopes", ...}}``.

Parameters may come as query string, form body, multipart form or JSON, as the real
hosts accept them all; :meth:`GraphFake.params` merges them.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import itertools
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from tests.fakes.server import FakeRequest, FakeServer, Fault, Response
from tests.fakes.video_check import check_video


@dataclass
class UploadedFile:
    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class GraphParams:
    """The merged parameters of one Graph request."""

    values: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)


def parse_multipart(request: FakeRequest) -> GraphParams:
    """Parse a ``multipart/form-data`` body the way a web server would."""
    content_type = request.header("Content-Type") or ""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head + request.body)
    params = GraphParams()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            params.files[str(name)] = UploadedFile(payload, filename, part.get_content_type())
        else:
            params.values[str(name)] = payload.decode()
    return params


def graph_error(code: int, message: str, *, error_type: str = "OAuthException",
                subcode: int | None = None, status: int = 400,
                headers: dict[str, str] | None = None,
                user_message: str | None = None) -> Response:
    """A documented Graph error answer."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code,
                             "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_message:
        error["error_user_title"] = "Error"
        error["error_user_msg"] = user_message
    return status, dict(headers or {}), {"error": error}


def business_usage_header(minutes: int, *, business_id: str = "1234567890") -> dict[str, str]:
    """``X-Business-Use-Case-Usage`` as Meta sends it when a page is throttled."""
    usage = {business_id: [{"type": "pages", "call_count": 100, "total_cputime": 35,
                            "total_time": 42, "estimated_time_to_regain_access": minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


def rate_limit_fault(*, code: int = 32, minutes: int = 7, path: str | None = None) -> Fault:
    """Throttling as Meta does it: HTTP 400, an error code, the wait in a header."""
    messages = {4: "(#4) Application request limit reached",
                17: "(#17) User request limit reached",
                32: "(#32) Page request limit reached",
                613: "(#613) Calls to this api have exceeded the rate limit.",
                80001: "(#80001) There have been too many calls to this Page account."}
    status, headers, body = graph_error(code, messages.get(code, f"(#{code}) limit reached"),
                                        error_type="OAuthException",
                                        headers=business_usage_header(minutes))
    return Fault(status=status, body=body, headers=headers, path=path)


def expired_token_fault(path: str | None = None) -> Fault:
    status, headers, body = graph_error(
        190, "Error validating access token: Session has expired on Friday, 27-Nov-26 "
             "10:00:00 PST.", subcode=463)
    return Fault(status=status, body=body, headers=headers, path=path)


def spam_block_fault(path: str | None = None) -> Fault:
    status, headers, body = graph_error(
        368, "It looks like you were misusing this feature by going too fast.",
        error_type="OAuthException",
        user_message="You're temporarily blocked from posting.")
    return Fault(status=status, body=body, headers=headers, path=path)


def server_error_fault(path: str | None = None) -> Fault:
    status, headers, body = graph_error(2, "An unexpected error has occurred. Please retry "
                                           "your request later.", status=500)
    body["error"]["is_transient"] = True  # type: ignore[index]
    return Fault(status=status, body=body, headers=headers, path=path)


def check_image(data: bytes, *, formats: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP"),
                max_bytes: int | None = None) -> str | None:
    """Why the real host would refuse these image bytes, or None."""
    if max_bytes is not None and len(data) > max_bytes:
        return f"image of {len(data)} bytes is larger than {max_bytes}"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format
    except Exception:
        return "the uploaded file is not an image"
    if kind not in formats:
        return f"image format {kind} is not supported"
    return None


class GraphFake(FakeServer):
    """A Graph host: version prefix, token check, documented errors, object ids."""

    def __init__(self, *, version: str, token: str) -> None:
        super().__init__()
        self.version = version
        self.token = token
        self.token_expires_at = int(time.time()) + 60 * 24 * 3600
        self._ids = itertools.count(17841400000000001)


    def reset(self) -> None:
        """Forget requests, faults and created objects, so one server serves many tests
        (starting a server per test costs half a second at shutdown)."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
        self.token_expires_at = int(time.time()) + 60 * 24 * 3600
        self.forget_objects()

    def forget_objects(self) -> None:
        """Subclasses clear what they created."""

    def new_id(self) -> str:
        return str(next(self._ids))

    # --- routing with the checks every Graph call gets ----------------------------------
    def graph_route(self, method: str, pattern: str,
                    handler: Callable[[FakeRequest, GraphParams], Response],
                    *, versioned: bool = True) -> None:
        prefix = f"/{self.version}" if versioned else ""

        def checked(request: FakeRequest) -> Response:
            params = self.params(request)
            token = self.request_token(request, params)
            if token is None:
                return graph_error(2500, "An active access token must be used to query "
                                         "information about the current user.")
            if token != self.token:
                return graph_error(190, "Invalid OAuth access token - Cannot parse access "
                                        "token")
            return handler(request, params)

        self.route(method, prefix + pattern, checked)

    @staticmethod
    def params(request: FakeRequest) -> GraphParams:
        content_type = (request.header("Content-Type") or "").lower()
        params = GraphParams({k: v[-1] for k, v in request.query.items()})
        if content_type.startswith("multipart/form-data"):
            multipart = parse_multipart(request)
            params.values.update(multipart.values)
            params.files.update(multipart.files)
        elif content_type.startswith("application/json") and request.body:
            body = request.json()
            params.values.update({k: v if isinstance(v, str) else json.dumps(v)
                                  for k, v in body.items()})
        elif request.body:
            params.values.update({k: v[-1] for k, v in request.form().items()})
        return params

    @staticmethod
    def request_token(request: FakeRequest, params: GraphParams) -> str | None:
        header = request.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value:
            return value.strip()
        return params.get("access_token")

    # --- endpoints every Graph host has -------------------------------------------------
    def add_debug_token(self, user_id: str, scopes: list[str]) -> None:
        def debug_token(request: FakeRequest, params: GraphParams) -> Response:
            inspected = params.get("input_token")
            if not inspected:
                return graph_error(100, "(#100) The parameter input_token is required",
                                   error_type="GraphMethodException")
            valid = inspected == self.token
            data: dict[str, Any] = {"is_valid": valid, "type": "USER", "application": "Siar",
                                    "scopes": scopes, "user_id": user_id}
            if valid:
                data["expires_at"] = self.token_expires_at
                data["issued_at"] = int(time.time()) - 3600
            else:
                data["error"] = {"code": 190, "message": "Invalid OAuth access token."}
            return 200, {}, {"data": data}

        self.graph_route("GET", "/debug_token", debug_token)


@dataclass
class Container:
    """An unpublished media container (Instagram "IG Container", Threads container)."""

    id: str
    params: dict[str, str]
    polls_left: int
    status: str = "IN_PROGRESS"
    error: str | None = None
    media_id: str | None = None
    is_child: bool = False
    children: list[str] = field(default_factory=list)


@dataclass
class PublishedMedia:
    id: str
    container_id: str
    text: str
    permalink: str
    timestamp: float
    params: dict[str, str]
    children: list[str] = field(default_factory=list)


class ContainerFake(GraphFake):
    """The container publishing flow Instagram and Threads share.

    ``POST /{user}/<container_edge>`` → ``{"id"}`` of a container that reports
    IN_PROGRESS for ``processing_polls`` status reads (a video's: ``video_polls``), then
    FINISHED (or ERROR for an image or video URL in ``failing_urls``); every other media
    URL (``image_url``, ``video_url``, ``cover_url``) is fetched over HTTP when the
    container is made — a video must be a readable H.264 MP4 — and refused as Meta
    refuses it when it cannot be fetched;
    ``POST /{user}/<publish_edge> {creation_id}`` publishes a FINISHED container once (a
    second publish is refused, as Meta does); ``GET /{id}`` reads containers and media;
    ``GET /{user}/<container_edge>`` lists published media newest first;
    ``GET /{user}/<limit_edge>`` reports the quota.
    Subclasses add the product's own validation in :meth:`validate`.
    """

    container_edge: str
    publish_edge: str
    limit_edge: str
    status_field: str
    max_children: int
    quota_total: int = 50
    not_ready_error: tuple[int, int | None, str] = (9007, 2207027, "Media ID is not available")

    def __init__(self, *, version: str, token: str, user_id: str, username: str) -> None:
        super().__init__(version=version, token=token)
        self.user_id = user_id
        self.username = username
        self.processing_polls = 1
        #: status reads a video container stays IN_PROGRESS (a huge number: it never ends)
        self.video_polls = 3
        #: every video container ends in ERROR (its URL is the store's, unknown before)
        self.videos_fail = False
        self.failing_urls: set[str] = set()
        #: every media URL fetched, in order
        self.fetched: list[str] = []
        self.containers: dict[str, Container] = {}
        self.media: dict[str, PublishedMedia] = {}
        self.add_debug_token(user_id, self.scopes())
        self.graph_route("POST", f"/{{user}}/{self.container_edge}", self._create)
        self.graph_route("POST", f"/{{user}}/{self.publish_edge}", self._publish)
        self.graph_route("GET", f"/{{user}}/{self.container_edge}", self._list)
        self.graph_route("GET", f"/{{user}}/{self.limit_edge}", self._limit)
        self.graph_route("GET", "/me", self._me)
        self.graph_route("GET", "/{object}", self._read)

    # --- hooks ------------------------------------------------------------------------
    def scopes(self) -> list[str]:
        return []

    def validate(self, params: GraphParams) -> Response | None:
        """The product's own checks of a container's parameters."""
        return None

    def permalink(self, media_id: str) -> str:
        raise NotImplementedError

    def check_fetched_image(self, data: bytes) -> Response | None:
        """The product's checks of an image it fetched."""
        return None

    def check_fetched_video(self, data: bytes) -> Response | None:
        """A fetched video must be a readable H.264 MP4 (Meta transcodes it)."""
        if problem := check_video(data):
            return graph_error(9004, f"The video could not be processed: {problem}",
                               subcode=2207026)
        return None

    def _fetch_and_check(self, url: str, check: Callable[[bytes], Response | None] | None
                         = None) -> Response | None:
        """Download the media as Meta does (its cURL fetch), and refuse it as Meta does
        when it cannot: only servers on this machine are reachable from the tests."""
        unreachable = graph_error(9004, "The media could not be fetched from this URI",
                                  subcode=2207052)
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            return unreachable
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                data = answer.read()
        except (OSError, ValueError):
            return unreachable
        self.fetched.append(url)
        return (check or self.check_fetched_image)(data)

    def media_text(self, params: dict[str, str]) -> str:
        return params.get("caption") or params.get("text") or ""

    # --- helpers for tests ----------------------------------------------------------------
    def forget_objects(self) -> None:
        self.containers.clear()
        self.media.clear()
        self.processing_polls = 1
        self.video_polls = 3
        self.videos_fail = False
        self.failing_urls.clear()
        self.fetched.clear()
        self.quota_total = type(self).quota_total

    @property
    def published(self) -> list[PublishedMedia]:
        return sorted(self.media.values(), key=lambda m: m.timestamp)

    # --- handlers -------------------------------------------------------------------------
    def _wrong_user(self, request: FakeRequest) -> Response | None:
        if request.params["user"] not in (self.user_id, "me"):
            return graph_error(100, f"(#100) Object with ID '{request.params['user']}' does "
                                    "not exist, cannot be loaded due to missing permissions, "
                                    "or does not support this operation",
                               error_type="GraphMethodException")
        return None

    def _create(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_user(request):
            return wrong
        is_child = (params.get("is_carousel_item") or "").lower() == "true"
        media_type = (params.get("media_type") or "").upper()
        children: list[str] = []
        if media_type == "CAROUSEL":
            children = [c for c in (params.get("children") or "").split(",") if c]
            if not 2 <= len(children) <= self.max_children:
                return graph_error(100, f"(#100) A carousel needs 2 to {self.max_children} "
                                        "children")
            for child in children:
                found = self.containers.get(child)
                if found is None or not found.is_child or found.status != "FINISHED":
                    return graph_error(100, f"(#100) child {child} is not a finished "
                                            "carousel item container")
        image_url = params.get("image_url")
        if image_url is not None and urlsplit(image_url).scheme not in ("http", "https"):
            return graph_error(9004, "The media could not be fetched from this URI",
                               subcode=2207052)
        if problem := self.validate(params):
            return problem
        video_url = params.get("video_url")
        if media_type in ("REELS", "VIDEO") and video_url is None:
            return graph_error(100, "(#100) The parameter video_url is required")
        for url in (video_url, params.get("cover_url")):
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                return graph_error(9004, "The media could not be fetched from this URI",
                                   subcode=2207052)
        # the media is fetched now, as Meta does with cURL
        if image_url is not None and image_url not in self.failing_urls and (
                problem := self._fetch_and_check(image_url)):
            return problem
        if video_url is not None and video_url not in self.failing_urls and (
                problem := self._fetch_and_check(video_url, self.check_fetched_video)):
            return problem
        if (cover_url := params.get("cover_url")) and (problem := self._fetch_and_check(
                cover_url, lambda data: graph_error(9004, "The cover could not be used",
                                                    subcode=2207052) if check_image(
                    data, formats=("JPEG", "PNG")) else None)):
            return problem
        polls = self.video_polls if video_url is not None else self.processing_polls
        container = Container(id=self.new_id(), params=dict(params.values),
                              polls_left=polls, is_child=is_child, children=children)
        if video_url in self.failing_urls or (video_url and self.videos_fail):
            container.error = "ERROR: the video could not be processed (2207026)"
        if image_url in self.failing_urls:
            container.error = "ERROR: media download has failed (2207052)"
        self.containers[container.id] = container
        return 200, {}, {"id": container.id}

    def _advance(self, container: Container) -> None:
        if container.status != "IN_PROGRESS":
            return
        if container.polls_left > 0:
            container.polls_left -= 1
            return
        container.status = "ERROR" if container.error else "FINISHED"

    def _publish(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_user(request):
            return wrong
        creation_id = params.get("creation_id")
        container = self.containers.get(creation_id or "")
        if container is None:
            return graph_error(100, f"(#100) Param creation_id {creation_id!r} is not a "
                                    "valid container id")
        if container.is_child:
            return graph_error(100, "(#100) carousel items cannot be published on their own")
        if container.status != "FINISHED":
            code, subcode, message = self.not_ready_error
            return graph_error(code, message, subcode=subcode)
        media_id = self.new_id()
        self.media[media_id] = PublishedMedia(
            id=media_id, container_id=container.id, text=self.media_text(container.params),
            permalink=self.permalink(media_id), timestamp=time.time(),
            params=container.params, children=container.children)
        container.status = "PUBLISHED"
        container.media_id = media_id
        return 200, {}, {"id": media_id}

    def _read(self, request: FakeRequest, params: GraphParams) -> Response:
        object_id = request.params["object"]
        fields = set((params.get("fields") or "id").split(","))
        if object_id == self.user_id:
            return 200, {}, {"id": self.user_id, "username": self.username}
        if container := self.containers.get(object_id):
            self._advance(container)
            answer: dict[str, Any] = {"id": container.id, self.status_field: container.status}
            if container.status == "ERROR":  # Instagram: ``status``; Threads: error_message
                answer.setdefault("status", container.error)
                answer["error_message"] = container.error
            return 200, {}, {k: v for k, v in answer.items()
                             if k in fields or k == "id"}
        if media := self.media.get(object_id):
            answer = {"id": media.id, "permalink": media.permalink,
                      "timestamp": _iso(media.timestamp)}
            return 200, {}, {k: v for k, v in answer.items() if k in fields or k == "id"}
        return graph_error(100, f"(#100) Object with ID '{object_id}' does not exist",
                           error_type="GraphMethodException")

    def _list(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_user(request):
            return wrong
        data = [{"id": m.id, "caption": m.text, "text": m.text, "permalink": m.permalink,
                 "timestamp": _iso(m.timestamp)} for m in reversed(self.published)]
        return 200, {}, {"data": data, "paging": {}}

    def _limit(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_user(request):
            return wrong
        day_ago = time.time() - 86_400
        usage = sum(1 for m in self.media.values() if m.timestamp >= day_ago)
        return 200, {}, {"data": [{"quota_usage": usage,
                                   "config": {"quota_total": self.quota_total,
                                              "quota_duration": 86_400}}]}

    def _me(self, request: FakeRequest, params: GraphParams) -> Response:
        return 200, {}, {"id": self.user_id, "username": self.username}


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
