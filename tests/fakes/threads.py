"""A fake Threads user on ``graph.threads.net``.

Follows Meta's Threads API documentation: "Posts" (``POST /{user}/threads`` with
``media_type`` TEXT/IMAGE/VIDEO/CAROUSEL, ``text``, ``image_url``, ``video_url``, ``alt_text``,
``is_carousel_item``, ``children``, ``reply_to_id``, ``topic_tag``; then
``POST /{user}/threads_publish {creation_id}``), "Media container status"
(``status``: IN_PROGRESS, FINISHED, PUBLISHED, ERROR, EXPIRED, with ``error_message``),
"Long-lived tokens" (``GET /refresh_access_token?grant_type=th_refresh_token``, no
version in the path) and "Debug access token". Text rules from Meta's Threads documentation:
500 characters with each emoji counted as its UTF-8 byte length, at most 5 links, one
topic tag of 1–50 characters without ``.`` or ``&``; carousels of 2–20 items.
"""

from __future__ import annotations

import re
import time

import regex

from tests.fakes.meta import (
    ContainerFake,
    GraphParams,
    business_usage_header,
    check_image,
    graph_error,
)
from tests.fakes.server import FakeRequest, Response

TEXT_LIMIT = 500
LINK_LIMIT = 5
EMOJI = regex.compile(r"\p{Extended_Pictographic}")
URL = re.compile(r"https?://\S+")


def threads_length(text: str) -> int:
    """Characters as Threads counts them: an emoji weighs its UTF-8 byte count."""
    return sum(len(ch.encode()) if EMOJI.match(ch) else 1 for ch in text)


class ThreadsFake(ContainerFake):
    container_edge = "threads"
    publish_edge = "threads_publish"
    limit_edge = "threads_publishing_limit"
    status_field = "status"
    max_children = 20
    quota_total = 250
    # not in the reference pages: the code community clients report for an unready container
    not_ready_error = (24, 4279009, "The requested resource does not exist")

    def __init__(self, *, user_id: str = "26072145678901234", token: str = "THAAtoken123",
                 version: str = "v1.0", username: str = "lapaspangkalpinang") -> None:
        super().__init__(version=version, token=token, user_id=user_id, username=username)
        self.refreshed_token = "THAArefreshed456"
        #: replies still allowed in the 24 h window (None: unlimited); Threads counts
        #: replies apart from posts (1,000 a day)
        self.replies_left: int | None = None
        self.graph_route("GET", "/refresh_access_token", self._refresh, versioned=False)

    def forget_objects(self) -> None:
        super().forget_objects()
        self.replies_left = None

    def scopes(self) -> list[str]:
        return ["threads_basic", "threads_content_publish"]

    def permalink(self, media_id: str) -> str:
        return f"https://www.threads.com/@{self.username}/post/D{media_id[-8:]}"

    def media_text(self, params: dict[str, str]) -> str:
        return params.get("text") or ""

    def check_fetched_image(self, data: bytes) -> Response | None:
        if problem := check_image(data, formats=("JPEG", "PNG"), max_bytes=8_000_000):
            return graph_error(100, f"(#100) The image is not supported: {problem}")
        return None

    def validate(self, params: GraphParams) -> Response | None:
        text = params.get("text") or ""
        media_type = (params.get("media_type") or "").upper()
        if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return graph_error(100, "(#100) Param media_type must be one of {TEXT, IMAGE, "
                                    "VIDEO, CAROUSEL}")
        if media_type == "TEXT" and not text:
            return graph_error(100, "(#100) Param text is required for TEXT posts")
        if media_type == "VIDEO" and not params.get("video_url"):
            return graph_error(100, "(#100) Param video_url is required for VIDEO posts")
        if media_type == "IMAGE" and not params.get("image_url"):
            return graph_error(100, "(#100) Param image_url is required for IMAGE posts")
        if threads_length(text) > TEXT_LIMIT:
            return graph_error(100, "(#100) Param text must be at most 500 characters long",
                               user_message="The post text is too long.")
        if len(URL.findall(text)) > LINK_LIMIT:
            return graph_error(100, "THREADS_API__LINK_LIMIT_EXCEEDED",
                               user_message="Posts can contain at most 5 links.")
        tag = params.get("topic_tag")
        if tag is not None and not (1 <= len(tag) <= 50 and not set(tag) & {".", "&"}):
            return graph_error(100, "(#100) Param topic_tag is invalid")
        reply_to = params.get("reply_to_id")
        if reply_to is not None and self.replies_left is not None:
            if self.replies_left <= 0:
                return graph_error(4, "(#4) Application request limit reached: reply quota",
                                   headers=business_usage_header(20))
            self.replies_left -= 1
        if reply_to is not None and reply_to not in self.media:
            return graph_error(100, f"(#100) reply_to_id {reply_to} is not a published post")
        return None

    def _refresh(self, request: FakeRequest, params: GraphParams) -> Response:
        if params.get("grant_type") != "th_refresh_token":
            return graph_error(100, "(#100) Param grant_type must be th_refresh_token")
        self.token = self.refreshed_token
        self.token_expires_at = int(time.time()) + 5_184_000
        return 200, {}, {"access_token": self.refreshed_token, "token_type": "bearer",
                         "expires_in": 5_184_000}
